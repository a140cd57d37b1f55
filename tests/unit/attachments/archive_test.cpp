#include "attachments/archive.h"

#include <gtest/gtest.h>

#include "helpers.h"

using namespace mm::attachments;
using mm::test::read_file;
using mm::test::TempDir;
using mm::test::write_file;

namespace {

const Entry* find(const Listing& l, const std::string& path) {
  for (auto& e : l.entries)
    if (e.path == path) return &e;
  return nullptr;
}

}  // namespace

TEST(Archive, ListsZip7zTarAndGzipWithRealTypes) {
  TempDir t;
  write_file(t / "notes.txt", "meeting notes\n");
  write_file(t / "payload.exe", mm::test::sample("clam.exe"));
  ASSERT_TRUE(t.sh("zip -q a.zip notes.txt payload.exe && 7z a -bd a.7z notes.txt payload.exe && "
                   "tar czf a.tgz notes.txt payload.exe && cp payload.exe p.exe && gzip p.exe"));
  for (const char* name : {"a.zip", "a.7z", "a.tgz"}) {
    auto l = list_archive(read_file(t / name), {}, name);
    EXPECT_TRUE(l.error.empty()) << name << ": " << l.error;
    auto* exe = find(l, "payload.exe");
    ASSERT_NE(exe, nullptr) << name;
    EXPECT_EQ(exe->type.kind, Kind::Executable) << name;
    EXPECT_EQ(exe->size, 544u);
    ASSERT_NE(find(l, "notes.txt"), nullptr) << name;
    EXPECT_EQ(find(l, "notes.txt")->type.kind, Kind::Text);
    EXPECT_FALSE(l.encrypted);
  }
  // A single gzip-compressed file is one entry named after the attachment.
  auto gz = list_archive(read_file(t / "p.exe.gz"), {}, "p.exe.gz");
  ASSERT_EQ(gz.entries.size(), 1u) << gz.error;
  EXPECT_EQ(gz.entries[0].name, "p.exe");
  EXPECT_EQ(gz.entries[0].type.kind, Kind::Executable);
}

TEST(Archive, NestedArchivesAndDepthLimit) {
  TempDir t;
  write_file(t / "payload.exe", mm::test::sample("clam.exe"));
  ASSERT_TRUE(t.sh("zip -q inner.zip payload.exe && tar cf mid.tar inner.zip && gzip -c mid.tar > mid.tar.gz && "
                   "zip -q outer.zip mid.tar.gz"));
  auto l = list_archive(read_file(t / "outer.zip"), {}, "outer.zip");
  // tar.gz is one level (libarchive decompresses and reads the tar in one go).
  auto* exe = find(l, "mid.tar.gz -> inner.zip -> payload.exe");
  ASSERT_NE(exe, nullptr) << [&] {
    std::string s;
    for (auto& e : l.entries) s += e.path + "\n";
    return s + l.error + l.limit;
  }();
  EXPECT_EQ(exe->depth, 3);
  EXPECT_EQ(exe->type.kind, Kind::Executable);
  EXPECT_TRUE(l.limit.empty());
  ArchiveLimits shallow;
  shallow.max_depth = 2;
  auto cut = list_archive(read_file(t / "outer.zip"), shallow, "outer.zip");
  EXPECT_NE(cut.limit.find("nested deeper than 2"), std::string::npos) << cut.limit;
  EXPECT_EQ(find(cut, "mid.tar.gz -> inner.zip -> payload.exe"), nullptr);
}

TEST(Archive, FileCountAndSizeLimits) {
  TempDir t;
  ASSERT_TRUE(t.sh("mkdir m && for i in $(seq 1 30); do echo $i > m/f$i.txt; done && zip -q -r many.zip m && "
                   "head -c 3000000 /dev/zero > zeros.bin && zip -q bomb.zip zeros.bin"));
  ArchiveLimits lim;
  lim.max_files = 10;
  auto many = list_archive(read_file(t / "many.zip"), lim);
  EXPECT_NE(many.limit.find("more than 10 files"), std::string::npos) << many.limit;
  EXPECT_LE(many.entries.size(), 10u);
  ArchiveLimits small;
  small.max_total_bytes = 1 << 20;
  auto bomb = list_archive(read_file(t / "bomb.zip"), small);
  EXPECT_NE(bomb.limit.find("expands beyond"), std::string::npos) << bomb.limit;
  EXPECT_TRUE(list_archive(read_file(t / "bomb.zip")).limit.empty());
}

TEST(Archive, PasswordProtectedEntriesAreDetected) {
  TempDir t;
  write_file(t / "secret.txt", "the plan\n");
  ASSERT_TRUE(t.sh("zip -q -P s3cret enc.zip secret.txt && 7z a -bd -ps3cret enc.7z secret.txt && "
                   "7z a -bd -ps3cret -mhe=on hidden.7z secret.txt"));
  auto z = list_archive(read_file(t / "enc.zip"));
  EXPECT_TRUE(z.encrypted);
  ASSERT_NE(find(z, "secret.txt"), nullptr);  // zip names stay visible
  EXPECT_TRUE(find(z, "secret.txt")->encrypted);
  EXPECT_TRUE(list_archive(read_file(t / "enc.7z")).encrypted);
  auto h = list_archive(read_file(t / "hidden.7z"));  // even the names are encrypted
  EXPECT_TRUE(h.encrypted) << h.error;
}

TEST(Archive, CorruptInputIsReportedNotFatal) {
  TempDir t;
  ASSERT_TRUE(t.sh("head -c 20000 /dev/urandom > a.bin && zip -q a.zip a.bin"));
  std::string z = read_file(t / "a.zip");
  auto broken = list_archive(z.substr(0, z.size() / 2));
  EXPECT_FALSE(broken.error.empty());
  // Garbage of every length never crashes.
  std::string junk = "PK\x03\x04";
  for (int i = 0; i < 300; ++i) junk.push_back(static_cast<char>(i * 37));
  for (size_t n = 0; n < junk.size(); n += 7) list_archive(junk.substr(0, n));
}

TEST(Archive, MacrosInOfficeDocuments) {
  TempDir t;
  write_file(t / "d/[Content_Types].xml", "<Types/>");
  write_file(t / "d/word/document.xml", "<w:document/>");
  write_file(t / "d/word/vbaProject.bin", "VBA");
  ASSERT_TRUE(t.sh("cd d && zip -q -X ../m.docx '[Content_Types].xml' word/document.xml word/vbaProject.bin && "
                   "zip -q -X ../c.docx '[Content_Types].xml' word/document.xml"));
  std::string m = read_file(t / "m.docx"), c = read_file(t / "c.docx");
  EXPECT_TRUE(has_macros(m, type_of(m)));
  EXPECT_FALSE(has_macros(c, type_of(c)));
  // OLE: the directory holds a _VBA_PROJECT stream (UTF-16LE name).
  std::string ole("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  ole += std::string(504, '\0');
  std::string name;
  for (char ch : std::string("_VBA_PROJECT")) name += std::string{ch, '\0'};
  std::string with = ole + name + std::string(100, '\0');
  EXPECT_TRUE(has_macros(with, identify(with)));
  EXPECT_FALSE(has_macros(read_file("/usr/share/clamav-testfiles/clam.ole.doc"),
                          identify(read_file("/usr/share/clamav-testfiles/clam.ole.doc"))));
}
