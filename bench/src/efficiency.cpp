// bench/src/efficiency.cpp: see efficiency.hpp.
#include "efficiency.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "allocators.hpp"
#include "bisect.hpp"
#include "replay.hpp"

namespace keel_bench {
namespace {

constexpr std::size_t kStep = keel::detail::kGranule;
constexpr std::size_t kLargestArena = std::size_t{1} << 30;
constexpr std::size_t kScanSteps = 64;
constexpr std::size_t kScanLimit = 1024;  ///< sizes the downward walk looks at, at most

template <typename Heap>
bool replays_cleanly(const Trace& trace, const Arena& arena, std::size_t bytes,
                     Verify verify = Verify::none) {
  auto allocator = std::make_unique<KeelAllocator<Heap>>(arena.prefix(bytes));
  if (!allocator->claimed()) {
    return false;
  }
  return replay(trace, *allocator, OnFailure::stop, verify).failures == 0;
}

template <typename Heap>
EfficiencyResult::Failure explain_failure(const Trace& trace, const Arena& arena,
                                          std::size_t bytes) {
  auto allocator = std::make_unique<KeelAllocator<Heap>>(arena.prefix(bytes));
  EfficiencyResult::Failure failure;
  if (!allocator->claimed()) {
    return failure;
  }
  const ReplayResult replayed = replay(trace, *allocator, OnFailure::stop);
  const keel::Statistics statistics = allocator->heap().statistics();
  failure.operation = replayed.first_failure;
  failure.request = replayed.failed_size;
  failure.align = replayed.failed_align;
  failure.live_bytes = replayed.live_bytes_at_failure;
  failure.live_blocks = replayed.live_blocks_at_failure;
  failure.bytes_in_use = statistics.bytes_in_use;
  failure.bytes_free = statistics.bytes_free;
  failure.free_blocks = statistics.free_blocks;
  failure.largest_free = statistics.largest_free_block;
  failure.bytes_overhead = statistics.bytes_overhead;
  failure.bytes_claimed = statistics.bytes_claimed;
  return failure;
}

template <typename Heap>
EfficiencyResult search(const Trace& trace) {
  const Arena arena(kLargestArena);
  EfficiencyResult result;
  std::size_t low = kStep;  // fails: no region fits in 8 bytes
  std::size_t high = (trace.peak_live_bytes + kStep - 1) / kStep * kStep;
  while (!replays_cleanly<Heap>(trace, arena, high)) {
    ++result.attempts;
    low = high;
    high *= 2;
    if (high > kLargestArena) {
      std::fprintf(stderr, "keel_bench: %s does not replay in 1 GiB\n", trace.name.c_str());
      std::exit(2);
    }
  }
  high = bisect(low, high, kStep, [&](std::size_t size) {
    ++result.attempts;
    return replays_cleanly<Heap>(trace, arena, size);
  });
  // Failure is not monotone in the arena size (another size changes where blocks land), so
  // the boundary the bisection found need not be the smallest size that replays. Walk down
  // from it until kScanSteps sizes in a row fail; then walk up from the smallest size found
  // until kScanSteps sizes in a row replay: `stable_from` is the first of those.
  result.bisection = high;
  result.smallest_arena = high;
  std::size_t in_a_row = 0;
  for (std::size_t size = high - kStep, tried = 0;
       size > kStep && in_a_row < kScanSteps && tried < kScanLimit; size -= kStep, ++tried) {
    ++result.attempts;
    if (replays_cleanly<Heap>(trace, arena, size)) {
      result.smallest_arena = size;
      in_a_row = 0;
    } else {
      ++in_a_row;
    }
  }
  in_a_row = 0;
  result.stable_found = false;
  for (std::size_t size = result.smallest_arena, tried = 0; tried < 2 * kScanLimit;
       size += kStep, ++tried) {
    ++result.attempts;
    if (size == result.smallest_arena || replays_cleanly<Heap>(trace, arena, size)) {
      if (in_a_row++ == 0) {
        result.stable_from = size;
      }
    } else {
      ++result.failing_above;
      in_a_row = 0;
    }
    if (in_a_row == kScanSteps) {
      result.stable_found = true;
      break;
    }
  }
  // The search ran without patterns, for speed; the two sizes reported replay with them.
  if (!replays_cleanly<Heap>(trace, arena, result.smallest_arena, Verify::patterns) ||
      (result.stable_found &&
       !replays_cleanly<Heap>(trace, arena, result.stable_from, Verify::patterns))) {
    std::fprintf(stderr, "keel_bench: %s: a size found does not replay with patterns\n",
                 trace.name.c_str());
    std::exit(3);
  }
  result.largest_failing = result.smallest_arena - kStep;
  result.failure = explain_failure<Heap>(trace, arena, result.largest_failing);
  return result;
}

}  // namespace

EfficiencyResult find_smallest_arena(const Trace& trace, const char* heap) {
  if (std::strcmp(heap, "search8") == 0) {
    return search<SearchHeap>(trace);
  }
  return search<DefaultHeap>(trace);
}

}  // namespace keel_bench
