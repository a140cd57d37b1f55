#include "store/store.h"

namespace mm::store {

std::string_view to_string(TlsMode m) {
  switch (m) {
    case TlsMode::None:
      return "none";
    case TlsMode::Opportunistic:
      return "opportunistic";
    case TlsMode::Required:
      return "required";
  }
  return "opportunistic";
}

std::optional<TlsMode> parse_tls_mode(std::string_view s) {
  if (s == "none") return TlsMode::None;
  if (s == "opportunistic") return TlsMode::Opportunistic;
  if (s == "required") return TlsMode::Required;
  return std::nullopt;
}

}  // namespace mm::store
