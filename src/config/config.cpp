#include "config/config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <functional>
#include <map>
#include <sstream>
#include <toml++/toml.h>

namespace mm::config {
namespace {

std::string machine_hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

void fill_derived(Config& c) {
  if (c.hostname.empty()) c.hostname = machine_hostname();
  auto in_var = [&](std::string& p, const char* rel) {
    if (p.empty()) p = c.var_dir + "/" + rel;
  };
  in_var(c.pid_file, "run/mailmoat.pid");
  in_var(c.control_socket, "run/control.sock");
  in_var(c.tls_cert, "tls/cert.pem");
  in_var(c.tls_key, "tls/key.pem");
  in_var(c.db_path, "mailmoat.db");
  in_var(c.spool_dir, "spool");
  in_var(c.log_file, "log/mailmoat.jsonl");
}

Result<Listen> parse_listen(const std::string& s) {
  // "127.0.0.1:2525", "[::1]:2525", "0.0.0.0:25"
  Listen l;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return Status::error("listen address '" + s + "' must look like [::1]:2525");
    l.address = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon)
      return Status::error("listen address '" + s + "' must look like 127.0.0.1:2525 or [::1]:2525");
    l.address = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != 0 || p < 1 || p > 65535)
    return Status::error("listen address '" + s + "' has an invalid port");
  l.port = static_cast<uint16_t>(p);
  if (l.address.empty()) return Status::error("listen address '" + s + "' has no host part");
  return l;
}

// Reads the keys of one table into the config, refusing unknown keys and wrong types.
class TableReader {
 public:
  TableReader(const toml::table& root, std::string name, std::vector<std::string>& errors)
      : name_(std::move(name)), errors_(errors) {
    if (auto* node = root.get(name_)) {
      table_ = node->as_table();
      if (!table_) errors_.push_back("[" + name_ + "] must be a table");
    }
  }
  ~TableReader() {
    if (!table_) return;
    for (auto&& [k, v] : *table_) {
      (void)v;
      std::string key(k.str());
      if (!seen_.count(key)) errors_.push_back("unknown key '" + key + "' in [" + name_ + "]");
    }
  }
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  void str(const char* key, std::string& out) {
    if (auto* n = find(key)) {
      if (auto v = n->value<std::string>()) out = *v;
      else bad(key, "a string");
    }
  }
  void boolean(const char* key, bool& out) {
    if (auto* n = find(key)) {
      if (auto v = n->value<bool>()) out = *v;
      else bad(key, "true or false");
    }
  }
  template <class T>
  void integer(const char* key, T& out, int64_t lo, int64_t hi) {
    if (auto* n = find(key)) {
      auto v = n->value<int64_t>();
      if (!v || *v < lo || *v > hi) {
        bad(key, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
        return;
      }
      out = static_cast<T>(*v);
    }
  }
  void number(const char* key, double& out) {
    if (auto* n = find(key)) {
      if (auto v = n->value<double>()) out = *v;
      else bad(key, "a number");
    }
  }
  // An array of strings; `set` tells whether the key was given.
  void strings(const char* key, std::vector<std::string>& out, bool& set) {
    auto* n = find(key);
    if (!n) return;
    auto* arr = n->as_array();
    if (!arr) return bad(key, "an array of strings");
    std::vector<std::string> result;
    for (auto& item : *arr) {
      auto v = item.value<std::string>();
      if (!v) return bad(key, "an array of strings");
      result.push_back(*v);
    }
    out = std::move(result);
    set = true;
  }
  void strings(const char* key, std::vector<std::string>& out) {
    bool ignored = false;
    strings(key, out, ignored);
  }
  void listens(const char* key, std::vector<Listen>& out) {
    auto* n = find(key);
    if (!n) return;
    auto* arr = n->as_array();
    if (!arr || arr->empty()) return bad(key, "a non-empty array of \"host:port\" strings");
    std::vector<Listen> result;
    for (auto& item : *arr) {
      auto s = item.value<std::string>();
      if (!s) return bad(key, "an array of \"host:port\" strings");
      auto l = parse_listen(*s);
      if (!l) {
        errors_.push_back("[" + name_ + "] " + key + ": " + l.error());
        return;
      }
      result.push_back(*l);
    }
    out = std::move(result);
  }

 private:
  const toml::node* find(const char* key) {
    seen_[key] = true;
    return table_ ? table_->get(key) : nullptr;
  }
  void bad(const char* key, const std::string& want) {
    errors_.push_back("[" + name_ + "] " + key + " must be " + want);
  }
  std::string name_;
  std::vector<std::string>& errors_;
  const toml::table* table_ = nullptr;
  std::map<std::string, bool> seen_;
};

}  // namespace

const char* default_console_dir() {
#ifdef MM_DEFAULT_CONSOLE_DIR
  return MM_DEFAULT_CONSOLE_DIR;
#else
  return "";
#endif
}

Config defaults() {
  Config c;
  fill_derived(c);
  return c;
}

Result<Config> load(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    return Status::error(os.str());
  }
  Config c;
  c.source = path;
  std::vector<std::string> errors;
  static const char* kTables[] = {"server", "smtp", "tls", "store", "queue", "delivery", "scan", "log", "links", "antivirus", "attachments", "dns", "auth", "api", "quarantine", "connection"};
  for (auto&& [k, v] : root) {
    (void)v;
    bool known = false;
    for (auto* t : kTables) known = known || k.str() == t;
    if (!known) errors.push_back("unknown section [" + std::string(k.str()) + "]");
  }
  {
    TableReader t(root, "server", errors);
    t.str("hostname", c.hostname);
    t.str("var_dir", c.var_dir);
    t.integer("io_threads", c.io_threads, 1, 64);
    t.integer("shutdown_grace_s", c.shutdown_grace_s, 0, 3600);
    t.str("pid_file", c.pid_file);
    t.str("control_socket", c.control_socket);
    t.str("postmaster", c.postmaster);
    if (!c.postmaster.empty() && (c.postmaster.find('@') == std::string::npos || c.postmaster.front() == '@' ||
                                  c.postmaster.back() == '@'))
      errors.push_back("[server] postmaster must be an address like ops@example.com");
  }
  {
    TableReader t(root, "smtp", errors);
    t.listens("listen", c.listen);
    t.integer("max_message_size", c.max_message_size, 1024, int64_t(2) << 30);
    t.integer("max_recipients", c.max_recipients, 1, 100000);
    t.integer("max_command_line", c.max_command_line, 512, 1 << 20);
    t.integer("max_data_line", c.max_data_line, 1000, 64 << 20);
    t.integer("max_errors", c.max_errors, 1, 1000);
    t.integer("command_timeout_s", c.command_timeout_s, 1, 3600);
    t.integer("data_timeout_s", c.data_timeout_s, 1, 3600);
    t.integer("max_sessions", c.max_sessions, 1, 1000000);
    t.integer("max_sessions_per_ip", c.max_sessions_per_ip, 1, 1000000);
  }
  {
    TableReader t(root, "tls", errors);
    t.str("cert", c.tls_cert);
    t.str("key", c.tls_key);
    t.str("min_version", c.tls_min_version);
    if (c.tls_min_version != "1.2" && c.tls_min_version != "1.3")
      errors.push_back("[tls] min_version must be \"1.2\" or \"1.3\"");
  }
  {
    TableReader t(root, "store", errors);
    t.str("db_path", c.db_path);
  }
  {
    TableReader t(root, "queue", errors);
    t.str("spool_dir", c.spool_dir);
    t.boolean("fsync", c.spool_fsync);
    t.integer("first_retry_s", c.first_retry_s, 1, 86400);
    t.integer("min_backoff_s", c.min_backoff_s, 1, 86400);
    t.integer("max_backoff_s", c.max_backoff_s, 1, 7 * 86400);
    t.integer("max_lifetime_s", c.max_lifetime_s, 1, 60 * 86400);
    if (c.min_backoff_s > c.max_backoff_s)
      errors.push_back("[queue] min_backoff_s must not exceed max_backoff_s");
  }
  {
    TableReader t(root, "delivery", errors);
    t.integer("destination_concurrency", c.destination_concurrency, 1, 1000);
    t.integer("connect_timeout_s", c.connect_timeout_s, 1, 600);
    t.integer("reply_timeout_s", c.reply_timeout_s, 1, 3600);
    t.integer("connection_reuse_s", c.connection_reuse_s, 0, 300);
    t.str("smarthost", c.smarthost);
    if (!c.smarthost.empty()) {
      auto l = parse_listen(c.smarthost);
      if (!l) errors.push_back("[delivery] smarthost: " + l.error());
    }
  }
  {
    TableReader t(root, "scan", errors);
    t.boolean("enabled", c.scan_enabled);
    t.integer("threads", c.scan_threads, 1, 64);
    t.integer("timeout_ms", c.scan_timeout_ms, 1, 600000);
    t.number("tag_score", c.tag_score);
    t.number("reject_score", c.reject_score);
    t.number("bulk_score", c.bulk_score);
    t.str("subject_tag", c.subject_tag);
    t.str("rules_dir", c.rules_dir);
    t.boolean("date_checks", c.date_checks);
    t.boolean("parallel_checks", c.scan_parallel_checks);
    t.integer("check_threads", c.scan_check_threads, 1, 64);
    if (c.reject_score < c.tag_score) errors.push_back("[scan] reject_score must not be below tag_score");
  }
  {
    TableReader t(root, "links", errors);
    t.boolean("enabled", c.links_enabled);
    t.str("data_dir", c.links_data_dir);
    t.str("blocklist_file", c.url_blocklist_file);
    t.strings("uri_dnsbl_zones", c.uri_dnsbl_zones);
    t.integer("uri_dnsbl_timeout_ms", c.uri_dnsbl_timeout_ms, 1, 60000);
    t.integer("uri_dnsbl_max_queries", c.uri_dnsbl_max_queries, 0, 1000);
    for (auto& z : c.uri_dnsbl_zones)
      if (z.empty() || z.front() == '.' || z.find(' ') != std::string::npos)
        errors.push_back("[links] uri_dnsbl_zones: '" + z + "' is not a DNS zone");
  }
  {
    TableReader t(root, "dns", errors);
    t.str("servers", c.dns_servers);
    t.integer("timeout_ms", c.dns_timeout_ms, 10, 60000);
    t.integer("tries", c.dns_tries, 1, 10);
    t.integer("cache_entries", c.dns_cache_entries, 0, 10000000);
    if (!c.dns_servers.empty()) {
      size_t start = 0;
      while (start <= c.dns_servers.size()) {
        size_t comma = c.dns_servers.find(',', start);
        if (comma == std::string::npos) comma = c.dns_servers.size();
        std::string one = c.dns_servers.substr(start, comma - start);
        unsigned char buf[16];
        bool address = inet_pton(AF_INET, one.c_str(), buf) == 1 || inet_pton(AF_INET6, one.c_str(), buf) == 1;
        auto with_port = parse_listen(one);
        if (!address && (!with_port || (inet_pton(AF_INET, with_port->address.c_str(), buf) != 1 &&
                                        inet_pton(AF_INET6, with_port->address.c_str(), buf) != 1)))
          errors.push_back("[dns] servers: '" + one + "' must look like 127.0.0.1, 127.0.0.1:5353 or [::1]:53");
        start = comma + 1;
      }
    }
  }
  {
    TableReader t(root, "api", errors);
    t.boolean("enabled", c.api_enabled);
    t.listens("listen", c.api_listen);
    t.boolean("tls", c.api_tls);
    t.integer("max_body", c.api_max_body, 1024, uint64_t(64) << 20);
    t.integer("request_timeout_s", c.api_request_timeout_s, 1, 3600);
    t.integer("session_ttl_s", c.api_session_ttl_s, 60, 30 * 86400);
    t.integer("token_max_days", c.api_token_max_days, 1, 3650);
    t.integer("login_user_failures", c.api_login_user_failures, 1, 1000);
    t.integer("login_ip_failures", c.api_login_ip_failures, 1, 100000);
    t.integer("max_connections", c.api_max_connections, 1, 100000);
    t.str("console_dir", c.api_console_dir);
  }
  {
    TableReader t(root, "connection", errors);
    t.boolean("enabled", c.conn_enabled);
    t.str("strictness", c.conn_strictness);
    t.number("half_life_s", c.conn_half_life_s);
    t.number("refused_weight", c.conn_refused_weight);
    t.integer("save_interval_s", c.conn_save_interval_s, 1, 86400);
    t.strings("dns_lists", c.conn_dns_lists);
    t.number("dns_tempfail_score", c.conn_dns_tempfail_score);
    t.number("dns_refuse_score", c.conn_dns_refuse_score);
    t.integer("dns_wait_ms", c.conn_dns_wait_ms, 0, 30000);
    t.number("no_ptr_weight", c.conn_no_ptr_weight);
    t.number("bad_helo_weight", c.conn_bad_helo_weight);
    t.integer("pregreet_ms", c.conn_pregreet_ms, 0, 30000);
    t.number("pregreet_weight", c.conn_pregreet_weight);
    t.integer("tarpit_ms", c.conn_tarpit_ms, 0, 60000);
    t.integer("rate_per_ip", c.conn_rate_per_ip, 0, 10000000);
    t.integer("rate_per_network", c.conn_rate_per_network, 0, 10000000);
    t.integer("rate_per_sender_domain", c.conn_rate_per_sender_domain, 0, 10000000);
    t.integer("max_per_network", c.conn_max_per_network, 0, 10000000);
    t.integer("greylist_delay_s", c.conn_greylist_delay_s, 0, 86400);
    t.integer("greylist_window_s", c.conn_greylist_window_s, 1, 30 * 86400);
    t.integer("greylist_pass_days", c.conn_greylist_pass_days, 1, 3650);
    t.integer("greylist_auto_pass", c.conn_greylist_auto_pass, 1, 1000000);
    if (c.conn_strictness != "off" && c.conn_strictness != "low" && c.conn_strictness != "normal" &&
        c.conn_strictness != "strict")
      errors.push_back("[connection] strictness must be off, low, normal or strict");
    if (c.conn_half_life_s < 1) errors.push_back("[connection] half_life_s must be at least 1");
    if (c.conn_refused_weight < 0) errors.push_back("[connection] refused_weight must not be negative");
    for (auto& z : c.conn_dns_lists)
      if (z.empty() || z.front() == '.' || z.find(' ') != std::string::npos || z.find('.') == std::string::npos)
        errors.push_back("[connection] dns_lists: '" + z + "' is not a list (zone, zone*weight, zone=codes*weight)");
  }
  {
    TableReader t(root, "auth", errors);
    t.boolean("enabled", c.auth_enabled);
    t.str("authserv_id", c.authserv_id);
    t.boolean("spf", c.auth_spf);
    t.boolean("dkim", c.auth_dkim);
    t.boolean("dmarc", c.auth_dmarc);
    t.integer("timeout_ms", c.auth_timeout_ms, 100, 600000);
    for (char ch : c.authserv_id)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '_') {
        errors.push_back("[auth] authserv_id must be a host name");
        break;
      }
  }
  {
    TableReader t(root, "log", errors);
    t.str("file", c.log_file);
    t.str("level", c.log_level);
    t.str("stderr_level", c.stderr_level);
    t.integer("tracking_retention_days", c.tracking_retention_days, 1, 3650);
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
        c.log_level != "error")
      errors.push_back("[log] level must be one of debug, info, warn, error");
    if (c.stderr_level != "debug" && c.stderr_level != "info" && c.stderr_level != "warn" &&
        c.stderr_level != "error" && c.stderr_level != "off")
      errors.push_back("[log] stderr_level must be one of debug, info, warn, error, off");
  }
  {
    TableReader t(root, "antivirus", errors);
    t.boolean("enabled", c.av_enabled);
    t.str("mode", c.av_mode);
    t.str("socket", c.av_socket);
    t.str("database_dir", c.av_database_dir);
    t.str("clamd_path", c.av_clamd_path);
    t.str("temp_dir", c.av_temp_dir);
    t.integer("max_scan_size", c.av_max_scan_size, 1024, int64_t(4) << 30);
    t.integer("max_file_size", c.av_max_file_size, 1024, int64_t(4) << 30);
    t.integer("archive_depth", c.av_archive_depth, 1, 64);
    t.integer("max_files", c.av_max_files, 1, 1000000);
    t.integer("timeout_ms", c.av_timeout_ms, 100, 600000);
    t.integer("startup_wait_s", c.av_startup_wait_s, 0, 3600);
    t.integer("reload_check_s", c.av_reload_check_s, 1, 86400);
    if (c.av_mode != "managed" && c.av_mode != "external")
      errors.push_back("[antivirus] mode must be \"managed\" or \"external\"");
    if (c.av_enabled && c.av_mode == "external" && c.av_socket.empty())
      errors.push_back("[antivirus] mode \"external\" needs socket (a clamd socket path or host:port)");
    if (c.av_mode == "managed" && !c.av_socket.empty())
      errors.push_back("[antivirus] socket is for mode \"external\"; the managed clamd listens on <var_dir>/run/clamd.sock");
  }
  {
    TableReader t(root, "attachments", errors);
    t.boolean("enabled", c.att_enabled);
    t.strings("blocked_extensions", c.att_blocked_extensions, c.att_blocked_extensions_set);
    t.boolean("block_executables", c.att_block_executables);
    t.boolean("block_macros", c.att_block_macros);
    t.boolean("block_double_extensions", c.att_block_double_extensions);
    t.boolean("block_type_mismatch", c.att_block_type_mismatch);
    t.boolean("block_bidi_names", c.att_block_bidi_names);
    t.integer("archive_depth", c.att_archive_depth, 1, 64);
    t.integer("max_files", c.att_max_files, 1, 1000000);
    t.integer("max_expanded_bytes", c.att_max_expanded_bytes, 1024, int64_t(4) << 30);
    for (auto& e : c.att_blocked_extensions) {
      if (!e.empty() && e[0] == '.') e = e.substr(1);
      for (auto& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (e.empty() || e.find_first_of("./\\ ") != std::string::npos)
        errors.push_back("[attachments] blocked_extensions: '" + e + "' is not a file name extension");
    }
  }
  {
    TableReader t(root, "quarantine", errors);
    t.integer("digest_interval", c.quarantine_digest_interval_s, 0, int64_t(366) * 86400);  // seconds
    t.str("digest_base_url", c.quarantine_digest_base_url);
    if (c.quarantine_digest_interval_s > 0 && c.quarantine_digest_base_url.rfind("https://", 0) != 0 &&
        c.quarantine_digest_base_url.rfind("http://", 0) != 0)
      errors.push_back("[quarantine] digest_interval needs digest_base_url, the http(s) address where links are redeemed");
  }
  if (!errors.empty()) {
    std::string msg = path + ": invalid configuration:";
    for (auto& e : errors) msg += "\n  " + e;
    return Status::error(msg);
  }
  fill_derived(c);
  return c;
}

std::string describe(const Config& c) {
  std::ostringstream os;
  os << "config:    " << (c.source.empty() ? "(defaults)" : c.source) << "\n"
     << "hostname:  " << c.hostname << "\n"
     << "listen:   ";
  for (auto& l : c.listen)
    os << " " << (l.address.find(':') != std::string::npos ? "[" + l.address + "]" : l.address)
       << ":" << l.port;
  os << "\n"
     << "database:  " << c.db_path << "\n"
     << "spool:     " << c.spool_dir << (c.spool_fsync ? "" : " (fsync OFF: not durable)") << "\n"
     << "tls:       " << c.tls_cert << " / " << c.tls_key << " (min TLS " << c.tls_min_version
     << ")\n"
     << "log:       " << c.log_file << " (" << c.log_level << ")\n"
     << "limits:    message " << c.max_message_size << " bytes, " << c.max_recipients
     << " recipients, " << c.max_sessions << " sessions (" << c.max_sessions_per_ip
     << " per IP)\n"
     << "scan:      " << (c.scan_enabled ? "on" : "OFF (mail is delivered unscanned)") << ", tag >= "
     << c.tag_score << ", reject >= " << c.reject_score << ", rules " << c.rules_dir << "\n"
     << "antivirus: " << (!c.av_enabled ? std::string("OFF") : c.av_mode == "external" ? "clamd at " + c.av_socket
                         : "managed clamd, signatures " + (c.av_database_dir.empty() ? std::string("(the project's own)") : c.av_database_dir))
     << "\n"
     << "attachments: " << (c.att_enabled ? "checked" : "OFF") << "\n"
     << "auth:      " << (c.auth_enabled && c.scan_enabled ? "SPF/DKIM/DMARC on" : "off") << ", DNS "
     << (c.dns_servers.empty() ? "from /etc/resolv.conf" : c.dns_servers) << "\n"
     << "retry:     first " << c.first_retry_s << "s, backoff " << c.min_backoff_s << "-"
     << c.max_backoff_s << "s, lifetime " << c.max_lifetime_s << "s\n";
  os << "links:     " << (c.links_enabled ? "on" : "off") << ", operator block list "
     << (c.url_blocklist_file.empty() ? "(store only)" : c.url_blocklist_file) << ", "
     << c.uri_dnsbl_zones.size() << " URI DNS list zone(s)"
     << (c.uri_dnsbl_zones.empty() ? "" : " (asked through the [dns] resolver by the server)") << "\n";
  os << "api:      ";
  if (!c.api_enabled) os << " off";
  for (auto& l : c.api_listen) os << " " << l.address << ":" << l.port;
  if (c.api_enabled) os << (c.api_tls ? " (TLS)" : " (plain HTTP)");
  os << "\n";
  return os.str();
}

}  // namespace mm::config
