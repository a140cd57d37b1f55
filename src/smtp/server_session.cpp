#include "smtp/server_session.h"

#include <algorithm>
#include <utility>

namespace mm::smtp {
namespace {

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Decimal number of 1-20 digits that fits uint64_t.
std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

Reply R(int code, const char* enhanced, std::string text) { return Reply{code, enhanced, std::move(text), false}; }

const Reply kNeedHelo{503, "5.5.1", "Error: send HELO/EHLO first", false};
const Reply kNeedMail{503, "5.5.1", "Error: need MAIL command", false};
const Reply kNeedRcpt{503, "5.5.1", "Error: need RCPT command", false};
const Reply kNoValidRcpt{554, "5.5.1", "Error: no valid recipients", false};
const Reply kTooBig{552, "5.3.4", "Error: message size exceeds fixed limit", false};
const Reply kLongLine{552, "5.3.4", "Error: message line length exceeds fixed limit", false};
const Reply kBareCrLf{550, "5.6.0",
                      "Error: message contains bare CR or LF (RFC 5321 section 2.3.8); use CRLF line endings",
                      false};

}  // namespace

ServerSession::ServerSession(ServerOptions opts) : opt_(std::move(opts)) {}

Reply ServerSession::greeting() const { return R(220, "", opt_.hostname + " ESMTP mailmoat"); }

Reply ServerSession::timeout_reply() const {
  return Reply{421, "4.4.2", opt_.hostname + " Error: timeout exceeded", true};
}

void ServerSession::feed(std::string_view bytes) {
  if (mode_ == Mode::Closed || mode_ == Mode::AwaitTls) return;
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(bytes);
}

std::string ServerSession::take_output() { return std::exchange(out_, {}); }

void ServerSession::send(Reply r) {
  out_ += format_reply(r);
  if (r.close) {
    mode_ = Mode::Closed;
    return;
  }
  if (r.code >= 400 && ++errors_ >= opt_.limits.max_errors) {
    out_ += format_reply(Reply{421, "4.7.0", opt_.hostname + " Error: too many errors", true});
    mode_ = Mode::Closed;
  }
}

std::optional<Event> ServerSession::reply(Reply r) {
  send(std::move(r));
  return std::nullopt;
}

std::optional<Event> ServerSession::emit(Event::Kind kind, PathArg path) {
  pending_ = kind;
  pending_path_ = path;
  Event ev;
  ev.kind = kind;
  ev.path = std::move(path);
  return ev;
}

void ServerSession::reset_transaction() {
  env_.sender = {};
  env_.null_sender = false;
  env_.body = BodyType::SevenBit;
  env_.smtputf8 = false;
  env_.recipients.clear();
  have_mail_ = rcpt_seen_ = bdat_used_ = bdat_failed_ = false;
  msg_.clear();
  msg_.shrink_to_fit();
  msg_size_ = 0;
  msg_bare_ = msg_too_big_ = msg_long_line_ = false;
  bdat_prev_cr_ = false;
}

Event ServerSession::next() {
  if (pending_) {
    Event ev;
    ev.kind = *pending_;
    ev.path = pending_path_;
    return ev;
  }
  for (;;) {
    switch (mode_) {
      case Mode::Closed:
        return Event{Event::Close, {}, {}};
      case Mode::AwaitTls:
        return Event{};
      case Mode::Command: {
        std::string_view line;
        LineStatus st = read_line(line);
        if (st == LineStatus::NeedMore) return Event{};
        if (st == LineStatus::TooLong) {
          send(R(500, "5.5.6", "Error: line too long"));
          continue;
        }
        if (auto ev = command(line)) return std::move(*ev);
        continue;
      }
      case Mode::Data:
        if (!read_data()) return Event{};
        mode_ = Mode::Command;
        if (auto ev = finish_message()) return std::move(*ev);
        continue;
      case Mode::Bdat:
        if (!read_bdat()) return Event{};
        mode_ = Mode::Command;
        if (bdat_error_) {
          if (bdat_last_) reset_transaction();
          send(*std::exchange(bdat_error_, std::nullopt));
          continue;
        }
        if (!bdat_last_) {
          send(R(250, "2.0.0", std::to_string(bdat_chunk_size_) + " octets received"));
          continue;
        }
        if (bdat_prev_cr_) msg_bare_ = true;  // CR as the very last byte
        if (auto ev = finish_message()) return std::move(*ev);
        continue;
    }
  }
}

ServerSession::LineStatus ServerSession::read_line(std::string_view& line) {
  const size_t max = std::max<size_t>(opt_.limits.max_command_line, 3);
  for (;;) {
    std::string_view avail(in_.data() + in_pos_, in_.size() - in_pos_);
    size_t lf = avail.find('\n');
    if (discarding_line_) {
      if (lf == std::string_view::npos) {
        in_.clear();
        in_pos_ = 0;
        return LineStatus::NeedMore;
      }
      in_pos_ += lf + 1;
      discarding_line_ = false;
      return LineStatus::TooLong;
    }
    if (lf == std::string_view::npos) {
      if (avail.size() < max) return LineStatus::NeedMore;
      discarding_line_ = true;  // the line will exceed the limit whatever comes next
      continue;
    }
    in_pos_ += lf + 1;
    if (lf + 1 > max) return LineStatus::TooLong;
    line = avail.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return LineStatus::Ok;
  }
}

std::optional<Event> ServerSession::command(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) {
    send(R(500, "5.5.2", "Error: NUL character in command"));
    return std::nullopt;
  }
  line = trim(line);
  size_t sp = line.find(' ');
  std::string verb(line.substr(0, sp));
  std::transform(verb.begin(), verb.end(), verb.begin(), upper);
  std::string_view arg = sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp + 1));

  if (verb == "EHLO") return cmd_helo(arg, true);
  if (verb == "HELO") return cmd_helo(arg, false);
  if (verb == "MAIL") return cmd_mail(arg);
  if (verb == "RCPT") return cmd_rcpt(arg);
  if (verb == "DATA") return cmd_data(arg);
  if (verb == "BDAT") return cmd_bdat(arg);
  if (verb == "STARTTLS") return cmd_starttls(arg);
  if (verb == "RSET") {
    if (!arg.empty()) {
      send(R(501, "5.5.4", "Syntax: RSET"));
    } else {
      reset_transaction();
      send(R(250, "2.0.0", "Ok"));
    }
  } else if (verb == "NOOP") {
    send(R(250, "2.0.0", "Ok"));
  } else if (verb == "QUIT") {
    send(Reply{221, "2.0.0", "Bye", true});
  } else if (verb == "VRFY") {
    if (arg.empty())
      send(R(501, "5.5.4", "Syntax: VRFY address"));
    else
      send(R(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery"));
  } else if (verb == "EXPN") {
    send(R(502, "5.5.1", "Error: EXPN command not implemented"));
  } else if (verb == "HELP") {
    send(R(214, "2.0.0",
           "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\n"
           "See RFC 5321"));
  } else if (verb.empty()) {
    send(R(500, "5.5.2", "Error: empty command"));
  } else {
    send(R(500, "5.5.2", "Error: command not recognized"));
  }
  return std::nullopt;
}

std::optional<Event> ServerSession::cmd_helo(std::string_view arg, bool esmtp) {
  if (arg.empty()) {
    send(R(501, "5.5.4", esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
    return std::nullopt;
  }
  prev_helo_ = env_.helo;
  prev_esmtp_ = env_.esmtp;
  env_.helo = std::string(arg);
  env_.esmtp = esmtp;
  return emit(Event::Helo);
}

Reply ServerSession::helo_reply() const {
  if (!env_.esmtp) return R(250, "", opt_.hostname);
  std::string t = opt_.hostname;
  t += "\nPIPELINING";
  t += "\nSIZE " + std::to_string(opt_.limits.max_message_size);
  if (opt_.tls_available && !opt_.tls_active) t += "\nSTARTTLS";
  t += "\nENHANCEDSTATUSCODES\n8BITMIME\nSMTPUTF8\nCHUNKING";
  return R(250, "", std::move(t));
}

std::optional<Event> ServerSession::cmd_mail(std::string_view arg) {
  if (!have_helo_) return reply(kNeedHelo);
  if (have_mail_) return reply(R(503, "5.5.1", "Error: nested MAIL command"));
  if (!starts_with_ci(arg, "FROM:"))
    return reply(R(501, "5.5.4", "Syntax: MAIL FROM:<address>"));
  auto parsed = parse_path_arg(arg, "FROM", true);
  if (!parsed) return reply(R(501, "5.1.7", "Bad sender address syntax: " + parsed.error()));
  PathArg& p = *parsed;

  bool utf8 = false;
  for (const auto& [key, value] : p.params) {
    if (!env_.esmtp) return reply(R(555, "5.5.4", "Unsupported option: " + key));
    if (key == "SIZE") {
      auto n = parse_u64(value);
      if (!n) return reply(R(501, "5.5.4", "Bad SIZE parameter syntax"));
      if (*n > opt_.limits.max_message_size) return reply(kTooBig);
    } else if (key == "BODY") {
      if (!iequals(value, "7BIT") && !iequals(value, "8BITMIME"))
        return reply(R(501, "5.5.4", "Unsupported BODY type: " + value));
    } else if (key == "SMTPUTF8") {
      if (!value.empty()) return reply(R(501, "5.5.4", "SMTPUTF8 takes no value"));
      utf8 = true;
    } else {
      return reply(R(555, "5.5.4", "Unsupported option: " + key));
    }
  }
  if (!utf8 && !parse_path_arg(arg, "FROM", false))
    return reply(R(553, "5.6.7", "Error: non-ASCII sender address requires SMTPUTF8"));
  return emit(Event::MailFrom, std::move(p));
}

std::optional<Event> ServerSession::cmd_rcpt(std::string_view arg) {
  if (!have_mail_) return reply(kNeedMail);
  if (!starts_with_ci(arg, "TO:")) return reply(R(501, "5.5.4", "Syntax: RCPT TO:<address>"));
  auto parsed = parse_path_arg(arg, "TO", true);
  if (!parsed)
    return reply(R(501, "5.1.3", "Bad recipient address syntax: " + parsed.error()));
  if (!parsed->params.empty())  // DSN (NOTIFY, ORCPT) is not advertised
    return reply(R(555, "5.5.4", "Unsupported option: " + parsed->params.begin()->first));
  if (!env_.smtputf8 && !parse_path_arg(arg, "TO", false))
    return reply(R(553, "5.6.7", "Error: non-ASCII recipient address requires SMTPUTF8"));
  rcpt_seen_ = true;
  if (env_.recipients.size() >= opt_.limits.max_recipients)
    return reply(R(452, "4.5.3", "Error: too many recipients"));
  return emit(Event::RcptTo, std::move(*parsed));
}

std::optional<Event> ServerSession::cmd_data(std::string_view arg) {
  if (!arg.empty()) return reply(R(501, "5.5.4", "Syntax: DATA"));
  if (!have_mail_) return reply(kNeedMail);
  if (bdat_used_) return reply(R(503, "5.5.1", "Error: DATA not allowed after BDAT"));
  if (!rcpt_seen_) return reply(kNeedRcpt);
  if (env_.recipients.empty()) return reply(kNoValidRcpt);
  start_message();
  data_line_start_ = true;  // the CRLF ending the DATA line counts for the first "CRLF.CRLF"
  data_line_len_ = 0;
  mode_ = Mode::Data;
  send(R(354, "", "End data with <CR><LF>.<CR><LF>"));
  return std::nullopt;
}

std::optional<Event> ServerSession::cmd_bdat(std::string_view arg) {
  size_t sp = arg.find(' ');
  auto size = parse_u64(arg.substr(0, sp));
  if (!size) {
    // Without a size the chunk boundary is unknown: the chunk could only be read as commands.
    send(Reply{501, "5.5.4", "Syntax: BDAT count [LAST]; closing connection", true});
    return std::nullopt;
  }
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : trim(arg.substr(sp + 1));
  bdat_last_ = iequals(rest, "LAST");
  bdat_remaining_ = bdat_chunk_size_ = *size;
  mode_ = Mode::Bdat;
  bdat_error_.reset();
  if (!rest.empty() && !bdat_last_) bdat_error_ = R(501, "5.5.4", "Syntax: BDAT count [LAST]");
  else if (!have_helo_) bdat_error_ = kNeedHelo;
  else if (!env_.esmtp) bdat_error_ = R(503, "5.5.1", "Error: BDAT requires EHLO");
  else if (!have_mail_) bdat_error_ = kNeedMail;
  else if (!rcpt_seen_) bdat_error_ = kNeedRcpt;
  else if (env_.recipients.empty()) bdat_error_ = kNoValidRcpt;
  else if (bdat_failed_) bdat_error_ = R(503, "5.5.1", "Error: previous BDAT failed; send RSET");
  if (bdat_error_) {
    if (have_mail_) bdat_failed_ = true;
    return std::nullopt;
  }
  if (!bdat_used_) start_message();
  bdat_used_ = true;
  return std::nullopt;
}

std::optional<Event> ServerSession::cmd_starttls(std::string_view arg) {
  if (!arg.empty()) return reply(R(501, "5.5.4", "Syntax: STARTTLS"));
  if (opt_.tls_active) return reply(R(503, "5.5.1", "Error: TLS already active"));
  if (!opt_.tls_available) return reply(R(454, "4.7.0", "TLS not available"));
  if (have_mail_) return reply(R(503, "5.5.1", "Error: MAIL transaction in progress"));
  send(R(220, "2.0.0", "Ready to start TLS"));
  // Anything pipelined after STARTTLS was sent in plaintext: drop it (CVE-2011-0411).
  in_.clear();
  in_pos_ = 0;
  mode_ = Mode::AwaitTls;
  Event ev;
  ev.kind = Event::StartTls;
  return ev;
}

void ServerSession::tls_started() {
  if (mode_ == Mode::Closed) return;
  opt_.tls_active = true;
  mode_ = Mode::Command;
  in_.clear();
  in_pos_ = 0;
  discarding_line_ = false;
  pending_.reset();
  reset_transaction();
  env_ = Envelope{};
  have_helo_ = false;
}

void ServerSession::start_message() {
  msg_.clear();
  msg_size_ = 0;
  msg_bare_ = msg_too_big_ = msg_long_line_ = false;
  bdat_prev_cr_ = false;
}

void ServerSession::append_content(std::string_view bytes) {
  msg_size_ += bytes.size();
  if (msg_too_big_) return;
  if (msg_size_ > opt_.limits.max_message_size) {
    msg_too_big_ = true;
    msg_.clear();
    msg_.shrink_to_fit();
    return;
  }
  msg_.append(bytes);
}

bool ServerSession::read_data() {
  const std::string_view s(in_);
  size_t p = in_pos_;
  bool done = false;
  while (p < s.size()) {
    if (data_line_start_) {
      if (s[p] == '.') {
        std::string_view head = s.substr(p, 3);
        if (head == ".\r\n") {
          p += 3;
          done = true;
          break;
        }
        if (head.size() < 3 && std::string_view(".\r\n").starts_with(head)) break;  // need more
        ++p;  // dot-stuffing: drop the leading dot
        data_line_len_ = 1;
      }
      data_line_start_ = false;
    }
    size_t q = s.find_first_of("\r\n", p);
    size_t end = q == std::string_view::npos ? s.size() : q;
    append_content(s.substr(p, end - p));
    data_line_len_ += end - p;
    p = end;
    if (q == std::string_view::npos) break;
    if (s[q] == '\r') {
      if (q + 1 == s.size()) break;  // keep the CR until we see what follows
      if (s[q + 1] == '\n') {
        append_content("\r\n");
        if (data_line_len_ + 2 > opt_.limits.max_data_line) msg_long_line_ = true;
        data_line_len_ = 0;
        data_line_start_ = true;
        p = q + 2;
        continue;
      }
    }
    // A bare CR or LF is never a line end (SMTP smuggling): keep it, refuse the message later.
    msg_bare_ = true;
    append_content(s.substr(q, 1));
    ++data_line_len_;
    p = q + 1;
  }
  in_pos_ = p;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  return done;
}

bool ServerSession::read_bdat() {
  size_t n = static_cast<size_t>(std::min<uint64_t>(bdat_remaining_, in_.size() - in_pos_));
  std::string_view chunk(in_.data() + in_pos_, n);
  if (!bdat_error_) {
    for (char c : chunk) {
      if ((bdat_prev_cr_ && c != '\n') || (!bdat_prev_cr_ && c == '\n')) msg_bare_ = true;
      bdat_prev_cr_ = c == '\r';
    }
    append_content(chunk);
  }
  in_pos_ += n;
  bdat_remaining_ -= n;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  return bdat_remaining_ == 0;
}

std::optional<Event> ServerSession::finish_message() {
  const Reply* refusal = msg_bare_ ? &kBareCrLf : msg_too_big_ ? &kTooBig : msg_long_line_ ? &kLongLine : nullptr;
  if (refusal) {
    reset_transaction();
    send(*refusal);
    return std::nullopt;
  }
  Event ev;
  ev.kind = Event::Message;
  ev.data = std::exchange(msg_, {});
  pending_ = Event::Message;
  pending_path_ = {};
  return ev;
}

void ServerSession::answer(const Reply& r) {
  if (!pending_) return;
  Event::Kind kind = *pending_;
  pending_.reset();
  bool ok = r.code >= 200 && r.code < 300;
  switch (kind) {
    case Event::Helo:
      if (ok) {
        reset_transaction();  // EHLO/HELO implies RSET (RFC 5321 §4.1.4)
        have_helo_ = true;
        Reply h = helo_reply();
        h.close = r.close;
        send(std::move(h));
        return;
      }
      env_.helo = prev_helo_;
      env_.esmtp = prev_esmtp_;
      break;
    case Event::MailFrom:
      if (ok) {
        have_mail_ = true;
        env_.sender = pending_path_.addr;
        env_.null_sender = pending_path_.null_path;
        auto body = pending_path_.params.find("BODY");
        env_.body = body != pending_path_.params.end() && iequals(body->second, "8BITMIME")
                        ? BodyType::EightBitMime
                        : BodyType::SevenBit;
        env_.smtputf8 = pending_path_.params.count("SMTPUTF8") > 0;
      }
      break;
    case Event::RcptTo:
      if (ok) env_.recipients.push_back(pending_path_.addr);
      break;
    case Event::Message:
      reset_transaction();
      break;
    default:
      break;
  }
  pending_path_ = {};
  send(r);
}

}  // namespace mm::smtp
