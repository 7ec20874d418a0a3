// keel/heap.hpp: the general heap.
//
// Theory of operation
//   Memory comes from regions the caller claims. Each region is tiled by blocks: a used record
//   block, then user blocks, then a 4-byte sentinel (docs/design.md section 2). Every block has one
//   32-bit header word (section 1; granules of max_align_t, 16 or 8 bytes). Free blocks carry a
//   footer and two 32-bit links, and sit in one of 400 or 416 bins (fewer for a small
//   largest_block, section 13) found through two bitmaps (section 3). allocate takes the head of
//   the request's own bin if it fits, else of the first non-empty bin whose every block fits
//   (good fit, O(1)), else (only if options.search_limit is set) looks at that many blocks at
//   most, and splits off the rest. free merges with free neighbours at once (or, with the
//   quick_lists option, holds a small block for the next request of its size, section 15).
//
// Invariants (docs/design.md section 5; validate() checks all of them, check() the cheap ones)
//   1. blocks tile each region exactly; 2. no two neighbours are both free; 3. PREV_USED equals
//   the USED bit of the previous block; 4. a free block's footer equals its size and it is at
//   least 16 bytes; 5. each free block is in the bin of its size and the bitmaps mirror the
//   bins; 6. in use + free + overhead = claimed; 7. (quick_lists) each cached block is listed once.
//
// Trade-offs
//   Good fit rounds a request up to the next bin boundary, so a request near the size of the
//   largest free block can fail while a block that fits sits lower in a bin; search_limit buys
//   some of those back with list steps. The default, 0, keeps allocate strictly O(1). Links are
//   32-bit offsets, so on 64-bit targets all regions of one heap must lie in one 16 or 32 GiB
//   window (section 4).
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
#include "keel/detail/counters.hpp"
#include "keel/detail/fill.hpp"
#include "keel/detail/format.hpp"
#include "keel/detail/quick_lists.hpp"
#include "keel/detail/region.hpp"
#include "keel/detail/tools.hpp"
#include "keel/fault.hpp"
#include "keel/oom.hpp"
#include "keel/span.hpp"
#include "keel/stats.hpp"
#include "keel/tag.hpp"

namespace keel {

/// Fixes the 2^31-granule link window of a heap on a 64-bit target (docs/design.md section 4).
struct WindowBase {
  std::uintptr_t address;
};

template <typename Oom = FailOnOom, HeapOptions kOptions = HeapOptions{}>
class Heap {
  using Word = detail::Word;

 public:
  using OomPolicy = Oom;
  static constexpr HeapOptions options = kOptions;
  using Bins = detail::BinsFor<kOptions.largest_block>;  ///< its bins (design.md sections 3, 13)
  /// Bytes at the end of every block for the checks and the tag (0 with basic checks, no tags).
  static constexpr std::size_t trailer_bytes =
      (kOptions.checking >= Checking::full ? 8 : 0) +
      (kOptions.tags ? (sizeof(AllocationTag) + 7) / 8 * 8 : 0);
  /// The largest size allocate can serve (HeapOptions::largest_block less the header and
  /// trailer); larger requests return null at once.
  static constexpr std::size_t max_request =
      detail::bytes_of(Bins::kMaxGranules) - detail::kHeaderBytes - trailer_bytes;
  /// The least span that claim accepts (plus up to 14 bytes of alignment slack).
  static constexpr std::size_t min_region = detail::kMinRegionBytes;
  /// The largest extent of one region, one block of largest_block (4 GiB + 12 bytes by default
  /// on 64-bit targets; on 32-bit ones the address space): claim trims a larger span to it.
  static constexpr std::size_t max_region = detail::max_region_bytes(Bins::kMaxGranules);

  constexpr Heap() = default;
  constexpr explicit Heap(Oom oom) : oom_(oom) {}
  /// On 64-bit targets, links reach 2^31 granules from `base`; without it, from the first region.
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

  /// Hardened heaps: seeds the secret that free-list links are mangled with. Call it once,
  /// before the first claim, with entropy the kernel trusts (a hardware RNG, boot-time noise);
  /// without it the secret comes from the heap's and the first region's addresses, which an
  /// attacker who knows the memory map can guess (Checking::full mixes it into its check words
  /// too; other heaps keep no secret and ignore the call). Returns false (and changes nothing)
  /// once regions exist.
  bool set_secret(std::uint32_t entropy) {
    if (first_region_ != nullptr) {
      return false;
    }
    if constexpr (kGuarded) {
      guard_.secret = entropy | 1U;
    }
    return true;
  }

  /// Limits the heap, before its first claim, to blocks of at most `largest_block` bytes (with
  /// the header; at least one granule, less than HeapOptions::largest_block): claim trims
  /// regions to one such block, larger requests fail, and the bin heads past the last bin such a
  /// block maps to are never read or written. Returns the bytes at the start of the object that
  /// stay in use (the heads are its last member; keel.h's keel_init places its first region over
  /// the rest, docs/design.md 13), or 0, changing nothing, once regions exist or for a limit out
  /// of that range.
  std::size_t limit_blocks(std::size_t largest_block) {
    const std::size_t granules = largest_block >> detail::kGranuleShift;
    if (first_region_ != nullptr || granules < detail::kMinBlockGranules ||
        granules >= Bins::kMaxGranules ||
        detail::bytes_of(static_cast<Word>(granules)) < detail::kHeaderBytes + trailer_bytes) {
      return 0;
    }
    request_limit_ =
        detail::bytes_of(static_cast<Word>(granules)) - detail::kHeaderBytes - trailer_bytes;
    return static_cast<std::size_t>(reinterpret_cast<std::byte*>(&heads_[bins_in_use()]) -
                                    reinterpret_cast<std::byte*>(this));
  }
  /// The largest extent claim gives one region: max_region, or less under limit_blocks.
  [[nodiscard]] std::size_t largest_region() const {
    return detail::max_region_bytes(largest_granules());
  }

  // ---------------------------------------------------------------------------------------------
  // Allocation

  /// Allocates `size` bytes aligned to `align` (a power of two). O(1), IRQ-safe unless the OOM
  /// policy is not. size 0 returns a unique minimum block (12 usable bytes). Returns null if
  /// `align` is not a power of two, if size > max_request, or if no memory can be found after
  /// the OOM policy gave up.
  /// `tag` names the call site; it is stored only with HeapOptions::tags.
  [[nodiscard]] void* allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                               AllocationTag tag = AllocationTag::here()) {
    const Operation operation(*this);
    if constexpr (kDefaultPath != 0) {
      if (align == kDefaultAlignment) {
        return allocate_with<kDefaultPath>(size, align, CallOom::yes, tag);
      }
    }
    return allocate_with(size, align, CallOom::yes, tag);
  }

  /// As allocate, but never calls the OOM policy.
  [[nodiscard]] void* try_allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                                   AllocationTag tag = AllocationTag::here()) {
    const Operation operation(*this);
    if constexpr (kDefaultPath != 0) {
      if (align == kDefaultAlignment) {
        return allocate_with<kDefaultPath>(size, align, CallOom::no, tag);
      }
    }
    return allocate_with(size, align, CallOom::no, tag);
  }

  /// Allocates count × size zeroed bytes. Null if the product overflows (the OOM policy is not
  /// called then) or as allocate. O(1) plus the memset.
  [[nodiscard]] void* allocate_zeroed(std::size_t count, std::size_t size,
                                      std::size_t align = kDefaultAlignment,
                                      AllocationTag tag = AllocationTag::here()) {
    return detail::allocate_zeroed_with(
        count, size, [&](std::size_t total) { return allocate(total, align, tag); },
        [&] { count_failure(size > count ? size : count); });
  }

  /// Frees a block. null is ignored. O(1), IRQ-safe; with checking on and regions that leave gaps
  /// between them, O(regions) to find the pointer's region. With checking on, a pointer that is
  /// not a live block of this heap is reported through the fault hook and the heap is not changed.
  void free(void* pointer) {
    if (pointer == nullptr) {
      return;
    }
    const Operation operation(*this);
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
                                 std::size_t align = kDefaultAlignment,
                                 AllocationTag tag = AllocationTag::here()) {
    const Operation operation(*this);
    if (pointer == nullptr) {
      return allocate_with(size, align, CallOom::yes, tag);
    }
    std::byte* block = nullptr;
    if (!accept_live_pointer(pointer, block)) {
      return nullptr;
    }
    if (size == 0) {
      release(block);
      return nullptr;
    }
    if (!request_fits(size) || !detail::is_power_of_two(align)) {
      count_failure(size);
      return nullptr;
    }
    assume_fits(size);
    const Word wanted = granules_for_request(size);
    const std::size_t old_size = payload_size(block);
    if (resize_in_place(block, wanted, size, tag)) {
      return pointer;
    }
    if (align <= detail::kGranule) {
      if (std::byte* moved = grow_backward(block, wanted, size, old_size, tag)) {
        return detail::payload_of(moved);
      }
    }
    void* fresh = allocate_with(size, align, CallOom::yes, tag, Move::yes);
    if (fresh == nullptr) {
      return nullptr;
    }
    detail::tools::open_for_copy(pointer, old_size);
    __builtin_memcpy(fresh, pointer, old_size < size ? old_size : size);
    release(block);
    if constexpr (kOptions.statistics) {
      --counters_.total;  // a move is one allocation from the caller's point of view
    }
    return fresh;
  }

  /// Resizes a block without moving it: shrinks, or grows into a free right neighbour.
  /// Returns false (and changes nothing) if that cannot be done. O(1), IRQ-safe.
  [[nodiscard]] bool try_resize_in_place(void* pointer, std::size_t size,
                                         AllocationTag tag = AllocationTag::here()) {
    const Operation operation(*this);
    std::byte* block = nullptr;
    if (pointer == nullptr || !accept_live_pointer(pointer, block)) {
      return false;
    }
    if (size > max_request) {
      count_failure(size);
      return false;
    }
    return resize_in_place(block, granules_for_request(size), size, tag);
  }

  /// Usable bytes of a live block (at least the size asked for; exactly that size with
  /// Checking::full, where the bytes past it are checked). 0 for null or a bad pointer (which is
  /// also reported). O(1).
  [[nodiscard]] std::size_t usable_size(const void* pointer) const {
    const detail::tools::Scope scope;
    std::byte* block = nullptr;
    if (pointer == nullptr || !accept_live_pointer(const_cast<void*>(pointer), block)) {
      return 0;
    }
    return payload_size(block);
  }

  // ---------------------------------------------------------------------------------------------
  // Regions. Each is O(regions) (to check overlaps) and not meant for interrupt context, except
  // claim of a span that lies wholly below or above all regions: O(1).

  /// Adds a region. The span is trimmed inward to the block alignment, and to largest_region()
  /// (max_region, or less under limit_blocks).
  /// Returns the extent used, or why not: null_span (null or wrapping), too_small (less than
  /// min_region after trimming), overlaps (meets a region of this heap), out_of_reach (64-bit:
  /// outside the link window).
  RegionResult claim(Span span);

  /// Grows `region` (an extent returned by claim, extend or truncate) to `grown`, at either or
  /// both ends. The new memory becomes free and merges with its neighbour. Returns the new
  /// extent, or: not_a_region, not_contained (grown does not contain region), too_small (adds
  /// less than one 16-byte block at both ends), too_large (past largest_region()), overlaps,
  /// out_of_reach.
  RegionResult extend(Span region, Span grown);

  /// Shrinks `region` so that it still contains `keep`, giving back free memory at either end.
  /// The extent returned contains `keep` (rounding may keep a few bytes more). An empty `keep`
  /// releases the whole region, which must then hold no live block; the result is an empty span.
  /// Returns not_a_region, not_contained (keep is not inside region), cuts_live_block (the
  /// memory to release holds part of a live block), or too_small (what would remain is less
  /// than a region).
  RegionResult truncate(Span region, Span keep);

  /// The least extent of `region` that still holds every live block: what truncate can reach.
  /// not_a_region if `region` is not one of this heap's. O(1).
  RegionResult reserved(Span region) const {
    const detail::tools::Scope scope;
    std::byte* record = find_region(region);
    if (record == nullptr) {
      return RegionError::not_a_region;
    }
    std::byte* sentinel = region_sentinel(record);
    std::byte* first_block = record + detail::kRecordBytes;
    std::byte* low = record;
    std::byte* high = sentinel + detail::kSentinelBytes;
    const Word first_header = header_of(first_block);
    if (first_block != sentinel && (first_header & kNotFree) == 0) {
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
    const detail::tools::Scope scope;
    for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
      function(Span{record, region_extent_bytes(record)});
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection

  /// The counters, O(1) (the largest free block is the top block or one of the highest bin's,
  /// looking at no more than kLargestScan of them: exact when that bin is that short, a lower
  /// bound otherwise).
  /// With statistics off, only the fields that need no counter are filled in.
  [[nodiscard]] Statistics statistics() const;

  /// Calls visitor(const BlockInfo&) for every used and free block of every region, in address
  /// order within a region. O(blocks). Pads and region records are not reported. The visitor
  /// must not change the heap (under valgrind, its own errors go unreported while it runs).
  template <typename V>
  void walk(V&& visitor) const;

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

  /// Writes every live block with its size and allocation site, grouped by site with counts and
  /// bytes, to sink(const char* text, std::size_t length): a heap summary for shutdown. Sites
  /// are known only with HeapOptions::tags (otherwise all blocks group under "unknown"). Returns
  /// the number of live blocks. O(blocks · sites), sites capped at 32 (the rest group as "other").
  template <typename Sink>
  std::size_t leak_report(Sink&& sink) const;

  /// Requests and failed requests by size class (class i holds sizes in [2^(i-1), 2^i), class 0
  /// size 0). O(1). Kept only with HeapOptions::histogram; all zero otherwise.
  [[nodiscard]] SizeHistogram histogram() const {
    if constexpr (kOptions.histogram) {
      return histogram_;
    } else {
      return SizeHistogram{};
    }
  }

  /// The OOM policy object, for set-up and inspection.
  [[nodiscard]] Oom& oom_policy() { return oom_; }

  /// Frees (merges and bins) every block held on the quick lists (HeapOptions::quick_lists).
  /// O(quick_lists · sizes), a constant; allocate does it when a search fails. Returns whether
  /// any block was held.
  bool flush_quick_lists() {
    const Operation operation(*this);
    return flush_cached();
  }

 private:
  enum class CallOom : bool { no, yes };
  /// Where take_block looks first when the request's own bin has no fitting head.
  enum class Fit : bool { top_first, bins_first };
  /// reallocate's move: its size is checked (request_fits) already, and as a moved block grows
  /// and lives long, good fit places it (Fit::bins_first) and the top stays for the rest.
  enum class Move : bool { no, yes };
  /// Whether a bin operation counts free_blocks itself (make_free counts its net change once).
  enum class Count : bool { no, yes };
  static constexpr bool kWindowFloats = sizeof(std::uintptr_t) > 4;
  /// 8 GiB: half the reach of an 8-byte-granule link below 2^31 (docs/design.md section 4).
  static constexpr std::uintptr_t kHalfWindow =
      kWindowFloats ? std::uintptr_t{1} << (kWindowFloats ? 33U : 0U) : 0;
  static constexpr unsigned kLargestScan = 32;
  static constexpr unsigned kAbutCheckRegions = 32;
  static constexpr unsigned kNoBin = Bins::kBinCount;

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
    return static_cast<Word>((address_of(block) - window_base()) >> detail::kGranuleShift);
  }
  std::byte* from_link(Word link) const {
    return as_pointer(window_base() + (static_cast<std::uintptr_t>(link) << detail::kGranuleShift));
  }
  /// Links count granules from here (docs/design.md section 4). On 32-bit targets the window is
  /// the whole address space: the base is -4, so a block at address a has link (a + 4) / 8.
  std::uintptr_t window_base() const {
    if constexpr (kWindowFloats) {
      return base_;
    } else {
      return static_cast<std::uintptr_t>(-4);
    }
  }
  /// True if every block address in [first, end) has a non-zero 32-bit link from `base`.
  /// On 32-bit targets every address has one (docs/design.md section 4).
  static bool in_window(std::uintptr_t base, std::uintptr_t first, std::uintptr_t end) {
    if constexpr (kWindowFloats) {
      // The last header (the sentinel, at end - 4) may have link 2^31 - 1.
      constexpr std::uintptr_t kReach =
          (static_cast<std::uintptr_t>(detail::kMaxLink) << detail::kGranuleShift) +
          detail::kSentinelBytes;
      return first >= base + detail::kGranule && end - base <= kReach;
    } else {
      (void)base;
      (void)first;
      (void)end;
      return true;
    }
  }

  // --- operations, trailers and fills -----------------------------------------------------------
  static constexpr bool kFull = kOptions.checking >= Checking::full;
  static constexpr bool kGuarded = kOptions.hardened || kFull;
  static constexpr bool kDebug = kOptions.checking == Checking::debug;
  static constexpr bool kTags = kOptions.tags;
  /// Trailer layout, right after the slack: the requested size, the check word (Checking::full),
  /// then the tag (HeapOptions::tags) at the very end of the block. An overrun runs through the
  /// slack into the checked words first. Offsets are counted back from the end of the block.
  static constexpr std::size_t kTagBytes = trailer_bytes - (kFull ? 8 : 0);
  static constexpr std::size_t kTagOffset = kTagBytes;
  static constexpr std::size_t kCheckOffset = kTagBytes + 4;
  static constexpr std::size_t kSizeOffset = kTagBytes + 8;
  /// A header word made of freed fill: where a freed block's header was absorbed by a merge.
  static constexpr Word kFreedFillWord = 0x01010101U * static_cast<Word>(detail::Fill::freed);

  /// What every public call does around its work: tells valgrind that keel's own metadata
  /// accesses are fine, and (Checking::debug) validates the heap afterwards.
  class Operation {
   public:
    explicit Operation(const Heap& heap) : heap_(heap) {}
    ~Operation() {
      if constexpr (kDebug) {
        const ValidationResult result = heap_.validate();
        if (!result.ok()) {
          report_fault(Fault::corrupted_block, result.address);
        }
      }
    }
    Operation(const Operation&) = delete;
    Operation& operator=(const Operation&) = delete;

   private:
    const Heap& heap_;
    detail::tools::Scope scope_;
  };

  static constexpr Word granules_for_request(std::size_t size) {
    return detail::granules_for(size + trailer_bytes);
  }
  /// The largest block, and the bins that blocks up to it use: all but under limit_blocks.
  Word largest_granules() const {
    return request_limit_ != 0 ? granules_for_request(request_limit_) : Bins::kMaxGranules;
  }
  unsigned bins_in_use() const { return Bins::bin_of(largest_granules()) + 1; }
  static std::byte* block_end(std::byte* block) {
    return detail::next_block(block, detail::granules_of(header_of(block)));
  }
  /// Bytes the caller may use in a live block: the request itself with Checking::full.
  static std::size_t payload_size(std::byte* block) {
    if constexpr (kFull) {
      return detail::load_word(block_end(block) - kSizeOffset);
    } else {
      return detail::usable_bytes(detail::granules_of(header_of(block))) - trailer_bytes;
    }
  }
  static AllocationTag tag_of(std::byte* block) {
    if constexpr (kTags) {
      std::byte* at = block_end(block) - kTagOffset;
      std::uintptr_t file = detail::load_word(at);
      if constexpr (sizeof(std::uintptr_t) > 4) {
        file |= (static_cast<std::uintptr_t>(detail::load_word(at + 4)) << 16U) << 16U;
      }
      return AllocationTag{reinterpret_cast<const char*>(file),
                           detail::load_word(at + sizeof(std::uintptr_t))};
    } else {
      (void)block;
      return AllocationTag{};
    }
  }
  /// The check word of a live block: its address, its header (less PREV_USED, which the left
  /// neighbour changes) and the requested size, mixed with the heap's secret.
  Word check_word(const std::byte* block, std::size_t size) const {
    Word mixed = static_cast<Word>(address_of(block) >> detail::kGranuleShift) * 0x9E3779B1U;
    mixed ^= (header_of(block) & ~detail::kPrevUsedBit) * 0x85EBCA77U;
    mixed ^= static_cast<Word>(size) * 0xC2B2AE3DU;
    mixed ^= mixed >> 15U;
    if constexpr (kGuarded) {
      mixed ^= guard_.secret;
    }
    return mixed;
  }

  /// Writes the trailer of a live block and fills its slack (Checking::full), stores its tag.
  void write_trailer(std::byte* block, std::size_t size, AllocationTag tag) {
    std::byte* end = block_end(block);
    if constexpr (kTags) {
      std::byte* at = end - kTagOffset;
      const auto file = reinterpret_cast<std::uintptr_t>(tag.file);
      detail::store_word(at, static_cast<Word>(file));
      if constexpr (sizeof(std::uintptr_t) > 4) {
        detail::store_word(at + 4, static_cast<Word>((file >> 16U) >> 16U));
      }
      detail::store_word(at + sizeof(std::uintptr_t), tag.line);
    } else {
      (void)tag;
    }
    if constexpr (kFull) {
      std::byte* slack = detail::payload_of(block) + size;
      detail::fill_slack(slack, static_cast<std::size_t>(end - trailer_bytes - slack), size);
      detail::store_word(end - kSizeOffset, static_cast<Word>(size));
      detail::store_word(end - kCheckOffset, check_word(block, size));
    }
  }

  /// Checking::full: the trailer and slack of a live block are intact. Reports and returns false
  /// otherwise.
  bool trailer_intact(std::byte* block) const {
    std::byte* end = block_end(block);
    const std::size_t room =
        detail::usable_bytes(detail::granules_of(header_of(block))) - trailer_bytes;
    const std::size_t size = detail::load_word(end - kSizeOffset);
    void* payload = detail::payload_of(block);
    // The check word covers the size: only a size it vouches for may steer the slack scan (which
    // also re-poisons the slack for ASan). An overrun reaches the trailer through the slack, so a
    // damaged trailer is reported as an overrun.
    if (size > room || detail::load_word(end - kCheckOffset) != check_word(block, size)) {
      report_fault(Fault::buffer_overrun, payload, tag_of(block));
      return false;
    }
    if (detail::first_mismatch(detail::payload_of(block) + size, room - size, detail::Fill::slack,
                               detail::Checked::live_slack, size == 0 ? 1 : 0) != nullptr) {
      report_fault(Fault::buffer_overrun, payload, tag_of(block));
      return false;
    }
    return true;
  }

  /// Checking::full: fills the inside of a free block (all but header, links and footer).
  static void fill_free_interior(std::byte* block, Word granules) {
    if constexpr (kFull) {
      constexpr std::size_t kFront = detail::kPrevLinkOffset + 4;
      const std::size_t bytes = detail::bytes_of(granules);
      if (bytes > kFront + detail::kHeaderBytes) {
        detail::fill_bytes(block + kFront, bytes - kFront - detail::kHeaderBytes,
                           detail::Fill::freed);
      }
    } else {
      (void)block;
      (void)granules;
    }
  }

  /// Checking::full: the part of a former free block [free_block, free_end) that the live block
  /// [block, block_end) now covers must still hold the freed fill. Reports a write after free
  /// otherwise.
  static void check_reused(std::byte* block, const std::byte* block_end,
                           const std::byte* free_block, const std::byte* free_end) {
    if constexpr (kFull) {
      const std::byte* low = detail::payload_of(block);
      const std::byte* high = block_end;
      const std::byte* interior_low = free_block + detail::kPrevLinkOffset + 4;
      const std::byte* interior_high = free_end - detail::kHeaderBytes;
      low = low > interior_low ? low : interior_low;
      high = high < interior_high ? high : interior_high;
      if (low < high) {
        if (const std::byte* damaged = detail::first_mismatch(
                low, static_cast<std::size_t>(high - low), detail::Fill::freed)) {
          report_fault(Fault::write_after_free, damaged);
        }
      }
    } else {
      (void)block;
      (void)block_end;
      (void)free_block;
      (void)free_end;
    }
  }

  /// Hands a live block to the caller: trailer, tools, statistics.
  void* hand_out(std::byte* block, std::size_t size, AllocationTag tag) {
    void* payload = detail::payload_of(block);
    // The tools first: announcing a block marks all of it undefined, trailer included.
    detail::tools::on_allocate(payload, size,
                               detail::usable_bytes(detail::granules_of(header_of(block))));
    write_trailer(block, size, tag);
    return payload;
  }

  /// Gives every region back to the host tools as plain memory (a heap going away).
  void forget_regions() {
    walk([](const BlockInfo& info) {
      if (info.used) {
        detail::tools::on_free(info.address, 0);
      }
    });
    const detail::tools::Scope scope;
    for (std::byte* record = first_region_; record != nullptr;) {
      std::byte* next = region_next(record);  // read before the record is given back
      detail::tools::give_back(record, region_extent_bytes(record));
      record = next;
    }
  }

  // --- free-list links (mangled with the secret in hardened heaps) -------------------------------
  Word link_next(const std::byte* block) const { return detail::next_link(block) ^ mask(); }
  Word link_prev(const std::byte* block) const { return detail::prev_link(block) ^ (mask() >> 1); }
  void set_link_next(std::byte* block, Word link) { detail::set_next_link(block, link ^ mask()); }
  void set_link_prev(std::byte* block, Word link) {
    detail::set_prev_link(block, link ^ (mask() >> 1));  // stored doubled: below 2^31
  }
  Word mask() const {
    if constexpr (kOptions.hardened) {
      return guard_.secret;
    } else {
      return 0;
    }
  }
  /// Hardened heaps: whether a link leads to a free block's address inside the heap.
  bool link_plausible(Word link) const {
    if (link == 0) {
      return true;
    }
    const std::uintptr_t address = address_of(from_link(link));
    return address >= low_ && address < high_ && (header_of(from_link(link)) & kNotFree) == 0;
  }

  // --- bins -------------------------------------------------------------------------------------
  /// Bins a free block. Count::no: the caller counts free_blocks itself (make_free). A
  /// parameter, not a template's: at -Os one out-of-line copy serves both.
  void insert_free(std::byte* block, Word granules, Count count = Count::yes) {
    const unsigned bin = Bins::bin_of(granules);
    const Word self = to_link(block);
    const Word head = heads_[bin];
    set_link_next(block, head);
    set_link_prev(block, 0);
    heads_[bin] = self;
    if (head != 0) {
      set_link_prev(from_link(head), self);
    } else {  // the bin's bits are set exactly when it has a head
      second_bitmap_[bin / Bins::kSecondLevels] |=
          static_cast<typename Bins::Row>(1U << (bin % Bins::kSecondLevels));
      first_bitmap_ |= 1U << (bin / Bins::kSecondLevels);
    }
    if (count == Count::yes) {
      count_free_blocks(1);
    }
  }

  /// Unlinks a free block. Hardened heaps first check that both neighbours link back to it (and
  /// that it heads its bin if it has no predecessor); on a broken link they report, mark the
  /// heap broken and leave the lists as they are. `count` as for insert_free.
  void remove_free(std::byte* block, Word granules, Count count = Count::yes) {
    remove_free_from(block, Bins::bin_of(granules), count);
  }

  /// remove_free for a caller that knows the block's bin already.
  [[gnu::always_inline]] void remove_free_from(std::byte* block, unsigned bin,
                                               Count count = Count::yes) {
    const Word next = link_next(block);
    const Word prev = link_prev(block);
    if constexpr (kOptions.hardened) {
      const Word self = to_link(block);
      const bool intact = link_plausible(next) && link_plausible(prev) &&
                          (next == 0 || link_prev(from_link(next)) == self) &&
                          (prev == 0 ? heads_[bin] == self : link_next(from_link(prev)) == self);
      if (!intact) {
        guard_.broken = true;
        report_fault(Fault::corrupted_block, block);
        return;
      }
    }
    if (prev != 0) {
      set_link_next(from_link(prev), next);
    } else {
      heads_[bin] = next;
    }
    if (next != 0) {
      set_link_prev(from_link(next), prev);
    } else if (prev == 0) {  // it was the bin's only block: the bin's bits go
      const unsigned first = bin / Bins::kSecondLevels;
      second_bitmap_[first] &=
          static_cast<typename Bins::Row>(~(1U << (bin % Bins::kSecondLevels)));
      if (second_bitmap_[first] == 0) {
        first_bitmap_ &= ~(1U << first);
      }
    }
    if (count == Count::yes) {
      count_free_blocks(-1);
    }
  }

  /// Whether the top block can hold `granules` at `align`. Hardened heaps first check that its
  /// header is a free block's and its footer repeats the size, as a bin's links are checked.
  bool top_fits(Word granules, std::size_t align) {
    if (top_ == nullptr) {
      return false;
    }
    if constexpr (kOptions.hardened) {
      const Word header = header_of(top_);
      const Word size = detail::granules_of(header);
      if ((header & kNotFree) != 0 || size > (high_ - address_of(top_)) >> detail::kGranuleShift ||
          detail::footer_before(detail::next_block(top_, size)) != size) {
        guard_.broken = true;
        report_fault(Fault::corrupted_block, top_);
        return false;
      }
    }
    return detail::fits(top_, granules, align);
  }

  /// Takes a free block out of its bin, or out of the top. Returns whether it was the top.
  bool detach(std::byte* block, Word granules) {
    if (block == top_) {
      top_ = nullptr;
      return true;
    }
    remove_free(block, granules);
    return false;
  }

  /// Bins a free block, or makes it the top.
  void attach(std::byte* block, Word granules, bool top) {
    if (top) {
      top_ = block;
    } else {
      insert_free(block, granules);
    }
  }

  /// The first non-empty bin at or above `bin`, or kNoBin. Two count-trailing-zeros.
  unsigned first_bin_from(unsigned bin) const {
    unsigned first = bin / Bins::kSecondLevels;
    std::uint32_t second =
        second_bitmap_[first] & (~0U << (bin % Bins::kSecondLevels)) & Bins::kRowMask;
    if (second == 0) {
      const std::uint32_t above = first_bitmap_ & (~0U << (first + 1));
      if (above == 0) {
        return kNoBin;
      }
      first = detail::lowest_bit(above);
      second = second_bitmap_[first];
    }
    return first * Bins::kSecondLevels + detail::lowest_bit(second);
  }

  /// Finds a free block that can hold `granules` at `align` and removes it from its bin, or
  /// returns the top block, which place() splits where it lies (null if none). In order
  /// (design.md 3): the head of the request's own bin; the top block (with Fit::bins_first,
  /// only after the bins); good fit from the bins. O(1) plus at most search_limit list steps.
  [[gnu::always_inline]] std::byte* take_block(Word granules, std::size_t align, Fit fit) {
    unsigned bin = Bins::bin_of(granules);
    if (align > detail::kGranule) {
      fit = Fit::bins_first;  // an aligned block's front gap fits a binned block as well
    }
    if (heads_[bin] == 0 || !detail::fits(from_link(heads_[bin]), granules, align)) {
      if (fit == Fit::top_first && top_fits(granules, align)) {
        return top_;
      }
      // Good fit from the next bin up, or (aligned) from the bin where any front gap fits.
      if (align > detail::kGranule) {
        const auto extra = static_cast<Word>(align >> detail::kGranuleShift) - 1;
        const Word start = Bins::search_size(granules + extra);
        bin = start <= Bins::kMaxGranules ? Bins::bin_of(start) - 1 : kNoBin;
      }
      bin = bin + 1 < Bins::kBinCount ? first_bin_from(bin + 1) : kNoBin;
      if (bin == kNoBin) [[unlikely]] {
        if (fit == Fit::bins_first && top_fits(granules, align)) {
          return top_;
        }
        if constexpr (kQuickClasses != 0) {
          return take_after_flush(granules, align, fit);
        }
        return kOptions.search_limit > 0 ? search_bounded(granules, align) : nullptr;
      }
    }
    std::byte* block = from_link(heads_[bin]);
    remove_free_from(block, bin);
    return block;
  }

  /// The bounded best-effort search (docs/design.md section 3): at most search_limit blocks from
  /// bin_of(granules) upward. Out of line: it runs only when good fit found nothing.
  [[gnu::noinline, gnu::cold]] std::byte* search_bounded(Word granules, std::size_t align) {
    unsigned budget = kOptions.search_limit;
    for (unsigned bin = first_bin_from(Bins::bin_of(granules)); bin != kNoBin && budget != 0;
         bin = bin + 1 < Bins::kBinCount ? first_bin_from(bin + 1) : kNoBin) {
      for (Word link = heads_[bin]; link != 0 && budget != 0; --budget) {
        std::byte* block = from_link(link);
        if (detail::fits(block, granules, align)) {
          remove_free_from(block, bin);
          return block;
        }
        link = link_next(block);
      }
    }
    return nullptr;
  }

  /// Turns the free block `block` (already out of its bin) into a used block of `granules` at
  /// `align`, returning the gap in front and the tail to the bins. Returns the payload.
  void* place(std::byte* block, Word granules, std::size_t align, std::size_t size,
              AllocationTag tag) {
    const Word original_size = detail::granules_of(header_of(block));
    std::byte* const original = block;
    const bool from_top = block == top_;
    Word size_granules = original_size;
    Word prev_used = header_of(block) & detail::kPrevUsedBit;
    Word padded = 0;
    Word consumed_pad = 0;
    if (align > detail::kGranule) {
      const std::size_t gap = detail::front_gap(block, align);
      if (detail::kPads && gap == detail::kGranule) {
        detail::set_header(block,
                           detail::make_header(detail::kPadGranules, detail::kUsedBit | prev_used));
        block += detail::kGranule;
        size_granules -= detail::kPadGranules;
        padded = detail::kPaddedBit;
        prev_used = detail::kPrevUsedBit;
        consumed_pad = detail::kPadGranules;
      } else if (gap != 0) {
        const auto gap_granules = static_cast<Word>(gap >> detail::kGranuleShift);
        detail::set_header(block, detail::make_header(gap_granules, prev_used));
        detail::set_footer(block, gap_granules);
        insert_free(block, gap_granules);
        block += gap;
        size_granules -= gap_granules;
        prev_used = 0;
      }
    }
    if (size_granules - granules >= detail::kMinBlockGranules) {
      std::byte* rest = detail::next_block(block, granules);
      const Word rest_granules = size_granules - granules;
      detail::set_header(rest, detail::make_header(rest_granules, detail::kPrevUsedBit));
      detail::set_footer(rest, rest_granules);
      attach(rest, rest_granules, from_top);  // the rest of the top stays the top
      size_granules = granules;
    } else {
      if (from_top) {
        top_ = nullptr;
      }
      std::byte* next = detail::next_block(block, size_granules);
      detail::set_header(next, header_of(next) | detail::kPrevUsedBit);
    }
    detail::set_header(block,
                       detail::make_header(size_granules, detail::kUsedBit | prev_used | padded));
    check_reused(block, block_end(block), original, detail::next_block(original, original_size));
    count_allocation(size_granules + consumed_pad);
    return hand_out(block, size, tag);
  }
  void count_allocation(Word granules) {
    if constexpr (kOptions.statistics) {
      counters_.in_use += detail::bytes_of(granules);
      ++counters_.live;
      ++counters_.total;
      counters_.note_peak();
    }
  }

  /// Whether a request of `size` bytes can be served: one compare once request_limit_ is set;
  /// before (0) an empty heap still passes a request up to max_request to its OOM policy.
  bool request_fits(std::size_t size) const {
    return size <= request_limit_ || (request_limit_ == 0 && size <= max_request);
  }
  /// After request_fits: tells the compiler the bound (request_limit_ <= max_request), so that
  /// it keeps the granule arithmetic as narrow as with a constant.
  static void assume_fits(std::size_t size) {
    if (size > max_request) {
      __builtin_unreachable();
    }
  }

  /// Optimised for speed, requests at the default alignment take their own copy of
  /// allocate_with, in which the alignment is a constant: where the compiler keeps allocate_with
  /// out of line (several callers, as in a firmware's malloc), its alignment tests then fold away
  /// (Cortex-M4: 18 instructions fewer per call, design.md 13). Optimised for size, one copy.
#if defined(__OPTIMIZE_SIZE__)
  static constexpr std::size_t kDefaultPath = 0;
#else
  static constexpr std::size_t kDefaultPath = kDefaultAlignment;
#endif

  /// The allocation behind every public call. `kAlign`, if not 0, is `align`, known.
  template <std::size_t kAlign = 0>
  void* allocate_with(std::size_t size, std::size_t align, CallOom call_oom, AllocationTag tag,
                      Move move = Move::no) {
    if constexpr (kAlign != 0) {
      align = kAlign;
    }
    if constexpr (kOptions.histogram) {
      ++histogram_.requests[detail::size_class(size)];
    }
    if ((move == Move::no && !request_fits(size)) || !detail::is_power_of_two(align) ||
        align > max_request) {
      count_failure(size);
      return nullptr;
    }
    assume_fits(size);
    if constexpr (kOptions.hardened) {
      if (guard_.broken) {
        count_failure(size);
        return nullptr;
      }
    }
    const Word granules = granules_for_request(size);
    if constexpr (kQuickClasses != 0) {
      if (granules < detail::kMinBlockGranules + kQuickClasses && align <= detail::kGranule) {
        if (void* payload = take_cached(granules, size, tag)) {
          return payload;
        }
      }
    }
    for (unsigned attempt = 0;; ++attempt) {
      if (std::byte* block =
              take_block(granules, align, move == Move::yes ? Fit::bins_first : Fit::top_first)) {
        if constexpr (kOptions.hardened) {
          if (guard_.broken) {
            break;
          }
        }
        return place(block, granules, align, size, tag);
      }
      if (call_oom == CallOom::no || attempt == kMaxOomRetries) {
        break;
      }
      static_assert(OomPolicyFor<Oom, Heap>, "Oom must have OomAction on_oom(Heap&, size, align)");
      // A retry only after the policy freed or added memory: otherwise the search would fail
      // the same way again (docs/design.md section 6).
      const std::size_t mark = progress_mark();
      if (oom_.on_oom(*this, size, align) != OomAction::retry || progress_mark() == mark) {
        break;
      }
    }
    count_failure(size);
    return nullptr;
  }

  /// Changes whenever memory becomes free or is added, for the OOM loop's test of progress: with
  /// statistics the bytes claimed less those in use (no work of its own), else releases_.
  std::size_t progress_mark() const {
    if constexpr (kOptions.statistics) {
      return counters_.claimed - counters_.in_use;
    } else {
      return releases_;
    }
  }
  void note_release() {
    if constexpr (!kOptions.statistics) {
      ++releases_;
    }
  }

  void count_free_blocks(int delta) {
    if constexpr (kOptions.statistics) {
      counters_.free_blocks += static_cast<std::uint32_t>(delta);
    }
  }

  void count_failure(std::size_t size) {
    if constexpr (kOptions.statistics) {
      ++counters_.failed;
    }
    if constexpr (kOptions.histogram) {
      ++histogram_.failures[detail::size_class(size)];
    } else {
      (void)size;
    }
  }

  /// Makes [start, start + 8·granules) free, merging it with free neighbours, and bins it.
  /// `prev_used` is the PREV_USED bit that belongs at `start`. With Checking::full the caller has
  /// filled the block's inside; the metadata words a merge absorbs are filled here.
  void make_free(std::byte* start, Word granules, Word prev_used) {
    note_release();
    std::byte* next = detail::next_block(start, granules);
    const Word next_header = header_of(next);
    bool to_top = false;
    if ((next_header & kNotFree) == 0) {
      const Word next_granules = detail::granules_of(next_header);
      to_top = detach(next, next_granules);
      fill_absorbed_header(next);  // a second free of next's block must still look like one
      granules += next_granules;
    } else {
      detail::set_header(next, next_header & ~detail::kPrevUsedBit);
      to_top = top_ == nullptr && detail::granules_of(next_header) == 0;  // next: a sentinel
      if (!kOptions.hardened && prev_used == 0 && !to_top && grow_left_in_place(start, granules)) {
        return;
      }
    }
    if (prev_used == 0) {
      const Word prev_granules = detail::footer_before(start);
      std::byte* prev = detail::previous_block(start, prev_granules);
      remove_free(prev, prev_granules, Count::no);  // never the top: grow_end bins it first
      fill_absorbed_header(start);
      start = prev;
      granules += prev_granules;
    }
    detail::set_header(start, detail::make_header(granules, detail::kPrevUsedBit));
    detail::set_footer(start, granules);
    // free_blocks counted once for the net change: a left merge's unlink and the insert cancel
    // (on a Cortex-M each count is a load, an add and a store)
    if (to_top) {
      top_ = start;
      if (prev_used == 0) {
        count_free_blocks(-1);
      }
    } else {
      insert_free(start, granules, Count::no);
      if (prev_used != 0) {
        count_free_blocks(1);
      }
    }
  }

  /// make_free's left merge when the free left neighbour heads the bin that the merged block
  /// maps to: unlinking it and inserting the merged block would leave the list as it is, so
  /// only its size changes. Returns false (and changes nothing) otherwise. Tried only when the
  /// right neighbour stays used, so that the dearest free (both merged) pays nothing for it.
  bool grow_left_in_place(std::byte* start, Word granules) {
    const Word prev_granules = detail::footer_before(start);
    std::byte* prev = detail::previous_block(start, prev_granules);
    const Word merged = prev_granules + granules;
    if (heads_[Bins::bin_of(merged)] != to_link(prev)) {
      return false;
    }
    fill_absorbed_header(start);
    detail::set_header(prev, detail::make_header(merged, detail::kPrevUsedBit));
    detail::set_footer(prev, merged);
    return true;
  }

  /// A block merged into its left neighbour: the word before it (the left block's last) and its
  /// header and links become the freed fill (Checking::full), or its header the freed marker, so
  /// that a second free still looks like one.
  static void fill_absorbed_header(std::byte* start) {
    if constexpr (kFull) {
      detail::fill_bytes(start - detail::kHeaderBytes,
                         detail::kHeaderBytes + detail::kPrevLinkOffset + 4, detail::Fill::freed);
    }
    mark_freed(start);
  }

  /// Frees a live block (already checked).
  void release(std::byte* block) {
    const Word header = header_of(block);
    Word granules = detail::granules_of(header);
    std::byte* start = block;
    Word prev_used = header & detail::kPrevUsedBit;
    detail::tools::on_free(detail::payload_of(block), detail::usable_bytes(granules));
    if constexpr (kFull) {
      detail::fill_bytes(detail::payload_of(block), detail::usable_bytes(granules),
                         detail::Fill::freed);
    }
    if (detail::kPads && (header & detail::kPaddedBit) != 0) {
      start = block - detail::kGranule;
      prev_used = header_of(start) & detail::kPrevUsedBit;
      granules += detail::kPadGranules;
      mark_freed(block);  // inside the free block: make_free rewrites only the header at start
    }
    if constexpr (kOptions.statistics) {
      counters_.in_use -= detail::bytes_of(granules);
      --counters_.live;
    }
    if constexpr (kQuickClasses != 0) {
      if (start == block && defer_free(block, header)) {
        return;
      }
    }
    make_free(start, granules, prev_used);
  }

  /// Shrinks in place, or grows into a free right neighbour. O(1).
  bool resize_in_place(std::byte* block, Word wanted, std::size_t size, AllocationTag tag) {
    const Word header = header_of(block);
    const Word old_granules = detail::granules_of(header);
    const Word flags = header & detail::kFlagBits;
    const std::size_t old_usable = detail::usable_bytes(old_granules);
    if (wanted <= old_granules) {
      if (old_granules - wanted >= detail::kMinBlockGranules) {
        detail::set_header(block, detail::make_header(wanted, flags));
        std::byte* tail = detail::next_block(block, wanted);
        if constexpr (kFull) {
          detail::fill_bytes(tail, detail::bytes_of(old_granules - wanted), detail::Fill::freed);
        }
        if constexpr (kOptions.statistics) {
          counters_.in_use -= detail::bytes_of(old_granules - wanted);
        }
        make_free(tail, old_granules - wanted, detail::kPrevUsedBit);
      }
      finish_resize(block, old_usable, size, tag);
      return true;
    }
    std::byte* next = detail::next_block(block, old_granules);
    const Word next_header = header_of(next);
    if ((next_header & kNotFree) != 0) {
      return false;
    }
    const Word next_granules = detail::granules_of(next_header);
    if (old_granules + next_granules < wanted) {
      return false;
    }
    const bool was_top = detach(next, next_granules);
    const Word total = old_granules + next_granules;
    Word final_size = total;
    if (total - wanted >= detail::kMinBlockGranules) {
      std::byte* rest = detail::next_block(block, wanted);
      detail::set_header(rest, detail::make_header(total - wanted, detail::kPrevUsedBit));
      detail::set_footer(rest, total - wanted);
      attach(rest, total - wanted, was_top);
      final_size = wanted;
    } else {
      std::byte* after = detail::next_block(block, total);
      detail::set_header(after, header_of(after) | detail::kPrevUsedBit);
    }
    detail::set_header(block, detail::make_header(final_size, flags));
    check_reused(block, block_end(block), next, detail::next_block(next, next_granules));
    if constexpr (kOptions.statistics) {
      counters_.in_use += detail::bytes_of(final_size - old_granules);
      counters_.note_peak();
    }
    finish_resize(block, old_usable, size, tag);
    return true;
  }

  /// A block resized in place: new trailer, tools told.
  void finish_resize(std::byte* block, std::size_t old_usable, std::size_t size,
                     AllocationTag tag) {
    detail::tools::on_resize(detail::payload_of(block), old_usable, size,
                             detail::usable_bytes(detail::granules_of(header_of(block))));
    write_trailer(block, size, tag);
  }

  /// Grows a block into its free left neighbour (and its free right one), moving the contents
  /// down with memmove. Returns the new block, or null if the neighbours are not enough.
  std::byte* grow_backward(std::byte* block, Word wanted, std::size_t size, std::size_t old_size,
                           AllocationTag tag) {
    const Word header = header_of(block);
    if ((header & (detail::kPrevUsedBit | detail::kPaddedBit)) != 0) {
      return nullptr;
    }
    if constexpr (detail::tools::kValgrind) {
      return nullptr;  // memcheck cannot follow contents moved within overlapping blocks: copy
    }
    const Word old_granules = detail::granules_of(header);
    const Word prev_granules = detail::footer_before(block);
    std::byte* prev = detail::previous_block(block, prev_granules);
    std::byte* next = detail::next_block(block, old_granules);
    const Word next_header = header_of(next);
    const Word next_granules = (next_header & kNotFree) == 0 ? detail::granules_of(next_header) : 0;
    const Word total = prev_granules + old_granules + next_granules;
    if (total < wanted) {
      return nullptr;
    }
    remove_free(prev, prev_granules);  // never the top: it ends at a block, not a sentinel
    const bool was_top = next_granules != 0 && detach(next, next_granules);
    const std::size_t old_usable = detail::usable_bytes(old_granules);
    const std::size_t kept = old_size < size ? old_size : size;
    // Checking::full: what the grown block takes of both free neighbours must still hold the
    // freed fill, checked before the contents move over it (issue 11, finding 3).
    const Word final_size = total - wanted >= detail::kMinBlockGranules ? wanted : total;
    std::byte* const grown_end = detail::next_block(prev, final_size);
    check_reused(prev, grown_end, prev, block);
    if (next_granules != 0) {
      check_reused(prev, grown_end, next, detail::next_block(next, next_granules));
    }
    // The tools: the old block goes, the new one (at the left neighbour) comes; the bytes moved
    // are opened for the memmove first.
    detail::tools::on_free(detail::payload_of(block), old_usable);
    detail::tools::give_back(detail::payload_of(prev),
                             kept + static_cast<std::size_t>(block - prev));
    __builtin_memmove(detail::payload_of(prev), detail::payload_of(block), kept);
    if (total - wanted >= detail::kMinBlockGranules) {
      std::byte* rest = detail::next_block(prev, wanted);
      detail::set_header(rest, detail::make_header(total - wanted, detail::kPrevUsedBit));
      detail::set_footer(rest, total - wanted);
      fill_free_interior(rest, total - wanted);
      attach(rest, total - wanted, was_top);
      if (next_granules == 0) {
        detail::set_header(next, next_header & ~detail::kPrevUsedBit);
      }
    } else {
      std::byte* after = detail::next_block(prev, total);
      detail::set_header(after, header_of(after) | detail::kPrevUsedBit);
    }
    detail::set_header(prev,
                       detail::make_header(final_size, detail::kUsedBit | detail::kPrevUsedBit));
    if constexpr (kOptions.statistics) {
      counters_.in_use += detail::bytes_of(final_size) - detail::bytes_of(old_granules);
      counters_.note_peak();
    }
    detail::tools::hide(detail::payload_of(prev), detail::usable_bytes(final_size));
    hand_out(prev, size, tag);
    return prev;
  }

  /// The checks on a pointer passed to free, reallocate, try_resize_in_place or usable_size
  /// (docs/design.md section 7), and with Checking::full the block's trailer. O(1) when the
  /// heap's regions leave no gap between them, else O(regions). On success sets `block`.
  [[gnu::always_inline]] bool accept_live_pointer(void* pointer, std::byte*& block) const {
    block = detail::block_of(pointer);
    if constexpr (kOptions.checking == Checking::none) {
      return true;
    } else {
      const std::uintptr_t address = address_of(pointer);
      std::uintptr_t limit = high_;  // the end of the region around the pointer
      // One compare while the regions leave no gap; else the bounds (no regions: the walk's 0).
      const std::uintptr_t offset = address - (low_ + kFirstPayload);
      if (offset >= live_span_) [[unlikely]] {
        if (offset >= bounds_span() || (limit = region_limit(address)) == 0) {
          report_fault(Fault::foreign_pointer, pointer);
          return false;
        }
      }
      if ((address & (detail::kGranule - 1)) != 0) {
        report_fault(Fault::misaligned_pointer, pointer);
        return false;
      }
      const Word header = detail::live_header(block, limit, detail::header_of);
      if (header == 0 || (kFull && header == kFreedFillWord)) {
        report_bad_pointer(pointer, limit);
        return false;
      }
      if constexpr (kFull) {
        return trailer_intact(block);
      }
      return true;
    }
  }

  /// Reports a pointer that failed accept_live_pointer's block checks: double_free if the bytes
  /// at it are the trace of a freed block, else invalid_pointer. Off the hot path.
  [[gnu::noinline, gnu::cold]] void report_bad_pointer(void* pointer, std::uintptr_t limit) const {
    const std::byte* block = detail::block_of(pointer);
    const std::byte* front = block - detail::kGranule;
    // A freed PADDED block's free block starts one granule lower, at the old pad: its old header
    // is that block's previous link, whose low bit is always clear (detail/block.hpp). Without
    // pads (16-byte granules) no free block starts there. A region's record (its size-0 header)
    // has nothing of the region in front of it.
    const bool freed = looks_free(block, header_of(block), limit) ||
                       (detail::kPads && header_of(block) != detail::kRecordHeader &&
                        looks_free(front, header_of(front), limit));
    report_fault(freed ? Fault::double_free : Fault::invalid_pointer, pointer);
  }

  /// Leaves a recognisable word where the header of a freed block was, for double-free
  /// detection. With Checking::full the freed fill already covers it (and must stay intact).
  static void mark_freed(std::byte* header_address) {
    if constexpr (!kFull) {
      detail::set_header(header_address, static_cast<Word>(detail::Pattern::freed_header));
    } else {
      (void)header_address;
    }
  }

  /// Whether a header is the trace of a block already freed: the freed marker, the freed fill
  /// (Checking::full), or a free block's header (used bit clear, and the size repeated in the
  /// block's last word). A live block's header is none of these, even when its last word happens
  /// to hold its size.
  bool looks_free(const std::byte* block, Word header, std::uintptr_t limit) const {
    if (header == static_cast<Word>(detail::Pattern::freed_header)) {
      return true;
    }
    if (kFull && header == kFreedFillWord) {
      return true;
    }
    const Word granules = detail::granules_of(header);
    if (granules < detail::kMinBlockGranules ||
        granules > ((limit - address_of(block)) >> detail::kGranuleShift)) {
      return false;
    }
    return (detail::is_cached(header) && granules < detail::kMinBlockGranules + kQuickClasses) ||
           ((header & kNotFree) == 0 && detail::load_word(block + detail::bytes_of(granules) -
                                                          detail::kHeaderBytes) == granules);
  }
  /// The usable bytes of the top block or the largest in the highest bin (kLargestScan looked at).
  std::size_t largest_free_block() const;

  // --- regions ----------------------------------------------------------------------------------
  static std::byte* region_link_target(const Heap& heap, Word link) {
    return link == 0 ? nullptr : heap.from_link(link);
  }
  std::byte* region_next(const std::byte* record) const {
    return region_link_target(*this, detail::load_word(record + detail::kRegionNextOffset));
  }
  std::byte* region_prev(const std::byte* record) const {
    return region_link_target(*this, detail::load_word(record + detail::kRegionPrevOffset) >> 1);
  }
  std::byte* region_sentinel(const std::byte* record) const {
    return from_link(detail::load_word(record + detail::kRegionSentinelOffset));
  }
  std::size_t region_extent_bytes(const std::byte* record) const {
    return static_cast<std::size_t>(region_sentinel(record) - record) + detail::kSentinelBytes;
  }
  Word link_or_zero(const std::byte* block) const {
    return block == nullptr ? 0 : to_link(block);
  }
  void set_region_links(std::byte* record, std::byte* next, std::byte* prev, std::byte* sentinel) {
    detail::store_word(record + detail::kRegionNextOffset, link_or_zero(next));
    detail::store_word(record + detail::kRegionPrevOffset, link_or_zero(prev) << 1);
    detail::store_word(record + detail::kRegionSentinelOffset, to_link(sentinel));
  }
  void set_region_prev(std::byte* record, std::byte* prev) {
    detail::store_word(record + detail::kRegionPrevOffset, link_or_zero(prev) << 1);  // doubled
  }
  void set_region_next(std::byte* record, std::byte* next) {
    detail::store_word(record + detail::kRegionNextOffset, link_or_zero(next));
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

  // The bounds of the regions, moving a region's ends and releasing a region:
  // detail/heap_regions.hpp.
  static constexpr std::uintptr_t kFirstPayload = detail::kRecordBytes + detail::kHeaderBytes;
  void update_bounds();
  void add_to_bounds(std::uintptr_t low, std::uintptr_t high);
  bool regions_abut() const;
  std::uintptr_t bounds_span() const;
  std::uintptr_t region_limit(std::uintptr_t address) const;
  void relink_region(std::byte* old_record, std::byte* new_record);
  void grow_end(std::byte* record, std::byte* sentinel, std::byte* new_sentinel);
  std::byte* grow_front(std::byte* record, std::byte* new_record);
  std::byte* shrink_front(std::byte* record, std::byte* new_record);
  void shrink_end(std::byte* record, std::byte* sentinel, std::byte* new_sentinel);
  RegionResult release_region(std::byte* record);

  // --- quick lists (detail/heap_quick.hpp, docs/design.md section 15) -------------------------
  static constexpr unsigned kQuickClasses = detail::quick_classes(kOptions);
  /// The bits of a header that say "not free": USED, and with quick lists PADDED as well (a
  /// cached block, detail::is_cached). One bit where no block can be cached: Thumb-1 tests bit 0
  /// alone in one instruction, a mask of two in two.
  static constexpr Word kNotFree =
      kQuickClasses != 0 ? detail::kUsedBit | detail::kPaddedBit : detail::kUsedBit;
  static_assert(kOptions.quick_lists == 0 ||
                    (kOptions.checking <= Checking::basic && !kOptions.hardened &&
                     kQuickClasses != 0 && kQuickClasses <= 256),
                "HeapOptions::quick_lists needs Checking::none or basic, no hardening, and "
                "quick_largest from 16 bytes to 256 granules");
  bool defer_free(std::byte* block, Word header);
  void* take_cached(Word granules, std::size_t size, AllocationTag tag);
  [[gnu::noinline, gnu::cold]] std::byte* take_after_flush(Word granules, std::size_t align,
                                                           Fit fit);
  bool flush_cached();
  template <typename InHeap>
  ValidationResult validate_cached(std::size_t cached_found, InHeap in_heap) const;
  std::size_t cached_blocks() const;

  // --- state ------------------------------------------------------------------------------------
  // Every member starts as zero, so that a constinit heap lives in .bss, with no copy in flash.
  /// 64-bit targets: the window base once fixed (window_base()).
  std::uintptr_t base_ = 0;
  bool window_fixed_ = false;
  std::uint32_t first_bitmap_ = 0;
  typename Bins::Row second_bitmap_[Bins::kFirstLevels] = {};
  /// Without statistics: counts (wrapping) the times memory became free (free, shrink, claim,
  /// extend), so that the OOM loop retries only after its policy made a change (progress_mark).
  /// Only compared across one policy call; 16 bits fill the gap after the rows.
  std::uint16_t releases_ = 0;
  /// The top block: a free block at a region's end kept in no bin (docs/design.md 3.1).
  std::byte* top_ = nullptr;
  std::byte* first_region_ = nullptr;
  std::uintptr_t low_ = 0;  // [low_, high_) is empty until the first claim
  std::uintptr_t high_ = 0;
  /// bounds_span() when the regions leave no gap that could hold a block
  /// between them, else 0: free's range check is then one compare (update_bounds).
  std::uintptr_t live_span_ = 0;
  /// The largest request served: 0 until the first claim or limit_blocks, then max_request or
  /// the limit (docs/design.md 13).
  std::size_t request_limit_ = 0;
  [[no_unique_address]] std::conditional_t<kOptions.statistics, detail::Counters,
                                           detail::NoCounters>
      counters_{};
  [[no_unique_address]] Oom oom_{};
  /// Hardened heaps and Checking::full only (other heaps keep neither): the secret links are
  /// mangled with (hardened) and check words mixed with (full), and whether a broken link was
  /// found, after which all further allocation fails (hardened).
  struct Guard {
    Word secret = 0;
    bool broken = false;
  };
  struct NoGuard {};
  [[no_unique_address]] std::conditional_t<kGuarded, Guard, NoGuard> guard_{};
  [[no_unique_address]] std::conditional_t<kOptions.histogram, SizeHistogram, detail::NoCounters>
      histogram_{};
  [[no_unique_address]] std::conditional_t<
      kQuickClasses != 0, detail::QuickLists<kQuickClasses != 0 ? kQuickClasses : 1>,
      detail::NoQuickLists>
      quick_{};
  /// Last, so that the heads past a limit (limit_blocks) can be left to a region.
  Word heads_[Bins::kBinCount] = {};
#if defined(KEEL_TOOLS_ASAN) || defined(KEEL_TOOLS_VALGRIND)  // #if: clang 14 fails requires()
 public:  // Tool builds: hands the regions back to the tools; else trivial, for constinit heaps.
  ~Heap() {
    forget_regions();
  }
#endif
};

}  // namespace keel

#include "keel/detail/heap_inspect.hpp"
#include "keel/detail/heap_quick.hpp"
#include "keel/detail/heap_regions.hpp"
