// libFuzzer entry point (clang, -fsanitize=fuzzer): see fuzz/CMakeLists.txt for the build.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  magnumd::fuzz::fuzzOne(data, size);
  return 0;
}
