// tests/tools/misuse_scenarios.cpp: memory errors made inside a keel arena, one per run, for
// AddressSanitizer and valgrind memcheck to find. keel's own checks are off (Checking::none), so
// whatever is reported comes from the tool, which sees keel's blocks only because keel tells it
// about them (keel/detail/tools.hpp).
//
// Usage: tools_scenarios <scenario>. Each scenario prints
//     keel-tools: <scenario> address=<the address it is about to misuse>
// then makes the error, then prints "keel-tools: <scenario> finished" if it is still running and
// ends at once, without running destructors (the heap may be corrupt by then: its checks are off).
// tests/tools/expect_report.sh runs it under a tool and checks the report names that address.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "keel/heap.hpp"
#include "keel/pool.hpp"

namespace {

using UncheckedHeap =
    keel::Heap<keel::FailOnOom, keel::HeapOptions{.checking = keel::Checking::none}>;

alignas(16) std::byte g_arena[16 * 1024];

/// 28 bytes is exactly the usable size of a 4-granule block: no slack for a tool to disagree on.
constexpr std::size_t kBlockBytes = 28;

void announce(const char* scenario, const void* address) {
  std::printf("keel-tools: %s address=%p\n", scenario, address);
  std::fflush(stdout);
}

/// Hides where a pointer came from, so that the compiler neither warns about nor removes the
/// deliberate misuse.
template <typename T>
T* opaque(T* pointer) {
  asm volatile("" : "+r"(pointer));
  return pointer;
}

/// Ends a scenario that made its error: no destructor runs, since the heap may be corrupt by now.
[[noreturn]] void finish(const char* scenario, int status) {
  std::printf("keel-tools: %s finished\n", scenario);
  std::fflush(stdout);
  std::_Exit(status);
}

void write_byte(unsigned char* at) {
  *static_cast<volatile unsigned char*>(opaque(at)) = 0x5A;
}

unsigned char read_byte(const unsigned char* at) {
  return *static_cast<const volatile unsigned char*>(opaque(at));
}

/// A heap over g_arena with two blocks of kBlockBytes, the first filled with its own bytes.
struct TwoBlocks {
  TwoBlocks() {
    (void)heap.claim(keel::Span{g_arena});
    first = static_cast<unsigned char*>(heap.allocate(kBlockBytes));
    second = static_cast<unsigned char*>(heap.allocate(kBlockBytes));
    std::memset(first, 1, kBlockBytes);
  }
  UncheckedHeap heap;
  unsigned char* first = nullptr;
  unsigned char* second = nullptr;
};

int heap_overflow() {
  TwoBlocks blocks;
  announce("heap_overflow", blocks.first + kBlockBytes);
  write_byte(blocks.first + kBlockBytes);  // one byte past the block: the next block's header
  finish("heap_overflow", 0);
}

int heap_underflow() {
  TwoBlocks blocks;
  announce("heap_underflow", blocks.second - 1);
  write_byte(blocks.second - 1);  // one byte before the block: its own header
  finish("heap_underflow", 0);
}

int heap_use_after_free() {
  TwoBlocks blocks;
  blocks.heap.free(blocks.first);
  announce("heap_use_after_free", blocks.first);
  finish("heap_use_after_free", read_byte(blocks.first) == 0x77 ? 1 : 0);
}

int heap_double_free() {
  TwoBlocks blocks;
  blocks.heap.free(blocks.first);
  announce("heap_double_free", blocks.first);
  blocks.heap.free(opaque(blocks.first));
  finish("heap_double_free", 0);
}

constexpr std::size_t kPoolBlockBytes = 24;
alignas(16) std::byte g_pool_storage[kPoolBlockBytes * 8];

int pool_overflow() {
  keel::BlockPool pool(keel::Span{g_pool_storage}, kPoolBlockBytes, 8, keel::Checking::none);
  auto* block = static_cast<unsigned char*>(pool.acquire());
  std::memset(block, 1, kPoolBlockBytes);
  announce("pool_overflow", block + kPoolBlockBytes);
  write_byte(block + kPoolBlockBytes);  // the first byte of the next block, never handed out
  finish("pool_overflow", 0);
}

int pool_use_after_release() {
  keel::BlockPool pool(keel::Span{g_pool_storage}, kPoolBlockBytes, 8, keel::Checking::none);
  auto* block = static_cast<unsigned char*>(pool.acquire());
  pool.release(block);
  announce("pool_use_after_release", block + 8);
  finish("pool_use_after_release", read_byte(block + 8) == 0x77 ? 1 : 0);
}

int pool_double_release() {
  keel::BlockPool pool(keel::Span{g_pool_storage}, kPoolBlockBytes, 8, keel::Checking::none);
  void* block = pool.acquire();
  pool.release(block);
  announce("pool_double_release", block);
  pool.release(opaque(block));
  finish("pool_double_release", 0);
}

// ../shared/seeds/001: a pool of ten 16-byte messages over one 160-byte allocation that computes
// the address of block i as `storage + i * 160` (the size of the whole storage instead of one
// block) and hands out its last block first: 1440 bytes from the start, 1280 bytes past the end
// of its storage. Its tests pass, since nothing else lives there. Here the storage comes from a
// keel heap, and the message is written as the seed's program wrote it: two 8-byte stores.
class MisplacedPool {
 public:
  static constexpr std::size_t kCount = 10;
  static constexpr std::size_t kBlock = 16;

  explicit MisplacedPool(UncheckedHeap& heap)
      : storage_(static_cast<std::byte*>(heap.allocate(kCount * kBlock, 8))) {
    for (std::size_t i = 0; i < kCount; ++i) {
      available_[i] = storage_ + i * (kCount * kBlock);  // the bug: the stride is the whole size
    }
  }
  void* allocate() { return count_ == 0 ? nullptr : available_[--count_]; }
  [[nodiscard]] std::byte* storage() const { return storage_; }

 private:
  std::byte* storage_;
  std::byte* available_[kCount] = {};
  std::size_t count_ = kCount;
};

struct Message {
  std::uint64_t left;
  std::uint64_t right;
};

int seed_001_misplaced_pool_block() {
  UncheckedHeap heap;
  (void)heap.claim(keel::Span{g_arena});
  MisplacedPool pool(heap);
  auto* message = static_cast<Message*>(opaque(pool.allocate()));
  announce("seed_001_misplaced_pool_block", message);
  std::printf("keel-tools: storage %p, message at offset %td\n", static_cast<void*>(pool.storage()),
              reinterpret_cast<std::byte*>(message) - pool.storage());
  auto* volatile words = reinterpret_cast<volatile std::uint64_t*>(message);
  words[0] = 5;  // Add { left: 5, right: 6 }
  words[1] = 6;
  finish("seed_001_misplaced_pool_block", 0);
}

/// Correct use of everything above: no tool may report anything (keel's own reads and writes of
/// its headers must not look like errors either, nor may the heap's destructor).
int clean() {
  TwoBlocks blocks;
  std::memset(blocks.second, 2, kBlockBytes);
  auto* grown = static_cast<unsigned char*>(blocks.heap.reallocate(blocks.first, 300));
  if (grown == nullptr) {
    return 1;
  }
  std::memset(grown, 3, 300);
  blocks.heap.free(grown);
  blocks.heap.free(blocks.second);
  keel::BlockPool pool(keel::Span{g_pool_storage}, kPoolBlockBytes, 8, keel::Checking::none);
  auto* block = static_cast<unsigned char*>(pool.acquire());
  std::memset(block, 4, kPoolBlockBytes);
  pool.release(block);
  block = static_cast<unsigned char*>(pool.acquire());
  std::memset(block, 5, kPoolBlockBytes);
  announce("clean", g_arena);
  return blocks.heap.validate().ok() ? 0 : 1;
}

struct Scenario {
  const char* name;
  int (*run)();
};

constexpr Scenario kScenarios[] = {
    {"heap_overflow", heap_overflow},
    {"heap_underflow", heap_underflow},
    {"heap_use_after_free", heap_use_after_free},
    {"heap_double_free", heap_double_free},
    {"pool_overflow", pool_overflow},
    {"pool_use_after_release", pool_use_after_release},
    {"pool_double_release", pool_double_release},
    {"seed_001_misplaced_pool_block", seed_001_misplaced_pool_block},
    {"clean", clean},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2) {
    for (const Scenario& scenario : kScenarios) {
      if (std::strcmp(argv[1], scenario.name) == 0) {
        const int status = scenario.run();  // only clean() returns
        std::printf("keel-tools: %s finished\n", scenario.name);
        return status;
      }
    }
  }
  std::fprintf(stderr, "usage: %s <scenario>; scenarios:", argv[0]);
  for (const Scenario& scenario : kScenarios) {
    std::fprintf(stderr, " %s", scenario.name);
  }
  std::fprintf(stderr, "\n");
  return 2;
}
