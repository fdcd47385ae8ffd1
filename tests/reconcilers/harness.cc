#include "tests/reconcilers/harness.h"

#include <fmt/format.h>

#include <regex>
#include <set>

#include "controller/object_helpers.h"
#include "drivers/coe/coe_driver.h"
#include "reconcilers/names.h"
#include "util/json.h"

namespace magnumd::reconcilers::testing {

using controller::testing::eventually;

void ReconcilerTest::SetUp() {
  StoreFixture::SetUp();
  fake_ = std::make_unique<FakeCloudDriver>("demo-project", &clock_);
  fake_->setOnChange([this](FakeCloudDriver& f, const std::string& id) { simulateHeat(f, id); });
  counting_ = std::make_unique<CountingCloudDriver>(*fake_, nullptr);
  guard_ = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      io_.get_executor());
  io_thread_ = std::thread([this] { io_.run(); });
  cloud_ = std::make_unique<CloudCall>(io_, *counting_, std::chrono::seconds(10));
  observer_ = std::make_unique<CloudObserver>(*counting_, ObserverOptions{},
                                              [this](const std::string& uid) { changed_.push_back(uid); });
  clouds_ = std::make_unique<OneProject>(*cloud_, *observer_);

  controller::InformerOptions cluster_options;
  cluster_options.kind = api::Kind::Cluster;
  clusters_ = std::make_unique<controller::Informer>(*store_, cluster_options);
  clusters_->addIndex(std::string(kByUid), [](const api::Object& o) {
    return std::vector<std::string>{o.metadata.uid};
  });
  controller::InformerOptions ng_options;
  ng_options.kind = api::Kind::NodeGroup;
  nodegroups_ = std::make_unique<controller::Informer>(*store_, ng_options);
  nodegroups_->addIndex(std::string(kByCluster), [](const api::Object& o) {
    return std::vector<std::string>{
        controller::namespacedName(o.metadata.namespace_, api::clusterOfNodeGroup(o.spec))};
  });
  clusters_->start();
  nodegroups_->start();
  ASSERT_TRUE(clusters_->waitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(nodegroups_->waitForSync(std::chrono::seconds(5)));

  options_.in_flight_requeue = std::chrono::seconds(30);
  options_.failed_retry = std::chrono::seconds(60);
  const std::string key_file = dir_ + "/encryption.key";
  ASSERT_TRUE(pki::generateKeyFile(key_file).ok());
  auto kek = pki::KeyEncryptionKey::load(key_file);
  ASSERT_TRUE(kek.ok()) << kek.error().message;
  kek_.emplace(std::move(*kek));
  secrets_ = std::make_unique<secrets::ClusterSecretStore>(*store_, *kek_, clock_);
  cluster_reconciler_ = std::make_unique<ClusterReconciler>(
      ClusterDeps{*store_, *nodegroups_, *clouds_, events_, clock_, secrets_.get()}, options_);
  nodegroup_reconciler_ =
      std::make_unique<NodeGroupReconciler>(NodeGroupDeps{*store_, *clouds_, events_, clock_});
  GarbageCollectorOptions gc_options;
  gc_options.grace = std::chrono::minutes(5);
  gc_ = std::make_unique<GarbageCollector>(*store_, *clusters_, *clouds_, clock_, gc_options);
  observe(true);
}

void ReconcilerTest::TearDown() {
  cluster_reconciler_.reset();
  secrets_.reset();
  nodegroup_reconciler_.reset();
  gc_.reset();
  clusters_->stop();
  nodegroups_->stop();
  guard_.reset();
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  clusters_.reset();
  nodegroups_.reset();
  StoreFixture::TearDown();
}

api::Object ReconcilerTest::createTemplate(const std::string& name) {
  auto spec = api::admitSpec(api::Kind::ClusterTemplate,
                             R"({"coe":"kubernetes","image":"fedora-coreos-38","keypair":"demo-key",)"
                             R"("externalNetwork":"public","flavor":"m1.small","masterFlavor":"m1.medium",)"
                             R"("labels":{"kube_tag":"v1.32.4"}})");
  EXPECT_TRUE(spec.ok()) << spec.error().message;
  return create(object(api::Kind::ClusterTemplate, name, *spec));
}

api::Object ReconcilerTest::createCluster(const std::string& name, int64_t masters, int64_t workers,
                                          const std::string& extra_spec) {
  auto text = fmt::format(R"({{"clusterTemplate":"k8s","masterCount":{},"nodeCount":{}{}}})", masters,
                          workers, extra_spec.empty() ? "" : "," + extra_spec);
  auto tmpl = store_->get({api::Kind::ClusterTemplate, "demo", "k8s"});
  auto spec = api::admitSpec(api::Kind::Cluster, text,
                             tmpl.ok() ? std::optional<std::string>(tmpl->spec) : std::nullopt);
  EXPECT_TRUE(spec.ok()) << spec.error().message;
  return create(object(api::Kind::Cluster, name, spec.ok() ? *spec : text));
}

api::Object ReconcilerTest::createNodeGroup(const std::string& name, const std::string& cluster,
                                            int64_t count, const std::string& extra_spec) {
  auto text = fmt::format(R"({{"cluster":"{}","nodeCount":{}{}}})", cluster, count,
                          extra_spec.empty() ? "" : "," + extra_spec);
  auto spec = api::admitSpec(api::Kind::NodeGroup, text);
  EXPECT_TRUE(spec.ok()) << spec.error().message;
  return create(object(api::Kind::NodeGroup, name, spec.ok() ? *spec : text));
}

api::Object ReconcilerTest::get(api::Kind kind, const std::string& name) {
  auto got = store_->get({kind, "demo", name});
  EXPECT_TRUE(got.ok()) << name << ": " << got.error().message;
  return got.ok() ? *got : api::Object{};
}

api::ClusterStatus ReconcilerTest::clusterStatus(const std::string& name) {
  auto st = api::decodeClusterStatus(get(api::Kind::Cluster, name).status);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return st.ok() ? *st : api::ClusterStatus{};
}

api::NodeGroupStatus ReconcilerTest::nodeGroupStatus(const std::string& name) {
  auto st = api::decodeNodeGroupStatus(get(api::Kind::NodeGroup, name).status);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return st.ok() ? *st : api::NodeGroupStatus{};
}

void ReconcilerTest::patchSpec(api::Kind kind, const std::string& name, const std::string& merge_fields) {
  auto object = get(kind, name);
  auto doc = util::parseJson(object.spec);
  auto fields = util::parseJson(merge_fields);
  ASSERT_TRUE(doc.ok() && fields.ok());
  for (auto& m : fields->GetObject()) {
    util::Json value(m.value, doc->GetAllocator());
    if (doc->HasMember(m.name)) {
      (*doc)[m.name] = value;
    } else {
      doc->AddMember(util::Json(m.name, doc->GetAllocator()), value, doc->GetAllocator());
    }
  }
  object.spec = util::toJson(*doc);
  update(object);
}

void ReconcilerTest::deleteObject(api::Kind kind, const std::string& name) {
  auto r = store::removeSync(*store_, {kind, "demo", name}, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

void ReconcilerTest::settleInformers() {
  auto same = [&](controller::Informer& informer, api::Kind kind) {
    store::ListOptions o;
    o.kind = kind;
    auto listed = store_->list(o);
    if (!listed.ok()) return false;
    auto cached = informer.list();
    if (cached.size() != listed->items.size()) return false;
    for (size_t i = 0; i < cached.size(); ++i) {
      if (cached[i]->metadata.resource_version != listed->items[i].metadata.resource_version) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually([&] {
    return same(*clusters_, api::Kind::Cluster) && same(*nodegroups_, api::Kind::NodeGroup);
  }));
}

controller::Result ReconcilerTest::reconcileCluster(const std::string& name) {
  settleInformers();
  auto r = cluster_reconciler_->reconcile({api::Kind::Cluster, "demo", name});
  settleInformers();
  return r;
}

controller::Result ReconcilerTest::reconcileNodeGroup(const std::string& name) {
  settleInformers();
  return nodegroup_reconciler_->reconcile({api::Kind::NodeGroup, "demo", name});
}

void ReconcilerTest::observe(bool full) {
  auto status = cloud_->run(observer_->syncOnce(full));
  ASSERT_TRUE(status.ok()) << status.error().message;
}

void ReconcilerTest::activateServers() {
  for (const auto& s : fake_->servers()) {
    if (s.status == "BUILD") fake_->setServerStatus(s.id, "ACTIVE");
  }
}

void ReconcilerTest::completeStacks() {
  for (const auto& s : fake_->stacks()) {
    if (s.deleted || s.stack.status != "DELETE_IN_PROGRESS") continue;
    std::lock_guard lock(heat_mutex_);
    for (auto& [group, members] : members_[s.stack.ref.id]) {
      for (const auto& m : members) fake_->removeServer(m.server_id);
    }
    members_.erase(s.stack.ref.id);
  }
  fake_->completeAll();
  for (const auto& s : fake_->stacks()) {
    if (!s.deleted) fake_->setOutput(s.stack.ref.id, "api_address", "\"192.0.2.10\"");
  }
}

void ReconcilerTest::cloudSettles() {
  activateServers();
  completeStacks();
  clock_.advance(std::chrono::seconds(10));
  observe(false);
}

std::vector<FakeCloudDriver::FakeStack> ReconcilerTest::liveStacks() const {
  std::vector<FakeCloudDriver::FakeStack> out;
  for (auto& s : fake_->stacks()) {
    if (!s.deleted) out.push_back(s);
  }
  return out;
}

std::vector<drivers::Server> ReconcilerTest::serversOf(const std::string& group) const {
  std::vector<drivers::Server> out;
  for (const auto& s : fake_->servers()) {
    auto it = s.metadata.find(std::string(coe::kMetaNodeGroup));
    if (it != s.metadata.end() && it->second == group) out.push_back(s);
  }
  return out;
}

// Heat's ResourceGroup, as far as the reconcilers can tell: one server per member.
void ReconcilerTest::simulateHeat(FakeCloudDriver& fake, const std::string& stack_id) {
  auto stack = fake.stack(stack_id);
  if (!stack) return;
  const auto& params = stack->stack.parameters;
  std::set<std::string> check_failed;
  for (const auto& r : stack->resources) {
    if (r.status == "CHECK_FAILED") check_failed.insert(r.physical_id);
  }
  std::lock_guard lock(heat_mutex_);
  auto& groups = members_[stack_id];
  std::set<std::string> present;
  static const std::regex count_re("^ng_(.+)_count$");
  for (const auto& [key, value] : params) {
    std::smatch m;
    if (!std::regex_match(key, m, count_re)) continue;
    const std::string gid = m[1];
    present.insert(gid);
    // A revision of a node group ("ng_default_worker_r1_count") has its own servers.
    static const std::regex slot_re("^(.+)_(r[0-9]+)$");
    std::smatch sm;
    std::string group = gid, slot;
    if (std::regex_match(gid, sm, slot_re)) {
      group = sm[1];
      slot = sm[2];
    }
    std::replace(group.begin(), group.end(), '_', '-');
    auto& members = groups[gid];
    std::set<std::string> removal;
    auto list = params.count("ng_" + gid + "_removal_list") ? params.at("ng_" + gid + "_removal_list") : "";
    for (size_t start = 0; start < list.size();) {
      auto comma = list.find(',', start);
      removal.insert(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      start = comma == std::string::npos ? list.size() : comma + 1;
    }
    const auto count = static_cast<size_t>(std::stoll(value));
    auto drop = [&](size_t i) {
      fake.removeServer(members[i].server_id);
      members.erase(members.begin() + static_cast<long>(i));
    };
    for (size_t i = members.size(); i-- > 0 && members.size() > count;) {
      if (removal.count(std::to_string(members[i].index))) drop(i);
    }
    while (members.size() > count) drop(members.size() - 1);
    auto addServer = [&](int index) {
      drivers::Server s;
      s.id = fmt::format("srv-{}", next_server_++);
      s.name = slot.empty() ? fmt::format("c-{}-{}", group, index)
                            : fmt::format("c-{}-{}-{}", group, slot, index);
      if (!slot.empty()) s.metadata[std::string(coe::kMetaSlot)] = slot;
      s.status = "BUILD";
      s.metadata[std::string(coe::kMetaClusterUid)] = params.at("cluster_uid");
      s.metadata[std::string(coe::kMetaNodeGroup)] = group;
      s.metadata[std::string(coe::kMetaRole)] = group == "default-master" ? "master" : "worker";
      s.addresses.push_back({"private", fmt::format("10.0.0.{}", next_server_), 4, "fixed"});
      fake.putServer(s);
      return s.id;
    };
    // Heat replaces a CHECK_FAILED server: the old one is deleted, a new one takes its place.
    for (auto& m : members) {
      if (!check_failed.count(m.server_id)) continue;
      fake.removeServer(m.server_id);
      m.server_id = addServer(m.index);
    }
    while (members.size() < count) {
      int index = next_index_[stack_id][gid]++;
      members.push_back({index, addServer(index)});
    }
  }
  for (auto it = groups.begin(); it != groups.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    for (const auto& m : it->second) fake.removeServer(m.server_id);
    it = groups.erase(it);
  }
  // As Heat lists them with nested_depth=2: each member is a provider stack in the group's nested
  // stack, and the server is a resource of that member's stack.
  std::vector<drivers::StackResource> resources;
  for (const auto& [gid, members] : groups) {
    drivers::StackResource group;
    group.name = "ng_" + gid;
    group.physical_id = fmt::format("{}-{}", stack_id, group.name);
    group.type = "OS::Heat::ResourceGroup";
    group.status = "CREATE_COMPLETE";
    group.stack = stack->stack.ref;
    resources.push_back(group);
    for (const auto& m : members) {
      drivers::StackResource member;
      member.name = std::to_string(m.index);
      member.physical_id = fmt::format("{}-{}", group.physical_id, m.index);
      member.type = group.name + ".yaml";
      member.status = "CREATE_COMPLETE";
      member.parent_resource = group.name;
      member.stack = {group.name, group.physical_id};
      resources.push_back(member);
      drivers::StackResource server;
      server.name = "server";
      server.physical_id = m.server_id;
      server.type = "OS::Nova::Server";
      server.status = "CREATE_COMPLETE";
      server.parent_resource = member.name;
      server.stack = {member.name, member.physical_id};
      resources.push_back(server);
    }
  }
  fake.setResources(stack_id, resources);
}

}  // namespace magnumd::reconcilers::testing
