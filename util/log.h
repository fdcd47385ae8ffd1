// Minimal leveled logging to stderr: "2026-11-25T11:57:21Z info store: opened ./data/magnumd.db".
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace magnumd::util {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLogLevel(LogLevel level);
LogLevel logLevel();
bool parseLogLevel(std::string_view text, LogLevel& out);
void logLine(LogLevel level, std::string_view component, std::string_view message);

template <typename... Args>
void log(LogLevel level, std::string_view component, fmt::format_string<Args...> format,
         Args&&... args) {
  if (level < logLevel()) return;
  logLine(level, component, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace magnumd::util

#define LOG_DEBUG(component, ...) ::magnumd::util::log(::magnumd::util::LogLevel::Debug, component, __VA_ARGS__)
#define LOG_INFO(component, ...) ::magnumd::util::log(::magnumd::util::LogLevel::Info, component, __VA_ARGS__)
#define LOG_WARN(component, ...) ::magnumd::util::log(::magnumd::util::LogLevel::Warn, component, __VA_ARGS__)
#define LOG_ERROR(component, ...) ::magnumd::util::log(::magnumd::util::LogLevel::Error, component, __VA_ARGS__)
