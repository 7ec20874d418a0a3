// test_conformance: the conformance suite (conformance.hpp) for every face of keel that works
// without a global heap: keel::Heap in four configurations, keel::Locked with the port's
// IrqLock, the C API (keel.h), BlockPool and ObjectPool. Each face gets its own slice of the
// linker script's heap section, filled with random bytes first. On v7-M and v8-M the test
// makes unaligned accesses fault, as they always do on the M0.
#include <cstddef>
#include <cstdint>
#include <new>

#include "check.hpp"
#include "conformance.hpp"
#include "cortex_m.hpp"
#include "keel/heap.hpp"
#include "keel/keel.h"
#include "keel/lock.hpp"
#include "keel/pool.hpp"
#include "port.hpp"

namespace {

// Each face's memory: up to this much of the heap section (the M0 has 12 KiB in all).
constexpr std::size_t kSliceLimit = 48 * 1024;

keel::Span slice() {
  keel::Span memory = keel::port::cortex_m::heap_memory();
  const std::size_t size = memory.size < kSliceLimit ? memory.size : kSliceLimit;
  keel::test::Random random(size);
  for (std::size_t i = 0; i < size; ++i) {
    memory.data[i] = static_cast<std::byte>(random.next());
  }
  return keel::Span{memory.data, size};
}

template <typename HeapT, const char* kLabel>
struct HeapFace {
  static constexpr const char* kName = kLabel;
  static constexpr std::size_t kMaxSize = 2000;
  static constexpr std::size_t kMaxAlign = 256;
  HeapT heap;
  std::size_t live_blocks = 0;  // counted here: the heap may keep no statistics

  explicit HeapFace(keel::Span memory) { KEEL_EXPECT(heap.claim(memory).ok()); }
  void* allocate(std::size_t size, std::size_t align) {
    void* pointer = heap.allocate(size, align);
    live_blocks += pointer != nullptr ? 1 : 0;
    return pointer;
  }
  void free(void* pointer) {
    heap.free(pointer);
    --live_blocks;
  }
  std::size_t live() {
    if constexpr (HeapT::options.statistics) {
      KEEL_EXPECT(heap.statistics().live_allocations == live_blocks);
    }
    return live_blocks;
  }
  bool healthy() { return heap.validate().ok() && heap.check(); }
};

struct LockedFace {
  static constexpr const char* kName = "Locked<Heap, port::IrqLock>";
  static constexpr std::size_t kMaxSize = 2000;
  static constexpr std::size_t kMaxAlign = 256;
  keel::Locked<keel::Heap<>, keel::port::IrqLock> heap;

  explicit LockedFace(keel::Span memory) {
    KEEL_EXPECT(heap.with_lock([memory](auto& h) { return h.claim(memory).ok(); }));
  }
  void* allocate(std::size_t size, std::size_t align) { return heap.allocate(size, align); }
  void free(void* pointer) { heap.free(pointer); }
  std::size_t live() { return heap.statistics().live_allocations; }
  bool healthy() {
    return heap.with_lock([](auto& h) { return h.validate().ok(); });
  }
};

struct CApiFace {
  static constexpr const char* kName = "keel.h C API";
  static constexpr std::size_t kMaxSize = 2000;
  static constexpr std::size_t kMaxAlign = 256;
  keel_heap* heap;

  explicit CApiFace(keel::Span memory) : heap(keel_init(memory.data, memory.size)) {
    KEEL_EXPECT(heap != nullptr);
  }
  void* allocate(std::size_t size, std::size_t align) {
    return align <= 8 ? keel_malloc(heap, size) : keel_aligned_alloc(heap, align, size);
  }
  void free(void* pointer) { keel_free(heap, pointer); }
  std::size_t live() {
    keel_stats stats;
    keel_get_stats(heap, &stats);
    return stats.live_allocations;
  }
  bool healthy() { return keel_validate(heap, nullptr) == 0; }
};

struct BlockPoolFace {
  static constexpr const char* kName = "BlockPool (72-byte blocks)";
  static constexpr std::size_t kMaxSize = 72;
  static constexpr std::size_t kMaxAlign = 8;
  keel::BlockPool pool;

  explicit BlockPoolFace(keel::Span memory) : pool(memory, kMaxSize, kMaxAlign) {
    KEEL_EXPECT(pool.capacity() > 48);
  }
  void* allocate(std::size_t /*size*/, std::size_t /*align*/) { return pool.acquire(); }
  void free(void* pointer) { pool.release(pointer); }
  std::size_t live() { return pool.in_use(); }
  bool healthy() { return pool.validate() == keel::PoolViolation::none; }
};

struct Message {
  std::uint32_t words[6];
};

struct ObjectPoolFace {
  static constexpr const char* kName = "ObjectPool<Message, 96>";
  static constexpr std::size_t kMaxSize = sizeof(Message);
  static constexpr std::size_t kMaxAlign = alignof(Message);
  keel::ObjectPool<Message, 96> pool;

  void* allocate(std::size_t /*size*/, std::size_t /*align*/) { return pool.create(); }
  void free(void* pointer) { pool.destroy(static_cast<Message*>(pointer)); }
  std::size_t live() { return pool.in_use(); }
  bool healthy() { return pool.validate() == keel::PoolViolation::none; }
};

constexpr char kDefaultHeap[] = "Heap<> (statistics, basic checks, search limit 8)";
constexpr char kNoStatistics[] = "Heap without statistics";
constexpr char kNoChecks[] = "Heap without checks";
constexpr char kBoundedSearch[] = "Heap with search limit 8 (bounded best-effort search)";

// The faces are large (a heap's bin table is 1.7 KiB): build each in turn in one static buffer.
alignas(8) std::byte g_face_storage[4096];

template <typename Face, typename... Args>
void run_face(std::uint64_t seed, Args... args) {
  static_assert(sizeof(Face) <= sizeof g_face_storage, "g_face_storage too small");
  Face* face = ::new (static_cast<void*>(g_face_storage)) Face(args...);
  keel::target_test::Conformance<Face> suite(*face);
  suite.run(seed);
  face->~Face();
}

}  // namespace

int main() {
  keel::port::init();
  const bool trapping = keel::port::cortex_m::trap_unaligned_access();
  keel::check::out().text("test_conformance on ").text(keel::port::cortex_m::board_name());
  keel::check::out().text(trapping ? " (unaligned accesses trap)\n" : "\n");

  using keel::Checking;
  using keel::FailOnOom;
  using keel::HeapOptions;
  run_face<HeapFace<keel::Heap<>, kDefaultHeap>>(1, slice());
  run_face<HeapFace<keel::Heap<FailOnOom, HeapOptions{.statistics = false}>, kNoStatistics>>(
      2, slice());
  run_face<HeapFace<keel::Heap<FailOnOom, HeapOptions{.checking = Checking::none}>, kNoChecks>>(
      3, slice());
  run_face<HeapFace<keel::Heap<FailOnOom, HeapOptions{.search_limit = 8}>, kBoundedSearch>>(
      4, slice());
  run_face<LockedFace>(5, slice());
  run_face<CApiFace>(6, slice());
  run_face<BlockPoolFace>(7, slice());
  run_face<ObjectPoolFace>(8);
  return keel::check::finish("test_conformance");
}
