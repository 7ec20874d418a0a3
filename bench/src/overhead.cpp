// bench/src/overhead.cpp: see overhead.hpp.
#include "overhead.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "allocators.hpp"

namespace keel_bench {
namespace {

constexpr std::size_t kBlocks = 32;
constexpr std::size_t kLargestSize = 64;

/// The most common distance between consecutive pointers.
std::size_t usual_step(const std::vector<std::uintptr_t>& addresses) {
  std::vector<std::size_t> steps;
  for (std::size_t i = 1; i < addresses.size(); ++i) {
    const std::uintptr_t a = addresses[i - 1];
    const std::uintptr_t b = addresses[i];
    steps.push_back(b > a ? b - a : a - b);
  }
  std::sort(steps.begin(), steps.end());
  std::size_t best = 0;
  std::size_t best_count = 0;
  for (std::size_t i = 0; i < steps.size();) {
    std::size_t j = i;
    while (j < steps.size() && steps[j] == steps[i]) {
      ++j;
    }
    if (j - i > best_count) {
      best = steps[i];
      best_count = j - i;
    }
    i = j;
  }
  return best;
}

std::size_t keel_step(const Arena& arena, std::size_t size, std::size_t align) {
  auto allocator = std::make_unique<KeelAllocator<DefaultHeap>>(arena.prefix(arena.size()));
  std::vector<std::uintptr_t> addresses;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    addresses.push_back(reinterpret_cast<std::uintptr_t>(allocator->allocate(size, align)));
  }
  return usual_step(addresses);
}

}  // namespace

void print_overhead_table() {
  const Arena arena(std::size_t{64} << 10);
  std::vector<void*> glibc_blocks;
  std::printf("overhead\tsize\tkeel_align8\tkeel_default_align\tglibc\tglibc_usable_plus_8\n");
  for (std::size_t size = 1; size <= kLargestSize; ++size) {
    std::vector<std::uintptr_t> addresses;
    std::size_t usable = 0;
    for (std::size_t i = 0; i < kBlocks; ++i) {
      void* block = measured::glibc_malloc(size);
      glibc_blocks.push_back(block);  // kept live, so that every block comes from fresh memory
      addresses.push_back(reinterpret_cast<std::uintptr_t>(block));
      usable = malloc_usable_size(block);
    }
    std::printf("overhead\t%zu\t%zu\t%zu\t%zu\t%zu\n", size, keel_step(arena, size, 8),
                keel_step(arena, size, keel::kDefaultAlignment), usual_step(addresses), usable + 8);
  }
  for (void* block : glibc_blocks) {
    measured::glibc_free(block);
  }
}

}  // namespace keel_bench
