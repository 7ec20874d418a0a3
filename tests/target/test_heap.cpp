// test_heap: keel::Heap's documented edge cases on the target (32-bit Thumb; on the M0 any
// unaligned access faults, and on v7-M/v8-M the test makes them fault too): zero, oversize and
// badly aligned requests, every alignment, allocate_zeroed, reallocate in all its paths, the
// fault hook for bad frees, statistics, walk and dump, regions in both RAM banks, extend and
// truncate, the OOM policy, and validate() finding an overwritten header.
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "check.hpp"
#include "cortex_m.hpp"
#include "keel/heap.hpp"
#include "port.hpp"

namespace {

using keel::Span;

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

/// Up to `limit` bytes of a memory section, filled with a pattern first (hostile start).
Span memory_of(Span section, std::size_t limit, std::size_t skip = 0) {
  Span span{section.data + skip, section.size - skip < limit ? section.size - skip : limit};
  for (std::size_t i = 0; i < span.size; ++i) {
    span.data[i] = static_cast<std::byte>(0xA5 ^ i);
  }
  return span;
}

// A heap object is about 1.8 KiB (its bin table), too much for the M0's 2 KiB stack: each case
// builds its heap in this buffer instead.
alignas(8) std::byte g_heap_storage[2048];

template <typename HeapT, typename... Args>
HeapT& fresh_heap(Args&&... args) {
  static_assert(sizeof(HeapT) <= sizeof g_heap_storage, "g_heap_storage too small");
  return *::new (static_cast<void*>(g_heap_storage)) HeapT(std::forward<Args>(args)...);
}

// Faults reported through keel's hook, recorded instead of trapping.
struct FaultLog {
  unsigned count = 0;
  keel::Fault last{};
  const void* address = nullptr;
};
FaultLog g_faults;

void record_fault(keel::Fault fault, const void* where) noexcept {
  ++g_faults.count;
  g_faults.last = fault;
  g_faults.address = where;
}

bool faulted(keel::Fault fault, const void* where) {
  const bool seen = g_faults.count == 1 && g_faults.last == fault && g_faults.address == where;
  g_faults = FaultLog{};
  return seen;
}

void allocation_edges(Span memory) {
  keel::Heap<>& heap = fresh_heap<keel::Heap<>>();
  KEEL_EXPECT(heap.claim(memory).ok());
  void* zero_a = heap.allocate(0);
  void* zero_b = heap.allocate(0);
  KEEL_EXPECT(zero_a != nullptr && zero_b != nullptr && zero_a != zero_b);
  KEEL_EXPECT(heap.usable_size(zero_a) >= 4);
  KEEL_EXPECT(heap.allocate(keel::Heap<>::max_request + 1) == nullptr);
  KEEL_EXPECT(heap.allocate(~std::size_t{0}) == nullptr);
  KEEL_EXPECT(heap.allocate(16, 3) == nullptr);
  KEEL_EXPECT(heap.allocate(16, 0) == nullptr);
  void* aligned[12] = {};
  for (unsigned shift = 0; shift < 12; ++shift) {
    const std::size_t align = std::size_t{1} << shift;
    aligned[shift] = heap.allocate(24 + shift, align);
    KEEL_EXPECT(aligned[shift] != nullptr);
    KEEL_EXPECT(address(aligned[shift]) % (align < 8 ? 8 : align) == 0);
    KEEL_EXPECT(heap.usable_size(aligned[shift]) >= 24 + shift);
  }
  KEEL_EXPECT(heap.validate().ok());
  for (void* pointer : aligned) {
    heap.free(pointer);
  }
  heap.free(zero_a);
  heap.free(zero_b);
  heap.free(nullptr);
  KEEL_EXPECT(heap.statistics().live_allocations == 0);
  KEEL_EXPECT(heap.statistics().bytes_in_use == 0);
  KEEL_EXPECT(heap.validate().ok());

  // allocate_zeroed zeroes memory that was dirty, and refuses a product that overflows.
  auto* dirty = static_cast<std::byte*>(heap.allocate(200));
  for (int i = 0; i < 200; ++i) {
    dirty[i] = std::byte{0xEE};
  }
  heap.free(dirty);
  auto* zeroed = static_cast<std::byte*>(heap.allocate_zeroed(50, 4));
  bool all_zero = zeroed != nullptr;
  for (int i = 0; all_zero && i < 200; ++i) {
    all_zero = zeroed[i] == std::byte{0};
  }
  KEEL_EXPECT(all_zero);
  heap.free(zeroed);
  const std::uint64_t failed = heap.statistics().failed_allocations;
  KEEL_EXPECT(heap.allocate_zeroed(0x10000, 0x10001) == nullptr);
  KEEL_EXPECT(heap.statistics().failed_allocations == failed + 1);
}

void reallocation_paths(Span memory) {
  keel::Heap<>& heap = fresh_heap<keel::Heap<>>();
  KEEL_EXPECT(heap.claim(memory).ok());
  // null allocates; size 0 frees.
  auto* block = static_cast<std::uint8_t*>(heap.reallocate(nullptr, 40));
  KEEL_EXPECT(block != nullptr);
  for (int i = 0; i < 40; ++i) {
    block[i] = static_cast<std::uint8_t>(i);
  }
  // Shrinking stays in place.
  KEEL_EXPECT(heap.reallocate(block, 16) == block);
  // Growing into the free space on the right stays in place too.
  KEEL_EXPECT(heap.reallocate(block, 300) == block);
  bool kept = true;
  for (int i = 0; i < 16; ++i) {
    kept = kept && block[i] == i;
  }
  KEEL_EXPECT(kept);
  // Blocked on the right: the block moves, keeps its contents and the alignment asked for.
  void* wall = heap.allocate(8);
  KEEL_EXPECT(wall != nullptr);
  auto* moved = static_cast<std::uint8_t*>(heap.reallocate(block, 1000, 64));
  KEEL_EXPECT(moved != nullptr && moved != block && address(moved) % 64 == 0);
  kept = moved != nullptr;
  for (int i = 0; kept && i < 16; ++i) {
    kept = moved[i] == i;
  }
  KEEL_EXPECT(kept);
  // A failing reallocation returns null and leaves the block as it was.
  KEEL_EXPECT(heap.reallocate(moved, memory.size * 2) == nullptr);
  KEEL_EXPECT(moved[15] == 15);
  // try_resize_in_place never moves.
  KEEL_EXPECT(heap.try_resize_in_place(moved, 500));
  KEEL_EXPECT(!heap.try_resize_in_place(moved, memory.size * 2));
  KEEL_EXPECT(heap.reallocate(moved, 0) == nullptr);
  heap.free(wall);
  KEEL_EXPECT(heap.statistics().live_allocations == 0);
  KEEL_EXPECT(heap.validate().ok());
}

void bad_frees(Span memory) {
  keel::Heap<>& heap = fresh_heap<keel::Heap<>>();
  KEEL_EXPECT(heap.claim(memory).ok());
  const keel::FaultHandler previous = keel::set_fault_handler(record_fault);
  auto* left = static_cast<std::byte*>(heap.allocate(32));
  auto* middle = static_cast<std::byte*>(heap.allocate(32));
  auto* right = static_cast<std::byte*>(heap.allocate(32));
  const keel::Statistics before = heap.statistics();
  heap.free(middle);
  heap.free(middle);
  KEEL_EXPECT(faulted(keel::Fault::double_free, middle));
  heap.free(left + 8);
  KEEL_EXPECT(faulted(keel::Fault::invalid_pointer, left + 8));
  heap.free(left + 1);
  KEEL_EXPECT(faulted(keel::Fault::misaligned_pointer, left + 1));
  static std::uint64_t outside[4];
  heap.free(outside);
  KEEL_EXPECT(faulted(keel::Fault::foreign_pointer, outside));
  KEEL_EXPECT(heap.reallocate(left + 16, 10) == nullptr);
  KEEL_EXPECT(faulted(keel::Fault::invalid_pointer, left + 16));
  // Each rejected call left the heap as it was.
  KEEL_EXPECT(heap.validate().ok());
  KEEL_EXPECT(heap.statistics().live_allocations == before.live_allocations - 1);
  heap.free(left);
  heap.free(right);
  KEEL_EXPECT(g_faults.count == 0);
  KEEL_EXPECT(heap.statistics().live_allocations == 0);
  keel::set_fault_handler(previous);
}

void inspection(Span memory) {
  keel::Heap<>& heap = fresh_heap<keel::Heap<>>();
  const keel::RegionResult region = heap.claim(memory);
  KEEL_EXPECT(region.ok());
  void* blocks[6];
  for (std::size_t i = 0; i < 6; ++i) {
    blocks[i] = heap.allocate(16 * (i + 1));
  }
  heap.free(blocks[1]);
  heap.free(blocks[4]);
  const keel::Statistics stats = heap.statistics();
  KEEL_EXPECT(stats.live_allocations == 4);
  KEEL_EXPECT(stats.region_count == 1);
  KEEL_EXPECT(stats.bytes_in_use + stats.bytes_free + stats.bytes_overhead == stats.bytes_claimed);
  KEEL_EXPECT(stats.bytes_claimed == region.extent().size);
  KEEL_EXPECT(stats.peak_bytes_in_use >= stats.bytes_in_use);
  std::size_t used = 0;
  std::size_t free_blocks = 0;
  heap.walk([&](const keel::BlockInfo& info) {
    used += info.used ? 1 : 0;
    free_blocks += info.used ? 0 : 1;
  });
  KEEL_EXPECT(used == 4);
  KEEL_EXPECT(free_blocks == stats.free_blocks);
  std::size_t lines = 0;
  heap.dump([&lines](const char* text, std::size_t length) {
    for (std::size_t i = 0; i < length; ++i) {
      lines += text[i] == '\n' ? 1 : 0;
    }
  });
  KEEL_EXPECT(lines == 2 + used + free_blocks);  // summary, region, one line per block

  // validate() finds a header overwritten by a stray write, without faulting.
  std::uint32_t saved;
  auto* header = static_cast<std::byte*>(blocks[2]) - 4;
  __builtin_memcpy(&saved, header, 4);
  const std::uint32_t broken = saved ^ 0x100U;
  __builtin_memcpy(header, &broken, 4);
  KEEL_EXPECT(!heap.validate().ok());
  __builtin_memcpy(header, &saved, 4);
  KEEL_EXPECT(heap.validate().ok());
}

/// Regions in both RAM banks (on the micro:bit, the second section is carved from the first
/// bank), extend and truncate at either end, and a region given back whole.
void regions(Span first_section, Span second_section) {
  keel::Heap<>& heap = fresh_heap<keel::Heap<>>();
  // The middle half of a slice of the first bank, so that extend can grow it both ways.
  const Span slice = memory_of(first_section, 8192);
  const Span middle{slice.data + slice.size / 4, slice.size / 2};
  const keel::RegionResult first = heap.claim(middle);
  KEEL_EXPECT(first.ok());
  KEEL_EXPECT(heap.claim(middle).error() == keel::RegionError::overlaps);
  KEEL_EXPECT(heap.claim(Span{slice.data, 8}).error() == keel::RegionError::too_small);
  KEEL_EXPECT(heap.claim(Span{static_cast<std::byte*>(nullptr), 64}).error() ==
              keel::RegionError::null_span);
  const Span second_memory = memory_of(second_section, 2048);
  const keel::RegionResult second = heap.claim(second_memory);
  KEEL_EXPECT(second.ok());
  KEEL_EXPECT(heap.statistics().region_count == 2);

  // Fill both regions: blocks come from both.
  void* chain = nullptr;
  bool in_first = false;
  bool in_second = false;
  while (void* block = heap.allocate(48)) {
    const std::uintptr_t at = address(block);
    in_first = in_first || (at >= address(first.extent().data) &&
                            at < address(first.extent().data) + first.extent().size);
    in_second = in_second || (at >= address(second.extent().data) &&
                              at < address(second.extent().data) + second.extent().size);
    *static_cast<void**>(block) = chain;
    chain = block;
  }
  KEEL_EXPECT(in_first && in_second);
  KEEL_EXPECT(heap.validate().ok());
  while (chain != nullptr) {
    void* next = *static_cast<void**>(chain);
    heap.free(chain);
    chain = next;
  }

  // Give the second region back whole, so that what follows happens in the first.
  KEEL_EXPECT(heap.truncate(second.extent(), Span{}).ok());
  KEEL_EXPECT(heap.statistics().region_count == 1);

  // Extend the first region to the whole slice, then truncate it back to a live block.
  const keel::RegionResult grown = heap.extend(first.extent(), slice);
  KEEL_EXPECT(grown.ok());
  KEEL_EXPECT(grown.ok() && grown.extent().size > first.extent().size);
  void* live = heap.allocate(64);
  KEEL_EXPECT(live != nullptr);
  const keel::RegionResult least = heap.reserved(grown.extent());
  KEEL_EXPECT(least.ok());
  const keel::RegionResult cut = heap.truncate(grown.extent(), least.extent());
  KEEL_EXPECT(cut.ok());
  KEEL_EXPECT(cut.ok() && cut.extent().size < grown.extent().size);
  KEEL_EXPECT(heap.usable_size(live) >= 64);
  KEEL_EXPECT(heap.validate().ok());
  // A region with a live block cannot be released; an empty one can.
  KEEL_EXPECT(heap.truncate(cut.extent(), Span{}).error() == keel::RegionError::cuts_live_block);
  heap.free(live);
  KEEL_EXPECT(heap.truncate(cut.extent(), Span{}).ok());
  KEEL_EXPECT(heap.statistics().region_count == 0);
  KEEL_EXPECT(heap.allocate(8) == nullptr);
  KEEL_EXPECT(heap.validate().ok());
}

/// ClaimOnOom hands the second section to the heap when the first runs out.
void out_of_memory(Span first_section, Span second_section) {
  const Span reserve = memory_of(second_section, 2048);
  auto& heap = fresh_heap<keel::Heap<keel::ClaimOnOom>>(keel::ClaimOnOom{reserve});
  KEEL_EXPECT(heap.claim(memory_of(first_section, 2048)).ok());
  void* chain = nullptr;
  std::size_t count = 0;
  while (void* block = heap.try_allocate(100)) {
    *static_cast<void**>(block) = chain;
    chain = block;
    ++count;
  }
  KEEL_EXPECT(!heap.oom_policy().claimed());  // try_allocate never calls the policy
  void* rescued = heap.allocate(100);
  KEEL_EXPECT(rescued != nullptr);
  KEEL_EXPECT(heap.oom_policy().claimed());
  KEEL_EXPECT(heap.statistics().region_count == 2);
  KEEL_EXPECT(address(rescued) >= address(reserve.data) &&
              address(rescued) < address(reserve.data) + reserve.size);
  heap.free(rescued);
  while (chain != nullptr) {
    void* next = *static_cast<void**>(chain);
    heap.free(chain);
    chain = next;
  }
  KEEL_EXPECT(count > 10);
  KEEL_EXPECT(heap.statistics().live_allocations == 0);
  KEEL_EXPECT(heap.validate().ok());
}

}  // namespace

int main() {
  keel::port::init();
  const bool trapping = keel::port::cortex_m::trap_unaligned_access();
  keel::check::out().text("test_heap on ").text(keel::port::cortex_m::board_name());
  keel::check::out().text(trapping ? " (unaligned accesses trap)\n" : "\n");
  const Span section = keel::port::cortex_m::heap_memory();
  const Span second = keel::port::cortex_m::second_heap_memory();
  allocation_edges(memory_of(section, 8192));
  reallocation_paths(memory_of(section, 4096, 1));  // an odd start: claim trims it
  bad_frees(memory_of(section, 2048));
  inspection(memory_of(section, 2048));
  regions(section, second);
  out_of_memory(section, second);
  return keel::check::finish("test_heap");
}
