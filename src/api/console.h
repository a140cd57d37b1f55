// Serves the built web console (the Vite single-page application of web/, built into web/dist)
// from a directory ([api] console_dir): any GET outside /api/ is a file of that directory, or its
// index.html for paths without a file extension (the SPA's own routes). Paths are confined to the
// directory: ".." segments are refused and a file whose real path (symlinks resolved) leaves the
// directory is not served. Hashed files under /assets/ are cached as immutable, index.html never;
// console responses carry the console's strict CSP (no inline script or style, no external URLs).
#pragma once
#include <string>

#include "api/http.h"

namespace mm::api {

// The Content-Security-Policy of console responses.
extern const char* const kConsoleCsp;

// "text/html; charset=utf-8" for "x.html", ...; application/octet-stream when unknown.
std::string content_type_for(const std::string& path);

// True for paths the API answers ("/api" and everything under "/api/").
bool is_api_path(const std::string& path);

class ConsoleFiles {
 public:
  // dir "" = no console (serve() is then never called by the Api).
  explicit ConsoleFiles(std::string dir);
  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // Answers a request for a non-API path (decoded, without the query), headers included.
  Response serve(const Request&) const;

 private:
  std::string dir_;
};

}  // namespace mm::api
