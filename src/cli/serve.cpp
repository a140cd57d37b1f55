// `mailmoat serve`: wires the rooms together and runs until SIGTERM/SIGINT.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "api/api.h"
#include "api/server.h"
#include "auth/auth.h"
#include "cli/commands.h"
#include "cli/engine.h"
#include "cli/queue_admin.h"
#include "cli/reputation_commands.h"
#include "cli/tenancy_commands.h"
#include "gateway/gateway.h"
#include "dns/resolver.h"
#include "reputation/connection.h"
#include "net/event_loop.h"
#include "net/smtp_client.h"
#include "net/smtp_server.h"
#include "net/tls.h"
#include "ops/control.h"
#include "ops/log.h"
#include "ops/tracker.h"
#include "queue/manager.h"
#include "queue/spool.h"
#include "quarantine/quarantine.h"
#include "tenancy/tenancy.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/thread_pool.h"
#include "util/version.h"

namespace mm::cli {
namespace {

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int startup_error(const std::string& what) {
  log::error("server.startup_failed", JsonLine().add("error", what));
  std::fprintf(stderr, "mailmoat: %s\n", what.c_str());
  return 1;
}

}  // namespace

int serve(const config::Config& c) {
  std::error_code ec;
  for (auto* d : {"run", "log", "tls"}) std::filesystem::create_directories(c.var_dir + "/" + d, ec);
  log::init(c.log_file, c.log_level, c.stderr_level);
  raise_fd_limit();

  bool generated = false;
  if (auto st = net::ensure_certificate(c.tls_cert, c.tls_key, c.hostname, &generated); !st)
    return startup_error(st.message());
  if (generated)
    log::info("tls.self_signed_generated", JsonLine().add("cert", c.tls_cert).add("hostname", c.hostname));

  auto store = store::open_sqlite(c.db_path);
  if (!store) return startup_error("database " + c.db_path + ": " + store.error());

  std::vector<std::string> warnings;
  queue::SpoolOptions so;
  so.fsync = c.spool_fsync;
  auto spool_r = queue::Spool::open(c.spool_dir, so, &warnings);
  if (!spool_r) return startup_error("spool " + c.spool_dir + ": " + spool_r.error());
  auto& spool = **spool_r;
  for (auto& w : warnings) log::warn("spool.recovery", JsonLine().add("warning", w));
  if (!c.spool_fsync) log::warn("spool.fsync_disabled", JsonLine().add("note", "acknowledged mail can be lost on power failure"));

  {
    std::ofstream pid(c.pid_file, std::ios::trunc);
    pid << getpid() << "\n";
  }

  ops::Tracker tracker(store->get());
  net::EventLoop loop;
  net::SmtpClient client(loop, {c.hostname, c.connect_timeout_s, c.reply_timeout_s, c.connection_reuse_s});
  gateway::GatewayOptions go;
  go.hostname = c.hostname;
  go.smarthost = c.smarthost;
  go.scan_timeout_ms = c.scan_timeout_ms;
  go.subject_tag = c.subject_tag;
  go.postmaster = c.postmaster;
  // Learned IP reputation: in process, saved to a file periodically and at shutdown.
  reputation::Reputation ip_reputation({c.conn_half_life_s, c.conn_refused_weight});
  const std::string reputation_file = c.var_dir + "/reputation.state";
  if (c.conn_enabled)
    if (auto st = ip_reputation.load(reputation_file); !st)
      log::warn("reputation.load", JsonLine().add("error", st.message()));
  gateway::Gateway gw(go, **store, spool, tracker);
  tenancy::TenancyService tenancy_service(**store);
  quarantine::Quarantine quarantine_store(**store, c.var_dir + "/quarantine");
  gw.set_services(&tenancy_service, &quarantine_store);
  std::mutex engine_mu;
  std::shared_ptr<const scan::Engine> current_engine;  // for releases from quarantine

  // Sender authentication on the asynchronous resolver (declared before the scan pool, so that it
  // outlives the scans in flight; destroyed after the loop stopped).
  std::shared_ptr<dns::AresResolver> resolver;
  std::shared_ptr<auth::Authenticator> authenticator;
  std::string dns_error;
  auto make_resolver = [&] {
    dns::ResolverOptions ro;
    ro.servers = c.dns_servers;
    ro.timeout_ms = c.dns_timeout_ms;
    ro.tries = c.dns_tries;
    ro.cache_entries = c.dns_cache_entries;
    resolver = dns::AresResolver::create(loop, ro, &dns_error);
    return resolver != nullptr;
  };
  if (c.auth_enabled && c.scan_enabled) {
    if (!make_resolver()) return startup_error("[dns] " + dns_error);
    auth::AuthOptions ao;
    ao.authserv_id = c.authserv_id.empty() ? c.hostname : c.authserv_id;
    ao.spf = c.auth_spf;
    ao.dkim = c.auth_dkim;
    ao.dmarc = c.auth_dmarc;
    ao.timeout_ms = c.auth_timeout_ms;
    authenticator = std::make_shared<auth::Authenticator>(*resolver, ao);
    gw.set_authenticator(authenticator);
    log::info("auth.enabled", JsonLine()
                                  .add("authserv_id", ao.authserv_id)
                                  .add("dns", c.dns_servers.empty() ? "/etc/resolv.conf" : c.dns_servers));
  } else if (!c.auth_enabled) {
    log::warn("auth.disabled", JsonLine().add("note", "no SPF/DKIM/DMARC checks on inbound mail"));
  }

  // Connection control: DNS lists and reverse DNS on the same resolver (created here when
  // sender authentication is off).
  if (c.conn_enabled) {
    bool need_dns = !c.conn_dns_lists.empty() || c.conn_no_ptr_weight != 0;
    if (need_dns && !resolver && !make_resolver()) return startup_error("[dns] " + dns_error);
    reputation::ConnectionOptions co;
    co.default_strictness = reputation::parse_strictness(c.conn_strictness).value_or(reputation::Strictness::Normal);
    for (auto& spec : c.conn_dns_lists) {
      reputation::DnsList l;
      if (!reputation::parse_dns_list(spec, &l)) return startup_error("[connection] dns_lists: bad entry '" + spec + "'");
      co.dns_lists.push_back(std::move(l));
    }
    co.dns_tempfail_score = c.conn_dns_tempfail_score;
    co.dns_refuse_score = c.conn_dns_refuse_score;
    co.dns_wait_ms = c.conn_dns_wait_ms;
    co.no_ptr_weight = c.conn_no_ptr_weight;
    co.bad_helo_weight = c.conn_bad_helo_weight;
    co.pregreet_weight = c.conn_pregreet_ms > 0 ? c.conn_pregreet_weight : 0;
    co.our_hostname = c.hostname;
    co.rate_per_ip = c.conn_rate_per_ip;
    co.rate_per_network = c.conn_rate_per_network;
    co.rate_per_sender_domain = c.conn_rate_per_sender_domain;
    co.max_per_network = c.conn_max_per_network;
    co.tarpit_ms = c.conn_tarpit_ms;
    co.greylist.delay_s = c.conn_greylist_delay_s;
    co.greylist.window_s = c.conn_greylist_window_s;
    co.greylist.pass_ttl_s = c.conn_greylist_pass_days * 86400;
    co.greylist.auto_pass_after = c.conn_greylist_auto_pass;
    gw.set_connection_control(
        std::make_shared<reputation::ConnectionControl>(co, ip_reputation, need_dns ? resolver.get() : nullptr), &loop);
    log::info("connection.enabled", JsonLine().add("strictness", c.conn_strictness).add("dns_lists", c.conn_dns_lists.size()));
  }

  // URI DNS block lists ([links] uri_dnsbl_zones) ask the same resolver.
  if (c.scan_enabled && c.links_enabled && !c.uri_dnsbl_zones.empty() && !resolver && !make_resolver())
    return startup_error("[dns] " + dns_error);

  // Scanning runs on its own worker threads, never on the I/O threads.
  std::unique_ptr<ThreadPool> scan_pool;
  auto load_scanner = [&]() -> Status {
    auto setup = build_engine(c, **store, resolver);
    if (!setup) return setup.status();
    gw.set_scanner(setup->engine, scan_pool.get());
    {
      std::lock_guard lk(engine_mu);
      current_engine = setup->engine;
    }
    log::info("scan.engine_loaded", JsonLine().add("summary", setup->summary));
    return {};
  };
  if (c.scan_enabled) {
    scan_pool = std::make_unique<ThreadPool>(static_cast<size_t>(c.scan_threads));
    if (auto st = load_scanner(); !st) return startup_error(st.message());
  } else {
    log::warn("scan.disabled", JsonLine().add("note", "inbound mail is delivered unscanned"));
  }

  queue::ManagerOptions mo;
  mo.retry.first_retry_s = c.first_retry_s;
  mo.retry.min_backoff_s = c.min_backoff_s;
  mo.retry.max_backoff_s = c.max_backoff_s;
  mo.retry.max_lifetime_s = c.max_lifetime_s;
  mo.destination_concurrency = c.destination_concurrency;
  mo.hostname = c.hostname;
  queue::QueueManager manager(loop, spool, gw, client, tracker, mo);
  gw.set_queue(&manager);

  net::ServerConfig sc;
  for (auto& l : c.listen) sc.listen.push_back({l.address, l.port});
  sc.session.hostname = c.hostname;
  sc.session.limits.max_command_line = c.max_command_line;
  sc.session.limits.max_data_line = c.max_data_line;
  sc.session.limits.max_message_size = c.max_message_size;
  sc.session.limits.max_recipients = c.max_recipients;
  sc.session.limits.max_errors = c.max_errors;
  sc.command_timeout_s = c.command_timeout_s;
  sc.data_timeout_s = c.data_timeout_s;
  sc.max_sessions = c.max_sessions;
  sc.max_sessions_per_ip = c.max_sessions_per_ip;
  sc.pregreet_ms = c.conn_enabled ? c.conn_pregreet_ms : 0;
  sc.tls_cert = c.tls_cert;
  sc.tls_key = c.tls_key;
  sc.tls_min_version = c.tls_min_version;
  net::SmtpServer server(loop, sc, [&gw](const net::ConnInfo& i) { return gw.new_session(i); });
  if (auto st = server.start(); !st) return startup_error(st.message());

  ops::ControlServer control(c.control_socket, [&](const std::vector<std::string>& args) -> Result<std::string> {
    if (!args.empty() && args[0] == "queue") return queue_command(spool, args, &manager);
    if (args.size() == 2 && args[0] == "scan" && args[1] == "reload") {
      if (!scan_pool) return Status::error("scanning is disabled in the configuration");
      if (auto st = load_scanner(); !st) return st;
      return std::string("scan engine reloaded\n");
    }
    if (!args.empty() && args[0] == "quarantine") {
      std::shared_ptr<const scan::Engine> engine;
      {
        std::lock_guard lk(engine_mu);
        engine = current_engine;
      }
      quarantine::SpoolReleaser rel(spool, &manager, engine, &tracker, c.scan_timeout_ms);
      // A release reported as not spam changed the stored model: scan with it from now on.
      rel.set_on_model_changed([&] {
        if (!scan_pool) return;
        if (auto st = load_scanner(); !st)
          log::warn("scan.reload_failed", JsonLine().add("error", st.message()));
      });
      return quarantine_control(**store, quarantine_store, rel, args);
    }
    if (!args.empty() && args[0] == "reputation") return reputation_report(ip_reputation, c.conn_strictness, args);
    if (!args.empty() && args[0] == "status") {
      auto s = manager.stats();
      return JsonLine()
          .add("sessions", server.active_sessions())
          .add("queued", s.messages)
          .add("in_flight", s.in_flight)
          .add("deferred", s.deferred)
          .add("held", s.held)
          .add("delivered", s.delivered)
          .add("bounced", s.bounced)
          .str() + "\n";
    }
    return Status::error("unknown request '" + (args.empty() ? "" : args[0]) + "'");
  });
  if (auto st = control.start(); !st) return startup_error(st.message());

  // The management REST API (src/api) on its own listener.
  std::unique_ptr<api::Api> rest;
  std::unique_ptr<api::ApiServer> rest_server;
  if (c.api_enabled) {
    api::ApiDeps ad;
    ad.store = store->get();
    ad.tenancy = &tenancy_service;
    ad.quarantine = &quarantine_store;
    ad.releaser = [&]() -> std::unique_ptr<quarantine::Releaser> {
      std::shared_ptr<const scan::Engine> engine;
      {
        std::lock_guard lk(engine_mu);
        engine = current_engine;
      }
      return std::make_unique<quarantine::SpoolReleaser>(spool, &manager, engine, &tracker, c.scan_timeout_ms);
    };
    ad.console_dir = c.api_console_dir;
    ad.reputation = &ip_reputation;
    ad.default_strictness = c.conn_strictness;
    ad.queue_stats = [&manager] {
      auto q = manager.stats();
      return api::QueueFigures{int64_t(q.messages), int64_t(q.deferred), int64_t(q.held), int64_t(q.in_flight)};
    };
    api::AuthOptions ao;
    ao.session_ttl_s = c.api_session_ttl_s;
    ao.token_max_ttl_s = int64_t(c.api_token_max_days) * 86400;
    ao.limits.user_failures = static_cast<int>(c.api_login_user_failures);
    ao.limits.ip_failures = static_cast<int>(c.api_login_ip_failures);
    auto key = api::load_or_create_secrets_key(c.var_dir + "/secrets.key");
    if (!key) return startup_error("[api] " + key.error());
    ao.secrets_key = *key;
    rest = std::make_unique<api::Api>(ad, ao);
    api::ServerOptions so_api;
    so_api.listen.clear();
    for (auto& l : c.api_listen) so_api.listen.emplace_back(l.address, l.port);
    so_api.tls = c.api_tls;
    so_api.tls_cert = c.tls_cert;
    so_api.tls_key = c.tls_key;
    so_api.tls_min_version = c.tls_min_version;
    so_api.max_body = c.api_max_body;
    so_api.request_timeout_s = c.api_request_timeout_s;
    so_api.max_connections = c.api_max_connections;
    rest_server = std::make_unique<api::ApiServer>(loop, so_api, [&rest](const api::Request& r) { return rest->handle(r); });
    if (auto st = rest_server->start(); !st) return startup_error(st.message());
    std::string ports;
    for (auto p : rest_server->bound_ports()) ports += (ports.empty() ? "" : ",") + std::to_string(p);
    log::info("api.started", JsonLine().add("ports", ports).add("tls", c.api_tls));
    if (!c.api_tls) log::warn("api.plain_http", JsonLine().add("note", "the API listens without TLS"));
  }

  manager.start();
  loop.every(1000, [&] { gw.refresh(); });
  if (c.conn_enabled)
    loop.every(c.conn_save_interval_s * 1000, [&] {
      if (auto st = ip_reputation.save(reputation_file, now_s()); !st)
        log::warn("reputation.save", JsonLine().add("error", st.message()));
    });
  loop.every(30000, [&] { gw.rescan_pending(); });
  loop.post([&] { gw.rescan_pending(); });  // what a previous run could not scan
  loop.post([&] { quarantine_store.expire(now_s()); });
  if (c.quarantine_digest_interval_s > 0) {
    // End-user digests on a schedule, each tenant's since its last run (as `quarantine digest`).
    loop.every(c.quarantine_digest_interval_s * 1000, [&] {
      quarantine::SpoolReleaser rel(spool, &manager, nullptr, &tracker, c.scan_timeout_ms);
      auto r = quarantine_control(**store, quarantine_store, rel,
                                  {"quarantine", "digest", c.quarantine_digest_base_url, "-", c.hostname});
      if (!r) log::warn("quarantine.digest_failed", JsonLine().add("error", r.error()));
    });
  }
  loop.every(3600 * 1000, [&] {
    store->get()->prune_events(now_us() - int64_t(c.tracking_retention_days) * 86400 * 1000000);
    (void)store->get()->tenancy().prune_summaries(now_us(), c.tracking_retention_days);
    quarantine_store.expire(now_s());
    if (auto st = spool.compact(3600); !st) log::warn("spool.compact_failed", JsonLine().add("error", st.message()));
  });

  // SIGTERM/SIGINT: stop accepting, let sessions and deliveries finish within the grace period.
  std::atomic<bool> stopping{false};
  auto deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void()> wait_drain = [&] {
    bool drained = server.active_sessions() == 0 && manager.idle();
    if (drained || std::chrono::steady_clock::now() >= *deadline) {
      if (!drained)
        log::warn("server.grace_expired", JsonLine().add("sessions", server.active_sessions()));
      server.close_all();
      client.close_idle();
      if (resolver) resolver->shutdown();
      loop.after(200, [&] { loop.stop(); });
      return;
    }
    loop.after(100, wait_drain);
  };
  auto begin_shutdown = [&] {
    if (stopping.exchange(true)) return;
    log::info("server.stopping", JsonLine().add("grace_s", c.shutdown_grace_s));
    *deadline = std::chrono::steady_clock::now() + std::chrono::seconds(c.shutdown_grace_s);
    server.stop_accepting();
    if (rest_server) rest_server->stop();
    manager.stop();
    wait_drain();
  };
  loop.on_signal(SIGTERM, begin_shutdown);
  loop.on_signal(SIGINT, begin_shutdown);
  loop.on_signal(SIGHUP, [&] {
    log::reopen();
    auto fresh = config::load(c.source.empty() ? "config/mailmoat.toml" : c.source);
    if (!fresh) {
      log::error("server.reload_failed", JsonLine().add("error", fresh.error()));
      return;
    }
    if (auto st = server.reload_tls(); !st) log::error("server.reload_tls_failed", JsonLine().add("error", st.message()));
    if (scan_pool) {
      if (auto st = load_scanner(); !st) log::error("scan.reload_failed", JsonLine().add("error", st.message()));
    }
    gw.refresh(true);
    log::info("server.reloaded", JsonLine().add("note", "listeners and limits change at restart"));
  });
  std::signal(SIGPIPE, SIG_IGN);

  std::string where;
  for (auto port : server.bound_ports()) where += " " + std::to_string(port);
  log::info("server.started", JsonLine()
                                  .add("version", MAILMOAT_VERSION)
                                  .add("hostname", c.hostname)
                                  .add("queued", spool.size())
                                  .add("pid", static_cast<int64_t>(getpid())));
  std::printf("mailmoat %s ready: SMTP on ports%s, %zu message(s) in the queue\n", MAILMOAT_VERSION,
              where.c_str(), spool.size());
  std::fflush(stdout);

  loop.run(c.io_threads);

  gw.set_scanner(nullptr, nullptr);
  scan_pool.reset();  // finishes scans in flight while everything they use still exists
  if (c.conn_enabled)
    if (auto st = ip_reputation.save(reputation_file, now_s()); !st)
      log::warn("reputation.save", JsonLine().add("error", st.message()));
  control.stop();
  spool.flush();
  tracker.flush();
  std::filesystem::remove(c.pid_file, ec);
  log::info("server.stopped", JsonLine().add("queued", spool.size()));
  log::flush();
  return 0;
}

}  // namespace mm::cli
