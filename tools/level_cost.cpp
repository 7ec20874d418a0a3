// tools/level_cost.cpp: instructions per allocate and per free at each checking level.
//
// Run under callgrind with collection switched on only inside one wrapper (scripts/level-cost.sh
// does): the program prints how many calls each level made, and callgrind's total divided by
// that is the cost of one operation. The level is chosen by argv[1]. Workload: 200 000 steps over
// 256 slots, sizes 8..507, alignment 8, in a 4 MiB arena (debug: 2 000 steps in 64 KiB, since it
// validates the whole heap after every call).
#include <cstdio>
#include <memory>
#include <string>

#include "keel/heap.hpp"

namespace {

template <keel::HeapOptions kOptions>
using HeapAt = keel::Heap<keel::FailOnOom, kOptions>;

template <typename HeapT>
[[gnu::noinline]] void* level_allocate(HeapT& heap, std::size_t size) {
  return heap.allocate(size, 8);
}
template <typename HeapT>
[[gnu::noinline]] void level_free(HeapT& heap, void* pointer) {
  heap.free(pointer);
}

template <typename HeapT>
void run(const char* name, std::size_t steps, std::size_t bytes = 4 << 20) {
  const std::size_t kBytes = bytes;
  auto arena = std::make_unique<std::byte[]>(kBytes);
  auto heap = std::make_unique<HeapT>();
  (void)heap->claim(keel::Span{arena.get(), kBytes});
  void* slots[256] = {};
  unsigned x = 12345;
  std::size_t allocations = 0;
  std::size_t frees = 0;
  for (std::size_t i = 0; i < steps; ++i) {
    x = x * 1103515245U + 12345U;
    const unsigned slot = (x >> 8) & 255U;
    if (slots[slot] != nullptr) {
      level_free(*heap, slots[slot]);
      slots[slot] = nullptr;
      ++frees;
    } else {
      slots[slot] = level_allocate(*heap, 8 + (x >> 16) % 500);
      ++allocations;
    }
  }
  std::printf("%s %zu %zu\n", name, allocations, frees);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string level = argc > 1 ? argv[1] : "basic";
  if (level == "none") {
    run<HeapAt<keel::HeapOptions{.checking = keel::Checking::none}>>("none", 200000);
  } else if (level == "basic") {
    run<HeapAt<keel::HeapOptions{}>>("basic", 200000);
  } else if (level == "hardened") {
    run<HeapAt<keel::HeapOptions{.hardened = true}>>("hardened", 200000);
  } else if (level == "full") {
    run<HeapAt<keel::HeapOptions{.checking = keel::Checking::full}>>("full", 200000);
  } else if (level == "full+tags") {
    run<HeapAt<keel::HeapOptions{.checking = keel::Checking::full, .tags = true}>>("full+tags",
                                                                                   200000);
  } else if (level == "debug") {
    run<HeapAt<keel::HeapOptions{.checking = keel::Checking::debug}>>("debug", 2000, 64 << 10);
  }
  return 0;
}
