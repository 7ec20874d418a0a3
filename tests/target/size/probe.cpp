// tests/target/size/probe.cpp: an image that uses a chosen set of keel's features, for the
// code-size figures (docs/benchmarks.md, "Cortex-M"). Built once per configuration with
// KEEL_PROBE_* definitions (tests/target/size/CMakeLists.txt); size_report.cmake compares each
// image's symbols with the baseline image's (the same probe with no feature), so a feature's
// cost is the code it adds to a firmware image: keel's functions, the compiler helpers it
// pulls in, and the few bytes of the call sites here.
//
// Every feature is reached through a table of function pointers that main() publishes through
// a volatile, so that nothing is optimised away and nothing is inlined into main.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "cortex_m.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "port.hpp"

#if defined(KEEL_PROBE_C_API)
#include "keel/keel.h"
#endif
#if defined(KEEL_PROBE_POOLS)
#include "keel/pool.hpp"
#endif
#if defined(KEEL_PROBE_LIBC) || defined(KEEL_PROBE_NEW_DELETE)
#include <cstdlib>

#include "keel/global.hpp"
#endif

namespace {

#ifndef KEEL_PROBE_STATISTICS
#define KEEL_PROBE_STATISTICS 0
#endif
#ifndef KEEL_PROBE_CHECKING
#define KEEL_PROBE_CHECKING 1  // keel::Checking::basic
#endif
#ifndef KEEL_PROBE_SEARCH_LIMIT
#define KEEL_PROBE_SEARCH_LIMIT 0  // the default: no fallback search
#endif
#ifndef KEEL_PROBE_LARGEST_BLOCK
#define KEEL_PROBE_LARGEST_BLOCK 0xFFFFFFF8U  // the default: 4 GiB - 8
#endif

constexpr keel::HeapOptions kOptions{
    .statistics = KEEL_PROBE_STATISTICS != 0,
    .checking = static_cast<keel::Checking>(KEEL_PROBE_CHECKING),
    .search_limit = KEEL_PROBE_SEARCH_LIMIT,
    .largest_block = KEEL_PROBE_LARGEST_BLOCK,
};
#if defined(KEEL_PROBE_CLAIM_ON_OOM)
using Oom = keel::ClaimOnOom;
#else
using Oom = keel::FailOnOom;
#endif
using ProbeHeap = keel::Heap<Oom, kOptions>;
#if defined(KEEL_PROBE_LOCKED)
constinit keel::Locked<ProbeHeap, keel::port::IrqLock> g_locked;
ProbeHeap& heap() {
  return g_locked.unlocked();
}
#else
constinit ProbeHeap g_heap;
[[maybe_unused]] ProbeHeap& heap() {
  return g_heap;
}
#endif

using Entry = void (*)();
void sink(std::uintptr_t value);

// A pointer the compiler knows nothing about, for the calls that take a block.
void* volatile g_block = nullptr;
[[maybe_unused]] void* some_block() {
  return g_block;
}

// The features. Each entry is one call of the API, kept out of line.
#if defined(KEEL_PROBE_HEAP)
[[gnu::noinline]] void use_claim() {
  sink(heap().claim(keel::port::cortex_m::heap_memory()).ok());
}
[[gnu::noinline]] void use_allocate() {
  sink(reinterpret_cast<std::uintptr_t>(heap().allocate(std::uintptr_t{24})));
}
[[gnu::noinline]] void use_allocate_aligned() {
  sink(reinterpret_cast<std::uintptr_t>(heap().allocate(48, 64)));
}
[[gnu::noinline]] void use_free() {
  heap().free(some_block());
}
[[gnu::noinline]] void use_reallocate() {
  sink(reinterpret_cast<std::uintptr_t>(heap().reallocate(some_block(), 100)));
}
#endif
#if defined(KEEL_PROBE_STATISTICS_CALL)
[[gnu::noinline]] void use_statistics() {
  sink(heap().statistics().bytes_in_use);
}
#endif
#if defined(KEEL_PROBE_ZEROED)
[[gnu::noinline]] void use_allocate_zeroed() {
  sink(reinterpret_cast<std::uintptr_t>(heap().allocate_zeroed(4, 10)));
}
#endif
#if defined(KEEL_PROBE_RESIZE)
[[gnu::noinline]] void use_resize() {
  void* block = some_block();
  sink(heap().try_resize_in_place(block, 64) + heap().usable_size(block));
}
#endif
#if defined(KEEL_PROBE_REGIONS)
[[gnu::noinline]] void use_regions() {
  const keel::Span memory = keel::port::cortex_m::second_heap_memory();
  const keel::Span region{memory.data + 1024, 1024};
  sink(heap().extend(region, memory).ok());
  sink(heap().truncate(region, heap().reserved(region).extent()).ok());
}
#endif
#if defined(KEEL_PROBE_VALIDATE)
[[gnu::noinline]] void use_validate() {
  sink(heap().validate().ok() + heap().check());
}
#endif
#if defined(KEEL_PROBE_WALK_DUMP)
struct NullSink {
  void operator()(const char* text, std::size_t length) const {
    sink(reinterpret_cast<std::uintptr_t>(text) + length);
  }
};
[[gnu::noinline]] void use_walk_dump() {
  heap().walk([](const keel::BlockInfo& block) { sink(block.size); });
  heap().dump(NullSink{});
}
#endif
#if defined(KEEL_PROBE_LOCKED)
[[gnu::noinline]] void use_locked() {
  void* block = g_locked.allocate(24);
  g_locked.free(block);
}
#endif
#if defined(KEEL_PROBE_FAULT_NAMES)
[[gnu::noinline]] void use_fault_names() {
  sink(reinterpret_cast<std::uintptr_t>(keel::to_string(keel::Fault::double_free)) +
       reinterpret_cast<std::uintptr_t>(keel::to_string(keel::Violation::bad_footer)) +
       reinterpret_cast<std::uintptr_t>(keel::to_string(keel::RegionError::overlaps)));
}
#endif
#if defined(KEEL_PROBE_C_API)
[[gnu::noinline]] void use_c_api() {
  const keel::Span memory = keel::port::cortex_m::heap_memory();
  keel_heap* heap = keel_init(memory.data, memory.size);
  void* block = keel_malloc(heap, 10);
  block = keel_realloc(heap, block, 40);
  keel_free(heap, keel_calloc(heap, 2, 8));
  keel_free(heap, keel_aligned_alloc(heap, 64, 8));
  keel_stats stats;
  keel_get_stats(heap, &stats);
  sink(keel_usable_size(heap, block) + stats.bytes_in_use +
       static_cast<std::uintptr_t>(keel_validate(heap, nullptr)) +
       static_cast<std::uintptr_t>(keel_claim(heap, memory.data, 16)));
  keel_free(heap, block);
}
#endif
#if defined(KEEL_PROBE_POOLS)
struct Message {
  std::uint32_t words[6];
};
constinit keel::ObjectPool<Message, 16> g_objects;
[[gnu::noinline]] void use_pools() {
  Message* message = g_objects.create();
  g_objects.destroy(message);
  keel::BlockPool pool(keel::port::cortex_m::heap_memory(), 32);
  pool.release(pool.acquire());
  sink(pool.in_use());
}
#endif
#if defined(KEEL_PROBE_LIBC) || defined(KEEL_PROBE_NEW_DELETE)
[[gnu::noinline]] void use_global() {
#if defined(KEEL_PROBE_LIBC)
  void* block = std::malloc(10);
  block = std::realloc(block, 30);
  std::free(std::calloc(2, 8));
  std::free(block);
#endif
#if defined(KEEL_PROBE_NEW_DELETE)
  auto* numbers = new int[4];
  delete[] numbers;
  auto* number = new long long;
  delete number;
#endif
}
#endif

// The baseline uses memcpy, memset, memmove and the port's heap sections too, so that they
// are in every image and never counted as keel's.
[[gnu::noinline]] void use_memory_functions() {
  static char buffer[32];
  std::memset(buffer, 1, 16);
  std::memcpy(buffer + 16, buffer, 8);
  std::memmove(buffer + 1, buffer, 8);
  sink(static_cast<std::uintptr_t>(buffer[3]) + keel::port::cortex_m::heap_memory().size +
       keel::port::cortex_m::second_heap_memory().size);
}

const Entry kEntries[] = {
    use_memory_functions,
#if defined(KEEL_PROBE_HEAP)
    use_claim,
    use_allocate,
    use_allocate_aligned,
    use_free,
    use_reallocate,
#endif
#if defined(KEEL_PROBE_STATISTICS_CALL)
    use_statistics,
#endif
#if defined(KEEL_PROBE_ZEROED)
    use_allocate_zeroed,
#endif
#if defined(KEEL_PROBE_RESIZE)
    use_resize,
#endif
#if defined(KEEL_PROBE_REGIONS)
    use_regions,
#endif
#if defined(KEEL_PROBE_VALIDATE)
    use_validate,
#endif
#if defined(KEEL_PROBE_WALK_DUMP)
    use_walk_dump,
#endif
#if defined(KEEL_PROBE_LOCKED)
    use_locked,
#endif
#if defined(KEEL_PROBE_FAULT_NAMES)
    use_fault_names,
#endif
#if defined(KEEL_PROBE_C_API)
    use_c_api,
#endif
#if defined(KEEL_PROBE_POOLS)
    use_pools,
#endif
#if defined(KEEL_PROBE_LIBC) || defined(KEEL_PROBE_NEW_DELETE)
    use_global,
#endif
};

volatile std::uintptr_t g_sink;
void sink(std::uintptr_t value) {
  g_sink = g_sink + value;
}

const Entry* volatile g_published;

}  // namespace

#if defined(KEEL_PROBE_LIBC) || defined(KEEL_PROBE_NEW_DELETE)
KEEL_GLOBAL_HEAP(g_heap);
#endif

int main() {
  keel::port::init();
  g_published = kEntries;
  // Never true at run time (the image is measured, not run), but the compiler cannot know.
  if (g_sink == 0x5EED) {
    for (const Entry entry : kEntries) {
      entry();
    }
  }
  return 0;
}
