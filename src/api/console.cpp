#include "api/console.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace mm::api {

namespace fs = std::filesystem;

const char* const kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

namespace {

constexpr uintmax_t kMaxFile = 64u << 20;  // no console asset comes near this

std::string extension(const std::string& name) {
  auto slash = name.rfind('/');
  auto dot = name.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = name.substr(dot + 1);
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

void console_headers(Response& r, const std::string& cache) {
  r.headers.emplace("Content-Security-Policy", kConsoleCsp);
  r.headers.emplace("X-Content-Type-Options", "nosniff");
  r.headers.emplace("Referrer-Policy", "no-referrer");
  r.headers.emplace("X-Frame-Options", "DENY");
  r.headers.emplace("Cache-Control", cache);
  r.headers.emplace("Strict-Transport-Security", "max-age=31536000");
}

Response text(int status, const std::string& msg) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = msg + "\n";
  console_headers(r, "no-store");
  return r;
}

// Splits the request path into clean segments; false on "..", "." or bytes no file name here has.
bool segments(const std::string& path, std::string* rel) {
  rel->clear();
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string seg = path.substr(i, j - i);
    i = j + 1;
    if (seg.empty()) continue;
    if (seg == "." || seg == "..") return false;
    for (unsigned char c : seg)
      if (c < 0x20 || c == 0x7f || c == '\\') return false;
    if (!rel->empty()) *rel += '/';
    *rel += seg;
  }
  return true;
}

// The file's real path if it is a regular file inside root (symlinks resolved), else "".
std::string confined(const fs::path& root, const std::string& rel) {
  std::error_code ec;
  fs::path p = fs::canonical(root / rel, ec);
  if (ec) return "";
  auto r = root.native(), s = p.native();
  if (s.size() <= r.size() || s.compare(0, r.size(), r) != 0 || s[r.size()] != '/') return "";
  if (!fs::is_regular_file(p, ec) || ec) return "";
  return s;
}

bool read_file(const std::string& path, std::string* out) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || size > kMaxFile) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  *out = std::move(ss).str();
  return true;
}

}  // namespace

std::string content_type_for(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"html", "text/html; charset=utf-8"},       {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},   {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},         {"json", "application/json"},
      {"map", "application/json"},                {"webmanifest", "application/manifest+json"},
      {"svg", "image/svg+xml"},                   {"png", "image/png"},
      {"jpg", "image/jpeg"},                      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},                       {"webp", "image/webp"},
      {"ico", "image/x-icon"},                    {"avif", "image/avif"},
      {"woff", "font/woff"},                      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},                        {"otf", "font/otf"},
      {"txt", "text/plain; charset=utf-8"},       {"wasm", "application/wasm"},
  };
  auto e = extension(path);
  for (auto& [ext, type] : kTypes)
    if (e == ext) return type;
  return "application/octet-stream";
}

bool is_api_path(const std::string& path) { return path == "/api" || path.rfind("/api/", 0) == 0; }

ConsoleFiles::ConsoleFiles(std::string dir) : dir_(std::move(dir)) {}

Response ConsoleFiles::serve(const Request& req) const {
  if (req.method != "GET") {
    auto r = text(405, "the console is read with GET");
    r.headers.emplace("Allow", "GET");
    return r;
  }
  std::error_code ec;
  fs::path root = fs::canonical(dir_, ec);
  if (ec || !fs::is_directory(root, ec))
    return text(404, "the web console is not installed: its directory ([api] console_dir) does not exist; build it "
                     "with `npm ci && npm run build` in web/");
  std::string rel;
  if (!segments(req.path, &rel)) return text(400, "bad path");
  std::string file = rel.empty() ? "" : confined(root, rel);
  bool index = false;
  if (file.empty()) {
    // SPA routes (no extension) get the application; a missing asset is a 404.
    if (!rel.empty() && !extension(rel).empty()) return text(404, "not found: " + req.path);
    file = confined(root, "index.html");
    index = true;
    if (file.empty()) return text(404, "the web console is not installed: [api] console_dir has no index.html");
  }
  Response r;
  if (!read_file(file, &r.body)) return text(404, "not found: " + req.path);
  r.content_type = content_type_for(file);
  bool html = index || extension(file) == "html";
  std::string cache = html ? "no-store"
                      : rel.rfind("assets/", 0) == 0 ? "public, max-age=31536000, immutable"
                                                      : "no-cache";
  console_headers(r, cache);
  return r;
}

}  // namespace mm::api
