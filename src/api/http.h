// The small HTTP request/response records the API handlers see. The Beast server (server.cpp)
// converts to and from them, so only that one unit includes Beast.
#pragma once
#include <map>
#include <string>

namespace mm::api {

struct Request {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // decoded path without the query
  std::map<std::string, std::string> query;   // decoded query parameters (last one wins)
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
  std::string client_ip;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  std::string param(const std::string& name, const std::string& def = "") const {
    auto it = query.find(name);
    return it == query.end() ? def : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::multimap<std::string, std::string> headers;  // e.g. Set-Cookie (may repeat)
  std::string body;
};

// Percent-decoding of a path or query component ('+' is a space only in queries); false on a bad escape.
bool url_decode(const std::string& in, std::string& out, bool query);
// Splits "a=1&b=2" into decoded pairs; false on a bad escape.
bool parse_query(const std::string& qs, std::map<std::string, std::string>& out);

}  // namespace mm::api
