// Hand-made messages for the rule tests (no MIME parser needed).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "message/message.h"

namespace mm::rules::test {

struct MessageBuilder {
  message::Message m;
  MessageBuilder& header(std::string name, std::string value) {
    m.headers.push_back({name, value, value});
    if (name == "Subject") m.subject = value;
    return *this;
  }
  MessageBuilder& raw_header(std::string name, std::string raw, std::string value) {
    m.headers.push_back({std::move(name), std::move(raw), std::move(value)});
    return *this;
  }
  MessageBuilder& from(std::string display, std::string address) {
    m.from.display = display;
    m.from.address = address;
    m.from.domain = address.substr(address.find('@') + 1);
    std::string v = display.empty() ? address : "\"" + display + "\" <" + address + ">";
    return header("From", v);
  }
  MessageBuilder& text(std::string t) {
    m.text = t;
    m.has_plain = true;
    message::Part p;
    p.content_type = "text/plain";
    p.is_text = true;
    p.data = std::move(t);
    m.parts.push_back(std::move(p));
    return *this;
  }
  MessageBuilder& html(std::string source, std::string visible, std::string hidden = "") {
    m.has_html = true;
    m.html_text = std::move(visible);
    m.hidden_text = std::move(hidden);
    message::Part p;
    p.content_type = "text/html";
    p.is_text = true;
    p.data = std::move(source);
    m.parts.push_back(std::move(p));
    return *this;
  }
  MessageBuilder& link(std::string href, std::string text = "", std::string host = "") {
    message::Link l;
    if (host.empty()) {
      auto s = href.find("://");
      if (s != std::string::npos) {
        auto e = href.find_first_of("/:?#", s + 3);
        host = href.substr(s + 3, e == std::string::npos ? std::string::npos : e - s - 3);
      }
    }
    l.href = std::move(href);
    l.from_html = !text.empty();
    l.text = std::move(text);
    l.host = std::move(host);
    m.links.push_back(std::move(l));
    return *this;
  }
  MessageBuilder& attachment(std::string filename, std::string type) {
    message::Part p;
    p.content_type = std::move(type);
    p.filename = std::move(filename);
    p.disposition = "attachment";
    p.is_attachment = true;
    p.data = "PK\x03\x04....";
    m.parts.push_back(std::move(p));
    return *this;
  }
  // A well-formed ordinary message: Date, Message-ID, From, To, Subject.
  static MessageBuilder ordinary(int64_t date = 1'700'000'000) {
    MessageBuilder b;
    b.from("Alice Example", "alice@example.org");
    b.header("To", "bob@example.net");
    b.header("Subject", "Notes from Tuesday's meeting");
    b.header("Date", "Tue, 14 Nov 2023 22:13:20 +0000");
    b.header("Message-ID", "<20231114221320.1234@mail.example.org>");
    b.m.date = date;
    b.m.date_raw = "Tue, 14 Nov 2023 22:13:20 +0000";
    b.m.message_id = "20231114221320.1234@mail.example.org";
    return b;
  }
};

}  // namespace mm::rules::test
