// The true type of a file from its content (libmagic), never from its name or declared type, and
// the coarse kind that attachment policy reasons about. libmagic handles are not thread-safe:
// each thread gets its own (loaded once per thread).
#pragma once
#include <string>
#include <string_view>

namespace mm::attachments {

enum class Kind { Executable, Script, Shortcut, DiskImage, Archive, Document, Image, Media, Text, Other };
const char* to_string(Kind);

struct FileType {
  std::string mime;         // "application/pdf", "application/vnd.microsoft.portable-executable"
  std::string description;  // "PE32 executable (GUI) Intel 80386, for MS Windows" (cut at 100 chars)
  Kind kind = Kind::Other;
  // A signature that ~1% of random binary data matches ("DOS executable (COM)": one opcode byte):
  // believe it only when the name says program too.
  bool weak = false;
};

// Types the first `max_bytes` of data (libmagic looks at the head of a file; its regex tests on
// text are slow over long buffers, and 64 KiB covers every signature that matters here, ISO 9660 at
// 32 KiB included).
FileType identify(std::string_view data, size_t max_bytes = 64 << 10);
// The kind a MIME type stands for (also used for declared Content-Types).
Kind kind_of_mime(std::string_view mime, std::string_view description = {});
// The kind a file name extension claims ("pdf" -> Document); Other when unknown.
Kind kind_of_extension(std::string_view ext);
// Lower-case last extension without the dot ("" if none): "Invoice.PDF.exe" -> "exe".
std::string extension(std::string_view name);

}  // namespace mm::attachments
