// bench/src/worst_cases.cpp: the constructed worst cases (see worst_cases.hpp).
#include "worst_cases.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "allocators.hpp"
#include "marker.hpp"

namespace keel_bench {
namespace {

using keel::detail::Word;
constexpr std::size_t kPage = 4096;

[[noreturn]] void layout_failed(const char* what) {
  std::fprintf(stderr, "keel_bench: scenario layout: %s\n", what);
  std::exit(2);
}

/// The request size that needs exactly `granules` granules.
constexpr std::size_t request_for(Word granules) {
  return keel::detail::usable_bytes(granules);
}

/// Lays blocks out one after the other from the start of a fresh heap.
template <typename Heap>
class Builder {
 public:
  Builder(Heap& heap, keel::Span extent)
      : heap_(heap),
        base_(extent.data),
        cursor_(extent.data + keel::detail::kRecordBytes),
        sentinel_(extent.data + extent.size - keel::detail::kSentinelBytes) {}

  /// Takes the next block in address order, `granules` long. Returns its payload.
  void* take(Word granules) {
    void* payload = heap_.try_allocate(request_for(granules), keel::detail::kGranule);
    if (payload != keel::detail::payload_of(cursor_)) {
      layout_failed("a block did not land where planned (arena too small?)");
    }
    cursor_ += keel::detail::bytes_of(granules_of(payload));
    return payload;
  }

  /// Takes a filler so that the next block starts at `block` (block ≡ 4 mod 8).
  void advance_to(std::byte* block) {
    if (block < cursor_ + keel::detail::bytes_of(keel::detail::kMinBlockGranules) &&
        block != cursor_) {
      layout_failed("target too close");
    }
    if (block != cursor_) {
      take(static_cast<Word>((block - cursor_) >> keel::detail::kGranuleShift));
    }
  }

  /// Block address `offset` bytes into page `page` of the arena (counted from the arena start).
  [[nodiscard]] std::byte* at(std::size_t page, std::ptrdiff_t offset) const {
    return page_base() + page * kPage + offset;
  }

  /// Takes everything left, with requests the O(1) good-fit search serves (no fallback needed).
  void take_rest() {
    while (cursor_ < sentinel_) {
      const auto rest = static_cast<Word>((sentinel_ - cursor_) >> keel::detail::kGranuleShift);
      Word granules = rest;
      if (rest >= keel::detail::kSecondLevels) {
        const Word step =
            Word{1} << (keel::detail::highest_bit(rest) - keel::detail::kSecondLevelBits);
        granules = rest - (step - 1);
      }
      take(granules);
    }
  }

  void release(void* payload) { heap_.free(payload); }
  /// Where the next block taken will start.
  [[nodiscard]] std::byte* next_block() const { return cursor_; }
  [[nodiscard]] Word granules_of(const void* payload) const {
    return static_cast<Word>((heap_.usable_size(payload) + keel::detail::kHeaderBytes) >>
                             keel::detail::kGranuleShift);
  }

 private:
  [[nodiscard]] std::byte* page_base() const {
    return reinterpret_cast<std::byte*>(reinterpret_cast<std::uintptr_t>(base_) & ~(kPage - 1));
  }

  Heap& heap_;
  std::byte* base_;
  std::byte* cursor_;
  std::byte* sentinel_;
};

template <typename Heap>
struct Case {
  Heap& heap;
  Builder<Heap>& build;
  std::size_t index;
  bool marked;  ///< false for the probes, which must not add to the scenario's category

  void* measure_allocate(std::size_t size, std::size_t align) {
    if (!marked) {
      return measured::keel_allocate(heap, size, align);
    }
    mark_begin();
    void* pointer = measured::keel_allocate(heap, size, align);
    mark_scenario_end(index);
    return pointer;
  }
  void measure_free(void* pointer) {
    if (!marked) {
      measured::keel_free(heap, pointer);
      return;
    }
    mark_begin();
    measured::keel_free(heap, pointer);
    mark_scenario_end(index);
  }
  void* measure_reallocate(void* pointer, std::size_t size) {
    if (!marked) {
      return measured::keel_reallocate(heap, pointer, size, keel::detail::kGranule);
    }
    mark_begin();
    void* moved = measured::keel_reallocate(heap, pointer, size, keel::detail::kGranule);
    mark_scenario_end(index);
    return moved;
  }
};

// --- allocate ----------------------------------------------------------------------------------

template <typename Heap>
void* allocate_from_top(Case<Heap>& c) {
  return c.measure_allocate(request_for(12), 8);
}

template <typename Heap>
void* allocate_exact_bin(Case<Heap>& c) {
  void* target = c.build.take(10);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(target);
  return c.measure_allocate(request_for(10), 8);
}

template <typename Heap>
void* allocate_split_emptying_row(Case<Heap>& c) {
  void* target = c.build.take(40);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(target);
  return c.measure_allocate(request_for(10), 8);
}

/// Bin [64, 68) granules holds `misfits` blocks of 64 granules and, last in list order,
/// `fitting` (0 or 67 granules); the request wants 65.
template <typename Heap>
void* allocate_one_bin_fallback(Case<Heap>& c, int misfits, Word fitting) {
  void* last = fitting != 0 ? c.build.take(fitting) : nullptr;
  c.build.take(2);
  void* blocks[16] = {};
  for (int i = 0; i < misfits; ++i) {
    blocks[i] = c.build.take(64);
    c.build.take(2);
  }
  c.build.take_rest();
  if (last != nullptr) {
    c.build.release(last);  // freed first: the tail of the list
  }
  for (int i = 0; i < misfits; ++i) {
    c.build.release(blocks[i]);
  }
  return c.measure_allocate(request_for(65), 8);
}

/// An aligned request (24 bytes at 4096) whose fallback search visits seven bins holding one
/// block each that cannot reach a 4096 boundary, then an eighth whose payload lands on one
/// behind a front gap of `gap` bytes (8: a pad; 24: a free gap block), and splits off the tail.
template <typename Heap>
void* allocate_aligned_fallback(Case<Heap>& c, std::ptrdiff_t gap) {
  void* misfits[7] = {};
  for (std::size_t i = 0; i < 7; ++i) {
    c.build.advance_to(c.build.at(i + 1, 1004));
    misfits[i] = c.build.take(static_cast<Word>(5 + i));
  }
  // The payload of the fitting block's allocation must start on page 9: the block starts
  // gap + 4 bytes before it.
  c.build.advance_to(c.build.at(9, -gap - 4));
  void* fitting = c.build.take(100);
  c.build.take(2);
  c.build.take_rest();
  for (void* block : misfits) {
    c.build.release(block);
  }
  c.build.release(fitting);
  return c.measure_allocate(24, kPage);
}

template <typename Heap>
void* allocate_aligned_from_top(Case<Heap>& c) {
  return c.measure_allocate(24, kPage);
}

// --- free --------------------------------------------------------------------------------------

template <typename Heap>
void* free_no_merge(Case<Heap>& c) {
  c.build.take(2);
  void* target = c.build.take(10);
  c.build.take(2);
  c.measure_free(target);
  return target;
}

template <typename Heap>
void* free_merge_right(Case<Heap>& c) {
  c.build.take(2);
  void* target = c.build.take(10);
  void* right = c.build.take(12);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(right);
  c.measure_free(target);
  return target;
}

template <typename Heap>
void* free_merge_left(Case<Heap>& c) {
  c.build.take(2);
  void* left = c.build.take(12);
  void* target = c.build.take(10);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(left);
  c.measure_free(target);
  return target;
}

/// Both neighbours free and in the middle of their bin lists (bins 10 and 12); the merged
/// block (28 granules) joins a bin that already holds a block.
template <typename Heap>
void* free_merge_both_mid_list(Case<Heap>& c) {
  void* left_a = c.build.take(10);
  c.build.take(2);
  void* left_b = c.build.take(10);
  c.build.take(2);
  void* right_a = c.build.take(12);
  c.build.take(2);
  void* right_b = c.build.take(12);
  c.build.take(2);
  void* same_bin = c.build.take(28);
  c.build.take(2);
  void* left = c.build.take(10);
  void* target = c.build.take(6);
  void* right = c.build.take(12);
  c.build.take(2);
  c.build.take_rest();
  for (void* block : {left_a, left, left_b, right_a, right, right_b, same_bin}) {
    c.build.release(block);
  }
  c.measure_free(target);
  return target;
}

/// Both neighbours free and each alone in its first-level row (unlinking empties bin, row and
/// first-level bit); the merged block starts a new row.
template <typename Heap>
void* free_merge_both_emptying_rows(Case<Heap>& c) {
  c.build.take(2);
  void* left = c.build.take(3);
  void* target = c.build.take(40);
  void* right = c.build.take(20);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(left);
  c.build.release(right);
  c.measure_free(target);
  return target;
}

/// A PADDED block (aligned to 64 with an 8-byte gap) whose neighbours are both free and in
/// the middle of their lists; the pad goes with it, and the merged block joins a non-empty bin.
template <typename Heap>
void* free_padded_merge_both(Case<Heap>& c) {
  void* left_a = c.build.take(10);
  c.build.take(2);
  void* left_b = c.build.take(10);
  c.build.take(2);
  void* right_a = c.build.take(12);
  c.build.take(2);
  void* right_b = c.build.take(12);
  c.build.take(2);
  void* same_bin = c.build.take(29);
  c.build.take(2);
  // The block to split (19 granules) starts at an address = 52 (mod 64): its payload is 8
  // bytes short of a 64-byte boundary, so the aligned allocation puts a pad in front.
  std::byte* split_at = c.build.next_block() + keel::detail::bytes_of(2 + 10);
  while ((reinterpret_cast<std::uintptr_t>(split_at) & 63U) != 52U) {
    split_at += keel::detail::kGranule;
  }
  c.build.advance_to(split_at - keel::detail::bytes_of(10));
  void* left = c.build.take(10);
  void* to_split = c.build.take(19);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(right_a);
  c.build.release(to_split);
  void* padded = c.heap.try_allocate(request_for(6), 64);  // pad 1 + block 6 + free tail 12
  if (padded != static_cast<std::byte*>(to_split) + keel::detail::kGranule) {
    layout_failed("the padded block did not land where planned");
  }
  c.build.release(right_b);
  for (void* block : {left_a, left, left_b, same_bin}) {
    c.build.release(block);
  }
  c.measure_free(padded);
  return padded;
}

// --- reallocate --------------------------------------------------------------------------------

template <typename Heap>
void* reallocate_grow_in_place(Case<Heap>& c) {
  c.build.take(2);
  void* target = c.build.take(10);
  void* right = c.build.take(20);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(right);
  return c.measure_reallocate(target, request_for(15));
}

template <typename Heap>
void* reallocate_shrink_merging(Case<Heap>& c) {
  c.build.take(2);
  void* target = c.build.take(20);
  void* right = c.build.take(10);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(right);
  return c.measure_reallocate(target, request_for(5));
}

template <typename Heap>
void* reallocate_grow_backward(Case<Heap>& c) {
  c.build.take(2);
  void* left = c.build.take(20);
  void* target = c.build.take(10);
  c.build.take(2);
  c.build.take_rest();
  c.build.release(left);
  return c.measure_reallocate(target, request_for(25));
}

template <typename Heap>
void* reallocate_moving(Case<Heap>& c) {
  void* spare = c.build.take(50);
  c.build.take(2);
  void* left = c.build.take(10);
  void* target = c.build.take(10);
  void* right = c.build.take(10);
  c.build.take(2);
  c.build.take_rest();
  for (void* block : {spare, left, right}) {
    c.build.release(block);
  }
  return c.measure_reallocate(target, request_for(40));
}

}  // namespace
}  // namespace keel_bench

namespace keel_bench {
namespace {

constexpr ScenarioInfo kScenarios[] = {
    {"allocate", "split the top block of a fresh heap", Expect::succeeds},
    {"allocate", "exact fit from an exact bin, emptying bin and row", Expect::succeeds},
    {"allocate", "good fit from a larger bin, split, emptying bin and row", Expect::succeeds},
    {"allocate", "fallback walks 8 blocks of one bin, the 8th fits, split",
     Expect::succeeds_if_searching},
    {"allocate", "fallback walks 8 blocks of one bin, none fits: fails", Expect::fails},
    {"allocate",
     "align 4096: fallback visits 8 bins, the 8th fits behind a 24-byte free gap, split",
     Expect::succeeds_if_searching},
    {"allocate", "align 4096: fallback visits 8 bins, the 8th fits behind a pad, split",
     Expect::succeeds_if_searching},
    {"allocate", "align 4096 from the top block: free front gap and split", Expect::succeeds},
    {"free", "both neighbours used", Expect::succeeds},
    {"free", "merge with the free right neighbour", Expect::succeeds},
    {"free", "merge with the free left neighbour", Expect::succeeds},
    {"free", "merge both neighbours, each mid-list; merged block joins a non-empty bin",
     Expect::succeeds},
    {"free", "merge both neighbours, each alone in its row (bitmaps cleared)", Expect::succeeds},
    {"free", "PADDED block, merge both neighbours mid-list, join a non-empty bin",
     Expect::succeeds},
    {"reallocate", "grow in place into the free right neighbour, split", Expect::succeeds},
    {"reallocate", "shrink in place, the tail merges with the free right neighbour",
     Expect::succeeds},
    {"reallocate", "grow backward into the free left neighbour (memmove not counted)",
     Expect::succeeds},
    {"reallocate", "move: allocate, copy (not counted), free merging both neighbours",
     Expect::succeeds},
};
static_assert(std::size(kScenarios) <= kMaxScenarios);

template <typename Heap>
void* run_one(std::size_t index, Case<Heap>& c) {
  switch (index) {
    case 0: return allocate_from_top(c);
    case 1: return allocate_exact_bin(c);
    case 2: return allocate_split_emptying_row(c);
    case 3: return allocate_one_bin_fallback(c, 7, 67);
    case 4: return allocate_one_bin_fallback(c, 9, 0);
    case 5: return allocate_aligned_fallback(c, 24);
    case 6: return allocate_aligned_fallback(c, 8);
    case 7: return allocate_aligned_from_top(c);
    case 8: return free_no_merge(c);
    case 9: return free_merge_right(c);
    case 10: return free_merge_left(c);
    case 11: return free_merge_both_mid_list(c);
    case 12: return free_merge_both_emptying_rows(c);
    case 13: return free_padded_merge_both(c);
    case 14: return reallocate_grow_in_place(c);
    case 15: return reallocate_shrink_merging(c);
    case 16: return reallocate_grow_backward(c);
    default: return reallocate_moving(c);
  }
}

/// Runs scenario `index` on a fresh heap of type Heap. Returns whether the measured call
/// succeeded; sets `healthy` to whether the heap validated afterwards.
template <typename Heap>
bool run_scenario(const Arena& arena, std::size_t arena_bytes, std::size_t index, bool marked,
                  bool& healthy) {
  auto* allocator = new KeelAllocator<Heap>(arena.prefix(arena_bytes));
  if (!allocator->claimed()) {
    layout_failed("claim refused");
  }
  Builder<Heap> build(allocator->heap(), allocator->extent());
  Case<Heap> c{allocator->heap(), build, index, marked};
  const bool succeeded = run_one(index, c) != nullptr;
  healthy = allocator->heap().validate().ok();
  delete allocator;
  return succeeded;
}

template <typename Heap>
bool run_all(std::size_t arena_bytes) {
  const Arena arena(arena_bytes);
  bool all_good = true;
  for (std::size_t index = 0; index < std::size(kScenarios); ++index) {
    const ScenarioInfo& info = kScenarios[index];
    bool healthy = false;
    const bool succeeded = run_scenario<Heap>(arena, arena_bytes, index, true, healthy);
    bool as_planned = healthy;
    switch (info.expect) {
      case Expect::succeeds: as_planned = as_planned && succeeded; break;
      case Expect::fails: as_planned = as_planned && !succeeded; break;
      case Expect::succeeds_if_searching:
        as_planned = as_planned && succeeded == (Heap::options.search_limit >= 8);
        if (Heap::options.search_limit >= 8) {
          // The same layout must fail when the search may look at one block fewer: the case
          // really walks all 8.
          bool probe_healthy = false;
          const bool probe =
              run_scenario<SevenStepHeap>(arena, arena_bytes, index, false, probe_healthy);
          as_planned = as_planned && !probe && probe_healthy;
        }
        break;
    }
    all_good = all_good && as_planned;
    std::printf("scenario\t%zu\t%s\t%s\t%s\t%s\n", index, info.kind,
                succeeded ? "returned-block" : "returned-null",
                as_planned ? "as-planned" : "MISSED", info.name);
  }
  return all_good;
}

}  // namespace

std::size_t scenario_count() {
  return std::size(kScenarios);
}

ScenarioInfo scenario_info(std::size_t index) {
  return kScenarios[index];
}

bool run_scenarios(const char* heap, std::size_t arena_bytes) {
  if (std::strcmp(heap, "default") == 0) {
    return run_all<DefaultHeap>(arena_bytes);
  }
  if (std::strcmp(heap, "nosearch") == 0) {
    return run_all<NoSearchHeap>(arena_bytes);
  }
  if (std::strcmp(heap, "lean") == 0) {
    return run_all<LeanHeap>(arena_bytes);
  }
  std::fprintf(stderr, "keel_bench: unknown heap %s\n", heap);
  return false;
}

}  // namespace keel_bench
