// A real single-member etcd for tests: /usr/bin/etcd (Debian's etcd-server) on 127.0.0.1 with
// free ports and a data directory in /dev/shm (fsync-cheap), stopped with the test process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace magnumd::testing {

class EtcdServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/etcd";

  // The process-wide instance, started on first use; null when the binary is missing or did not
  // come up (`why` says which).
  static EtcdServer* shared(std::string* why = nullptr);

  // A private instance serving https with `cert_file`/`key_file`, requiring client certificates
  // signed by `ca_file`; null as shared() (`why` says why).
  struct Tls {
    std::string cert_file, key_file, ca_file;
  };
  static std::unique_ptr<EtcdServer> startTls(const Tls& tls, std::string* why);
  // A private plain-http instance, for tests that stop and restart it.
  static std::unique_ptr<EtcdServer> startPrivate(std::string* why);

  // Stops etcd (SIGTERM, waited for); restart() starts it again on the same ports and data.
  void stop();
  bool restart(std::string* why);

  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  const std::string& endpoint() const { return endpoint_; }  // "http(s)://127.0.0.1:PORT"

 private:
  EtcdServer() = default;
  bool start(std::string* why, const Tls* tls = nullptr);
  bool launch(std::string* why);

  pid_t pid_ = -1;
  std::string dir_;
  std::string endpoint_;
  std::vector<std::string> argv_;
  uint16_t client_port_ = 0;
};

}  // namespace magnumd::testing
