// Keystone v3: the auth request body, the token and its catalog, endpoint selection. Pure
// functions over JSON text; the Session does the I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/openstack/cloud_config.h"
#include "util/result.h"
#include "util/time.h"

namespace magnumd::drivers::openstack {

struct CatalogEndpoint {
  std::string interface;
  std::string region_id;  // region_id, or the deprecated region when region_id is absent
  std::string url;
};

struct CatalogService {
  std::string type;
  std::string name;
  std::vector<CatalogEndpoint> endpoints;
};

struct Token {
  std::string id;  // from the X-Subject-Token header
  std::optional<util::SystemTime> expires_at;  // nullopt: never expires
  std::string user_id;
  std::string user_name;
  std::string project_id;
  std::string project_name;
  std::vector<std::string> roles;  // role names on the project
  std::vector<CatalogService> catalog;
};

// A project the caller may scope a token to (GET /v3/auth/projects).
struct ProjectRef {
  std::string id;
  std::string name;
  std::string domain_id;
  bool enabled = true;
};

// POST /v3/auth/tokens body for the configured method. Application credentials send no scope.
std::string authRequestBody(const CloudConfig& config);

// Parses {"token": {...}} (the token id comes from the header, so it is passed in).
util::Result<Token> parseTokenResponse(std::string_view body, std::string token_id);
// Parses {"catalog": [...]} (GET /v3/auth/catalog) or a token's catalog array.
util::Result<std::vector<CatalogService>> parseCatalogResponse(std::string_view body);

// Parses {"projects": [...]} (GET /v3/auth/projects).
util::Result<std::vector<ProjectRef>> parseProjectsResponse(std::string_view body);

// The endpoint URL for a service type, interface and region ("" = any region), with the
// project id substituted for %(tenant_id)s, %(project_id)s, $(tenant_id)s, $(project_id)s and
// no trailing slash. NotFound names what the catalog offers instead.
util::Result<std::string> selectEndpoint(const std::vector<CatalogService>& catalog,
                                         std::string_view service_type, std::string_view interface,
                                         std::string_view region, std::string_view project_id);

}  // namespace magnumd::drivers::openstack
