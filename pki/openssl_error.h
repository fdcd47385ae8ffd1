// OpenSSL reports failures on a thread-local error queue; pki/ turns them into util::Error values
// and never leaves entries behind for the next caller to misread.
#pragma once

#include <string_view>

#include "util/result.h"

namespace magnumd::pki {

// "what: <library>: <reason>; <library>: <reason>" with the queue drained (at most 8 entries are
// named; the rest are discarded).
util::Error opensslError(util::ErrorCode code, std::string_view what);

// Drops stale entries, so a failure reported later is this operation's own.
void clearOpensslErrors();

}  // namespace magnumd::pki
