// mailmoat's configuration: one TOML file (config/mailmoat.toml), documented in docs/CONFIGURATION.md.
// Unknown keys and out-of-range values are errors, so that a typo never silently falls back to a default.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace mm::config {

struct Listen {
  std::string address;  // "127.0.0.1", "::1", "0.0.0.0"
  uint16_t port = 25;
};

// The built web console of the source tree (web/dist), compiled in as [api] console_dir's default.
const char* default_console_dir();

struct Config {
  std::string source;  // path it was loaded from

  // [server]
  std::string hostname;          // default: the machine's host name
  std::string var_dir = "var";   // state directory; the paths below default inside it
  int io_threads = 2;
  int shutdown_grace_s = 30;     // SIGTERM: how long running sessions may finish
  std::string pid_file;          // default <var>/run/mailmoat.pid
  std::string control_socket;    // default <var>/run/control.sock
  std::string postmaster;        // where mail to the bare <postmaster> (RFC 5321 §4.5.1) goes; "" = refused

  // [smtp]
  std::vector<Listen> listen{{"127.0.0.1", 2525}, {"::1", 2525}};
  uint64_t max_message_size = 50ull << 20;
  uint32_t max_recipients = 1000;
  uint32_t max_command_line = 2048;
  uint32_t max_data_line = 65536;
  uint32_t max_errors = 20;
  int command_timeout_s = 300;   // RFC 5321 §4.5.3.2.7
  int data_timeout_s = 300;
  uint32_t max_sessions = 5000;
  uint32_t max_sessions_per_ip = 50;

  // [tls]
  std::string tls_cert;          // default <var>/tls/cert.pem (self-signed, generated when absent)
  std::string tls_key;           // default <var>/tls/key.pem
  std::string tls_min_version = "1.2";

  // [store]
  std::string db_path;           // default <var>/mailmoat.db

  // [queue]
  std::string spool_dir;         // default <var>/spool
  bool spool_fsync = true;
  int64_t first_retry_s = 60;
  int64_t min_backoff_s = 300;
  int64_t max_backoff_s = 3600;
  int64_t max_lifetime_s = 10 * 86400;

  // [delivery]
  uint32_t destination_concurrency = 20;
  int connect_timeout_s = 30;
  int reply_timeout_s = 300;
  int connection_reuse_s = 5;    // keep an idle downstream connection this long for the next message
  std::string smarthost;         // "host:port" for destinations that are not tenant domains (DSNs); empty = none

  // [scan]
  bool scan_enabled = true;
  int scan_threads = 2;          // worker threads for parsing and scanning (off the I/O threads)
  int scan_timeout_ms = 20000;   // past it the message is accepted but held for a rescan
  double tag_score = 5.0;        // >= : spam, delivered with X-Spam-Flag: YES and the subject tag
  double reject_score = 15.0;    // >= : refused at DATA with 550 5.7.1
  double bulk_score = 1.0;       // bulk evidence >= this (below tag_score): class bulk
  std::string subject_tag = "[SPAM]";
  std::string rules_dir = "rules";  // *.rules files (relative: to the working directory)
  bool date_checks = true;       // false: no DATE_IN_PAST/DATE_IN_FUTURE (benchmarks replaying old mail)
  bool scan_parallel_checks = true;  // checks waiting on I/O (clamd, DNS) overlap the others
  int scan_check_threads = 4;        // the engine's threads for those checks

  // [links] (links and phishing checks)
  bool links_enabled = true;
  std::string links_data_dir;        // brands.txt, freemail.txt, shorteners.txt; default <rules_dir>/links
  std::string url_blocklist_file;    // the operator's block list of hosts/domains (re-read when it changes); "" = none
  std::vector<std::string> uri_dnsbl_zones;  // URI DNS block lists (SURBL-style), e.g. "multi.surbl.org"
  int uri_dnsbl_timeout_ms = 2000;
  int uri_dnsbl_max_queries = 20;    // per message

  // [dns]
  std::string dns_servers;       // "127.0.0.1:5353,[::1]:53"; empty = the system's /etc/resolv.conf
  int dns_timeout_ms = 2000;     // per try
  int dns_tries = 2;
  uint32_t dns_cache_entries = 100000;

  // [auth]
  bool auth_enabled = true;      // SPF, DKIM, DMARC on inbound mail (needs [scan] enabled)
  std::string authserv_id;       // in Authentication-Results; default: [server] hostname
  bool auth_spf = true, auth_dkim = true, auth_dmarc = true;
  int auth_timeout_ms = 10000;   // DNS budget per message; what is not answered by then is temperror

  // [log]
  std::string log_file;          // default <var>/log/mailmoat.jsonl ("-" = stderr only)
  std::string log_level = "info";
  std::string stderr_level = "info";  // short human lines on stderr: debug|info|warn|error|off
  uint32_t tracking_retention_days = 90;

  // [antivirus] (ClamAV's clamd over INSTREAM)
  bool av_enabled = true;
  std::string av_mode = "managed";     // "managed": mailmoat runs its own clamd; "external": an operator's clamd
  std::string av_socket;               // external: "/run/clamav/clamd.ctl" or "127.0.0.1:3310" (required)
  std::string av_database_dir;         // managed: signatures; "" = the project's own (built at build time)
  std::string av_clamd_path = "/usr/sbin/clamd";
  std::string av_temp_dir;             // managed: clamd's temporary files; "" = /dev/shm/... (tmpfs) if present
  uint64_t av_max_scan_size = 64ull << 20;  // bytes; a larger message is unscannable
  uint64_t av_max_file_size = 32ull << 20;  // managed: one file inside the message (clamd MaxFileSize)
  int av_archive_depth = 8;            // managed: clamd MaxRecursion
  uint32_t av_max_files = 1000;        // managed: clamd MaxFiles
  int av_timeout_ms = 15000;           // per message; no answer in time = unscannable, scanned again later
  int av_startup_wait_s = 60;          // managed: how long start-up waits for clamd to load its signatures
  int av_reload_check_s = 5;           // managed: how often the signature files are checked for changes

  // [attachments]
  bool att_enabled = true;
  std::vector<std::string> att_blocked_extensions;  // see att_blocked_extensions_set
  bool att_blocked_extensions_set = false;          // false: the built-in list
  bool att_block_executables = true;
  bool att_block_macros = true;
  bool att_block_double_extensions = true;
  bool att_block_type_mismatch = true;
  bool att_block_bidi_names = true;
  int att_archive_depth = 4;           // archive levels listed below an attachment
  uint32_t att_max_files = 1000;       // files listed in one attachment's archives
  uint64_t att_max_expanded_bytes = 64ull << 20;  // bytes unpacked per attachment

  // [api] (management REST API, docs/CONFIGURATION.md)
  bool api_enabled = true;
  std::vector<Listen> api_listen{{"127.0.0.1", 8443}};
  bool api_tls = true;                 // false only behind a TLS-terminating proxy on loopback
  uint64_t api_max_body = 1 << 20;     // bytes
  int api_request_timeout_s = 30;
  int api_session_ttl_s = 8 * 3600;
  int api_token_max_days = 365;
  uint32_t api_login_user_failures = 5;   // failed logins per user in 15 min before a 15 min lockout
  uint32_t api_login_ip_failures = 20;    // the same per client address
  uint32_t api_max_connections = 256;
  std::string api_console_dir = default_console_dir();  // "" = no console

  // [quarantine]: end-user digests sent by the server on a schedule (0 = only from the CLI).
  int64_t quarantine_digest_interval_s = 0;
  std::string quarantine_digest_base_url;  // where digest links are redeemed (required with an interval)

  // [connection] connection control (src/reputation): learned IP reputation, DNS lists, HELO and
  // reverse-DNS checks, rate limits
  bool conn_enabled = true;
  std::string conn_strictness = "normal";   // default for tenants without their own: off|low|normal|strict
  double conn_half_life_s = 86400;          // reputation counts halve in this time
  double conn_refused_weight = 0.5;         // a refused recipient counts as this much spam
  int conn_save_interval_s = 300;           // reputation state saved to <var>/reputation.state
  std::vector<std::string> conn_dns_lists;  // "zone", "zone*2", "zone=127.0.0.2,127.0.0.3*3", "wl.zone*-2"
  double conn_dns_tempfail_score = 2;       // connection score -> 450 per recipient
  double conn_dns_refuse_score = 3;         // connection score -> 554 per recipient
  int conn_dns_wait_ms = 1000;              // at RCPT, wait at most this for the lookups begun at connect
  double conn_no_ptr_weight = 0;            // score when the client has no reverse-DNS name
  double conn_bad_helo_weight = 0;          // score for a HELO that is not a plausible FQDN
  int conn_pregreet_ms = 0;                 // hold the greeting this long to catch early talkers (0 = off)
  double conn_pregreet_weight = 3;          // score for an early talker (3 = the default refuse score)
  int conn_tarpit_ms = 2000;                // delay of the DATA reply for a tarpitted source
  uint32_t conn_rate_per_ip = 0;            // messages per minute per client IP (0 = no limit)
  uint32_t conn_rate_per_network = 0;       // per /24 or /64
  uint32_t conn_rate_per_sender_domain = 0; // per MAIL FROM domain
  uint32_t conn_max_per_network = 0;        // concurrent sessions per /24 or /64 (0 = no limit)
  int conn_greylist_delay_s = 300;          // greylisting (tenants that enable it): minimum retry delay
  int conn_greylist_window_s = 14400;       // a retry later than this starts again
  int conn_greylist_pass_days = 36;         // a passed triplet (and network) is remembered this long
  int conn_greylist_auto_pass = 3;          // correct retries after which a network always passes
};

// Loads and validates a config file. Relative paths are taken relative to the working directory.
Result<Config> load(const std::string& path);
// Defaults only (no file), with derived paths filled in.
Config defaults();
// A short human summary for `mailmoat check-config`.
std::string describe(const Config&);

}  // namespace mm::config
