// keel/heap.hpp: the general heap.
//
// Theory of operation
//   Memory comes from regions the caller claims. Each region is tiled by blocks: a used record
//   block, then user blocks, then a 4-byte sentinel (docs/design.md section 2). Every block has one
//   32-bit header word (section 1). Free blocks carry a footer and two 32-bit links, and sit in
//   one of 416 segregated bins found through two bitmaps (section 3). allocate takes the head of
//   the first non-empty bin whose every block fits (good fit, O(1)), else looks at a bounded
//   number of blocks in the bins below (best effort, at most options.search_limit blocks), splits
//   off the rest, and returns. free merges the block with its free neighbours at once and bins it.
//
// Invariants (docs/design.md section 5; validate() checks all of them, check() the cheap ones)
//   1. blocks tile each region exactly; 2. no two neighbours are both free; 3. PREV_USED equals
//   the USED bit of the previous block; 4. a free block's footer equals its size and it is at
//   least 2 granules; 5. each free block is in the bin of its size and the bitmaps mirror the
//   bins; 6. in use + free + overhead = claimed.
//
// Trade-offs
//   Good fit rounds a request up to the next bin boundary, so a request near the size of the
//   largest free block may need the bounded search; with search_limit = 0 the bound is strict
//   O(1) with no list walk at all. Links are 32-bit offsets, so on 64-bit targets all regions of
//   one heap must lie in one 32 GiB window (section 4).
//
// Every public function states its cost, its outcome for null, zero and oversize input, and
// whether it may run with interrupts masked ("IRQ-safe" below means: bounded, no blocking, fine
// inside a critical section; keel never masks interrupts itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "keel/config.hpp"
#include "keel/detail/bins.hpp"
#include "keel/detail/bits.hpp"
#include "keel/detail/block.hpp"
#include "keel/detail/checked.hpp"
#include "keel/detail/format.hpp"
#include "keel/fault.hpp"
#include "keel/oom.hpp"
#include "keel/span.hpp"
#include "keel/stats.hpp"

namespace keel {

namespace detail {

/// Values keel writes into memory it no longer uses, so that a stale pointer finds a
/// recognisable word instead of a plausible header.
enum class Pattern : Word {
  freed_header = 0x0DEADF00U,  ///< a header absorbed by a merge (USED clear, size impossible)
};

/// The counters behind Statistics, kept only when HeapOptions::statistics is set.
struct Counters {
  std::size_t claimed = 0;
  std::size_t in_use = 0;
  std::size_t free = 0;
  std::size_t overhead = 0;
  std::size_t peak_in_use = 0;
  std::size_t min_free = 0;
  std::size_t live = 0;
  std::uint64_t total = 0;
  std::uint64_t failed = 0;
  std::size_t free_blocks = 0;
  std::size_t regions = 0;
};
struct NoCounters {};

/// Region record payload: three links after the record's header (docs/design.md section 2).
inline constexpr std::size_t kRegionNextOffset = 4;
inline constexpr std::size_t kRegionPrevOffset = 8;
inline constexpr std::size_t kRegionSentinelOffset = 12;
inline constexpr Word kRecordGranules = 2;
inline constexpr std::size_t kRecordBytes = bytes_of(kRecordGranules);
inline constexpr std::size_t kSentinelBytes = kHeaderBytes;
inline constexpr std::size_t kRegionOverhead = kRecordBytes + kSentinelBytes;
/// The least extent a region can have: record, one minimum block, sentinel.
inline constexpr std::size_t kMinRegionBytes =
    kRecordBytes + bytes_of(kMinBlockGranules) + kSentinelBytes;

}  // namespace detail

/// Fixes the 32 GiB link window of a heap on a 64-bit target (docs/design.md section 4).
struct WindowBase {
  std::uintptr_t address;
};

template <typename Oom = FailOnOom, HeapOptions kOptions = HeapOptions{}>
class Heap {
  using Word = detail::Word;

 public:
  using OomPolicy = Oom;
  static constexpr HeapOptions options = kOptions;
  /// The largest size allocate can serve; larger requests return null at once.
  static constexpr std::size_t max_request = detail::kMaxRequest;
  /// The least span that claim accepts (plus up to 14 bytes of alignment slack).
  static constexpr std::size_t min_region = detail::kMinRegionBytes;

  constexpr Heap() = default;
  constexpr explicit Heap(Oom oom) : oom_(oom) {}
  /// On 64-bit targets, links reach 32 GiB from `base`; without it, from the first region.
  constexpr explicit Heap(WindowBase base, Oom oom = Oom{}) : oom_(oom) {
    if constexpr (kWindowFloats) {
      base_ = detail::align_down(base.address, detail::kGranule) - detail::kHeaderBytes;
      window_fixed_ = true;
    } else {
      (void)base;
    }
  }
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // ---------------------------------------------------------------------------------------------
  // Allocation

  /// Allocates `size` bytes aligned to `align` (a power of two). O(1), IRQ-safe unless the OOM
  /// policy is not. size 0 returns a unique minimum block (12 usable bytes). Returns null if
  /// `align` is not a power of two, if size > max_request, or if no memory can be found after
  /// the OOM policy gave up.
  [[nodiscard]] void* allocate(std::size_t size, std::size_t align = kDefaultAlignment) {
    return allocate_with(size, align, CallOom::yes);
  }

  /// As allocate, but never calls the OOM policy.
  [[nodiscard]] void* try_allocate(std::size_t size, std::size_t align = kDefaultAlignment) {
    return allocate_with(size, align, CallOom::no);
  }

  /// Allocates count × size zeroed bytes. Null if the product overflows (the OOM policy is not
  /// called then) or as allocate. O(1) plus the memset.
  [[nodiscard]] void* allocate_zeroed(std::size_t count, std::size_t size,
                                      std::size_t align = kDefaultAlignment) {
    std::size_t total = 0;
    if (!detail::checked_multiply(count, size, total)) {
      count_failure();
      return nullptr;
    }
    void* pointer = allocate(total, align);
    if (pointer != nullptr) {
      __builtin_memset(pointer, 0, total);
    }
    return pointer;
  }

  /// Frees a block. null is ignored. O(1), IRQ-safe. With checking on, a pointer that is not a
  /// live block of this heap is reported through the fault hook and the heap is not changed.
  void free(void* pointer) {
    if (pointer == nullptr) {
      return;
    }
    std::byte* block = nullptr;
    if (!accept_live_pointer(pointer, block)) {
      return;
    }
    release(block);
  }

  /// Resizes a block, keeping its contents up to the smaller size.
  /// - null `pointer`: as allocate(size, align).
  /// - size 0: frees the block and returns null.
  /// - shrinking, or growing into a free right neighbour: in place, O(1).
  /// - growing into a free left neighbour (align <= 8): O(1) plus a memmove of the contents.
  /// - otherwise allocates a new block aligned to `align`, copies, frees the old one; if that
  ///   fails, returns null and the old block is untouched.
  /// A bad pointer is reported through the fault hook and null is returned.
  /// `align` is the alignment a moved block must have: pass the one the block was allocated with.
  [[nodiscard]] void* reallocate(void* pointer, std::size_t size,
                                 std::size_t align = kDefaultAlignment) {
    if (pointer == nullptr) {
      return allocate(size, align);
    }
    std::byte* block = nullptr;
    if (!accept_live_pointer(pointer, block)) {
      return nullptr;
    }
    if (size == 0) {
      release(block);
      return nullptr;
    }
    if (size > max_request || !detail::is_power_of_two(align)) {
      count_failure();
      return nullptr;
    }
    const Word wanted = detail::granules_for(size);
    if (resize_in_place(block, wanted)) {
      return pointer;
    }
    if (align <= detail::kGranule) {
      if (std::byte* moved = grow_backward(block, wanted, size)) {
        return detail::payload_of(moved);
      }
    }
    const std::size_t old_usable = detail::usable_bytes(detail::granules_of(header_of(block)));
    void* fresh = allocate(size, align);
    if (fresh == nullptr) {
      return nullptr;
    }
    __builtin_memcpy(fresh, pointer, old_usable < size ? old_usable : size);
    release(block);
    if constexpr (kOptions.statistics) {
      --counters_.total;  // a move is one allocation from the caller's point of view
    }
    return fresh;
  }

  /// Resizes a block without moving it: shrinks, or grows into a free right neighbour.
  /// Returns false (and changes nothing) if that cannot be done. O(1), IRQ-safe.
  [[nodiscard]] bool try_resize_in_place(void* pointer, std::size_t size) {
    std::byte* block = nullptr;
    if (pointer == nullptr || !accept_live_pointer(pointer, block) || size > max_request) {
      return false;
    }
    return resize_in_place(block, detail::granules_for(size));
  }

  /// Usable bytes of a live block (at least the size asked for). 0 for null or a bad pointer
  /// (which is also reported). O(1).
  [[nodiscard]] std::size_t usable_size(const void* pointer) const {
    std::byte* block = nullptr;
    if (pointer == nullptr || !accept_live_pointer(const_cast<void*>(pointer), block)) {
      return 0;
    }
    return detail::usable_bytes(detail::granules_of(header_of(block)));
  }

  // ---------------------------------------------------------------------------------------------
  // Regions. Each is O(regions) (to check overlaps) and not meant for interrupt context.

  /// Adds a region. The span is trimmed inward to the block alignment, and to 4 GiB.
  /// Returns the extent used, or why not: null_span (null or wrapping), too_small (less than
  /// min_region after trimming), overlaps (meets a region of this heap), out_of_reach (64-bit:
  /// outside the link window).
  RegionResult claim(Span span) {
    std::uintptr_t first = 0;
    std::uintptr_t sentinel = 0;
    std::uintptr_t span_end = 0;
    if (span.data == nullptr ||
        __builtin_add_overflow(address_of(span.data), span.size, &span_end)) {
      return RegionError::null_span;
    }
    if (!layout_bounds(span, first, sentinel) ||
        sentinel - first < detail::kRecordBytes + detail::bytes_of(detail::kMinBlockGranules)) {
      return RegionError::too_small;
    }
    // At most one maximum block per region (compared by difference: the sum could wrap).
    if (sentinel - first - detail::kRecordBytes > detail::bytes_of(detail::kMaxBlockGranules)) {
      sentinel = first + detail::kRecordBytes + detail::bytes_of(detail::kMaxBlockGranules);
    }
    std::uintptr_t base = base_;
    if constexpr (kWindowFloats) {
      if (!window_fixed_) {
        // Centre the window on the first region, so that it can grow, and later regions can
        // lie, below it as well as above (docs/design.md section 4).
        base = first >= kHalfWindow ? first - kHalfWindow : static_cast<std::uintptr_t>(-4);
      }
    }
    if (!in_window(base, first, sentinel + detail::kSentinelBytes)) {
      return RegionError::out_of_reach;
    }
    if (overlaps_region(first, sentinel + detail::kSentinelBytes, nullptr)) {
      return RegionError::overlaps;
    }
    base_ = base;
    if constexpr (kWindowFloats) {
      window_fixed_ = true;
    }

    std::byte* record = as_pointer(first);
    std::byte* end = as_pointer(sentinel);
    detail::set_header(record, detail::make_header(detail::kRecordGranules,
                                                   detail::kUsedBit | detail::kPrevUsedBit));
    set_region_links(record, first_region_, nullptr, end);
    if (first_region_ != nullptr) {
      set_region_prev(first_region_, record);
    }
    first_region_ = record;
    std::byte* block = record + detail::kRecordBytes;
    const auto granules = static_cast<Word>((end - block) >> detail::kGranuleShift);
    detail::set_header(block, detail::make_header(granules, detail::kPrevUsedBit));
    detail::set_footer(block, granules);
    detail::set_header(end, detail::make_header(0, detail::kUsedBit));
    insert_free(block, granules);
    update_bounds();
    if constexpr (kOptions.statistics) {
      const std::size_t extent = sentinel + detail::kSentinelBytes - first;
      if (counters_.regions == 0 && counters_.claimed == 0) {
        counters_.min_free = counters_.free;
      }
      counters_.claimed += extent;
      counters_.overhead += detail::kRegionOverhead;
      ++counters_.regions;
    }
    return Span{record, sentinel + detail::kSentinelBytes - first};
  }

  /// Grows `region` (an extent returned by claim, extend or truncate) to `grown`, at either or
  /// both ends. The new memory becomes free and merges with its neighbour. Returns the new
  /// extent, or: not_a_region, not_contained (grown does not contain region), too_small (adds
  /// less than one 16-byte block at both ends), overlaps, out_of_reach.
  RegionResult extend(Span region, Span grown) {
    std::byte* record = find_region(region);
    if (record == nullptr) {
      return RegionError::not_a_region;
    }
    if (grown.data == nullptr || grown.data > region.data ||
        region_end(grown) < region_end(region) || region_end(grown) < address_of(grown.data)) {
      return RegionError::not_contained;
    }
    std::byte* sentinel = region_sentinel(record);
    std::uintptr_t new_first = address_of(record);
    std::uintptr_t new_sentinel = address_of(sentinel);
    std::uintptr_t lowest = 0;
    std::uintptr_t highest = 0;
    if (!layout_bounds(grown, lowest, highest)) {
      return RegionError::too_small;
    }
    if (new_first - lowest >= detail::bytes_of(detail::kMinBlockGranules) && lowest < new_first) {
      new_first = lowest;
    }
    if (highest > new_sentinel &&
        highest - new_sentinel >= detail::bytes_of(detail::kMinBlockGranules)) {
      new_sentinel = highest;
    }
    if (new_first == address_of(record) && new_sentinel == address_of(sentinel)) {
      return RegionError::too_small;
    }
    if ((new_sentinel - new_first - detail::kRecordBytes) >> detail::kGranuleShift >
        detail::kMaxBlockGranules) {
      return RegionError::too_small;  // cannot happen below 4 GiB; refuse rather than wrap
    }
    if (!in_window(base_, new_first, new_sentinel + detail::kSentinelBytes)) {
      return RegionError::out_of_reach;
    }
    if (overlaps_region(new_first, new_sentinel + detail::kSentinelBytes, record)) {
      return RegionError::overlaps;
    }
    const std::size_t old_extent = region_extent_bytes(record);
    if (new_sentinel != address_of(sentinel)) {
      grow_end(record, sentinel, as_pointer(new_sentinel));
    }
    if (new_first != address_of(record)) {
      record = grow_front(record, as_pointer(new_first));
    }
    update_bounds();
    const std::size_t new_extent = region_extent_bytes(record);
    if constexpr (kOptions.statistics) {
      counters_.claimed += new_extent - old_extent;
    }
    return Span{record, new_extent};
  }

  /// Shrinks `region` so that it still contains `keep`, giving back free memory at either end.
  /// The extent returned contains `keep` (rounding may keep a few bytes more). An empty `keep`
  /// releases the whole region, which must then hold no live block; the result is an empty span.
  /// Returns not_a_region, not_contained (keep is not inside region), cuts_live_block (the
  /// memory to release holds part of a live block), or too_small (what would remain is less
  /// than a region).
  RegionResult truncate(Span region, Span keep) {
    std::byte* record = find_region(region);
    if (record == nullptr) {
      return RegionError::not_a_region;
    }
    if (keep.size == 0) {
      return release_region(record);
    }
    if (keep.data == nullptr || keep.data < region.data || region_end(keep) > region_end(region) ||
        region_end(keep) < address_of(keep.data)) {
      return RegionError::not_contained;
    }
    std::byte* sentinel = region_sentinel(record);
    // The new record: the highest block address at or below keep.data.
    std::uintptr_t new_first =
        detail::align_down(address_of(keep.data) - detail::kHeaderBytes, detail::kGranule) +
        detail::kHeaderBytes;
    if (new_first < address_of(record)) {
      new_first = address_of(record);
    }
    // The new sentinel: the lowest sentinel address whose end covers the end of keep.
    std::uintptr_t new_sentinel = address_of(sentinel);
    {
      const std::uintptr_t keep_end = region_end(keep);
      const std::uintptr_t lowest =
          detail::align_up(keep_end - detail::kSentinelBytes - detail::kHeaderBytes,
                           detail::kGranule) +
          detail::kHeaderBytes;
      if (lowest < new_sentinel) {
        new_sentinel = lowest;
      }
    }
    std::byte* first_block = record + detail::kRecordBytes;
    // Front: the record moves up into the first block, which must be free.
    if (new_first > address_of(record)) {
      const Word header = header_of(first_block);
      if ((header & detail::kUsedBit) != 0) {
        return RegionError::cuts_live_block;
      }
      const std::uintptr_t free_end =
          address_of(first_block) + detail::bytes_of(detail::granules_of(header));
      if (new_first + detail::kRecordBytes > free_end) {
        new_first = free_end - detail::kRecordBytes;
      }
      if (free_end - (new_first + detail::kRecordBytes) == detail::kGranule) {
        new_first -= detail::kGranule;  // a 1-granule remainder cannot be a block
      }
    }
    // End: the sentinel moves down into the last block, which must be free.
    if (new_sentinel < address_of(sentinel)) {
      const Word sentinel_header = header_of(sentinel);
      if ((sentinel_header & detail::kPrevUsedBit) != 0) {
        return RegionError::cuts_live_block;
      }
      const std::uintptr_t last_free =
          address_of(sentinel) - detail::bytes_of(detail::footer_before(sentinel));
      // Where the front moves into the same free block, the block starts after the new record.
      const bool same_block = last_free == address_of(first_block);
      const std::uintptr_t free_start = same_block ? new_first + detail::kRecordBytes : last_free;
      if (new_sentinel < free_start) {
        if (!same_block) {
          return RegionError::cuts_live_block;
        }
        new_sentinel = free_start;  // keep is inside the one free block: keep the record only
      }
      if (new_sentinel - free_start == detail::kGranule) {
        new_sentinel += detail::kGranule;
      }
    }
    if (new_sentinel < new_first + detail::kRecordBytes) {
      return RegionError::too_small;
    }
    const std::size_t old_extent = region_extent_bytes(record);
    if (new_first > address_of(record)) {
      record = shrink_front(record, as_pointer(new_first));
    }
    if (new_sentinel < address_of(sentinel)) {
      shrink_end(record, sentinel, as_pointer(new_sentinel));
    }
    update_bounds();
    const std::size_t new_extent = region_extent_bytes(record);
    if constexpr (kOptions.statistics) {
      counters_.claimed -= old_extent - new_extent;
    }
    return Span{record, new_extent};
  }

  /// The least extent of `region` that still holds every live block: what truncate can reach.
  /// not_a_region if `region` is not one of this heap's. O(1).
  RegionResult reserved(Span region) const {
    std::byte* record = find_region(region);
    if (record == nullptr) {
      return RegionError::not_a_region;
    }
    std::byte* sentinel = region_sentinel(record);
    std::byte* first_block = record + detail::kRecordBytes;
    std::byte* low = record;
    std::byte* high = sentinel + detail::kSentinelBytes;
    const Word first_header = header_of(first_block);
    if (first_block != sentinel && (first_header & detail::kUsedBit) == 0) {
      low = next_block_of(first_block) - detail::kRecordBytes;
    }
    if ((header_of(sentinel) & detail::kPrevUsedBit) == 0 && first_block != sentinel) {
      high = sentinel - detail::bytes_of(detail::footer_before(sentinel)) + detail::kSentinelBytes;
      if (high < low + detail::kRecordBytes + detail::kSentinelBytes) {
        high = low + detail::kRecordBytes + detail::kSentinelBytes;  // no live block at all
      }
    }
    return Span{low, static_cast<std::size_t>(high - low)};
  }

  /// Calls function(Span extent) for every region, newest first. O(regions).
  template <typename F>
  void for_each_region(F&& function) const {
    for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
      function(Span{record, region_extent_bytes(record)});
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /// The counters, O(1) (the largest free block is read from the top bin, looking at no more
  /// than kLargestScan blocks: exact when that bin is that short, a lower bound otherwise).
  /// With statistics off, only the fields that need no counter are filled in.
  [[nodiscard]] Statistics statistics() const {
    Statistics result{};
    if constexpr (kOptions.statistics) {
      result.bytes_claimed = counters_.claimed;
      result.bytes_in_use = counters_.in_use;
      result.bytes_free = counters_.free;
      result.bytes_overhead = counters_.overhead;
      result.peak_bytes_in_use = counters_.peak_in_use;
      result.min_bytes_free = counters_.min_free;
      result.live_allocations = counters_.live;
      result.total_allocations = counters_.total;
      result.failed_allocations = counters_.failed;
      result.free_blocks = counters_.free_blocks;
      result.region_count = counters_.regions;
    }
    result.largest_free_block = largest_free_block();
    if (result.bytes_free != 0) {
      const std::size_t largest_bytes =
          result.largest_free_block == 0 ? 0 : result.largest_free_block + detail::kHeaderBytes;
      result.fragmentation_permille = static_cast<unsigned>(
          1000 - (static_cast<std::uint64_t>(largest_bytes) * 1000) / result.bytes_free);
    }
    return result;
  }

  /// Calls visitor(const BlockInfo&) for every used and free block of every region, in address
  /// order within a region. O(blocks). Pads and region records are not reported. The visitor
  /// must not change the heap.
  template <typename V>
  void walk(V&& visitor) const {
    for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
      std::byte* sentinel = region_sentinel(record);
      for (std::byte* block = record + detail::kRecordBytes; block < sentinel;
           block = next_block_of(block)) {
        const Word header = header_of(block);
        const Word granules = detail::granules_of(header);
        if (granules == detail::kPadGranules && (header & detail::kUsedBit) != 0) {
          continue;
        }
        visitor(BlockInfo{detail::payload_of(block), detail::usable_bytes(granules),
                          (header & detail::kUsedBit) != 0});
      }
    }
  }

  /// Checks every invariant of docs/design.md section 5 and returns the first violation found,
  /// with the address of the block or region concerned. Never faults, never asserts, never
  /// follows a link outside the heap. O(blocks + bins).
  [[nodiscard]] ValidationResult validate() const;

  /// The cheap part of validate(): bitmaps against bin heads, and (with statistics) that the
  /// counters add up. O(bins), a constant. Returns true if healthy.
  [[nodiscard]] bool check() const;

  /// Writes a readable heap map (regions, every block, the counters) to
  /// sink(const char* text, std::size_t length). O(blocks).
  template <typename Sink>
  void dump(Sink&& sink) const;

  /// The OOM policy object, for set-up and inspection.
  [[nodiscard]] Oom& oom_policy() { return oom_; }

 private:
  enum class CallOom : bool { no, yes };
  static constexpr bool kWindowFloats = sizeof(std::uintptr_t) > 4;
  /// Half the 32 GiB reach of a 32-bit granule link.
  static constexpr std::uintptr_t kHalfWindow =
      kWindowFloats ? std::uintptr_t{1} << (kWindowFloats ? 34U : 0U) : 0;
  static constexpr unsigned kLargestScan = 32;
  static constexpr unsigned kNoBin = detail::kBinCount;

  // --- addresses and links ----------------------------------------------------------------------
  static std::uintptr_t address_of(const void* pointer) {
    return reinterpret_cast<std::uintptr_t>(pointer);
  }
  static std::byte* as_pointer(std::uintptr_t address) {
    return reinterpret_cast<std::byte*>(address);
  }
  static std::uintptr_t region_end(Span span) { return address_of(span.data) + span.size; }
  static Word header_of(const std::byte* block) { return detail::header_of(block); }
  static std::byte* next_block_of(std::byte* block) {
    return detail::next_block(block, detail::granules_of(header_of(block)));
  }

  Word to_link(const std::byte* block) const {
    return static_cast<Word>((address_of(block) - base_) >> detail::kGranuleShift);
  }
  std::byte* from_link(Word link) const {
    return as_pointer(base_ + (static_cast<std::uintptr_t>(link) << detail::kGranuleShift));
  }
  /// True if every block address in [first, end) has a non-zero 32-bit link from `base`.
  /// On 32-bit targets every address has one (docs/design.md section 4).
  static bool in_window(std::uintptr_t base, std::uintptr_t first, std::uintptr_t end) {
    if constexpr (kWindowFloats) {
      constexpr std::uintptr_t kReach = static_cast<std::uintptr_t>(0xFFFFFFFFU)
                                        << detail::kGranuleShift;
      return first >= base + detail::kGranule && end - base <= kReach;
    } else {
      (void)base;
      (void)first;
      (void)end;
      return true;
    }
  }

  // --- bins -------------------------------------------------------------------------------------
  void insert_free(std::byte* block, Word granules) {
    const unsigned bin = detail::bin_of(granules);
    const Word self = to_link(block);
    const Word head = heads_[bin];
    detail::set_next_link(block, head);
    detail::set_prev_link(block, 0);
    if (head != 0) {
      detail::set_prev_link(from_link(head), self);
    }
    heads_[bin] = self;
    second_bitmap_[bin / detail::kSecondLevels] |=
        static_cast<std::uint16_t>(1U << (bin % detail::kSecondLevels));
    first_bitmap_ |= 1U << (bin / detail::kSecondLevels);
    if constexpr (kOptions.statistics) {
      counters_.free += detail::bytes_of(granules);
      ++counters_.free_blocks;
    }
  }

  void remove_free(std::byte* block, Word granules) {
    const unsigned bin = detail::bin_of(granules);
    const Word next = detail::next_link(block);
    const Word prev = detail::prev_link(block);
    if (prev != 0) {
      detail::set_next_link(from_link(prev), next);
    } else {
      heads_[bin] = next;
    }
    if (next != 0) {
      detail::set_prev_link(from_link(next), prev);
    }
    if (heads_[bin] == 0) {
      const unsigned first = bin / detail::kSecondLevels;
      second_bitmap_[first] &= static_cast<std::uint16_t>(~(1U << (bin % detail::kSecondLevels)));
      if (second_bitmap_[first] == 0) {
        first_bitmap_ &= ~(1U << first);
      }
    }
    if constexpr (kOptions.statistics) {
      counters_.free -= detail::bytes_of(granules);
      --counters_.free_blocks;
    }
  }

  /// The first non-empty bin at or above `bin`, or kNoBin. Two count-trailing-zeros.
  unsigned first_bin_from(unsigned bin) const {
    unsigned first = bin / detail::kSecondLevels;
    std::uint32_t second = second_bitmap_[first] & (~0U << (bin % detail::kSecondLevels)) & 0xFFFFU;
    if (second == 0) {
      const std::uint32_t above = first_bitmap_ & (~0U << (first + 1));
      if (above == 0) {
        return kNoBin;
      }
      first = detail::lowest_bit(above);
      second = second_bitmap_[first];
    }
    return first * detail::kSecondLevels + detail::lowest_bit(second);
  }

  /// Bytes of front gap needed to align the payload of `block` to `align` (0, 8 for a pad, or
  /// at least 16 for a free gap block).
  static std::size_t front_gap(const std::byte* block, std::size_t align) {
    const std::uintptr_t start = address_of(block);
    const std::uintptr_t payload = detail::align_up(start + detail::kHeaderBytes, align);
    return payload - detail::kHeaderBytes - start;
  }

  /// Finds a free block that can hold `granules` at `align`, removes it from its bin and
  /// returns it (null if none). O(1) plus at most search_limit list steps.
  std::byte* take_block(Word granules, std::size_t align) {
    Word wanted = granules;
    if (align > detail::kGranule) {
      wanted += static_cast<Word>(align >> detail::kGranuleShift) - 1;
    }
    const Word start = detail::search_size(wanted);
    if (start <= detail::kMaxBlockGranules) {
      const unsigned bin = first_bin_from(detail::bin_of(start));
      if (bin != kNoBin) {
        std::byte* block = from_link(heads_[bin]);
        remove_free(block, detail::granules_of(header_of(block)));
        return block;
      }
    }
    if constexpr (kOptions.search_limit > 0) {
      unsigned budget = kOptions.search_limit;
      for (unsigned bin = first_bin_from(detail::bin_of(granules)); bin != kNoBin && budget != 0;
           bin = bin + 1 < detail::kBinCount ? first_bin_from(bin + 1) : kNoBin) {
        for (Word link = heads_[bin]; link != 0 && budget != 0; --budget) {
          std::byte* block = from_link(link);
          const Word size = detail::granules_of(header_of(block));
          const std::size_t gap = align > detail::kGranule ? front_gap(block, align) : 0;
          if (size >= granules + (gap >> detail::kGranuleShift)) {
            remove_free(block, size);
            return block;
          }
          link = detail::next_link(block);
        }
      }
    }
    return nullptr;
  }

  /// Turns the free block `block` (already out of its bin) into a used block of `granules` at
  /// `align`, returning the gap in front and the tail to the bins. Returns the payload.
  void* place(std::byte* block, Word granules, std::size_t align) {
    Word size = detail::granules_of(header_of(block));
    Word prev_used = header_of(block) & detail::kPrevUsedBit;
    Word padded = 0;
    Word consumed_pad = 0;
    if (align > detail::kGranule) {
      const std::size_t gap = front_gap(block, align);
      if (gap == detail::kGranule) {
        detail::set_header(block,
                           detail::make_header(detail::kPadGranules, detail::kUsedBit | prev_used));
        block += detail::kGranule;
        size -= detail::kPadGranules;
        padded = detail::kPaddedBit;
        prev_used = detail::kPrevUsedBit;
        consumed_pad = detail::kPadGranules;
      } else if (gap != 0) {
        const auto gap_granules = static_cast<Word>(gap >> detail::kGranuleShift);
        detail::set_header(block, detail::make_header(gap_granules, prev_used));
        detail::set_footer(block, gap_granules);
        insert_free(block, gap_granules);
        block += gap;
        size -= gap_granules;
        prev_used = 0;
      }
    }
    if (size - granules >= detail::kMinBlockGranules) {
      std::byte* rest = detail::next_block(block, granules);
      const Word rest_granules = size - granules;
      detail::set_header(rest, detail::make_header(rest_granules, detail::kPrevUsedBit));
      detail::set_footer(rest, rest_granules);
      insert_free(rest, rest_granules);
      size = granules;
    } else {
      std::byte* next = detail::next_block(block, size);
      detail::set_header(next, header_of(next) | detail::kPrevUsedBit);
    }
    detail::set_header(block, detail::make_header(size, detail::kUsedBit | prev_used | padded));
    if constexpr (kOptions.statistics) {
      counters_.in_use += detail::bytes_of(size + consumed_pad);
      ++counters_.live;
      ++counters_.total;
      if (counters_.in_use > counters_.peak_in_use) {
        counters_.peak_in_use = counters_.in_use;
      }
      if (counters_.free < counters_.min_free) {
        counters_.min_free = counters_.free;
      }
    }
    return detail::payload_of(block);
  }

  void* allocate_with(std::size_t size, std::size_t align, CallOom call_oom) {
    if (size > max_request || !detail::is_power_of_two(align) || align > max_request) {
      count_failure();
      return nullptr;
    }
    const Word granules = detail::granules_for(size);
    for (unsigned attempt = 0;; ++attempt) {
      if (std::byte* block = take_block(granules, align)) {
        return place(block, granules, align);
      }
      if (call_oom == CallOom::no || attempt == kMaxOomRetries) {
        break;
      }
      static_assert(OomPolicyFor<Oom, Heap>, "Oom must have OomAction on_oom(Heap&, size, align)");
      if (oom_.on_oom(*this, size, align) != OomAction::retry) {
        break;
      }
    }
    count_failure();
    return nullptr;
  }

  void count_failure() {
    if constexpr (kOptions.statistics) {
      ++counters_.failed;
    }
  }

  /// Makes [start, start + 8·granules) free, merging it with free neighbours, and bins it.
  /// `prev_used` is the PREV_USED bit that belongs at `start`.
  void make_free(std::byte* start, Word granules, Word prev_used) {
    std::byte* next = detail::next_block(start, granules);
    const Word next_header = header_of(next);
    if ((next_header & detail::kUsedBit) == 0) {
      const Word next_granules = detail::granules_of(next_header);
      remove_free(next, next_granules);
      granules += next_granules;
    } else {
      detail::set_header(next, next_header & ~detail::kPrevUsedBit);
    }
    if (prev_used == 0) {
      const Word prev_granules = detail::footer_before(start);
      std::byte* prev = detail::previous_block(start, prev_granules);
      remove_free(prev, prev_granules);
      detail::set_header(start, static_cast<Word>(detail::Pattern::freed_header));
      start = prev;
      granules += prev_granules;
    }
    detail::set_header(start, detail::make_header(granules, detail::kPrevUsedBit));
    detail::set_footer(start, granules);
    insert_free(start, granules);
  }

  /// Frees a live block (already checked).
  void release(std::byte* block) {
    const Word header = header_of(block);
    Word granules = detail::granules_of(header);
    std::byte* start = block;
    Word prev_used = header & detail::kPrevUsedBit;
    if ((header & detail::kPaddedBit) != 0) {
      start = block - detail::kGranule;
      prev_used = header_of(start) & detail::kPrevUsedBit;
      granules += detail::kPadGranules;
    }
    detail::set_header(block, static_cast<Word>(detail::Pattern::freed_header));
    if constexpr (kOptions.statistics) {
      counters_.in_use -= detail::bytes_of(granules);
      --counters_.live;
    }
    make_free(start, granules, prev_used);
  }

  /// Shrinks in place, or grows into a free right neighbour. O(1).
  bool resize_in_place(std::byte* block, Word wanted) {
    const Word header = header_of(block);
    const Word size = detail::granules_of(header);
    const Word flags = header & detail::kFlagBits;
    if (wanted <= size) {
      if (size - wanted >= detail::kMinBlockGranules) {
        detail::set_header(block, detail::make_header(wanted, flags));
        if constexpr (kOptions.statistics) {
          counters_.in_use -= detail::bytes_of(size - wanted);
        }
        make_free(detail::next_block(block, wanted), size - wanted, detail::kPrevUsedBit);
      }
      return true;
    }
    std::byte* next = detail::next_block(block, size);
    const Word next_header = header_of(next);
    if ((next_header & detail::kUsedBit) != 0) {
      return false;
    }
    const Word next_granules = detail::granules_of(next_header);
    if (size + next_granules < wanted) {
      return false;
    }
    remove_free(next, next_granules);
    const Word total = size + next_granules;
    Word final_size = total;
    if (total - wanted >= detail::kMinBlockGranules) {
      std::byte* rest = detail::next_block(block, wanted);
      detail::set_header(rest, detail::make_header(total - wanted, detail::kPrevUsedBit));
      detail::set_footer(rest, total - wanted);
      insert_free(rest, total - wanted);
      final_size = wanted;
    } else {
      std::byte* after = detail::next_block(block, total);
      detail::set_header(after, header_of(after) | detail::kPrevUsedBit);
    }
    detail::set_header(block, detail::make_header(final_size, flags));
    if constexpr (kOptions.statistics) {
      counters_.in_use += detail::bytes_of(final_size - size);
      update_peaks();
    }
    return true;
  }

  /// Grows a block into its free left neighbour (and its free right one), moving the contents
  /// down with memmove. Returns the new block, or null if the neighbours are not enough.
  std::byte* grow_backward(std::byte* block, Word wanted, std::size_t size) {
    const Word header = header_of(block);
    if ((header & (detail::kPrevUsedBit | detail::kPaddedBit)) != 0) {
      return nullptr;
    }
    const Word old_size = detail::granules_of(header);
    const Word prev_granules = detail::footer_before(block);
    std::byte* prev = detail::previous_block(block, prev_granules);
    std::byte* next = detail::next_block(block, old_size);
    const Word next_header = header_of(next);
    const Word next_granules =
        (next_header & detail::kUsedBit) == 0 ? detail::granules_of(next_header) : 0;
    const Word total = prev_granules + old_size + next_granules;
    if (total < wanted) {
      return nullptr;
    }
    remove_free(prev, prev_granules);
    if (next_granules != 0) {
      remove_free(next, next_granules);
    }
    const std::size_t old_usable = detail::usable_bytes(old_size);
    __builtin_memmove(detail::payload_of(prev), detail::payload_of(block),
                      old_usable < size ? old_usable : size);
    Word final_size = total;
    if (total - wanted >= detail::kMinBlockGranules) {
      std::byte* rest = detail::next_block(prev, wanted);
      detail::set_header(rest, detail::make_header(total - wanted, detail::kPrevUsedBit));
      detail::set_footer(rest, total - wanted);
      insert_free(rest, total - wanted);
      if (next_granules == 0) {
        detail::set_header(next, next_header & ~detail::kPrevUsedBit);
      }
      final_size = wanted;
    } else {
      std::byte* after = detail::next_block(prev, total);
      detail::set_header(after, header_of(after) | detail::kPrevUsedBit);
    }
    detail::set_header(prev,
                       detail::make_header(final_size, detail::kUsedBit | detail::kPrevUsedBit));
    if constexpr (kOptions.statistics) {
      counters_.in_use += detail::bytes_of(final_size) - detail::bytes_of(old_size);
      update_peaks();
    }
    return prev;
  }

  void update_peaks() {
    if constexpr (kOptions.statistics) {
      if (counters_.in_use > counters_.peak_in_use) {
        counters_.peak_in_use = counters_.in_use;
      }
      if (counters_.free < counters_.min_free) {
        counters_.min_free = counters_.free;
      }
    }
  }

  /// The O(1) checks on a pointer passed to free, reallocate or usable_size
  /// (docs/design.md section 7). On success sets `block`.
  bool accept_live_pointer(void* pointer, std::byte*& block) const {
    block = detail::block_of(pointer);
    if constexpr (kOptions.checking == Checking::none) {
      return true;
    } else {
      const std::uintptr_t address = address_of(pointer);
      if (address < low_ + detail::kRecordBytes + detail::kHeaderBytes || address >= high_) {
        report_fault(Fault::foreign_pointer, pointer);
        return false;
      }
      if ((address & (detail::kGranule - 1)) != 0) {
        report_fault(Fault::misaligned_pointer, pointer);
        return false;
      }
      const Word header = header_of(block);
      const Word granules = detail::granules_of(header);
      if ((header & detail::kUsedBit) == 0) {
        // A freed PADDED block's header became the free block's previous-link word; the free
        // block itself starts one granule lower, at the old pad.
        const bool freed =
            looks_free(block, header) ||
            looks_free(block - detail::kGranule, header_of(block - detail::kGranule));
        report_fault(freed ? Fault::double_free : Fault::invalid_pointer, pointer);
        return false;
      }
      if (granules < detail::kMinBlockGranules ||
          granules > ((high_ - address_of(block)) >> detail::kGranuleShift) ||
          (header_of(detail::next_block(block, granules)) & detail::kPrevUsedBit) == 0) {
        report_fault(Fault::invalid_pointer, pointer);
        return false;
      }
      if ((header & detail::kPaddedBit) != 0 &&
          header_of(block - detail::kGranule) !=
              (detail::make_header(detail::kPadGranules, detail::kUsedBit) |
               (header_of(block - detail::kGranule) & detail::kPrevUsedBit))) {
        report_fault(Fault::invalid_pointer, pointer);
        return false;
      }
      return true;
    }
  }

  /// Whether a header with USED clear is the trace of a block already freed.
  bool looks_free(const std::byte* block, Word header) const {
    if (header == static_cast<Word>(detail::Pattern::freed_header)) {
      return true;
    }
    const Word granules = detail::granules_of(header);
    return granules >= detail::kMinBlockGranules &&
           granules <= ((high_ - address_of(block)) >> detail::kGranuleShift) &&
           detail::load_word(block + detail::bytes_of(granules) - detail::kHeaderBytes) == granules;
  }

  std::size_t largest_free_block() const {
    if (first_bitmap_ == 0) {
      return 0;
    }
    const unsigned first = detail::highest_bit(first_bitmap_);
    const unsigned bin = first * detail::kSecondLevels + detail::highest_bit(second_bitmap_[first]);
    Word largest = 0;
    unsigned budget = kLargestScan;
    for (Word link = heads_[bin]; link != 0 && budget != 0; --budget) {
      std::byte* block = from_link(link);
      const Word size = detail::granules_of(header_of(block));
      largest = size > largest ? size : largest;
      link = detail::next_link(block);
    }
    return detail::usable_bytes(largest);
  }

  // --- regions ----------------------------------------------------------------------------------
  static std::byte* region_link_target(const Heap& heap, Word link) {
    return link == 0 ? nullptr : heap.from_link(link);
  }
  std::byte* region_next(const std::byte* record) const {
    return region_link_target(*this, detail::load_word(record + detail::kRegionNextOffset));
  }
  std::byte* region_prev(const std::byte* record) const {
    return region_link_target(*this, detail::load_word(record + detail::kRegionPrevOffset));
  }
  std::byte* region_sentinel(const std::byte* record) const {
    return from_link(detail::load_word(record + detail::kRegionSentinelOffset));
  }
  std::size_t region_extent_bytes(const std::byte* record) const {
    return static_cast<std::size_t>(region_sentinel(record) - record) + detail::kSentinelBytes;
  }
  Word link_or_zero(const std::byte* block) const { return block == nullptr ? 0 : to_link(block); }
  void set_region_links(std::byte* record, std::byte* next, std::byte* prev, std::byte* sentinel) {
    detail::store_word(record + detail::kRegionNextOffset, link_or_zero(next));
    detail::store_word(record + detail::kRegionPrevOffset, link_or_zero(prev));
    detail::store_word(record + detail::kRegionSentinelOffset, to_link(sentinel));
  }
  void set_region_prev(std::byte* record, std::byte* prev) {
    detail::store_word(record + detail::kRegionPrevOffset, link_or_zero(prev));
  }
  void set_region_next(std::byte* record, std::byte* next) {
    detail::store_word(record + detail::kRegionNextOffset, link_or_zero(next));
  }

  /// The block-aligned bounds inside a span: the lowest record address and the highest
  /// sentinel address that fit. False if the span is null, wraps, or cannot hold a region.
  static bool layout_bounds(Span span, std::uintptr_t& first, std::uintptr_t& sentinel) {
    const std::uintptr_t start = address_of(span.data);
    std::uintptr_t end = 0;
    if (span.data == nullptr || __builtin_add_overflow(start, span.size, &end) ||
        span.size < detail::kMinRegionBytes) {
      return false;
    }
    first = detail::align_up(start + detail::kHeaderBytes, detail::kGranule) - detail::kHeaderBytes;
    sentinel =
        detail::align_down(end - detail::kSentinelBytes - detail::kHeaderBytes, detail::kGranule) +
        detail::kHeaderBytes;
    return sentinel > first;
  }

  bool overlaps_region(std::uintptr_t first, std::uintptr_t end, const std::byte* except) const {
    for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
      if (record == except) {
        continue;
      }
      const std::uintptr_t low = address_of(record);
      const std::uintptr_t high = low + region_extent_bytes(record);
      if (first < high && low < end) {
        return true;
      }
    }
    return false;
  }

  std::byte* find_region(Span region) const {
    for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
      if (record == region.data && region_extent_bytes(record) == region.size) {
        return record;
      }
    }
    return nullptr;
  }

  void update_bounds() {
    low_ = ~std::uintptr_t{0};
    high_ = 0;
    for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
      const std::uintptr_t low = address_of(record);
      const std::uintptr_t high = low + region_extent_bytes(record);
      low_ = low < low_ ? low : low_;
      high_ = high > high_ ? high : high_;
    }
  }

  /// Points the neighbours of a record (and the list head) at its new address.
  void relink_region(std::byte* old_record, std::byte* new_record) {
    std::byte* next = region_next(old_record);
    std::byte* prev = region_prev(old_record);
    std::byte* sentinel = region_sentinel(old_record);
    detail::set_header(new_record, detail::make_header(detail::kRecordGranules,
                                                       detail::kUsedBit | detail::kPrevUsedBit));
    set_region_links(new_record, next, prev, sentinel);
    if (next != nullptr) {
      set_region_prev(next, new_record);
    }
    if (prev != nullptr) {
      set_region_next(prev, new_record);
    } else {
      first_region_ = new_record;
    }
  }

  void grow_end(std::byte* record, std::byte* sentinel, std::byte* new_sentinel) {
    const Word prev_used = header_of(sentinel) & detail::kPrevUsedBit;
    const auto granules = static_cast<Word>((new_sentinel - sentinel) >> detail::kGranuleShift);
    detail::set_header(new_sentinel,
                       detail::make_header(0, detail::kUsedBit | detail::kPrevUsedBit));
    detail::set_header(sentinel, detail::make_header(granules, prev_used));
    detail::store_word(record + detail::kRegionSentinelOffset, to_link(new_sentinel));
    make_free(sentinel, granules, prev_used);
  }

  std::byte* grow_front(std::byte* record, std::byte* new_record) {
    relink_region(record, new_record);
    std::byte* block = new_record + detail::kRecordBytes;
    const auto granules = static_cast<Word>((record - new_record) >> detail::kGranuleShift);
    detail::set_header(block, detail::make_header(granules, detail::kPrevUsedBit));
    make_free(block, granules, detail::kPrevUsedBit);
    return new_record;
  }

  std::byte* shrink_front(std::byte* record, std::byte* new_record) {
    std::byte* first_block = record + detail::kRecordBytes;
    const Word granules = detail::granules_of(header_of(first_block));
    std::byte* free_end = detail::next_block(first_block, granules);
    remove_free(first_block, granules);
    relink_region(record, new_record);
    std::byte* block = new_record + detail::kRecordBytes;
    if (block == free_end) {
      detail::set_header(free_end, header_of(free_end) | detail::kPrevUsedBit);
    } else {
      const auto rest = static_cast<Word>((free_end - block) >> detail::kGranuleShift);
      detail::set_header(block, detail::make_header(rest, detail::kPrevUsedBit));
      detail::set_footer(block, rest);
      insert_free(block, rest);
    }
    if constexpr (kOptions.statistics) {
      update_peaks();
    }
    return new_record;
  }

  void shrink_end(std::byte* record, std::byte* sentinel, std::byte* new_sentinel) {
    const Word last_granules = detail::footer_before(sentinel);
    std::byte* last = detail::previous_block(sentinel, last_granules);
    remove_free(last, last_granules);
    if (new_sentinel == last) {
      detail::set_header(new_sentinel,
                         detail::make_header(0, detail::kUsedBit | detail::kPrevUsedBit));
    } else {
      const auto rest = static_cast<Word>((new_sentinel - last) >> detail::kGranuleShift);
      detail::set_header(last, detail::make_header(rest, detail::kPrevUsedBit));
      detail::set_footer(last, rest);
      insert_free(last, rest);
      detail::set_header(new_sentinel, detail::make_header(0, detail::kUsedBit));
    }
    detail::store_word(record + detail::kRegionSentinelOffset, to_link(new_sentinel));
    if constexpr (kOptions.statistics) {
      update_peaks();
    }
  }

  RegionResult release_region(std::byte* record) {
    std::byte* sentinel = region_sentinel(record);
    std::byte* first_block = record + detail::kRecordBytes;
    const Word header = header_of(first_block);
    const bool empty_region = first_block == sentinel;
    if (!empty_region &&
        ((header & detail::kUsedBit) != 0 || next_block_of(first_block) != sentinel)) {
      return RegionError::cuts_live_block;
    }
    const std::size_t extent = region_extent_bytes(record);
    if (!empty_region) {
      remove_free(first_block, detail::granules_of(header));
    }
    std::byte* next = region_next(record);
    std::byte* prev = region_prev(record);
    if (next != nullptr) {
      set_region_prev(next, prev);
    }
    if (prev != nullptr) {
      set_region_next(prev, next);
    } else {
      first_region_ = next;
    }
    update_bounds();
    if constexpr (kOptions.statistics) {
      counters_.claimed -= extent;
      counters_.overhead -= detail::kRegionOverhead;
      --counters_.regions;
      update_peaks();
    }
    return Span{};
  }

  // --- state ------------------------------------------------------------------------------------
  /// Links count granules from here (docs/design.md section 4). On 32-bit targets the window is
  /// the whole address space: base = -4, so a block at address a has link (a + 4) / 8.
  std::uintptr_t base_ = kWindowFloats ? 0 : static_cast<std::uintptr_t>(-4);
  bool window_fixed_ = !kWindowFloats;
  std::uint32_t first_bitmap_ = 0;
  std::uint16_t second_bitmap_[detail::kFirstLevels] = {};
  Word heads_[detail::kBinCount] = {};
  std::byte* first_region_ = nullptr;
  std::uintptr_t low_ = ~std::uintptr_t{0};
  std::uintptr_t high_ = 0;
  [[no_unique_address]] std::conditional_t<kOptions.statistics, detail::Counters,
                                           detail::NoCounters>
      counters_{};
  [[no_unique_address]] Oom oom_{};
};

}  // namespace keel

#include "keel/detail/heap_inspect.hpp"
