#include "api/ca_rotation.h"

#include <fmt/format.h>

#include <charconv>

namespace magnumd::api {

const std::vector<std::string_view>& caRotationPhases() {
  static const std::vector<std::string_view> kPhases = {kCaComplete, kCaWaiting, kCaTrusting,
                                                        kCaSigning, kCaDropping};
  return kPhases;
}

std::string formatCaSet(const CaSet& set) {
  std::string out;
  if (set.generation > 0 || set.step != CaStep::Alone) out = fmt::format("g{}", set.generation);
  if (set.step == CaStep::Trust) out += "-trust";
  if (set.step == CaStep::Sign) out += "-sign";
  if (!set.renewal.empty()) out += "@" + set.renewal;
  return out;
}

std::optional<CaSet> parseCaSet(std::string_view text) {
  CaSet set;
  if (auto at = text.find('@'); at != std::string_view::npos) {
    set.renewal = std::string(text.substr(at + 1));
    if (set.renewal.empty()) return std::nullopt;
    text = text.substr(0, at);
  }
  if (text.empty()) return set;
  if (text.front() != 'g') return std::nullopt;
  text.remove_prefix(1);
  if (text.ends_with("-trust")) {
    set.step = CaStep::Trust;
    text.remove_suffix(6);
  } else if (text.ends_with("-sign")) {
    set.step = CaStep::Sign;
    text.remove_suffix(5);
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), set.generation);
  if (ec != std::errc() || end != text.data() + text.size() || set.generation < 0 ||
      set.generation > kMaxCaGeneration || text.empty()) {
    return std::nullopt;
  }
  if (set.generation == 0 && set.step != CaStep::Alone) return std::nullopt;
  return set;
}

}  // namespace magnumd::api
