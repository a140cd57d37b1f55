#include "auth/auth.h"

#include <strings.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>

#include "auth/message_util.h"

namespace mm::auth {

Authenticator::Authenticator(dns::Resolver& r, AuthOptions o) : resolver_(r), opt_(std::move(o)) {}

void Authenticator::prefetch(AuthRequest req, std::function<void(std::shared_ptr<Prefetched>)> done) const {
  auto p = std::make_shared<Prefetched>();
  p->req = std::move(req);
  if (p->req.raw) {
    p->dkim_refs = dkim_signature_refs(*p->req.raw);
    p->from_domain = from_domain(*p->req.raw, &p->from_problem);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.timeout_ms);
  AuthOptions o = opt_;
  auto step = [o, p](Lookup& l) {
    const auto& r = p->req;
    bool ready = true;
    if (o.dkim)
      for (auto& ref : p->dkim_refs) ready = l.want(ref.key_name(), dns::Type::TXT) && ready;
    // Each evaluator runs as far as its answers go, so all of them ask in the same round.
    bool need = false;
    if (o.spf) {
      try {
        p->spf = spf_mailfrom(l, r.client_ip, r.mail_from, r.helo);
      } catch (const NeedDns&) {
        need = true;
      }
      if (!r.mail_from.empty()) {
        try {
          p->helo_spf = spf_helo(l, r.client_ip, r.helo);
        } catch (const NeedDns&) {
          need = true;
        }
      }
    }
    if (o.dmarc && !p->from_domain.empty()) {
      try {
        p->dmarc = dmarc_discover(l, p->from_domain);
      } catch (const NeedDns&) {
        need = true;
      }
    }
    if (need || !ready) throw NeedDns{};
  };
  drive(resolver_, p->answers, step, deadline, [p, done = std::move(done)] { done(p); });
}

void Authenticator::warm_spf(const std::string& ip, const std::string& mail_from, const std::string& helo) const {
  if (!opt_.spf) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.timeout_ms);
  drive(resolver_, std::make_shared<AnswerSet>(), [ip, mail_from, helo](Lookup& l) {
    spf_mailfrom(l, ip, mail_from, helo);
    if (!mail_from.empty()) spf_helo(l, ip, helo);
  }, deadline, [] {});
}

scan::AuthFacts Authenticator::finish(const Prefetched& p) const {
  scan::AuthFacts f;
  f.evaluated = true;
  const auto& r = p.req;
  if (opt_.spf) {
    f.spf = to_string(p.spf.result);
    f.spf_domain = p.spf.domain;
    f.spf_reason = !p.spf.reason.empty() ? p.spf.reason : p.spf.mechanism;
    if (!p.spf.explanation.empty()) f.spf_reason += " (" + p.spf.explanation + ")";
    f.helo_spf = r.mail_from.empty() ? f.spf : to_string(p.helo_spf.result);
  }
  std::vector<DkimVerdict> dkim;
  if (opt_.dkim && r.raw) {
    dkim = dkim_verify(*r.raw, *p.answers);
    for (auto& v : dkim) f.dkim.push_back({v.domain, v.selector, v.result, v.reason});
  }
  if (opt_.dmarc) {
    if (p.from_domain.empty()) {
      // Several authors (fields or domains) are a known way around DMARC: not "none".
      bool several = p.from_problem == "more than one From field" ||
                     p.from_problem == "From has addresses in more than one domain";
      f.dmarc = several ? "permerror" : "none";
      f.dmarc_reason = p.from_problem;
    } else {
      DmarcInput in;
      in.spf_result = f.spf;
      in.spf_domain = p.spf.domain;
      in.spf_temperror = p.spf.result == SpfResult::TempError;
      for (auto& v : dkim) in.dkim.push_back({v.domain, v.result == "pass", v.result == "temperror"});
      thread_local std::mt19937 rng{std::random_device{}()};
      int sample = static_cast<int>(rng() % 100);
      DmarcOutcome d = dmarc_evaluate(p.dmarc, in, sample);
      f.dmarc = to_string(d.result);
      f.dmarc_domain = p.from_domain;
      f.dmarc_reason = d.reason;
      if (p.dmarc.state == DmarcDiscovery::State::Found) {
        f.dmarc_requested = to_string(d.requested);
        f.dmarc_policy = d.result == DmarcResult::Fail ? to_string(d.applied) : "none";
      }
    }
  }
  if (f.dmarc == "temperror") {
    f.tempfail = "DMARC policy of " + f.dmarc_domain + " could not be evaluated: " + f.dmarc_reason;
  } else if (f.spf == "temperror" && f.dmarc != "pass") {
    f.tempfail = "SPF check of " + f.spf_domain + " failed: " + f.spf_reason;
  }
  return f;
}

std::string Authenticator::header(const scan::AuthFacts& f, const Prefetched& p) const {
  return build_authentication_results(opt_.authserv_id, f, p.req.mail_from, p.req.helo);
}

namespace {

std::string comment(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 120)) {
    if (c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f) out += ' ';
    else out += static_cast<char>(c);
  }
  return out.empty() ? out : " (" + out + ")";
}

// A pvalue (RFC 8601 §2.2): a domain or local@domain; anything else is reduced to the domain.
std::string pvalue(const std::string& v) {
  bool plain = !v.empty();
  for (unsigned char c : v)
    if (!(std::isalnum(c) || std::strchr(".-_+@=", c))) plain = false;
  if (plain) return v;
  auto at = v.rfind('@');
  std::string d = at == std::string::npos ? v : v.substr(at + 1);
  std::string out;
  for (unsigned char c : d)
    if (std::isalnum(c) || c == '.' || c == '-') out += static_cast<char>(c);
  return out.empty() ? "unknown" : out;
}

}  // namespace

std::string build_authentication_results(const std::string& id, const scan::AuthFacts& f, const std::string& mail_from,
                                         const std::string& helo) {
  std::vector<std::string> items;
  if (!f.spf.empty()) {
    if (!mail_from.empty()) {
      items.push_back("spf=" + f.spf + comment(f.spf_reason) + " smtp.mailfrom=" + pvalue(mail_from));
      if (!f.helo_spf.empty() && helo.find('.') != std::string::npos && helo[0] != '[')
        items.push_back("spf=" + f.helo_spf + " smtp.helo=" + pvalue(helo));
    } else {
      items.push_back("spf=" + f.spf + comment(f.spf_reason) + " smtp.helo=" + pvalue(helo.empty() ? "unknown" : helo));
    }
  }
  if (f.evaluated && f.dkim.empty() && !f.spf.empty()) items.push_back("dkim=none");
  for (auto& d : f.dkim)
    items.push_back("dkim=" + d.result + comment(d.reason) + " header.d=" + pvalue(d.domain) + " header.s=" +
                    pvalue(d.selector));
  if (!f.dmarc.empty()) {
    std::string c;
    if (!f.dmarc_requested.empty()) c = "p=" + f.dmarc_requested + " dis=" + f.dmarc_policy;
    if (f.dmarc != "pass" && !f.dmarc_reason.empty()) c += (c.empty() ? "" : "; ") + f.dmarc_reason;
    items.push_back("dmarc=" + f.dmarc + comment(c) +
                    (f.dmarc_domain.empty() ? "" : " header.from=" + pvalue(f.dmarc_domain)));
  }
  std::string h = "Authentication-Results: " + id + ";";
  if (items.empty()) return h + " none\r\n";
  for (size_t i = 0; i < items.size(); ++i) h += "\r\n\t" + items[i] + (i + 1 < items.size() ? ";" : "");
  return h + "\r\n";
}

namespace {

// Splits on `sep` outside parentheses (comments).
std::vector<std::string> split_outside_comments(std::string_view v, char sep) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (char c : v) {
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    if (c == sep && depth == 0) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

std::string unfold(std::string_view v) {
  std::string out;
  for (char c : v) out += (c == '\r' || c == '\n' || c == '\t') ? ' ' : c;
  return out;
}

}  // namespace

scan::AuthFacts facts_from_authentication_results(std::string_view raw, const std::string& authserv_id) {
  scan::AuthFacts f;
  for_each_header(raw, [&](std::string_view name, std::string_view value) {
    if (f.evaluated || name.size() != 22 || strncasecmp(name.data(), "Authentication-Results", 22) != 0) return;
    auto items = split_outside_comments(unfold(value), ';');
    std::string id = items[0];
    id.erase(0, id.find_first_not_of(' '));
    id = id.substr(0, id.find_first_of(" ("));
    if (strcasecmp(id.c_str(), authserv_id.c_str()) != 0) return;
    f.evaluated = true;
    std::string helo_result;
    for (size_t i = 1; i < items.size(); ++i) {
      // "method=result (comment) prop=value ..."
      std::string item = items[i], comment;
      auto open = item.find('(');
      auto close = item.rfind(')');
      if (open != std::string::npos && close != std::string::npos && close > open) {
        comment = item.substr(open + 1, close - open - 1);
        item = item.substr(0, open) + item.substr(close + 1);
      }
      std::map<std::string, std::string> kv;
      std::string method, result;
      size_t pos = 0;
      while (pos < item.size()) {
        size_t a = item.find_first_not_of(' ', pos);
        if (a == std::string::npos) break;
        size_t b = item.find(' ', a);
        if (b == std::string::npos) b = item.size();
        std::string tok = item.substr(a, b - a);
        auto eq = tok.find('=');
        if (eq != std::string::npos) {
          if (method.empty()) {
            method = lower(tok.substr(0, eq));
            result = lower(tok.substr(eq + 1));
          } else {
            kv[lower(tok.substr(0, eq))] = tok.substr(eq + 1);
          }
        }
        pos = b;
      }
      if (method == "spf" && kv.count("smtp.mailfrom")) {
        f.spf = result;
        auto& mf = kv["smtp.mailfrom"];
        f.spf_domain = lower(mf.substr(mf.rfind('@') + 1));
        f.spf_reason = comment;
      } else if (method == "spf" && kv.count("smtp.helo")) {
        helo_result = result;
        if (f.spf.empty() && i == 1) {  // a null sender: the HELO identity is the MAIL FROM one
          f.spf = result;
          f.spf_domain = lower(kv["smtp.helo"]);
          f.spf_reason = comment;
        }
      } else if (method == "dkim" && result != "none") {
        f.dkim.push_back({lower(kv["header.d"]), kv["header.s"], result, comment});
      } else if (method == "dmarc") {
        f.dmarc = result;
        f.dmarc_domain = lower(kv["header.from"]);
        // "p=reject dis=quarantine; reason" or just the reason
        auto semi = comment.find("; ");
        std::string pol = comment.compare(0, 2, "p=") == 0 ? comment.substr(0, semi) : "";
        f.dmarc_reason = pol.empty() ? comment : semi == std::string::npos ? "" : comment.substr(semi + 2);
        auto dis = pol.find(" dis=");
        if (!pol.empty() && dis != std::string::npos) {
          f.dmarc_requested = pol.substr(2, dis - 2);
          f.dmarc_policy = pol.substr(dis + 5);
        }
      }
    }
    f.helo_spf = helo_result.empty() ? f.spf : helo_result;
  });
  return f;
}

namespace {

// Is this header field (name, colon, value, line end) an Authentication-Results field whose
// authserv-id is `authserv_id`?
bool is_our_authentication_results(std::string_view field, const std::string& authserv_id) {
  static const char kName[] = "Authentication-Results";
  size_t colon = field.find(':');
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (name.size() != sizeof kName - 1 || strncasecmp(name.data(), kName, name.size()) != 0) return false;
  // authserv-id: the first token after CFWS (comments skipped), a value or quoted-string.
  std::string_view v = field.substr(colon + 1);
  size_t i = 0;
  int depth = 0;
  while (i < v.size()) {
    char c = v[i];
    if (depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
      ++i;
    } else if (c == '(') {
      depth = 1;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else {
      break;
    }
  }
  std::string id;
  if (i < v.size() && v[i] == '"') {
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      id += v[i];
    }
  } else {
    while (i < v.size() && !std::strchr(" \t\r\n;(", v[i])) id += v[i++];
  }
  return strcasecmp(id.c_str(), authserv_id.c_str()) == 0;
}

// Calls fn(field) for each field of the header section; returns where the section ended (the
// empty line, or the first line that is no field).
template <class F>
size_t each_field(std::string_view raw, F&& fn) {
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t end = field_end(raw, pos);
    std::string_view field = raw.substr(pos, end - pos);
    if (field == "\r\n" || field == "\n" || field.find(':') == std::string_view::npos) break;
    fn(field);
    pos = end;
  }
  return pos;
}

}  // namespace

std::string remove_our_authentication_results(std::string_view raw, const std::string& authserv_id) {
  std::string out;
  out.reserve(raw.size());
  size_t pos = each_field(raw, [&](std::string_view field) {
    if (!is_our_authentication_results(field, authserv_id)) out.append(field);
  });
  out.append(raw.substr(pos));
  return out;
}

std::shared_ptr<const std::string> without_our_authentication_results(std::shared_ptr<const std::string> raw,
                                                                      const std::string& authserv_id) {
  bool found = false;
  each_field(*raw, [&](std::string_view field) { found = found || is_our_authentication_results(field, authserv_id); });
  if (!found) return raw;  // the common case: nothing forged, no copy
  return std::make_shared<const std::string>(remove_our_authentication_results(*raw, authserv_id));
}

}  // namespace mm::auth
