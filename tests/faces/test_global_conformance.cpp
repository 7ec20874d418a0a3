// The conformance suite (faces/conformance.hpp) over the faces that use the application's global
// heap: the malloc family (keel::libc), operator new (keel::new_delete) and Allocator<T>.
#include <cstdlib>
#include <memory>
#include <new>

#include "faces/conformance.hpp"
#include "faces/global_heap.hpp"
#include "keel/adapters/allocator.hpp"

namespace {

std::size_t global_live() {
  return keel_test::g_global_heap.statistics().live_allocations;
}

struct MallocFace {
  static constexpr const char* kName = "Malloc";
  static constexpr std::size_t kMaxSize = 8192;
  static constexpr std::size_t kMaxAlign = 4096;
  static constexpr bool kBounded = false;
  void* allocate(std::size_t size, std::size_t align) {
    return align <= alignof(std::max_align_t) ? std::malloc(size) : std::aligned_alloc(align, size);
  }
  void free(void* pointer, std::size_t, std::size_t) { std::free(pointer); }
  std::size_t live() { return global_live(); }
};

struct NewDeleteFace {
  static constexpr const char* kName = "NewDelete";
  static constexpr std::size_t kMaxSize = 8192;
  static constexpr std::size_t kMaxAlign = 1024;
  static constexpr bool kBounded = false;
  void* allocate(std::size_t size, std::size_t align) {
    return ::operator new (size, std::align_val_t{align}, std::nothrow);
  }
  void free(void* pointer, std::size_t size, std::size_t align) {
    ::operator delete (pointer, size, std::align_val_t{align});
  }
  std::size_t live() { return global_live(); }
};

struct alignas(32) Chunk {
  std::byte bytes[32];
};

struct GlobalAllocatorFace {
  static constexpr const char* kName = "GlobalAllocator";
  static constexpr std::size_t kMaxSize = 8192;
  static constexpr std::size_t kMaxAlign = alignof(Chunk);
  static constexpr bool kBounded = false;
  static std::size_t chunks(std::size_t size) { return (size + sizeof(Chunk) - 1) / sizeof(Chunk); }
  void* allocate(std::size_t size, std::size_t) { return allocator.allocate(chunks(size)); }
  void free(void* pointer, std::size_t size, std::size_t) {
    allocator.deallocate(static_cast<Chunk*>(pointer), chunks(size));
  }
  std::size_t live() { return global_live(); }
  keel::Allocator<Chunk> allocator;
};

}  // namespace

namespace keel_test {

using GlobalFaces = ::testing::Types<MallocFace, NewDeleteFace, GlobalAllocatorFace>;
INSTANTIATE_TYPED_TEST_SUITE_P(Global, Conformance, GlobalFaces, FaceName);

}  // namespace keel_test
