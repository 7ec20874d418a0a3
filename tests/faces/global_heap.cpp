// tests/faces/global_heap.cpp: defines the test executables' global heap with KEEL_GLOBAL_HEAP.
#include "faces/global_heap.hpp"

#include "keel/global.hpp"

namespace keel_test {

alignas(64) constinit std::byte g_global_arena[kGlobalArenaBytes];
constinit GlobalHeap g_global_heap{keel::ClaimOnOom{keel::Span{g_global_arena}}};

}  // namespace keel_test

KEEL_GLOBAL_HEAP(keel_test::g_global_heap);
