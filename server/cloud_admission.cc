#include "server/cloud_admission.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "api/admission.h"
#include "api/cluster.h"
#include "api/cluster_template.h"

namespace magnumd::server {

using util::ErrorCode;
using util::makeError;

CloudAdmission::CloudAdmission(const store::Store& store, drivers::NamespaceLookups& lookups,
                               const util::Clock& clock, CloudAdmissionOptions options)
    : store_(store), lookups_(lookups), clock_(clock), options_(options) {}

uint64_t CloudAdmission::cloudCalls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

// What an object makes the cloud boot: a template its image and flavors; a cluster what it
// resolves to against its template (its own overrides first), including the key pair.
util::Result<std::vector<CloudAdmission::Ref>> CloudAdmission::refsOf(
    const api::Object& object) const {
  std::vector<Ref> refs;
  if (object.kind == api::Kind::ClusterTemplate) {
    ASSIGN_OR_RETURN(auto t, api::decodeClusterTemplateSpec(object.spec));
    refs.push_back({What::Image, t.image, "spec.image", "", t.coe});
    refs.push_back({What::Flavor, t.flavor, "spec.flavor", "", ""});
    refs.push_back({What::Flavor, t.master_flavor, "spec.masterFlavor", "", ""});
    return refs;
  }
  if (object.kind != api::Kind::Cluster) return refs;
  ASSIGN_OR_RETURN(auto c, api::decodeClusterSpec(object.spec));
  auto ref = api::templateRefOf(object.spec, object.metadata.namespace_);
  auto stored = store_.get({api::Kind::ClusterTemplate, ref.namespace_, ref.name});
  if (!stored.ok()) return refs;  // admission already refused a missing template
  ASSIGN_OR_RETURN(auto t, api::decodeClusterTemplateSpec(stored->spec));
  const auto config = api::resolveCluster(t, c);
  const std::string from = fmt::format(" (from template \"{}\")", ref.name);
  refs.push_back({What::Image, config.image, "spec.clusterTemplate", from, t.coe});
  refs.push_back({What::Flavor, config.flavor, "spec.flavor", c.flavor ? "" : from, ""});
  refs.push_back(
      {What::Flavor, config.master_flavor, "spec.masterFlavor", c.master_flavor ? "" : from, ""});
  if (config.keypair)
    refs.push_back({What::Keypair, *config.keypair, "spec.keypair", c.keypair ? "" : from, ""});
  return refs;
}

boost::asio::awaitable<util::Result<CloudAdmission::Cached>> CloudAdmission::lookup(
    drivers::ProjectLookup project, What what, std::string value) {
  const auto key = std::make_tuple(project.project, what, value);
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires > clock_.monotonic()) co_return it->second;
    ++calls_;
  }
  Cached answer;
  if (what == What::Image) {
    auto image = co_await project.lookup->findImage(value);
    if (image.ok())
      answer.os_distro = image->os_distro;
    else
      answer.status = image.takeError();
  } else if (what == What::Flavor) {
    auto flavor = co_await project.lookup->findFlavor(value);
    if (!flavor.ok()) answer.status = flavor.takeError();
  } else {
    auto keypair = co_await project.lookup->findKeypair(value);
    if (!keypair.ok()) answer.status = keypair.takeError();
  }
  // Only answers are cached: the cloud's own failures are retried by the next request.
  const ErrorCode code = answer.status.ok() ? ErrorCode::Internal : answer.status.error().code;
  const bool found = answer.status.ok();
  if (!found && code != ErrorCode::NotFound && code != ErrorCode::Conflict)
    co_return answer.status.takeError();
  answer.expires = clock_.monotonic() + (found ? options_.found_ttl : options_.missing_ttl);
  std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_entries) cache_.clear();
  cache_[key] = answer;
  co_return answer;
}

util::Status CloudAdmission::judge(const Ref& ref, const util::Result<Cached>& found,
                                   api::Kind kind, const std::string& keypair_user,
                                   std::vector<util::Cause>& causes) const {
  static constexpr const char* kNames[] = {"image", "flavor", "key pair"};
  const char* name = kNames[static_cast<int>(ref.what)];
  if (!found.ok()) {
    return makeError(
        ErrorCode::Unavailable,
        fmt::format("cannot check {} {} \"{}\" against the cloud, so the {} was not "
                    "accepted; try again: {}",
                    ref.field, name, ref.value, api::kindInfo(kind).name, found.error().message));
  }
  const util::Status& status = found->status;
  if (!status.ok()) {
    // Magnum: ImageNotFound, FlavorNotFound, KeyPairNotFound (400); an ambiguous name, 409 there.
    const std::string_view where = ref.what == What::Image ? "Glance" : "Nova";
    if (status.error().code != ErrorCode::NotFound) {
      causes.push_back({ref.field, fmt::format("{}{}", status.error().message, ref.origin)});
    } else if (ref.what == What::Keypair && !keypair_user.empty()) {
      // Nova keeps key pairs per user, and magnumd boots every project's servers as its one
      // service user: a key pair the requesting user made with their own login is not found.
      causes.push_back(
          {ref.field,
           fmt::format("key pair \"{0}\"{1} not found in Nova among the key pairs of magnumd's "
                       "service user \"{2}\", which boots every cluster's servers; create it as "
                       "that user, or as an admin with `openstack --os-compute-api-version 2.10 "
                       "keypair create --user {2} --public-key FILE {0}`",
                       ref.value, ref.origin, keypair_user)});
    } else {
      causes.push_back({ref.field, fmt::format("{} \"{}\"{} not found in {}", name, ref.value,
                                               ref.origin, where)});
    }
    return {};
  }
  if (ref.what == What::Image && found->os_distro.empty()) {
    // Magnum: OSDistroFieldNotFound (400); the property decides which driver boots the image.
    causes.push_back(
        {ref.field, fmt::format("image \"{}\"{} has no os_distro property, which "
                                "decides the driver; set one of {}, e.g. `openstack "
                                "image set --property os_distro=fedora-coreos {}`",
                                ref.value, ref.origin,
                                fmt::join(api::clusterDistrosFor(ref.coe), ", "), ref.value)});
    return {};
  }
  const auto& bootable = api::clusterDistrosFor(ref.coe);
  if (ref.what == What::Image &&
      std::find(bootable.begin(), bootable.end(), found->os_distro) == bootable.end()) {
    // Magnum: ClusterTypeNotSupported (400): no driver for (vm, os_distro, coe).
    causes.push_back(
        {ref.field,
         fmt::format("image \"{}\"{} has os_distro \"{}\", which the {} driver "
                     "does not boot; valid: {}",
                     ref.value, ref.origin, found->os_distro, ref.coe, fmt::join(bootable, ", "))});
  }
  return {};
}

boost::asio::awaitable<util::Status> CloudAdmission::check(api::Object next,
                                                           const api::Object* current) {
  CO_ASSIGN_OR_RETURN(auto refs, refsOf(next));
  std::vector<Ref> before;
  if (current != nullptr) {
    auto previous = refsOf(*current);
    if (previous.ok()) before = std::move(*previous);
  }
  std::vector<util::Cause> causes;
  std::optional<drivers::ProjectLookup> project;  // asked once, and only when something changed
  const std::string keypair_user = lookups_.keypairUser();
  for (const auto& ref : refs) {
    if (ref.value.empty()) continue;
    const bool unchanged = std::any_of(before.begin(), before.end(), [&](const Ref& b) {
      return b.what == ref.what && b.value == ref.value && b.field == ref.field;
    });
    if (unchanged) continue;
    if (!project) {
      CO_ASSIGN_OR_RETURN(project, co_await lookups_.forNamespace(next.metadata.namespace_));
    }
    auto found = co_await lookup(*project, ref.what, ref.value);
    CO_RETURN_IF_ERROR(judge(ref, found, next.kind, keypair_user, causes));
  }
  if (!causes.empty()) co_return makeError(ErrorCode::Invalid, "", std::move(causes));
  co_return util::Status();
}

}  // namespace magnumd::server
