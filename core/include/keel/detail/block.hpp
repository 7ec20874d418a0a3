// keel/detail/block.hpp: the block layout, byte by byte (docs/design.md section 1).
//
//  used block (g granules = 8·g bytes)          free block (g >= 2 granules)
//  byte 0      4                      8g          byte 0      4        8        12        8g-4   8g
//  +-----------+----------------------+           +-----------+--------+--------+- ... --+------+
//  |  header   | payload (8g-4 bytes) |           |  header   |  next  | prev·2 | unused | size |
//  +-----------+----------------------+           +-----------+--------+--------+- ... --+------+
//   block ≡ 4 (mod 8), payload ≡ 0 (mod 8)         next, prev: granule offsets below 2^31;
//                                                  prev is stored doubled (low bit 0); footer = g
//
//  header word:  bits 31..3 size in granules | bit 2 PADDED | bit 1 PREV_USED | bit 0 USED
//
// Why this order: the header is the only word a used block owns, so it carries what free()
// needs without reading a neighbour's payload: the size (to find the right neighbour), USED (for
// the right neighbour's coalescing and for double-free detection) and PREV_USED (whether the
// left neighbour's footer is valid). The links sit where a free block's payload would start, so
// that 16 bytes hold header, next, prev and footer exactly.
//
// A block is named by the address of its header (`std::byte*`). All reads and writes of
// metadata go through load_word/store_word (one 4-aligned access through a may_alias type), which
// keeps them free of aliasing assumptions about the caller's bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/detail/tools.hpp"

namespace keel::detail {

using Word = std::uint32_t;

/// log2 of the granule: 16 bytes where the platform's fundamental alignment is 16 (x86_64,
/// i386, AArch64), so that every block keeps a malloc-aligned payload without a pad; 8 elsewhere
/// (Cortex-M). The build may force either (KEEL_GRANULE_BYTES, CMake's KEEL_GRANULE).
#if defined(KEEL_GRANULE_BYTES)
static_assert(KEEL_GRANULE_BYTES == 8 || KEEL_GRANULE_BYTES == 16, "a granule is 8 or 16 bytes");
inline constexpr unsigned kGranuleShift = KEEL_GRANULE_BYTES == 16 ? 4 : 3;
#else
inline constexpr unsigned kGranuleShift = alignof(std::max_align_t) >= 16 ? 4 : 3;
#endif
inline constexpr std::size_t kGranule = std::size_t{1} << kGranuleShift;  ///< bytes per granule
inline constexpr std::size_t kHeaderBytes = 4;  ///< bytes of header in front of every payload
/// header + next + prev + footer: 16 bytes
inline constexpr Word kMinBlockGranules = static_cast<Word>(16 / kGranule);
inline constexpr Word kPadGranules = 1;  ///< the pad in front of a PADDED block

inline constexpr Word kUsedBit = 1U;      ///< this block is in use
inline constexpr Word kPrevUsedBit = 2U;  ///< the physically previous block is in use
inline constexpr Word kPaddedBit = 4U;    ///< a one-granule pad in front belongs to this block
inline constexpr Word kFlagBits = 7U;
inline constexpr unsigned kSizeShift = 3;  ///< the size sits above the three flags
inline constexpr Word kMaxBlockGranules = (Word{1} << 29) - 1;

/// A freed block held on a quick list (a *cached* block, docs/design.md section 15) has USED
/// clear and PADDED set, a pair no other block has (free blocks never carry PADDED): its
/// neighbours treat it as used (no merge), free's checks as freed.
[[nodiscard]] constexpr bool is_cached(Word header) {
  return (header & (kUsedBit | kPaddedBit)) == kPaddedBit;
}

/// The largest granule link: links are stored doubled in the previous-link word.
inline constexpr Word kMaxLink = (Word{1} << 31) - 1;
inline constexpr std::size_t kNextLinkOffset = 4;  ///< free block: offset of the next link
inline constexpr std::size_t kPrevLinkOffset = 8;  ///< free block: offset of the previous link

/// A 32-bit word that may alias the caller's bytes. Every metadata word is 4-aligned.
using AliasedWord [[gnu::may_alias]] = Word;

/// keel's own metadata accesses: never instrumented, because under AddressSanitizer metadata
/// is poisoned (detail/tools.hpp).
/// (The casts go through void*: metadata words are 4-aligned by construction, section 1.)
[[nodiscard]] KEEL_NO_SANITIZE_ADDRESS inline Word load_word(const std::byte* at) {
  return *static_cast<const AliasedWord*>(static_cast<const void*>(at));
}

KEEL_NO_SANITIZE_ADDRESS inline void store_word(std::byte* at, Word value) {
  *static_cast<AliasedWord*>(static_cast<void*>(at)) = value;
}

[[nodiscard]] constexpr Word make_header(Word granules, Word flags) {
  return (granules << kSizeShift) | flags;
}
[[nodiscard]] constexpr Word granules_of(Word header) {
  return header >> kSizeShift;
}
[[nodiscard]] constexpr std::size_t bytes_of(Word granules) {
  return static_cast<std::size_t>(granules) << kGranuleShift;
}

/// A one-granule gap in front of an aligned block cannot be a free block where the smallest
/// block is two granules (8-byte granules): it becomes a pad owned by the block behind it
/// (PADDED). With 16-byte granules such a gap is a free block of its own: no pad exists.
inline constexpr bool kPads = kMinBlockGranules > kPadGranules;
[[nodiscard]] constexpr bool is_pad(Word header) {
  return kPads && granules_of(header) == kPadGranules && (header & kUsedBit) != 0;
}

[[nodiscard]] inline Word header_of(const std::byte* block) {
  return load_word(block);
}
inline void set_header(std::byte* block, Word header) {
  store_word(block, header);
}

[[nodiscard]] inline std::byte* payload_of(std::byte* block) {
  return block + kHeaderBytes;
}
[[nodiscard]] inline std::byte* block_of(void* payload) {
  return static_cast<std::byte*>(payload) - kHeaderBytes;
}
/// Usable bytes of a block of `granules`: everything but the header.
[[nodiscard]] constexpr std::size_t usable_bytes(Word granules) {
  return bytes_of(granules) - kHeaderBytes;
}

[[nodiscard]] inline std::byte* next_block(std::byte* block, Word granules) {
  return block + bytes_of(granules);
}

/// The footer of a free block of `granules`: its last word.
inline void set_footer(std::byte* block, Word granules) {
  store_word(block + bytes_of(granules) - kHeaderBytes, granules);
}
/// The size of the free block that ends where `block` starts (valid only if !PREV_USED).
[[nodiscard]] inline Word footer_before(const std::byte* block) {
  return load_word(block - kHeaderBytes);
}
[[nodiscard]] inline std::byte* previous_block(std::byte* block, Word previous_granules) {
  return block - bytes_of(previous_granules);
}

[[nodiscard]] inline Word next_link(const std::byte* block) {
  return load_word(block + kNextLinkOffset);
}
/// The previous link is stored doubled, so that the word's low bit, where a header keeps USED, is
/// always clear: a PADDED block freed next to a used block becomes a free block that starts at
/// its old pad, and its old header word is then this link. A second free of the block must find
/// a header that says free (docs/design.md sections 1 and 7). Links are below 2^31.
[[nodiscard]] inline Word prev_link(const std::byte* block) {
  return load_word(block + kPrevLinkOffset) >> 1U;
}
inline void set_next_link(std::byte* block, Word link) {
  store_word(block + kNextLinkOffset, link);
}
inline void set_prev_link(std::byte* block, Word link) {
  store_word(block + kPrevLinkOffset, link << 1U);
}

/// Granules of the block that serves `size` bytes: ceil((size + header) / 8), at least 2.
/// Precondition: size <= kMaxRequest (so the sum cannot wrap).
[[nodiscard]] constexpr Word granules_for(std::size_t size) {
  const std::size_t granules = (size + kHeaderBytes + kGranule - 1) >> kGranuleShift;
  return granules < kMinBlockGranules ? kMinBlockGranules : static_cast<Word>(granules);
}

/// Bytes of front gap that align the payload of `block` to `align` (0, 8 for a pad with 8-byte
/// granules, or at least 16 for a free gap block).
[[nodiscard]] inline std::size_t front_gap(const std::byte* block, std::size_t align) {
  const auto start = reinterpret_cast<std::uintptr_t>(block);
  const std::uintptr_t payload = (start + kHeaderBytes + align - 1) & ~(std::uintptr_t{align} - 1);
  return payload - kHeaderBytes - start;
}

/// Whether the free `block` holds `granules` at `align`, its front gap included.
[[nodiscard]] inline bool fits(const std::byte* block, Word granules, std::size_t align) {
  const std::size_t gap = align > kGranule ? front_gap(block, align) : 0;
  return granules_of(header_of(block)) >= granules + (gap >> kGranuleShift);
}

/// The header of `block` if it has the shape of a live block inside a region that ends at
/// `limit`, else 0 (no live header is 0: USED is set). The shape is what free's O(1) checks ask
/// (docs/design.md section 7): USED, at least the least block, an end inside the region, the
/// next block's PREV_USED and, for a PADDED block, its pad in place. `load` reads one metadata
/// word: the heap's own read, or the per-CPU caches' unlocked one (keel/cpu_cache.hpp).
template <typename Load>
[[nodiscard, gnu::always_inline]] inline Word live_header(const std::byte* block,
                                                          std::uintptr_t limit, Load load) {
  const Word header = load(block);
  const Word granules = granules_of(header);
  const bool live =
      (header & kUsedBit) != 0 && granules >= kMinBlockGranules &&
      granules <= ((limit - reinterpret_cast<std::uintptr_t>(block)) >> kGranuleShift) &&
      (load(block + bytes_of(granules)) & kPrevUsedBit) != 0 &&
      ((header & kPaddedBit) == 0 ||
       (kPads && (load(block - kGranule) & ~kPrevUsedBit) == make_header(kPadGranules, kUsedBit)));
  return live ? header : 0;
}

/// The largest request any heap serves (docs/design.md section 4): one block of the largest
/// granule count below 4 GiB (HeapOptions::largest_block is a 32-bit byte count) less its header,
/// 4 GiB - 12 bytes with 8-byte granules, 4 GiB - 20 with 16-byte ones. On 32-bit targets
/// `kMaxRequest + kHeaderBytes + kGranule - 1` is exactly SIZE_MAX: granules_for cannot wrap.
inline constexpr std::size_t kMaxRequest =
    (std::size_t{0xFFFF'FFFFU} & ~(kGranule - 1)) - kHeaderBytes;

}  // namespace keel::detail
