#include "util/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace magnumd::util {
namespace {

// "cannot write PATH: STEP: strerror(err)".
Error fileError(const std::string& path, std::string_view step, int err) {
  return makeError(ErrorCode::Internal,
                   fmt::format("cannot write {}: {}: {}", path, step, std::strerror(err)));
}

// These return false with errno set, for fileError.
bool writeAll(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    content.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool syncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

}  // namespace

Status writeSecretFile(const std::string& path, std::string_view content, SecretFileMode mode) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  // mkostemp creates the file with O_CREAT | O_EXCL and mode 0600: private from its first byte.
  std::string temp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return fileError(path, fmt::format("creating a temporary file in {}", dir), errno);
  // "writing PATH.tmp-abc123", "renaming PATH.tmp-abc123 over it"; errno first, before the
  // clean-up or the formatting can change it.
  auto fail = [&](std::string_view verb, std::string_view tail = {}) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    return fileError(path, fmt::format("{} {}{}", verb, temp, tail), err);
  };
  if (!writeAll(fd, content)) return fail("writing");
  if (::fsync(fd) != 0) return fail("syncing");
  int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return fail("closing");
  if (mode == SecretFileMode::CreateOnly) {
    // link(2) never replaces: the file appears whole, or not at all when one is there already.
    if (::link(temp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        ::unlink(temp.c_str());
        return makeError(ErrorCode::AlreadyExists,
                         fmt::format("{} already exists; refusing to overwrite it", path));
      }
      return fail("linking", " to it");
    }
    ::unlink(temp.c_str());
  } else if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail("renaming", " over it");
  }
  if (!syncDirectory(dir)) {
    return fileError(path, fmt::format("syncing the directory {}", dir), errno);
  }
  return {};
}

Result<std::unique_ptr<FileLock>> FileLock::acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError(ErrorCode::Unavailable,
                     fmt::format("cannot open the lock file {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[32] = {};
    ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string pid(holder, n > 0 ? static_cast<size_t>(n) : 0);
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return makeError(ErrorCode::Conflict,
                       fmt::format("{} is locked by another process (pid {})", path,
                                   pid.empty() ? "unknown" : pid));
    }
    return makeError(ErrorCode::Unavailable,
                     fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; only the message of a second process loses it.
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() { ::close(fd_); }

}  // namespace magnumd::util
