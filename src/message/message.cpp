// Message parsing with GMime: headers, addresses, the MIME tree walked with our own depth and part
// limits, transfer decoding straight into std::string, charset conversion, HTML rendering (html.cpp).
#include "message/message.h"

#include <gmime/gmime.h>

#include <cstring>
#include <mutex>
#include <string>

#include "message/detail.h"

namespace mm::message {

using detail::note;

// ---------------- Message lookups ----------------

const Header* Message::header(std::string_view name) const {
  for (const auto& h : headers)
    if (detail::iequals(h.name, name)) return &h;
  return nullptr;
}

std::vector<const Header*> Message::headers_named(std::string_view name) const {
  std::vector<const Header*> out;
  for (const auto& h : headers)
    if (detail::iequals(h.name, name)) out.push_back(&h);
  return out;
}

void init() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

namespace {

struct Unref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;

const char* warning_finding(GMimeParserWarning w) {
  switch (w) {
    case GMIME_WARN_DUPLICATED_HEADER: return "duplicated_header";
    case GMIME_WARN_DUPLICATED_PARAMETER: return "duplicated_parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER: return "unencoded_8bit_header";
    case GMIME_WARN_INVALID_CONTENT_TYPE: return "invalid_content_type";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: return "invalid_rfc2047";
    case GMIME_WARN_INVALID_PARAMETER: return "invalid_parameter";
    case GMIME_WARN_MALFORMED_MULTIPART: return "malformed_multipart";
    case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated_message";
    case GMIME_WARN_MALFORMED_MESSAGE: return "malformed_message";
    case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid_address_list";
    case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid_header_name";
    case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting_header";
    case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting_parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart_without_boundary";
    case GMIME_CRIT_NESTING_OVERFLOW: return "mime_depth_exceeded";
    case GMIME_WARN_PART_WITHOUT_CONTENT: return "part_without_content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: return "part_without_headers_or_content";
  }
  return "parser_warning";
}

void on_warning(gint64, GMimeParserWarning code, const gchar*, gpointer user) {
  note(*static_cast<Message*>(user), warning_finding(code));
}

// Parser options are per thread (the warning callback's user data changes per parse).
struct ThreadOptions {
  GMimeParserOptions* opts;
  ThreadOptions() {
    init();
    opts = g_mime_parser_options_new();
    g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    const char* fallback[] = {"utf-8", "windows-1252", nullptr};
    g_mime_parser_options_set_fallback_charsets(opts, fallback);
  }
  ~ThreadOptions() { g_mime_parser_options_free(opts); }
  ThreadOptions(const ThreadOptions&) = delete;
  ThreadOptions& operator=(const ThreadOptions&) = delete;
};

std::string lower(const char* s) {
  std::string r = s ? s : "";
  detail::lower_ascii(r);
  return r;
}

// Header raw value without folding line breaks, trimmed.
std::string unfold(const char* raw) {
  std::string out;
  if (!raw) return out;
  const std::string_view v = detail::trim(raw);
  out.reserve(v.size());
  for (char c : v)
    if (c != '\r' && c != '\n') out.push_back(c);
  return out;
}

void cap_utf8(std::string& s, size_t cap) {
  if (s.size() > cap) s.resize(detail::utf8_floor(s, cap));
}

Mailbox make_mailbox(InternetAddressMailbox* mb) {
  Mailbox out;
  const char* name = internet_address_get_name(INTERNET_ADDRESS(mb));
  if (name) out.display = name;
  const char* addr = internet_address_mailbox_get_addr(mb);
  out.address = addr ? addr : "";
  const size_t at = out.address.rfind('@');
  if (at != std::string::npos) {
    for (size_t i = at + 1; i < out.address.size(); ++i) {
      char& c = out.address[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    out.domain = out.address.substr(at + 1);
  }
  return out;
}

void add_addresses(InternetAddressList* list, std::vector<Mailbox>& out, int depth = 0) {
  if (!list || depth > 2) return;
  const int n = internet_address_list_length(list);
  for (int i = 0; i < n && out.size() < 1000; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      out.push_back(make_mailbox(INTERNET_ADDRESS_MAILBOX(a)));
    } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
      add_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out, depth + 1);
    }
  }
}

bool base64_char_ok(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

class Walker {
 public:
  Walker(Message& m, const Limits& lim) : m_(m), lim_(lim) {}

  void walk(GMimeObject* obj, size_t depth) {
    if (stop_ || !obj) return;
    if (depth > lim_.max_depth) {
      note(m_, "mime_depth_exceeded");
      return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      const int n = g_mime_multipart_get_count(mp);
      if (n == 0) note(m_, "empty_multipart");
      for (int i = 0; i < n && !stop_; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (inner) walk(g_mime_message_get_mime_part(inner), depth + 1);
      return;
    }
    if (GMIME_IS_PART(obj)) leaf(GMIME_PART(obj), depth);
  }

 private:
  // Transfer-decodes the part's content into out, at most cap bytes. Returns false if truncated.
  bool decode(GMimePart* part, size_t cap, std::string& out) {
    GMimeDataWrapper* w = g_mime_part_get_content(part);
    if (!w) return true;
    GMimeStream* s = g_mime_data_wrapper_get_stream(w);
    if (!s) return true;
    const GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(w);
    const bool b64 = enc == GMIME_CONTENT_ENCODING_BASE64;
    const bool transform = b64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE || enc == GMIME_CONTENT_ENCODING_UUENCODE;
    GMimeEncoding state;
    if (transform) g_mime_encoding_init_decode(&state, enc);
    if (g_mime_stream_reset(s) == -1) return true;
    const gint64 len = g_mime_stream_length(s);
    if (len > 0) out.reserve(std::min(cap, static_cast<size_t>(len)));
    char buf[16384];
    bool bad = false;
    while (true) {
      const ssize_t n = g_mime_stream_read(s, buf, sizeof buf);
      if (n <= 0) break;
      const auto un = static_cast<size_t>(n);
      if (b64 && !bad) {
        for (size_t i = 0; i < un; ++i)
          if (!base64_char_ok(static_cast<unsigned char>(buf[i]))) {
            bad = true;
            break;
          }
      }
      if (transform) {
        const size_t old = out.size();
        out.resize(old + g_mime_encoding_outlen(&state, un));
        out.resize(old + g_mime_encoding_step(&state, buf, un, out.data() + old));
      } else {
        out.append(buf, un);
      }
      if (out.size() > cap) break;
    }
    if (transform && out.size() <= cap) {
      const size_t old = out.size();
      out.resize(old + g_mime_encoding_outlen(&state, 0) + 8);
      out.resize(old + g_mime_encoding_flush(&state, nullptr, 0, out.data() + old));
    }
    if (bad) note(m_, "bad_base64");
    if (out.size() > cap) {
      out.resize(cap);
      return false;
    }
    return true;
  }

  size_t text_used() const { return m_.text.size() + m_.html_text.size(); }

  void leaf(GMimePart* part, size_t depth) {
    if (m_.parts.size() >= lim_.max_parts) {
      note(m_, "mime_part_limit");
      stop_ = true;
      return;
    }
    GMimeObject* obj = GMIME_OBJECT(part);
    Part p;
    p.depth = depth;
    if (GMimeContentType* ct = g_mime_object_get_content_type(obj)) {
      const char* type = g_mime_content_type_get_media_type(ct);
      const char* sub = g_mime_content_type_get_media_subtype(ct);
      p.content_type = lower(type ? type : "application");
      p.content_type += '/';
      p.content_type += lower(sub ? sub : "octet-stream");
      p.charset = lower(g_mime_content_type_get_parameter(ct, "charset"));
    } else {
      p.content_type = "text/plain";
    }
    if (const char* fn = g_mime_part_get_filename(part)) p.filename = fn;
    cap_utf8(p.filename, 1024);
    p.disposition = lower(g_mime_object_get_disposition(obj));
    if (!p.disposition.empty() && p.disposition != "inline" && p.disposition != "attachment")
      p.disposition = "attachment";  // RFC 2183: unknown dispositions are treated as attachment
    const GMimeContentEncoding enc = g_mime_part_get_content_encoding(part);
    if (enc != GMIME_CONTENT_ENCODING_DEFAULT) p.transfer_encoding = lower(g_mime_content_encoding_to_string(enc));
    const bool html = p.content_type == "text/html";
    p.is_text = html || p.content_type == "text/plain";
    p.is_attachment = p.disposition == "attachment" || !p.filename.empty() || !p.is_text;

    const int index = static_cast<int>(m_.parts.size());
    if (p.is_attachment) {
      p.truncated = !decode(part, lim_.max_attachment_bytes, p.data);
      p.decoded_size = p.data.size();
      if (p.truncated) note(m_, "part_truncated");
      if (html && !p.data.empty()) {
        // HTML attachments (a classic phishing carrier): collect links, images and forms, not body text.
        std::string utf8;
        detail::TextStats st;
        detail::append_as_utf8(std::string_view(p.data).substr(0, lim_.max_text_bytes), p.charset, utf8, st);
        detail::render_html(utf8, m_, index, false, lim_.max_text_bytes, lim_.max_links);
      }
      m_.parts.push_back(std::move(p));
      return;
    }

    // Body text: decode, convert to UTF-8, then plain text or rendered HTML.
    std::string bytes;
    p.truncated = !decode(part, lim_.max_text_bytes, bytes);
    p.decoded_size = bytes.size();
    if (p.truncated) note(m_, "text_truncated");
    detail::TextStats st;
    p.data.reserve(bytes.size());
    detail::append_as_utf8(bytes, p.charset, p.data, st);
    if (st.unknown_charset) note(m_, "unknown_charset");
    if (st.invalid) note(m_, "charset_conversion_error");
    if (st.nul) note(m_, "nul_in_body");
    if (html) {
      m_.has_html = true;
      detail::render_html(p.data, m_, index, true, lim_.max_text_bytes, lim_.max_links);
    } else {
      m_.has_plain = true;
      const size_t used = text_used();
      const size_t room = lim_.max_text_bytes > used ? lim_.max_text_bytes - used : 0;
      std::string_view t = p.data;
      if (!m_.text.empty() && room > 0) m_.text.push_back('\n');
      if (t.size() + 1 > room) {
        t = t.substr(0, detail::utf8_floor(t, room > 0 ? room - 1 : 0));
        note(m_, "text_truncated");
      }
      const size_t start = m_.text.size();
      m_.text.append(t);
      detail::add_text_urls(std::string_view(m_.text).substr(start), m_, index, lim_.max_links);
    }
    m_.parts.push_back(std::move(p));
  }

  Message& m_;
  const Limits& lim_;
  bool stop_ = false;
};

void read_headers(GMimeMessage* gm, Message& m, const Limits& lim) {
  GMimeHeaderList* hl = g_mime_object_get_header_list(GMIME_OBJECT(gm));
  if (!hl) return;
  const int n = g_mime_header_list_get_count(hl);
  size_t budget = lim.max_header_bytes;
  m.headers.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(hl, i);
    if (!h) continue;
    Header out;
    const char* name = g_mime_header_get_name(h);
    out.name = name ? name : "";
    out.raw = unfold(g_mime_header_get_raw_value(h));
    const char* value = g_mime_header_get_value(h);
    if (value) out.value = std::string(detail::trim(value));
    const size_t size = out.name.size() + out.raw.size() + out.value.size();
    if (size > budget) {
      note(m, "header_too_large");
      if (budget < out.name.size() + 64) break;  // no room left for further fields
      const size_t each = (budget - out.name.size()) / 2;
      cap_utf8(out.raw, each);
      cap_utf8(out.value, each);
    }
    budget -= std::min(budget, out.name.size() + out.raw.size() + out.value.size());
    if (out.name.find('\0') != std::string::npos || out.raw.find('\0') != std::string::npos) note(m, "nul_in_header");
    m.headers.push_back(std::move(out));
  }
}

void read_envelope_fields(GMimeMessage* gm, Message& m, const Limits& lim) {
  if (const char* s = g_mime_message_get_subject(gm)) {
    m.subject = s;
    cap_utf8(m.subject, lim.max_header_bytes);
  }
  if (const char* id = g_mime_message_get_message_id(gm)) {
    m.message_id = id;
    cap_utf8(m.message_id, 1024);
  }
  std::vector<Mailbox> from;
  add_addresses(g_mime_message_get_from(gm), from);
  if (!from.empty()) m.from = std::move(from.front());
  if (from.size() > 1) note(m, "multiple_from");
  add_addresses(g_mime_message_get_reply_to(gm), m.reply_to);
  add_addresses(g_mime_message_get_addresses(gm, GMIME_ADDRESS_TYPE_TO), m.to);
  add_addresses(g_mime_message_get_addresses(gm, GMIME_ADDRESS_TYPE_CC), m.cc);
  if (const Header* d = m.header("Date")) {
    m.date_raw = d->value;
    if (GDateTime* dt = g_mime_message_get_date(gm))
      m.date = g_date_time_to_unix(dt);
    else
      note(m, "bad_date");
  }
}

// Fallback when GMime returns no message at all: keep the bytes as plain text so checks still see them.
void as_plain_text(std::string_view body, Message& m, const Limits& lim) {
  detail::TextStats st;
  detail::append_as_utf8(body.substr(0, std::min(body.size(), lim.max_text_bytes)), "", m.text, st);
  m.has_plain = !m.text.empty();
  detail::add_text_urls(m.text, m, -1, lim.max_links);
}

}  // namespace

std::shared_ptr<const Message> parse(std::shared_ptr<const std::string> raw, const Limits& limits) {
  static thread_local ThreadOptions t_opts;
  auto m = std::make_shared<Message>();
  if (!raw) raw = std::make_shared<const std::string>();
  m->raw = raw;
  std::string_view in = *raw;

  // A leading mbox "From " line is not a header. Skip it rather than parse in GMIME_FORMAT_MBOX,
  // which would also end the message at the next unescaped "\nFrom " line of the body.
  if (in.starts_with("From ")) {
    const size_t nl = in.find('\n');
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  }

  // NUL bytes in the header block would end GMime's C strings early: blank them (in a copy, rare).
  std::string patched;
  {
    size_t hdr_end = in.find("\n\n");
    const size_t crlf = in.find("\r\n\r\n");
    if (crlf != std::string_view::npos && (hdr_end == std::string_view::npos || crlf < hdr_end)) hdr_end = crlf;
    if (hdr_end == std::string_view::npos) hdr_end = in.size();
    if (hdr_end > 0 && std::memchr(in.data(), 0, hdr_end) != nullptr) {
      note(*m, "nul_in_header");
      patched.assign(in);
      for (size_t i = 0; i < hdr_end; ++i)
        if (patched[i] == '\0') patched[i] = ' ';
      in = patched;
    }
  }

  if (in.empty()) {
    note(*m, "empty_message");
    return m;
  }

  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(in.data(), in.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  g_mime_parser_options_set_warning_callback(t_opts.opts, on_warning, m.get());
  GPtr<GMimeMessage> gm(g_mime_parser_construct_message(parser.get(), t_opts.opts));
  g_mime_parser_options_set_warning_callback(t_opts.opts, nullptr, nullptr);

  if (!gm) {
    note(*m, "mime_unparsable");
    as_plain_text(in, *m, limits);
    return m;
  }
  read_headers(gm.get(), *m, limits);
  read_envelope_fields(gm.get(), *m, limits);
  if (m->headers.empty()) note(*m, "no_headers");
  Walker w(*m, limits);
  w.walk(g_mime_message_get_mime_part(gm.get()), 0);
  return m;
}

}  // namespace mm::message
