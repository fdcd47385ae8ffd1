// Which cloud to talk to and how to authenticate: clouds.yaml (+ secure.yaml) found and merged
// the way openstacksdk does it, selected by name (--os-cloud / OS_CLOUD), or OS_* variables.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace magnumd::drivers::openstack {

struct CloudConfig {
  std::string name;  // the clouds.yaml entry, or "envvars"
  std::string auth_type = "password";  // "password" | "v3applicationcredential"
  std::string auth_url;                // Keystone v3 root (".../v3" appended when missing)
  std::string username;
  std::string user_id;
  std::string password;
  std::string user_domain_name;
  std::string user_domain_id;
  std::string project_name;
  std::string project_id;
  std::string project_domain_name;
  std::string project_domain_id;
  std::string application_credential_id;
  std::string application_credential_name;
  std::string application_credential_secret;
  std::string region_name;             // "" matches any region
  std::string interface = "public";    // public | internal | admin
  std::string cacert;
  bool insecure = false;
  std::string source;                  // where it came from, for messages

  bool isApplicationCredential() const { return auth_type == "v3applicationcredential"; }
};

// The process environment, injectable for tests.
struct ConfigEnvironment {
  std::map<std::string, std::string> vars;
  std::string cwd;
  std::string home;

  static ConfigEnvironment fromProcess();
  std::string get(std::string_view name) const;  // "" when unset
};

// Files tried in order; the first that exists wins (openstacksdk's CONFIG_FILES, with
// OS_CLIENT_CONFIG_FILE first): ./clouds.y{a,}ml, ~/.config/openstack/clouds.y{a,}ml,
// /etc/openstack/clouds.y{a,}ml.
std::vector<std::string> cloudsFileCandidates(const ConfigEnvironment& env);
// Same directories for secure.yaml, with OS_SECURE_FILE first.
std::vector<std::string> secureFileCandidates(const ConfigEnvironment& env);

// cloud_name "" means OS_CLOUD, and without it the OS_* variables. Errors name the file, the
// cloud and the missing or invalid field.
util::Result<CloudConfig> loadCloudConfig(std::string_view cloud_name, const ConfigEnvironment& env);

// From clouds.yaml text (and optional secure.yaml text) directly.
util::Result<CloudConfig> cloudConfigFromYaml(std::string_view cloud_name, std::string_view clouds_yaml,
                                              std::string_view secure_yaml, std::string_view source);
util::Result<CloudConfig> cloudConfigFromEnv(const ConfigEnvironment& env);

// Checks that the configuration names a user (or credential) and a scope.
util::Status validateCloudConfig(const CloudConfig& config);

}  // namespace magnumd::drivers::openstack
