#include "attachments/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <strings.h>

#include <algorithm>
#include <memory>
#include <set>

namespace mm::attachments {
namespace {

struct Reader {
  archive* a = archive_read_new();
  ~Reader() { archive_read_free(a); }
  Reader() = default;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
};

bool mentions_encryption(const char* msg) {
  if (!msg) return false;
  std::string m = msg;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  return m.find("encrypt") != std::string::npos || m.find("passphrase") != std::string::npos ||
         m.find("password") != std::string::npos;
}

bool is_compressed_stream(const FileType& t) {
  return t.mime == "application/gzip" || t.mime == "application/x-gzip" || t.mime == "application/x-bzip2" ||
         t.mime == "application/x-xz" || t.mime == "application/zstd" || t.mime == "application/x-lzma" ||
         t.mime == "application/x-lzip" || t.mime == "application/x-compress";
}

std::string strip_compression_ext(std::string_view name) {
  std::string n(name);
  for (const char* ext : {".gz", ".bz2", ".xz", ".zst", ".lzma", ".lz", ".Z"}) {
    size_t len = std::char_traits<char>::length(ext);
    if (n.size() > len && strcasecmp(n.c_str() + n.size() - len, ext) == 0) return n.substr(0, n.size() - len);
  }
  if (n.size() > 4 && strcasecmp(n.c_str() + n.size() - 4, ".tgz") == 0) return n.substr(0, n.size() - 4) + ".tar";
  return n.empty() ? "(decompressed)" : n + " (decompressed)";
}

class Walker {
 public:
  Walker(const ArchiveLimits& lim, Listing& out) : lim_(lim), out_(out) {}

  void walk(std::string_view data, int depth, const std::string& prefix, std::string_view name) {
    FileType outer = type_of(data);
    bool raw = is_compressed_stream(outer);
    Reader r;
    archive_read_support_filter_all(r.a);
    archive_read_support_format_all(r.a);
    if (archive_read_open_memory(r.a, data.data(), data.size()) != ARCHIVE_OK) {
      // A single compressed file is no archive format: read it as one raw entry.
      if (!raw) return note_error(prefix, archive_error_string(r.a));
      Reader rr;
      archive_read_support_filter_all(rr.a);
      archive_read_support_format_raw(rr.a);
      if (archive_read_open_memory(rr.a, data.data(), data.size()) != ARCHIVE_OK)
        return note_error(prefix, archive_error_string(rr.a));
      entries(rr.a, depth, prefix, strip_compression_ext(name));
      return;
    }
    entries(r.a, depth, prefix, "");
  }

 private:
  void note_error(const std::string& prefix, const char* msg) {
    if (mentions_encryption(msg)) {
      out_.encrypted = true;
      return;
    }
    if (out_.error.empty()) out_.error = (prefix.empty() ? "" : prefix) + (msg ? msg : "unreadable archive");
  }

  void entries(archive* a, int depth, const std::string& prefix, const std::string& raw_name) {
    for (size_t guard = 0; guard <= lim_.max_files + 1; ++guard) {
      archive_entry* e = nullptr;
      int rc = archive_read_next_header(a, &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) {
        note_error(prefix, archive_error_string(a));
        break;
      }
      if (archive_entry_filetype(e) == AE_IFDIR) continue;
      if (++files_ > lim_.max_files) {
        set_limit("more than " + std::to_string(lim_.max_files) + " files in archives");
        return;
      }
      Entry en;
      const char* p = archive_entry_pathname_utf8(e);
      if (!p) p = archive_entry_pathname(e);
      en.name = raw_name.empty() ? (p ? p : "(unnamed)") : raw_name;
      en.path = prefix + en.name;
      en.depth = depth;
      en.size = archive_entry_size_is_set(e) ? static_cast<uint64_t>(std::max<la_int64_t>(0, archive_entry_size(e))) : 0;
      if (archive_entry_is_encrypted(e)) {
        en.encrypted = true;
        out_.encrypted = true;
        out_.entries.push_back(std::move(en));
        continue;
      }
      std::string body;
      bool cut = false;
      char buf[65536];
      for (;;) {
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
          if (mentions_encryption(archive_error_string(a))) {
            en.encrypted = true;
            out_.encrypted = true;
          } else {
            note_error(prefix + en.name + ": ", archive_error_string(a));
          }
          break;
        }
        uint64_t room = std::min<uint64_t>(lim_.max_entry_bytes - std::min<uint64_t>(lim_.max_entry_bytes, body.size()),
                                           lim_.max_total_bytes - std::min(lim_.max_total_bytes, total_));
        size_t take = static_cast<size_t>(std::min<uint64_t>(room, static_cast<uint64_t>(n)));
        body.append(buf, take);
        total_ += take;
        if (take < static_cast<size_t>(n)) {
          cut = true;
          break;
        }
      }
      if (!en.encrypted) {
        en.size = std::max<uint64_t>(en.size, body.size());
        en.type = type_of(body, en.name);
        if (en.type.kind == Kind::Document) en.macros = has_macros(body, en.type);
      }
      bool nested = !en.encrypted && en.type.kind == Kind::Archive;
      std::string path = en.path;
      out_.entries.push_back(std::move(en));
      if (cut) {
        set_limit(path + ": expands beyond " + std::to_string(lim_.max_entry_bytes) + " bytes per file / " +
                  std::to_string(lim_.max_total_bytes) + " in total");
        return;
      }
      if (nested) {
        if (depth + 1 > lim_.max_depth) {
          set_limit(path + ": archives nested deeper than " + std::to_string(lim_.max_depth) + " levels");
          continue;
        }
        std::string inner_name = out_.entries.back().name;  // entries may grow (and move) below
        walk(body, depth + 1, path + " -> ", inner_name);
        if (!out_.limit.empty() && files_ > lim_.max_files) return;
      }
    }
    if (archive_read_has_encrypted_entries(a) > 0) out_.encrypted = true;
  }

  void set_limit(const std::string& what) {
    if (out_.limit.empty()) out_.limit = what;
  }

  const ArchiveLimits& lim_;
  Listing& out_;
  size_t files_ = 0;
  uint64_t total_ = 0;
};

bool contains_utf16le(std::string_view hay, std::string_view ascii) {
  std::string needle;
  for (char c : ascii) {
    needle.push_back(c);
    needle.push_back('\0');
  }
  return hay.find(needle) != std::string_view::npos;
}

}  // namespace

namespace {

// Calls visit(name) for the first `max` member names of a zip until it returns true (then true).
template <class F>
bool each_zip_member(std::string_view data, int max, F&& visit) {
  Reader r;
  archive_read_support_format_zip(r.a);
  if (archive_read_open_memory(r.a, data.data(), data.size()) != ARCHIVE_OK) return false;
  archive_entry* e = nullptr;
  for (int i = 0; i < max && archive_read_next_header(r.a, &e) == ARCHIVE_OK; ++i) {
    const char* p = archive_entry_pathname(e);
    if (visit(std::string_view(p ? p : ""))) return true;
  }
  return false;
}

bool printable_text(std::string_view d) {
  d = d.substr(0, 4096);
  if (d.substr(0, 2) == "#!") return false;
  for (unsigned char c : d)
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f) return false;
  return true;
}

}  // namespace

FileType type_of(std::string_view data, std::string_view name) {
  static const std::set<std::string> kPlain{"txt", "csv", "tsv", "log", "md", "json", "ini", "cfg"};
  if (!data.empty() && kPlain.count(extension(name)) && printable_text(data)) {
    FileType plain;
    plain.mime = "text/plain";
    plain.description = "plain text";
    plain.kind = Kind::Text;
    return plain;
  }
  FileType t = identify(data);
  if (t.mime != "application/zip" || data.substr(0, 2) != "PK") return t;
  // A zip may be a document or a program in disguise: its member names tell.
  each_zip_member(data, 200, [&](std::string_view n) {
    if (n == "[Content_Types].xml") {
      t = {"application/vnd.openxmlformats-officedocument", "Microsoft OOXML document", Kind::Document};
    } else if (n == "mimetype") {
      t = {"application/vnd.oasis.opendocument", "OpenDocument", Kind::Document};
    } else if (n == "META-INF/MANIFEST.MF") {
      t = {"application/java-archive", "Java archive", Kind::Executable};
    } else if (n == "AndroidManifest.xml") {
      t = {"application/vnd.android.package-archive", "Android package", Kind::Executable};
    } else {
      return false;
    }
    return true;
  });
  return t;
}

Listing list_archive(std::string_view data, const ArchiveLimits& lim, std::string_view name) {
  Listing out;
  try {
    Walker w(lim, out);
    w.walk(data, 1, "", name);
  } catch (const std::exception& e) {  // bad_alloc on absurd sizes: report, never crash
    out.error = e.what();
  }
  return out;
}

bool has_macros(std::string_view data, const FileType& t) {
  const std::string& m = t.mime;
  bool ole = m == "application/msword" || m == "application/vnd.ms-excel" || m == "application/vnd.ms-powerpoint" ||
             m == "application/x-ole-storage" || m == "application/CDFV2" || m == "application/vnd.ms-office" ||
             m == "application/vnd.visio" || data.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  if (ole) return contains_utf16le(data, "_VBA_PROJECT");
  if (data.substr(0, 2) != "PK") return false;
  if (m.find("macroEnabled") != std::string::npos) return true;
  return each_zip_member(data, 10000, [](std::string_view name) {
    return name.size() >= 14 && strcasecmp(std::string(name.substr(name.size() - 14)).c_str(), "vbaProject.bin") == 0;
  });
}

}  // namespace mm::attachments
