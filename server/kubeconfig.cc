#include "server/kubeconfig.h"

#include <span>
#include <string_view>

#include "pki/encoding.h"
#include "util/json.h"
#include "util/yaml.h"

namespace magnumd::server {

namespace {

std::string base64(std::string_view text) {
  return pki::base64Encode(
      std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

}  // namespace

std::string renderKubeconfig(const KubeconfigParams& p) {
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  auto str = [&a](std::string_view s) { return util::str(s, a); };

  util::Json cluster(rapidjson::kObjectType);
  if (!p.ca_pem.empty()) cluster.AddMember("certificate-authority-data", str(base64(p.ca_pem)), a);
  cluster.AddMember("server", str(p.server), a);
  util::Json named_cluster(rapidjson::kObjectType);
  named_cluster.AddMember("cluster", cluster, a);
  named_cluster.AddMember("name", str(p.cluster_name), a);
  util::Json clusters(rapidjson::kArrayType);
  clusters.PushBack(named_cluster, a);

  util::Json context(rapidjson::kObjectType);
  context.AddMember("cluster", str(p.cluster_name), a);
  if (!p.namespace_.empty()) context.AddMember("namespace", str(p.namespace_), a);
  context.AddMember("user", str(p.user), a);
  util::Json named_context(rapidjson::kObjectType);
  named_context.AddMember("context", context, a);
  named_context.AddMember("name", str(p.context), a);
  util::Json contexts(rapidjson::kArrayType);
  contexts.PushBack(named_context, a);

  util::Json user(rapidjson::kObjectType);
  if (!p.token.empty()) {
    user.AddMember("token", str(p.token), a);
  } else {
    user.AddMember("client-certificate-data", str(base64(p.client_certificate_pem)), a);
    user.AddMember("client-key-data", str(base64(p.client_key_pem)), a);
  }
  util::Json named_user(rapidjson::kObjectType);
  named_user.AddMember("name", str(p.user), a);
  named_user.AddMember("user", user, a);
  util::Json users(rapidjson::kArrayType);
  users.PushBack(named_user, a);

  doc.AddMember("apiVersion", "v1", a);
  doc.AddMember("clusters", clusters, a);
  doc.AddMember("contexts", contexts, a);
  doc.AddMember("current-context", str(p.context), a);
  doc.AddMember("kind", "Config", a);
  doc.AddMember("preferences", util::Json(rapidjson::kObjectType), a);
  doc.AddMember("users", users, a);
  return util::toYaml(doc);
}

}  // namespace magnumd::server
