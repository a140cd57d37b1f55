// The API's endpoints (nlohmann-json lives here alone). Every handler parses its input, calls the
// same service the CLI calls with the caller's Scope, and renders the result.
#include <algorithm>
#include <optional>
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/connection_service.h"
#include "api/console.h"
#include "policy/policy.h"
#include "quarantine/quarantine.h"
#include "tenancy/tracking.h"
#include "util/clock.h"

namespace mm::api {

using json = nlohmann::json;
extern const char* const kOpenApiDocument;  // docs/openapi.json, compiled in (CMakeLists.txt)

namespace {

struct ApiErr {
  int status;
  std::string code, message, field;
};

[[noreturn]] void raise(int status, std::string code, std::string msg, std::string field = "") {
  throw ApiErr{status, std::move(code), std::move(msg), std::move(field)};
}

// A service's refusal as an HTTP error: permission -> 403, missing -> 404, conflict -> 409, else 400.
[[noreturn]] void raise_status(const Status& st) {
  const auto& m = st.message();
  if (m.rfind("permission denied", 0) == 0) raise(403, "forbidden", m);
  if (m.find("does not exist") != std::string::npos || m.find("no quarantined message") != std::string::npos ||
      m.find("not found") != std::string::npos || m.find("unknown tenant") != std::string::npos)
    raise(404, "not_found", m);
  if (m.find("already") != std::string::npos || m.find("exists") != std::string::npos ||
      m.find("UNIQUE") != std::string::npos)
    raise(409, "conflict", m);
  raise(400, "invalid", m);
}
void check(const Status& st) {
  if (!st) raise_status(st);
}
template <class T>
T take(Result<T> r) {
  if (!r) raise_status(r.status());
  return std::move(*r);
}

json error_body(const std::string& code, const std::string& msg, const std::string& field) {
  return {{"error", {{"code", code}, {"message", msg}, {"field", field.empty() ? json(nullptr) : json(field)}}}};
}

Response json_response(int status, const json& j) {
  Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- JSON shapes ---
json to_j(const store::TenantInfo& t) {
  return {{"name", t.tenant},
          {"suspended_inbound", t.suspended_inbound},
          {"suspended_outbound", t.suspended_outbound},
          {"suspend_reason", t.suspend_reason},
          {"suspended_at", t.suspended_at},
          {"contact", {{"name", t.contact_name}, {"email", t.contact_email}, {"phone", t.contact_phone}}},
          {"licensed_accounts", t.licensed_accounts},
          {"term_start", t.term_start},
          {"term_end", t.term_end},
          {"account_list", t.account_list},
          {"quarantine_days", t.quarantine_days},
          {"tracking_days", t.tracking_days},
          {"approve_unauthenticated", t.approve_unauthenticated},
          {"user_release", t.user_release}};
}
json to_j(const store::Account& a) {
  return {{"id", a.id}, {"tenant", a.tenant}, {"address", a.address}, {"aliases", a.aliases},
          {"display_name", a.display_name}, {"created_at", a.created_at}};
}
json to_j(const store::User& u) {
  return {{"name", u.name}, {"tenant", u.tenant}, {"role", u.role}, {"account", u.account},
          {"disabled", u.disabled}, {"created_at", u.created_at}, {"password_changed_at", u.password_changed_at}};
}
json to_j(const tenancy::Usage& u) {
  return {{"tenant", u.tenant}, {"licensed", u.licensed}, {"account_list", u.account_list}, {"accounts", u.accounts},
          {"seen", u.seen}, {"in_use", u.in_use}, {"over", u.over}, {"term_start", u.term_start},
          {"term_end", u.term_end}, {"term_active", u.term_active}};
}
json to_j(const store::PolicyRow& p) {
  return {{"tenant", p.tenant}, {"level", p.level}, {"target", p.target}, {"spec", p.spec}, {"updated_at", p.updated_at}};
}
json to_j(const store::SenderEntry& e) {
  return {{"id", e.id}, {"tenant", e.tenant}, {"owner", e.owner}, {"kind", e.kind}, {"pattern", e.pattern},
          {"expires_at", e.expires_at}, {"created_at", e.created_at}, {"created_by", e.created_by}};
}
json to_j(const store::QuarantineItem& q) {
  return {{"id", q.id}, {"tenant", q.tenant}, {"queue_id", q.queue_id}, {"recipient", q.recipient},
          {"sender", q.sender}, {"subject", q.subject}, {"message_id", q.message_id}, {"client_ip", q.client_ip},
          {"verdict", q.verdict}, {"score", q.score}, {"reason", q.reason}, {"symbols", q.symbols},
          {"size", q.size}, {"received_at", q.received_at}, {"expires_at", q.expires_at}, {"status", q.status},
          {"acted_at", q.acted_at}, {"acted_by", q.acted_by}};
}
json to_j(const store::MessageSummary& m) {
  return {{"queue_id", m.queue_id}, {"tenant", m.tenant}, {"ts_us", m.ts_us}, {"sender", m.sender},
          {"recipients", m.recipients}, {"subject", m.subject}, {"message_id", m.message_id},
          {"client_ip", m.client_ip}, {"verdict", m.verdict}, {"score", m.score}, {"action", m.action}};
}
json to_j(const store::TrackingEvent& e) {
  return {{"queue_id", e.queue_id}, {"ts_us", e.ts_us}, {"event", e.event}, {"recipient", e.recipient},
          {"detail", e.detail}, {"tenant", e.tenant}};
}
json to_j(const store::SecurityEvent& e) {
  return {{"id", e.id}, {"ts", e.ts}, {"tenant", e.tenant}, {"kind", e.kind}, {"detail", e.detail}};
}
json to_j(const store::Credential& c) {
  return {{"id", c.id}, {"user", c.user}, {"label", c.label}, {"tenant", c.tenant},
          {"access", c.write ? "write" : "read"}, {"created_at", c.created_at}, {"expires_at", c.expires_at},
          {"revoked", c.revoked_at != 0}};
}
json to_j(const store::Domain& d) {
  json routes = json::array();
  for (auto& r : d.routes) routes.push_back({{"host", r.host}, {"port", r.port}, {"preference", r.preference}});
  return {{"name", d.name}, {"tenant", d.tenant}, {"recipient_validation", d.recipient_validation},
          {"tls", std::string(store::to_string(d.tls))}, {"routes", routes}, {"created_at", d.created_at}};
}
json parse_or_null(const std::string& s) {
  auto j = json::parse(s, nullptr, false);
  return j.is_discarded() ? json(s) : j;
}
json to_j(const store::AuditEntry& a) {
  return {{"id", a.id}, {"ts", a.ts}, {"actor", a.actor}, {"tenant", a.tenant}, {"client_ip", a.client_ip},
          {"action", a.action}, {"target", a.target}, {"before", parse_or_null(a.before_json)},
          {"after", parse_or_null(a.after_json)}};
}
json to_j(const store::ReputationAllowRow& e) {
  return {{"id", e.id}, {"tenant", e.tenant}, {"entry", e.pattern}, {"pattern", e.pattern},
          {"expires_at", e.expires_at}, {"created_at", e.created_at}, {"note", e.note}};
}
json to_j(const reputation::Counts& c, double refused_weight) {
  return {{"clean", c.clean}, {"spam", c.spam}, {"phishing", c.phishing}, {"malware", c.malware}, {"refused", c.refused},
          {"bad", c.bad(refused_weight)}, {"total", c.total(refused_weight)}, {"updated_at", c.updated_s}};
}
json to_j(const ConnectionSettings& c) {
  return {{"tenant", c.tenant}, {"strictness", c.strictness}, {"inherited", c.inherited}, {"greylisting", c.greylisting}};
}
int64_t id_param(const std::string& v, const char* what) {
  try {
    size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used == v.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  raise(400, "invalid", std::string(what) + " id must be a positive number", "id");
}
template <class V>
json array_of(const V& v) {
  json a = json::array();
  for (auto& x : v) a.push_back(to_j(x));
  return a;
}

}  // namespace

void add_security_headers(Response& r) {
  r.headers.emplace("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
  r.headers.emplace("X-Content-Type-Options", "nosniff");
  r.headers.emplace("Referrer-Policy", "no-referrer");
  r.headers.emplace("X-Frame-Options", "DENY");
  r.headers.emplace("Cache-Control", "no-store");
  r.headers.emplace("Strict-Transport-Security", "max-age=31536000");
}

struct Ctx {
  Ctx(const Request& r, Params params, int64_t t) : req(r), p(std::move(params)), now(t) {}
  const Request& req;
  Params p;
  Caller caller;
  json body;
  int64_t now = 0;
  // audit: filled by write handlers
  std::string audit_tenant;
  json before = nullptr, after = nullptr;
  bool after_set = false;

  const tenancy::Scope& scope() const { return caller.scope; }
  const std::string& param(const std::string& k) const { return p.at(k); }
  std::string str(const char* k, bool required = false, const std::string& def = "") const {
    if (!body.is_object() || !body.contains(k) || body[k].is_null()) {
      if (required) raise(400, "invalid", std::string(k) + " is required", k);
      return def;
    }
    if (!body[k].is_string()) raise(400, "invalid", std::string(k) + " must be a string", k);
    return body[k].get<std::string>();
  }
  int64_t num(const char* k, int64_t def) const {
    if (!body.is_object() || !body.contains(k) || body[k].is_null()) return def;
    if (!body[k].is_number_integer()) raise(400, "invalid", std::string(k) + " must be an integer", k);
    return body[k].get<int64_t>();
  }
  int tri(const char* k) const {  // -1 absent, 0 false, 1 true
    if (!body.is_object() || !body.contains(k) || body[k].is_null()) return -1;
    if (!body[k].is_boolean()) raise(400, "invalid", std::string(k) + " must be true or false", k);
    return body[k].get<bool>() ? 1 : 0;
  }
  int64_t qnum(const char* k, int64_t def, int64_t lo, int64_t hi) const {
    auto v = req.param(k);
    if (v.empty()) return def;
    try {
      size_t used = 0;
      long long n = std::stoll(v, &used);
      if (used != v.size() || n < lo || n > hi) throw std::out_of_range(k);
      return n;
    } catch (const std::exception&) {
      raise(400, "invalid", std::string(k) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi), k);
    }
  }
};

using Fn = std::function<Response(Ctx&)>;

namespace {

// Pages, filters and sorts a list of objects. Query: limit (1..500, default 50), cursor (from the
// previous page's next_cursor), sort (a field, "-field" descending), and field=value equality
// filters on the items' top-level fields (besides the parameters the endpoint itself consumes).
Response page(Ctx& c, json items, const std::vector<std::string>& consumed) {
  static const std::vector<std::string> kPaging = {"limit", "cursor", "sort"};
  std::vector<std::pair<std::string, std::string>> filters;
  for (auto& [k, v] : c.req.query) {
    if (std::find(kPaging.begin(), kPaging.end(), k) != kPaging.end()) continue;
    if (std::find(consumed.begin(), consumed.end(), k) != consumed.end()) continue;
    filters.emplace_back(k, v);
  }
  json kept = json::array();
  for (auto& it : items) {
    bool ok = true;
    for (auto& [k, v] : filters) {
      if (!it.contains(k)) raise(400, "invalid", "unknown filter '" + k + "'", k);
      const auto& f = it[k];
      std::string s = f.is_string() ? f.get<std::string>() : f.dump();
      if (s != v) ok = false;
    }
    if (ok) kept.push_back(std::move(it));
  }
  auto sort = c.req.param("sort");
  if (!sort.empty()) {
    bool desc = sort[0] == '-';
    std::string key = desc ? sort.substr(1) : sort;
    if (!kept.empty() && !kept[0].contains(key)) raise(400, "invalid", "cannot sort by '" + key + "'", "sort");
    std::stable_sort(kept.begin(), kept.end(), [&](const json& a, const json& b) {
      return desc ? b.value(key, json()) < a.value(key, json()) : a.value(key, json()) < b.value(key, json());
    });
  }
  auto limit = c.qnum("limit", 50, 1, 500);
  int64_t offset = 0;
  if (auto cur = c.req.param("cursor"); !cur.empty()) {
    try {
      size_t used = 0;
      offset = std::stoll(cur, &used);
      if (used != cur.size() || offset < 0) throw std::out_of_range("cursor");
    } catch (const std::exception&) {
      raise(400, "invalid", "bad cursor", "cursor");
    }
  }
  json out = json::array();
  int64_t total = static_cast<int64_t>(kept.size());
  for (int64_t i = offset; i < total && i < offset + limit; ++i) out.push_back(std::move(kept[static_cast<size_t>(i)]));
  json next = offset + limit < total ? json(std::to_string(offset + limit)) : json(nullptr);
  return json_response(200, {{"items", out}, {"total", total}, {"next_cursor", next}});
}

// Copies the search parameters a service query takes (exact strings) and the recipient (lower-cased).
void search_fields(Ctx& c, std::vector<std::string>& recipients,
                   std::initializer_list<std::pair<const char*, std::string*>> fields) {
  for (auto& [name, dst] : fields) *dst = c.req.param(name);
  if (auto r = c.req.param("recipient"); !r.empty()) recipients.push_back(lower(r));
}

Response ok(const json& j, int status = 200) { return json_response(status, j); }
Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

}  // namespace

struct Api::Impl {
  ApiDeps d;
  Credentials creds;
  Router router;
  std::vector<Fn> fns;
  std::string openapi;
  ConsoleFiles console;
  ConnectionService conn;

  Impl(ApiDeps deps, AuthOptions ao) : d(std::move(deps)), creds(*d.store, *d.tenancy, ao), console(d.console_dir),
        conn(*d.store, d.reputation, d.default_strictness) {
    if (!d.clock) d.clock = [] { return now_s(); };
    openapi = kOpenApiDocument;
    install();
  }

  void on(const char* method, const char* pattern, Fn fn, bool write = false, bool pub = false) {
    router.add({method, pattern, write, pub});
    fns.push_back(std::move(fn));
  }

  store::Store& st() { return *d.store; }
  // A user with whether TOTP is on.
  json user_j(const store::User& u) {
    auto j = to_j(u);
    j["totp"] = creds.totp_enabled(u.name);
    return j;
  }
  tenancy::TenancyService& ten() { return *d.tenancy; }

  void install();
  Response handle(const Request& req);
};

void Api::Impl::install() {
  // ----- sessions and tokens -----
  on("GET", "/api/v1/openapi.json", [this](Ctx&) {
    if (openapi.empty()) raise(404, "not_found", "the OpenAPI document is not installed");
    Response r;
    r.body = openapi;
    return r;
  }, false, true);

  on("POST", "/api/v1/login", [this](Ctx& c) {
    Login l;
    AuthError e;
    auto name = c.str("name", true), password = c.str("password", true);
    if (!creds.login(name, password, c.req.client_ip, c.now, &l, &e, c.str("totp_code")))
      raise(e.status, e.code, e.message, e.code.rfind("totp", 0) == 0 ? "totp_code" : "");
    auto r = ok({{"user", lower(name)}, {"role", tenancy::to_string(l.scope.role)}, {"tenant", l.scope.tenant},
                 {"csrf_token", l.csrf}, {"expires_at", l.expires_at}});
    auto max_age = std::to_string(l.expires_at - c.now);
    r.headers.emplace("Set-Cookie", std::string(Credentials::kSessionCookie) + "=" + l.token +
                                        "; Path=/; Max-Age=" + max_age + "; HttpOnly; Secure; SameSite=Strict");
    r.headers.emplace("Set-Cookie", "mm_csrf=" + l.csrf + "; Path=/; Max-Age=" + max_age + "; Secure; SameSite=Strict");
    return r;
  }, false, true);

  on("POST", "/api/v1/logout", [this](Ctx& c) {
    creds.logout(c.caller, c.now);
    auto r = no_content();
    r.headers.emplace("Set-Cookie", std::string(Credentials::kSessionCookie) +
                                        "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
    r.headers.emplace("Set-Cookie", "mm_csrf=; Path=/; Max-Age=0; Secure; SameSite=Strict");
    c.after_set = true;
    return r;
  }, true);

  on("GET", "/api/v1/session", [this](Ctx& c) {
    return ok({{"user", c.caller.user}, {"role", tenancy::to_string(c.scope().role)}, {"tenant", c.scope().tenant},
               {"addresses", c.scope().addresses}, {"write", c.caller.write},
               {"csrf_token", c.caller.cookie ? json(c.caller.csrf) : json(nullptr)},
               {"totp", creds.totp_enabled(c.caller.user)}});
  });

  // TOTP second factor of the caller's own user. The secret is answered once, at enrolment, and
  // never written to the audit log. A wrong code of a logged-in user is a 400 (the session stays
  // valid), not the 401 of a login.
  auto totp_status = [](const AuthError& e) { return e.code == "totp_invalid" ? 400 : e.status; };
  on("POST", "/api/v1/session/totp", [this](Ctx& c) {
    std::string secret, uri;
    AuthError e;
    if (!creds.totp_begin(c.caller, &secret, &uri, &e)) raise(e.status, e.code, e.message);
    c.after = {{"totp", "enrolment started"}};
    c.after_set = true;
    return ok({{"secret", secret}, {"otpauth_uri", uri}, {"totp", false}});
  }, true);
  on("POST", "/api/v1/session/totp/confirm", [this, totp_status](Ctx& c) {
    AuthError e;
    if (!creds.totp_confirm(c.caller, c.str("code", true), c.req.client_ip, c.now, &e))
      raise(totp_status(e), e.code, e.message, "code");
    c.before = {{"totp", false}};
    return ok({{"totp", true}});
  }, true);
  on("POST", "/api/v1/session/totp/disable", [this, totp_status](Ctx& c) {
    AuthError e;
    if (!creds.totp_disable(c.caller, c.str("code", true), c.req.client_ip, c.now, &e))
      raise(totp_status(e), e.code, e.message, "code");
    c.before = {{"totp", true}};
    return ok({{"totp", false}});
  }, true);

  on("GET", "/api/v1/tokens", [this](Ctx& c) { return page(c, array_of(creds.tokens(c.caller)), {}); });
  on("POST", "/api/v1/tokens", [this](Ctx& c) {
    auto access = c.str("access", false, "read");
    if (access != "read" && access != "write") raise(400, "invalid", "access must be read or write", "access");
    std::string secret;
    store::Credential rec;
    AuthError e;
    if (!creds.create_token(c.caller, c.str("label", true), c.str("tenant"), access == "write",
                            c.num("expires_in", 90LL * 86400), c.now, &secret, &rec, &e))
      raise(e.status, e.code, e.message);
    c.audit_tenant = rec.tenant;
    c.after = to_j(rec);  // never the secret
    c.after_set = true;
    auto j = to_j(rec);
    j["token"] = secret;
    return ok(j, 201);
  }, true);
  on("DELETE", "/api/v1/tokens/{id}", [this](Ctx& c) {
    int64_t id = 0;
    try {
      id = std::stoll(c.param("id"));
    } catch (const std::exception&) {
      raise(400, "invalid", "token id must be a number", "id");
    }
    AuthError e;
    if (!creds.revoke_token(c.caller, id, c.now, &e)) raise(e.status, e.code, e.message);
    c.after_set = true;
    return no_content();
  }, true);

  // ----- tenants -----
  on("GET", "/api/v1/tenants", [this](Ctx& c) { return page(c, array_of(ten().list(c.scope())), {}); });
  on("POST", "/api/v1/tenants", [this](Ctx& c) {
    auto name = c.str("name", true);
    auto t = take(ten().create_tenant(c.scope(), name, c.str("display_name", false, name)));
    c.audit_tenant = t.name;
    return ok(to_j(take(ten().info(c.scope(), t.name))), 201);
  }, true);
  on("GET", "/api/v1/tenants/{tenant}", [this](Ctx& c) { return ok(to_j(take(ten().info(c.scope(), c.param("tenant"))))); });
  on("PATCH", "/api/v1/tenants/{tenant}", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    c.before = to_j(take(ten().info(c.scope(), t)));
    if (!c.body.is_object()) raise(400, "invalid", "a JSON object is required");
    static const std::vector<std::string> kKnown = {"contact", "licensed_accounts", "term_start", "term_end",
                                                    "account_list", "quarantine_days", "tracking_days",
                                                    "approve_unauthenticated", "user_release"};
    for (auto& [k, v] : c.body.items()) {
      (void)v;
      if (std::find(kKnown.begin(), kKnown.end(), k) == kKnown.end()) raise(400, "invalid", "unknown field '" + k + "'", k);
    }
    tenancy::Contract k;
    k.licensed_accounts = c.num("licensed_accounts", -1);
    k.term_start = c.num("term_start", -1);
    k.term_end = c.num("term_end", -1);
    k.account_list = c.tri("account_list");
    k.quarantine_days = c.num("quarantine_days", -1);
    k.tracking_days = c.num("tracking_days", -1);
    k.approve_unauthenticated = c.tri("approve_unauthenticated");
    k.user_release = c.str("user_release", false, "-");
    bool contract = k.licensed_accounts != -1 || k.term_start != -1 || k.term_end != -1 || k.account_list != -1 ||
                    k.quarantine_days != -1 || k.tracking_days != -1 || k.approve_unauthenticated != -1 ||
                    k.user_release != "-";
    if (c.body.contains("contact")) {
      auto& ct = c.body["contact"];
      if (!ct.is_object()) raise(400, "invalid", "contact must be an object", "contact");
      tenancy::Contact ko;
      for (auto [key, dst] : {std::pair{"name", &ko.name}, {"email", &ko.email}, {"phone", &ko.phone}}) {
        if (!ct.contains(key)) continue;
        if (!ct[key].is_string()) raise(400, "invalid", std::string("contact.") + key + " must be a string", std::string("contact.") + key);
        *dst = ct[key].get<std::string>();
      }
      check(ten().set_contact(c.scope(), t, ko));
    }
    if (contract) check(ten().set_contract(c.scope(), t, k));
    return ok(to_j(take(ten().info(c.scope(), t))));
  }, true);
  on("PUT", "/api/v1/tenants/{tenant}/suspension", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    c.before = to_j(take(ten().info(c.scope(), t)));
    int in = c.tri("inbound"), out = c.tri("outbound");
    check(ten().suspend(c.scope(), t, in != 0, out == 1, c.str("reason", true)));
    return ok(to_j(take(ten().info(c.scope(), t))));
  }, true);
  on("DELETE", "/api/v1/tenants/{tenant}/suspension", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    c.before = to_j(take(ten().info(c.scope(), t)));
    check(ten().resume(c.scope(), t));
    return no_content();
  }, true);

  // ----- domains (read: who may read the tenant; changes: operators, as in the CLI) -----
  on("GET", "/api/v1/tenants/{tenant}/domains", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    check(c.scope().can_read(t));
    if (c.scope().role == tenancy::Role::User) raise(403, "forbidden", "permission denied: end users see no domains");
    return page(c, array_of(st().list_domains(t)), {});
  });

  // Domains and their routes change only by operators, as in the CLI (`mailmoat domain`).
  auto operator_only = [](Ctx& c) {
    if (!c.scope().is_operator()) raise(403, "forbidden", "permission denied: needs an operator");
  };
  auto domain_of = [this](const std::string& t, const std::string& name) -> std::optional<store::Domain> {
    auto dom = st().get_domain(name);
    if (!dom) return std::nullopt;
    if (dom->tenant != t) raise(409, "conflict", "domain '" + name + "' belongs to another tenant", "domain");
    return *dom;
  };
  on("PUT", "/api/v1/tenants/{tenant}/domains/{domain}", [this, operator_only, domain_of](Ctx& c) {
    operator_only(c);
    const auto& t = c.param("tenant");
    auto name = lower(c.param("domain"));
    std::vector<store::RouteHost> hosts;
    if (c.body.is_object() && c.body.contains("routes")) {
      if (!c.body["routes"].is_array()) raise(400, "invalid", "routes must be an array", "routes");
      for (auto& r : c.body["routes"]) {
        if (!r.is_object() || !r.contains("host") || !r["host"].is_string())
          raise(400, "invalid", "each route needs a host", "routes");
        store::RouteHost h;
        h.host = r["host"].get<std::string>();
        int64_t port = r.value("port", int64_t(25)), pref = r.value("preference", int64_t(10));
        if (port < 1 || port > 65535 || pref < 0 || pref > 65535)
          raise(400, "invalid", "route port 1..65535, preference 0..65535", "routes");
        h.port = static_cast<uint16_t>(port);
        h.preference = static_cast<int>(pref);
        hosts.push_back(h);
      }
    }
    auto tls = store::parse_tls_mode(c.str("tls", false, "opportunistic"));
    if (!tls) raise(400, "invalid", "tls must be none, opportunistic or required", "tls");
    auto existing = domain_of(t, name);
    if (existing) c.before = to_j(*existing);
    if (!existing) take(st().add_domain(t, name));
    if (auto rs = st().set_routes(name, hosts, *tls); !rs) {
      if (!existing) (void)st().remove_domain(name);
      raise_status(rs);
    }
    return ok(to_j(take(st().get_domain(name))), existing ? 200 : 201);
  }, true);
  on("DELETE", "/api/v1/tenants/{tenant}/domains/{domain}", [this, operator_only, domain_of](Ctx& c) {
    operator_only(c);
    auto name = lower(c.param("domain"));
    if (auto existing = domain_of(c.param("tenant"), name)) {
      c.before = to_j(*existing);
      check(st().remove_domain(name));
    }
    return no_content();
  }, true);

  // ----- accounts and licence usage -----
  on("GET", "/api/v1/tenants/{tenant}/accounts", [this](Ctx& c) {
    return page(c, array_of(take(ten().accounts(c.scope(), c.param("tenant")))), {});
  });
  on("PUT", "/api/v1/tenants/{tenant}/accounts/{address}", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    auto addr = lower(c.param("address"));
    for (auto& a : take(ten().accounts(c.scope(), t)))
      if (a.address == addr) {
        c.before = to_j(a);
        return ok(to_j(a));  // already there: PUT is idempotent
      }
    return ok(to_j(take(ten().add_account(c.scope(), t, addr, c.str("display_name")))), 201);
  }, true);
  on("DELETE", "/api/v1/tenants/{tenant}/accounts/{address}", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    auto addr = lower(c.param("address"));
    bool found = false;
    for (auto& a : take(ten().accounts(c.scope(), t)))
      if (a.address == addr) {
        c.before = to_j(a);
        found = true;
      }
    if (found) check(ten().remove_account(c.scope(), t, addr));
    else check(c.scope().can_admin(t));  // absent: nothing to do, but only for who could have removed it
    return no_content();
  }, true);
  on("GET", "/api/v1/tenants/{tenant}/usage", [this](Ctx& c) {
    auto u = take(ten().usage(c.scope(), c.param("tenant"), c.now));
    if (u.empty()) raise(404, "not_found", "no usage for tenant '" + c.param("tenant") + "'");
    return ok(to_j(u.front()));
  });
  on("GET", "/api/v1/usage", [this](Ctx& c) { return page(c, array_of(take(ten().usage(c.scope(), "", c.now))), {}); });

  // ----- console users -----
  on("GET", "/api/v1/users", [this](Ctx& c) {
    json items = json::array();
    for (auto& u : take(ten().users(c.scope(), c.req.param("tenant")))) items.push_back(user_j(u));
    return page(c, items, {"tenant"});
  });
  on("POST", "/api/v1/users", [this](Ctx& c) {
    auto u = take(ten().create_user(c.scope(), c.str("name", true), c.str("role", true), c.str("tenant"),
                                    c.str("account"), c.str("password", true)));
    c.audit_tenant = u.tenant;
    c.after = to_j(u);
    c.after_set = true;
    return ok(to_j(u), 201);
  }, true);
  on("PATCH", "/api/v1/users/{name}", [this](Ctx& c) {
    const auto& name = c.param("name");
    auto before = st().tenancy().find_user(name);
    const bool totp_before = before && creds.totp_enabled(before->name);
    if (!c.body.is_object()) raise(400, "invalid", "a JSON object is required");
    for (auto& [k, v] : c.body.items()) {
      (void)v;
      if (k != "disabled" && k != "password" && k != "totp") raise(400, "invalid", "unknown field '" + k + "'", k);
    }
    int totp = c.tri("totp");
    if (totp == 1) raise(400, "invalid", "TOTP is turned on by the user (POST /api/v1/session/totp)", "totp");
    if (totp == 0) check(ten().reset_totp(c.scope(), name));
    if (int dis = c.tri("disabled"); dis != -1) check(ten().disable_user(c.scope(), name, dis == 1));
    if (auto pw = c.str("password"); !pw.empty()) check(ten().reset_password(c.scope(), name, pw));
    auto after = st().tenancy().find_user(name);
    if (!after) raise(404, "not_found", "user '" + name + "' does not exist");
    if (before) {
      c.before = to_j(*before);
      c.before["totp"] = totp_before;
      c.audit_tenant = before->tenant;
    }
    c.after = user_j(*after);
    c.after_set = true;
    return ok(user_j(*after));
  }, true);

  // ----- policies and content rules -----
  on("GET", "/api/v1/tenants/{tenant}/policies", [this](Ctx& c) {
    return page(c, array_of(take(policy::PolicyService(st()).list(c.scope(), c.param("tenant")))), {});
  });
  auto find_policy = [this](Ctx& c, const std::string& t, const std::string& level, const std::string& target) {
    for (auto& p : take(policy::PolicyService(st()).list(c.scope(), t)))
      if (p.level == level && p.target == target) return to_j(p);
    return json(nullptr);
  };
  on("PUT", "/api/v1/tenants/{tenant}/policies/{level}", [this, find_policy](Ctx& c) {
    const auto& t = c.param("tenant");
    auto level = c.param("level"), target = lower(c.req.param("target"));
    c.before = find_policy(c, t, level, target);
    check(policy::PolicyService(st()).set(c.scope(), t, level, target, c.str("spec", true)));
    return ok(find_policy(c, t, level, target));
  }, true);
  on("DELETE", "/api/v1/tenants/{tenant}/policies/{level}", [this, find_policy](Ctx& c) {
    const auto& t = c.param("tenant");
    auto level = c.param("level"), target = lower(c.req.param("target"));
    c.before = find_policy(c, t, level, target);
    if (!c.before.is_null()) check(policy::PolicyService(st()).remove(c.scope(), t, level, target));
    else check(c.scope().can_admin(t));
    return no_content();
  }, true);
  on("PUT", "/api/v1/tenants/{tenant}/content-rules", [this](Ctx& c) {
    check(policy::PolicyService(st()).set_rules(c.scope(), c.param("tenant"), c.str("text", true)));
    c.after = c.body;
    c.after_set = true;
    return ok({{"tenant", c.param("tenant")}, {"text", c.str("text")}});
  }, true);

  // ----- sender lists -----
  on("GET", "/api/v1/tenants/{tenant}/senders", [this](Ctx& c) {
    return page(c, array_of(take(policy::PolicyService(st()).senders(c.scope(), c.param("tenant")))), {});
  });
  on("POST", "/api/v1/tenants/{tenant}/senders", [this](Ctx& c) {
    auto e = take(policy::PolicyService(st()).add_sender(c.scope(), c.param("tenant"), lower(c.str("owner")),
                                                        c.str("kind", true), c.str("pattern", true),
                                                        c.num("expires_at", 0)));
    return ok(to_j(e), 201);
  }, true);
  on("DELETE", "/api/v1/tenants/{tenant}/senders/{id}", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    int64_t id = 0;
    try {
      id = std::stoll(c.param("id"));
    } catch (const std::exception&) {
      raise(400, "invalid", "sender entry id must be a number", "id");
    }
    bool found = false;
    for (auto& e : take(policy::PolicyService(st()).senders(c.scope(), t)))
      if (e.id == id) {
        c.before = to_j(e);
        found = true;
      }
    if (found) check(policy::PolicyService(st()).remove_sender(c.scope(), t, id));
    else check(c.scope().can_read(t));
    return no_content();
  }, true);

  // ----- quarantine -----
  // The item a change acts on, recorded as the audit entry's "before".
  auto audited_item = [this](Ctx& c, const std::string& id) {
    auto item = take(d.quarantine->get(c.scope(), id));
    c.before = to_j(item);
    c.audit_tenant = item.tenant;
    return item;
  };
  on("GET", "/api/v1/quarantine", [this](Ctx& c) {
    store::QuarantineQuery q;
    search_fields(c, q.recipients, {{"tenant", &q.tenant}, {"sender", &q.sender}, {"subject", &q.subject},
                                    {"verdict", &q.verdict}, {"reason", &q.reason}});
    q.status = c.req.param("status", "held");
    if (q.status == "any") q.status.clear();
    q.since = c.qnum("since", 0, 0, INT64_MAX);
    q.until = c.qnum("until", 0, 0, INT64_MAX);
    q.limit = 5000;
    auto items = take(d.quarantine->search(c.scope(), q));
    return page(c, array_of(items), {"tenant", "recipient", "sender", "subject", "verdict", "reason", "status", "since", "until"});
  });
  on("GET", "/api/v1/quarantine/{id}", [this](Ctx& c) { return ok(to_j(take(d.quarantine->get(c.scope(), c.param("id"))))); });
  on("GET", "/api/v1/quarantine/{id}/preview", [this](Ctx& c) {
    auto item = take(d.quarantine->get(c.scope(), c.param("id")));
    auto text = take(d.quarantine->preview(c.scope(), c.param("id")));
    return ok({{"id", item.id}, {"preview", text}});
  });
  on("POST", "/api/v1/quarantine/{id}/release", [this, audited_item](Ctx& c) {
    const auto& id = c.param("id");
    (void)audited_item(c, id);
    std::unique_ptr<quarantine::Releaser> rel = d.releaser ? d.releaser() : nullptr;
    if (!rel) raise(503, "unavailable", "releases need the running server's scan engine");
    int approve = c.tri("approve_sender");
    auto r = take(d.quarantine->release(c.scope(), id, approve == 1, *rel));
    return ok({{"id", id}, {"queue_id", r.queue_id}, {"verdict", r.verdict}, {"approved", r.approved}});
  }, true);
  on("DELETE", "/api/v1/quarantine/{id}", [this, audited_item](Ctx& c) {
    const auto& id = c.param("id");
    auto item = audited_item(c, id);
    if (item.status == "held") check(d.quarantine->remove(c.scope(), id));
    else if (item.status != "deleted") raise(409, "conflict", "the message was already " + item.status);
    return no_content();
  }, true);

  // Several items at once; each is released or deleted as on its own (the service decides per
  // item), and the answer lists every item's outcome.
  on("POST", "/api/v1/quarantine/bulk", [this](Ctx& c) {
    auto action = c.str("action", true);
    if (action != "release" && action != "delete") raise(400, "invalid", "action must be release or delete", "action");
    if (!c.body.contains("ids") || !c.body["ids"].is_array() || c.body["ids"].empty() || c.body["ids"].size() > 500)
      raise(400, "invalid", "ids must be an array of 1..500 item ids", "ids");
    bool approve = c.tri("approve_sender") == 1;
    std::unique_ptr<quarantine::Releaser> rel;
    if (action == "release") {
      rel = d.releaser ? d.releaser() : nullptr;
      if (!rel) raise(503, "unavailable", "releases need the running server's scan engine");
    }
    json results = json::array();
    for (auto& v : c.body["ids"]) {
      if (!v.is_string()) raise(400, "invalid", "ids must be strings", "ids");
      auto id = v.get<std::string>();
      json one = {{"id", id}};
      if (action == "release") {
        auto r = d.quarantine->release(c.scope(), id, approve, *rel);
        if (r) one["queue_id"] = r->queue_id;
        else one["error"] = r.error();
      } else if (auto st2 = d.quarantine->remove(c.scope(), id); !st2) {
        one["error"] = st2.message();
      }
      one["ok"] = !one.contains("error");
      results.push_back(one);
    }
    c.after = {{"action", action}, {"results", results}};
    c.after_set = true;
    return ok({{"results", results}});
  }, true);

  // ----- message tracking -----
  on("GET", "/api/v1/messages", [this](Ctx& c) {
    store::SummaryQuery q;
    search_fields(c, q.recipients, {{"tenant", &q.tenant}, {"sender", &q.sender}, {"subject", &q.subject},
                                    {"message_id", &q.message_id}, {"queue_id", &q.queue_id},
                                    {"client_ip", &q.client_ip}, {"verdict", &q.verdict}});
    q.since_us = c.qnum("since", 0, 0, INT64_MAX / 1000000) * 1000000;
    q.until_us = c.qnum("until", 0, 0, INT64_MAX / 1000000) * 1000000;
    q.limit = 5000;
    auto rows = take(tenancy::TrackingSearch(st()).search(c.scope(), q));
    return page(c, array_of(rows), {"tenant", "recipient", "sender", "subject", "message_id", "queue_id", "client_ip",
                                    "verdict", "since", "until"});
  });
  on("GET", "/api/v1/messages/{queue_id}/events", [this](Ctx& c) {
    return page(c, array_of(take(tenancy::TrackingSearch(st()).history(c.scope(), c.param("queue_id")))), {});
  });

  // ----- dashboard statistics -----
  on("GET", "/api/v1/stats", [this](Ctx& c) {
    store::StatsQuery q;
    q.tenant = c.req.param("tenant");
    auto bucket = c.req.param("bucket", "hour");
    if (bucket != "hour" && bucket != "day") raise(400, "invalid", "bucket must be hour or day", "bucket");
    q.bucket_s = bucket == "hour" ? 3600 : 86400;
    int64_t to = c.qnum("to", c.now, 1, INT64_MAX / 1000000);
    int64_t from = c.qnum("from", to - (bucket == "hour" ? 24 * 3600 : 30 * 86400), 0, INT64_MAX / 1000000);
    if (from >= to) raise(400, "invalid", "from must be before to", "from");
    // Whole buckets (UTC), at most 1000 of them.
    q.from = from - from % q.bucket_s;
    q.to = to;
    if ((q.to - q.from) / q.bucket_s >= 1000) raise(400, "invalid", "at most 1000 buckets; use bucket=day or a shorter range", "from");
    auto m = take(tenancy::TrackingSearch(st()).stats(c.scope(), q));
    json series = json::array();
    for (auto& b : m.series)
      series.push_back({{"t", b.t}, {"total", b.total}, {"clean", b.clean}, {"bulk", b.bulk}, {"spam", b.spam},
                        {"phishing", b.phishing}, {"malware", b.malware}, {"unscannable", b.unscannable},
                        {"rejected", b.rejected}, {"quarantined", b.quarantined}, {"refused", b.refused}});
    json senders = json::array(), ips = json::array();
    for (auto& x : m.top_blocked_senders) senders.push_back({{"sender", x.key}, {"count", x.count}});
    for (auto& x : m.top_blocked_ips) ips.push_back({{"ip", x.key}, {"count", x.count}});
    json queue = nullptr;
    if (c.scope().is_operator() && d.queue_stats) {
      auto f = d.queue_stats();
      queue = {{"messages", f.messages}, {"deferred", f.deferred}, {"held", f.held}, {"in_flight", f.in_flight}};
    }
    json licence = json::array();
    for (auto& u : take(ten().usage(c.scope(), q.tenant, c.now)))
      licence.push_back({{"tenant", u.tenant}, {"licensed", u.licensed}, {"used", u.in_use}, {"over", u.over}});
    if (!q.tenant.empty() && licence.empty()) raise(404, "not_found", "unknown tenant '" + q.tenant + "'", "tenant");
    return ok({{"bucket", bucket}, {"from", q.from}, {"to", q.to}, {"tenant", q.tenant.empty() ? json(nullptr) : json(q.tenant)},
               {"series", series}, {"top_blocked_senders", senders}, {"top_blocked_ips", ips}, {"queue", queue},
               {"licence", licence}});
  });

  // ----- connection control -----
  // Refusals of the service as HTTP errors; "unavailable" (no live server) is 503.
  auto conn_take = [](auto r) {
    if (!r && r.status().message().rfind("unavailable", 0) == 0) raise(503, "unavailable", r.status().message());
    return take(std::move(r));
  };
  on("GET", "/api/v1/reputation/ips/{ip}", [this, conn_take](Ctx& c) {
    auto r = conn_take(conn.lookup(c.scope(), c.param("ip"), c.req.param("tenant"), c.now));
    const double rw = d.reputation->options().refused_weight;
    json allowed = json::array();
    for (auto& e : r.allowed_by) allowed.push_back(to_j(e));
    return ok({{"ip", r.ip}, {"network", r.network}, {"ip_counts", to_j(r.ip_counts, rw)},
               {"network_counts", to_j(r.network_counts, rw)}, {"bad_share_ip", r.bad_share_ip},
               {"bad_share_network", r.bad_share_network}, {"actions", r.actions}, {"reasons", r.reasons},
               {"tenant", r.tenant.empty() ? json(nullptr) : json(r.tenant)}, {"strictness", r.strictness},
               {"action", r.action}, {"reason", r.reason}, {"allowed_by", allowed}});
  });
  on("GET", "/api/v1/reputation/top", [this, conn_take](Ctx& c) {
    auto n = c.qnum("limit", 50, 1, 500);
    auto off = c.req.param("cursor").empty() ? 0 : c.qnum("cursor", 0, 0, 100000);
    auto rows = conn_take(conn.top(c.scope(), static_cast<size_t>(n + off), c.now));
    const double rw = d.reputation->options().refused_weight;
    json items = json::array();
    for (auto& t : rows)
      items.push_back({{"source", t.source}, {"kind", t.network ? "network" : "ip"}, {"counts", to_j(t.counts, rw)},
                       {"bad", t.bad}, {"action", t.network ? json(nullptr) : json(t.action)}});
    return page(c, items, {});
  });
  // Allow lists: "" = the operator-wide one.
  auto allow_routes = [this](const char* base, bool tenant_scoped) {
    auto tenant_of = [tenant_scoped](Ctx& c) { return tenant_scoped ? c.param("tenant") : std::string(); };
    on("GET", base, [this, tenant_of](Ctx& c) { return page(c, array_of(take(conn.allow_list(c.scope(), tenant_of(c)))), {}); });
    on("POST", base, [this, tenant_of](Ctx& c) {
      bool created = false;
      auto e = take(conn.allow_add(c.scope(), tenant_of(c), c.str("entry", true), c.num("expires_at", 0), c.str("note"),
                                   c.now, &created));
      c.audit_tenant = e.tenant;
      return ok(to_j(e), created ? 201 : 200);
    }, true);
    on("DELETE", (std::string(base) + "/{id}").c_str(), [this, tenant_of](Ctx& c) {
      auto removed = take(conn.allow_remove(c.scope(), tenant_of(c), id_param(c.param("id"), "allow entry")));
      if (removed) c.before = to_j(*removed);
      c.audit_tenant = tenant_of(c);
      return no_content();
    }, true);
  };
  allow_routes("/api/v1/allowlist", false);
  allow_routes("/api/v1/tenants/{tenant}/allowlist", true);
  on("GET", "/api/v1/tenants/{tenant}/connection", [this](Ctx& c) {
    return ok(to_j(take(conn.settings(c.scope(), c.param("tenant")))));
  });
  on("PUT", "/api/v1/tenants/{tenant}/connection", [this](Ctx& c) {
    const auto& t = c.param("tenant");
    if (!c.body.is_object()) raise(400, "invalid", "a JSON object is required");
    for (auto& [k, v] : c.body.items()) {
      (void)v;
      if (k != "strictness" && k != "greylisting") raise(400, "invalid", "unknown field '" + k + "'", k);
    }
    auto before = take(conn.settings(c.scope(), t));
    c.before = to_j(before);
    std::string level = c.str("strictness");
    int grey = c.tri("greylisting");
    bool g = grey == 1;
    auto after = take(conn.set_settings(c.scope(), t, level.empty() ? nullptr : &level, grey == -1 ? nullptr : &g));
    return ok(to_j(after));
  }, true);

  // ----- security events and audit -----
  on("GET", "/api/v1/security-events", [this](Ctx& c) {
    return page(c, array_of(take(ten().security_events(c.scope(), c.req.param("tenant"), 5000))), {"tenant"});
  });
  on("GET", "/api/v1/audit", [this](Ctx& c) {
    if (c.scope().role == tenancy::Role::User) raise(403, "forbidden", "permission denied: end users see no audit log");
    store::AuditQuery q;
    q.tenant = take(c.scope().tenant_filter(c.req.param("tenant")));
    q.actor = c.req.param("actor");
    q.since = c.qnum("since", 0, 0, INT64_MAX);
    q.until = c.qnum("until", 0, 0, INT64_MAX);
    q.limit = 5000;
    return page(c, array_of(st().api()->audit(q)), {"tenant", "actor", "since", "until"});
  });
}

Response Api::Impl::handle(const Request& req) {
  if (console.enabled() && !is_api_path(req.path)) return console.serve(req);
  Response res;
  try {
    size_t idx = 0;
    Params params;
    std::string allowed;
    switch (router.match(req.method, req.path, &idx, &params, &allowed)) {
      case Router::Match::NotFound:
        raise(404, "not_found", "no such endpoint: " + req.path);
      case Router::Match::MethodNotAllowed:
        res = json_response(405, error_body("method_not_allowed", req.method + " is not allowed here", ""));
        res.headers.emplace("Allow", allowed);
        add_security_headers(res);
        return res;
      case Router::Match::Found:
        break;
    }
    const Route& route = router.routes()[idx];
    Ctx c(req, std::move(params), d.clock());
    if (!route.public_) {
      AuthError e;
      if (!creds.identify(req.header("authorization"), req.header("cookie"), c.now, &c.caller, &e)) {
        res = json_response(e.status, error_body(e.code, e.message, ""));
        if (e.status == 401) res.headers.emplace("WWW-Authenticate", "Bearer realm=\"mailmoat\"");
        add_security_headers(res);
        return res;
      }
      if (route.write) {
        if (!c.caller.write) raise(403, "forbidden", "permission denied: this token is read-only");
        if (c.caller.cookie && !equal_secret(req.header("x-csrf-token"), c.caller.csrf))
          raise(403, "csrf", "missing or wrong X-CSRF-Token header for a cookie-authenticated change");
      }
    }
    if (!req.body.empty()) {
      auto ct = lower(req.header("content-type"));
      if (ct.rfind("application/json", 0) != 0) raise(415, "unsupported_media_type", "send application/json");
      c.body = json::parse(req.body, nullptr, false);
      if (c.body.is_discarded()) raise(400, "invalid_json", "the body is not valid JSON");
    }
    res = fns[idx](c);
    if (route.write && !route.public_ && res.status < 300 && d.store->api()) {
      store::AuditEntry a;
      a.ts = c.now;
      a.actor = c.caller.user + (c.caller.token_id ? " (token " + std::to_string(c.caller.token_id) + ")" : "");
      a.client_ip = req.client_ip;
      a.action = route.method + " " + route.pattern;
      for (auto& [k, v] : c.p) a.target += (a.target.empty() ? "" : " ") + k + "=" + v;
      a.tenant = !c.audit_tenant.empty() ? c.audit_tenant
                 : c.p.count("tenant")    ? c.p.at("tenant")
                                          : c.caller.scope.tenant;
      a.before_json = c.before.dump(-1, ' ', false, json::error_handler_t::replace);
      json after = c.after;
      if (!c.after_set) after = res.body.empty() ? json(nullptr) : parse_or_null(res.body);
      a.after_json = after.dump(-1, ' ', false, json::error_handler_t::replace);
      (void)d.store->api()->add_audit(a);
    }
  } catch (const ApiErr& e) {
    res = json_response(e.status, error_body(e.code, e.message, e.field));
  } catch (const json::exception& e) {
    res = json_response(400, error_body("invalid", e.what(), ""));
  }
  add_security_headers(res);
  return res;
}

Api::Api(ApiDeps d, AuthOptions o) : impl_(std::make_unique<Impl>(std::move(d), o)) {}
Api::~Api() = default;
Response Api::handle(const Request& r) { return impl_->handle(r); }
const Router& Api::router() const { return impl_->router; }

}  // namespace mm::api
