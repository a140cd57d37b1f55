// Helpers for tests that edit a serialized model blob by hand (model.cpp's format): the length of
// a varint field and the FNV-1a checksum the blob ends with.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mm::classifier::test {

inline uint64_t blob_checksum(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

inline size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, ++n;
  return n;
}

}  // namespace mm::classifier::test
