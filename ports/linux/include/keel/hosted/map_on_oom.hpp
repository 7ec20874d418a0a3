// keel/hosted/map_on_oom.hpp: an OOM policy that maps more memory, for keel on Linux.
//
// keel::hosted::MapOnOom grows a heap inside its link window (docs/design.md sections 4 and 12).
// At the first request the heap cannot serve it reserves 32 GiB of address space (no access, no
// memory, not charged: mmap PROT_NONE, MAP_NORESERVE) and claims the heap's first region in the
// middle of it. A heap whose window is not fixed starts it 8 GiB below its first region, so the
// window then covers the reservation (or as much of it as the window reaches), and every later
// region or extension placed next to the first is within reach. Later calls commit more pages
// of the reservation (mprotect) next to what is committed already: upward from the middle
// first, then downward, extending the region at that edge, or claiming a new region where the
// edge region would pass the heap's largest region (4 GiB). Where the heap refuses a span as out
// of its window's reach, the policy learns that edge and turns to the other direction.
//
//     constinit keel::Heap<keel::hosted::MapOnOom> heap;   // no memory yet; grows on demand
//
// Limits:
//   - At most the heap's window per heap, less two pages, and at most the reservation (the
//     policy halves its request down to 256 MiB if the kernel refuses 32 GiB of address space).
//   - One block at most 4 GiB less 80 bytes and its trailer (a region of 4 GiB holds it).
//   - Address space is never given back: committed pages stay committed. Their memory goes back
//     to the kernel through keel::hosted::ProcessHeap, which returns the whole pages of large
//     freed blocks (madvise).
//   - The heap must get all its memory from the policy, and must not be built with a WindowBase
//     elsewhere: a region claimed before the first call decides the window, and the policy's
//     regions are then out of reach (its calls give up).
// Each call makes at most three system calls (the reservation, the first time; a commit; its
// undoing when the heap refuses the pages), claims or extends at most twice per direction, and
// is O(regions). It runs with the heap's lock held (keel/oom.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/detail/block.hpp"
#include "keel/hosted/pages.hpp"
#include "keel/oom.hpp"
#include "keel/span.hpp"

namespace keel::hosted {

class MapOnOom {
 public:
  /// The address space reserved: at least the reach of a heap's links (docs/design.md
  /// section 4). Whatever lies beyond the window's reach stays unused.
  static constexpr std::size_t kReservationBytes = std::size_t{32} << 30U;
  /// The least reservation tried when the kernel refuses a larger one.
  static constexpr std::size_t kLeastReservation = std::size_t{256} << 20U;
  /// The least memory one call adds: fewer, larger steps (pages are touched only when used).
  static constexpr std::size_t kGrowthBytes = std::size_t{1} << 20U;
  /// The largest span one request may need: a region of 4 GiB holds one block of 4 GiB less
  /// the region's own 20 bytes.
  static constexpr std::size_t kLargestSpan = std::size_t{1} << 32U;

  constexpr MapOnOom() = default;

  /// The OOM hook (keel/oom.hpp): commits room for `size` bytes at `align` (at least
  /// kGrowthBytes) and adds it to the heap. give_up when neither direction has room left in the
  /// window and the reservation, when the kernel refuses memory, or when the request needs more
  /// than kLargestSpan.
  template <typename H>
  OomAction on_oom(H& heap, std::size_t size, std::size_t align) {
    if (!reserved() && !reserve()) {
      return OomAction::give_up;
    }
    std::size_t bytes = 0;
    if (!span_for(size, align, H::trailer_bytes, H::options.search_limit, bytes)) {
      return OomAction::give_up;
    }
    if (high_ <= top_limit_ && bytes <= top_limit_ - high_) {
      switch (grow(heap, Span{as_pointer(high_), bytes})) {
        case Growth::added: high_ += bytes; return OomAction::retry;
        case Growth::refused: return OomAction::give_up;
        case Growth::out_of_reach: top_limit_ = high_ + bytes - page_size(); break;
      }
    }
    if (bottom_limit_ <= low_ && bytes <= low_ - bottom_limit_) {
      switch (grow(heap, Span{as_pointer(low_ - bytes), bytes})) {
        case Growth::added: low_ -= bytes; return OomAction::retry;
        case Growth::refused: return OomAction::give_up;
        case Growth::out_of_reach: bottom_limit_ = low_ - bytes + page_size(); break;
      }
    }
    return OomAction::give_up;
  }

  /// The address space reserved (empty before the first call, or if the kernel refused it).
  [[nodiscard]] Span reservation() const { return Span{as_pointer(begin_), end_ - begin_}; }
  /// The pages committed so far: one contiguous range around the middle of the reservation.
  [[nodiscard]] Span committed() const { return Span{as_pointer(low_), high_ - low_}; }
  /// Whether `pointer` lies in committed memory, where any byte may be read. O(1).
  [[nodiscard]] bool contains(const void* pointer) const {
    const std::uintptr_t address = address_of(pointer);
    return address >= low_ && address < high_;
  }

 private:
  enum class Growth : std::uint8_t { added, refused, out_of_reach };

  [[nodiscard]] bool reserved() const { return begin_ != 0; }

  /// The first call: the largest reservation the kernel grants, from kReservationBytes down.
  bool reserve() {
    if (refused_) {
      return false;
    }
    for (std::size_t bytes = kReservationBytes; bytes >= kLeastReservation; bytes /= 2) {
      const Span span = reserve_address_space(bytes);
      if (!span.empty()) {
        begin_ = address_of(span.data);
        end_ = begin_ + span.size;
        low_ = high_ = begin_ + span.size / 2;
        bottom_limit_ = begin_ + page_size();
        top_limit_ = end_ - page_size();
        return true;
      }
    }
    refused_ = true;  // do not ask again on every request
    return false;
  }

  /// Page-rounded bytes that surely serve a request: the block with its header, trailer and
  /// rounding, the alignment gap, a region's record and sentinel, and for aligned requests to
  /// heaps without the bounded search the good-fit rounding (1/16); at least kGrowthBytes. A
  /// plain request needs no rounding: the grown block heads its bin, and allocate takes the head
  /// of the request's own bin when it fits (docs/design.md section 3, step 0), or any block of a
  /// higher bin. False if the request needs more than kLargestSpan.
  static bool span_for(std::size_t size, std::size_t align, std::size_t trailer,
                       unsigned search_limit, std::size_t& bytes) {
    constexpr std::size_t kSlack = 64;  // header, granule rounding, record, sentinel, trimming
    if (size > kLargestSpan || align > kLargestSpan) {
      return false;
    }
    std::size_t needed = size + trailer + kSlack + (align > 8 ? align : 0);
    if (search_limit == 0 && align > detail::kGranule) {
      needed += needed / 16;
    }
    const std::size_t page = page_size();
    needed = (needed + page - 1) & ~(page - 1);
    if (needed > kLargestSpan) {
      return false;
    }
    bytes = needed > kGrowthBytes ? needed : kGrowthBytes;
    return true;
  }

  /// Commits `pages` (just above high_ or just below low_) and adds them to the heap: to the
  /// region that ends at high_ or starts at low_, else as a new region (where there is none, or
  /// the edge region would pass the largest region). refused: the kernel refused the memory or
  /// the heap the region; out_of_reach: the pages lie outside the heap's window. A commit the
  /// heap takes nothing of is undone.
  template <typename H>
  Growth grow(H& heap, Span pages) {
    if (!commit(pages)) {
      return Growth::refused;
    }
    const bool upward = address_of(pages.data) == high_;
    Span edge{};
    heap.for_each_region([&](Span region) {
      const std::uintptr_t start = address_of(region.data);
      const std::uintptr_t end = address_of(region.end());
      if (upward ? end <= high_ && high_ - end < kEdgeSlack
                 : start >= low_ && start - low_ < kEdgeSlack) {
        edge = region;
      }
    });
    if (!edge.empty()) {
      const Span grown = upward ? Span{edge.data, address_of(pages.end()) - address_of(edge.data)}
                                : Span{pages.data, address_of(edge.end()) - address_of(pages.data)};
      if (heap.extend(edge, grown).ok()) {
        return Growth::added;
      }
    }
    const RegionResult claimed = heap.claim(pages);
    if (claimed.ok()) {
      return Growth::added;
    }
    decommit(pages);
    return claimed.error() == RegionError::out_of_reach ? Growth::out_of_reach : Growth::refused;
  }

  /// A region is at an edge of the committed range when its extent ends (or starts) within
  /// this many bytes of it: claim and extend trim a span inward to the block alignment.
  static constexpr std::uintptr_t kEdgeSlack = 16;

  static std::uintptr_t address_of(const void* pointer) {
    return reinterpret_cast<std::uintptr_t>(pointer);
  }
  static std::byte* as_pointer(std::uintptr_t address) {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): addresses inside the reservation
    return reinterpret_cast<std::byte*>(address);
  }

  std::uintptr_t begin_ = 0;  ///< the reservation [begin_, end_); 0 before the first call
  std::uintptr_t end_ = 0;
  std::uintptr_t low_ = 0;  ///< the committed pages [low_, high_)
  std::uintptr_t high_ = 0;
  std::uintptr_t bottom_limit_ = 0;  ///< how far growth may reach: the reservation less a page,
  std::uintptr_t top_limit_ = 0;     ///< or the edge of the heap's window once found
  bool refused_ = false;             ///< the kernel refused every reservation size
};

}  // namespace keel::hosted
