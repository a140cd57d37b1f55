#include "av/av_check.h"

#include <algorithm>

namespace mm::av {
namespace {

using scan::Class;
constexpr double kVirus = 20.0;

std::string printable(std::string_view s, size_t max = 160) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

}  // namespace

bool is_unscannable_signature(const std::string& sig) {
  return sig.rfind("Heuristics.Limits.Exceeded", 0) == 0 || sig.rfind("Heuristics.Encrypted", 0) == 0;
}

void AvCheck::run(const scan::Context& ctx, std::vector<scan::Symbol>& out) const {
  const std::string& raw = *ctx.msg.raw;
  if (raw.size() > opt_.max_scan_size) {
    out.push_back({"AV_UNSCANNABLE", 0,
                   "message of " + std::to_string(raw.size()) + " bytes exceeds max_scan_size " +
                       std::to_string(opt_.max_scan_size),
                   Class::Unscannable});
    return;
  }
  auto deadline = std::min(ctx.deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.timeout_ms));
  ScanResult r = client_.scan(raw, deadline);
  if (r.kind == ScanResult::Clean) return;
  if (r.kind == ScanResult::Error && r.error.find("size limit exceeded") != std::string::npos) {
    // clamd's StreamMaxLength: a property of the message, scanning again would not help.
    out.push_back({"AV_UNSCANNABLE", 0, "clamd " + client_.address().str() + ": " + printable(r.error),
                   Class::Unscannable});
    return;
  }
  if (r.kind == ScanResult::Error) {
    scan::Symbol s{"AV_ERROR", 0, "clamd " + client_.address().str() + ": " + printable(r.error), Class::Unscannable};
    s.retry = true;
    out.push_back(std::move(s));
    return;
  }
  if (is_unscannable_signature(r.signature)) {
    out.push_back({"AV_UNSCANNABLE", 0, "clamd: " + printable(r.signature), Class::Unscannable});
    return;
  }
  // Which part? Scan the decoded attachments one by one (only after a detection, so it costs
  // nothing for clean mail). When none matches alone, the finding is the message as a whole.
  std::string where = "message";
  const auto& parts = ctx.msg.parts;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.data.empty() || !p.is_attachment) continue;
    ScanResult pr = client_.scan(p.data, deadline);
    if (pr.kind == ScanResult::Found && !is_unscannable_signature(pr.signature)) {
      where = "part " + std::to_string(i + 1) + " " + printable(p.filename.empty() ? "(" + p.content_type + ")" : p.filename);
      break;
    }
  }
  out.push_back({"AV_VIRUS", kVirus, where + ": " + printable(r.signature), Class::Malware});
}

}  // namespace mm::av
