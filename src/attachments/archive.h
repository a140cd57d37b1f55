// Archive listings (libarchive, from memory): zip, 7z, tar, gzip/bzip2/xz (also a single
// compressed file), rar, cab, cpio..., descending into archives inside archives, typing every
// entry by content, under limits on depth, entry count and expanded bytes. Password-protected
// entries are detected (their content cannot be read). Never throws, whatever the input.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attachments/file_type.h"

namespace mm::attachments {

struct ArchiveLimits {
  int max_depth = 4;                         // archive levels below the attachment
  size_t max_files = 1000;                   // entries in all levels together
  uint64_t max_total_bytes = 64ull << 20;    // expanded bytes read in all levels together
  uint64_t max_entry_bytes = 32ull << 20;    // one entry
};

struct Entry {
  std::string path;    // "inner.zip -> payload.exe" (names from the attachment down)
  std::string name;    // the entry's own name in its archive
  uint64_t size = 0;   // expanded bytes (as read, or as declared when it could not be read)
  int depth = 1;       // 1: directly in the attachment
  bool encrypted = false;
  bool macros = false;  // an Office document with a VBA project
  FileType type;
};

struct Listing {
  std::vector<Entry> entries;
  bool encrypted = false;  // some entry or the archive's headers are password-protected
  std::string limit;       // non-empty: a limit was hit (what and where)
  std::string error;       // non-empty: (part of) the archive could not be read
};

// identify() plus a look inside zips: OOXML/ODF documents and Java/Android packages are zips.
// With a name whose extension says plain text (txt, csv, log, ...) and a head that is printable
// text, libmagic is skipped (its per-call regex tests dominate the time for archives of text files).
FileType type_of(std::string_view data, std::string_view name = {});

Listing list_archive(std::string_view data, const ArchiveLimits& = {}, std::string_view name = {});

// True for an Office document with a VBA project: OLE with a _VBA_PROJECT stream, or an OOXML
// zip holding vbaProject.bin.
bool has_macros(std::string_view data, const FileType&);

}  // namespace mm::attachments
