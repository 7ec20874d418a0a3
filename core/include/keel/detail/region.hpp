// keel/detail/region.hpp: the layout of a region (docs/design.md section 2).
//
//  [record block: 2 granules, USED] [blocks ...] [sentinel: 4-byte header, size 0, USED]
//
// The record's payload holds three 32-bit granule links: the next and previous regions of the
// heap and the region's sentinel. The previous-region link sits where a block header could be
// (at 4 mod 8) and is stored doubled, like a free block's previous link (detail/block.hpp), so
// that it never reads as a used header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/detail/bits.hpp"
#include "keel/detail/block.hpp"
#include "keel/span.hpp"

namespace keel::detail {

/// Region record payload: three links after the record's header (docs/design.md section 2).
inline constexpr std::size_t kRegionNextOffset = 4;
inline constexpr std::size_t kRegionPrevOffset = 8;
inline constexpr std::size_t kRegionSentinelOffset = 12;
inline constexpr Word kRecordGranules = static_cast<Word>(16 / kGranule);
/// The record's header: USED and PREV_USED with size 0, like a sentinel, so that a pointer into a
/// record is never taken for a live block (free rejects a size below the least block). The
/// record's extent is kRecordBytes all the same.
inline constexpr Word kRecordHeader = make_header(0, kUsedBit | kPrevUsedBit);
inline constexpr std::size_t kRecordBytes = bytes_of(kRecordGranules);
inline constexpr std::size_t kSentinelBytes = kHeaderBytes;
inline constexpr std::size_t kRegionOverhead = kRecordBytes + kSentinelBytes;
/// The least extent a region can have: record, one minimum block, sentinel.
inline constexpr std::size_t kMinRegionBytes =
    kRecordBytes + bytes_of(kMinBlockGranules) + kSentinelBytes;
/// The largest extent of one region whose blocks are at most `max_granules`: a record, one block
/// of that size, a sentinel (by default 4 GiB + 12 bytes, + 4 with 16-byte granules). claim
/// trims a larger span to it. On 32-bit targets no span reaches the default: the limit is then
/// the whole address space (the sum is taken in 64 bits: it may pass 4 GiB).
constexpr std::size_t max_region_bytes(Word max_granules) {
  const std::uint64_t bytes =
      kRecordBytes + (std::uint64_t{max_granules} << kGranuleShift) + kSentinelBytes;
  return bytes > ~std::size_t{0} ? ~std::size_t{0} : static_cast<std::size_t>(bytes);
}

/// The block-aligned bounds inside a span: the lowest record address and the highest
/// sentinel address that fit. False if the span is null, wraps, or cannot hold a region.
inline bool layout_bounds(Span span, std::uintptr_t& first, std::uintptr_t& sentinel) {
  const auto start = reinterpret_cast<std::uintptr_t>(span.data);
  std::uintptr_t end = 0;
  if (span.data == nullptr || __builtin_add_overflow(start, span.size, &end) ||
      span.size < kMinRegionBytes) {
    return false;
  }
  first = align_up(start + kHeaderBytes, kGranule) - kHeaderBytes;
  sentinel = align_down(end, kGranule) - kSentinelBytes;  // a header: granule-aligned + 4
  return sentinel > first;
}

}  // namespace keel::detail
