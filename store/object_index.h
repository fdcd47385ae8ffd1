// The current objects, ordered by (kind, namespace, name), list paging over them, and what they
// weigh (quota.h). Not synchronised: the store guards it with its state lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/object.h"
#include "store/quota.h"
#include "store/store.h"
#include "util/result.h"

namespace magnumd::store {

// Immutable once published, so readers copy them after dropping the lock.
using ObjectPtr = std::shared_ptr<const api::Object>;

struct ListPage {
  std::vector<ObjectPtr> items;
  // The list's revision: the first page's, carried by the continue token to every later page,
  // so a watch from it sees every change made while the client was paging.
  int64_t revision = 0;
  std::string continue_token;
  int64_t remaining = 0;
};

// An object, the size of its stored JSON, and (SQLite store) the objects-table row holding it.
struct StoredObject {
  ObjectPtr object;  // null: absent
  int64_t bytes = 0;
  int64_t row = 0;
};

class ObjectIndex {
 public:
  ObjectPtr find(const api::ObjectKey& key) const { return findStored(key).object; }
  StoredObject findStored(const api::ObjectKey& key) const;
  void put(ObjectPtr object, int64_t bytes, int64_t row = 0);
  void erase(const api::ObjectKey& key);
  size_t size() const { return objects_.size(); }
  const Usage& usage() const { return usage_; }

  // Pages in key order. `revision` is the store's current revision: a first page reports it and
  // puts it in the continue token; later pages keep the token's. A malformed token, or one from
  // another list, is a BadRequest.
  util::Result<ListPage> list(const ListOptions& options, int64_t revision) const;

 private:
  std::map<api::ObjectKey, StoredObject> objects_;
  Usage usage_;
};

// The opaque continue token: the last key returned and the revision of the page.
struct ContinueToken {
  int64_t revision = 0;
  api::Kind kind = api::Kind::Cluster;
  std::string scope_namespace;  // the list's namespace ("" for all)
  std::string last_namespace;
  std::string last_name;
};
std::string encodeContinueToken(const ContinueToken& token);
util::Result<ContinueToken> decodeContinueToken(std::string_view text);

}  // namespace magnumd::store
