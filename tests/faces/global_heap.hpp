// tests/faces/global_heap.hpp: the global heap of the test executables that link keel::libc and
// keel::new_delete. Everything the process allocates (GoogleTest, libstdc++, glibc's stdio) lands
// in it, from before main on.
#pragma once

#include <cstddef>

#include "keel/heap.hpp"
#include "keel/lock.hpp"

namespace keel_test {

inline constexpr std::size_t kGlobalArenaBytes = 32U << 20U;
// With tags: the faces pass their callers' return addresses on (test_global_tags.cpp).
using GlobalHeap =
    keel::Locked<keel::Heap<keel::ClaimOnOom, keel::HeapOptions{.tags = true}>, keel::SpinLock>;

extern GlobalHeap g_global_heap;
extern std::byte g_global_arena[kGlobalArenaBytes];

/// Whether `pointer` lies in the global heap's reserve.
inline bool in_global_arena(const void* pointer) {
  const auto* byte = static_cast<const std::byte*>(pointer);
  return byte >= g_global_arena && byte < g_global_arena + kGlobalArenaBytes;
}

}  // namespace keel_test
