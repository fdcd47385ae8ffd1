#include "store/etcd_services.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "store/etcd_client.h"
#include "util/json.h"
#include "util/log.h"

namespace magnumd::store {

namespace {

int64_t millis(util::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

util::SystemTime fromMillis(int64_t ms) { return util::SystemTime(std::chrono::milliseconds(ms)); }

// The stored value: {"createdAt": ms, "updatedAt": ms, "reportCount": n}; the key names the host.
std::string encode(const ServiceReport& report) {
  return fmt::format(R"({{"createdAt":{},"updatedAt":{},"reportCount":{}}})",
                     millis(report.created_at), millis(report.updated_at), report.report_count);
}

std::optional<ServiceReport> decode(std::string host, const std::string& value) {
  auto doc = util::parseJson(value);
  if (!doc.ok() || !doc->IsObject()) return std::nullopt;
  auto created = util::intMember(*doc, "createdAt");
  auto updated = util::intMember(*doc, "updatedAt");
  auto count = util::intMember(*doc, "reportCount");
  if (!created || !updated || !count || *count < 0) return std::nullopt;
  return ServiceReport{std::move(host), fromMillis(*created), fromMillis(*updated),
                       static_cast<uint64_t>(*count)};
}

class Reports final : public EtcdServiceReports {
 public:
  Reports(EtcdServiceReportsOptions options, std::unique_ptr<EtcdClient> client)
      : options_(std::move(options)), client_(std::move(client)), keys_(options_.prefix) {}
  ~Reports() override { stop(); }

  void start(std::string host, std::chrono::milliseconds interval) override {
    host_ = std::move(host);
    interval_ = interval;
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::vector<ServiceReport> reports() const override {
    std::lock_guard lock(mu_);
    return reports_;
  }

 private:
  void run() {
    for (;;) {
      reportOnce();
      std::unique_lock lock(mu_);
      if (stop_cv_.wait_for(lock, interval_, [this] { return stopping_; })) return;
    }
  }

  // Reads every replica's report, then writes this one's (continuing the count a previous
  // process of the same replica left, as Magnum's conductor continues its row's).
  void reportOnce() {
    etcdserverpb::RangeRequest range;
    range.set_key(keys_.servicesPrefix());
    range.set_range_end(prefixEnd(keys_.servicesPrefix()));
    auto read = client_->range(range);
    if (!read.ok()) return failed(read.error());
    std::map<std::string, ServiceReport> by_host;
    for (const auto& kv : read->kvs()) {
      std::string host = kv.key().substr(keys_.servicesPrefix().size());
      if (auto report = decode(host, kv.value())) by_host[host] = std::move(*report);
    }
    const auto now = fromMillis(millis(std::chrono::system_clock::now()));  // as stored
    ServiceReport mine{host_, now, now, 1};
    if (auto it = by_host.find(host_); it != by_host.end()) {
      mine.created_at = it->second.created_at;
      mine.report_count = std::max(it->second.report_count, count_) + 1;
    }
    etcdserverpb::PutRequest put;
    put.set_key(keys_.servicesPrefix() + host_);
    put.set_value(encode(mine));
    if (auto written = client_->put(put); !written.ok()) {
      failed(written.error());
    } else {
      count_ = mine.report_count;
      by_host[host_] = mine;
      if (warned_) LOG_INFO("services", "{} reports again", host_);
      warned_ = false;
    }
    std::vector<ServiceReport> sorted;
    for (auto& [host, report] : by_host) sorted.push_back(std::move(report));
    std::lock_guard lock(mu_);
    reports_ = std::move(sorted);
  }

  void failed(const util::Error& error) {
    if (!warned_) {
      LOG_WARN("services", "{} could not report (the other replicas will show it down): {}", host_,
               error.message);
    }
    warned_ = true;
  }

  const EtcdServiceReportsOptions options_;
  std::unique_ptr<EtcdClient> client_;
  const EtcdKeys keys_;
  std::string host_;
  std::chrono::milliseconds interval_{0};
  uint64_t count_ = 0;   // reporting thread only
  bool warned_ = false;  // reporting thread only

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<ServiceReport> reports_;
  std::thread thread_;
};

}  // namespace

util::Result<std::unique_ptr<EtcdServiceReports>> makeEtcdServiceReports(
    EtcdServiceReportsOptions options) {
  EtcdConnectOptions connect{options.endpoints, options.ca_file, options.cert_file,
                             options.key_file};
  ASSIGN_OR_RETURN(auto client, EtcdClient::connect(connect));
  return std::unique_ptr<EtcdServiceReports>(new Reports(std::move(options), std::move(client)));
}

}  // namespace magnumd::store
