// keel/detail/heap_quick.hpp: the quick lists of keel::Heap, deferred frees of small blocks
// (HeapOptions::quick_lists, docs/design.md section 15).
//
// A freed block of at most quick_largest bytes is pushed on the list of its exact size while
// that list holds fewer than quick_lists blocks, and an allocate of that size pops it: neither
// call touches a bin, a bitmap or a neighbour. A cached block keeps its place in its region and
// looks used to its neighbours (PREV_USED stays set after it, merges stop at it); its header has
// USED clear and PADDED set (detail::is_cached), so that free's checks see it as freed and the
// walk and validate() can tell it apart. The lists are flushed, each block freed as free()
// would, when a search for a block fails (before the OOM policy runs) and before extend and
// truncate: at most quick_lists blocks per size, each an O(1) merge.
#pragma once

#include "keel/heap.hpp"

namespace keel {

template <typename Oom, HeapOptions kOptions>
bool Heap<Oom, kOptions>::defer_free(std::byte* block, Word header) {
  if constexpr (kQuickClasses == 0) {
    (void)block;
    (void)header;
    return false;
  } else {
    // release() passes no padded block (its pad in front would be lost): those take the bins.
    const unsigned list = detail::granules_of(header) - detail::kMinBlockGranules;
    if (list >= kQuickClasses) {
      return false;
    }
    const unsigned count = quick_.counts[list];
    if (count >= kOptions.quick_lists) {
      return false;
    }
    set_link_next(block, quick_.heads[list]);
    detail::set_header(block, header ^ (detail::kUsedBit | detail::kPaddedBit));
    quick_.heads[list] = to_link(block);
    quick_.counts[list] = static_cast<std::uint8_t>(count + 1);
    return true;
  }
}

template <typename Oom, HeapOptions kOptions>
void* Heap<Oom, kOptions>::take_cached(Word granules, std::size_t size, AllocationTag tag) {
  if constexpr (kQuickClasses == 0) {
    (void)granules;
    (void)size;
    (void)tag;
    return nullptr;
  } else {
    const unsigned list = granules - detail::kMinBlockGranules;
    const Word link = quick_.heads[list];
    if (link == 0) {
      return nullptr;
    }
    std::byte* block = from_link(link);
    const Word header = header_of(block);
    if constexpr (kOptions.checking != Checking::none) {
      // A header overwritten while the block sat on the list: drop the list (its blocks stay
      // unusable, as any block whose header was destroyed) and take the bins.
      if (!detail::is_cached_of(header, granules)) {
        quick_.heads[list] = 0;
        quick_.counts[list] = 0;
        report_fault(Fault::corrupted_block, detail::payload_of(block));
        return nullptr;
      }
    }
    const unsigned count = quick_.counts[list];
    quick_.heads[list] = link_next(block);
    quick_.counts[list] = static_cast<std::uint8_t>(count - 1);
    detail::set_header(block, header ^ (detail::kUsedBit | detail::kPaddedBit));
    count_allocation(granules);
    return hand_out(block, size, tag);
  }
}

template <typename Oom, HeapOptions kOptions>
bool Heap<Oom, kOptions>::flush_cached() {
  bool any = false;
  if constexpr (kQuickClasses != 0) {
    for (unsigned list = 0; list < kQuickClasses; ++list) {
      for (Word link = quick_.heads[list]; link != 0;) {
        std::byte* block = from_link(link);
        link = link_next(block);
        const Word header = header_of(block);
        make_free(block, detail::granules_of(header), header & detail::kPrevUsedBit);
      }
      any |= quick_.heads[list] != 0;
      quick_.heads[list] = 0;
      quick_.counts[list] = 0;
    }
  }
  return any;
}

template <typename Oom, HeapOptions kOptions>
std::byte* Heap<Oom, kOptions>::take_after_flush(Word granules, std::size_t align, Fit fit) {
  if (flush_cached()) {
    return take_block(granules, align, fit);
  }
  return kOptions.search_limit > 0 ? search_bounded(granules, align) : nullptr;
}

template <typename Oom, HeapOptions kOptions>
std::size_t Heap<Oom, kOptions>::cached_blocks() const {
  std::size_t count = 0;
  if constexpr (kQuickClasses != 0) {
    for (unsigned list = 0; list < kQuickClasses; ++list) {
      count += quick_.counts[list];
    }
  }
  return count;
}

/// validate()'s part for the lists (`in_heap`: validate's test of a block address): every
/// entry a cached block of its list's size inside the heap, each list as long as its count and no
/// longer than quick_lists, and as many entries as the walk found cached blocks (so none is
/// unlisted and none listed twice).
template <typename Oom, HeapOptions kOptions>
template <typename InHeap>
ValidationResult Heap<Oom, kOptions>::validate_cached(std::size_t cached_found,
                                                      InHeap in_heap) const {
  std::size_t listed = 0;
  if constexpr (kQuickClasses != 0) {
    for (unsigned list = 0; list < kQuickClasses; ++list) {
      unsigned length = 0;
      for (Word link = quick_.heads[list]; link != 0; link = link_next(from_link(link))) {
        std::byte* block = from_link(link);
        if (!in_heap(address_of(block)) || ++length > kOptions.quick_lists ||
            !detail::is_cached_of(header_of(block), list + detail::kMinBlockGranules)) {
          return ValidationResult{Violation::free_list_broken, block};
        }
      }
      if (length != quick_.counts[list]) {
        return ValidationResult{Violation::free_list_broken, nullptr};
      }
      listed += length;
    }
  }
  if (listed != cached_found) {
    return ValidationResult{Violation::free_block_unlisted, nullptr};
  }
  return ValidationResult{};
}

}  // namespace keel
