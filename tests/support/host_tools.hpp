// tests/support/host_tools.hpp: whether AddressSanitizer or valgrind watches this test run.
//
// Some tests write into keel's metadata on purpose, to see keel's own checks catch it. When a
// host tool watches keel's blocks (core/include/keel/detail/tools.hpp), that write is itself
// reported by the tool, as it should be, so those tests step aside under the tools and run
// natively.
#pragma once

#include "keel/detail/tools.hpp"

#if defined(KEEL_TOOLS_VALGRIND)
#include <valgrind/valgrind.h>
#endif

namespace keel::test {

inline bool host_tool_watching() {
#if defined(KEEL_TOOLS_VALGRIND)
  if (RUNNING_ON_VALGRIND) {
    return true;
  }
#endif
  return detail::tools::kAsan;
}

}  // namespace keel::test

/// Skips the current GoogleTest test when a host tool watches keel's blocks.
#define KEEL_SKIP_UNDER_HOST_TOOLS()                                                          \
  do {                                                                                        \
    if (::keel::test::host_tool_watching()) {                                                 \
      GTEST_SKIP() << "writes keel's metadata on purpose; the host tool reports that itself"; \
    }                                                                                         \
  } while (false)
