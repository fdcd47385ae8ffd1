// Nova v2.1 client (service type "compute") and its parsers. Sends the compute microversion
// in both the new and the legacy header.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/cloud_driver.h"
#include "drivers/cloud_lookup.h"
#include "drivers/openstack/heat_parse.h"
#include "drivers/openstack/session.h"
#include "util/json.h"

namespace magnumd::drivers::openstack {

struct NovaOptions {
  std::string microversion = "2.26";  // server tags and tag filters
  int page_size = 1000;               // Nova's default max_limit
  int max_pages = 10000;
};

util::Result<Server> parseServer(const util::Json& object);
util::Result<Server> parseServerShowResponse(std::string_view body);
util::Result<Page<Server>> parseServerListResponse(std::string_view body);
util::Result<Flavor> parseFlavor(const util::Json& object);
util::Result<std::vector<Flavor>> parseFlavorListResponse(std::string_view body);
util::Result<Keypair> parseKeypairShowResponse(std::string_view body);

class NovaClient {
 public:
  explicit NovaClient(Session& session, NovaOptions options = {});

  Task<std::vector<Server>> list(ServerQuery query);
  Task<Page<Server>> listPage(ServerQuery query, PageRequest page);
  Task<Server> get(std::string id);
  StatusTask remove(std::string id);
  // By id (GET /flavors/{id}), else by exact name among all flavors (nova_lookup.cc).
  Task<Flavor> findFlavor(std::string name_or_id);
  // The authenticated user's key pair of that name.
  Task<Keypair> findKeypair(std::string name);

 private:
  std::vector<http::Header> versionHeaders() const;

  Session& session_;
  NovaOptions options_;
};

}  // namespace magnumd::drivers::openstack
