// CRC-32C (Castagnoli), used to frame spool journal records.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mm::queue {

// Extends `crc` (0 for a fresh checksum) over [data, data+n) and returns the new CRC-32C.
// crc32c(crc32c(0, a), b) == crc32c(0, a+b). Uses SSE4.2 when the CPU has it.
uint32_t crc32c(uint32_t crc, const void* data, size_t n);

}  // namespace mm::queue
