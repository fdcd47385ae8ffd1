#include "reconcilers/names.h"

#include <fmt/format.h>

#include <charconv>

namespace magnumd::reconcilers {

std::string groupNameOf(const api::Object& nodegroup) {
  auto it = nodegroup.metadata.labels.find(std::string(kDefaultGroupLabel));
  if (it != nodegroup.metadata.labels.end() && !it->second.empty()) return it->second;
  return nodegroup.metadata.name;
}

std::string defaultGroupObjectName(std::string_view cluster, std::string_view group) {
  return fmt::format("{}-{}", cluster, group);
}

std::string definitionHash(const std::string& template_text,
                           const std::map<std::string, std::string>& files,
                           const std::map<std::string, std::string>& parameters) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // separator, so ("ab","c") and ("a","bc") differ
    h *= 1099511628211ULL;
  };
  mix(template_text);
  for (const auto& [name, text] : files) {
    mix(name);
    mix(text);
  }
  for (const auto& [k, v] : parameters) {
    if (k.ends_with("_removal_list")) continue;
    mix(k);
    mix(v);
  }
  return fmt::format("{:016x}", h);
}

std::optional<std::string> tagValue(const std::vector<std::string>& tags, std::string_view prefix) {
  for (const auto& tag : tags) {
    if (tag.size() > prefix.size() && tag.starts_with(prefix)) return tag.substr(prefix.size());
  }
  return std::nullopt;
}

std::optional<int64_t> generationTag(const drivers::Stack& stack) {
  auto text = tagValue(stack.tags, kGenerationTagPrefix);
  if (!text) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size()) return std::nullopt;
  return value;
}

}  // namespace magnumd::reconcilers
