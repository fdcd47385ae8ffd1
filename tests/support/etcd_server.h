// A real single-member etcd for tests: /usr/bin/etcd (Debian's etcd-server) on 127.0.0.1 with
// free ports and a data directory in /dev/shm (fsync-cheap), stopped with the test process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

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

  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  const std::string& endpoint() const { return endpoint_; }  // "http(s)://127.0.0.1:PORT"

 private:
  EtcdServer() = default;
  bool start(std::string* why, const Tls* tls = nullptr);

  pid_t pid_ = -1;
  std::string dir_;
  std::string endpoint_;
};

}  // namespace magnumd::testing
