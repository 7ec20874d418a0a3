// The conformance suite (faces/conformance.hpp) over the faces that need no global heap: the
// heap, a locked heap, BlockPool, ObjectPool, the C API, Allocator<T, Heap> and MemoryResource.
#include <memory>
#include <new>

#include "faces/conformance.hpp"
#include "keel/adapters/allocator.hpp"
#include "keel/adapters/memory_resource.hpp"
#include "keel/heap.hpp"
#include "keel/keel.h"
#include "keel/lock.hpp"
#include "keel/pool.hpp"

namespace {

constexpr std::size_t kArenaBytes = 256 * 1024;

/// Each face owns its memory, so that every test starts from a fresh one.
struct Arena {
  Arena() : bytes(new std::byte[kArenaBytes + 64]) {}
  keel::Span span() const { return keel::Span{bytes.get(), kArenaBytes}; }
  std::unique_ptr<std::byte[]> bytes;
};

struct HeapFace {
  static constexpr const char* kName = "Heap";
  static constexpr std::size_t kMaxSize = 4096;
  static constexpr std::size_t kMaxAlign = 128;
  static constexpr bool kBounded = true;
  HeapFace() { (void)heap.claim(arena.span()); }
  void* allocate(std::size_t size, std::size_t align) { return heap.allocate(size, align); }
  void free(void* pointer, std::size_t, std::size_t) { heap.free(pointer); }
  std::size_t live() { return heap.statistics().live_allocations; }
  Arena arena;
  keel::Heap<> heap;
};

struct LockedHeapFace {
  static constexpr const char* kName = "LockedHeap";
  static constexpr std::size_t kMaxSize = 1000;
  static constexpr std::size_t kMaxAlign = 64;
  static constexpr bool kBounded = true;
  LockedHeapFace() { (void)heap.unlocked().claim(arena.span()); }
  void* allocate(std::size_t size, std::size_t align) { return heap.allocate(size, align); }
  void free(void* pointer, std::size_t, std::size_t) { heap.free(pointer); }
  std::size_t live() { return heap.statistics().live_allocations; }
  Arena arena;
  keel::Locked<keel::Heap<>, keel::SpinLock> heap;
};

struct BlockPoolFace {
  static constexpr const char* kName = "BlockPool";
  static constexpr std::size_t kMaxSize = 256;
  static constexpr std::size_t kMaxAlign = 64;
  static constexpr bool kBounded = true;
  void* allocate(std::size_t size, std::size_t align) {
    return size <= kMaxSize && align <= kMaxAlign ? pool.acquire() : nullptr;
  }
  void free(void* pointer, std::size_t, std::size_t) { pool.release(pointer); }
  std::size_t live() { return pool.in_use(); }
  Arena arena;
  std::uint32_t bits[keel::BlockPool::bitmap_words(64)] = {};
  keel::BlockPool pool{keel::Span{arena.bytes.get() + 8, 64 * 256 + 56}, 256, 64,
                       keel::Checking::basic, keel::PoolBitmap{bits, std::size(bits)}};
};

struct alignas(16) Message {
  std::byte bytes[200];
};

struct ObjectPoolFace {
  static constexpr const char* kName = "ObjectPool";
  static constexpr std::size_t kMaxSize = sizeof(Message);
  static constexpr std::size_t kMaxAlign = alignof(Message);
  static constexpr bool kBounded = true;
  void* allocate(std::size_t size, std::size_t align) {
    return size <= kMaxSize && align <= kMaxAlign ? pool->create() : nullptr;
  }
  void free(void* pointer, std::size_t, std::size_t) {
    pool->destroy(static_cast<Message*>(pointer));
  }
  std::size_t live() { return pool->in_use(); }
  std::unique_ptr<keel::ObjectPool<Message, 64>> pool =
      std::make_unique<keel::ObjectPool<Message, 64>>();
};

struct CApiFace {
  static constexpr const char* kName = "CApi";
  static constexpr std::size_t kMaxSize = 3000;
  static constexpr std::size_t kMaxAlign = 256;
  static constexpr bool kBounded = true;
  CApiFace() : heap(keel_init(arena.bytes.get(), kArenaBytes)) {}
  void* allocate(std::size_t size, std::size_t align) {
    return align <= alignof(std::max_align_t) ? keel_malloc(heap, size)
                                              : keel_aligned_alloc(heap, align, size);
  }
  void free(void* pointer, std::size_t, std::size_t) { keel_free(heap, pointer); }
  std::size_t live() {
    keel_stats stats{};
    keel_get_stats(heap, &stats);
    return stats.live_allocations;
  }
  Arena arena;
  keel_heap* heap;
};

struct alignas(16) Chunk {
  std::byte bytes[16];
};

struct AllocatorFace {
  static constexpr const char* kName = "Allocator";
  static constexpr std::size_t kMaxSize = 2048;
  static constexpr std::size_t kMaxAlign = alignof(Chunk);
  static constexpr bool kBounded = true;
  using ChunkAllocator = keel::Allocator<Chunk, keel::Heap<>>;
  AllocatorFace() { (void)heap.claim(arena.span()); }
  static std::size_t chunks(std::size_t size) { return (size + sizeof(Chunk) - 1) / sizeof(Chunk); }
  void* allocate(std::size_t size, std::size_t /*align*/) {
    try {
      return std::allocator_traits<ChunkAllocator>::allocate(allocator, chunks(size));
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }
  void free(void* pointer, std::size_t size, std::size_t) {
    std::allocator_traits<ChunkAllocator>::deallocate(allocator, static_cast<Chunk*>(pointer),
                                                      chunks(size));
  }
  std::size_t live() { return heap.statistics().live_allocations; }
  Arena arena;
  keel::Heap<> heap;
  ChunkAllocator allocator{heap};
};

struct MemoryResourceFace {
  static constexpr const char* kName = "MemoryResource";
  static constexpr std::size_t kMaxSize = 4096;
  static constexpr std::size_t kMaxAlign = 128;
  static constexpr bool kBounded = true;
  MemoryResourceFace() { (void)heap.claim(arena.span()); }
  void* allocate(std::size_t size, std::size_t align) {
    try {
      return resource.allocate(size, align);
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }
  void free(void* pointer, std::size_t size, std::size_t align) {
    resource.deallocate(pointer, size, align);
  }
  std::size_t live() { return heap.statistics().live_allocations; }
  Arena arena;
  keel::Heap<> heap;
  keel::MemoryResource<keel::Heap<>> resource{heap};
};

}  // namespace

namespace keel_test {

using LocalFaces = ::testing::Types<HeapFace, LockedHeapFace, BlockPoolFace, ObjectPoolFace,
                                    CApiFace, AllocatorFace, MemoryResourceFace>;
INSTANTIATE_TYPED_TEST_SUITE_P(Faces, Conformance, LocalFaces, FaceName);

}  // namespace keel_test
