// One fuzz input through everything a request body or query string reaches before the store:
// JSON or YAML parsing, the object envelope, metadata rules, admission of every kind, status
// admission, update rules and label selectors. Invariants that must hold for any input abort, so
// both libFuzzer and the replay runner report them as crashes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace magnumd::fuzz {

void fuzzOne(const uint8_t* data, size_t size);

}  // namespace magnumd::fuzz
