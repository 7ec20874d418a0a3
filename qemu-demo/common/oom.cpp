// qemu-demo/common/oom.cpp: an out-of-memory episode, recovered by the heap's OOM policy.
//
// The demo allocates large buffers with nothrow new until the first region (the linker's main
// heap section) cannot serve the next one. That request does not fail: keel calls the heap's
// policy (keel::ClaimOnOom), which claims the reserve (the board's second RAM bank) as a second
// region, and the request is served from it. The demo then frees everything; the second region
// stays, and later phases use both.
#include <cstdint>
#include <new>

#include "demo.hpp"

namespace demo {

void run_out_of_memory() {
  const Platform& machine = platform();
  const keel::Statistics before = global_heap().statistics();
  const std::size_t chunk = (machine.main_memory.size / 6) & ~std::size_t{1023};
  print("\n== 3. Out of memory: buffers of %lu B until the first region is full\n",
        static_cast<unsigned long>(chunk));
  print(
      "   region 1: %lu B claimed, %lu B free, largest free block %lu B; policy reserve: %s, "
      "%lu B at %p\n",
      static_cast<unsigned long>(before.bytes_claimed),
      static_cast<unsigned long>(before.bytes_free),
      static_cast<unsigned long>(before.largest_free_block), machine.reserve_name,
      static_cast<unsigned long>(machine.reserve_memory.size),
      static_cast<void*>(machine.reserve_memory.data));
  expect(before.region_count == 1, "one region before the episode");

  constexpr unsigned kMaxBuffers = 16;
  std::byte* buffers[kMaxBuffers + 1] = {};
  unsigned count = 0;
  unsigned rescued_at = 0;
  while (count < kMaxBuffers && rescued_at == 0) {
    const std::size_t regions = global_heap().statistics().region_count;
    std::byte* buffer = new (std::nothrow) std::byte[chunk];
    if (buffer == nullptr) {
      print("   buffer %u: refused\n", count + 1);
      break;
    }
    buffers[count++] = buffer;
    const bool claimed = global_heap().statistics().region_count > regions;
    print("   buffer %u at %p%s\n", count, static_cast<void*>(buffer),
          claimed ? ": region 1 was full, the OOM policy claimed the reserve as region 2" : "");
    rescued_at = claimed ? count : 0;
  }
  const keel::Statistics during = global_heap().statistics();
  print("   during the episode: %lu regions, %lu B claimed, %lu B in use, %lu failed requests\n",
        static_cast<unsigned long>(during.region_count),
        static_cast<unsigned long>(during.bytes_claimed),
        static_cast<unsigned long>(during.bytes_in_use),
        static_cast<unsigned long>(during.failed_allocations - before.failed_allocations));
  // One more, from what is left.
  buffers[count] = new (std::nothrow) std::byte[chunk / 2];
  print("   one more buffer of %lu B: %s\n", static_cast<unsigned long>(chunk / 2),
        buffers[count] != nullptr ? "served" : "refused: both regions are full");
  ++count;
  for (unsigned i = 0; i < count; ++i) {
    delete[] buffers[i];
  }
  const keel::Statistics after = global_heap().statistics();
  expect(rescued_at > 1, "region 1 served buffers until it was full");
  expect(global_heap().with_lock([](auto& heap) { return heap.oom_policy().claimed(); }),
         "the OOM policy claimed the reserve");
  expect(after.region_count == 2, "two regions after the episode");
  expect(during.failed_allocations == before.failed_allocations,
         "no request failed: the policy recovered the one that ran out");
  expect(after.live_allocations == before.live_allocations, "every buffer was freed");
}

}  // namespace demo
