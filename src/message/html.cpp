// HTML -> what a reader sees: visible text, hidden text, links with their text, images, forms.
// Gumbo (an HTML5-conformant parser) builds the tree; one iterative walk (no recursion: hostile
// nesting depth cannot blow the stack) renders it. Gumbo allocates from a per-thread arena that is
// dropped wholesale, which is faster than malloc/free per node and avoids gumbo's recursive destroy.
#include <gumbo.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "message/detail.h"

namespace mm::message::detail {
namespace {

// ---------- arena for gumbo ----------

class Arena {
 public:
  static constexpr size_t kBlock = 256 << 10;

  void* alloc(size_t n) {
    n = (n + 15) & ~size_t{15};
    if (n > left_) grow(n);
    void* p = cur_;
    cur_ += n;
    left_ -= n;
    return p;
  }

  // Frees everything but one standard block, kept for the next document.
  void reset() {
    if (blocks_.empty()) return;
    if (blocks_.front().second != kBlock) {
      blocks_.clear();
      cur_ = nullptr;
      left_ = 0;
      return;
    }
    blocks_.resize(1);
    cur_ = blocks_.front().first.get();
    left_ = kBlock;
  }

 private:
  void grow(size_t n) {
    const size_t size = std::max(kBlock, n);
    blocks_.emplace_back(std::unique_ptr<char[]>(new char[size]), size);
    cur_ = blocks_.back().first.get();
    left_ = size;
  }

  std::vector<std::pair<std::unique_ptr<char[]>, size_t>> blocks_;
  char* cur_ = nullptr;
  size_t left_ = 0;
};

thread_local Arena t_arena;

void* arena_alloc(void* ud, size_t n) { return static_cast<Arena*>(ud)->alloc(n); }
void arena_free(void*, void*) {}

// ---------- CSS-ish helpers ----------

constexpr int32_t kUnset = -1;
constexpr int32_t kWhite = 0xFFFFFF;
constexpr int32_t kBlack = 0x000000;
constexpr int32_t kLinkBlue = 0x0000EE;

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool all_hex(std::string_view s) {
  for (char c : s)
    if (hexval(c) < 0) return false;
  return !s.empty();
}

int32_t hex_color(std::string_view h) {
  if (h.size() == 3 || h.size() == 4) {  // #rgb, #rgba
    const int r = hexval(h[0]), g = hexval(h[1]), b = hexval(h[2]);
    return (r * 17) << 16 | (g * 17) << 8 | (b * 17);
  }
  if (h.size() == 6 || h.size() == 8) {  // #rrggbb, #rrggbbaa
    return (hexval(h[0]) * 16 + hexval(h[1])) << 16 | (hexval(h[2]) * 16 + hexval(h[3])) << 8 |
           (hexval(h[4]) * 16 + hexval(h[5]));
  }
  return kUnset;
}

// Parses a CSS / HTML colour: #hex, bare hex (legacy attributes), rgb()/rgba(), common names.
int32_t parse_color(std::string_view v) {
  v = trim(v);
  if (v.empty()) return kUnset;
  if (v.front() == '#') {
    v.remove_prefix(1);
    return all_hex(v) ? hex_color(v) : kUnset;
  }
  if (istarts_with(v, "rgb")) {
    const size_t open = v.find('(');
    if (open == std::string_view::npos) return kUnset;
    int comp[3] = {0, 0, 0};
    size_t i = open + 1;
    for (int k = 0; k < 3; ++k) {
      while (i < v.size() && (ascii_space(v[i]) || v[i] == ',')) ++i;
      int x = 0;
      auto [p, ec] = std::from_chars(v.data() + i, v.data() + v.size(), x);
      if (ec != std::errc()) return kUnset;
      i = static_cast<size_t>(p - v.data());
      if (i < v.size() && v[i] == '%') {
        x = x * 255 / 100;
        ++i;
      }
      while (i < v.size() && v[i] == '.') {  // fractional part: ignore
        ++i;
        while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
      }
      comp[k] = std::clamp(x, 0, 255);
    }
    return comp[0] << 16 | comp[1] << 8 | comp[2];
  }
  struct Named {
    const char* name;
    int32_t rgb;
  };
  static constexpr Named kNames[] = {
      {"white", 0xFFFFFF},     {"black", 0x000000},   {"red", 0xFF0000},       {"green", 0x008000},
      {"blue", 0x0000FF},      {"yellow", 0xFFFF00},  {"gray", 0x808080},      {"grey", 0x808080},
      {"silver", 0xC0C0C0},    {"snow", 0xFFFAFA},    {"whitesmoke", 0xF5F5F5}, {"ivory", 0xFFFFF0},
      {"ghostwhite", 0xF8F8FF}, {"azure", 0xF0FFFF},  {"mintcream", 0xF5FFFA}, {"floralwhite", 0xFFFAF0},
      {"seashell", 0xFFF5EE},  {"navy", 0x000080},    {"lime", 0x00FF00},      {"aqua", 0x00FFFF},
      {"fuchsia", 0xFF00FF},   {"maroon", 0x800000},  {"olive", 0x808000},     {"purple", 0x800080},
      {"teal", 0x008080},      {"orange", 0xFFA500},  {"lightgray", 0xD3D3D3}, {"lightgrey", 0xD3D3D3},
      {"darkgray", 0xA9A9A9},  {"darkgrey", 0xA9A9A9}};
  for (const auto& n : kNames)
    if (iequals(v, n.name)) return n.rgb;
  if (v.size() == 6 && all_hex(v)) return hex_color(v);  // bgcolor="ffffff"
  return kUnset;
}

bool same_color(int32_t a, int32_t b) {
  const int dr = ((a >> 16) & 0xFF) - ((b >> 16) & 0xFF);
  const int dg = ((a >> 8) & 0xFF) - ((b >> 8) & 0xFF);
  const int db = (a & 0xFF) - (b & 0xFF);
  return std::abs(dr) + std::abs(dg) + std::abs(db) <= 24;
}

// A CSS length: value and unit ("" if none). false if not a number.
bool parse_length(std::string_view v, double& num, std::string_view& unit) {
  v = trim(v);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), num);
  if (ec != std::errc()) return false;
  unit = trim(v.substr(static_cast<size_t>(p - v.data())));
  return true;
}

struct State {
  bool hidden = false;
  bool pre = false;
  int32_t color = kUnset;  // unset = default black text
  int32_t bg = kWhite;
};

struct StyleFacts {
  bool hidden = false;
  int32_t color = kUnset;
  int32_t bg = kUnset;
};

// Reads the inline style properties that can hide text or set colours.
StyleFacts read_style(std::string_view style) {
  StyleFacts f;
  bool zero_box = false, overflow_hidden = false;
  std::string val;
  while (!style.empty()) {
    const size_t semi = style.find(';');
    std::string_view decl = style.substr(0, semi);
    style = semi == std::string_view::npos ? std::string_view{} : style.substr(semi + 1);
    const size_t colon = decl.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view prop = trim(decl.substr(0, colon));
    val.assign(trim(decl.substr(colon + 1)));
    lower_ascii(val);
    if (const size_t imp = val.find("!important"); imp != std::string::npos) val.resize(imp);
    const std::string_view v = trim(val);
    double num = 0;
    std::string_view unit;
    if (iequals(prop, "display")) {
      if (v == "none") f.hidden = true;
    } else if (iequals(prop, "visibility")) {
      if (v == "hidden" || v == "collapse") f.hidden = true;
    } else if (iequals(prop, "opacity")) {
      if (parse_length(v, num, unit) && num < (unit == "%" ? 10 : 0.1)) f.hidden = true;
    } else if (iequals(prop, "font-size")) {
      if (parse_length(v, num, unit)) {
        if (num <= 0 || ((unit == "px" || unit == "pt" || unit.empty()) && num <= 1) ||
            ((unit == "em" || unit == "rem") && num < 0.1) || (unit == "%" && num < 10))
          f.hidden = true;
      }
    } else if (iequals(prop, "mso-hide")) {
      if (v == "all") f.hidden = true;
    } else if (iequals(prop, "height") || iequals(prop, "max-height") || iequals(prop, "width") ||
               iequals(prop, "max-width") || iequals(prop, "line-height")) {
      if (parse_length(v, num, unit) && num <= 0) zero_box = true;
    } else if (iequals(prop, "overflow") || iequals(prop, "overflow-x") || iequals(prop, "overflow-y")) {
      if (v == "hidden" || v == "clip") overflow_hidden = true;
    } else if (iequals(prop, "text-indent") || iequals(prop, "left") || iequals(prop, "top") ||
               iequals(prop, "margin-left") || iequals(prop, "margin-top")) {
      if (parse_length(v, num, unit) && num <= -500) f.hidden = true;  // pushed off-screen
    } else if (iequals(prop, "color")) {
      f.color = parse_color(v);
    } else if (iequals(prop, "background-color")) {
      f.bg = parse_color(v);
    } else if (iequals(prop, "background")) {
      // Shorthand: the first token that is a colour.
      std::string_view rest = v;
      while (!rest.empty() && f.bg == kUnset) {
        const size_t sp = rest.find(' ');
        f.bg = parse_color(rest.substr(0, sp));
        if (sp == std::string_view::npos) break;
        rest.remove_prefix(sp + 1);
      }
    }
  }
  if (zero_box && overflow_hidden) f.hidden = true;
  return f;
}

const char* attr(const GumboElement& el, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&el.attributes, name);
  return a ? a->value : nullptr;
}

bool is_block(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_BR: case GUMBO_TAG_LI: case GUMBO_TAG_TR:
    case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5:
    case GUMBO_TAG_H6: case GUMBO_TAG_TABLE: case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE: case GUMBO_TAG_HR: case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER: case GUMBO_TAG_NAV: case GUMBO_TAG_DL: case GUMBO_TAG_DT:
    case GUMBO_TAG_DD: case GUMBO_TAG_FORM: case GUMBO_TAG_ADDRESS: case GUMBO_TAG_CENTER: case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_MAIN: case GUMBO_TAG_FIGURE: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_BODY: case GUMBO_TAG_HTML: case GUMBO_TAG_FIELDSET: case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_DETAILS: case GUMBO_TAG_SUMMARY: case GUMBO_TAG_MENU: case GUMBO_TAG_OPTION:
      return true;
    default:
      return false;
  }
}

bool is_skipped(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_HEAD: case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_TITLE: case GUMBO_TAG_IFRAME: case GUMBO_TAG_OBJECT: case GUMBO_TAG_APPLET:
    case GUMBO_TAG_NOEMBED: case GUMBO_TAG_SELECT:
      return true;
    default:
      return false;
  }
}

// A text sink that collapses whitespace the way a browser renders it.
struct Sink {
  std::string* s;
  size_t cap;
  bool pending = false;
  bool truncated = false;

  bool full() const { return s->size() >= cap; }

  void put(std::string_view t, bool pre, bool& zero_width) {
    if (full()) {
      if (!t.empty()) truncated = true;
      return;
    }
    for (size_t i = 0; i < t.size(); ++i) {
      const char c = t[i];
      const auto u = static_cast<unsigned char>(c);
      if (pre && (c == '\n' || c == ' ' || c == '\t')) {
        s->push_back(c);
        pending = false;
        continue;
      }
      if (ascii_space(c)) {
        pending = true;
        continue;
      }
      if (u == 0xC2 && i + 1 < t.size()) {
        const auto n = static_cast<unsigned char>(t[i + 1]);
        if (n == 0xA0) {  // NBSP renders as a space
          pending = true;
          ++i;
          continue;
        }
        if (n == 0xAD) {  // soft hyphen: invisible
          zero_width = true;
          ++i;
          continue;
        }
      }
      if (u == 0xE2 && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0x80) {
        const auto n = static_cast<unsigned char>(t[i + 2]);
        if (n == 0x8B || n == 0x8C || n == 0x8D) {  // ZWSP, ZWNJ, ZWJ
          zero_width = true;
          i += 2;
          continue;
        }
      }
      if (u == 0xE2 && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0x81 &&
          static_cast<unsigned char>(t[i + 2]) == 0xA0) {  // word joiner
        zero_width = true;
        i += 2;
        continue;
      }
      if (u == 0xEF && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0xBB &&
          static_cast<unsigned char>(t[i + 2]) == 0xBF) {  // BOM / ZWNBSP
        zero_width = true;
        i += 2;
        continue;
      }
      if (pending) {
        if (!s->empty() && s->back() != '\n' && s->back() != ' ') s->push_back(' ');
        pending = false;
      }
      if (s->size() >= cap) {
        truncated = true;
        // Do not leave a split UTF-8 sequence behind.
        s->resize(utf8_floor(*s, cap));
        return;
      }
      s->push_back(c);
    }
  }

  void line_break() {
    pending = false;
    while (!s->empty() && s->back() == ' ') s->pop_back();
    if (!s->empty() && s->back() != '\n' && !full()) s->push_back('\n');
  }

  void soft_space() { pending = true; }
};

struct Frame {
  explicit Frame(const GumboNode* n) : node(n) {}
  const GumboNode* node;
  unsigned next = 0;
  State st;
  int link = -1;  // index into m.links of the <a> this frame opened
  bool link_hidden = false;
  size_t vis_start = 0, hid_start = 0;
  bool block = false;
};

class Renderer {
 public:
  Renderer(Message& m, int part, bool body, size_t text_cap, size_t max_links)
      : m_(m), part_(part), max_links_(max_links) {
    const size_t used = m.text.size() + m.html_text.size();
    if (body) {
      vis_ = {&m.html_text, m.html_text.size() + (text_cap > used ? text_cap - used : 0)};
      hid_ = {&m.hidden_text, text_cap};
    } else {
      vis_ = {&scratch_vis_, text_cap};
      hid_ = {&scratch_hid_, text_cap};
    }
    // Separate this part's text from what earlier parts produced.
    vis_.line_break();
    hid_.line_break();
  }

  void run(const GumboNode* root) {
    std::vector<Frame> stack;
    stack.push_back(Frame{root});
    while (!stack.empty()) {
      Frame& f = stack.back();
      const GumboVector& kids =
          f.node->type == GUMBO_NODE_DOCUMENT ? f.node->v.document.children : f.node->v.element.children;
      if (f.next < kids.length) {
        const auto* ch = static_cast<const GumboNode*>(kids.data[f.next++]);
        switch (ch->type) {
          case GUMBO_NODE_TEXT:
          case GUMBO_NODE_WHITESPACE:
          case GUMBO_NODE_CDATA:
            text(ch->v.text.text, f.st, in_link_);
            break;
          case GUMBO_NODE_ELEMENT: {
            Frame nf{ch};
            nf.st = f.st;
            if (enter(ch->v.element, nf)) stack.push_back(nf);
            break;
          }
          default:  // comments, templates, document
            break;
        }
      } else {
        leave(f);
        stack.pop_back();
      }
    }
    if (vis_.truncated || hid_.truncated) note(m_, "text_truncated");
    if (zero_width_) note(m_, "html_zero_width_chars");
  }

 private:
  bool hidden_now(const State& st) const {
    return st.hidden || same_color(st.color == kUnset ? kBlack : st.color, st.bg);
  }

  void text(const char* t, const State& st, bool in_link) {
    const std::string_view sv(t);
    const bool hidden = hidden_now(st);
    Sink& sink = hidden ? hid_ : vis_;
    if (hidden) sink.soft_space();  // hidden fragments are not contiguous for a reader: keep them apart
    sink.put(sv, st.pre, zero_width_);
    if (!hidden && !in_link) add_text_urls(sv, m_, part_, max_links_);
  }

  bool room_for_ref() {
    if (m_.links.size() + m_.images.size() + m_.forms.size() < max_links_) return true;
    note(m_, "link_limit");
    return false;
  }

  // Returns false to skip the element's subtree.
  bool enter(const GumboElement& el, Frame& f) {
    const GumboTag tag = el.tag;
    if (is_skipped(tag)) return false;
    State& st = f.st;
    if (tag == GUMBO_TAG_A) st.color = kLinkBlue;  // user-agent default: links are never same-colour by default
    if (attr(el, "hidden")) st.hidden = true;
    if (const char* bg = attr(el, "bgcolor")) {
      const int32_t c = parse_color(bg);
      if (c != kUnset) st.bg = c;
    }
    if (tag == GUMBO_TAG_FONT) {
      if (const char* c = attr(el, "color")) {
        const int32_t v = parse_color(c);
        if (v != kUnset) st.color = v;
      }
    }
    if (const char* style = attr(el, "style")) {
      const StyleFacts sf = read_style(style);
      if (sf.hidden) st.hidden = true;
      if (sf.color != kUnset) st.color = sf.color;
      if (sf.bg != kUnset) st.bg = sf.bg;
    }
    if (tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_TEXTAREA) st.pre = true;
    if (tag == GUMBO_TAG_INPUT) {
      // Inputs type=hidden never show; others are widgets without text.
      if (const char* type = attr(el, "type"); type && iequals(trim(type), "password")) ++m_.password_fields;
      return false;
    }

    switch (tag) {
      case GUMBO_TAG_A:
      case GUMBO_TAG_AREA: {
        const char* href = attr(el, "href");
        if (href && !in_link_ && room_for_ref()) {
          Link l;
          l.href = std::string(trim(href));
          l.host = url_host(l.href);
          l.from_html = true;
          l.hidden = hidden_now(st);
          l.part = part_;
          if (tag == GUMBO_TAG_AREA) {
            if (const char* alt = attr(el, "alt")) l.text = std::string(trim(alt));
          }
          m_.links.push_back(std::move(l));
          f.link = static_cast<int>(m_.links.size() - 1);
          f.link_hidden = m_.links.back().hidden;
          Sink& sink = f.link_hidden ? hid_ : vis_;
          if (sink.pending && !sink.s->empty() && sink.s->back() != '\n' && sink.s->back() != ' ' && !sink.full()) {
            sink.s->push_back(' ');
          }
          sink.pending = false;
          f.vis_start = vis_.s->size();
          f.hid_start = hid_.s->size();
          in_link_ = true;
        }
        break;
      }
      case GUMBO_TAG_IMG:
        if (const char* src = attr(el, "src"); src && room_for_ref()) m_.images.emplace_back(trim(src));
        break;
      case GUMBO_TAG_FORM:
        if (room_for_ref()) {
          const char* action = attr(el, "action");
          m_.forms.emplace_back(action ? trim(action) : std::string_view{});
        }
        break;
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        vis_.soft_space();
        hid_.soft_space();
        break;
      default:
        break;
    }
    if (is_block(tag)) {
      f.block = true;
      vis_.line_break();
      hid_.line_break();
    }
    return true;
  }

  void leave(const Frame& f) {
    if (f.link >= 0) {
      const Sink& sink = f.link_hidden ? hid_ : vis_;
      const size_t start = f.link_hidden ? f.hid_start : f.vis_start;
      if (start <= sink.s->size()) {
        std::string_view t = trim(std::string_view(*sink.s).substr(start));
        Link& l = m_.links[static_cast<size_t>(f.link)];
        if (l.text.empty()) l.text.assign(t.substr(0, utf8_floor(t, 1024)));
      }
      in_link_ = false;
    }
    if (f.block) {
      vis_.line_break();
      hid_.line_break();
    }
  }

  Message& m_;
  int part_;
  size_t max_links_;
  Sink vis_{nullptr, 0};
  Sink hid_{nullptr, 0};
  std::string scratch_vis_, scratch_hid_;
  bool in_link_ = false;
  bool zero_width_ = false;
};

// Gumbo's tree builder has super-linear paths that hostile HTML reaches: it scans the stack of open
// elements for many start tags (n unclosed <div>s cost O(n^2): 200k of them take minutes), checks
// each attribute against the tag's earlier ones (O(a^2)), and misnested formatting elements inside
// tables compound. A cheap pre-scan rewrites such input before gumbo sees it, keeping all text:
//  - start tags that would nest deeper than kMaxHtmlDepth are dropped (end tags close; elements HTML
//    closes implicitly or that cannot nest are not counted);
//  - attributes beyond kMaxHtmlAttributes on one tag are cut;
//  - after kMaxHtmlTags tags, only tags that carry links, images, forms or line breaks are kept.
constexpr size_t kMaxHtmlDepth = 256;
constexpr size_t kMaxHtmlAttributes = 128;
constexpr size_t kMaxHtmlTags = 20000;

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool alnum(char c) { return alpha(c) || (c >= '0' && c <= '9'); }

enum class TagKind { Nesting, Flat, Kept };  // Kept: flat and kept even past the tag budget

TagKind tag_kind(std::string_view name) {
  if (name.size() > 10) return TagKind::Nesting;
  char buf[11];
  for (size_t i = 0; i < name.size(); ++i)
    buf[i] = (name[i] >= 'A' && name[i] <= 'Z') ? static_cast<char>(name[i] + 32) : name[i];
  const std::string_view n(buf, name.size());
  static constexpr std::string_view kKept[] = {"a", "img", "form", "br", "p", "li", "tr", "area"};
  for (auto f : kKept)
    if (n == f) return TagKind::Kept;
  static constexpr std::string_view kFlat[] = {
      // void elements
      "base", "col", "embed", "hr", "input", "link", "meta", "param", "source", "track", "wbr", "keygen",
      // closed implicitly by a sibling or by their parent's end
      "dt", "dd", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rp",
      "html", "head", "body"};
  for (auto f : kFlat)
    if (n == f) return TagKind::Flat;
  return TagKind::Nesting;
}

// Calls edit(begin, end, replacement) for each rewrite, in order; returns the number of rewrites.
template <class F>
size_t plan_html_rewrites(std::string_view h, F&& edit) {
  size_t depth = 0, tags = 0, edits = 0, i = 0;
  const size_t n = h.size();
  while ((i = h.find('<', i)) != std::string_view::npos) {
    size_t j = i + 1;
    const bool end = j < n && h[j] == '/';
    if (end) ++j;
    if (j >= n || !alpha(h[j])) {
      ++i;
      continue;
    }
    const size_t name_begin = j;
    while (j < n && alnum(h[j])) ++j;
    const std::string_view name = h.substr(name_begin, j - name_begin);
    // Walk the attributes (quoted values may hold '>') to the tag's end.
    size_t attrs = 0, cut = std::string_view::npos;
    bool self_closing = false;
    while (j < n && h[j] != '>') {
      if (ascii_space(h[j]) || h[j] == '/') {
        self_closing = h[j] == '/';
        ++j;
        continue;
      }
      self_closing = false;
      if (++attrs > kMaxHtmlAttributes && cut == std::string_view::npos) cut = j;
      while (j < n && !ascii_space(h[j]) && h[j] != '=' && h[j] != '>' && h[j] != '/') ++j;
      while (j < n && ascii_space(h[j])) ++j;
      if (j < n && h[j] == '=') {
        ++j;
        while (j < n && ascii_space(h[j])) ++j;
        if (j < n && (h[j] == '"' || h[j] == '\'')) {
          const size_t close = h.find(h[j], j + 1);
          j = close == std::string_view::npos ? n : close + 1;
        } else {
          while (j < n && !ascii_space(h[j]) && h[j] != '>') ++j;
        }
      }
    }
    const size_t tag_end = j < n ? j + 1 : n;
    const TagKind kind = tag_kind(name);
    ++tags;
    bool drop = false;
    if (tags > kMaxHtmlTags && kind != TagKind::Kept) {
      drop = true;
    } else if (kind == TagKind::Nesting) {
      if (end) {
        if (depth > 0) --depth;
      } else if (!self_closing) {
        if (depth >= kMaxHtmlDepth)
          drop = true;
        else
          ++depth;
      }
    }
    if (drop) {
      edit(i, tag_end, std::string_view{});
      ++edits;
    } else if (cut != std::string_view::npos) {
      edit(cut, tag_end, std::string_view(">"));
      ++edits;
    }
    i = tag_end;
  }
  return edits;
}

void trim_trailing(std::string& s) {
  while (!s.empty() && ascii_space(s.back())) s.pop_back();
}

}  // namespace

void render_html(std::string_view html, Message& m, int part_index, bool body, size_t text_cap, size_t max_links) {
  GumboOptions opts = kGumboDefaultOptions;
  opts.allocator = arena_alloc;
  opts.deallocator = arena_free;
  opts.userdata = &t_arena;
  opts.max_errors = 0;  // do not record parse errors: hostile HTML has millions
  std::string flattened;
  if (plan_html_rewrites(html, [](size_t, size_t, std::string_view) {}) > 0) {
    note(m, "html_too_complex");
    flattened.reserve(html.size());
    size_t from = 0;
    plan_html_rewrites(html, [&](size_t b, size_t e, std::string_view replacement) {
      flattened.append(html.substr(from, b - from));
      flattened.append(replacement);
      from = e;
    });
    flattened.append(html.substr(from));
    html = flattened;
  }
  GumboOutput* out = gumbo_parse_with_options(&opts, html.data(), html.size());
  if (out && out->document) {
    Renderer r(m, part_index, body, text_cap, max_links);
    r.run(out->document);
  }
  // No gumbo_destroy_output: everything lives in the arena (its destroy is recursive, too).
  t_arena.reset();
  if (body) {
    trim_trailing(m.html_text);
    trim_trailing(m.hidden_text);
  }
}

}  // namespace mm::message::detail
