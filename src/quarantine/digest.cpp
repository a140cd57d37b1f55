#include "quarantine/digest.h"

#include <sodium.h>

#include <cstring>
#include <map>
#include <sstream>

#include "policy/policy.h"
#include "util/clock.h"

namespace mm::quarantine {
namespace {

constexpr const char* kKeyBlob = "quarantine_link_key";

std::string b64(std::string_view bin) {
  std::string out(sodium_base64_encoded_len(bin.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bin.data()), bin.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::string> unb64(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

std::string mac(const std::string& key, std::string_view data) {
  unsigned char m[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  crypto_auth_hmacsha256_final(&st, m);
  return std::string(reinterpret_cast<char*>(m), sizeof m);
}

const char* code(LinkAction a) {
  switch (a) {
    case LinkAction::Release: return "r";
    case LinkAction::ReleaseApprove: return "a";
    case LinkAction::Block: return "b";
  }
  return "r";
}

// One line of untrusted text for the digest body.
std::string line(std::string_view s, size_t max = 200) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  return out;
}

bool in_list(const std::string& csv, const std::string& v) {
  return ("," + csv + ",").find("," + v + ",") != std::string::npos;
}

}  // namespace

const char* to_string(LinkAction a) {
  switch (a) {
    case LinkAction::Release: return "release";
    case LinkAction::ReleaseApprove: return "release and approve the sender";
    case LinkAction::Block: return "block the sender";
  }
  return "release";
}

LinkSigner::LinkSigner(std::string key) : key_(std::move(key)) {}

Result<LinkSigner> LinkSigner::from_store(store::Store& st) {
  if (sodium_init() < 0) return Status::error("libsodium failed to initialise");
  if (auto k = st.get_blob(kKeyBlob); k && k->size() == 32) return LinkSigner(*k);
  std::string key(32, '\0');
  randombytes_buf(key.data(), key.size());
  if (auto s = st.put_blob(kKeyBlob, key); !s) return s;
  auto k = st.get_blob(kKeyBlob);  // another process may have won the race: use what is stored
  if (!k || k->size() != 32) return Status::error("cannot read the quarantine link key");
  return LinkSigner(*k);
}

std::string LinkSigner::sign(const LinkClaim& c) const {
  std::string payload =
      std::string("v1|") + code(c.action) + "|" + c.item_id + "|" + std::to_string(c.expires) + "|" + c.recipient;
  return b64(payload) + "." + b64(mac(key_, payload));
}

Result<LinkClaim> LinkSigner::verify(const std::string& token, int64_t now) const {
  auto bad = Status::error("this link is not valid");
  auto dot = token.find('.');
  if (dot == std::string::npos || token.size() > 2000) return bad;
  auto payload = unb64(std::string_view(token).substr(0, dot));
  auto m = unb64(std::string_view(token).substr(dot + 1));
  if (!payload || !m || m->size() != crypto_auth_hmacsha256_BYTES) return bad;
  auto expect = mac(key_, *payload);
  if (sodium_memcmp(expect.data(), m->data(), expect.size()) != 0) return bad;
  // v1|a|id|expires|recipient
  std::vector<std::string> f;
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    auto bar = payload->find('|', pos);
    if (bar == std::string::npos) return bad;
    f.push_back(payload->substr(pos, bar - pos));
    pos = bar + 1;
  }
  f.push_back(payload->substr(pos));
  if (f[0] != "v1") return bad;
  LinkClaim c;
  if (f[1] == "r") c.action = LinkAction::Release;
  else if (f[1] == "a") c.action = LinkAction::ReleaseApprove;
  else if (f[1] == "b") c.action = LinkAction::Block;
  else return bad;
  c.item_id = f[2];
  c.expires = std::strtoll(f[3].c_str(), nullptr, 10);
  c.recipient = f[4];
  if (c.expires <= now) return Status::error("this link has expired");
  return c;
}

std::vector<Digest> build_digests(store::Store& st, const LinkSigner& signer, int64_t since, int64_t now,
                                  const DigestOptions& o, const std::string& tenant) {
  store::QuarantineQuery q;
  q.tenant = tenant;
  q.since = since;
  q.limit = 100000;
  std::map<std::pair<std::string, std::string>, std::vector<store::QuarantineItem>> by;
  for (auto& i : st.tenancy().search_quarantine(q)) by[{i.tenant, i.recipient}].push_back(i);
  std::vector<Digest> out;
  for (auto& [key, items] : by) {
    auto info = st.tenancy().tenant_info(key.first);
    std::string allowed = info ? info->user_release : "";
    Digest d;
    d.tenant = key.first;
    d.recipient = key.second;
    d.items = items.size();
    std::string body = "Messages held for you by the mail filter since " + rfc5322_date(since) + ":\r\n";
    for (auto& i : items) {
      body += "\r\nFrom:    " + line(i.sender.empty() ? "<>" : i.sender) + "\r\nSubject: " + line(i.subject) +
              "\r\nReason:  " + line(i.reason) + "\r\nHeld:    " + rfc5322_date(i.received_at) + "\r\n";
      auto link = [&](LinkAction a) {
        return "  " + std::string(to_string(a)) + ": " + o.base_url + "?t=" +
               signer.sign({a, i.id, i.recipient, now + o.link_ttl_s}) + "\r\n";
      };
      bool releasable = i.verdict != "malware" && i.reason != "malware" && in_list(allowed, i.reason);
      if (releasable) body += link(LinkAction::Release) + link(LinkAction::ReleaseApprove);
      else body += "  (ask your administrator to release this message)\r\n";
      if (!i.sender.empty()) body += link(LinkAction::Block);
    }
    body += "\r\nThe links work until " + rfc5322_date(now + o.link_ttl_s) + ". Held messages are deleted after " +
            std::to_string(info ? info->quarantine_days : 30) + " days.\r\n";
    unsigned char rnd[8];
    randombytes_buf(rnd, sizeof rnd);
    d.message = "From: " + o.from + "\r\nTo: <" + d.recipient + ">\r\nSubject: Quarantine digest: " +
                std::to_string(items.size()) + " new message" + (items.size() == 1 ? "" : "s") +
                "\r\nDate: " + rfc5322_date(now) + "\r\nMessage-ID: <digest." +
                b64(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd)) + "@" + o.hostname +
                ">\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
                "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body;
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::string> redeem(Quarantine& qu, store::Store& st, const LinkSigner& signer, const std::string& token,
                           Releaser& rel, int64_t now) {
  auto c = signer.verify(token, now);
  if (!c) return c.status();
  auto item = st.tenancy().get_quarantine(c->item_id);
  if (!item || item->recipient != c->recipient) return Status::error("this link is not valid");
  // The mailbox's own scope: the end user's permissions apply, whoever follows the link.
  std::vector<std::string> addrs{c->recipient};
  if (auto acc = st.tenancy().find_account(c->recipient)) {
    addrs = {acc->address};
    addrs.insert(addrs.end(), acc->aliases.begin(), acc->aliases.end());
  }
  auto scope = tenancy::Scope::end_user(item->tenant, addrs, "link:" + c->recipient);
  if (c->action == LinkAction::Block) {
    policy::PolicyService ps(st);
    auto acc = st.tenancy().find_account(c->recipient);
    if (!acc) return Status::error("blocking needs a protected account for " + c->recipient);
    auto e = ps.add_sender(scope, item->tenant, acc->address, "block", item->sender, 0);
    if (!e) return e.status();
    return "blocked " + item->sender + " for " + acc->address + "\n";
  }
  auto r = qu.release(scope, c->item_id, c->action == LinkAction::ReleaseApprove, rel);
  if (!r) return r.status();
  return "released " + c->item_id + " as " + r->queue_id + (r->approved ? "; sender approved" : "") + "\n";
}

Result<size_t> send_due_digests(store::Store& st, const LinkSigner& signer, int64_t now, const DigestOptions& o,
                                const std::function<Status(const Digest&)>& queue) {
  constexpr const char* kRuns = "quarantine_digest_runs";
  std::map<std::string, int64_t> last;  // "tenant unix-s" lines
  if (auto blob = st.get_blob(kRuns)) {
    std::istringstream in(*blob);
    std::string t;
    int64_t at = 0;
    while (in >> t >> at) last[t] = at;
  }
  size_t sent = 0;
  std::string error;
  for (auto& t : st.list_tenants()) {
    auto it = last.find(t.name);
    int64_t since = it == last.end() ? now - 86400 : it->second;
    bool ok = true;
    for (auto& d : build_digests(st, signer, since, now, o, t.name)) {
      if (auto s = queue(d); !s) {
        ok = false;
        error = "digest for " + d.recipient + ": " + s.message();
        break;
      }
      ++sent;
    }
    if (ok) last[t.name] = now;  // items held at `now` or later go into the next run
  }
  std::string blob;
  for (auto& [t, at] : last) blob += t + " " + std::to_string(at) + "\n";
  if (auto s = st.put_blob(kRuns, blob); !s) return Status::error("remembering the digest runs: " + s.message());
  if (!error.empty()) return Status::error(error);
  return sent;
}

}  // namespace mm::quarantine
