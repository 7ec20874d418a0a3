// keel/stats.hpp: what a heap can tell about itself.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/tag.hpp"

namespace keel {

/// A snapshot of a heap's counters (Heap::statistics(), O(1)). Byte counts are whole blocks,
/// headers included, so that in use + free + overhead = claimed.
struct Statistics {
  std::size_t bytes_claimed = 0;         ///< sum of the extents of all regions
  std::size_t bytes_in_use = 0;          ///< bytes of live blocks (headers and pads included)
  std::size_t bytes_free = 0;            ///< bytes of free blocks
  std::size_t bytes_overhead = 0;        ///< region records and sentinels
  std::size_t peak_bytes_in_use = 0;     ///< highest bytes_in_use so far
  std::size_t min_bytes_free = 0;        ///< lowest bytes_free so far (after the first claim)
  std::size_t live_allocations = 0;      ///< blocks allocated and not yet freed
  std::uint64_t total_allocations = 0;   ///< successful allocations so far (reallocations that
                                         ///< moved count once)
  std::uint64_t failed_allocations = 0;  ///< requests that returned null
  std::size_t free_blocks = 0;           ///< number of free blocks
  std::size_t region_count = 0;          ///< regions claimed and not released
  std::size_t largest_free_block = 0;    ///< usable bytes of the largest free block (see below)
  /// 1000 · (1 - largest_free_block / bytes_free): 0 when all free memory is one block.
  unsigned fragmentation_permille = 0;
};

/// One block as a heap walk reports it.
struct BlockInfo {
  void* address;     ///< the payload address (what allocate returned, for a used block)
  std::size_t size;  ///< usable bytes (the size asked for, with Checking::full)
  bool used;
  AllocationTag tag;  ///< where a used block was allocated (HeapOptions::tags), else unknown
};

/// Requests and failures by size class (Heap::histogram()): class 0 is size 0, class i > 0
/// holds sizes in [2^(i-1), 2^i); the last class also holds everything larger.
struct SizeHistogram {
  static constexpr unsigned kClasses = 34;
  std::uint32_t requests[kClasses] = {};
  std::uint32_t failures[kClasses] = {};
};

/// What validate() found wrong, if anything.
enum class Violation : std::uint8_t {
  none,
  region_broken,         ///< a region record, the region list or a sentinel is inconsistent
  block_out_of_bounds,   ///< blocks do not tile their region
  adjacent_free_blocks,  ///< two neighbouring free blocks (coalescing missed)
  prev_used_mismatch,    ///< a PREV_USED bit disagrees with the previous block
  bad_footer,            ///< a free block's footer differs from its size
  bad_pad,               ///< a PADDED block without a valid pad in front
  free_list_broken,      ///< a free-list link is out of place or not mirrored
  wrong_bin,             ///< a free block sits in a bin its size does not map to
  bitmap_mismatch,       ///< a bitmap bit disagrees with its bin
  free_block_unlisted,   ///< a free block found by the walk is in no bin
  statistics_mismatch,   ///< the counters disagree with the walk
  trailer_damaged,       ///< Checking::full: a live block's trailer or slack was overwritten
  free_block_written,    ///< Checking::full: a free block's fill was overwritten
  top_block_broken,      ///< the top block is not a free block that ends at a region's sentinel
};

/// Returns a short lower-case name for a violation ("adjacent_free_blocks").
[[nodiscard]] const char* to_string(Violation violation) noexcept;

/// The first violation validate() met, and where. `kind == Violation::none` means healthy.
struct ValidationResult {
  Violation kind = Violation::none;
  const void* address = nullptr;
  [[nodiscard]] constexpr bool ok() const { return kind == Violation::none; }
  constexpr explicit operator bool() const { return ok(); }
};

}  // namespace keel
