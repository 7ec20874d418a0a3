// Fault injection. The heap runs near exhaustion with an OOM policy that grows it (extends a
// region, or claims a new one) but gives up on every Nth call, while regions are truncated and
// extended under live blocks. After every step: validate() passes, the counters match the test's
// own record, every failed request is explained by the policy giving up, and (every few steps and
// at the end) every live block still holds what was written into it. Memory a truncate gives
// back is scribbled over at once, so a live block left in it would be found corrupted.
//
// KEEL_STRESS_SEEDS (environment) sets the number of seeds per case (default 6).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "keel/heap.hpp"

namespace {

using keel::OomAction;
using keel::RegionError;
using keel::Span;

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

std::size_t seed_count() {
  const char* text = std::getenv("KEEL_STRESS_SEEDS");
  return text != nullptr ? std::strtoul(text, nullptr, 10) : 6;
}

/// One buffer the heap may use, and the region of it the heap has (if any).
struct Arena {
  std::byte* buffer = nullptr;
  std::size_t size = 0;
  Span extent{};
  bool claimed = false;

  [[nodiscard]] std::byte* end() const { return buffer + size; }
  [[nodiscard]] bool holds(const void* pointer, std::size_t bytes) const {
    return claimed && address(pointer) >= address(extent.data) &&
           address(pointer) + bytes <= address(extent.data) + extent.size;
  }
};

constexpr std::size_t kArenas = 3;
constexpr std::size_t kArenaBytes = 48 * 1024;

/// All arenas come from one allocation: on 64-bit hosts the regions of one heap must lie in one
/// 16 GiB window (docs/design.md section 4).
struct Arenas {
  Arenas() : memory(std::make_unique<std::byte[]>(kArenas * kArenaBytes)) {
    for (std::size_t i = 0; i < kArenas; ++i) {
      arena[i].buffer = memory.get() + i * kArenaBytes;
      arena[i].size = kArenaBytes;
    }
  }
  std::unique_ptr<std::byte[]> memory;
  Arena arena[kArenas];
};

/// Grows the heap when it runs out, except on every `every`-th call, when it gives up at once.
/// It also checks that the heap is valid whenever it is called.
class InjectingOom {
 public:
  InjectingOom() = default;
  InjectingOom(Arenas* arenas, unsigned every) : arenas_(arenas), every_(every) {}

  template <typename H>
  OomAction on_oom(H& heap, std::size_t size, std::size_t align) {
    ++calls_;
    if (!heap.validate().ok()) {
      ++invalid_when_called_;
    }
    if (calls_ % every_ == 0) {
      ++injected_;
      return OomAction::give_up;
    }
    // Enough for the request, its alignment slack and the good-fit rounding (1/16).
    const std::size_t want = size + size / 8 + align + 64;
    for (std::size_t i = 0; i < kArenas; ++i) {
      Arena& arena = arenas_->arena[(calls_ + i) % kArenas];
      if (!arena.claimed) {
        const std::size_t bytes = want + 256 < arena.size ? want + 256 : arena.size;
        const auto claimed = heap.claim(Span{arena.buffer + (arena.size - bytes) / 2, bytes});
        if (claimed.ok()) {
          arena.extent = claimed.extent();
          arena.claimed = true;
          ++grown_;
          return OomAction::retry;
        }
        continue;
      }
      const std::size_t below = address(arena.extent.data) - address(arena.buffer);
      const std::size_t above = address(arena.end()) - address(arena.extent.end());
      const bool at_end = calls_ % 2 == 0 ? above >= want : below < want;
      const std::size_t room = at_end ? above : below;
      if (room < want) {
        continue;
      }
      const Span grown = at_end ? Span{arena.extent.data, arena.extent.size + want}
                                : Span{arena.extent.data - want, arena.extent.size + want};
      const auto result = heap.extend(arena.extent, grown);
      if (result.ok()) {
        arena.extent = result.extent();
        ++grown_;
        return OomAction::retry;
      }
    }
    ++exhausted_;
    return OomAction::give_up;
  }

  [[nodiscard]] std::size_t calls() const { return calls_; }
  [[nodiscard]] std::size_t injected() const { return injected_; }
  [[nodiscard]] std::size_t exhausted() const { return exhausted_; }
  [[nodiscard]] std::size_t grown() const { return grown_; }
  [[nodiscard]] std::size_t invalid_when_called() const { return invalid_when_called_; }

 private:
  Arenas* arenas_ = nullptr;
  unsigned every_ = 3;
  std::size_t calls_ = 0;
  std::size_t injected_ = 0;
  std::size_t exhausted_ = 0;
  std::size_t grown_ = 0;
  std::size_t invalid_when_called_ = 0;
};

struct Totals {
  std::size_t allocations = 0;
  std::size_t failures = 0;
  std::size_t injected = 0;
  std::size_t truncations = 0;
  std::size_t refused_truncations = 0;
  std::size_t extensions = 0;
};

template <typename HeapT>
class FaultInjection {
 public:
  FaultInjection(unsigned every, std::uint64_t seed)
      : heap_(std::make_unique<HeapT>(InjectingOom{&arenas_, every})), random_(seed) {
    Arena& first = arenas_.arena[0];
    const auto claimed = heap_->claim(Span{first.buffer + first.size / 2, 4096});
    EXPECT_TRUE(claimed.ok());
    first.extent = claimed.extent();
    first.claimed = true;
  }

  /// Runs `steps` random steps; returns false (with a message) at the first thing wrong.
  bool run(std::size_t steps) {
    for (step_ = 0; step_ < steps; ++step_) {
      const unsigned pick = below(100);
      if (pick < 45) {
        allocate();
      } else if (pick < 70) {
        free_one();
      } else if (pick < 80) {
        reallocate();
      } else if (pick < 88) {
        truncate_to_reserved();
      } else if (pick < 93) {
        truncate_anywhere();
      } else if (pick < 96) {
        release_region();
      } else {
        extend();
      }
      if (failure_.empty()) {
        check_heap(step_ % 50 == 0);
      }
      if (!failure_.empty()) {
        return false;
      }
    }
    return finish();
  }

  [[nodiscard]] const std::string& failure() const { return failure_; }
  [[nodiscard]] const Totals& totals() const { return totals_; }
  [[nodiscard]] std::string map() const {
    std::string text;
    heap_->dump([&text](const char* part, std::size_t length) { text.append(part, length); });
    return text.substr(0, 6000);
  }

 private:
  struct Block {
    std::size_t size;
    std::size_t align;
    std::uint8_t seed;
  };

  unsigned below(unsigned bound) { return static_cast<unsigned>(random_() % bound); }
  void fail(const std::string& what) {
    if (failure_.empty()) {
      failure_ = "step " + std::to_string(step_) + ": " + what;
    }
  }

  static std::byte pattern(std::uint8_t seed, std::size_t index) {
    return static_cast<std::byte>(seed + index * 29U);
  }
  static void fill(std::byte* block, const Block& info, std::size_t from) {
    for (std::size_t i = from; i < info.size; ++i) {
      block[i] = pattern(info.seed, i);
    }
  }
  bool intact(const std::byte* block, const Block& info, std::size_t length) {
    for (std::size_t i = 0; i < length; ++i) {
      if (block[i] != pattern(info.seed, i)) {
        fail("live block at " + std::to_string(address(block)) + " overwritten at byte " +
             std::to_string(i));
        return false;
      }
    }
    return true;
  }

  std::size_t random_size() { return below(10) == 0 ? below(8192) : below(512); }

  /// A block just handed out: aligned, big enough, inside a region, overlapping no live block.
  bool check_new(std::byte* block, std::size_t size, std::size_t align) {
    if (address(block) % align != 0 || heap_->usable_size(block) < size) {
      fail("block misaligned or too small");
      return false;
    }
    bool inside = false;
    for (const Arena& arena : arenas_.arena) {
      inside = inside || arena.holds(block, size);
    }
    if (!inside) {
      fail("block outside every region");
      return false;
    }
    const std::size_t span = size == 0 ? 1 : size;
    auto after = live_.lower_bound(block);
    if (after != live_.end() && address(after->first) < address(block) + span) {
      fail("block overlaps the live block after it");
      return false;
    }
    if (after != live_.begin()) {
      const auto before = std::prev(after);
      const std::size_t before_span = before->second.size == 0 ? 1 : before->second.size;
      if (address(before->first) + before_span > address(block)) {
        fail("block overlaps the live block before it");
        return false;
      }
    }
    return true;
  }

  /// After a request that returned null: the policy must have been asked and given up.
  void expect_explained_failure(std::size_t calls_before, std::size_t gave_up_before) {
    ++totals_.failures;
    const InjectingOom& oom = heap_->oom_policy();
    if (oom.calls() == calls_before) {
      fail("a valid request failed without asking the OOM policy");
    } else if (oom.injected() + oom.exhausted() != gave_up_before + 1) {
      fail("a request failed although the OOM policy did not give up");
    }
  }

  void allocate() {
    const std::size_t size = random_size();
    const std::size_t align = std::size_t{1} << below(9);
    const InjectingOom& oom = heap_->oom_policy();
    const std::size_t calls = oom.calls();
    const std::size_t gave_up = oom.injected() + oom.exhausted();
    auto* block = static_cast<std::byte*>(heap_->allocate(size, align));
    if (block == nullptr) {
      expect_explained_failure(calls, gave_up);
      return;
    }
    if (!check_new(block, size, align)) {
      return;
    }
    const Block info{size, align, static_cast<std::uint8_t>(step_)};
    fill(block, info, 0);
    live_.emplace(block, info);
    ++totals_.allocations;
  }

  typename std::map<std::byte*, Block>::iterator random_live() {
    auto it = live_.begin();
    std::advance(it, static_cast<long>(below(static_cast<unsigned>(live_.size()))));
    return it;
  }

  void free_one() {
    if (live_.empty()) {
      return;
    }
    const auto it = random_live();
    if (intact(it->first, it->second, it->second.size)) {
      heap_->free(it->first);
      live_.erase(it);
    }
  }

  void reallocate() {
    if (live_.empty()) {
      return;
    }
    const auto it = random_live();
    std::byte* old = it->first;
    const Block info = it->second;
    if (!intact(old, info, info.size)) {
      return;
    }
    const std::size_t size = 1 + random_size();
    const InjectingOom& oom = heap_->oom_policy();
    const std::size_t calls = oom.calls();
    const std::size_t gave_up = oom.injected() + oom.exhausted();
    auto* moved = static_cast<std::byte*>(heap_->reallocate(old, size, info.align));
    if (moved == nullptr) {
      expect_explained_failure(calls, gave_up);
      intact(old, info, info.size);  // a failed reallocate leaves the block as it was
      return;
    }
    live_.erase(it);
    const std::size_t kept = info.size < size ? info.size : size;
    if (!check_new(moved, size, info.align) || !intact(moved, info, kept)) {
      return;
    }
    Block grown = info;
    grown.size = size;
    fill(moved, grown, kept);
    live_.emplace(moved, grown);
  }

  Arena* random_claimed() {
    Arena& arena = arenas_.arena[below(kArenas)];
    return arena.claimed ? &arena : nullptr;
  }

  /// Gives the memory between an arena's old and new extent back to the caller, and scribbles
  /// over it: a live block keel had left there would show as overwritten.
  void scribble_released(const Span& old_extent, const Span& kept) {
    if (kept.empty()) {
      std::memset(old_extent.data, 0xEE, old_extent.size);
      return;
    }
    std::memset(old_extent.data, 0xEE, address(kept.data) - address(old_extent.data));
    std::memset(kept.end(), 0xEE, address(old_extent.end()) - address(kept.end()));
  }

  void expect_unchanged(const keel::Statistics& before, const char* call) {
    const keel::Statistics after = heap_->statistics();
    if (after.bytes_claimed != before.bytes_claimed || after.bytes_free != before.bytes_free ||
        after.bytes_in_use != before.bytes_in_use || after.free_blocks != before.free_blocks ||
        after.region_count != before.region_count) {
      fail(std::string("a refused ") + call + " changed the heap");
    }
  }

  void truncate_to_reserved() {
    Arena* arena = random_claimed();
    if (arena == nullptr) {
      return;
    }
    const auto least = heap_->reserved(arena->extent);
    if (!least.ok()) {
      fail("reserved() does not know a claimed region");
      return;
    }
    const auto cut = heap_->truncate(arena->extent, least.extent());
    if (!cut.ok()) {
      if (cut.error() != RegionError::too_small) {
        fail(std::string("truncate to reserved() refused: ") + keel::to_string(cut.error()));
      }
      return;
    }
    ++totals_.truncations;
    scribble_released(arena->extent, cut.extent());
    arena->extent = cut.extent();
  }

  void truncate_anywhere() {
    Arena* arena = random_claimed();
    if (arena == nullptr) {
      return;
    }
    const std::size_t start = below(static_cast<unsigned>(arena->extent.size));
    const std::size_t length = 1 + below(static_cast<unsigned>(arena->extent.size - start));
    const Span keep{arena->extent.data + start, length};
    const keel::Statistics before = heap_->statistics();
    const auto cut = heap_->truncate(arena->extent, keep);
    if (!cut.ok()) {
      if (cut.error() != RegionError::cuts_live_block && cut.error() != RegionError::too_small) {
        fail(std::string("truncate inside the region refused: ") + keel::to_string(cut.error()));
      }
      ++totals_.refused_truncations;
      expect_unchanged(before, "truncate");
      return;
    }
    if (address(cut.extent().data) > address(keep.data) ||
        address(cut.extent().end()) < address(keep.end())) {
      fail("a truncated region does not contain the span kept");
      return;
    }
    ++totals_.truncations;
    scribble_released(arena->extent, cut.extent());
    arena->extent = cut.extent();
  }

  void release_region() {
    Arena* arena = random_claimed();
    if (arena == nullptr) {
      return;
    }
    bool holds_live = false;
    for (const auto& [block, info] : live_) {
      holds_live = holds_live || arena->holds(block, 1);
    }
    const keel::Statistics before = heap_->statistics();
    const auto released = heap_->truncate(arena->extent, Span{});
    if (released.ok() == holds_live) {
      fail(holds_live ? "a region with live blocks was released"
                      : "a region without live blocks was not released");
      return;
    }
    if (!released.ok()) {
      ++totals_.refused_truncations;
      expect_unchanged(before, "release");
      return;
    }
    ++totals_.truncations;
    scribble_released(arena->extent, Span{});
    arena->extent = Span{};
    arena->claimed = false;
  }

  void extend() {
    Arena& arena = arenas_.arena[below(kArenas)];
    if (!arena.claimed) {
      const std::size_t offset = below(static_cast<unsigned>(arena.size / 2));
      const auto claimed = heap_->claim(Span{arena.buffer + offset, 256 + below(4096)});
      if (!claimed.ok()) {
        fail(std::string("claim of a fresh span refused: ") + keel::to_string(claimed.error()));
        return;
      }
      arena.extent = claimed.extent();
      arena.claimed = true;
      return;
    }
    const std::size_t below_room = address(arena.extent.data) - address(arena.buffer);
    const std::size_t above_room = address(arena.end()) - address(arena.extent.end());
    const std::size_t low = below(static_cast<unsigned>(below_room + 1));
    const std::size_t high = below(static_cast<unsigned>(above_room + 1));
    const Span grown{arena.extent.data - low, arena.extent.size + low + high};
    const keel::Statistics before = heap_->statistics();
    const auto result = heap_->extend(arena.extent, grown);
    if (!result.ok()) {
      if (result.error() != RegionError::too_small || low >= 32 || high >= 32) {
        fail(std::string("extend inside the buffer refused: ") + keel::to_string(result.error()));
      }
      expect_unchanged(before, "extend");
      return;
    }
    ++totals_.extensions;
    arena.extent = result.extent();
  }

  void check_heap(bool contents) {
    if (const keel::ValidationResult result = heap_->validate(); !result.ok()) {
      fail(std::string("validate: ") + keel::to_string(result.kind));
      return;
    }
    const keel::Statistics stats = heap_->statistics();
    std::size_t claimed = 0;
    for (const Arena& arena : arenas_.arena) {
      claimed += arena.claimed ? arena.extent.size : 0;
    }
    if (stats.live_allocations != live_.size()) {
      fail("live allocations differ from the test's record");
    } else if (stats.bytes_claimed != claimed) {
      fail("claimed bytes differ from the test's record");
    } else if (stats.failed_allocations != totals_.failures) {
      fail("failed allocations differ from the failures seen");
    } else if (heap_->oom_policy().invalid_when_called() != 0) {
      fail("the heap was not valid when the OOM policy was called");
    }
    if (contents) {
      for (const auto& [block, info] : live_) {
        if (!intact(block, info, info.size)) {
          return;
        }
      }
    }
  }

  /// Frees everything and gives every region back: nothing may be missing.
  bool finish() {
    check_heap(true);
    for (const auto& [block, info] : live_) {
      heap_->free(block);
    }
    live_.clear();
    const keel::Statistics stats = heap_->statistics();
    if (stats.bytes_in_use != 0 || stats.bytes_free + stats.bytes_overhead != stats.bytes_claimed ||
        stats.free_blocks != stats.region_count) {
      fail("memory missing after every block was freed");
    }
    for (Arena& arena : arenas_.arena) {
      if (arena.claimed && !heap_->truncate(arena.extent, Span{}).ok()) {
        fail("an empty region could not be given back");
      }
      arena.claimed = false;
    }
    if (heap_->statistics().bytes_claimed != 0 || heap_->statistics().region_count != 0) {
      fail("claimed bytes left after every region was given back");
    }
    totals_.injected = heap_->oom_policy().injected();
    return failure_.empty();
  }

  Arenas arenas_;
  std::unique_ptr<HeapT> heap_;
  std::mt19937_64 random_;
  std::map<std::byte*, Block> live_;
  Totals totals_;
  std::size_t step_ = 0;
  std::string failure_;
};

template <typename HeapT>
void run_case(unsigned every) {
  Totals sum;
  for (std::size_t seed = 0; seed < seed_count(); ++seed) {
    FaultInjection<HeapT> run(every, seed * 7919 + every);
    if (!run.run(4000)) {
      ADD_FAILURE() << "every " << every << ", seed " << seed << ": " << run.failure()
                    << "\nheap:\n"
                    << run.map();
      return;
    }
    const Totals& totals = run.totals();
    sum.allocations += totals.allocations;
    sum.failures += totals.failures;
    sum.injected += totals.injected;
    sum.truncations += totals.truncations;
    sum.refused_truncations += totals.refused_truncations;
    sum.extensions += totals.extensions;
  }
  std::printf(
      "every %u: %zu allocations, %zu failed (%zu injected), %zu truncations (%zu refused), "
      "%zu extensions\n",
      every, sum.allocations, sum.failures, sum.injected, sum.truncations, sum.refused_truncations,
      sum.extensions);
  // The run must really have met the situations it is about.
  EXPECT_GT(sum.injected, 10U);
  EXPECT_GT(sum.failures, sum.injected / 2);
  EXPECT_GT(sum.truncations, 50U);
  EXPECT_GT(sum.refused_truncations, 10U);
  EXPECT_GT(sum.allocations, 1000U);
}

using BasicHeap = keel::Heap<InjectingOom>;
using SearchingHeap = keel::Heap<InjectingOom, keel::HeapOptions{.search_limit = 8}>;

TEST(FaultInjection, PolicyFailsEverySecondCall) {
  run_case<BasicHeap>(2);
}
TEST(FaultInjection, PolicyFailsEveryThirdCall) {
  run_case<BasicHeap>(3);
}
TEST(FaultInjection, PolicyFailsEverySeventhCall) {
  run_case<BasicHeap>(7);
}
TEST(FaultInjection, BoundedSearchOfEightBlocks) {
  run_case<SearchingHeap>(3);
}

}  // namespace
