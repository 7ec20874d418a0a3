// qemu-demo/common/demo.cpp: the demo's global heap, its phases in order, and the final report.
#include "demo.hpp"

#include <cstdint>
#include <cstdlib>

#include "keel/global.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/oom.hpp"
#include "measure.hpp"

namespace demo {
namespace {

// Constant-initialised: usable before any constructor runs. It has no memory until run()
// claims the platform's main region; its OOM policy gets the reserve at the same time.
constinit GlobalHeap g_heap{keel::ClaimOnOom{}};

const Platform* g_platform = nullptr;
unsigned g_checks = 0;
unsigned g_failures = 0;

/// A sink for dump(): indents every line of the heap map under the report's heading.
class IndentingPrinter {
 public:
  void operator()(const char* text, std::size_t length) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < length; ++i) {
      if (at_line_start_) {
        write("     ", 5);
        at_line_start_ = false;
      }
      if (text[i] == '\n') {
        write(text + start, i + 1 - start);
        start = i + 1;
        at_line_start_ = true;
      }
    }
    if (start < length) {
      write(text + start, length - start);
    }
  }

 private:
  bool at_line_start_ = true;
};

/// The health report panic() and the fault handler print: it must not take the heap's lock
/// (the fault may have struck while it was held), so it reads the heap unlocked.
void report_health() noexcept {
  const auto& heap = g_heap.unlocked();
  const keel::Statistics stats = heap.statistics();
  const keel::ValidationResult health = heap.validate();
  print("heap health: %s%s%p; %lu live blocks, %lu B in use, %lu B free, %lu regions\n",
        health.ok() ? "valid" : keel::to_string(health.kind), health.ok() ? "" : " at ",
        health.ok() ? nullptr : health.address, static_cast<unsigned long>(stats.live_allocations),
        static_cast<unsigned long>(stats.bytes_in_use),
        static_cast<unsigned long>(stats.bytes_free),
        static_cast<unsigned long>(stats.region_count));
}

void print_statistics(const keel::Statistics& stats) {
  print("   regions %lu, claimed %lu B, in use %lu B, free %lu B, overhead %lu B\n",
        static_cast<unsigned long>(stats.region_count),
        static_cast<unsigned long>(stats.bytes_claimed),
        static_cast<unsigned long>(stats.bytes_in_use),
        static_cast<unsigned long>(stats.bytes_free),
        static_cast<unsigned long>(stats.bytes_overhead));
  // (%lu, not %llu: newlib-nano's printf has no long long)
  print("   peak in use %lu B, least free %lu B, allocations %lu, failed %lu, live %lu\n",
        static_cast<unsigned long>(stats.peak_bytes_in_use),
        static_cast<unsigned long>(stats.min_bytes_free),
        static_cast<unsigned long>(stats.total_allocations),
        static_cast<unsigned long>(stats.failed_allocations),
        static_cast<unsigned long>(stats.live_allocations));
  print("   free blocks %lu, largest %lu B, fragmentation %u/1000\n",
        static_cast<unsigned long>(stats.free_blocks),
        static_cast<unsigned long>(stats.largest_free_block), stats.fragmentation_permille);
}

#if defined(KEEL_DEMO_RECORD)
#if !defined(KEEL_DEMO_RECORD_PATH)
#define KEEL_DEMO_RECORD_PATH "keel-demo.krec"
#endif
/// Opens the port's recording sink and starts recording, before anything allocates: the
/// recording then holds every block of the run. False if the port has no channel to the host.
bool start_recording() {
  return g_heap.with_lock([](auto& heap) {
    if (!heap.recorder().sink().open(KEEL_DEMO_RECORD_PATH)) {
      return false;
    }
    heap.start_recording();
    return true;
  });
}

/// Ends the recording (E, the last buffer) and says how long it is, and what one flush of the
/// buffer to the host costs (in the counter's unit, the empty window subtracted).
void stop_recording() {
  std::uint32_t records = 0;
  std::size_t bytes = 0;
  std::size_t flushed = 0;
  std::uint64_t flush_cost = 0;
  const std::uint64_t window = empty_window();
  g_heap.with_lock([&](auto& heap) {
    flushed = heap.recorder().buffered();
    const std::uint64_t before = keel::port::counter();
    heap.recorder().flush();
    const std::uint64_t after = keel::port::counter();
    flush_cost = after - before > window ? after - before - window : 0;
    heap.stop_recording();
    heap.recorder().sink().close();
    records = heap.recorder().records();
    bytes = heap.recorder().bytes();
    return 0;
  });
  print("   recording: %lu records, %lu B, to %s\n", static_cast<unsigned long>(records),
        static_cast<unsigned long>(bytes), KEEL_DEMO_RECORD_PATH);
  print("   one flush of the recording's buffer (%lu B): %lu %s\n",
        static_cast<unsigned long>(flushed), static_cast<unsigned long>(flush_cost),
        keel::port::counter_unit());
}
#endif

}  // namespace

// keel's malloc family, operator new/delete and keel::Allocator<T> all use g_heap.
}  // namespace demo
KEEL_GLOBAL_HEAP(demo::g_heap);
namespace demo {

GlobalHeap& global_heap() {
  return g_heap;
}

const Platform& platform() {
  return *g_platform;
}

bool expect(bool passed, const char* what) {
  ++g_checks;
  if (!passed) {
    ++g_failures;
    print("   CHECK FAILED: %s\n", what);
  }
  return passed;
}

int run(const Platform& machine) {
  g_platform = &machine;
  keel::port::set_health_reporter(report_health);
#if defined(KEEL_DEMO_RECORD)
  const bool recording = start_recording();
#endif
  // Claim region 1 and arm the OOM policy with the reserve, before anything allocates: the
  // first printf makes the C library allocate stdout's buffer, through keel.
  const bool claimed = g_heap.with_lock([&machine](auto& heap) {
    heap.oom_policy() = keel::ClaimOnOom{machine.reserve_memory};
    return heap.claim(machine.main_memory).ok();
  });
  print("\nkeel demo on %s\n", machine.machine);
  expect(claimed, "region 1 claimed");
#if defined(KEEL_DEMO_RECORD)
  expect(recording, "the recording channel to the host is open");
#endif
  if (!claimed) {
    return 1;
  }
  print("   heap: region 1 = %lu B at %p (%s); reserve = %lu B at %p (%s)\n",
        static_cast<unsigned long>(machine.main_memory.size),
        static_cast<void*>(machine.main_memory.data),
        machine.main_name != nullptr ? machine.main_name : "linker heap section",
        static_cast<unsigned long>(machine.reserve_memory.size),
        static_cast<void*>(machine.reserve_memory.data), machine.reserve_name);
  print(
      "   keel is malloc (the C library's own calls too, if any), operator new and "
      "keel::Allocator<T>\n");
  // Blocks alive from here on belong to the C library for good: the leak report's baseline.
  const keel::Statistics baseline = g_heap.statistics();
  print("   baseline: %lu block(s), %lu B held by the C library (stdio's buffers)\n",
        static_cast<unsigned long>(baseline.live_allocations),
        static_cast<unsigned long>(baseline.bytes_in_use));

  run_messaging();
  run_fragmentation_stress();
  run_out_of_memory();
  run_measurement();

  print("\n== 5. Report\n   statistics:\n");
  const keel::Statistics final_stats = g_heap.statistics();
  print_statistics(final_stats);
  print("   heap map:\n");
  g_heap.with_lock([](auto& heap) {
    IndentingPrinter printer;
    heap.dump(printer);
    return 0;
  });
  const long leaks = static_cast<long>(final_stats.live_allocations) -
                     static_cast<long>(baseline.live_allocations);
  print("   leak report: %lu live block(s) now, %lu at the baseline: %ld leak(s)\n",
        static_cast<unsigned long>(final_stats.live_allocations),
        static_cast<unsigned long>(baseline.live_allocations), leaks);
  g_heap.with_lock([](auto& heap) {
    IndentingPrinter printer;  // writes straight to the console: allocates nothing under the lock
    return heap.leak_report(printer);
  });
  const keel::ValidationResult health =
      g_heap.with_lock([](auto& heap) { return heap.validate(); });
  print("   validate(): %s\n",
        health.ok() ? "every invariant holds" : keel::to_string(health.kind));
  expect(leaks == 0, "no leaks");
  expect(final_stats.bytes_in_use == baseline.bytes_in_use, "bytes in use back to the baseline");
  expect(health.ok(), "validate()");
  expect(final_stats.region_count == 2, "both memory banks are keel regions");
#if defined(KEEL_DEMO_RECORD)
  stop_recording();
#endif
  print("\ndemo: %s (%u checks, %u failed)\n", g_failures == 0 ? "PASS" : "FAIL", g_checks,
        g_failures);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace demo
