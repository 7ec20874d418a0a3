// qemu-demo/cortex-m/measure_main.cpp: keel against newlib's malloc, in instructions, on the
// same workload (qemu-demo/common/measure.hpp), in one image.
//
// Linked twice: keel_measure_full with newlib's malloc (dlmalloc-based), keel_measure_nano with
// newlib-nano's (--specs=nano.specs). In each image newlib's malloc is the real `malloc`, over
// _sbrk in the linker's heap section, and keel measured beside it is a keel::Heap<> (and three
// other configurations) over the second heap section (the board's other RAM bank; QEMU models
// no memory timing, so the banks cost the same). Every call goes through a function the compiler
// cannot inline, as a call to malloc does. Prints one table; exits 0 if every call succeeded.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "cortex_m.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "measure.hpp"
#include "port.hpp"

#ifndef KEEL_NEWLIB_VARIANT
#error "KEEL_NEWLIB_VARIANT must name the newlib variant (full or nano)"
#endif

namespace cm = keel::port::cortex_m;

// newlib's malloc gets its memory here: the linker's heap section, grown by _sbrk.
extern "C" void* _sbrk(std::ptrdiff_t increment) {
  static std::byte* g_break = nullptr;
  const keel::Span section = cm::heap_memory();
  if (g_break == nullptr) {
    g_break = section.data;
  }
  if (increment > section.end() - g_break || increment < section.data - g_break) {
    errno = ENOMEM;
    return reinterpret_cast<void*>(-1);
  }
  std::byte* previous = g_break;
  g_break += increment;
  return previous;
}

namespace {

using Samples = demo::Histogram<1024>;

keel::Heap<> g_keel;
keel::Locked<keel::Heap<>, keel::port::IrqLock> g_keel_locked;
keel::Heap<keel::FailOnOom, keel::HeapOptions{.statistics = false}> g_keel_lean;
keel::Heap<keel::FailOnOom,
           keel::HeapOptions{.statistics = false, .checking = keel::Checking::none}>
    g_keel_bare;
/// Deferred frees of small blocks (docs/design.md section 15), with the default statistics and
/// checks: quick lists 8 deep for every block of the workload (up to 256 B asked, 264 B blocks).
keel::Heap<keel::FailOnOom, keel::HeapOptions{.quick_lists = 8, .quick_largest = 264}> g_keel_quick;

[[gnu::noinline]] void* newlib_malloc(std::size_t size) {
  return std::malloc(size);
}
[[gnu::noinline]] void newlib_free(void* pointer) {
  std::free(pointer);
}
[[gnu::noinline]] void* keel_allocate(std::size_t size) {
  return g_keel.allocate(size);
}
[[gnu::noinline]] void keel_free(void* pointer) {
  g_keel.free(pointer);
}
[[gnu::noinline]] void* keel_locked_allocate(std::size_t size) {
  return g_keel_locked.allocate(size);
}
[[gnu::noinline]] void keel_locked_free(void* pointer) {
  g_keel_locked.free(pointer);
}
[[gnu::noinline]] void* keel_lean_allocate(std::size_t size) {
  return g_keel_lean.allocate(size);
}
[[gnu::noinline]] void keel_lean_free(void* pointer) {
  g_keel_lean.free(pointer);
}
[[gnu::noinline]] void* keel_quick_allocate(std::size_t size) {
  return g_keel_quick.allocate(size);
}
[[gnu::noinline]] void keel_quick_free(void* pointer) {
  g_keel_quick.free(pointer);
}
[[gnu::noinline]] void* keel_bare_allocate(std::size_t size) {
  return g_keel_bare.allocate(size);
}
[[gnu::noinline]] void keel_bare_free(void* pointer) {
  g_keel_bare.free(pointer);
}

Samples g_mallocs;
Samples g_frees;
void* g_slots[64];

void row(const char* name, const Samples& samples) {
  std::printf(
      "| %-34s | %6lu | %6lu | %6lu | %6lu | %6lu |\n", name,
      static_cast<unsigned long>(samples.best()), static_cast<unsigned long>(samples.median()),
      static_cast<unsigned long>(samples.percentile(99)),
      static_cast<unsigned long>(samples.worst()), static_cast<unsigned long>(samples.mean()));
}

template <typename Allocate, typename Release>
bool run(const char* malloc_name, const char* free_name, Allocate&& allocate, Release&& release) {
  g_mallocs = Samples{};
  g_frees = Samples{};
  const demo::MeasureConfig config;
  const demo::MeasureResult result =
      demo::measure(config, g_slots, allocate, release, g_mallocs, g_frees);
  row(malloc_name, g_mallocs);
  row(free_name, g_frees);
  return result.failed_mallocs == 0 && result.frees == result.mallocs &&
         result.mallocs == config.operations;
}

}  // namespace

int main() {
  keel::port::init();
  // keel's heaps: a fifth of the second bank each.
  const keel::Span bank = cm::second_heap_memory();
  const std::size_t quarter = bank.size / 5;
  const keel::Span locked_slice{bank.data + quarter, quarter};
  bool ok = g_keel.claim(keel::Span{bank.data, quarter}).ok();
  ok = g_keel_locked.with_lock([locked_slice](auto& heap) {
    return heap.claim(locked_slice).ok();
  }) && ok;
  ok = g_keel_lean.claim(keel::Span{bank.data + 2 * quarter, quarter}).ok() && ok;
  ok = g_keel_bare.claim(keel::Span{bank.data + 3 * quarter, quarter}).ok() && ok;
  ok = g_keel_quick.claim(keel::Span{bank.data + 4 * quarter, quarter}).ok() && ok;
  const demo::MeasureConfig config;
  std::printf("\nmalloc/free cost on %s (%s), newlib %s, in instructions (QEMU -icount)\n",
              cm::board_name(), cm::core_name(), KEEL_NEWLIB_VARIANT);
  std::printf(
      "workload: %lu slots, %lu mallocs of %lu..%lu B and as many frees, xorshift32 "
      "seed 0x%lx; empty window %lu subtracted\n\n",
      static_cast<unsigned long>(config.slots), static_cast<unsigned long>(config.operations),
      static_cast<unsigned long>(config.min_size),
      static_cast<unsigned long>(config.min_size + config.size_span - 1),
      static_cast<unsigned long>(config.seed), static_cast<unsigned long>(demo::empty_window()));
  std::printf("| %-34s | %6s | %6s | %6s | %6s | %6s |\n", "call", "best", "median", "p99", "worst",
              "mean");
  std::printf("|%s|--------|--------|--------|--------|--------|\n",
              "------------------------------------");
  // newlib first: its stdout buffer is already allocated (by the lines above), so the
  // workload's own requests are all there is.
  ok = run("newlib " KEEL_NEWLIB_VARIANT " malloc", "newlib " KEEL_NEWLIB_VARIANT " free",
           newlib_malloc, newlib_free) &&
       ok;
  ok = run("keel Heap<>::allocate", "keel Heap<>::free", keel_allocate, keel_free) && ok;
  ok = run("keel Locked<.., IrqLock>::allocate", "keel Locked<.., IrqLock>::free",
           keel_locked_allocate, keel_locked_free) &&
       ok;
  ok = run("keel allocate, no statistics", "keel free, no statistics", keel_lean_allocate,
           keel_lean_free) &&
       ok;
  ok = run("keel allocate, no stats, no checks", "keel free, no stats, no checks",
           keel_bare_allocate, keel_bare_free) &&
       ok;
  ok = run("keel allocate, quick lists", "keel free, quick lists", keel_quick_allocate,
           keel_quick_free) &&
       ok;
  ok = g_keel.validate().ok() && g_keel.statistics().live_allocations == 0 && ok;
  ok = g_keel_quick.validate().ok() && g_keel_quick.statistics().live_allocations == 0 && ok;
  std::printf("\nmeasure (%s): %s\n", KEEL_NEWLIB_VARIANT, ok ? "PASS" : "FAIL");
  std::fflush(stdout);
  return ok ? 0 : 1;
}
