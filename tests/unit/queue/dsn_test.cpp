#include "queue/dsn.h"

#include <gtest/gtest.h>

#include <regex>

using namespace mm::queue;

namespace {

const std::string kOriginal =
    "Received: from client.example ([192.0.2.1])\r\n"
    "\tby mx.example with ESMTP\r\n"
    "From: Alice <alice@origin.test>\r\n"
    "To: bob@dest.test\r\n"
    "Subject: quarterly numbers\r\n"
    "Message-ID: <orig@origin.test>\r\n"
    "\r\n"
    "SECRET BODY TEXT that must never be returned\r\n";

DsnInput sample() {
  DsnInput in;
  in.reporting_mta = "mx.example";
  in.original_id = "0ABCDEFGHJKMNPQR";
  in.original_sender = "alice@origin.test";
  in.arrival_s = 1'700'000'000;
  in.recipients = {{"bob@dest.test", "failed", "5.1.1", "smtp; 550 5.1.1 <bob@dest.test>: no such user",
                    "mx.dest.test"},
                   {"carol@dest.test", "delayed", "4.4.1", "connection timed out", ""}};
  in.original_headers = header_section(kOriginal);
  return in;
}

std::string boundary_of(const std::string& msg) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(msg, m, std::regex("boundary=\"([^\"]+)\"")));
  return m.size() > 1 ? m[1].str() : "";
}

// Splits the body of a multipart message into its parts (each: headers CRLF CRLF content).
std::vector<std::string> parts_of(const std::string& msg, const std::string& b) {
  std::vector<std::string> parts;
  const std::string delim = "\r\n--" + b;
  size_t pos = msg.find(delim);
  while (pos != std::string::npos) {
    size_t start = pos + delim.size();
    if (msg.compare(start, 2, "--") == 0) break;
    start += 2;  // CRLF after the delimiter
    size_t next = msg.find(delim, start);
    parts.push_back(msg.substr(start, next == std::string::npos ? std::string::npos : next - start));
    pos = next;
  }
  return parts;
}

}  // namespace

TEST(Dsn, HeaderSection) {
  EXPECT_EQ(header_section("A: 1\r\nB: 2\r\n\r\nbody\r\n"), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(header_section("A: 1\nB: 2\n\nbody\n"), "A: 1\nB: 2\n");
  EXPECT_EQ(header_section("\r\nbody"), "");
  EXPECT_EQ(header_section("A: 1\r\nB: 2"), "A: 1\r\nB: 2");
  EXPECT_EQ(header_section(""), "");
}

TEST(Dsn, StructureAndRequiredFields) {
  const std::string msg = build_dsn(sample(), "dsn-1@mx.example", 1'700'000'500);
  // CRLF only, no over-long lines.
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') {
      ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
    }
    if (msg[i] == '\r') {
      ASSERT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  size_t line_start = 0;
  for (size_t nl; (nl = msg.find("\r\n", line_start)) != std::string::npos; line_start = nl + 2)
    EXPECT_LE(nl - line_start, 998u);

  const std::string top = header_section(msg);
  EXPECT_NE(top.find("From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"), std::string::npos);
  EXPECT_NE(top.find("To: <alice@origin.test>\r\n"), std::string::npos);
  EXPECT_NE(top.find("Subject: Undelivered Mail Returned to Sender\r\n"), std::string::npos);
  EXPECT_NE(top.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(top.find("Message-ID: <dsn-1@mx.example>\r\n"), std::string::npos);
  EXPECT_NE(top.find("Date: "), std::string::npos);
  EXPECT_NE(top.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(top.find("Content-Type: multipart/report; report-type=delivery-status;"), std::string::npos);

  const std::string b = boundary_of(msg);
  ASSERT_FALSE(b.empty());
  EXPECT_NE(msg.find("\r\n--" + b + "--\r\n"), std::string::npos) << "missing close delimiter";
  auto parts = parts_of(msg, b);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_NE(header_section(parts[0]).find("Content-Type: text/plain"), std::string::npos);
  EXPECT_NE(header_section(parts[1]).find("Content-Type: message/delivery-status"), std::string::npos);
  EXPECT_NE(header_section(parts[2]).find("Content-Type: text/rfc822-headers"), std::string::npos);

  // RFC 3464: per-message fields, blank line, then one block per recipient.
  const std::string ds = parts[1].substr(parts[1].find("\r\n\r\n") + 4);
  EXPECT_EQ(ds.rfind("Reporting-MTA: dns; mx.example\r\n", 0), 0u) << ds;
  EXPECT_NE(ds.find("Arrival-Date: "), std::string::npos);
  EXPECT_NE(ds.find("\r\n\r\nFinal-Recipient: rfc822; bob@dest.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                    "Remote-MTA: dns; mx.dest.test\r\n"
                    "Diagnostic-Code: smtp; 550 5.1.1 <bob@dest.test>: no such user\r\n"),
            std::string::npos)
      << ds;
  EXPECT_NE(ds.find("\r\n\r\nFinal-Recipient: rfc822; carol@dest.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n"),
            std::string::npos);
  EXPECT_NE(ds.find("Diagnostic-Code: smtp; connection timed out\r\n"), std::string::npos);

  // Original headers are returned, the original body is not.
  const std::string hdrs = parts[2].substr(parts[2].find("\r\n\r\n") + 4);
  EXPECT_NE(hdrs.find("Subject: quarterly numbers\r\n"), std::string::npos);
  EXPECT_NE(hdrs.find("Received: from client.example ([192.0.2.1])\r\n\tby mx.example"), std::string::npos);
  EXPECT_EQ(msg.find("SECRET BODY"), std::string::npos);
  // The human part names the failed recipient.
  EXPECT_NE(parts[0].find("bob@dest.test"), std::string::npos);
}

TEST(Dsn, DelayedOnlySubjectAndUtf8Variant) {
  auto in = sample();
  in.recipients.erase(in.recipients.begin());
  in.smtputf8 = true;
  in.recipients[0].address = "\xc3\xa9lise@d\xc3\xa9st.test";
  const std::string msg = build_dsn(in, "<x@y>", 1'700'000'500);
  EXPECT_NE(msg.find("Subject: Delayed Mail (still being retried)\r\n"), std::string::npos);
  EXPECT_NE(msg.find("Content-Type: message/global-delivery-status\r\n"), std::string::npos);
  EXPECT_NE(msg.find("Content-Type: message/global-headers\r\n"), std::string::npos);
  EXPECT_NE(msg.find("Final-Recipient: utf-8; \xc3\xa9lise@d\xc3\xa9st.test\r\n"), std::string::npos);
  EXPECT_NE(msg.find("Message-ID: <x@y>\r\n"), std::string::npos);
}

TEST(Dsn, NoHeaderInjectionAndLfHeadersNormalized) {
  auto in = sample();
  in.recipients[0].diagnostic = "smtp; 550 bad\r\nBcc: victim@evil.test";
  in.original_headers = "Subject: lf only\nX-A: 1\n";
  const std::string msg = build_dsn(in, "id@h", 0);
  EXPECT_EQ(msg.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(msg.find("Subject: lf only\r\nX-A: 1\r\n"), std::string::npos);
  for (size_t i = 0; i < msg.size(); ++i)
    if (msg[i] == '\n') {
      ASSERT_EQ(msg[i - 1], '\r');
    }
}

TEST(Dsn, LongDiagnosticIsFolded) {
  auto in = sample();
  std::string longdiag = "smtp; 550";
  for (int i = 0; i < 60; ++i) longdiag += " word" + std::to_string(i);
  in.recipients[0].diagnostic = longdiag;
  const std::string msg = build_dsn(in, "id@h", 0);
  EXPECT_NE(msg.find("Diagnostic-Code: smtp; 550 word0"), std::string::npos);
  EXPECT_NE(msg.find("\r\n word"), std::string::npos);
  size_t line_start = 0;
  for (size_t nl; (nl = msg.find("\r\n", line_start)) != std::string::npos; line_start = nl + 2)
    EXPECT_LE(nl - line_start, 100u);
}
