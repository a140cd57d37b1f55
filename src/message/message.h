// The parsed message: every check reads this one read-only model, built once per message.
// Parsing never fails on hostile input: what cannot be parsed is skipped and noted in findings.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mm::message {

struct Limits {
  size_t max_depth = 20;          // MIME nesting (multipart and message/rfc822)
  size_t max_parts = 500;         // leaf parts considered
  size_t max_header_bytes = 256 << 10;
  size_t max_text_bytes = 4 << 20;  // decoded text kept per message (plain + html text)
  size_t max_links = 5000;          // links + images + forms kept per message
  size_t max_attachment_bytes = 64 << 20;  // decoded bytes kept per attachment (typing, archive listings)
};

struct Header {
  std::string name;   // as written
  std::string raw;    // unfolded raw value
  std::string value;  // RFC 2047 decoded to UTF-8
};

struct Mailbox {
  std::string display;  // decoded display name ("" if none)
  std::string address;  // local@domain as written (domain lower-cased)
  std::string domain;   // lower-case
};

struct Link {
  std::string href;   // as found (after HTML entity decoding)
  std::string text;   // visible link text (HTML), "" for links found in plain text
  std::string host;   // lower-case host of href ("" if none / not http(s))
  bool from_html = false;
  bool hidden = false;  // the <a> sits in text a reader would not see (see Message::hidden_text)
  int part = -1;        // index into Message::parts of the part it was found in
};

struct Part {
  std::string content_type;   // lower-case "type/subtype"
  std::string charset;        // declared charset, lower-case
  std::string filename;       // declared (Content-Disposition filename or Content-Type name), decoded
  std::string disposition;    // "inline", "attachment" or ""
  std::string transfer_encoding;
  size_t decoded_size = 0;
  size_t depth = 0;
  bool is_text = false;       // text/plain or text/html
  bool is_attachment = false; // not a body text part (disposition attachment, a filename, or non-text)
  std::string data;           // decoded bytes (for attachments; capped by Limits::max_attachment_bytes).
                              // Body text parts (is_text && !is_attachment) hold their UTF-8 text
                              // instead (for text/html: the HTML source, converted to UTF-8).
  bool truncated = false;     // data was cut at the cap
};

struct Message {
  std::shared_ptr<const std::string> raw;  // the bytes as received
  std::vector<Header> headers;             // top-level header fields in order
  std::string subject;                     // decoded
  Mailbox from;
  std::vector<Mailbox> reply_to, to, cc;
  std::string message_id;
  std::string date_raw;
  int64_t date = 0;                        // Date: as Unix seconds, 0 if missing or unparsable

  std::string text;          // all text/plain parts, decoded to UTF-8, joined with "\n"
  std::string html_text;     // visible text of the text/html parts (tags, scripts, styles removed)
  std::string hidden_text;   // text in the HTML that a reader would not see (display:none, tiny or same-colour fonts)
  bool has_html = false, has_plain = false;
  std::vector<Link> links;   // from HTML (href, with visible text) and plain text URLs
  std::vector<std::string> images;   // <img src>
  std::vector<std::string> forms;    // <form action>
  size_t password_fields = 0;        // <input type=password> anywhere in the HTML (body or attachment)
  std::vector<Part> parts;           // every leaf part, in order
  std::vector<std::string> findings; // parse anomalies: "mime_depth_exceeded", "bad_base64", "nul_in_header", ...

  // Header lookup (case-insensitive): first value, or "" if absent.
  const Header* header(std::string_view name) const;
  std::vector<const Header*> headers_named(std::string_view name) const;
  // The visible text a reader sees: text if present, else html_text.
  const std::string& body_text() const { return has_plain || !has_html ? text : html_text; }
};

// Parses a message (CRLF or LF line ends; a leading mbox "From " line is skipped).
std::shared_ptr<const Message> parse(std::shared_ptr<const std::string> raw, const Limits& limits = {});

// Call once at program start (GMime global state); parse() calls it if needed.
void init();

}  // namespace mm::message
