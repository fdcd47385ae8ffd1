#include "util/result.h"

namespace magnumd::util {

const char* reasonOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadRequest: return "BadRequest";
    case ErrorCode::Unauthorized: return "Unauthorized";
    case ErrorCode::Forbidden: return "Forbidden";
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::MethodNotAllowed: return "MethodNotAllowed";
    case ErrorCode::NotAcceptable: return "NotAcceptable";
    case ErrorCode::AlreadyExists: return "AlreadyExists";
    case ErrorCode::Conflict: return "Conflict";
    case ErrorCode::Expired: return "Expired";
    case ErrorCode::TooLarge: return "RequestEntityTooLarge";
    case ErrorCode::UnsupportedMediaType: return "UnsupportedMediaType";
    case ErrorCode::Invalid: return "Invalid";
    case ErrorCode::TooManyRequests: return "TooManyRequests";
    case ErrorCode::Internal: return "InternalError";
    case ErrorCode::Unavailable: return "ServiceUnavailable";
    case ErrorCode::Timeout: return "Timeout";
  }
  return "InternalError";
}

int httpCodeOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadRequest: return 400;
    case ErrorCode::Unauthorized: return 401;
    case ErrorCode::Forbidden: return 403;
    case ErrorCode::NotFound: return 404;
    case ErrorCode::MethodNotAllowed: return 405;
    case ErrorCode::NotAcceptable: return 406;
    case ErrorCode::AlreadyExists: return 409;
    case ErrorCode::Conflict: return 409;
    case ErrorCode::Expired: return 410;
    case ErrorCode::TooLarge: return 413;
    case ErrorCode::UnsupportedMediaType: return 415;
    case ErrorCode::Invalid: return 422;
    case ErrorCode::TooManyRequests: return 429;
    case ErrorCode::Internal: return 500;
    case ErrorCode::Unavailable: return 503;
    case ErrorCode::Timeout: return 504;
  }
  return 500;
}

}  // namespace magnumd::util
