// bench/src/oom_claim.cpp: the allocate that makes keel::ClaimOnOom claim its reserve (see
// oom_claim.hpp).
#include "oom_claim.hpp"

#include <cstdio>

#include "allocators.hpp"
#include "marker.hpp"
#include "measured.hpp"

namespace keel_bench {

bool run_oom_claim(std::size_t regions, bool gaps) {
  constexpr std::size_t kRegionBytes = 256;
  constexpr std::size_t kRequest = 24;
  const std::size_t stride = gaps ? 2 * kRegionBytes : kRegionBytes;
  const Arena arena((regions + 2) * stride);
  // The reserve is the arena's first span, below every region.
  ClaimHeap heap{keel::ClaimOnOom{keel::Span{arena.data(), kRegionBytes}}};
  for (std::size_t i = 1; i <= regions; ++i) {
    if (!heap.claim(keel::Span{arena.data() + i * stride, kRegionBytes})) {
      std::fprintf(stderr, "keel_bench: oom-claim: region %zu refused\n", i);
      return false;
    }
  }
  while (heap.try_allocate(kRequest) != nullptr) {
  }
  mark_begin();
  void* block = measured::keel_allocate(heap, kRequest, keel::detail::kGranule);
  mark_end<Category::allocate>();
  const bool served = block != nullptr && heap.oom_policy().claimed() &&
                      heap.statistics().region_count == regions + 1 && heap.validate().ok();
  std::printf("oom_claim\t%zu\t%s\t%s\n", regions, gaps ? "gaps" : "abutting",
              served ? "served" : "NOT-SERVED");
  return served;
}

}  // namespace keel_bench
