// Glance v2 client (service type "image"): finding an image by id or name, and its parsers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/cloud_lookup.h"
#include "drivers/openstack/session.h"
#include "util/json.h"

namespace magnumd::drivers::openstack {

util::Result<Image> parseImage(const util::Json& object);
util::Result<Image> parseImageShowResponse(std::string_view body);
util::Result<std::vector<Image>> parseImageListResponse(std::string_view body);

class GlanceClient {
 public:
  explicit GlanceClient(Session& session) : session_(session) {}

  // By id when it is one (GET /v2/images/{id}), else by exact name (GET /v2/images?name=).
  Task<Image> find(std::string name_or_id);

 private:
  // "/v2" unless the catalog's endpoint already ends with the version.
  boost::asio::awaitable<util::Result<std::string>> prefix();

  Session& session_;
};

}  // namespace magnumd::drivers::openstack
