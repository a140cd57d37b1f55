// The management REST API under /api/v1: each endpoint is a thin call into the tenancy, policy,
// quarantine and tracking services with the caller's Scope (the services decide what a scope may
// see and change); this module adds authentication (auth.h), CSRF, read-only credentials, the
// JSON shapes, pagination/filtering/sorting of lists, one error body
// {"error":{"code","message","field"}}, security headers on every response and the audit log of
// every change. nlohmann-json stays in handlers.cpp; HTTP transport is server.h. The OpenAPI
// document docs/openapi.json is compiled in and served at /api/v1/openapi.json.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "api/auth.h"
#include "api/http.h"
#include "api/router.h"

namespace mm::reputation {
class Reputation;
}
namespace mm::quarantine {
class Quarantine;
class Releaser;
}  // namespace mm::quarantine

namespace mm::api {

// The live queue's figures for the dashboard (null function: no server, "queue": null).
struct QueueFigures {
  int64_t messages = 0, deferred = 0, held = 0, in_flight = 0;
};

struct ApiDeps {
  store::Store* store = nullptr;
  tenancy::TenancyService* tenancy = nullptr;
  quarantine::Quarantine* quarantine = nullptr;
  // A releaser with the current scan engine (null result: scanning disabled).
  std::function<std::unique_ptr<quarantine::Releaser>()> releaser;
  std::function<int64_t()> clock;  // unix s; default now_s()
  // The built web console served outside /api/ (console.h); "" = none (those paths are 404).
  std::string console_dir;
  std::function<QueueFigures()> queue_stats;
  // The live server's IP reputation (null: lookups answer 503) and [connection] strictness.
  reputation::Reputation* reputation = nullptr;
  std::string default_strictness = "normal";
};

class Api {
 public:
  explicit Api(ApiDeps, AuthOptions = {});
  ~Api();
  Response handle(const Request&);
  const Router& router() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Adds the security headers every response carries (CSP, frame-ancestors, nosniff, referrer, no-store).
void add_security_headers(Response&);

}  // namespace mm::api
