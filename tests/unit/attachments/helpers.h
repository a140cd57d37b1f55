// Test files made on the fly: a temporary directory, shell tools (zip, 7z, tar, gzip), MIME.
#pragma once
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mm::test {

inline std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& p, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream f(p, std::ios::binary);
  f << data;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mm-att-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Runs a shell command in the directory; true on exit code 0.
  bool sh(const std::string& cmd) const {
    return std::system(("cd '" + path_ + "' && (" + cmd + ") >/dev/null 2>&1").c_str()) == 0;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string sample(const char* name) { return read_file(std::string(MM_SIGNATURE_SAMPLES) + "/" + name); }

inline std::string b64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0, col = 0;
  for (; i < in.size(); i += 3) {
    unsigned v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<uint8_t>(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? t[v & 63] : '=';
    if ((col += 4) >= 76) {
      out += "\r\n";
      col = 0;
    }
  }
  return out;
}

// A message with a text body and one base64 attachment.
inline std::string mime_with(const std::string& filename, const std::string& content,
                             const std::string& type = "application/octet-stream") {
  return "From: a@example.com\r\nTo: b@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
         "--BB\r\nContent-Type: " + type + "\r\nContent-Disposition: attachment; filename=\"" + filename +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(content) + "\r\n--BB--\r\n";
}

}  // namespace mm::test
