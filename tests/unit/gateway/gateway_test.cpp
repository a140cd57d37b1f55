#include "gateway/gateway.h"

#include <gtest/gtest.h>

namespace {

mm::smtp::Envelope envelope(std::vector<std::string> rcpts) {
  mm::smtp::Envelope e;
  e.helo = "client.example";
  e.esmtp = true;
  e.sender = {"alice", "example.org"};
  for (auto& r : rcpts) {
    auto at = r.find('@');
    e.recipients.push_back({r.substr(0, at), r.substr(at + 1)});
  }
  return e;
}

TEST(ReceivedHeader, NamesTheSingleRecipientAndTls) {
  mm::net::ConnInfo c;
  c.client_ip = "192.0.2.7";
  mm::net::TlsState tls{true, "TLSv1.3", "TLS_AES_256_GCM_SHA384"};
  auto h = mm::gateway::Gateway::received_header("mx.test", c, envelope({"bob@acme.test"}), tls,
                                                  "QID123", 1796000000);
  EXPECT_EQ(h.rfind("Received: from client.example ([192.0.2.7])\r\n\tby mx.test (mailmoat) with ESMTPS (TLSv1.3 TLS_AES_256_GCM_SHA384)", 0), 0u) << h;
  EXPECT_NE(h.find("id QID123"), std::string::npos);
  EXPECT_NE(h.find("for <bob@acme.test>;"), std::string::npos);
  EXPECT_TRUE(h.ends_with("+0000\r\n"));
  // Every line but the first is folded (starts with whitespace): one header field.
  size_t pos = 0;
  while ((pos = h.find("\r\n", pos)) != std::string::npos && pos + 2 < h.size()) {
    EXPECT_EQ(h[pos + 2], '\t');
    pos += 2;
  }
}

TEST(ReceivedHeader, NoRecipientListForSeveralAndPlainSmtp) {
  mm::net::ConnInfo c;
  c.client_ip = "::1";
  auto env = envelope({"a@acme.test", "b@acme.test"});
  env.esmtp = false;
  auto h = mm::gateway::Gateway::received_header("mx.test", c, env, {}, "Q", 0);
  EXPECT_EQ(h.find("for <"), std::string::npos);
  EXPECT_NE(h.find("with SMTP\r\n"), std::string::npos) << h;
}

TEST(ReceivedHeader, HostileHeloCannotBreakTheHeader) {
  mm::net::ConnInfo c;
  c.client_ip = "192.0.2.7";
  auto env = envelope({"a@acme.test"});
  env.helo = "evil) (by fake; x\x01";
  auto h = mm::gateway::Gateway::received_header("mx.test", c, env, {}, "Q", 0);
  EXPECT_NE(h.find("from evil???by?fake??x? ([192.0.2.7])"), std::string::npos) << h;
}

}  // namespace
