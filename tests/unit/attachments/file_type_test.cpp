#include "attachments/file_type.h"

#include <gtest/gtest.h>

#include "attachments/archive.h"
#include "helpers.h"

using namespace mm::attachments;
using mm::test::TempDir;

TEST(FileType, ByContentNotByName) {
  auto pe = identify(mm::test::sample("clam.exe"));
  EXPECT_EQ(pe.kind, Kind::Executable) << pe.mime << " " << pe.description;
  EXPECT_NE(pe.description.find("PE32"), std::string::npos) << pe.description;
  auto elf = identify(mm::test::read_file("/bin/true"));
  EXPECT_EQ(elf.kind, Kind::Executable) << elf.mime;
  auto pdf = identify("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
  EXPECT_EQ(pdf.mime, "application/pdf");
  EXPECT_EQ(pdf.kind, Kind::Document);
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde", 33);
  EXPECT_EQ(identify(png).kind, Kind::Image);
  EXPECT_EQ(identify("#!/bin/sh\nrm -rf /tmp/x\necho done\n").kind, Kind::Script);
  EXPECT_EQ(identify("Dear team,\nthe minutes are below.\n").kind, Kind::Text);
  EXPECT_EQ(identify("").mime, "application/x-empty");
  // A Windows shortcut (MS-SHLLINK header) and an ISO 9660 image.
  std::string lnk("\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20);
  lnk += std::string(120, '\0');
  EXPECT_EQ(identify(lnk).kind, Kind::Shortcut) << identify(lnk).description;
  std::string iso(0x8800, '\0');
  iso.replace(0x8000, 7, std::string("\x01" "CD001\x01", 7));
  EXPECT_EQ(identify(iso).kind, Kind::DiskImage) << identify(iso).description;
  auto ole = identify(mm::test::read_file("/usr/share/clamav-testfiles/clam.ole.doc"));
  EXPECT_EQ(ole.kind, Kind::Document) << ole.mime;
}

TEST(FileType, ArchivesAndZipBasedDocuments) {
  TempDir t;
  mm::test::write_file(t / "a.txt", "hello\n");
  ASSERT_TRUE(t.sh("zip -q a.zip a.txt && 7z a -bd a.7z a.txt && tar cf a.tar a.txt && gzip -k a.txt"));
  EXPECT_EQ(identify(mm::test::read_file(t / "a.zip")).kind, Kind::Archive);
  EXPECT_EQ(identify(mm::test::read_file(t / "a.7z")).kind, Kind::Archive);
  EXPECT_EQ(identify(mm::test::read_file(t / "a.tar")).kind, Kind::Archive);
  EXPECT_EQ(identify(mm::test::read_file(t / "a.txt.gz")).kind, Kind::Archive);
  // An OOXML document is a zip; type_of() looks inside and calls it a document.
  mm::test::write_file(t / "d/[Content_Types].xml", "<Types/>");
  mm::test::write_file(t / "d/word/document.xml", "<w:document/>");
  ASSERT_TRUE(t.sh("cd d && zip -q -X ../r.docx '[Content_Types].xml' word/document.xml"));
  auto docx = type_of(mm::test::read_file(t / "r.docx"));
  EXPECT_EQ(docx.kind, Kind::Document) << docx.mime;
  mm::test::write_file(t / "j/META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n");
  ASSERT_TRUE(t.sh("cd j && zip -q ../x.jar META-INF/MANIFEST.MF"));
  EXPECT_EQ(type_of(mm::test::read_file(t / "x.jar")).kind, Kind::Executable);
}

TEST(FileType, Extensions) {
  EXPECT_EQ(extension("Invoice.PDF.exe"), "exe");
  EXPECT_EQ(extension("run.exe. "), "exe");  // Windows drops trailing dots and spaces
  EXPECT_EQ(extension("noext"), "");
  EXPECT_EQ(extension("dir.d/file"), "");
  EXPECT_EQ(kind_of_extension("js"), Kind::Script);
  EXPECT_EQ(kind_of_extension("lnk"), Kind::Shortcut);
  EXPECT_EQ(kind_of_extension("iso"), Kind::DiskImage);
  EXPECT_EQ(kind_of_extension("pdf"), Kind::Document);
  EXPECT_EQ(kind_of_extension("weird"), Kind::Other);
}

TEST(FileType, TextShortcutOnlyForPrintableText) {
  EXPECT_EQ(type_of("a,b\n1,2\n", "data.csv").kind, Kind::Text);
  // A program named like a text file is still typed by content.
  auto pe = type_of(mm::test::sample("clam.exe"), "readme.txt");
  EXPECT_EQ(pe.kind, Kind::Executable) << pe.mime;
  EXPECT_EQ(type_of("#!/bin/sh\nrm -rf /tmp/x\n", "notes.txt").kind, Kind::Script);
}
