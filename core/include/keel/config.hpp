// keel/config.hpp: the compile-time choices of a heap, in one place.
//
// A heap's options are a structural value (`HeapOptions`) passed as a non-type template
// parameter, so that everything switched off is removed by `if constexpr` and costs nothing:
//
//     keel::Heap<keel::FailOnOom, keel::HeapOptions{.statistics = false}> heap;
//
// The checking levels are described in docs/design.md (section 7) and docs/errors.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel {

/// How much a heap checks the pointers and blocks it is handed.
enum class Checking : std::uint8_t {
  none,   ///< no checks: a bad free is undefined behaviour, as with most libc heaps
  basic,  ///< O(1) checks on free and reallocate (the default); see docs/design.md section 7
  full,   ///< basic, plus a checked trailer after every block (overruns, overwritten headers),
          ///< freed memory filled with a pattern and checked when reused; 8 bytes more per
          ///< block and work proportional to the block size on allocate and free
  debug,  ///< full, plus validate() after every operation (O(blocks) each)
};

/// The options of one heap type.
struct HeapOptions {
  /// Keep O(1) statistics (bytes in use, peak, counts). Off: the counters are not even stored.
  bool statistics = true;
  /// Checks made on the pointers passed to free and reallocate.
  Checking checking = Checking::basic;
  /// How many free blocks the bounded best-effort search may look at when the O(1) good-fit
  /// search finds nothing (docs/design.md section 3). 0, the default, turns the search off:
  /// allocate then walks no list at all. A heap that must squeeze the last blocks out of a nearly
  /// full arena can set 8 and pay up to that many list steps on such a call.
  std::uint16_t search_limit = 0;
  /// Store each block's allocation site (AllocationTag) for leak_report() and fault reports:
  /// 16 bytes more per block on 64-bit, 8 on 32-bit.
  bool tags = false;
  /// Keep an O(1) histogram of request sizes and failures by power of two (Heap::histogram()).
  bool histogram = false;
  /// Store free-list links mangled with a per-heap secret and check both neighbours' links
  /// before every unlink, so that an overflow into a free block cannot steer allocation to an
  /// address of the attacker's choice. A broken link is reported (Fault::corrupted_block) and
  /// the heap then refuses all further allocation. About 6 instructions per list operation.
  bool hardened = false;
  /// The largest block the heap holds, in bytes with its header (rounded down to 8): the
  /// default is the most a 29-bit size can say, 4 GiB - 8. The bins follow it: a smaller value
  /// drops the first levels no block can reach, and at 64 KiB or less a first level has 8 bins
  /// instead of 16, so that the state of a 64 KiB heap fits in 512 bytes on a 32-bit target
  /// (docs/design.md section 13). Requests above it less the header fail at once (max_request);
  /// claim trims a span to one block of it (max_region), and extend refuses to pass that.
  /// At least 128.
  std::uint32_t largest_block = 0xFFFF'FFF8U;
  /// Deferred frees of small blocks (docs/design.md section 15): how many freed blocks each
  /// exact-size list may hold, 0 (the default) for none. A free of a block up to quick_largest
  /// bytes whose list has room only pushes it; an allocate of that size pops it; the blocks
  /// stay unmerged until a search fails or a region call flushes every list (at most
  /// quick_lists blocks per size, each an O(1) merge). Faster small calls for memory held back:
  /// needs Checking::none or basic and no hardening.
  std::uint8_t quick_lists = 0;
  /// The largest block, header included, that the lists hold: rounded down to the granule, at
  /// least 16, at most 256 granules (one list per block size up to it, 5 bytes of state each).
  std::uint16_t quick_largest = 256;
};

/// The alignment of `allocate(size)` without an explicit alignment: the target's
/// `alignof(std::max_align_t)` (8 on 32-bit Arm, 16 on x86_64).
inline constexpr std::size_t kDefaultAlignment = alignof(std::max_align_t);

/// How many times one request may call the OOM policy before it fails.
inline constexpr unsigned kMaxOomRetries = 4;

}  // namespace keel
