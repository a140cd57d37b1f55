#include "attachments/attachment_check.h"

#include <gtest/gtest.h>

#include "helpers.h"
#include "message/message.h"

using namespace mm::attachments;
using mm::scan::Class;
using mm::scan::Symbol;
using mm::test::mime_with;
using mm::test::read_file;
using mm::test::TempDir;
using mm::test::write_file;

namespace {

std::vector<Symbol> check(const std::string& raw, std::shared_ptr<Policy> pol = nullptr) {
  if (!pol) {
    pol = std::make_shared<Policy>();
    pol->blocked_extensions = default_blocked_extensions();
  }
  AttachmentCheck c(pol);
  auto msg = mm::message::parse(std::make_shared<const std::string>(raw));
  mm::scan::Envelope env;
  std::vector<Symbol> prior, out;
  c.run({*msg, env, prior}, out);
  return out;
}

const Symbol* sym(const std::vector<Symbol>& s, const std::string& name) {
  for (auto& x : s)
    if (x.name == name) return &x;
  return nullptr;
}

std::string names(const std::vector<Symbol>& s) {
  std::string out;
  for (auto& x : s) out += x.name + "[" + x.detail + "] ";
  return out;
}

}  // namespace

TEST(AttachmentCheck, ExecutableInsideZipNamesPartAndFile) {
  TempDir t;
  write_file(t / "payload.exe", mm::test::sample("clam.exe"));
  ASSERT_TRUE(t.sh("zip -q invoice.zip payload.exe"));
  auto s = check(mime_with("invoice.zip", read_file(t / "invoice.zip"), "application/zip"));
  auto* exe = sym(s, "ATTACH_EXECUTABLE");
  ASSERT_NE(exe, nullptr) << names(s);
  EXPECT_EQ(exe->hint, Class::Malware);
  EXPECT_EQ(exe->detail.rfind("part 2 invoice.zip -> payload.exe: executable (PE32", 0), 0u) << exe->detail;
  ASSERT_NE(sym(s, "ATTACH_BLOCKED_EXT"), nullptr);
  EXPECT_NE(sym(s, "ATTACH_BLOCKED_EXT")->detail.find("payload.exe: blocked file name extension .exe"), std::string::npos);
}

TEST(AttachmentCheck, DoubleExtensionAndTypeMismatch) {
  std::string pe = mm::test::sample("clam.exe");
  auto dbl = check(mime_with("invoice.pdf.exe", pe));
  ASSERT_NE(sym(dbl, "ATTACH_DOUBLE_EXT"), nullptr) << names(dbl);
  EXPECT_NE(sym(dbl, "ATTACH_DOUBLE_EXT")->detail.find(".pdf.exe"), std::string::npos);
  // Padded with spaces to hide the real extension.
  EXPECT_NE(sym(check(mime_with("invoice.pdf        .js", "WScript.Echo(1)")), "ATTACH_DOUBLE_EXT"), nullptr);
  // A program named like a document, declared as one.
  auto mis = check(mime_with("report.pdf", pe, "application/pdf"));
  auto* m = sym(mis, "ATTACH_TYPE_MISMATCH");
  ASSERT_NE(m, nullptr) << names(mis);
  EXPECT_NE(m->detail.find("named .pdf but the content is PE32"), std::string::npos) << m->detail;
  EXPECT_EQ(m->hint, Class::Malware);
  // A zip named like a picture.
  TempDir t;
  write_file(t / "a.txt", "x");
  ASSERT_TRUE(t.sh("zip -q a.zip a.txt"));
  EXPECT_NE(sym(check(mime_with("photo.jpg", read_file(t / "a.zip"), "image/jpeg")), "ATTACH_TYPE_MISMATCH"), nullptr);
}

TEST(AttachmentCheck, BidiOverrideInNames) {
  // "invoice<RLO>fdp.exe" shows as "invoiceexe.pdf"; RFC 2231 carries the UTF-8 name.
  std::string raw =
      "From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
      "--BB\r\nContent-Type: text/plain\r\n\r\nhi\r\n--BB\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" + mm::test::b64("MZ not really") + "\r\n--BB--\r\n";
  auto s = check(raw);
  auto* b = sym(s, "ATTACH_BIDI_NAME");
  ASSERT_NE(b, nullptr) << names(s);
  EXPECT_NE(b->detail.find("invoice<U+202E>fdp.exe"), std::string::npos) << b->detail;
  EXPECT_EQ(display_name("a\xE2\x81\xA7" "b\r\n"), "a<U+2067>b??");
}

TEST(AttachmentCheck, BlockedTypesByNameAndContent) {
  EXPECT_NE(sym(check(mime_with("update.js", "var s = new ActiveXObject('WScript.Shell');")), "ATTACH_BLOCKED_EXT"), nullptr);
  EXPECT_NE(sym(check(mime_with("doc.hta", "<html><script>x</script></html>")), "ATTACH_BLOCKED_EXT"), nullptr);
  std::string lnk("\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20);
  lnk += std::string(120, '\0');
  auto s = check(mime_with("photos", lnk));  // no extension at all: the content still tells
  ASSERT_NE(sym(s, "ATTACH_EXECUTABLE"), nullptr) << names(s);
  EXPECT_NE(sym(s, "ATTACH_EXECUTABLE")->detail.find("shortcut"), std::string::npos);
  // A tenant/operator policy may allow what the default blocks.
  auto lax = std::make_shared<Policy>();
  lax->block_executables = false;
  EXPECT_EQ(sym(check(mime_with("update.js", "x"), lax), "ATTACH_BLOCKED_EXT"), nullptr);
}

TEST(AttachmentCheck, MacroDocuments) {
  TempDir t;
  write_file(t / "d/[Content_Types].xml", "<Types/>");
  write_file(t / "d/word/document.xml", "<w:document/>");
  write_file(t / "d/word/vbaProject.bin", "VBA");
  ASSERT_TRUE(t.sh("cd d && zip -q -X ../m.docx '[Content_Types].xml' word/document.xml word/vbaProject.bin"));
  auto s = check(mime_with("contract.docx", read_file(t / "m.docx")));
  ASSERT_NE(sym(s, "ATTACH_MACRO"), nullptr) << names(s);
  EXPECT_NE(sym(s, "ATTACH_MACRO")->detail.find("part 2 contract.docx: Office document with a VBA macro project"),
            std::string::npos);
  EXPECT_NE(sym(check(mime_with("budget.xlsm", "PK")), "ATTACH_MACRO"), nullptr);
}

TEST(AttachmentCheck, EncryptedAndLimitsAreUnscannable) {
  TempDir t;
  write_file(t / "secret.txt", "x\n");
  ASSERT_TRUE(t.sh("zip -q -P pw enc.zip secret.txt && mkdir m && for i in $(seq 1 20); do echo $i > m/$i.txt; done && "
                   "zip -q -r many.zip m"));
  auto e = check(mime_with("docs.zip", read_file(t / "enc.zip")));
  auto* enc = sym(e, "ATTACH_ENCRYPTED");
  ASSERT_NE(enc, nullptr) << names(e);
  EXPECT_EQ(enc->hint, Class::Unscannable);
  EXPECT_NE(enc->detail.find("part 2 docs.zip -> secret.txt: password-protected"), std::string::npos);
  auto pol = std::make_shared<Policy>();
  pol->limits.max_files = 5;
  auto l = check(mime_with("many.zip", read_file(t / "many.zip")), pol);
  ASSERT_NE(sym(l, "ATTACH_LIMIT"), nullptr) << names(l);
  EXPECT_EQ(sym(l, "ATTACH_LIMIT")->hint, Class::Unscannable);
}

TEST(AttachmentCheck, OrdinaryAttachmentsStayClean) {
  TempDir t;
  write_file(t / "a.txt", "quarterly numbers\n");
  write_file(t / "d/[Content_Types].xml", "<Types/>");
  write_file(t / "d/word/document.xml", "<w:document/>");
  write_file(t / "d/word/media/image1.png", "\x89PNG\r\n\x1a\n");
  ASSERT_TRUE(t.sh("zip -q text.zip a.txt && cd d && zip -q -r -X ../report.docx '[Content_Types].xml' word"));
  std::string pdf = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde", 33);
  EXPECT_TRUE(check(mime_with("report.pdf", pdf, "application/pdf")).empty());
  EXPECT_TRUE(check(mime_with("chart.png", png, "image/png")).empty());
  EXPECT_TRUE(check(mime_with("photo.jpg", png, "image/jpeg")).empty());  // picture vs picture: harmless
  EXPECT_TRUE(check(mime_with("text.zip", read_file(t / "text.zip"), "application/zip")).empty());
  auto docx = check(mime_with("report.docx", read_file(t / "report.docx"),
                              "application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
  EXPECT_TRUE(docx.empty()) << names(docx);
  EXPECT_TRUE(check(mime_with("data.csv", "a,b\n1,2\n", "text/csv")).empty());
}

TEST(AttachmentCheck, LargeArchivesAreListedWhole) {
  // A 6 MB zip (beyond the 4 MiB of text the parser keeps) is decoded whole and listed.
  TempDir t;
  ASSERT_TRUE(t.sh("head -c 6000000 /dev/urandom > photos.raw && printf 'MZ' > setup.exe && "
                   "head -c 300 /dev/zero >> setup.exe && zip -q -0 big.zip photos.raw setup.exe"));
  auto s = check(mime_with("big.zip", read_file(t / "big.zip"), "application/zip"));
  EXPECT_EQ(sym(s, "ATTACH_LIMIT"), nullptr) << names(s);
  ASSERT_NE(sym(s, "ATTACH_BLOCKED_EXT"), nullptr) << names(s);
  EXPECT_NE(sym(s, "ATTACH_BLOCKED_EXT")->detail.find("big.zip -> setup.exe"), std::string::npos);
}

TEST(AttachmentCheck, WeakComSignatureNeedsAProgramName) {
  // libmagic calls ~1% of random binary data "DOS executable (COM)" (one opcode byte).
  std::string blob("\xb8\x83\x55\x63\xb5\x0f\x28\x31", 8);
  for (int i = 0; i < 2000; ++i) blob.push_back(static_cast<char>((i * 7919) % 251));
  auto t = identify(blob);
  ASSERT_TRUE(t.weak) << t.description;
  EXPECT_TRUE(check(mime_with("backup.dat", blob)).empty());
  EXPECT_TRUE(check(mime_with("report.pdf", blob, "application/pdf")).empty());
  EXPECT_NE(sym(check(mime_with("tool.com", blob)), "ATTACH_EXECUTABLE"), nullptr);
  // A real PE is believed whatever its name.
  EXPECT_FALSE(identify(mm::test::sample("clam.exe")).weak);
}
