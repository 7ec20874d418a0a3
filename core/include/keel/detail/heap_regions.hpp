// keel/detail/heap_regions.hpp: how keel::Heap moves a region's ends: the record relinked, the
// memory added at either end merged into the free block beside it, the memory taken off either
// end cut from the free block there, and a whole region released.
//
// Kept apart from heap.hpp because none of it is on the allocation path: extend() and truncate()
// (heap.hpp) check what they are asked and then call these. Each keeps the top block
// (docs/design.md section 3.1) at a region's end: a block that was the top stays the top.
#pragma once

#include "keel/heap.hpp"

namespace keel {

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

}  // namespace keel
