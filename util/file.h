// Files that hold secrets: tokens, clouds.yaml (passwords, application credentials), private keys.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace magnumd::util {

enum class SecretFileMode {
  Replace,     // an existing file is replaced atomically
  CreateOnly,  // an existing file is an AlreadyExists error and stays as it was
};

// Writes `content` to `path` so that no other user can ever read it: a temporary file beside
// `path` is created exclusively with mode 0600, written, fsynced and then renamed over `path`
// (Replace: readers see the old file or the whole new one, never a part) or hard-linked to it
// (CreateOnly: fails if `path` exists, so a key that protects stored data is never overwritten),
// then the directory is fsynced. Errors name the path and the step that failed; the temporary
// file does not outlive a failure.
Status writeSecretFile(const std::string& path, std::string_view content,
                       SecretFileMode mode = SecretFileMode::Replace);

// An exclusive advisory lock (flock) on `path`, created if absent, held until the lock is
// destroyed or the process ends (a killed holder releases it). The holder's pid is written into
// the file, so a second process's Conflict error names it.
class FileLock {
 public:
  static Result<std::unique_ptr<FileLock>> acquire(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace magnumd::util
