// The server side of an SMTP session as a sans-IO push parser. The socket owner feed()s received
// bytes, calls next() until NeedInput, answer()s each Helo/MailFrom/RcptTo/Message decision, and
// writes take_output() to the client. No I/O, timers or threads here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/address.h"
#include "smtp/reply.h"

namespace mm::smtp {

struct Limits {
  size_t max_command_line = 2048;     // bytes incl. CRLF; longer -> 500 5.5.6, rest of line discarded
  size_t max_data_line = 65536;       // bytes incl. CRLF per DATA line; longer -> 552 5.3.4 at the end
  size_t max_message_size = 50u << 20;  // EHLO "SIZE n"; larger -> read to the end, then 552 5.3.4
  size_t max_recipients = 1000;       // beyond -> 452 4.5.3
  unsigned max_errors = 20;           // this many 4xx/5xx replies -> 421 4.7.0 and Close
};

struct ServerOptions {
  std::string hostname;
  Limits limits;
  bool tls_available = false;  // advertise STARTTLS (while !tls_active)
  bool tls_active = false;
};

enum class BodyType { SevenBit, EightBitMime };

struct Envelope {
  std::string helo;
  bool esmtp = false;
  Address sender;
  bool null_sender = false;
  BodyType body = BodyType::SevenBit;
  bool smtputf8 = false;
  std::vector<Address> recipients;  // accepted ones only
};

struct Event {
  enum Kind { NeedInput, Helo, MailFrom, RcptTo, Message, StartTls, Close } kind = NeedInput;
  PathArg path;      // MailFrom / RcptTo
  std::string data;  // Message: unstuffed content, CRLF line ends, without the final ".\r\n"
};

class ServerSession {
 public:
  explicit ServerSession(ServerOptions opts);

  // "220 <hostname> ESMTP mailmoat"; the owner sends it (possibly after a delay).
  Reply greeting() const;
  // Appends received bytes. Ignored after Close, and between StartTls and tls_started().
  void feed(std::string_view bytes);
  // Processes buffered input up to the next event; NeedInput when more bytes are needed.
  // Helo/MailFrom/RcptTo/Message must be answer()ed before input is processed further; calling
  // next() before that re-reports the pending kind (without the message data). Close repeats.
  Event next();
  // Answers the pending decision: 2xx accepts (sender set, recipient added, ...), anything else
  // refuses. For Helo a 2xx makes the session send its own HELO/EHLO reply. close=true -> Close.
  void answer(const Reply& r);
  // The bytes to write to the client, in order; empties the output.
  std::string take_output();
  // After the TLS handshake that followed StartTls: back to the initial state (RFC 3207 §4.2),
  // tls_active = true, STARTTLS no longer advertised.
  void tls_started();
  // "421 4.4.2 <host> Error: timeout exceeded" with close=true.
  Reply timeout_reply() const;
  const Envelope& envelope() const { return env_; }
  // True while reading DATA or BDAT content (the owner applies the data timeout).
  bool in_data() const { return mode_ == Mode::Data || mode_ == Mode::Bdat; }

 private:
  enum class Mode { Command, Data, Bdat, AwaitTls, Closed };
  enum class LineStatus { Ok, TooLong, NeedMore };

  LineStatus read_line(std::string_view& line);
  std::optional<Event> command(std::string_view line);
  std::optional<Event> cmd_helo(std::string_view arg, bool esmtp);
  std::optional<Event> cmd_mail(std::string_view arg);
  std::optional<Event> cmd_rcpt(std::string_view arg);
  std::optional<Event> cmd_data(std::string_view arg);
  std::optional<Event> cmd_bdat(std::string_view arg);
  std::optional<Event> cmd_starttls(std::string_view arg);
  bool read_data();  // true once ".\r\n" ends the DATA content
  bool read_bdat();  // true once the current chunk is complete
  std::optional<Event> finish_message();
  void start_message();
  void append_content(std::string_view bytes);
  void reset_transaction();
  void send(Reply r);
  std::optional<Event> reply(Reply r);  // send(r), no event
  std::optional<Event> emit(Event::Kind kind, PathArg path = {});
  Reply helo_reply() const;

  ServerOptions opt_;
  Mode mode_ = Mode::Command;
  std::string in_;
  size_t in_pos_ = 0;
  bool discarding_line_ = false;
  std::string out_;
  unsigned errors_ = 0;

  Envelope env_;
  bool have_helo_ = false;
  bool have_mail_ = false;
  bool rcpt_seen_ = false;   // an RCPT passed syntax checks in this transaction
  bool bdat_used_ = false;
  bool bdat_failed_ = false;

  std::optional<Event::Kind> pending_;
  PathArg pending_path_;
  std::string prev_helo_;
  bool prev_esmtp_ = false;

  // Message being received (DATA or BDAT).
  std::string msg_;
  uint64_t msg_size_ = 0;
  bool msg_bare_ = false;
  bool msg_too_big_ = false;
  bool msg_long_line_ = false;
  bool data_line_start_ = true;
  size_t data_line_len_ = 0;
  uint64_t bdat_remaining_ = 0;
  uint64_t bdat_chunk_size_ = 0;
  bool bdat_last_ = false;
  bool bdat_prev_cr_ = false;
  std::optional<Reply> bdat_error_;  // chunk is consumed and discarded, then this is the reply
};

}  // namespace mm::smtp
