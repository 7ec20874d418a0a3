// qemu-demo/x86_64/main.cpp: the keel x86_64 demo kernel.
//
// Booted by QEMU (-kernel, PVH) through ports/x86_64. In order:
//   1. read the boot memory map: the usable RAM ranges above the kernel image;
//   2. run the shared demo workload (qemu-demo/common, the same as on Cortex-M) on the
//      bootstrap core, with the first range as region 1 and the second as the out-of-memory
//      reserve, which its OOM episode claims as region 2; claim any further ranges;
//   3. kernel code on the heap through operator new and std containers; two provoked faults
//      (double free, foreign pointer) that keel must report;
//   4. start the other cores (INIT-SIPI-SIPI) and run the multi-core stress on all of them, on
//      the per-CPU front end (cpu_heap.hpp, keel::CpuCached) with cross-core frees;
//   5. with `bench` on the command line, measure throughput on 1, 2 and 4 cores;
//   6. validate both heaps, print their statistics and the leak report; exit 0 (pass) or 1.
// Command line (-append): stress=N (steps per core, default 20000), seed=N, min_ranges=N,
// nodemo (skip step 2's workload), bench, bench_ms=N (per core and run, default 100),
// bench_repeats=N, icount (set by
// run-kernel.sh --icount: the TSC counts instructions),
// fault=page|ud|triple|hang (end the run the wrong way on purpose, to test the exception report
// and the harness).
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "cpu_heap.hpp"
#include "demo.hpp"
#include "keel/lock.hpp"
#include "kernel_heap.hpp"
#include "platform.hpp"
#include "smp_stress.hpp"
#include "throughput.hpp"
#include "x86/boot_info.hpp"
#include "x86/cpu.hpp"
#include "x86/smp.hpp"
#include "x86/ticket_lock.hpp"

namespace {

using demo::print;

/// The per-CPU front end's region, taken from the kernel heap.
constexpr std::size_t kCpuHeapBytes = std::size_t{32} << 20;
using keel::port::x86::command_line_has;
using keel::port::x86::command_line_number;
using namespace kernel;

/// Records a check: prints it, remembers a failure.
class Verdict {
 public:
  void check(bool ok, const char* what) {
    print("   [%s] %s\n", ok ? "ok" : "FAILED", what);
    failures_ += ok ? 0 : 1;
  }
  [[nodiscard]] bool passed() const { return failures_ == 0; }

 private:
  unsigned failures_ = 0;
};

struct Task {
  std::uint32_t id;
  std::uint32_t priority;
  std::vector<std::uint32_t> work;
};

/// Kernel code using the heap the ordinary C++ way: new/delete, unique_ptr, vector, deque.
void use_containers(Verdict& verdict) {
  const std::size_t live_before = heap().statistics().live_allocations;
  {
    std::vector<std::unique_ptr<Task>> tasks;
    std::deque<std::uint32_t> run_queue;
    for (std::uint32_t id = 0; id < 100; ++id) {
      auto task = std::make_unique<Task>(Task{id, id % 7, {}});
      for (std::uint32_t i = 0; i < id % 13; ++i) {
        task->work.push_back(id * 1000 + i);
      }
      run_queue.push_back(id);
      tasks.push_back(std::move(task));
    }
    std::uint64_t sum = 0;
    while (!run_queue.empty()) {
      const std::uint32_t id = run_queue.front();
      run_queue.pop_front();
      for (const std::uint32_t item : tasks[id]->work) {
        sum += item;
      }
    }
    auto* raw = new std::uint64_t[512];
    raw[511] = sum;
    const keel::Statistics during = heap().statistics();
    print(
        "   100 tasks in a vector of unique_ptr, each with a vector; a deque run queue; new[]: "
        "%zu live blocks, %zu B in use\n",
        during.live_allocations - live_before, during.bytes_in_use);
    std::uint64_t expected = 0;
    for (std::uint32_t id = 0; id < 100; ++id) {
      for (std::uint32_t i = 0; i < id % 13; ++i) {
        expected += id * 1000 + i;
      }
    }
    verdict.check(raw[511] == expected, "the containers hold what was put in");
    delete[] raw;
  }
  verdict.check(heap().statistics().live_allocations == live_before,
                "the containers gave every block back");
}

/// keel reports a double free and a foreign pointer through its fault hook, and the heap is
/// unchanged; the same through the per-CPU front end, where the freed block sits in a cache.
void provoke_faults(Verdict& verdict) {
  void* block = heap().allocate(64);
  heap().free(block);
  const unsigned before = faults_seen();
  expect_faults(2);
  heap().free(block);  // double free
  static std::uint64_t not_from_the_heap = 0;
  heap().free(&not_from_the_heap);  // foreign pointer
  expect_faults(0);
  verdict.check(faults_seen() - before == 2, "double free and foreign pointer reported");
  verdict.check(validate_heap("after the provoked faults"), "the heap is intact after them");

  void* cached = cpu_heap().allocate(64);
  cpu_heap().free(cached);  // into this core's cache
  const std::size_t cached_before = cpu_heap().statistics().blocks_cached;
  expect_faults(2);
  cpu_heap().free(cached);  // double free into the cache
  cpu_heap().free(&not_from_the_heap);
  expect_faults(0);
  verdict.check(faults_seen() - before == 4,
                "per-CPU caches: double free into a cache and foreign pointer reported");
  verdict.check(cpu_heap().statistics().blocks_cached == cached_before &&
                    check_cpu_heap("after the provoked faults", 0),
                "per-CPU caches: intact after them");
}

/// Ends the run the wrong way on purpose, so that the tests can check that the exception
/// report, the harness's triple-fault rule and its hang timeout all work.
void fault_on_purpose() {
  if (command_line_has("fault=page")) {
    print("fault=page: writing beyond the identity map\n");
    *reinterpret_cast<volatile std::uint64_t*>(0x400000000000ULL) = 1;
  }
  if (command_line_has("fault=ud")) {
    print("fault=ud: executing ud2\n");
    asm volatile("ud2");
  }
  if (command_line_has("fault=triple")) {
    print("fault=triple: ud2 with an empty IDT\n");
    struct [[gnu::packed]] {
      std::uint16_t limit;
      std::uint64_t base;
    } const empty{0, 0};
    asm volatile("lidt %0\n\tud2" : : "m"(empty));
  }
  if (command_line_has("fault=hang")) {
    print("fault=hang: spinning with interrupts off\n");
    for (;;) {
      keel::port::x86::disable_interrupts();
      keel::port::x86::pause();
    }
  }
}

/// The least counter reading around lock(); unlock() of an uncontended lock, less the empty
/// window: the lock's own cost, in instructions under -icount.
template <typename Lock>
std::uint64_t lock_cost(Lock& lock) {
  std::uint64_t empty = ~std::uint64_t{0};
  std::uint64_t locked = ~std::uint64_t{0};
  for (int i = 0; i < 100; ++i) {
    std::uint64_t start = keel::port::counter();
    std::uint64_t elapsed = keel::port::counter() - start;
    empty = elapsed < empty ? elapsed : empty;
    start = keel::port::counter();
    lock.lock();
    lock.unlock();
    elapsed = keel::port::counter() - start;
    locked = elapsed < locked ? elapsed : locked;
  }
  return locked - empty;
}

/// What the locks themselves cost, uncontended (meaningful under -icount: instructions).
void print_lock_costs() {
  keel::port::IrqLock irq_lock;
  keel::port::x86::TicketLock ticket_lock;
  keel::SpinLock spin_lock;
  const std::uint64_t irq = lock_cost(irq_lock);
  const std::uint64_t ticket = lock_cost(ticket_lock);
  const std::uint64_t spin = lock_cost(spin_lock);
  print(
      "   uncontended lock() + unlock(), %s: IrqLock %llu, TicketLock %llu, keel::SpinLock %llu\n",
      keel::port::counter_unit(), static_cast<unsigned long long>(irq),
      static_cast<unsigned long long>(ticket), static_cast<unsigned long long>(spin));
}

void run_stress(Verdict& verdict, unsigned cores) {
  const auto iterations = static_cast<std::uint32_t>(command_line_number("stress", 20000));
  const std::uint64_t seed = command_line_number("seed", 1);
  print(
      "\n== 8. Multi-core stress: %u core(s) x %lu steps, seed %llu, APIC timer allocating on "
      "every core\n",
      cores, static_cast<unsigned long>(iterations), static_cast<unsigned long long>(seed));
  const StressTotals totals = run_smp_stress(cores, iterations, seed);
  print(
      "   total: %llu heap operations, %llu cross-core frees, %llu pool acquisitions, %llu "
      "allocations in timer interrupts, %llu concurrent validate() runs, %llu TSC ticks\n",
      static_cast<unsigned long long>(totals.heap_allocations + totals.heap_frees +
                                      totals.reallocations),
      static_cast<unsigned long long>(totals.cross_core_frees),
      static_cast<unsigned long long>(totals.pool_acquisitions),
      static_cast<unsigned long long>(totals.timer_allocations),
      static_cast<unsigned long long>(totals.validations),
      static_cast<unsigned long long>(totals.ticks));
  verdict.check(totals.corruptions == 0, "no damaged block, misalignment or invalid heap");
  verdict.check(totals.failed_allocations == 0, "no allocation failed");
  verdict.check(totals.heap_allocations + totals.reallocations != 0, "the stress ran");
  print_cpu_heap_statistics("   per-CPU front end after the stress");
  print("   %llu blocks given back by drain() of another core's cache during the stress\n",
        static_cast<unsigned long long>(totals.drained));
  verdict.check(check_cpu_heap("after the stress", 0),
                "per-CPU front end: validate(), exact statistics, every block freed");
}

}  // namespace

int main() {
  using namespace keel::port::x86;
  keel::port::init();
  print("\nkeel x86_64 kernel: %u cpu(s) present, command line \"%s\"\n", cpus_present(),
        command_line());
  install_heap_reporters();
  Verdict verdict;
  const BootMemory memory = find_boot_memory();
  const auto min_ranges = static_cast<std::size_t>(command_line_number("min_ranges", 1));
  verdict.check(memory.count >= min_ranges && memory.count >= 1,
                "usable RAM above the kernel image (min_ranges)");
  if (command_line_has("fault")) {
    claim_ranges(memory, 0);
    fault_on_purpose();
  }

  // The shared workload, on the bootstrap core. Its timer tick and its cost figures assume
  // QEMU's -icount (run-kernel.sh --icount); `nodemo` skips it (the parallel runs without
  // icount), and the ranges are claimed directly instead.
  if (command_line_has("nodemo")) {
    print("\n(nodemo: the shared demo workload is skipped)\n");
    claim_ranges(memory, 0);
  } else {
    const demo::Platform platform = make_platform(memory, "QEMU pc (x86_64)");
    const int demo_status = demo::run(platform);
    install_heap_reporters();  // demo::run installed its own health reporter
    verdict.check(demo_status == 0, "the shared demo workload passed");
    claim_ranges(memory, 2);
  }

  print("\n== 6. Every usable range above the kernel image is a region\n");
  const keel::Statistics after_demo = heap().statistics();
  print("   %zu range(s), %zu region(s), %zu MiB claimed\n", memory.count, after_demo.region_count,
        after_demo.bytes_claimed >> 20);
  verdict.check(after_demo.region_count >= memory.count, "every range is a region");
  verdict.check(init_cpu_heap(kCpuHeapBytes),
                "the per-CPU front end has a region of its own (32 MiB from the heap)");

  print("\n== 7. Kernel code on keel: operator new, std containers, faults\n");
  const std::size_t baseline = heap().statistics().live_allocations;
  use_containers(verdict);
  provoke_faults(verdict);
  print_lock_costs();
  print_cpu_heap_costs();

  const unsigned online = start_application_cores();
  print("\n   started the application cores (INIT-SIPI-SIPI): %u of %u online\n", online,
        cpus_present());
  verdict.check(online == cpus_present(), "every core came up");
  run_stress(verdict, online);

  if (command_line_has("bench")) {
    print("\n== 9. Throughput on 1, 2 and 4 cores\n");
    const auto milliseconds = static_cast<std::uint32_t>(command_line_number("bench_ms", 100));
    const auto repeats = static_cast<unsigned>(command_line_number("bench_repeats", 5));
    verdict.check(run_throughput(milliseconds, repeats),
                  "every throughput run allocated everything; the front end checks out");
  }

  print("\n== 10. Final report\n");
  print_cpu_heap_statistics("per-CPU front end at the end, before its caches are drained");
  for (unsigned cpu = 0; cpu < online; ++cpu) {
    (void)cpu_heap().drain(cpu);  // cores going offline give their caches back
  }
  verdict.check(check_cpu_heap("at the end", 0) && cpu_heap().statistics().blocks_cached == 0,
                "per-CPU front end: validate(), exact statistics, no leak, caches drained");
  verdict.check(validate_heap("at the end"), "validate() at the end");
  print_statistics("heap at the end", heap().statistics());
  verdict.check(report_leaks(baseline) == 0, "no leak");
  print("\nkernel: %s\n", verdict.passed() ? "PASS" : "FAIL");
  return verdict.passed() ? 0 : 1;
}
