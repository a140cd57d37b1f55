// Routing table of the API: method + pattern ("/api/v1/tenants/{tenant}") to a handler. Knows
// nothing of HTTP libraries or JSON; the OpenAPI test compares routes() with docs/openapi.json.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mm::api {

using Params = std::map<std::string, std::string>;

struct Route {
  std::string method, pattern;
  bool write = false;   // changes something (audited, needs write access and CSRF for cookies)
  bool public_ = false; // no authentication needed (login, openapi)
};

class Router {
 public:
  // Returns the route's index.
  size_t add(Route r);
  enum class Match { Found, NotFound, MethodNotAllowed };
  // On Found sets *index and fills params from {name} segments.
  Match match(const std::string& method, const std::string& path, size_t* index, Params* params,
              std::string* allowed = nullptr) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  static bool match_pattern(const std::string& pattern, const std::string& path, Params* params);
  std::vector<Route> routes_;
};

}  // namespace mm::api
