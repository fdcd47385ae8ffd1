// Nova's os-keypairs over HTTP: create (with a public key, or generated: the private key is
// returned once), list, show, delete, with Nova's bodies and status codes per microversion.
#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <regex>

#include "cloudsim/sim.h"
#include "pki/encoding.h"
#include "pki/key.h"

namespace magnumd::cloudsim {
namespace {

using util::Json;
using util::JsonAlloc;

Response reply(int mv, http::status status, const Json& body) {
  Response res = jsonReply(status, body);
  std::string v = fmt::format("2.{}", mv);
  res.set("OpenStack-API-Version", "compute " + v);
  res.set("X-OpenStack-Nova-API-Version", v);
  res.set(http::field::vary, "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
  return res;
}

void putSshString(std::string& out, std::string_view bytes) {
  uint32_t n = static_cast<uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(bytes);
}

// An mpint (RFC 4251): big-endian, with a leading zero when the top bit is set.
std::string mpint(const BIGNUM* bn) {
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  if (!bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80))
    bytes.insert(bytes.begin(), '\0');
  return bytes;
}

// An RSA key pair as Nova generates one: the OpenSSH public key and the private key's PEM.
util::Result<std::pair<std::string, std::string>> generateSshKey() {
  ASSIGN_OR_RETURN(auto key, pki::generateKey(pki::KeyAlgorithm::Rsa2048));
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
      EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
    BN_free(n);
    return util::makeError(util::ErrorCode::Internal, "cannot read the generated RSA key");
  }
  std::string blob;
  putSshString(blob, "ssh-rsa");
  putSshString(blob, mpint(e));
  putSshString(blob, mpint(n));
  BN_free(n);
  BN_free(e);
  std::span<const unsigned char> raw(reinterpret_cast<const unsigned char*>(blob.data()),
                                     blob.size());
  ASSIGN_OR_RETURN(auto pem, pki::privateKeyToPem(*key));
  return std::pair{"ssh-rsa " + pki::base64Encode(raw) + " Generated-by-Nova", std::move(pem)};
}

Json keypairJson(const Keypair& k, int mv, JsonAlloc& a, bool detail) {
  Json j(rapidjson::kObjectType);
  j.AddMember("name", util::str(k.name, a), a);
  j.AddMember("public_key", util::str(k.public_key, a), a);
  j.AddMember("fingerprint", util::str(k.fingerprint, a), a);
  if (mv >= 2) j.AddMember("type", util::str(k.type, a), a);
  if (detail) {
    j.AddMember("user_id", util::str(k.user_id, a), a);
    j.AddMember("id", k.id, a);
    j.AddMember("created_at", util::str(formatMicros(k.created, false), a), a);
    j.AddMember("deleted", false, a);
    j.AddMember("deleted_at", Json(), a);
    j.AddMember("updated_at", Json(), a);
  }
  return j;
}

Response createKeypair(Sim& sim, Call& call, int mv, const std::string& user_id) {
  auto body = parseBody(call);
  const Json* kp = body.ok() ? util::member(*body, "keypair") : nullptr;
  if (kp == nullptr || !kp->IsObject())
    return novaError(
        http::status::bad_request,
        "Invalid input for field/attribute keypair. Value: None. None is not of type 'object'");
  auto name = util::stringMember(*kp, "name");
  // Nova's schema: 1-255 characters; from 2.92 also '@' and '.'.
  static const std::regex kName("^[a-zA-Z0-9 _-]+$"), kName92("^[a-zA-Z0-9 @._-]+$");
  if (!name || name->empty() || name->size() > 255 ||
      !std::regex_match(*name, mv >= 92 ? kName92 : kName)) {
    return novaError(http::status::bad_request,
                     fmt::format("Invalid input for field/attribute name. Value: {}. Keypair names "
                                 "are 1-255 characters of letters, digits, spaces, '_' and '-'",
                                 name.value_or("None")));
  }
  Keypair k;
  k.name = *name;
  k.user_id = user_id;
  if (auto type = util::stringMember(*kp, "type"); type && mv >= 2) {
    if (*type != "ssh" && *type != "x509")
      return novaError(http::status::bad_request,
                       fmt::format("Invalid input for field/attribute type. Value: {}. '{}' is not "
                                   "one of ['ssh', 'x509']",
                                   *type, *type));
    k.type = *type;
  }
  std::string private_key;
  if (auto pub = util::stringMember(*kp, "public_key")) {
    auto fp = KeypairStore::fingerprint(*pub);
    if (!fp.ok()) return novaError(http::status::bad_request, fp.error().message);
    k.public_key = *pub;
    k.fingerprint = *fp;
  } else {
    if (mv >= 92)
      return novaError(
          http::status::bad_request,
          "Invalid input for field/attribute keypair. 'public_key' is a required property");
    if (sim.keypairs().find(user_id, k.name) != nullptr) {
      return novaError(http::status::conflict,
                       fmt::format("Key pair '{}' already exists.", k.name));
    }
    auto generated = generateSshKey();
    if (!generated.ok())
      return novaError(http::status::internal_server_error, generated.error().message);
    k.public_key = generated->first;
    private_key = generated->second;
    k.fingerprint = KeypairStore::fingerprint(k.public_key).value();
  }
  auto created = sim.keypairs().create(std::move(k));
  if (!created.ok()) return novaError(http::status::conflict, created.error().message);
  util::JsonDoc doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  Json j = keypairJson(**created, mv, a, false);
  j.AddMember("user_id", util::str(user_id, a), a);
  if (!private_key.empty()) j.AddMember("private_key", util::str(private_key, a), a);
  doc.AddMember("keypair", j, a);
  return reply(mv, mv >= 2 ? http::status::created : http::status::ok, doc);
}

}  // namespace

// seg: v2.1, os-keypairs[, name]. Key pairs are the caller's own (admins may name another user
// with ?user_id= from 2.10).
Response handleKeypairs(Sim& sim, Call& call, int mv) {
  const auto& seg = call.seg;
  std::string user_id = sim.identity().user(call.token->user).id;
  if (auto other = call.query.get("user_id"); other && mv >= 10) {
    if (!sim.identity().isAdmin(*call.token))
      return novaError(http::status::forbidden,
                       "Policy doesn't allow os_compute_api:os-keypairs:index to be performed.");
    user_id = *other;
  }
  if (seg.size() == 2) {
    if (call.method == "POST") return createKeypair(sim, call, mv, user_id);
    if (call.method != "GET")
      return novaError(http::status::method_not_allowed,
                       "The method is not allowed for this resource.");
    util::JsonDoc doc;
    doc.SetObject();
    auto& a = doc.GetAllocator();
    Json list(rapidjson::kArrayType);
    for (const Keypair* k : sim.keypairs().list(user_id)) {
      Json item(rapidjson::kObjectType);
      item.AddMember("keypair", keypairJson(*k, mv, a, false), a);
      list.PushBack(item, a);
    }
    doc.AddMember("keypairs", list, a);
    return reply(mv, http::status::ok, doc);
  }
  if (seg.size() != 3)
    return novaError(http::status::not_found, "The resource could not be found.");
  const Keypair* k = sim.keypairs().find(user_id, seg[2]);
  if (k == nullptr)
    return novaError(http::status::not_found,
                     fmt::format("Keypair {} not found for user {}", seg[2], user_id));
  if (call.method == "GET") {
    util::JsonDoc doc;
    doc.SetObject();
    auto& a = doc.GetAllocator();
    doc.AddMember("keypair", keypairJson(*k, mv, a, true), a);
    return reply(mv, http::status::ok, doc);
  }
  if (call.method == "DELETE") {
    sim.keypairs().remove(user_id, seg[2]);
    return emptyReply(mv >= 2 ? http::status::no_content : http::status::accepted);
  }
  return novaError(http::status::method_not_allowed,
                   "The method is not allowed for this resource.");
}

}  // namespace magnumd::cloudsim
