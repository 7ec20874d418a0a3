// keel/span.hpp: the memory a caller hands to keel, and the results of region management.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel {

/// A span of bytes: [data, data + size).
struct Span {
  std::byte* data = nullptr;
  std::size_t size = 0;

  constexpr Span() = default;
  constexpr Span(std::byte* begin, std::size_t bytes) : data(begin), size(bytes) {}
  Span(void* begin, std::size_t bytes) : data(static_cast<std::byte*>(begin)), size(bytes) {}
  template <std::size_t N>
  constexpr explicit Span(std::byte (&array)[N]) : data(array), size(N) {}

  [[nodiscard]] constexpr std::byte* begin() const { return data; }
  [[nodiscard]] constexpr std::byte* end() const { return data + size; }
  [[nodiscard]] constexpr bool empty() const { return size == 0; }
  friend constexpr bool operator==(const Span&, const Span&) = default;
};

/// Why claim, extend or truncate refused. The heap is unchanged when one of these is returned.
enum class RegionError : std::uint8_t {
  null_span,        ///< a null pointer, or a span whose end wraps around the address space
  too_small,        ///< smaller than the least region (docs/design.md section 2), or adds nothing
  overlaps,         ///< overlaps a region this heap already has
  out_of_reach,     ///< outside the heap's link window (16 or 32 GiB; 64-bit targets only)
  not_a_region,     ///< the span given as a region is not the exact extent of one of this heap's
  not_contained,    ///< the extent to grow to does not contain the region, or the one to keep is
                    ///< not inside it
  cuts_live_block,  ///< truncating would release memory that a live block uses
  too_large,        ///< extending would make the region larger than Heap::max_region
};

/// Returns a short lower-case name for a region error ("overlaps").
[[nodiscard]] const char* to_string(RegionError error) noexcept;

/// The extent of a region actually used, or the reason for refusing. A small stand-in for
/// std::expected, which freestanding C++20 does not have.
class [[nodiscard]] RegionResult {
 public:
  constexpr RegionResult(Span extent) : extent_(extent), ok_(true) {}  // NOLINT: implicit by design
  constexpr RegionResult(RegionError error) : error_(error), ok_(false) {}  // NOLINT: implicit

  [[nodiscard]] constexpr bool ok() const { return ok_; }
  constexpr explicit operator bool() const { return ok_; }
  /// The extent used. Meaningful only when ok().
  [[nodiscard]] constexpr Span extent() const { return extent_; }
  /// The reason for refusing. Meaningful only when !ok().
  [[nodiscard]] constexpr RegionError error() const { return error_; }

 private:
  Span extent_{};
  RegionError error_{};
  bool ok_;
};

}  // namespace keel
