// The Magnum JSON of each object, kept once rendered: a list of 100 clusters then writes 100
// stored strings instead of parsing 100 specs and statuses, rebuilding 100 documents and
// serializing them again. It is kube-apiserver's cachingObject idea (one serialization per
// object version, shared by every reader) applied to Magnum's view.
//
// A rendering is a pure function of the object's version, its parent's version (a cluster shows
// its template's labels and inherited fields; a node group links to its cluster) and the view's
// variant (microversion, detail, base URL). The entry records all of them, so an entry for
// another version is a miss and nothing ever needs invalidating. The cache is bounded in bytes:
// the least recently used renderings go first.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "api/object.h"
#include "server/magnum_version.h"

namespace magnumd::server::magnum {

// What a rendering depends on besides the object's uid.
struct RenderKey {
  int64_t resource_version = 0;
  // The parent the rendering showed: its key (read again to check), uid and version; an empty
  // uid when there was none.
  std::optional<api::ObjectKey> parent;
  std::string parent_uid;
  int64_t parent_resource_version = 0;
  Microversion version;
  bool detail = true;
  std::string base_url;

  bool operator==(const RenderKey&) const = default;
};

class RenderCache {
 public:
  explicit RenderCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The rendering of `uid` and the key it was made under; nullopt when none is kept.
  struct Entry {
    RenderKey key;
    std::shared_ptr<const std::string> json;
  };
  std::optional<Entry> find(const std::string& uid);
  // Keeps `json` for `uid` (replacing an older rendering), evicting the least recently used
  // until the total fits; a rendering larger than the whole budget is not kept.
  void put(const std::string& uid, RenderKey key, std::shared_ptr<const std::string> json);

  size_t bytes() const;
  size_t entries() const;

 private:
  struct Node {
    std::string uid;
    Entry entry;
    size_t bytes = 0;
  };
  static size_t weigh(const Node& node);

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<Node> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Node>::iterator> by_uid_;
  size_t bytes_ = 0;
};

}  // namespace magnumd::server::magnum
