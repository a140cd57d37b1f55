// Structured logging: every event is one JSON line in the log file (for machines) and a short
// human line on stderr. Thread-safe. Call init() once at startup; before it, events go to stderr.
#pragma once
#include <string>

#include "util/json_line.h"

namespace mm::log {

enum class Level { Debug, Info, Warn, Error };

// file: path of the JSON-lines log ("-" or "" = none); level: "debug" | "info" | "warn" | "error"
// for the file; stderr_level: the same for the short human lines on stderr, or "off".
void init(const std::string& file, const std::string& level, const std::string& stderr_level = "info");
// Reopen the log file (after rotation by logrotate; called on SIGHUP).
void reopen();
// Writes buffered lines to the file (lines reach it within a second anyway; warnings at once).
void flush();
// Writes one event: {"ts":..., "level":..., "event":<event>, ...fields}.
void write(Level, const char* event, const JsonLine& fields);
inline void info(const char* event, const JsonLine& f = {}) { write(Level::Info, event, f); }
inline void warn(const char* event, const JsonLine& f = {}) { write(Level::Warn, event, f); }
inline void error(const char* event, const JsonLine& f = {}) { write(Level::Error, event, f); }
inline void debug(const char* event, const JsonLine& f = {}) { write(Level::Debug, event, f); }
bool enabled(Level);

}  // namespace mm::log
