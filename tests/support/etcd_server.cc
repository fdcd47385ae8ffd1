#include "tests/support/etcd_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

namespace magnumd::testing {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = loopback(0);
  socklen_t size = sizeof(address);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

bool accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

EtcdServer* EtcdServer::shared(std::string* why) {
  static std::unique_ptr<EtcdServer> server;
  static std::string failure;
  static bool tried = false;
  if (!tried) {
    tried = true;
    auto candidate = std::unique_ptr<EtcdServer>(new EtcdServer());
    if (candidate->start(&failure)) server = std::move(candidate);
  }
  if (why) *why = failure;
  return server.get();
}

std::unique_ptr<EtcdServer> EtcdServer::startPrivate(std::string* why) {
  auto server = std::unique_ptr<EtcdServer>(new EtcdServer());
  if (!server->start(why)) return nullptr;
  return server;
}

std::unique_ptr<EtcdServer> EtcdServer::startTls(const Tls& tls, std::string* why) {
  auto server = std::unique_ptr<EtcdServer>(new EtcdServer());
  if (!server->start(why, &tls)) return nullptr;
  return server;
}

bool EtcdServer::start(std::string* why, const Tls* tls) {
  if (::access(kBinary, X_OK) != 0) {
    *why = fmt::format("{} is not installed (Debian package etcd-server)", kBinary);
    return false;
  }
  std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = base + "/magnumd-etcd-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    *why = "cannot create a data directory in " + base;
    return false;
  }
  dir_ = tmpl;
  const uint16_t client = freePort(), peer = freePort();
  endpoint_ = fmt::format("{}://127.0.0.1:{}", tls ? "https" : "http", client);
  const std::string peer_url = fmt::format("http://127.0.0.1:{}", peer);
  std::vector<std::string> argv = {
      kBinary, "--name=test", "--data-dir=" + dir_ + "/data", "--listen-client-urls=" + endpoint_,
      "--advertise-client-urls=" + endpoint_, "--listen-peer-urls=" + peer_url,
      "--initial-advertise-peer-urls=" + peer_url, "--initial-cluster=test=" + peer_url,
      // One member: elect itself at once rather than after 1 s.
      "--heartbeat-interval=10", "--election-timeout=50"};
  if (tls) {
    argv.push_back("--cert-file=" + tls->cert_file);
    argv.push_back("--key-file=" + tls->key_file);
    argv.push_back("--client-cert-auth");
    argv.push_back("--trusted-ca-file=" + tls->ca_file);
  }
  argv_ = std::move(argv);
  client_port_ = client;
  return launch(why);
}

bool EtcdServer::launch(std::string* why) {
  const std::string log = dir_ + "/etcd.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes takes etcd along
    if (FILE* f = std::fopen(log.c_str(), "a")) {
      ::dup2(fileno(f), 1);
      ::dup2(fileno(f), 2);
    }
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!accepts(client_port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_ || std::chrono::steady_clock::now() > deadline) {
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.size() > 2000) text = text.substr(text.size() - 2000);
      *why = fmt::format("{} did not start listening on {}; its log ends:\n{}", kBinary, endpoint_,
                         text);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void EtcdServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool EtcdServer::restart(std::string* why) {
  stop();
  return launch(why);
}

EtcdServer::~EtcdServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

}  // namespace magnumd::testing

// Debian's gRPC, protobuf, Abseil and OpenSSL (gRPC's TLS) are not built with ThreadSanitizer:
// their threads synchronise through code TSan cannot see (an epoll fd created on one thread and
// waited on by another is reported as a race). Their internals are not under test; magnumd's own
// code, which runs only on its own threads, stays checked. (store_test is scripts/test.sh's TSan
// run; this file is linked into it through magnumd_test_etcd.)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libgrpc.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libgrpc++.so\n"
         "race:libgrpc.so\n"
         "race:libgpr.so\n"
         "race:libabsl_\n"
         "called_from_lib:libcrypto.so\n"
         "called_from_lib:libssl.so\n"
         "race:libcrypto.so\n"
         "race:libssl.so\n";
}
#endif
#endif
