// keel/adapters/allocator.hpp: keel::Allocator<T>, a standard Allocator over a keel heap.
//
//     keel::Heap<> heap;                                  // claimed elsewhere
//     std::vector<int, keel::Allocator<int, keel::Heap<>>> numbers{keel::Allocator<int,
//     keel::Heap<>>{heap}}; std::vector<int, keel::Allocator<int>> on_global;   // the
//     application's global heap
//
// `Allocator<T, H>` holds a pointer to any object with allocate(size, align) and free(pointer):
// a keel::Heap, a keel::Locked heap, or the application's own wrapper. Copies (and rebinds)
// compare equal iff they use the same heap, and they propagate on container copy, move and swap,
// so that a container's memory always goes back to the heap it came from.
//
// `Allocator<T>` (H = GlobalHeap) is stateless and uses keel/global.hpp's heap, which the
// application defines with KEEL_GLOBAL_HEAP.
//
// allocate(n) returns memory for n objects aligned to alignof(T); if the heap has none it throws
// std::bad_alloc when exceptions are on, and traps (__builtin_trap) when they are off, as the
// Allocator requirements allow no null. O(1) (the heap's allocate). Freestanding.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

#include "keel/detail/checked.hpp"
#include "keel/global.hpp"

namespace keel {

/// keel/global.hpp's heap as an object, for Allocator<T> and the adapters.
struct GlobalHeap {
  /// Out of line, so that its return address (the tag of the block) is its caller's code.
  [[nodiscard, gnu::noinline]] static void* allocate(std::size_t size, std::size_t align) noexcept {
    return global::allocate(size, align, __builtin_return_address(0));
  }
  static void free(void* pointer) noexcept { global::free(pointer); }
};

namespace detail {

[[noreturn]] inline void allocation_failed() {
#if defined(__cpp_exceptions)
  throw std::bad_alloc();
#else
  __builtin_trap();
#endif
}

/// Where an Allocator's memory comes from: a pointer to a heap, or nothing for the global heap.
template <typename H>
class HeapReference {
 public:
  constexpr explicit HeapReference(H& heap) noexcept : heap_(&heap) {}
  [[nodiscard]] constexpr H& heap() const noexcept { return *heap_; }
  [[nodiscard]] constexpr bool same_heap(const HeapReference& other) const noexcept {
    return heap_ == other.heap_;
  }

 private:
  H* heap_;
};

template <>
class HeapReference<GlobalHeap> {
 public:
  constexpr HeapReference() noexcept = default;
  [[nodiscard]] static GlobalHeap heap() noexcept { return GlobalHeap{}; }
  [[nodiscard]] static constexpr bool same_heap(const HeapReference& /*other*/) noexcept {
    return true;
  }
};

}  // namespace detail

template <typename T, typename H = GlobalHeap>
class Allocator : private detail::HeapReference<H> {
  using Reference = detail::HeapReference<H>;

 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::is_same<H, GlobalHeap>;
  template <typename U>
  struct rebind {
    using other = Allocator<U, H>;
  };

  /// The global heap's allocator (only for H = GlobalHeap).
  constexpr Allocator() noexcept requires std::is_same_v<H, GlobalHeap>
  = default;
  /// An allocator over `heap`, which must outlive every container that uses it.
  constexpr explicit Allocator(H& heap) noexcept requires(!std::is_same_v<H, GlobalHeap>)
      : Reference(heap) {}
  template <typename U>
  constexpr Allocator(const Allocator<U, H>& other) noexcept  // NOLINT: implicit rebind
      : Reference(other.reference()) {}

  /// Memory for `count` objects, aligned to alignof(T). Never null (see the top of the file).
  /// Inlined even unoptimised, so that GlobalHeap's tag is the container's code, not this.
  [[nodiscard, gnu::always_inline]] T* allocate(std::size_t count) {
    std::size_t bytes = 0;
    if (!detail::checked_multiply(count, sizeof(T), bytes)) {
      detail::allocation_failed();
    }
    void* pointer = Reference::heap().allocate(bytes, alignof(T));
    if (pointer == nullptr) {
      detail::allocation_failed();
    }
    return static_cast<T*>(pointer);
  }

  /// Gives back memory from allocate. `count` is not needed: the heap knows the block's size.
  void deallocate(T* pointer, std::size_t /*count*/) noexcept { Reference::heap().free(pointer); }

  /// The largest count allocate may serve.
  [[nodiscard]] static constexpr std::size_t max_size() noexcept {
    return ~std::size_t{0} / sizeof(T);
  }

  [[nodiscard]] constexpr const Reference& reference() const noexcept { return *this; }

  template <typename U>
  friend constexpr bool operator==(const Allocator& left, const Allocator<U, H>& right) noexcept {
    return left.reference().same_heap(right.reference());
  }
};

}  // namespace keel
