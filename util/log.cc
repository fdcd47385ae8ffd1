#include "util/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "util/time.h"

namespace magnumd::util {
namespace {
std::atomic<LogLevel> g_level{LogLevel::Info};
std::mutex g_mutex;
const char* levelName(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "info";
}
}  // namespace

void setLogLevel(LogLevel level) { g_level = level; }
LogLevel logLevel() { return g_level; }

bool parseLogLevel(std::string_view text, LogLevel& out) {
  if (text == "debug") out = LogLevel::Debug;
  else if (text == "info") out = LogLevel::Info;
  else if (text == "warn") out = LogLevel::Warn;
  else if (text == "error") out = LogLevel::Error;
  else return false;
  return true;
}

void logLine(LogLevel level, std::string_view component, std::string_view message) {
  std::string line = fmt::format("{} {} {}: {}\n", formatRfc3339(std::chrono::system_clock::now()),
                                 levelName(level), component, message);
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace magnumd::util
