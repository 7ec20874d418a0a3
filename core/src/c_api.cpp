// core/src/c_api.cpp: keel.h over keel::Heap<keel::FailOnOom>.
#include "keel/keel.h"

#include <new>

#include "keel/detail/bits.hpp"
#include "keel/fault.hpp"
#include "keel/heap.hpp"

// The heap's options: the defaults (statistics, basic checks), unless the build names others as
// designated initializers of keel::HeapOptions, e.g. -DKEEL_C_API_OPTIONS=".quick_lists = 8"
// (scripts/replay-options.sh measures such builds). keel.h is the same for every choice.
#ifndef KEEL_C_API_OPTIONS
#define KEEL_C_API_OPTIONS
#endif
using CHeap = keel::Heap<keel::FailOnOom, keel::HeapOptions{KEEL_C_API_OPTIONS}>;

struct keel_heap {
  CHeap heap;
};

namespace {

CHeap& heap_of(keel_heap* handle) {
  return handle->heap;
}

// keel_init over at most this many bytes limits the heap to blocks of this size, and so gives
// the bin heads it never needs to its region (docs/design.md 13).
constexpr std::size_t kSmallArena = std::size_t{64} * 1024;

// keel.h's fault codes are keel::Fault's values.
static_assert(KEEL_FAULT_FOREIGN_POINTER == static_cast<int>(keel::Fault::foreign_pointer));
static_assert(KEEL_FAULT_MISALIGNED_POINTER == static_cast<int>(keel::Fault::misaligned_pointer));
static_assert(KEEL_FAULT_DOUBLE_FREE == static_cast<int>(keel::Fault::double_free));
static_assert(KEEL_FAULT_INVALID_POINTER == static_cast<int>(keel::Fault::invalid_pointer));
static_assert(KEEL_FAULT_CORRUPTED_BLOCK == static_cast<int>(keel::Fault::corrupted_block));
static_assert(KEEL_FAULT_POOL_FOREIGN == static_cast<int>(keel::Fault::pool_foreign));
static_assert(KEEL_FAULT_POOL_DOUBLE_RELEASE == static_cast<int>(keel::Fault::pool_double_release));
static_assert(KEEL_FAULT_BUFFER_OVERRUN == static_cast<int>(keel::Fault::buffer_overrun));
static_assert(KEEL_FAULT_WRITE_AFTER_FREE == static_cast<int>(keel::Fault::write_after_free));
constexpr int kLastFault = KEEL_FAULT_WRITE_AFTER_FREE;

// The C handler, called through a C++ one (the two function types differ).
constinit keel_fault_handler g_c_fault_handler = nullptr;

void call_c_fault_handler(keel::Fault fault, const void* address) noexcept {
  g_c_fault_handler(static_cast<int>(fault), address);
}

}  // namespace

extern "C" {

size_t keel_heap_size(void) {
  return sizeof(keel_heap);
}

keel_heap* keel_init(void* memory, size_t size) {
  if (memory == nullptr) {
    return nullptr;
  }
  const auto start = reinterpret_cast<std::uintptr_t>(memory);
  const std::uintptr_t aligned = keel::detail::align_up(start, alignof(keel_heap));
  const std::size_t front = aligned - start + sizeof(keel_heap);
  if (size < front + CHeap::min_region) {
    return nullptr;
  }
  auto* handle = ::new (reinterpret_cast<void*>(aligned)) keel_heap{};
  std::size_t used = front;
  if (size <= kSmallArena) {
    used = aligned - start + handle->heap.limit_blocks(kSmallArena);
  }
  if (!handle->heap.claim(keel::Span{static_cast<std::byte*>(memory) + used, size - used})) {
    return nullptr;
  }
  return handle;
}

int keel_claim(keel_heap* heap, void* memory, size_t size) {
  keel::RegionResult result = heap_of(heap).claim(keel::Span{memory, size});
  if (!result) {
    return static_cast<int>(result.error()) + 1;
  }
  // A span larger than the heap's largest region becomes several regions, while they take.
  const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(memory) + size;
  while (result &&
         end - reinterpret_cast<std::uintptr_t>(result.extent().end()) >= CHeap::min_region) {
    std::byte* next = result.extent().end();
    result = heap_of(heap).claim(
        keel::Span{next, static_cast<std::size_t>(end - reinterpret_cast<std::uintptr_t>(next))});
  }
  return 0;
}

void* keel_malloc(keel_heap* heap, size_t size) {
  return heap_of(heap).allocate(size);
}

void* keel_aligned_alloc(keel_heap* heap, size_t alignment, size_t size) {
  return heap_of(heap).allocate(size, alignment);
}

void* keel_calloc(keel_heap* heap, size_t count, size_t size) {
  return heap_of(heap).allocate_zeroed(count, size);
}

void* keel_realloc(keel_heap* heap, void* pointer, size_t size) {
  return heap_of(heap).reallocate(pointer, size);
}

void keel_free(keel_heap* heap, void* pointer) {
  heap_of(heap).free(pointer);
}

size_t keel_usable_size(keel_heap* heap, const void* pointer) {
  return heap_of(heap).usable_size(pointer);
}

void keel_get_stats(keel_heap* heap, keel_stats* stats) {
  const keel::Statistics s = heap_of(heap).statistics();
  stats->bytes_claimed = s.bytes_claimed;
  stats->bytes_in_use = s.bytes_in_use;
  stats->bytes_free = s.bytes_free;
  stats->peak_bytes_in_use = s.peak_bytes_in_use;
  stats->min_bytes_free = s.min_bytes_free;
  stats->live_allocations = s.live_allocations;
  stats->total_allocations = s.total_allocations;
  stats->failed_allocations = s.failed_allocations;
  stats->largest_free_block = s.largest_free_block;
  stats->fragmentation_permille = s.fragmentation_permille;
}

int keel_validate(keel_heap* heap, const void** where) {
  const keel::ValidationResult result = heap_of(heap).validate();
  if (where != nullptr) {
    *where = result.address;
  }
  return static_cast<int>(result.kind);
}

keel_fault_handler keel_set_fault_handler(keel_fault_handler handler) {
  const keel_fault_handler previous_c = g_c_fault_handler;
  g_c_fault_handler = handler;
  const keel::FaultHandler previous =
      keel::set_fault_handler(handler != nullptr ? &call_c_fault_handler : nullptr);
  return previous == &call_c_fault_handler ? previous_c : nullptr;
}

const char* keel_fault_name(int fault) {
  if (fault < 0 || fault > kLastFault) {
    return "unknown";
  }
  return keel::to_string(static_cast<keel::Fault>(fault));
}

}  // extern "C"
