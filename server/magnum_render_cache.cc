#include "server/magnum_render_cache.h"

namespace magnumd::server::magnum {

size_t RenderCache::weigh(const Node& node) {
  const RenderKey& k = node.entry.key;
  size_t parent = k.parent ? k.parent->namespace_.size() + k.parent->name.size() : 0;
  // The strings plus what the list, the map and the shared string cost beside them.
  return node.uid.size() * 2 + node.entry.json->size() + k.base_url.size() + k.parent_uid.size() +
         parent + sizeof(Node) + 128;
}

std::optional<RenderCache::Entry> RenderCache::find(const std::string& uid) {
  std::lock_guard lock(mu_);
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->entry;
}

void RenderCache::put(const std::string& uid, RenderKey key,
                      std::shared_ptr<const std::string> json) {
  std::lock_guard lock(mu_);
  if (auto it = by_uid_.find(uid); it != by_uid_.end()) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    by_uid_.erase(it);
  }
  Node node{uid, Entry{std::move(key), std::move(json)}, 0};
  node.bytes = weigh(node);
  if (node.bytes > max_bytes_) return;
  while (bytes_ + node.bytes > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().bytes;
    by_uid_.erase(lru_.back().uid);
    lru_.pop_back();
  }
  bytes_ += node.bytes;
  lru_.push_front(std::move(node));
  by_uid_.emplace(uid, lru_.begin());
}

size_t RenderCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t RenderCache::entries() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace magnumd::server::magnum
