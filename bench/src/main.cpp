// bench/src/main.cpp: keel_bench, the benchmark driver. scripts/bench.sh runs it natively,
// under callgrind and under QEMU with the instruction-count plugin; bench/report/bench.py
// reads what it prints (tab-separated `key value` lines).
//
//   keel_bench replay --trace NAME --heap default|search8|lean|glibc [--arena BYTES]
//                     [--on-failure stop|carry-on] [--limit OPS]
//   keel_bench efficiency --trace NAME [--heap default|search8]
//   keel_bench scenarios --heap default|search8|lean --arena BYTES [--only INDEX]
//   keel_bench overhead
//   keel_bench oom-claim --regions N [--gaps yes|no]
//   keel_bench quick-flush
//
// NAME is a trace of the shared directory (without .trace.gz), or `random_exhaustion`, a
// generated alloc/free/realloc mix with alignments up to 4096 that exhausts small arenas.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "allocators.hpp"
#include "efficiency.hpp"
#include "oom_claim.hpp"
#include "overhead.hpp"
#include "quick_flush.hpp"
#include "replay.hpp"
#include "trace.hpp"
#include "worst_cases.hpp"

namespace keel_bench {
namespace {

constexpr std::size_t kDefaultArena = std::size_t{1} << 30;
// A keel built with KEEL_VALGRIND=1 (the host test preset) talks to memcheck and copies where
// it would move: not what the benchmark is for. bench.py refuses such a build.
#if defined(KEEL_VALGRIND) && KEEL_VALGRIND
constexpr bool kValgrindRequests = true;
#else
constexpr bool kValgrindRequests = false;
#endif
constexpr std::uint64_t kRandomSeed = 20240601;
constexpr std::size_t kRandomOperations = 200000;
constexpr std::size_t kRandomLiveTarget = 96 * 1024;

struct Options {
  std::string command;
  std::string trace;
  std::string heap = "default";
  std::size_t arena = kDefaultArena;
  OnFailure on_failure = OnFailure::stop;
  std::size_t limit = 0;
  long only = -1;
  std::size_t regions = 1;
  bool gaps = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "keel_bench: %s\n"
               "usage: keel_bench replay --trace NAME --heap default|search8|lean|glibc\n"
               "                  [--arena BYTES] [--on-failure stop|carry-on] [--limit OPS]\n"
               "       keel_bench efficiency --trace NAME [--heap default|search8]\n"
               "       keel_bench scenarios --heap default|search8|lean --arena BYTES"
               " [--only INDEX]\n"
               "       keel_bench overhead\n"
               "       keel_bench oom-claim --regions N [--gaps yes|no]\n"
               "       keel_bench quick-flush\n",
               why);
  std::exit(1);
}

Options parse(int argc, char** argv) {
  if (argc < 2) {
    usage("no command");
  }
  Options options;
  options.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      usage("a flag lacks its value");
    }
    const char* value = argv[++i];
    if (flag == "--trace") {
      options.trace = value;
    } else if (flag == "--heap") {
      options.heap = value;
    } else if (flag == "--arena") {
      options.arena = std::strtoull(value, nullptr, 0);
    } else if (flag == "--only") {
      options.only = std::strtol(value, nullptr, 0);
    } else if (flag == "--limit") {
      options.limit = std::strtoull(value, nullptr, 0);
    } else if (flag == "--regions") {
      options.regions = std::strtoull(value, nullptr, 0);
    } else if (flag == "--gaps") {
      options.gaps = std::strcmp(value, "yes") == 0;
    } else if (flag == "--on-failure") {
      options.on_failure =
          std::strcmp(value, "carry-on") == 0 ? OnFailure::carry_on : OnFailure::stop;
    } else {
      usage("unknown flag");
    }
  }
  return options;
}

Trace trace_for(const Options& options) {
  if (options.trace.empty()) {
    usage("--trace is required");
  }
  Trace trace = options.trace == "random_exhaustion"
                    ? make_random_trace(kRandomSeed, kRandomOperations, kRandomLiveTarget)
                    : load_trace(trace_directory(), options.trace);
  if (options.limit != 0 && options.limit < trace.ops.size()) {
    trace.ops.resize(options.limit);
  }
  return trace;
}

template <typename Allocator>
void print_replay(const Trace& trace, const Options& options, Allocator& allocator) {
  const ReplayResult result = replay(trace, allocator, options.on_failure);
  std::printf("trace\t%s\nheap\t%s\narena\t%zu\ntrace_operations\t%zu\n", trace.name.c_str(),
              options.heap.c_str(), options.arena, trace.ops.size());
  std::printf("allocations\t%zu\nfrees\t%zu\nreallocations\t%zu\npeak_live_bytes\t%zu\n",
              trace.allocations, trace.frees, trace.reallocations, trace.peak_live_bytes);
  std::printf("operations\t%zu\nfailures\t%zu\nskipped\t%zu\nstopped\t%d\n", result.operations,
              result.failures, result.skipped, result.stopped ? 1 : 0);
}

template <typename Heap>
int replay_keel(const Trace& trace, const Options& options) {
  const Arena arena(options.arena);
  auto allocator = std::make_unique<KeelAllocator<Heap>>(arena.prefix(options.arena));
  if (!allocator->claimed()) {
    usage("the arena is too small for a region");
  }
  print_replay(trace, options, *allocator);
  std::printf("keel_valgrind_requests\t%d\n", kValgrindRequests ? 1 : 0);
  const keel::ValidationResult health = allocator->heap().validate();
  std::printf("heap_valid\t%d\n", health.ok() ? 1 : 0);
  return health.ok() ? 0 : 4;
}

int command_replay(const Options& options) {
  const Trace trace = trace_for(options);
  if (options.heap == "glibc") {
    GlibcAllocator allocator;
    print_replay(trace, options, allocator);
    return 0;
  }
  if (options.heap == "search8") {
    return replay_keel<SearchHeap>(trace, options);
  }
  if (options.heap == "lean") {
    return replay_keel<LeanHeap>(trace, options);
  }
  if (options.heap != "default") {
    usage("unknown heap");
  }
  return replay_keel<DefaultHeap>(trace, options);
}

int command_efficiency(const Options& options) {
  const Trace trace = trace_for(options);
  const EfficiencyResult result = find_smallest_arena(trace, options.heap.c_str());
  std::printf("trace\t%s\nheap\t%s\npeak_live_bytes\t%zu\nsmallest_arena\t%zu\n",
              trace.name.c_str(), options.heap.c_str(), trace.peak_live_bytes,
              result.smallest_arena);
  std::printf("largest_failing\t%zu\nstable_from\t%zu\nfailing_above\t%zu\nattempts\t%zu\n",
              result.largest_failing, result.stable_from, result.failing_above, result.attempts);
  std::printf("bisection\t%zu\nstable_found\t%d\n", result.bisection, result.stable_found ? 1 : 0);
  std::printf("efficiency\t%.4f\n", static_cast<double>(trace.peak_live_bytes) /
                                        static_cast<double>(result.smallest_arena));
  const EfficiencyResult::Failure& f = result.failure;
  std::printf("failure_operation\t%zu\nfailure_request\t%zu\nfailure_align\t%zu\n", f.operation,
              f.request, f.align);
  std::printf("failure_live_bytes\t%zu\nfailure_live_blocks\t%zu\nfailure_in_use\t%zu\n",
              f.live_bytes, f.live_blocks, f.bytes_in_use);
  std::printf("failure_free\t%zu\nfailure_free_blocks\t%zu\nfailure_largest_free\t%zu\n",
              f.bytes_free, f.free_blocks, f.largest_free);
  std::printf("failure_overhead\t%zu\nfailure_claimed\t%zu\n", f.bytes_overhead, f.bytes_claimed);
  return 0;
}

}  // namespace
}  // namespace keel_bench

int main(int argc, char** argv) {
  using namespace keel_bench;
  const Options options = parse(argc, argv);
  if (options.command == "replay") {
    return command_replay(options);
  }
  if (options.command == "efficiency") {
    return command_efficiency(options);
  }
  if (options.command == "scenarios") {
    return run_scenarios(options.heap.c_str(), options.arena, options.only) ? 0 : 5;
  }
  if (options.command == "overhead") {
    print_overhead_table();
    return 0;
  }
  if (options.command == "oom-claim") {
    return run_oom_claim(options.regions, options.gaps) ? 0 : 5;
  }
  if (options.command == "quick-flush") {
    return run_quick_flush() ? 0 : 5;
  }
  usage("unknown command");
}
