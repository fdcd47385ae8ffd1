#include "audit/file_sink.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace magnumd::audit {

using util::ErrorCode;
using util::makeError;

util::Result<std::unique_ptr<FileSink>> FileSink::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("{}: cannot open for appending: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<FileSink>(new FileSink(path, fd));
}

FileSink::~FileSink() { close(); }

util::Status FileSink::send(const Notification& notification) {
  if (fd_ < 0) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      return makeError(ErrorCode::Unavailable,
                       fmt::format("{}: cannot open: {}", path_, std::strerror(errno)));
    }
    fd_ = fd;
  }
  std::string line = notification.body + "\n";
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(line.size())) return {};
  std::string why =
      n < 0 ? std::strerror(errno) : fmt::format("wrote {} of {} bytes", n, line.size());
  // Reopened on the next attempt: the error may belong to this descriptor (a removed mount).
  close();
  return makeError(ErrorCode::Unavailable, fmt::format("{}: {}", path_, why));
}

void FileSink::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace magnumd::audit
