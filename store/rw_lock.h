// A reader-writer lock that lets a waiting writer in ahead of new readers.
//
// std::shared_mutex on glibc prefers readers: under a steady stream of overlapping get/list
// calls the committer could wait indefinitely to publish a commit (and acknowledge it). With
// writer preference a commit waits for at most the reads already in progress. Not recursive:
// a thread holding a shared lock must not take it again.
#pragma once

#include <pthread.h>

namespace magnumd::store {

class WriterPreferringSharedMutex {
 public:
  WriterPreferringSharedMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterPreferringSharedMutex() { pthread_rwlock_destroy(&lock_); }
  WriterPreferringSharedMutex(const WriterPreferringSharedMutex&) = delete;
  WriterPreferringSharedMutex& operator=(const WriterPreferringSharedMutex&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace magnumd::store
