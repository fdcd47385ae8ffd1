// Errors from the outside world are values: Result<T> holds either a T or an Error.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace magnumd::util {

// Kubernetes Status reasons; the HTTP layer maps each to its code.
enum class ErrorCode {
  BadRequest,       // 400
  Unauthorized,     // 401
  Forbidden,        // 403
  NotFound,         // 404
  MethodNotAllowed, // 405
  NotAcceptable,    // 406
  AlreadyExists,    // 409
  Conflict,         // 409
  Expired,          // 410
  TooLarge,         // 413
  UnsupportedMediaType,  // 415
  Invalid,          // 422
  TooManyRequests,  // 429
  Internal,         // 500
  Unavailable,      // 503
  Timeout,          // 504
};

// One bad field: "spec.labels.flannel_backend", "\"gre\" is not one of udp, vxlan, host-gw".
struct Cause {
  std::string field;
  std::string message;
  // The Status cause's reason when the error's code does not imply it ("FieldManagerConflict").
  std::string reason;
  bool operator==(const Cause&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  std::vector<Cause> causes;
};

inline Error makeError(ErrorCode code, std::string message, std::vector<Cause> causes = {}) {
  return Error{code, std::move(message), std::move(causes)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& takeError() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error&& takeError() { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

const char* reasonOf(ErrorCode code);  // "NotFound"
int httpCodeOf(ErrorCode code);        // 404

}  // namespace magnumd::util

#define MAGNUMD_TRY_CONCAT_(a, b) a##b
#define MAGNUMD_TRY_CONCAT(a, b) MAGNUMD_TRY_CONCAT_(a, b)
// ASSIGN_OR_RETURN(auto x, expr): on error returns the Error from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr)                                    \
  auto MAGNUMD_TRY_CONCAT(result_, __LINE__) = (expr);                 \
  if (!MAGNUMD_TRY_CONCAT(result_, __LINE__).ok())                     \
    return MAGNUMD_TRY_CONCAT(result_, __LINE__).takeError();          \
  lhs = std::move(MAGNUMD_TRY_CONCAT(result_, __LINE__)).value()
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    auto status_ = (expr);                             \
    if (!status_.ok()) return status_.takeError();     \
  } while (0)
// The same for coroutines (a coroutine cannot `return`): CO_ASSIGN_OR_RETURN(auto x, co_await f())
// and CO_RETURN_IF_ERROR(co_await g()) co_return the Error from the enclosing coroutine.
#define CO_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto MAGNUMD_TRY_CONCAT(result_, __LINE__) = (expr);                 \
  if (!MAGNUMD_TRY_CONCAT(result_, __LINE__).ok())                     \
    co_return MAGNUMD_TRY_CONCAT(result_, __LINE__).takeError();       \
  lhs = std::move(MAGNUMD_TRY_CONCAT(result_, __LINE__)).value()
#define CO_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    auto status_ = (expr);                             \
    if (!status_.ok()) co_return status_.takeError();  \
  } while (0)
