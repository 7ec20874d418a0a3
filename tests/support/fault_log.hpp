// tests/support/fault_log.hpp: faults logged instead of trapping, for the tests that misuse a heap
// on purpose. A test installs record_fault with keel::set_fault_handler, clears g_faults first,
// and reads what was reported.
#pragma once

#include <vector>

#include "keel/fault.hpp"

namespace keel_test {

struct LoggedFault {
  keel::Fault fault;
  const void* address;
};

inline std::vector<LoggedFault> g_faults;

inline void record_fault(keel::Fault fault, const void* address) noexcept {
  g_faults.push_back({fault, address});
}

/// Hides where a pointer came from, so that the compiler neither warns about nor folds away the
/// deliberate misuse (freeing a stack address, writing over a header).
template <typename T>
T* opaque(T* pointer) {
  asm volatile("" : "+r"(pointer));
  return pointer;
}

}  // namespace keel_test
