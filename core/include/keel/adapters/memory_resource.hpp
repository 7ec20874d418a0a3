// keel/adapters/memory_resource.hpp: a std::pmr::memory_resource over a keel heap (hosted
// builds only: it needs <memory_resource> and its virtual calls).
//
//     keel::Locked<keel::Heap<>, std::mutex> heap;        // claimed elsewhere
//     keel::MemoryResource resource{heap};
//     std::pmr::vector<int> numbers{&resource};
//
// do_allocate serves any power-of-two alignment, and throws std::bad_alloc when the heap has no
// memory (the memory_resource contract); do_deallocate frees (size and alignment are not
// needed); two resources are equal iff they are the same object or use the same heap.
#pragma once

#if __has_include(<memory_resource>) && __STDC_HOSTED__
#include <cstddef>
#include <memory_resource>
#include <new>

namespace keel {

#define KEEL_HAS_MEMORY_RESOURCE 1

template <typename H>
class MemoryResource final : public std::pmr::memory_resource {
 public:
  /// A resource over `heap`, which must outlive it and every user of it.
  explicit MemoryResource(H& heap) noexcept : heap_(&heap) {}

  [[nodiscard]] H& heap() const noexcept { return *heap_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    void* pointer = heap_->allocate(bytes, align);
    if (pointer == nullptr) {
      throw std::bad_alloc();
    }
    return pointer;
  }
  void do_deallocate(void* pointer, std::size_t /*bytes*/, std::size_t /*align*/) override {
    heap_->free(pointer);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    const auto* same = dynamic_cast<const MemoryResource*>(&other);
    return same != nullptr && same->heap_ == heap_;
  }

  H* heap_;
};

}  // namespace keel

#endif
