#include "queue/dsn.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "util/clock.h"

namespace mm::queue {
namespace {

constexpr size_t kMaxField = 900;  // keeps every physical line under RFC 5322's 998

// One logical line: control characters become spaces, length is bounded.
std::string clean(std::string_view s) {
  std::string out;
  out.reserve(std::min(s.size(), kMaxField));
  for (char ch : s) {
    if (out.size() >= kMaxField) break;
    auto c = static_cast<unsigned char>(ch);
    out.push_back(c < 0x20 || c == 0x7F ? ' ' : ch);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Appends "name: value" folded at spaces to stay near 78 columns, then CRLF.
void field(std::string& out, std::string_view name, std::string_view value) {
  std::string line(name);
  line += ": ";
  size_t col = line.size();
  size_t pos = 0;
  bool first = true;
  while (pos < value.size()) {
    size_t sp = value.find(' ', pos);
    std::string_view word = value.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    pos = sp == std::string_view::npos ? value.size() : sp + 1;
    if (word.empty()) continue;
    if (!first && col + 1 + word.size() > 78) {
      line += "\r\n ";
      col = 1;
    } else if (!first) {
      line += ' ';
      ++col;
    }
    line += word;
    col += word.size();
    first = false;
  }
  out += line;
  out += "\r\n";
}

// Every line end becomes CRLF; a non-empty result ends with CRLF.
std::string to_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32 + 2);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

// "type; text" as Diagnostic-Code wants it; bare SMTP replies get the "smtp" type.
std::string diagnostic_code(const std::string& d) {
  auto semi = d.find(';');
  bool typed = semi != std::string::npos && semi > 0 &&
               std::all_of(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(semi), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
               });
  return typed ? d : "smtp; " + d;
}

uint64_t fnv1a(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::string header_section(std::string_view message) {
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    std::string_view line = message.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (line.empty() || line == "\r") return std::string(message.substr(0, pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return std::string(message);
}

std::string build_dsn(const DsnInput& in, const std::string& new_message_id, int64_t now_s) {
  const std::string host = clean(in.reporting_mta);
  const std::string sender = clean(in.original_sender);
  const std::string headers = to_crlf(in.original_headers);
  bool all_delayed = !in.recipients.empty();
  for (const auto& r : in.recipients) all_delayed = all_delayed && clean(r.action) == "delayed";

  // --- part 1: human-readable explanation
  std::string text;
  text += "This is the mail system at host " + host + ".\r\n\r\n";
  if (all_delayed) {
    text +=
        "####################################################################\r\n"
        "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
        "####################################################################\r\n\r\n"
        "Your message could not be delivered yet to the recipients listed\r\n"
        "below. The mail system will keep trying to deliver it and will tell\r\n"
        "you if it finally gives up.\r\n\r\n";
  } else {
    text +=
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients. It's attached below.\r\n\r\n"
        "For further assistance, please send mail to postmaster.\r\n\r\n";
  }
  for (const auto& r : in.recipients) {
    std::string why = clean(r.diagnostic.empty() ? r.status : r.diagnostic);
    field(text, "<" + clean(r.address) + ">", clean(r.action) + (why.empty() ? "" : " (" + why + ")"));
  }

  // --- part 2: machine-readable status (RFC 3464 section 2)
  std::string ds;
  field(ds, "Reporting-MTA", "dns; " + host);
  if (!in.original_id.empty()) field(ds, "X-Mailmoat-Queue-ID", clean(in.original_id));
  field(ds, "Arrival-Date", rfc5322_date(in.arrival_s));
  for (const auto& r : in.recipients) {
    const std::string addr = clean(r.address);
    const std::string action = clean(r.action).empty() ? "failed" : clean(r.action);
    std::string status = clean(r.status);
    if (status.empty()) status = action == "delayed" ? "4.0.0" : "5.0.0";
    ds += "\r\n";
    field(ds, "Final-Recipient", (in.smtputf8 && has_8bit(addr) ? "utf-8; " : "rfc822; ") + addr);
    field(ds, "Action", action);
    field(ds, "Status", status);
    if (!r.remote_mta.empty()) field(ds, "Remote-MTA", "dns; " + clean(r.remote_mta));
    if (!r.diagnostic.empty()) field(ds, "Diagnostic-Code", diagnostic_code(clean(r.diagnostic)));
    field(ds, "Last-Attempt-Date", rfc5322_date(now_s));
  }

  // --- boundary: must not occur in any part
  std::string boundary;
  uint64_t h = fnv1a(new_message_id, fnv1a(std::to_string(now_s)));
  for (int n = 0;; ++n, h = fnv1a("x", h)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "=_mm_%016llx_%d", static_cast<unsigned long long>(h), n);
    boundary = buf;
    if (text.find(boundary) == std::string::npos && ds.find(boundary) == std::string::npos &&
        headers.find(boundary) == std::string::npos)
      break;
  }

  const bool eight = in.smtputf8 || has_8bit(text) || has_8bit(ds) || has_8bit(headers);
  std::string msgid = clean(new_message_id);
  if (msgid.empty() || msgid.front() != '<') msgid = "<" + msgid + ">";

  std::string out;
  field(out, "From", "Mail Delivery System <MAILER-DAEMON@" + host + ">");
  field(out, "To", "<" + sender + ">");
  field(out, "Subject", all_delayed ? "Delayed Mail (still being retried)"
                                    : "Undelivered Mail Returned to Sender");
  field(out, "Date", rfc5322_date(now_s));
  field(out, "Message-ID", msgid);
  field(out, "Auto-Submitted", "auto-replied");
  field(out, "MIME-Version", "1.0");
  out += "Content-Type: multipart/report; report-type=delivery-status;\r\n"
         "\tboundary=\"" + boundary + "\"\r\n";
  field(out, "Content-Transfer-Encoding", eight ? "8bit" : "7bit");
  out += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  out += "--" + boundary + "\r\n";
  field(out, "Content-Description", "Notification");
  field(out, "Content-Type", in.smtputf8 || has_8bit(text) ? "text/plain; charset=utf-8"
                                                            : "text/plain; charset=us-ascii");
  if (has_8bit(text)) field(out, "Content-Transfer-Encoding", "8bit");
  out += "\r\n" + text + "\r\n";

  out += "--" + boundary + "\r\n";
  field(out, "Content-Description", "Delivery report");
  field(out, "Content-Type", in.smtputf8 ? "message/global-delivery-status" : "message/delivery-status");
  if (has_8bit(ds)) field(out, "Content-Transfer-Encoding", "8bit");
  out += "\r\n" + ds + "\r\n";

  out += "--" + boundary + "\r\n";
  field(out, "Content-Description", "Undelivered Message Headers");
  field(out, "Content-Type", in.smtputf8 ? "message/global-headers" : "text/rfc822-headers");
  if (has_8bit(headers)) field(out, "Content-Transfer-Encoding", "8bit");
  out += "\r\n" + headers + "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace mm::queue
