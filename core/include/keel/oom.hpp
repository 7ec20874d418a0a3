// keel/oom.hpp: what a heap does when it cannot serve a request.
//
// An OOM policy is an object inside the heap with one member:
//
//     OomAction on_oom(HeapT& heap, std::size_t size, std::size_t align);
//
// It runs with the heap's lock held (when the heap is wrapped in Locked), may call the heap's
// claim and extend, and must not allocate from the same heap. It returns retry after adding
// or freeing memory, or give_up. A request searches again only if the policy said retry and memory
// became free since it was called; at most kMaxOomRetries times. try_allocate never calls it.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

#include "keel/span.hpp"

namespace keel {

enum class OomAction : std::uint8_t { give_up, retry };

template <typename P, typename H>
concept OomPolicyFor = requires(P& policy, H& heap, std::size_t size, std::size_t align) {
  { policy.on_oom(heap, size, align) } -> std::same_as<OomAction>;
};

/// Gives up at once: the request returns null.
struct FailOnOom {
  template <typename H>
  constexpr OomAction on_oom(H& /*heap*/, std::size_t /*size*/, std::size_t /*align*/) {
    return OomAction::give_up;
  }
};

/// Claims a reserved span the first time memory runs out. A global heap made with it serves
/// allocations made before main (static constructors, early boot) with no explicit set-up:
///
///     alignas(16) constinit std::byte storage[64 * 1024];
///     constinit keel::Heap<keel::ClaimOnOom> heap{keel::ClaimOnOom{keel::Span{storage}}};
class ClaimOnOom {
 public:
  constexpr ClaimOnOom() = default;
  constexpr explicit ClaimOnOom(Span reserve) : reserve_(reserve) {}

  template <typename H>
  OomAction on_oom(H& heap, std::size_t /*size*/, std::size_t /*align*/) {
    if (claimed_ || reserve_.empty()) {
      return OomAction::give_up;
    }
    claimed_ = true;
    return heap.claim(reserve_) ? OomAction::retry : OomAction::give_up;
  }

  /// True once the reserve has been handed to the heap.
  [[nodiscard]] constexpr bool claimed() const { return claimed_; }

 private:
  Span reserve_{};
  bool claimed_ = false;
};

}  // namespace keel
