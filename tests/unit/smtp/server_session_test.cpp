#include "smtp/server_session.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "smtp/client.h"

using namespace mm::smtp;

namespace {

ServerOptions opts(bool tls = false) {
  ServerOptions o;
  o.hostname = "mx.test";
  o.tls_available = tls;
  return o;
}

// Drives a session: answers every decision with `accept` (or a per-kind override) and records events.
struct Driver {
  ServerSession s;
  std::vector<Event> events;
  std::string out;
  Reply helo_answer{250, "", "", false};
  Reply mail_answer{250, "2.1.0", "Ok", false};
  Reply rcpt_answer{250, "2.1.5", "Ok", false};
  Reply msg_answer{250, "2.0.0", "Ok: queued as X", false};

  explicit Driver(ServerOptions o = opts()) : s(std::move(o)) {}

  void pump() {
    for (;;) {
      Event ev = s.next();
      if (ev.kind == Event::NeedInput) break;
      bool stop = ev.kind == Event::Close || ev.kind == Event::StartTls;
      if (ev.kind == Event::Helo) s.answer(helo_answer);
      if (ev.kind == Event::MailFrom) s.answer(mail_answer);
      if (ev.kind == Event::RcptTo) s.answer(rcpt_answer);
      if (ev.kind == Event::Message) s.answer(msg_answer);
      events.push_back(std::move(ev));
      if (stop) break;
    }
    out += s.take_output();
  }
  std::string run(std::string_view in) {
    size_t before = out.size();
    s.feed(in);
    pump();
    return out.substr(before);
  }
  std::vector<Event::Kind> kinds() const {
    std::vector<Event::Kind> k;
    for (auto& e : events) k.push_back(e.kind);
    return k;
  }
  int count(Event::Kind k) const {
    int n = 0;
    for (auto& e : events) n += e.kind == k;
    return n;
  }
  // The data of the first Message event, or "<none>".
  std::string msg() const {
    for (auto& e : events)
      if (e.kind == Event::Message) return e.data;
    return "<none>";
  }
};

const char* kEhloReply =
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

// A driver that has done EHLO, MAIL and one RCPT.
Driver ready(ServerOptions o = opts()) {
  Driver d(std::move(o));
  d.run("EHLO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
  d.events.clear();
  d.out.clear();
  return d;
}

}  // namespace

TEST(Session, GreetingAndTimeout) {
  ServerSession s(opts());
  EXPECT_EQ(format_reply(s.greeting()), "220 mx.test ESMTP mailmoat\r\n");
  Reply t = s.timeout_reply();
  EXPECT_EQ(format_reply(t), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_TRUE(t.close);
}

TEST(Session, EhloListsExtensions) {
  Driver d;
  EXPECT_EQ(d.run("EHLO client.example\r\n"), kEhloReply);
  EXPECT_EQ(d.kinds(), std::vector<Event::Kind>{Event::Helo});
  EXPECT_EQ(d.s.envelope().helo, "client.example");
  EXPECT_TRUE(d.s.envelope().esmtp);
  Driver t(opts(true));
  EXPECT_NE(t.run("ehlo x\r\n").find("250-STARTTLS\r\n"), std::string::npos);
}

TEST(Session, HeloHasNoExtensions) {
  Driver d;
  EXPECT_EQ(d.run("HELO client.example\r\n"), "250 mx.test\r\n");
  EXPECT_FALSE(d.s.envelope().esmtp);
  EXPECT_EQ(d.run("MAIL FROM:<a@b> SIZE=10\r\n"), "555 5.5.4 Unsupported option: SIZE\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
  // BDAT without EHLO: the chunk is consumed, never read as commands.
  EXPECT_EQ(d.run("BDAT 12 LAST\r\nQUIT\r\nNOOP\r\nNOOP\r\n"),
            "503 5.5.1 Error: BDAT requires EHLO\r\n250 2.0.0 Ok\r\n");
}

TEST(Session, HeloEhloNeedArgument) {
  Driver d;
  EXPECT_EQ(d.run("HELO\r\n"), "501 5.5.4 Syntax: HELO hostname\r\n");
  EXPECT_EQ(d.run("EHLO   \r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_TRUE(d.events.empty());
}

TEST(Session, HeloRefusedByOwner) {
  Driver d;
  d.helo_answer = Reply{550, "5.7.1", "Go away", false};
  EXPECT_EQ(d.run("EHLO bad\r\nMAIL FROM:<a@b>\r\n"),
            "550 5.7.1 Go away\r\n503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(d.s.envelope().helo, "");
}

TEST(Session, CommandsAreCaseInsensitive) {
  Driver d;
  EXPECT_EQ(d.run("eHlO x\r\nmail from:<a@b>\r\nrcpt To:<c@d>\r\nnoop\r\nrset\r\n"),
            std::string(kEhloReply) + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
}

TEST(Session, SimpleCommands) {
  Driver d;
  EXPECT_EQ(d.run("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(d.run("NOOP anything\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(d.run("VRFY postmaster\r\n"),
            "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(d.run("VRFY\r\n"), "501 5.5.4 Syntax: VRFY address\r\n");
  EXPECT_EQ(d.run("EXPN list\r\n"), "502 5.5.1 Error: EXPN command not implemented\r\n");
  EXPECT_EQ(d.run("HELP\r\n").substr(0, 10), "214-2.0.0 ");
  EXPECT_EQ(d.run("FOO bar\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(d.run("\r\n"), "500 5.5.2 Error: empty command\r\n");
  EXPECT_EQ(d.run("RSET x\r\n"), "501 5.5.4 Syntax: RSET\r\n");
  EXPECT_EQ(d.run("QUIT\r\nNOOP\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(d.events.back().kind, Event::Close);
  EXPECT_EQ(d.s.next().kind, Event::Close);
}

TEST(Session, BareLfTerminatesCommands) {
  Driver d;
  EXPECT_EQ(d.run("NOOP\nNOOP\r\n"), "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
}

TEST(Session, WrongSequence) {
  Driver d;
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(d.run("RCPT TO:<a@b>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(d.run("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  d.run("EHLO x\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\nDATA\r\n"), "250 2.1.0 Ok\r\n503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(d.run("RSET\r\nMAIL FROM:<a@b>\r\n"), "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n");
}

TEST(Session, SyntaxErrors) {
  Driver d;
  d.run("EHLO x\r\n");
  EXPECT_EQ(d.run("MAIL TO:<a@b>\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@>\r\n"), "501 5.1.7 Bad sender address syntax: empty domain\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(d.run("RCPT FROM:<a@b>\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(d.run("RCPT TO:<>\r\n"),
            "501 5.1.3 Bad recipient address syntax: null address not allowed for a recipient\r\n");
  EXPECT_EQ(d.run("RCPT TO:<c@d> NOTIFY=NEVER\r\n"), "555 5.5.4 Unsupported option: NOTIFY\r\n");
  EXPECT_EQ(d.run("RCPT TO:<c@d>\r\nDATA x\r\n"), "250 2.1.5 Ok\r\n501 5.5.4 Syntax: DATA\r\n");
  EXPECT_EQ(d.count(Event::RcptTo), 1);
}

TEST(Session, MailParams) {
  Driver d;
  d.run("EHLO x\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b> SIZE=52428801\r\n"), "552 5.3.4 Error: message size exceeds fixed limit\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b> SIZE=abc\r\n"), "501 5.5.4 Bad SIZE parameter syntax\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b> SIZE=99999999999999999999999\r\n"), "501 5.5.4 Bad SIZE parameter syntax\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b> BODY=BINARYMIME\r\n"), "501 5.5.4 Unsupported BODY type: BINARYMIME\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b> AUTH=<>\r\n"), "555 5.5.4 Unsupported option: AUTH\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b> SMTPUTF8=yes\r\n"), "501 5.5.4 SMTPUTF8 takes no value\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<j\xC3\xBC@b>\r\n"),
            "553 5.6.7 Error: non-ASCII sender address requires SMTPUTF8\r\n");
  EXPECT_TRUE(d.events.size() == 1);
  EXPECT_EQ(d.run("MAIL FROM:<j\xC3\xBC@b> SIZE=100 BODY=8bitmime SMTPUTF8\r\n"), "250 2.1.0 Ok\r\n");
  const Envelope& e = d.s.envelope();
  EXPECT_EQ(e.sender.str(), "j\xC3\xBC@b");
  EXPECT_EQ(e.body, BodyType::EightBitMime);
  EXPECT_TRUE(e.smtputf8);
  EXPECT_EQ(d.events.back().path.params.at("SIZE"), "100");
  EXPECT_EQ(d.run("RCPT TO:<m\xC3\xBC@x>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(Session, RcptNonAsciiNeedsSmtputf8) {
  Driver d;
  EXPECT_EQ(d.run("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<m\xC3\xBC@x>\r\n").substr(strlen(kEhloReply)),
            "250 2.1.0 Ok\r\n553 5.6.7 Error: non-ASCII recipient address requires SMTPUTF8\r\n");
  EXPECT_TRUE(d.s.envelope().null_sender);
}

TEST(Session, RecipientsAndRefusals) {
  Driver d;
  d.run("EHLO x\r\nMAIL FROM:<a@b>\r\n");
  d.rcpt_answer = Reply{550, "5.1.1", "No such user", false};
  EXPECT_EQ(d.run("RCPT TO:<nobody@d>\r\nDATA\r\n"),
            "550 5.1.1 No such user\r\n554 5.5.1 Error: no valid recipients\r\n");
  d.rcpt_answer = Reply{250, "2.1.5", "Ok", false};
  EXPECT_EQ(d.run("RCPT TO:<Postmaster>\r\nRCPT TO:<x@y>\r\n"), "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n");
  ASSERT_EQ(d.s.envelope().recipients.size(), 2u);
  EXPECT_EQ(d.s.envelope().recipients[0].str(), "Postmaster");
}

TEST(Session, TooManyRecipients) {
  ServerOptions o = opts();
  o.limits.max_recipients = 2;
  Driver d(o);
  std::string out = d.run("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@d>\r\nRCPT TO:<2@d>\r\nRCPT TO:<3@d>\r\n");
  EXPECT_NE(out.find("250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n"), std::string::npos);
  EXPECT_EQ(d.s.envelope().recipients.size(), 2u);
}

TEST(Session, DataMessage) {
  Driver d = ready();
  EXPECT_FALSE(d.s.in_data());
  EXPECT_EQ(d.run("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_TRUE(d.s.in_data());
  EXPECT_EQ(d.run("Subject: hi\r\n\r\n..leading dot\r\n.x\r\n"), "");
  EXPECT_TRUE(d.s.in_data());
  EXPECT_EQ(d.run("last\r\n.\r\n"), "250 2.0.0 Ok: queued as X\r\n");
  EXPECT_FALSE(d.s.in_data());
  ASSERT_EQ(d.count(Event::Message), 1);
  EXPECT_EQ(d.msg(), "Subject: hi\r\n\r\n.leading dot\r\nx\r\nlast\r\n");
  // The transaction is reset, HELO kept.
  EXPECT_TRUE(d.s.envelope().recipients.empty());
  EXPECT_EQ(d.s.envelope().helo, "client.example");
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(Session, EmptyMessageAndRefusal) {
  Driver d = ready();
  d.msg_answer = Reply{554, "5.7.1", "Rejected: spam", false};
  EXPECT_EQ(d.run("DATA\r\n.\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n554 5.7.1 Rejected: spam\r\n");
  EXPECT_EQ(d.msg(), "");
  EXPECT_EQ(d.run("RCPT TO:<c@d>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
}

TEST(Session, DataLineEndsOnlyAtCrLfDotCrLf) {
  Driver d = ready();
  d.run("DATA\r\n");
  d.run("a\r\n. \r\n.. \r\n.\r");
  EXPECT_TRUE(d.s.in_data());
  d.run("\n");
  ASSERT_EQ(d.count(Event::Message), 1);
  EXPECT_EQ(d.msg(), "a\r\n \r\n. \r\n");
}

// SMTP smuggling (2023): a second message hidden behind a non-standard end-of-data sequence.
TEST(Session, SmugglingVariantsAreRefused) {
  const std::string ends[] = {"\n.\r\n", "\r\n.\n", "\r.\r\n", "\n.\n", "\r\n.\r", "\r.\n", "\n.\r", "\r.\r"};
  for (const std::string& e : ends) {
    std::string payload = "Subject: first\r\n\r\nbody" + e +
                          "MAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@d.example>\r\nDATA\r\n"
                          "Subject: smuggled\r\n\r\nevil\r\n.\r\n";
    for (bool bytewise : {false, true}) {
      Driver d = ready();
      d.run("DATA\r\n");
      if (bytewise) {
        for (char c : payload) d.run(std::string_view(&c, 1));
      } else {
        d.run(payload);
      }
      SCOPED_TRACE(testing::PrintToString(e));
      EXPECT_EQ(d.count(Event::MailFrom), 0);
      EXPECT_EQ(d.count(Event::RcptTo), 0);
      EXPECT_EQ(d.count(Event::Message), 0);
      EXPECT_EQ(d.out, "354 End data with <CR><LF>.<CR><LF>\r\n"
                       "550 5.6.0 Error: message contains bare CR or LF (RFC 5321 section 2.3.8); use CRLF "
                       "line endings\r\n");
      EXPECT_FALSE(d.s.in_data());
      EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");  // back in command mode
    }
  }
}

TEST(Session, NulLineIsContentInData) {
  Driver d = ready();
  d.run("DATA\r\n");
  d.run(std::string("a\r\n\0.\r\n.\r\n", 10));
  ASSERT_EQ(d.count(Event::Message), 1);
  EXPECT_EQ(d.msg(), std::string("a\r\n\0.\r\n", 7));
}

TEST(Session, MessageTooBig) {
  ServerOptions o = opts();
  o.limits.max_message_size = 10;
  Driver d = ready(o);
  d.run("DATA\r\n");
  d.run("0123456789\r\nMAIL FROM:<x@y>\r\n");
  d.run(std::string(10000, 'x') + "\r\n.\r\n");
  EXPECT_EQ(d.count(Event::Message), 0);
  EXPECT_EQ(d.count(Event::MailFrom), 0);
  EXPECT_EQ(d.out, "354 End data with <CR><LF>.<CR><LF>\r\n552 5.3.4 Error: message size exceeds fixed limit\r\n");
}

TEST(Session, SizeCountsUnstuffedContent) {
  ServerOptions o = opts();
  o.limits.max_message_size = 6;
  Driver d = ready(o);
  d.run("DATA\r\n..ab\r\n.\r\n");  // content ".ab\r\n" = 5 bytes, raw 6 + dot
  ASSERT_EQ(d.count(Event::Message), 1);
  EXPECT_EQ(d.msg(), ".ab\r\n");
}

TEST(Session, DataLineTooLong) {
  ServerOptions o = opts();
  o.limits.max_data_line = 10;
  Driver d = ready(o);
  d.run("DATA\r\n12345678\r\n");
  d.run("123456789\r\n.\r\n");
  EXPECT_EQ(d.count(Event::Message), 0);
  EXPECT_NE(d.out.find("552 5.3.4 Error: message line length exceeds fixed limit\r\n"), std::string::npos);
}

TEST(Session, Pipelining) {
  Driver d;
  std::string out = d.run("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n");
  EXPECT_EQ(d.kinds(), (std::vector<Event::Kind>{Event::Helo, Event::MailFrom, Event::RcptTo, Event::RcptTo}));
  EXPECT_EQ(out, std::string(kEhloReply) +
                     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
}

TEST(Session, PendingDecisionBlocksInput) {
  ServerSession s(opts());
  s.feed("EHLO x\r\nNOOP\r\n");
  EXPECT_EQ(s.next().kind, Event::Helo);
  EXPECT_EQ(s.next().kind, Event::Helo);  // not answered yet: re-reported
  EXPECT_EQ(s.take_output(), "");
  s.answer(Reply{});
  EXPECT_EQ(s.next().kind, Event::NeedInput);
  EXPECT_EQ(s.take_output(), kEhloReply + std::string("250 2.0.0 Ok\r\n"));
}

TEST(Session, AnswerWithCloseClosesSession) {
  Driver d;
  d.mail_answer = Reply{421, "4.7.0", "mx.test Try later", true};
  EXPECT_EQ(d.run("EHLO x\r\nMAIL FROM:<a@b>\r\nNOOP\r\n").substr(strlen(kEhloReply)),
            "421 4.7.0 mx.test Try later\r\n");
  EXPECT_EQ(d.events.back().kind, Event::Close);
}

// A whole session fed in one chunk and byte by byte must give the same events and output.
TEST(Session, ByteByByteMatchesOneChunk) {
  std::string session =
      "EHLO client.example\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\nRCPT TO:<c@d.example>\r\n"
      "RCPT TO:<bad>\r\nDATA\r\nSubject: x\r\n\r\n..dots\r\n.\r\n"
      "MAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\r\nBDAT 7\r\nhello\r\nBDAT 5 LAST\r\nworld"
      "NOOP\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<e@f.example>\r\nBDAT 3\r\n\r\n.BDAT 0 LAST\r\n"
      "RSET\r\nVRFY x\r\nHELP\r\n" + std::string(3000, 'x') + "\r\nNOOP\r\nQUIT\r\n";
  Driver one;
  one.run(session);
  Driver bytes;
  for (char c : session) bytes.run(std::string_view(&c, 1));
  EXPECT_EQ(one.out, bytes.out);
  ASSERT_EQ(one.kinds(), bytes.kinds());
  for (size_t i = 0; i < one.events.size(); ++i) {
    EXPECT_EQ(one.events[i].data, bytes.events[i].data);
    EXPECT_EQ(one.events[i].path.addr.str(), bytes.events[i].path.addr.str());
  }
  EXPECT_EQ(one.count(Event::Message), 3);
  EXPECT_EQ(one.events.back().kind, Event::Close);
  EXPECT_NE(one.out.find("500 5.5.6 Error: line too long\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"),
            std::string::npos);
}

TEST(Session, Bdat) {
  Driver d = ready();
  EXPECT_EQ(d.run("BDAT 5\r\nab"), "");
  EXPECT_TRUE(d.s.in_data());
  EXPECT_EQ(d.run("c\r\n"), "250 2.0.0 5 octets received\r\n");
  EXPECT_FALSE(d.s.in_data());
  EXPECT_EQ(d.run("BDAT 6 LAST\r\n.\r\n\r\n.NOOP\r\n"), "250 2.0.0 Ok: queued as X\r\n250 2.0.0 Ok\r\n");
  ASSERT_EQ(d.count(Event::Message), 1);
  EXPECT_EQ(d.msg(), "abc\r\n.\r\n\r\n.");
  EXPECT_TRUE(d.s.envelope().recipients.empty());
}

TEST(Session, BdatZeroLast) {
  Driver d = ready();
  EXPECT_EQ(d.run("BDAT 0 LAST\r\n"), "250 2.0.0 Ok: queued as X\r\n");
  EXPECT_EQ(d.msg(), "");
  d = ready();
  EXPECT_EQ(d.run("bdat 3\r\nabcBDAT 0 last\r\n"), "250 2.0.0 3 octets received\r\n250 2.0.0 Ok: queued as X\r\n");
  EXPECT_EQ(d.msg(), "abc");
}

TEST(Session, BdatErrorsConsumeTheChunk) {
  Driver d;
  d.run("EHLO x\r\n");
  d.out.clear();
  std::string evil = "MAIL FROM:<evil@x>\r\n";
  EXPECT_EQ(d.run("BDAT " + std::to_string(evil.size()) + " LAST\r\n" + evil),
            "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(d.count(Event::MailFrom), 0);
  d.run("MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(d.run("BDAT " + std::to_string(evil.size()) + "\r\n" + evil), "503 5.5.1 Error: need RCPT command\r\n");
  d.rcpt_answer = Reply{550, "5.1.1", "No", false};
  d.run("RCPT TO:<x@y>\r\n");
  EXPECT_EQ(d.run("BDAT " + std::to_string(evil.size()) + " LAST\r\n" + evil),
            "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(d.run("BDAT 3 FOO\r\nabc"), "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
  EXPECT_EQ(d.count(Event::MailFrom), 1);
  EXPECT_EQ(d.count(Event::Message), 0);
  Driver e;
  EXPECT_EQ(e.run("BDAT x\r\nNOOP\r\n"), "501 5.5.4 Syntax: BDAT count [LAST]; closing connection\r\n");
  EXPECT_EQ(e.events.back().kind, Event::Close);
}

TEST(Session, BdatAfterFailedChunkFailsUntilReset) {
  Driver d = ready();
  EXPECT_EQ(d.run("BDAT 2 junk\r\nabBDAT 2 LAST\r\ncd"),
            "501 5.5.4 Syntax: BDAT count [LAST]\r\n503 5.5.1 Error: previous BDAT failed; send RSET\r\n");
  EXPECT_EQ(d.count(Event::Message), 0);
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(Session, DataAfterBdatIsRefused) {
  Driver d = ready();
  EXPECT_EQ(d.run("BDAT 2\r\nabDATA\r\n"), "250 2.0.0 2 octets received\r\n503 5.5.1 Error: DATA not allowed after BDAT\r\n");
  EXPECT_FALSE(d.s.in_data());
}

TEST(Session, BdatBareLineEndsAndSize) {
  Driver d = ready();
  d.run("BDAT 4 LAST\r\na\nb\r");
  EXPECT_EQ(d.count(Event::Message), 0);
  EXPECT_NE(d.out.find("550 5.6.0"), std::string::npos);
  d = ready();
  d.run("BDAT 2\r\na\rBDAT 1 LAST\r\n\n");  // CR and LF split across chunks is fine
  ASSERT_EQ(d.count(Event::Message), 1);
  EXPECT_EQ(d.msg(), "a\r\n");
  ServerOptions o = opts();
  o.limits.max_message_size = 4;
  d = ready(o);
  EXPECT_EQ(d.run("BDAT 3\r\nabcBDAT 2 LAST\r\nde"),
            "250 2.0.0 3 octets received\r\n552 5.3.4 Error: message size exceeds fixed limit\r\n");
}

TEST(Session, StartTlsDiscardsPipelinedCommands) {
  Driver d(opts(true));
  d.run("EHLO x\r\n");
  EXPECT_EQ(d.run("STARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@d>\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(d.events.back().kind, Event::StartTls);
  d.run("MAIL FROM:<evil2@x>\r\n");  // plaintext before the handshake: dropped
  EXPECT_EQ(d.count(Event::MailFrom), 0);
  d.s.tls_started();
  EXPECT_EQ(d.s.envelope().helo, "");
  EXPECT_EQ(d.run("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  std::string ehlo = d.run("EHLO x\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(d.run("STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
  EXPECT_EQ(d.count(Event::MailFrom), 0);
}

TEST(Session, StartTlsErrors) {
  Driver d;
  EXPECT_EQ(d.run("STARTTLS\r\n"), "454 4.7.0 TLS not available\r\n");
  Driver t(opts(true));
  EXPECT_EQ(t.run("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
  t.run("EHLO x\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_EQ(t.run("STARTTLS\r\n"), "503 5.5.1 Error: MAIL transaction in progress\r\n");
}

TEST(Session, TooManyErrors) {
  ServerOptions o = opts();
  o.limits.max_errors = 3;
  Driver d(o);
  EXPECT_EQ(d.run("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n"),
            "500 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: command not recognized\r\n"
            "500 5.5.2 Error: command not recognized\r\n421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_EQ(d.events.back().kind, Event::Close);
  d.s.feed("NOOP\r\n");
  EXPECT_EQ(d.s.next().kind, Event::Close);
  EXPECT_EQ(d.s.take_output(), "");
}

TEST(Session, OwnerRefusalsCountAsErrors) {
  ServerOptions o = opts();
  o.limits.max_errors = 2;
  Driver d(o);
  d.rcpt_answer = Reply{550, "5.1.1", "No", false};
  std::string out = d.run("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\nRCPT TO:<x@y>\r\n");
  EXPECT_EQ(d.count(Event::RcptTo), 2);
  EXPECT_NE(out.find("550 5.1.1 No\r\n421 4.7.0"), std::string::npos);
}

TEST(Session, LongCommandLine) {
  ServerOptions o = opts();
  o.limits.max_command_line = 16;
  Driver d(o);
  EXPECT_EQ(d.run("NOOP 012345678\r\n"), "250 2.0.0 Ok\r\n");  // exactly 16 bytes
  EXPECT_EQ(d.run("NOOP 0123456789\r\n"), "500 5.5.6 Error: line too long\r\n");
  EXPECT_EQ(d.run("MAIL FROM:<a@b.example>" + std::string(100000, 'x')), "");
  EXPECT_EQ(d.run(std::string(100000, 'y')), "");
  EXPECT_EQ(d.run("\r\nNOOP\r\n"), "500 5.5.6 Error: line too long\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(d.count(Event::MailFrom), 0);
}

TEST(Session, NulInCommand) {
  Driver d;
  EXPECT_EQ(d.run(std::string("NO\0OP\r\nEHLO a\0b\r\n", 17)),
            "500 5.5.2 Error: NUL character in command\r\n500 5.5.2 Error: NUL character in command\r\n");
  EXPECT_TRUE(d.events.empty());
}

TEST(Session, DotStuffRoundTrip) {
  std::string bodies[] = {"", "plain", ".", "..\r\n.\r\n", "a\nb\n.\nc", ".start\r\nmid\r\n.\r\n..\r\nend\r\n",
                          std::string("bin\0ary\r\n", 9)};
  for (const std::string& body : bodies) {
    Driver d = ready();
    std::string wire = "DATA\r\n";
    dot_stuff(body, wire);
    d.run(wire);
    ASSERT_EQ(d.count(Event::Message), 1) << body;
    std::string expect;
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) expect += '\r';
      expect += body[i];
    }
    if (!expect.empty() && !expect.ends_with("\r\n")) expect += "\r\n";
    EXPECT_EQ(d.msg(), expect);
  }
}

// Random garbage must never crash or wedge the session.
TEST(Session, FuzzGarbage) {
  std::mt19937 rng(12345);
  std::map<Event::Kind, int> seen;
  const std::string_view pieces[] = {"EHLO x\r\n", "HELO y\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<c@d>\r\n",
                                     "DATA\r\n", "BDAT 5\r\n", "BDAT 3 LAST\r\n", "\r\n.\r\n", ".", "\r", "\n",
                                     "RSET\r\n", "STARTTLS\r\n", "NOOP\r\n", "BDAT 100000\r\n", "\0",
                                     "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 3 LAST\r\nabc",
                                     "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\n"};
  for (int session = 0; session < 40; ++session) {
    ServerOptions o = opts(session % 2 == 0);
    o.limits.max_errors = 1000000;
    o.limits.max_message_size = 5000;
    o.limits.max_command_line = 64 + session * 10;
    ServerSession s(o);
    int tls = 0;
    for (int chunk = 0; chunk < 500; ++chunk) {
      std::string buf;
      int n = static_cast<int>(rng() % 64);
      for (int i = 0; i < n; ++i) {
        if (rng() % 3 == 0) {
          auto p = pieces[rng() % std::size(pieces)];
          buf.append(p.empty() ? std::string_view("\0", 1) : p);
        } else {
          buf += static_cast<char>(rng() % 256);
        }
      }
      s.feed(buf);
      for (int guard = 0; guard < 100000; ++guard) {
        Event ev = s.next();
        ++seen[ev.kind];
        if (ev.kind == Event::NeedInput || ev.kind == Event::Close) break;
        if (ev.kind == Event::StartTls) {
          if (++tls < 3) s.tls_started();
          break;
        }
        unsigned r = rng() % 3;
        s.answer(r == 0 ? Reply{250, "2.0.0", "Ok", false} : r == 1 ? Reply{550, "5.7.1", "No", false}
                                                                     : Reply{451, "4.3.0", "Later", false});
      }
      std::string out = s.take_output();
      ASSERT_TRUE(out.empty() || out.ends_with("\r\n"));
      ReplyParser rp;
      rp.feed(out);
      while (auto rep = rp.next()) ASSERT_GE(rep->code, 200) << out;
      ASSERT_LE(s.envelope().recipients.size(), o.limits.max_recipients);
    }
  }
  // The garbage must have exercised the interesting paths.
  for (auto k : {Event::Helo, Event::MailFrom, Event::RcptTo, Event::Message, Event::StartTls})
    EXPECT_GT(seen[k], 0) << k;
}
