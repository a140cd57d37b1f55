// A tiny builder for one-line JSON objects (structured logs, control replies) without a JSON library.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace mm {

// Appends s to out as a JSON string literal (quotes included); invalid UTF-8 bytes become U+FFFD.
void json_escape(std::string_view s, std::string& out);

class JsonLine {
 public:
  JsonLine() : s_("{") {}
  JsonLine& add(std::string_view key, std::string_view value);
  JsonLine& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  JsonLine& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  JsonLine& add(std::string_view key, int64_t value);
  JsonLine& add(std::string_view key, uint64_t value) { return add(key, static_cast<int64_t>(value)); }
  JsonLine& add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
  JsonLine& add(std::string_view key, unsigned value) { return add(key, static_cast<int64_t>(value)); }
  JsonLine& add(std::string_view key, bool value);
  JsonLine& add_raw(std::string_view key, std::string_view json);  // value already JSON
  std::string str() const { return s_ + "}"; }

 private:
  void key(std::string_view k);
  std::string s_;
};

}  // namespace mm
