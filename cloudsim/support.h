// Small building blocks shared by the simulator's services: string interning, deterministic ids,
// OpenStack timestamp formats. No HTTP types here.
#pragma once

#include <chrono>
#include <memory>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/time.h"

namespace magnumd::cloudsim {

using util::SystemTime;
constexpr uint32_t kNone = UINT32_MAX;

// Repeated strings (flavors, images, metadata keys and values, reasons) are stored once and
// referred to by a 32-bit id; id 0 is always the empty string.
class Interner {
 public:
  Interner() { intern(""); }
  uint32_t intern(std::string_view s);
  const std::string& get(uint32_t id) const { return *storage_[id]; }
  size_t size() const { return storage_.size(); }

 private:
  std::vector<std::unique_ptr<std::string>> storage_;  // stable addresses for the index's views
  std::unordered_map<std::string_view, uint32_t> index_;
};

// Every id the simulator hands out comes from one seeded generator, so a run with the same seed
// and the same request sequence produces the same ids.
class IdGenerator {
 public:
  explicit IdGenerator(uint64_t seed) : engine_(seed) {}
  std::string uuid();   // 8-4-4-4-12, version 4 layout
  std::string hex32();  // Keystone-style 32 hex digits
  double uniform01() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
  uint64_t next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

// A stable 32-hex id derived from a name, so configured users and projects keep their ids across
// restarts regardless of the seed.
std::string stableHexId(std::string_view kind, std::string_view name);

// "2026-11-25T11:57:21.123456Z" (Keystone) and "2026-11-25T11:57:21.123456" (Nova launched_at).
std::string formatMicros(SystemTime t, bool zulu);
inline std::string formatSeconds(SystemTime t) { return util::formatRfc3339(t); }

std::vector<std::string> splitComma(std::string_view s);  // trims spaces, drops empties
std::string joinComma(const std::vector<std::string>& items);
bool isUuidLike(std::string_view s);
// Shell-style match: `*` any run of characters, `?` one character, everything else itself.
bool globMatch(std::string_view pattern, std::string_view text);
// The id Glance shows for an image given by name (a stable UUID), or the id itself.
std::string imageId(std::string_view image);

}  // namespace magnumd::cloudsim
