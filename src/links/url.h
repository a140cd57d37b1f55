// Every URL of a message, normalised the way a browser would read it: the host after IDN mapping
// (punycode A-label and Unicode U-label, ICU UTS #46), percent-decoding, userinfo removed
// ("https://bank.example@evil.test/" goes to evil.test), numeric hosts in decimal/hex/octal
// rewritten as a dotted quad, backslashes and stray whitespace as browsers treat them, HTML numeric
// entities decoded. Each URL keeps where it was found (href, img src, form action, plain text, text
// attachment) and which tricks it used, so that checks can name the URL that fired.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "message/message.h"

namespace mm::links {

enum class Source { Href, Text, Image, Form, Attachment, Redirect };
const char* to_string(Source);

// Tricks (bit set) a URL used to hide where it goes.
enum Trick : uint32_t {
  kUserinfo = 1,        // "user@" before the host
  kNumericIp = 2,       // IP written as one number, hex or octal ("3232235777", "0x7f.1", "0177.0.0.1")
  kPercentHost = 4,     // percent-encoded bytes in the host
  kBackslash = 8,       // backslashes in place of slashes
  kEntities = 16,       // HTML numeric entities left in the URL text
  kMixedCaseScheme = 32,  // "hTTp://" (harmless for a browser, common in filter evasion)
  kWhitespace = 64,     // tabs/newlines inside the URL (browsers drop them)
  kFullwidthDot = 128,  // U+3002/U+FF0E/U+FF61 in place of '.'
};

struct Url {
  std::string raw;          // as found
  std::string scheme;       // "http", "https" ("" for a scheme-less "www." reference)
  std::string host;         // ASCII (punycode) lower-case host without port and trailing dot; IPs dotted/bracketed
  std::string host_unicode; // Unicode form of host (same as host when ASCII-only)
  std::string registrable;  // registrable domain of host (PSL); the IP itself for IP literals
  std::string userinfo;     // decoded userinfo ("" if none)
  std::string path;         // path + query, percent-decoded for reading (not for fetching)
  uint16_t port = 0;        // 0 = default
  bool ip = false;          // host is an IP literal
  bool idn = false;         // host has a punycode (xn--) label
  uint32_t tricks = 0;      // Trick bits
  Source source = Source::Href;
  std::string text;         // the visible link text (hrefs from HTML), "" otherwise
  bool hidden = false;      // the link sits in hidden HTML text
  int part = -1;            // message part index (-1: top level)
};

// Normalises one URL; nullopt when it is not an http(s)/www URL with a usable host.
std::optional<Url> normalize(std::string_view raw);

// ASCII (punycode) form of a host name given in Unicode or ASCII, lower-cased; "" if it is not a
// valid IDNA host. to_unicode is the reverse ("xn--pypal-4ve.com" -> "pаypal.com"); on error it
// returns the input lower-cased.
std::string to_ascii(std::string_view host);
std::string to_unicode(std::string_view host);

// Parses an inet_aton-style IPv4 host (1-4 parts, each decimal, 0-octal or 0x-hex) into a dotted
// quad; nullopt when it is not one.
std::optional<std::string> parse_ipv4(std::string_view host);

struct ExtractOptions {
  size_t max_urls = 2000;
  bool follow_redirects = true;  // also list http(s) URLs embedded in another URL's query ("?url=https%3A...")
};

// Every URL of the message: links (HTML and plain text), images, form actions, and URLs in text
// attachments (text/* parts with a file name). Duplicates (same source and raw) are kept once.
std::vector<Url> extract(const message::Message&, const ExtractOptions& = {});

// The host a link's visible text shows ("www.bank.example", "https://bank.example/login", a bare
// "bank.example"), ASCII lower-case; "" when the text does not look like a URL or domain.
std::string host_in_text(std::string_view text);

}  // namespace mm::links
