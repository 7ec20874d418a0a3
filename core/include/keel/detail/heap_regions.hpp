// keel/detail/heap_regions.hpp: how keel::Heap claims a region and moves a region's ends: the
// record relinked, the memory added at either end merged into the free block beside it, the
// memory taken off either end cut from the free block there, and a whole region released.
//
// Kept apart from heap.hpp because none of it is on the allocation path: claim(), extend() and
// truncate(), declared there with what they do, are defined here; they check what they are asked
// and then call the helpers below. Each keeps the top block (docs/design.md section 3.1) at a
// region's end: a block that was the top stays the top.
#pragma once

#include "keel/heap.hpp"

namespace keel {

/// claim() (heap.hpp says what it does): checks and lays out the span, then makes its one free
/// block the top.
template <typename Oom, HeapOptions kOptions>
RegionResult Heap<Oom, kOptions>::claim(Span span) {
  const Operation operation(*this);
  std::uintptr_t first = 0;
  std::uintptr_t sentinel = 0;
  std::uintptr_t span_end = 0;
  if (span.data == nullptr || __builtin_add_overflow(address_of(span.data), span.size, &span_end)) {
    return RegionError::null_span;
  }
  if (!detail::layout_bounds(span, first, sentinel) ||
      sentinel - first < detail::kRecordBytes + detail::bytes_of(detail::kMinBlockGranules)) {
    return RegionError::too_small;
  }
  // At most one largest block per region (compared by difference: the sum could wrap).
  if (sentinel - first - detail::kRecordBytes > detail::bytes_of(largest_granules())) {
    sentinel = first + detail::kRecordBytes + detail::bytes_of(largest_granules());
  }
  std::uintptr_t base = window_base();
  if constexpr (kWindowFloats) {
    if (!window_fixed_) {
      // Start the window kHalfWindow below the first region, so that it can grow, and later
      // regions can lie, below it as well as above (docs/design.md section 4).
      base = first >= kHalfWindow ? first - kHalfWindow : static_cast<std::uintptr_t>(-4);
    }
  }
  if (!in_window(base, first, sentinel + detail::kSentinelBytes)) {
    return RegionError::out_of_reach;
  }
  // A span beside all regions cannot overlap one: O(1), as an OOM policy's claim should be.
  const std::uintptr_t extent_end = sentinel + detail::kSentinelBytes;
  const bool beside = first_region_ == nullptr || first >= high_ || extent_end <= low_;
  if (!beside && overlaps_region(first, extent_end, nullptr)) {
    return RegionError::overlaps;
  }
  base_ = base;
  if constexpr (kWindowFloats) {
    window_fixed_ = true;
  }
  if (request_limit_ == 0) {
    request_limit_ = max_request;
  }

  std::byte* record = as_pointer(first);
  std::byte* end = as_pointer(sentinel);
  detail::tools::hide(record, sentinel + detail::kSentinelBytes - first);
  if constexpr (kGuarded) {
    // One heap's check words must not vouch for another's blocks (issue 11, finding 1).
    if (guard_.secret == 0) {
      guard_.secret = static_cast<Word>((address_of(this) ^ first) * 0x9E3779B1U) | 1U;
    }
  }
  detail::set_header(record, detail::kRecordHeader);
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
  fill_free_interior(block, granules);
  if (top_ != nullptr) {  // the new region's block becomes the top, the old top is binned
    insert_free(top_, detail::granules_of(header_of(top_)));
  }
  top_ = block;
  note_release();
  if (beside) {
    add_to_bounds(first, extent_end);
  } else {
    update_bounds();
  }
  if constexpr (kOptions.statistics) {
    counters_.close_epoch();
    counters_.claimed += sentinel + detail::kSentinelBytes - first;
    counters_.overhead += detail::kRegionOverhead;
    ++counters_.regions;
  }
  return Span{record, sentinel + detail::kSentinelBytes - first};
}

/// extend() (heap.hpp says what it does): checks the new extent, then grows either end.
template <typename Oom, HeapOptions kOptions>
RegionResult Heap<Oom, kOptions>::extend(Span region, Span grown) {
  const Operation operation(*this);
  std::byte* record = find_region(region);
  if (record == nullptr) {
    return RegionError::not_a_region;
  }
  flush_cached();  // cached blocks merge first, so that the region's ends are free
  if (grown.data == nullptr || grown.data > region.data || region_end(grown) < region_end(region) ||
      region_end(grown) < address_of(grown.data)) {
    return RegionError::not_contained;
  }
  std::byte* sentinel = region_sentinel(record);
  std::uintptr_t new_first = address_of(record);
  std::uintptr_t new_sentinel = address_of(sentinel);
  std::uintptr_t lowest = 0;
  std::uintptr_t highest = 0;
  if (!detail::layout_bounds(grown, lowest, highest)) {
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
  if (new_sentinel + detail::kSentinelBytes - new_first > largest_region()) {
    return RegionError::too_large;
  }
  if (!in_window(window_base(), new_first, new_sentinel + detail::kSentinelBytes)) {
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
    counters_.close_epoch();
    counters_.claimed += new_extent - old_extent;
  }
  return Span{record, new_extent};
}

/// truncate() (heap.hpp says what it does): checks what may go, then shrinks either end.
template <typename Oom, HeapOptions kOptions>
RegionResult Heap<Oom, kOptions>::truncate(Span region, Span keep) {
  const Operation operation(*this);
  std::byte* record = find_region(region);
  if (record == nullptr) {
    return RegionError::not_a_region;
  }
  flush_cached();  // cached blocks merge first, so that the region's ends are free
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
      detail::align_down(address_of(keep.data) + detail::kHeaderBytes, detail::kGranule) -
      detail::kHeaderBytes;
  if (new_first < address_of(record)) {
    new_first = address_of(record);
  }
  // The new sentinel: the lowest sentinel address whose end covers the end of keep.
  std::uintptr_t new_sentinel = address_of(sentinel);
  {
    const std::uintptr_t keep_end = region_end(keep);
    const std::uintptr_t lowest =
        detail::align_up(keep_end, detail::kGranule) - detail::kSentinelBytes;
    if (lowest < new_sentinel) {
      new_sentinel = lowest;
    }
  }
  std::byte* first_block = record + detail::kRecordBytes;
  // Front: the record moves up into the first block, which must be free.
  if (new_first > address_of(record) && (header_of(first_block) & detail::kUsedBit) != 0) {
    if (new_first > address_of(first_block)) {
      return RegionError::cuts_live_block;
    }
    new_first = address_of(record);  // only the record would go, and it cannot move: it stays
  }
  if (new_first > address_of(record)) {
    const Word header = header_of(first_block);
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
  std::byte* const old_record = record;
  if (new_first > address_of(record)) {
    record = shrink_front(record, as_pointer(new_first));
    detail::tools::give_back(old_record, static_cast<std::size_t>(record - old_record));
  }
  if (new_sentinel < address_of(sentinel)) {
    shrink_end(record, sentinel, as_pointer(new_sentinel));
    detail::tools::give_back(as_pointer(new_sentinel + detail::kSentinelBytes),
                             address_of(sentinel) - new_sentinel);
  }
  update_bounds();
  const std::size_t new_extent = region_extent_bytes(record);
  if constexpr (kOptions.statistics) {
    counters_.close_epoch();
    counters_.claimed -= old_extent - new_extent;
  }
  return Span{record, new_extent};
}

/// Points the neighbours of a record (and the list head) at its new address.
template <typename Oom, HeapOptions kOptions>
void Heap<Oom, kOptions>::relink_region(std::byte* old_record, std::byte* new_record) {
  std::byte* next = region_next(old_record);
  std::byte* prev = region_prev(old_record);
  std::byte* sentinel = region_sentinel(old_record);
  detail::set_header(new_record, detail::kRecordHeader);
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

template <typename Oom, HeapOptions kOptions>
void Heap<Oom, kOptions>::grow_end(std::byte* record, std::byte* sentinel,
                                   std::byte* new_sentinel) {
  const Word prev_used = header_of(sentinel) & detail::kPrevUsedBit;
  const auto granules = static_cast<Word>((new_sentinel - sentinel) >> detail::kGranuleShift);
  if (prev_used == 0 && detail::previous_block(sentinel, detail::footer_before(sentinel)) == top_) {
    // make_free unlinks a free left neighbour from its bin: bin the top first; the merged block
    // ends at the new sentinel and becomes the top again.
    insert_free(top_, detail::footer_before(sentinel));
    top_ = nullptr;
  }
  detail::tools::hide(sentinel, detail::bytes_of(granules) + detail::kSentinelBytes);
  fill_free_interior(sentinel, granules);
  detail::set_header(new_sentinel, detail::make_header(0, detail::kUsedBit | detail::kPrevUsedBit));
  detail::set_header(sentinel, detail::make_header(granules, prev_used));
  detail::store_word(record + detail::kRegionSentinelOffset, to_link(new_sentinel));
  make_free(sentinel, granules, prev_used);
}

template <typename Oom, HeapOptions kOptions>
std::byte* Heap<Oom, kOptions>::grow_front(std::byte* record, std::byte* new_record) {
  detail::tools::hide(new_record, static_cast<std::size_t>(record - new_record));
  relink_region(record, new_record);
  std::byte* block = new_record + detail::kRecordBytes;
  const auto granules = static_cast<Word>((record - new_record) >> detail::kGranuleShift);
  detail::set_header(block, detail::make_header(granules, detail::kPrevUsedBit));
  fill_free_interior(block, granules);
  make_free(block, granules, detail::kPrevUsedBit);
  return new_record;
}

template <typename Oom, HeapOptions kOptions>
std::byte* Heap<Oom, kOptions>::shrink_front(std::byte* record, std::byte* new_record) {
  std::byte* first_block = record + detail::kRecordBytes;
  const Word granules = detail::granules_of(header_of(first_block));
  std::byte* free_end = detail::next_block(first_block, granules);
  const bool was_top = detach(first_block, granules);
  relink_region(record, new_record);
  std::byte* block = new_record + detail::kRecordBytes;
  if (block == free_end) {
    detail::set_header(free_end, header_of(free_end) | detail::kPrevUsedBit);
  } else {
    const auto rest = static_cast<Word>((free_end - block) >> detail::kGranuleShift);
    detail::set_header(block, detail::make_header(rest, detail::kPrevUsedBit));
    detail::set_footer(block, rest);
    attach(block, rest, was_top);
  }
  return new_record;
}

template <typename Oom, HeapOptions kOptions>
void Heap<Oom, kOptions>::shrink_end(std::byte* record, std::byte* sentinel,
                                     std::byte* new_sentinel) {
  const Word last_granules = detail::footer_before(sentinel);
  std::byte* last = detail::previous_block(sentinel, last_granules);
  const bool was_top = detach(last, last_granules);
  if (new_sentinel == last) {
    detail::set_header(new_sentinel,
                       detail::make_header(0, detail::kUsedBit | detail::kPrevUsedBit));
  } else {
    const auto rest = static_cast<Word>((new_sentinel - last) >> detail::kGranuleShift);
    detail::set_header(last, detail::make_header(rest, detail::kPrevUsedBit));
    detail::set_footer(last, rest);
    attach(last, rest, was_top);
    detail::set_header(new_sentinel, detail::make_header(0, detail::kUsedBit));
  }
  detail::store_word(record + detail::kRegionSentinelOffset, to_link(new_sentinel));
}

template <typename Oom, HeapOptions kOptions>
RegionResult Heap<Oom, kOptions>::release_region(std::byte* record) {
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
    detach(first_block, detail::granules_of(header));
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
  detail::tools::give_back(record, extent);
  if constexpr (kOptions.statistics) {
    counters_.close_epoch();
    counters_.claimed -= extent;
    counters_.overhead -= detail::kRegionOverhead;
    --counters_.regions;
  }
  return Span{};
}

/// The lowest and highest address of all regions, and live_span_: whether the regions leave no
/// gap that could hold a block between them (then free's range check alone rejects foreign
/// pointers, in one compare).
template <typename Oom, HeapOptions kOptions>
void Heap<Oom, kOptions>::update_bounds() {
  low_ = first_region_ != nullptr ? ~std::uintptr_t{0} : 0;
  high_ = 0;
  for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
    const std::uintptr_t low = address_of(record);
    const std::uintptr_t high = low + region_extent_bytes(record);
    low_ = low < low_ ? low : low_;
    high_ = high > high_ ? high : high_;
  }
  live_span_ = regions_abut() ? bounds_span() : 0;
}

/// What the bounds span past the lowest region's first payload: free's range check passes
/// exactly the addresses whose distance from that payload is less.
template <typename Oom, HeapOptions kOptions>
std::uintptr_t Heap<Oom, kOptions>::bounds_span() const {
  return high_ - (low_ + kFirstPayload);
}

/// update_bounds for a new region [low, high) beside all the others (or the first), in O(1).
template <typename Oom, HeapOptions kOptions>
void Heap<Oom, kOptions>::add_to_bounds(std::uintptr_t low, std::uintptr_t high) {
  if (high_ == 0) {
    low_ = low;
    high_ = high;
    live_span_ = bounds_span();
    return;
  }
  const bool abuts = (low >= high_ && low - high_ < detail::kGranule) ||
                     (high <= low_ && low_ - high < detail::kGranule);
  const bool gapless = live_span_ != 0 && abuts;
  low_ = low < low_ ? low : low_;
  high_ = high > high_ ? high : high_;
  live_span_ = gapless ? bounds_span() : 0;
}

/// Whether each region but the highest is followed, less than a granule after its end, by
/// another. Regions claimed from adjacent spans leave 4 bytes between them (extents start at
/// 4 mod 8), where the only 8-aligned pointer names a sentinel, which free refuses. Checked for
/// up to kAbutCheckRegions regions (O(regions^2)); more are taken to leave gaps.
template <typename Oom, HeapOptions kOptions>
bool Heap<Oom, kOptions>::regions_abut() const {
  unsigned count = 0;
  for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
    if (++count > kAbutCheckRegions) {
      return false;
    }
  }
  for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
    const std::uintptr_t end = address_of(record) + region_extent_bytes(record);
    bool followed = end == high_;
    for (std::byte* other = first_region_; other != nullptr && !followed;
         other = region_next(other)) {
      followed = address_of(other) >= end && address_of(other) - end < detail::kGranule;
    }
    if (!followed) {
      return false;
    }
  }
  return count != 0;
}

/// accept_live_pointer's range check when the regions leave gaps, for an address inside their
/// bounds: the end of the region that holds `address`, or 0 if none does. O(regions).
template <typename Oom, HeapOptions kOptions>
std::uintptr_t Heap<Oom, kOptions>::region_limit(std::uintptr_t address) const {
  for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
    const std::uintptr_t end = address_of(region_sentinel(record)) + detail::kSentinelBytes;
    if (address > address_of(record) && address < end) {
      return end;
    }
  }
  return 0;
}

}  // namespace keel
