// Stand-alone driver for LLVMFuzzerTestOneInput when libFuzzer is not available (g++ builds):
// runs every file of the given directories, then N deterministic mutations of them, within a time
// budget. Usage: replay <dir|file>... [--mutations N] [--seconds S] [--seed X]
// A crash or failed invariant (trap) fails the run; the offending input is written to
// ./fuzz-crash-input first, so it can be replayed and added to the corpus.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }
};

// Tokens that steer mutations towards the parser's interesting paths.
const char* const kTokens[] = {
    "\n", "\r\n", "\n\n", "--", "--b--\n", "\0", "=\n", "=?utf-8?B?", "=?iso-2022-jp?Q?=1B$B", "?=",
    "Content-Type: multipart/mixed; boundary=b\n\n--b\n", "Content-Type: message/rfc822\n\n",
    "Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n",
    "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n", "charset=shift_jis", "charset=x-bogus",
    "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC\n", "<a href=\"http://", "</a>",
    "<div style=\"display:none\">", "<table><tr><td>", "<script>", "<!--", "&#x", "&amp", "\xC3", "\xE2\x80\x8B",
    "\x1B$B", "From ", "http://www.", "\t", " ", "<", ">", "\"", ";", "=", "@"};

std::string current;  // the input being run, dumped on a crash

void on_crash(int sig) {
  if (FILE* f = std::fopen("fuzz-crash-input", "wb")) {
    std::fwrite(current.data(), 1, current.size(), f);
    std::fclose(f);
  }
  std::fprintf(stderr, "replay: signal %d; input (%zu bytes) written to ./fuzz-crash-input\n", sig, current.size());
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const std::string& in) {
  current = in;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
}

std::string mutate(const std::vector<std::string>& seeds, Rng& r) {
  std::string s = seeds[r.below(seeds.size())];
  const size_t rounds = 1 + r.below(8);
  for (size_t k = 0; k < rounds; ++k) {
    const size_t pos = r.below(s.size() + 1);
    switch (r.below(8)) {
      case 0:  // flip a byte
        if (!s.empty()) s[r.below(s.size())] = static_cast<char>(r.next());
        break;
      case 1:  // insert a random byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<char>(r.next()));
        break;
      case 2:  // erase a range
        if (!s.empty()) s.erase(pos > 0 ? pos - 1 : 0, 1 + r.below(64));
        break;
      case 3: {  // duplicate a range (repetition finds nesting and quadratic paths)
        const size_t len = std::min(s.size() - std::min(pos, s.size()), 1 + r.below(256));
        std::string chunk = s.substr(pos, len);
        const size_t times = 1 + r.below(32);
        std::string rep;
        for (size_t i = 0; i < times && rep.size() < 65536; ++i) rep += chunk;
        s.insert(pos, rep);
        break;
      }
      case 4: {  // insert a token
        const char* t = kTokens[r.below(std::size(kTokens))];
        s.insert(pos, t, t[0] ? std::strlen(t) : 1);
        break;
      }
      case 5:  // truncate
        s.resize(pos);
        break;
      case 6: {  // splice another seed
        const std::string& o = seeds[r.below(seeds.size())];
        const size_t from = r.below(o.size() + 1);
        s.insert(pos, o.substr(from, r.below(o.size() - from + 1)));
        break;
      }
      default:  // line end swap
        for (size_t i = 0; i < s.size(); ++i)
          if (s[i] == '\n' && r.below(4) == 0) {
            s.insert(i, 1, '\r');
            ++i;
          }
        break;
    }
    if (s.size() > (1u << 20)) s.resize(1u << 20);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  size_t mutations = 2000;
  double seconds = 20;
  uint64_t seed = 0x6d61696c6d6f6174ULL;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutations" && i + 1 < argc) {
      mutations = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 0);
    } else {
      paths.push_back(a);
    }
  }
  std::signal(SIGSEGV, on_crash);
  std::signal(SIGABRT, on_crash);
  std::signal(SIGILL, on_crash);
  std::signal(SIGFPE, on_crash);
  std::signal(SIGBUS, on_crash);
  std::signal(SIGTRAP, on_crash);

  std::vector<std::string> seeds;
  for (const auto& p : paths) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(p);
    }
    std::sort(files.begin(), files.end());  // deterministic order
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) {
    std::cerr << "replay: no inputs\n";
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& s : seeds) run(s);
  Rng r{seed};
  size_t done = 0, slowest_ms = 0;
  for (; done < mutations; ++done) {
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (elapsed > seconds) break;
    const std::string in = mutate(seeds, r);
    const auto t1 = std::chrono::steady_clock::now();
    run(in);
    const auto ms = static_cast<size_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t1).count());
    slowest_ms = std::max(slowest_ms, ms);
  }
  const auto total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "replay: " << seeds.size() << " seeds, " << done << " mutations in " << total
            << " s (slowest input " << slowest_ms << " ms)\n";
  return 0;
}
