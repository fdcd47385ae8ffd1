#include "pki/openssl_error.h"

#include <openssl/err.h>

#include <string>

namespace magnumd::pki {

util::Error opensslError(util::ErrorCode code, std::string_view what) {
  constexpr int kMaxNamed = 8;
  std::string message(what);
  int named = 0;
  for (unsigned long e = ERR_get_error(); e != 0 && named < kMaxNamed; e = ERR_get_error()) {
    message += named == 0 ? ": " : "; ";
    const char* lib = ERR_lib_error_string(e);
    const char* reason = ERR_reason_error_string(e);
    if (lib != nullptr) message += std::string(lib) + ": ";
    message += reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(e));
    ++named;
  }
  ERR_clear_error();
  return util::makeError(code, std::move(message));
}

void clearOpensslErrors() { ERR_clear_error(); }

}  // namespace magnumd::pki
