// qemu-demo/x86_64/main.cpp: the keel x86_64 demo kernel.
//
// Booted by QEMU (-kernel, PVH) through ports/x86_64. In order:
//   1. claim every usable RAM range above the kernel image as a region of the global heap;
//   2. use it through operator new and std containers;
//   3. provoke two faults (double free, foreign pointer) and check keel reports them;
//   4. start the other cores (INIT-SIPI-SIPI) and run the multi-core stress on all of them;
//   5. with `bench` on the command line, measure throughput on 1, 2 and 4 cores;
//   6. validate the heap, print its statistics and the leak report, and exit 0 (pass) or 1.
// Command line (-append): stress=N (steps per core, default 20000), seed=N, min_regions=N,
// bench, bench_rounds=N, bench_repeats=N, fault=page|ud|triple|hang (end the run the wrong way
// on purpose, to test the exception report and the harness).
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "kernel_heap.hpp"
#include "smp_stress.hpp"
#include "throughput.hpp"
#include "x86/boot_info.hpp"
#include "x86/console.hpp"
#include "x86/cpu.hpp"
#include "x86/smp.hpp"

namespace {

using keel::port::x86::Line;
using namespace kernel;
using keel::port::x86::command_line_has;

constexpr int kPass = 0;
constexpr int kFail = 1;

/// Records a check: prints it, remembers a failure.
class Verdict {
 public:
  void check(bool ok, const char* what) {
    Line().text(ok ? "  [ok]   " : "  [FAIL] ").text(what).text("\n");
    failures_ += ok ? 0 : 1;
  }
  [[nodiscard]] bool passed() const { return failures_ == 0; }
  [[nodiscard]] unsigned failures() const { return failures_; }

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
  const std::size_t live_before = g_heap.statistics().live_allocations;
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
    const keel::Statistics during = g_heap.statistics();
    Line()
        .text("containers: 100 tasks in a vector of unique_ptr, a deque run queue, new[]: ")
        .decimal(during.live_allocations - live_before)
        .text(" live blocks, ")
        .decimal(during.bytes_in_use)
        .text(" B in use\n");
    std::uint64_t expected = 0;
    for (std::uint32_t id = 0; id < 100; ++id) {
      for (std::uint32_t i = 0; i < id % 13; ++i) {
        expected += id * 1000 + i;
      }
    }
    verdict.check(raw[511] == expected, "containers hold what was put in");
    delete[] raw;
  }
  verdict.check(g_heap.statistics().live_allocations == live_before,
                "containers gave every block back");
}

/// keel reports a double free and a foreign pointer through its fault hook, and the heap is
/// unchanged.
void provoke_faults(Verdict& verdict) {
  void* block = g_heap.allocate(64);
  g_heap.free(block);
  const unsigned before = faults_seen();
  expect_faults(2);
  g_heap.free(block);  // double free
  static std::uint64_t not_from_the_heap = 0;
  g_heap.free(&not_from_the_heap);  // foreign pointer
  expect_faults(0);
  verdict.check(faults_seen() - before == 2, "double free and foreign pointer reported");
  verdict.check(validate_heap("after the provoked faults"), "heap intact after the faults");
}

/// Ends the run the wrong way on purpose, so that the tests can check that the exception
/// report, the harness's triple-fault rule and its hang timeout all work.
void fault_on_purpose() {
  if (command_line_has("fault=page")) {
    Line().text("fault=page: writing beyond the identity map\n");
    *reinterpret_cast<volatile std::uint64_t*>(0x400000000000ULL) = 1;
  }
  if (command_line_has("fault=ud")) {
    Line().text("fault=ud: executing ud2\n");
    asm volatile("ud2");
  }
  if (command_line_has("fault=triple")) {
    Line().text("fault=triple: ud2 with an empty IDT\n");
    struct [[gnu::packed]] {
      std::uint16_t limit;
      std::uint64_t base;
    } const empty{0, 0};
    asm volatile("lidt %0\n\tud2" : : "m"(empty));
  }
  if (command_line_has("fault=hang")) {
    Line().text("fault=hang: spinning with interrupts off\n");
    for (;;) {
      keel::port::x86::disable_interrupts();
      keel::port::x86::pause();
    }
  }
}

}  // namespace

int main() {
  using namespace keel::port::x86;
  keel::port::init();
  Line()
      .text("\nkeel x86_64 kernel: ")
      .decimal(cpus_present())
      .text(" cpu(s) present, command line \"")
      .text(command_line())
      .text("\"\n");
  install_heap_reporters();

  Verdict verdict;
  const unsigned regions = claim_boot_memory();
  const auto min_regions = static_cast<unsigned>(command_line_number("min_regions", 1));
  verdict.check(regions >= min_regions && regions >= 1,
                "claimed the usable RAM above the kernel image (min_regions)");
  verdict.check(validate_heap("after claiming"), "heap valid after claiming");

  fault_on_purpose();

  use_containers(verdict);
  provoke_faults(verdict);

  const unsigned online = start_application_cores();
  Line()
      .text("started the application cores: ")
      .decimal(online)
      .text(" of ")
      .decimal(cpus_present())
      .text(" online\n");
  verdict.check(online == cpus_present(), "every core came up (INIT-SIPI-SIPI)");

  const auto iterations = static_cast<std::uint32_t>(command_line_number("stress", 20000));
  const std::uint64_t seed = command_line_number("seed", 1);
  Line()
      .text("multi-core stress: ")
      .decimal(online)
      .text(" core(s) x ")
      .decimal(iterations)
      .text(" steps, seed ")
      .decimal(seed)
      .text("\n");
  const StressTotals totals = run_smp_stress(online, iterations, seed);
  Line()
      .text("  total: ")
      .decimal(totals.heap_allocations + totals.heap_frees + totals.reallocations)
      .text(" heap operations, ")
      .decimal(totals.cross_core_frees)
      .text(" cross-core frees, ")
      .decimal(totals.pool_acquisitions)
      .text(" pool acquisitions, ")
      .decimal(totals.timer_allocations)
      .text(" allocations in timer interrupts, ")
      .decimal(totals.validations)
      .text(" concurrent validations, ")
      .decimal(totals.ticks)
      .text(" TSC ticks\n");
  verdict.check(totals.corruptions == 0, "no damaged block, misalignment or invalid heap");
  verdict.check(totals.failed_allocations == 0, "no allocation failed");
  verdict.check(totals.heap_allocations + totals.reallocations != 0, "the stress ran");

  if (command_line_has("bench")) {
    const auto rounds = static_cast<std::uint32_t>(command_line_number("bench_rounds", 400));
    const auto repeats = static_cast<unsigned>(command_line_number("bench_repeats", 5));
    verdict.check(run_throughput(rounds, repeats), "throughput runs allocated everything");
  }

  verdict.check(validate_heap("at the end"), "validate() at the end");
  print_statistics("heap at the end", g_heap.statistics());
  verdict.check(report_leaks(0) == 0, "no leak");
  Line().text(verdict.passed() ? "RESULT: PASS\n" : "RESULT: FAIL\n");
  return verdict.passed() ? kPass : kFail;
}
