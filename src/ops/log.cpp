#include "ops/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "util/clock.h"

namespace mm::log {
namespace {

std::mutex g_mu;
std::shared_ptr<spdlog::logger> g_json;   // JSON lines to the file
std::shared_ptr<spdlog::logger> g_human;  // short lines to stderr
std::string g_file;
std::atomic<int> g_level{static_cast<int>(Level::Info)};

const char* name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

std::shared_ptr<spdlog::logger> open_file(const std::string& file) {
  if (file.empty() || file == "-") return nullptr;
  std::error_code ec;
  auto parent = std::filesystem::path(file).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false);
  auto lg = std::make_shared<spdlog::logger>("json", sink);
  lg->set_pattern("%v");
  lg->flush_on(spdlog::level::warn);  // warnings and errors reach the disk at once
  spdlog::drop("json");
  spdlog::register_logger(lg);  // so that flush_every() reaches it
  return lg;
}

}  // namespace

void init(const std::string& file, const std::string& level, const std::string& stderr_level) {
  std::lock_guard lk(g_mu);
  g_level = level == "debug" ? 0 : level == "warn" ? 2 : level == "error" ? 3 : 1;
  g_file = file;
  spdlog::flush_every(std::chrono::seconds(1));  // the rest within a second
  try {
    g_json = open_file(file);
  } catch (const spdlog::spdlog_ex& e) {
    std::fprintf(stderr, "mailmoat: cannot open log file %s: %s\n", file.c_str(), e.what());
    g_json = nullptr;
  }
  if (stderr_level != "off") {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_human = std::make_shared<spdlog::logger>("human", sink);
    g_human->set_pattern("%H:%M:%S %^%l%$ %v");
    g_human->set_level(stderr_level == "debug" ? spdlog::level::debug
                       : stderr_level == "warn" ? spdlog::level::warn
                       : stderr_level == "error" ? spdlog::level::err
                                                 : spdlog::level::info);
  } else {
    g_human = nullptr;
  }
}

void reopen() {
  std::lock_guard lk(g_mu);
  try {
    g_json = open_file(g_file);
  } catch (const spdlog::spdlog_ex&) {
  }
}

void flush() {
  std::lock_guard lk(g_mu);
  if (g_json) g_json->flush();
}

bool enabled(Level l) { return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed); }

void write(Level l, const char* event, const JsonLine& fields) {
  if (!enabled(l)) return;
  std::string f = fields.str();  // "{...}"
  std::string line;
  line.reserve(f.size() + 96);
  line += "{\"ts\":\"";
  line += iso8601_us(now_us());
  line += "\",\"level\":\"";
  line += name(l);
  line += "\",\"event\":";
  json_escape(event, line);
  if (f.size() > 2) {
    line += ',';
    line.append(f, 1, f.size() - 1);
  } else {
    line += '}';
  }
  std::shared_ptr<spdlog::logger> json, human;
  {
    std::lock_guard lk(g_mu);
    json = g_json;
    human = g_human;
  }
  if (json) json->info(line);
  if (human) {
    auto lvl = l == Level::Error ? spdlog::level::err
               : l == Level::Warn ? spdlog::level::warn
               : l == Level::Debug ? spdlog::level::debug
                                   : spdlog::level::info;
    human->log(lvl, "{} {}", event, f.size() > 2 ? f : std::string());
  } else if (!json) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace mm::log
