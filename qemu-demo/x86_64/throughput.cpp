// qemu-demo/x86_64/throughput.cpp: the throughput benchmark (throughput.hpp).
#include "throughput.hpp"

#include <atomic>
#include <cstddef>
#include <new>

#include "barrier.hpp"
#include "cpu_heap.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/pool.hpp"
#include "kernel_heap.hpp"
#include "random.hpp"
#include "x86/boot_layout.h"
#include "x86/clock.hpp"
#include "x86/cpu.hpp"
#include "x86/smp.hpp"
#include "x86/ticket_lock.hpp"
#include "x86/wait.hpp"

namespace kernel {
namespace {

using demo::print;

constexpr unsigned kBatch = 32;
constexpr std::size_t kPoolBlockBytes = 512;
constexpr std::size_t kPrivateHeapBytes = 1024 * 1024;
constexpr unsigned kMaxRepeats = 9;

constexpr std::size_t kSideHeapBytes = 4 * 1024 * 1024;

enum class Target : std::uint8_t {
  shared_heap,
  shared_ticket_heap,
  shared_spin_heap,
  per_core_pool,
  per_core_heap,
  cpu_cached,
};

/// Two more shared heaps (a 4 MiB region each), to tell the costs apart: the port's ticket lock
/// without the interrupt masking of IrqLock, and keel's test-and-set SpinLock, which is not
/// FIFO. Neither masks interrupts; the benchmark runs with interrupts off.
constinit keel::Locked<keel::Heap<>, keel::port::x86::TicketLock> g_ticket_heap;
constinit keel::Locked<keel::Heap<>, keel::SpinLock> g_spin_heap;

/// Gives one of the side heaps a region from the kernel heap, and takes it back.
template <typename Shared>
class SideHeap {
 public:
  explicit SideHeap(Shared& shared) : shared_(shared), memory_(heap().allocate(kSideHeapBytes)) {
    if (memory_ != nullptr) {
      const keel::RegionResult claimed = shared_.with_lock([&](auto& h) {
        return h.claim(keel::Span{memory_, kSideHeapBytes});
      });
      region_ = claimed.ok() ? claimed.extent() : keel::Span{};
    }
  }
  SideHeap(const SideHeap&) = delete;
  SideHeap& operator=(const SideHeap&) = delete;
  ~SideHeap() { (void)release(); }

  [[nodiscard]] bool ok() const { return !region_.empty(); }

  /// Releases the region (it must hold no live block) and frees its memory. True if it could.
  bool release() {
    bool released = true;
    if (!region_.empty()) {
      released = shared_.with_lock([&](auto& h) { return h.truncate(region_, keel::Span{}); }).ok();
      region_ = keel::Span{};
    }
    heap().free(memory_);
    memory_ = nullptr;
    return released;
  }

 private:
  Shared& shared_;
  void* memory_;
  keel::Span region_{};
};

struct Fixed {
  unsigned long long whole;
  unsigned long long hundredths;
};

struct Job {
  Target target;
  std::uint64_t ticks;  // how long each core runs, in TSC ticks
  std::size_t sizes[kBatch];
  unsigned order[kBatch];
};

struct alignas(64) CoreTime {
  std::uint64_t start;
  std::uint64_t end;
  std::uint64_t operations;
  std::uint64_t failures;
};

constinit CoreTime g_times[MAX_CPUS] = {};
constinit Barrier g_barrier;

/// Rounds of kBatch allocations and kBatch frees until `job.ticks` have passed on this core.
template <typename Allocate, typename Free>
void timed_loop(const Job& job, CoreTime& time, Allocate&& allocate, Free&& free) {
  void* blocks[kBatch] = {};
  g_barrier.arrive_and_wait();
  time.start = keel::port::x86::read_tsc();
  std::uint64_t rounds = 0;
  do {
    for (unsigned i = 0; i < kBatch; ++i) {
      blocks[i] = allocate(job.sizes[i]);
      time.failures += blocks[i] == nullptr ? 1 : 0;
    }
    for (unsigned i = 0; i < kBatch; ++i) {
      free(blocks[job.order[i]]);
    }
    ++rounds;
    time.end = keel::port::x86::read_tsc();
  } while (time.end - time.start < job.ticks);
  time.operations = std::uint64_t{2} * kBatch * rounds;
}

void bench_core(unsigned cpu, void* context) noexcept {
  // A copy on this core's own stack: the original sits on the bootstrap core's stack, next to
  // what that core writes in its loop, and reading it there would share host cache lines.
  const Job job = *static_cast<const Job*>(context);
  CoreTime& time = g_times[cpu];
  time = CoreTime{};
  switch (job.target) {
    case Target::shared_heap:
      timed_loop(
          job, time, [](std::size_t size) { return heap().allocate(size); },
          [](void* block) { heap().free(block); });
      break;
    case Target::shared_ticket_heap:
      timed_loop(
          job, time, [](std::size_t size) { return g_ticket_heap.allocate(size); },
          [](void* block) { g_ticket_heap.free(block); });
      break;
    case Target::shared_spin_heap:
      timed_loop(
          job, time, [](std::size_t size) { return g_spin_heap.allocate(size); },
          [](void* block) { g_spin_heap.free(block); });
      break;
    case Target::per_core_pool: {
      void* memory = heap().allocate(kBatch * kPoolBlockBytes);
      keel::BlockPool pool(keel::Span{memory, memory == nullptr ? 0 : kBatch * kPoolBlockBytes},
                           kPoolBlockBytes, 16, keel::Checking::basic);
      timed_loop(
          job, time, [&pool](std::size_t) { return pool.acquire(); },
          [&pool](void* block) { pool.release(block); });
      heap().free(memory);
      break;
    }
    case Target::per_core_heap: {
      void* memory = heap().allocate(kPrivateHeapBytes);
      keel::Heap<> own;
      if (memory != nullptr) {
        (void)own.claim(keel::Span{memory, kPrivateHeapBytes});
      }
      timed_loop(
          job, time, [&own](std::size_t size) { return own.allocate(size); },
          [&own](void* block) { own.free(block); });
      heap().free(memory);
      break;
    }
    case Target::cpu_cached:
      timed_loop(
          job, time, [](std::size_t size) { return cpu_heap().allocate(size); },
          [](void* block) { cpu_heap().free(block); });
      break;
  }
}

struct Measurement {
  std::uint64_t operations;
  std::uint64_t ticks;
  std::uint64_t failures;
};

Measurement measure(Job& job, unsigned cores) {
  g_barrier.reset(cores);
  keel::port::x86::run_on_cores(cores, &bench_core, &job);
  std::uint64_t first = ~std::uint64_t{0};
  std::uint64_t last = 0;
  Measurement result{0, 0, 0};
  for (unsigned cpu = 0; cpu < cores; ++cpu) {
    first = g_times[cpu].start < first ? g_times[cpu].start : first;
    last = g_times[cpu].end > last ? g_times[cpu].end : last;
    result.operations += g_times[cpu].operations;
    result.failures += g_times[cpu].failures;
  }
  result.ticks = last - first;
  return result;
}

void sort(std::uint64_t* values, unsigned count) {
  for (unsigned i = 1; i < count; ++i) {
    for (unsigned j = i; j > 0 && values[j - 1] > values[j]; --j) {
      const std::uint64_t value = values[j];
      values[j] = values[j - 1];
      values[j - 1] = value;
    }
  }
}

const char* name_of(Target target) {
  switch (target) {
    case Target::shared_heap: return "shared heap (IrqLock)";
    case Target::shared_ticket_heap: return "shared heap (TicketLock)";
    case Target::shared_spin_heap: return "shared heap (keel::SpinLock)";
    case Target::per_core_pool: return "per-core BlockPool";
    case Target::per_core_heap: return "per-core Heap";
    case Target::cpu_cached: return "per-CPU caches (CpuCached)";
  }
  return "?";
}

}  // namespace

bool run_throughput(std::uint32_t milliseconds, unsigned repeats) {
  if (repeats > kMaxRepeats) {
    repeats = kMaxRepeats;
  }
  if (repeats == 0) {
    repeats = 1;
  }
  Job job{};
  Random random(0x5EED);
  for (unsigned i = 0; i < kBatch; ++i) {
    job.sizes[i] = 16 + random.below(497);
    job.order[i] = i;
  }
  for (unsigned i = kBatch - 1; i > 0; --i) {  // Fisher-Yates
    const unsigned j = random.below(i + 1);
    const unsigned value = job.order[i];
    job.order[i] = job.order[j];
    job.order[j] = value;
  }
  const std::uint64_t hz = keel::port::x86::tsc_frequency_hz();
  job.ticks = hz / 1000 * milliseconds;
  // The front end starts empty, as the per-core heaps do: after the stress, its caches hold
  // blocks that crossed cores, and two cores' blocks on one cache line would be written by both.
  cpu_heap().drain_all();
  print(
      "throughput: rounds of %u x allocate (16..512 B) then %u x free, for %lu ms per core and "
      "run; median of %u runs (min..max); TSC %llu MHz (measured against the PIT)\n",
      kBatch, kBatch, static_cast<unsigned long>(milliseconds), repeats,
      static_cast<unsigned long long>(hz / 1'000'000));
  print("   %-30s %5s  %-22s %13s %8s %9s\n", "target", "cores", "Mops/s (min..max)",
        "ticks/op/core", "scaling", "wakes/kop");
  bool ok = true;
  const unsigned online = keel::port::x86::cpus_online();
  SideHeap<decltype(g_ticket_heap)> ticket_side(g_ticket_heap);
  SideHeap<decltype(g_spin_heap)> spin_side(g_spin_heap);
  ok = ok && ticket_side.ok() && spin_side.ok();
  for (const Target target :
       {Target::shared_heap, Target::shared_ticket_heap, Target::shared_spin_heap,
        Target::per_core_pool, Target::per_core_heap, Target::cpu_cached}) {
    job.target = target;
    std::uint64_t single_rate = 1;
    for (const unsigned cores : {1U, 2U, 4U}) {
      if (cores > online) {
        break;
      }
      std::uint64_t rates[kMaxRepeats] = {};   // operations per second, all cores together
      std::uint64_t per_op[kMaxRepeats] = {};  // ticks per operation, per core
      std::uint64_t operations = 0;
      const std::uint64_t wakes_before = keel::port::x86::wake_ups_sent();
      for (unsigned run = 0; run < repeats; ++run) {
        const Measurement m = measure(job, cores);
        operations += m.operations;
        ok = ok && m.failures == 0;
        const std::uint64_t ticks = m.ticks == 0 ? 1 : m.ticks;
        rates[run] = m.operations * hz / ticks;
        per_op[run] = ticks * cores / (m.operations == 0 ? 1 : m.operations);
      }
      sort(rates, repeats);
      sort(per_op, repeats);
      const std::uint64_t median = rates[repeats / 2];
      if (cores == 1) {
        single_rate = median == 0 ? 1 : median;
      }
      const auto mops = [](std::uint64_t rate) {
        return Fixed{rate / 1'000'000, rate / 10'000 % 100};
      };
      const Fixed middle = mops(median);
      const Fixed low = mops(rates[0]);
      const Fixed high = mops(rates[repeats - 1]);
      const std::uint64_t scaling = median * 100 / single_rate;
      // Wake-up IPIs of sleeping lock waiters (x86/wait.hpp) per thousand operations.
      const std::uint64_t wakes = keel::port::x86::wake_ups_sent() - wakes_before;
      const std::uint64_t wakes_per_kop = wakes * 1000 / (operations == 0 ? 1 : operations);
      print("   %-30s %5u  %3llu.%02llu (%llu.%02llu..%llu.%02llu)  %13llu %5llu.%02llux %9llu\n",
            name_of(target), cores, middle.whole, middle.hundredths, low.whole, low.hundredths,
            high.whole, high.hundredths, static_cast<unsigned long long>(per_op[repeats / 2]),
            static_cast<unsigned long long>(scaling / 100),
            static_cast<unsigned long long>(scaling % 100),
            static_cast<unsigned long long>(wakes_per_kop));
    }
  }
  ok = ok && ticket_side.release() && spin_side.release();
  // How often the front end took the shared lock over all its runs; then its caches go back,
  // and nothing is left behind.
  print_cpu_heap_statistics("   per-CPU front end after the throughput runs");
  cpu_heap().drain_all();
  ok = check_cpu_heap("after the throughput runs", 0) && ok;
  return ok;
}

}  // namespace kernel
