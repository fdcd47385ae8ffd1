// The JSON-lines audit sink: one notification per line, appended to a file that only magnumd's
// user may read (created with mode 0600), for a log shipper or an auditor with shell access.
#pragma once

#include <string>

#include "audit/notifier.h"

namespace magnumd::audit {

class FileSink final : public Sink {
 public:
  // Opens (creating with mode 0600) `path` for appending; errors name the path.
  static util::Result<std::unique_ptr<FileSink>> open(const std::string& path);
  ~FileSink() override;

  std::string_view name() const override { return "file"; }
  // One write(2) of the line and its newline, so concurrent readers never see half a line;
  // a short write or an error (a full disk) fails and the line is written again later.
  util::Status send(const Notification& notification) override;
  void close() override;

 private:
  FileSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

}  // namespace magnumd::audit
