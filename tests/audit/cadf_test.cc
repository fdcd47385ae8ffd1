#include "audit/cadf.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "audit/amqp_sink.h"
#include "audit/file_sink.h"
#include "util/json.h"

namespace magnumd::audit {
namespace {

using namespace std::chrono;

util::SystemTime at(int y, unsigned m, unsigned d, int hh, int mm, int ss, int us) {
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss} +
         microseconds{us};
}

api::Object cluster() {
  api::Object c;
  c.kind = api::Kind::Cluster;
  c.metadata.name = "prod";
  c.metadata.namespace_ = "demo";
  c.metadata.uid = "1c2fc591-facb-4479-a327-520dade1ea15";
  c.metadata.creation_timestamp = "2026-12-07T15:50:00Z";
  c.spec = R"({"clusterTemplate":"k8s","nodeCount":3,"masterCount":1,)"
           R"("labels":{"grafana_admin_passwd":"s3cret-label"}})";
  c.status = R"({"phase":"CREATE_FAILED","statusReason":"Quota exceeded for instances",)"
             R"("stackId":"st-1","apiAddress":"https://10.0.0.5:6443","healthStatus":"UNKNOWN"})";
  return c;
}

const Stamp kStamp{"f5352d7b-bee6-4c22-8213-450e7b646e9f", "0156ee79-b35f-4cef-ac37-d4a85f231c69",
                   at(2026, 12, 7, 15, 58, 0, 317041)};
const Publisher kPublisher{"container-infra.host1234", "3d4a50a9-2b59-438b-bf19-c231f9c7625a"};

std::string member(const util::Json& o, std::string_view key) {
  return util::stringMember(o, key).value_or("<absent>");
}

TEST(CadfTime, FormatsAsPyCadfAndOsloMessaging) {
  auto t = at(2026, 1, 2, 3, 4, 5, 6);
  EXPECT_EQ(cadfTime(t), "2026-01-02T03:04:05.000006+0000");
  EXPECT_EQ(osloTime(t), "2026-01-02 03:04:05.000006");
}

TEST(ClusterTarget, ReadsSpecAndStatus) {
  auto t = clusterTarget(cluster());
  EXPECT_EQ(t.uid, "1c2fc591-facb-4479-a327-520dade1ea15");
  EXPECT_EQ(t.project_id, "demo");
  EXPECT_EQ(t.cluster_template, "k8s");
  EXPECT_EQ(t.node_count, 3);
  EXPECT_EQ(t.status, "CREATE_FAILED");
  EXPECT_EQ(t.status_reason, "Quota exceeded for instances");
  EXPECT_EQ(t.stack_id, "st-1");
}

TEST(Notification, PendingCreateIsMagnumsInfoNotificationWithACadfPayload) {
  AuditEvent e{Action::Create, Outcome::Pending, {"alice", "demo"}, clusterTarget(cluster()), ""};
  Notification n = encodeNotification(e, kStamp, kPublisher);
  EXPECT_EQ(n.event_type, "magnum.cluster.create");
  EXPECT_EQ(n.priority, "INFO");
  auto doc = util::parseJson(n.body);
  ASSERT_TRUE(doc.ok()) << n.body;
  EXPECT_EQ(member(*doc, "message_id"), kStamp.message_id);
  EXPECT_EQ(member(*doc, "publisher_id"), "container-infra.host1234");
  EXPECT_EQ(member(*doc, "event_type"), "magnum.cluster.create");
  EXPECT_EQ(member(*doc, "priority"), "INFO");
  EXPECT_EQ(member(*doc, "timestamp"), "2026-12-07 15:58:00.317041");

  const auto& p = (*doc)["payload"];
  EXPECT_EQ(member(p, "typeURI"), "http://schemas.dmtf.org/cloud/audit/1.0/event");
  EXPECT_EQ(member(p, "id"), kStamp.event_id);
  EXPECT_EQ(member(p, "eventType"), "activity");
  EXPECT_EQ(member(p, "eventTime"), "2026-12-07T15:58:00.317041+0000");
  EXPECT_EQ(member(p, "action"), "create");
  EXPECT_EQ(member(p, "outcome"), "pending");
  EXPECT_EQ(util::member(p, "reason"), nullptr);
  EXPECT_EQ(member(p["initiator"], "typeURI"), "service/security/account/user");
  EXPECT_EQ(member(p["initiator"], "id"), "alice");
  EXPECT_EQ(member(p["initiator"], "user_id"), "alice");
  EXPECT_EQ(member(p["initiator"], "project_id"), "demo");
  EXPECT_EQ(member(p["target"], "typeURI"), "service/magnum/cluster");
  EXPECT_EQ(member(p["target"], "id"), "1c2fc591-facb-4479-a327-520dade1ea15");
  EXPECT_EQ(member(p["target"], "name"), "prod");
  const auto& attachment = p["target"]["attachments"][0];
  EXPECT_EQ(member(attachment, "name"), "cluster_data");
  EXPECT_EQ(member(attachment["content"], "status"), "CREATE_FAILED");
  EXPECT_EQ(member(attachment["content"], "project_id"), "demo");
  EXPECT_EQ(util::intMember(attachment["content"], "node_count"), 3);
  EXPECT_EQ(member(p["observer"], "typeURI"), "service/magnum/cluster");
  EXPECT_EQ(member(p["observer"], "id"), kPublisher.observer_id);
}

TEST(Notification, FailureIsAnErrorWithTheStatusReason) {
  auto target = clusterTarget(cluster());
  AuditEvent e{Action::Create, Outcome::Failure, {}, target, target.status_reason};
  Notification n = encodeNotification(e, kStamp, kPublisher);
  EXPECT_EQ(n.priority, "ERROR");
  auto doc = util::parseJson(n.body);
  ASSERT_TRUE(doc.ok());
  const auto& p = (*doc)["payload"];
  EXPECT_EQ(member(p, "outcome"), "failure");
  ASSERT_NE(util::member(p, "reason"), nullptr);
  EXPECT_EQ(member(p["reason"], "reasonCode"), "Quota exceeded for instances");
  EXPECT_FALSE(member(p["reason"], "reasonType").empty());
  // Nobody's request known: magnumd reports it as the service.
  EXPECT_EQ(member(p["initiator"], "typeURI"), "service");
  EXPECT_EQ(member(p["initiator"], "id"), "magnumd");
  EXPECT_EQ(util::member(p["initiator"], "project_id"), nullptr);
}

TEST(Notification, CarriesNoLabelsSoNoSecretInThem) {
  AuditEvent e{Action::Update, Outcome::Pending, {"alice", "demo"}, clusterTarget(cluster()), ""};
  Notification n = encodeNotification(e, kStamp, kPublisher);
  EXPECT_EQ(n.body.find("s3cret-label"), std::string::npos) << n.body;
  EXPECT_EQ(n.body.find("grafana_admin_passwd"), std::string::npos) << n.body;
}

TEST(OsloEnvelope, WrapsTheNotificationAsOsloMessagingVersion2) {
  AuditEvent e{Action::Delete, Outcome::Success, {"bob", "demo"}, clusterTarget(cluster()), ""};
  Notification n = encodeNotification(e, kStamp, kPublisher);
  std::string wire = osloEnvelope(n.body, "0123456789abcdef0123456789abcdef");
  auto doc = util::parseJson(wire);
  ASSERT_TRUE(doc.ok()) << wire;
  EXPECT_EQ(doc->MemberCount(), 2u);
  EXPECT_EQ(member(*doc, "oslo.version"), "2.0");
  auto inner = util::parseJson(member(*doc, "oslo.message"));
  ASSERT_TRUE(inner.ok()) << wire;
  EXPECT_EQ(member(*inner, "_unique_id"), "0123456789abcdef0123456789abcdef");
  auto body = util::parseJson(n.body);
  ASSERT_TRUE(body.ok());
  // Everything the notification says, and only the id besides.
  EXPECT_EQ(inner->MemberCount(), body->MemberCount() + 1);
  for (const auto& m : body->GetObject()) {
    ASSERT_NE(util::member(*inner, m.name.GetString()), nullptr) << m.name.GetString();
    EXPECT_EQ((*inner)[m.name.GetString()], m.value) << m.name.GetString();
  }
  EXPECT_EQ(member(*inner, "event_type"), "magnum.cluster.delete");
}

TEST(OsloEnvelope, AnEmptyObjectGetsOnlyTheId) {
  auto doc = util::parseJson(osloEnvelope("{}", "abc"));
  ASSERT_TRUE(doc.ok());
  auto inner = util::parseJson(member(*doc, "oslo.message"));
  ASSERT_TRUE(inner.ok()) << member(*doc, "oslo.message");
  EXPECT_EQ(inner->MemberCount(), 1u);
}

TEST(AmqpUrl, PasswordsNeverShow) {
  EXPECT_EQ(redactAmqpUrl("amqp://magnum:hunter2@127.0.0.1:5672/"),
            "amqp://magnum:***@127.0.0.1:5672/");
  EXPECT_EQ(redactAmqpUrl("amqp://127.0.0.1:5672/"), "amqp://127.0.0.1:5672/");
  EXPECT_EQ(redactAmqpUrl("amqp://guest@h/"), "amqp://guest@h/");
  auto bad = AmqpSink::create({.url = "http://magnum:hunter2@127.0.0.1/"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
  EXPECT_TRUE(AmqpSink::create({.url = "rabbit://magnum:hunter2@127.0.0.1:5672/"}).ok());
}

TEST(AmqpSink, AnUnreachableBrokerFailsSendWithoutThePassword) {
  // A port nobody listens on: bound, never listened on, then closed.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  auto sink =
      AmqpSink::create({.url = "amqp://magnum:hunter2@127.0.0.1:" + std::to_string(port) + "/",
                        .timeout = std::chrono::milliseconds(2000)});
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  auto sent = (*sink)->send(Notification{"magnum.cluster.create", "INFO", "{\"a\":1}"});
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, util::ErrorCode::Unavailable);
  EXPECT_NE(sent.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << sent.error().message;
  EXPECT_EQ(sent.error().message.find("hunter2"), std::string::npos) << sent.error().message;
}

TEST(FileSink, AppendsOneLinePerNotificationToAFileOnlyItsOwnerReads) {
  char tmpl[] = "/tmp/magnumd-audit-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/audit.jsonl";
  {
    auto sink = FileSink::open(path);
    ASSERT_TRUE(sink.ok()) << sink.error().message;
    ASSERT_TRUE((*sink)->send({"magnum.cluster.create", "INFO", R"({"n":1})"}).ok());
    ASSERT_TRUE((*sink)->send({"magnum.cluster.create", "INFO", R"({"n":2})"}).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[256] = {};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  EXPECT_EQ(std::string(buf, n), "{\"n\":1}\n{\"n\":2}\n");
  std::remove(path.c_str());
  ::rmdir(tmpl);
  auto missing = FileSink::open("/nonexistent-dir/audit.jsonl");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent-dir/audit.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace magnumd::audit
