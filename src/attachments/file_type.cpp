#include "attachments/file_type.h"

#include <magic.h>

#include <algorithm>
#include <array>
#include <memory>

namespace mm::attachments {
namespace {

struct Magic {
  magic_t mime = nullptr, desc = nullptr;
  Magic() {
    mime = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    desc = magic_open(MAGIC_ERROR);
    if (mime) magic_load(mime, nullptr);
    if (desc) magic_load(desc, nullptr);
  }
  ~Magic() {
    if (mime) magic_close(mime);
    if (desc) magic_close(desc);
  }
  Magic(const Magic&) = delete;
  Magic& operator=(const Magic&) = delete;
};

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool has(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

template <size_t N>
bool in(std::string_view s, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

}  // namespace

const char* to_string(Kind k) {
  switch (k) {
    case Kind::Executable: return "executable";
    case Kind::Script: return "script";
    case Kind::Shortcut: return "shortcut";
    case Kind::DiskImage: return "disk image";
    case Kind::Archive: return "archive";
    case Kind::Document: return "document";
    case Kind::Image: return "image";
    case Kind::Media: return "media";
    case Kind::Text: return "text";
    case Kind::Other: return "other";
  }
  return "other";
}

Kind kind_of_mime(std::string_view m, std::string_view d) {
  static constexpr std::array<std::string_view, 14> kExec{
      "application/x-dosexec", "application/x-msdownload", "application/vnd.microsoft.portable-executable",
      "application/x-executable", "application/x-sharedlib", "application/x-pie-executable",
      "application/x-mach-binary", "application/x-msi", "application/x-ms-installer", "application/java-archive",
      "application/x-java-applet", "application/vnd.android.package-archive", "application/x-elf",
      "application/x-ms-application"};
  static constexpr std::array<std::string_view, 19> kArchive{
      "application/zip", "application/x-zip-compressed", "application/x-7z-compressed", "application/x-tar",
      "application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz", "application/x-rar",
      "application/vnd.rar", "application/x-rar-compressed", "application/x-cpio", "application/vnd.ms-cab-compressed",
      "application/x-lzh-compressed", "application/x-arj", "application/zstd", "application/x-lzma",
      "application/x-lzip", "application/x-compress"};
  if (in(m, kExec) || (has(d, "executable") && !has(d, "script"))) return Kind::Executable;
  if (m == "application/x-ms-shortcut" || has(d, "MS Windows shortcut")) return Kind::Shortcut;
  if (m == "application/x-iso9660-image" || has(d, "ISO 9660") || has(d, "UDF filesystem") ||
      has(d, "Microsoft Disk Image") || has(d, "DOS/MBR boot sector") || m == "application/x-raw-disk-image")
    return Kind::DiskImage;
  if (m == "text/x-shellscript" || m == "text/x-msdos-batch" || starts(m, "text/x-script") || m == "text/x-perl" ||
      m == "text/x-python" || m == "text/x-php" || m == "application/x-shellscript" || m == "application/javascript" ||
      m == "text/javascript" || m == "application/x-javascript" || m == "text/vbscript" || m == "application/hta" ||
      m == "application/x-powershell")
    return Kind::Script;
  if (in(m, kArchive)) return Kind::Archive;
  if (m == "application/pdf" || m == "application/msword" || starts(m, "application/vnd.ms-") ||
      starts(m, "application/vnd.openxmlformats") || starts(m, "application/vnd.oasis.opendocument") ||
      m == "application/rtf" || m == "text/rtf" || m == "application/x-ole-storage" || m == "application/CDFV2" ||
      m == "application/epub+zip" || m == "application/vnd.visio")
    return Kind::Document;
  if (starts(m, "image/")) return Kind::Image;
  if (starts(m, "audio/") || starts(m, "video/")) return Kind::Media;
  if (starts(m, "text/") || m == "application/json" || m == "application/xml" || m == "message/rfc822")
    return Kind::Text;
  return Kind::Other;
}

Kind kind_of_extension(std::string_view e) {
  static constexpr std::array<std::string_view, 21> kExec{
      "exe", "scr", "com", "pif", "cpl", "dll", "sys", "msi", "msp", "msc", "jar", "apk", "app", "elf",
      "appx", "msix", "appxbundle", "application", "gadget", "ocx", "drv"};
  static constexpr std::array<std::string_view, 20> kScript{
      "js", "jse", "vbs", "vbe", "wsf", "wsh", "wsc", "hta", "ps1", "psm1", "psd1", "bat", "cmd", "sh", "py",
      "pl", "reg", "scf", "inf", "sct"};
  static constexpr std::array<std::string_view, 18> kArchive{
      "zip", "7z", "rar", "tar", "gz", "tgz", "bz2", "tbz", "xz", "txz", "cab", "arj", "lzh", "lha", "zst",
      "ace", "cpio", "z"};
  static constexpr std::array<std::string_view, 31> kDoc{
      "pdf", "doc", "docx", "docm", "dot", "dotx", "dotm", "xls", "xlsx", "xlsm", "xlsb", "xlt", "xltm", "xlam",
      "ppt", "pptx", "pptm", "pps", "ppsx", "ppsm", "potm", "ppam", "odt", "ods", "odp", "rtf", "epub", "vsd",
      "vsdx", "pub", "one"};
  static constexpr std::array<std::string_view, 12> kImage{"jpg", "jpeg", "png", "gif", "bmp", "tif",
                                                            "tiff", "webp", "heic", "ico", "svg", "avif"};
  static constexpr std::array<std::string_view, 10> kMedia{"mp3", "mp4", "wav", "m4a", "mov",
                                                            "avi", "ogg", "webm", "mkv", "flac"};
  static constexpr std::array<std::string_view, 12> kText{"txt", "csv", "log", "xml", "json", "html",
                                                           "htm", "ics", "vcf", "md", "eml", "tsv"};
  if (in(e, kExec)) return Kind::Executable;
  if (in(e, kScript)) return Kind::Script;
  if (e == "lnk" || e == "url") return Kind::Shortcut;
  if (e == "iso" || e == "img" || e == "vhd" || e == "vhdx" || e == "udf" || e == "dmg") return Kind::DiskImage;
  if (in(e, kArchive)) return Kind::Archive;
  if (in(e, kDoc)) return Kind::Document;
  if (in(e, kImage)) return Kind::Image;
  if (in(e, kMedia)) return Kind::Media;
  if (in(e, kText)) return Kind::Text;
  return Kind::Other;
}

std::string extension(std::string_view name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  // Trailing spaces and dots are dropped by Windows ("x.exe. " runs as x.exe).
  while (!name.empty() && (name.back() == ' ' || name.back() == '.')) name.remove_suffix(1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size()) return "";
  std::string e(name.substr(dot + 1));
  while (!e.empty() && e.back() == ' ') e.pop_back();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

FileType identify(std::string_view data, size_t max_bytes) {
  thread_local std::unique_ptr<Magic> magic;
  if (!magic) magic = std::make_unique<Magic>();
  FileType t;
  size_t n = std::min(data.size(), max_bytes);
  if (n == 0) {
    t.mime = "application/x-empty";
    t.description = "empty";
    return t;
  }
  // 16 KiB first (libmagic's regex tests cost time per byte of text); formats whose signature
  // sits further in (ISO 9660 at 32 KiB) are looked for in the full head when that found nothing.
  size_t head = std::min<size_t>(n, 16 << 10);
  const char* m = magic->mime ? magic_buffer(magic->mime, data.data(), head) : nullptr;
  if (m && head < n && std::string_view(m) == "application/octet-stream") {
    head = n;
    m = magic_buffer(magic->mime, data.data(), head);
  }
  n = head;
  t.mime = m ? m : "application/octet-stream";
  // Plain text needs no description (and libmagic's regex tests over text are its slowest part).
  bool plain = t.mime == "text/plain" || t.mime == "text/csv" || t.mime == "text/xml" || t.mime == "text/html";
  const char* d = plain || !magic->desc ? nullptr : magic_buffer(magic->desc, data.data(), n);
  t.description = d ? d : plain ? t.mime.substr(5) + " text" : "data";
  if (t.description.size() > 100) t.description = t.description.substr(0, 100);
  t.kind = kind_of_mime(t.mime, t.description);
  t.weak = t.description.find("DOS executable (COM)") != std::string::npos;
  return t;
}

}  // namespace mm::attachments
