// qemu-demo/common/stress.cpp: a fragmentation stress through the C malloc family.
//
// Blocks of log-uniform sizes (16 B to 4 KiB on the big boards) with two kinds of lifetime:
// most die within a few steps, some live for thousands, so that long-lived blocks pin the
// memory between short-lived ones, the way firmware buffers and connection state do. One
// request in eight is a realloc of a live block, one in sixteen a calloc. Every block is
// written in full and checked before it is freed or moved. Six times during the run the demo
// prints how fragmented the free memory is and runs validate().
#include <cstdint>
#include <cstdlib>

#include "demo.hpp"
#include "keel/span.hpp"

namespace demo {
namespace {

struct Block {
  std::uint8_t* bytes = nullptr;
  std::size_t size = 0;
  std::uint32_t expires = 0;  // the step at which it is freed
  std::uint8_t seed = 0;
};

class Xorshift {
 public:
  explicit Xorshift(std::uint32_t seed) : state_(seed) {}
  std::uint32_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }
  std::uint32_t below(std::uint32_t bound) { return next() % bound; }

 private:
  std::uint32_t state_;
};

void fill(const Block& block, std::size_t from) {
  for (std::size_t i = from; i < block.size; ++i) {
    block.bytes[i] = static_cast<std::uint8_t>(block.seed + i * 13);
  }
}
bool intact(const Block& block, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) {
    if (block.bytes[i] != static_cast<std::uint8_t>(block.seed + i * 13)) {
      return false;
    }
  }
  return true;
}

}  // namespace

void run_fragmentation_stress() {
  const Platform& machine = platform();
  const bool small = machine.scale_down > 1;
  const std::uint32_t slots = small ? 16 : 192;
  const std::uint32_t steps = 24000 / machine.scale_down;
  const std::uint32_t largest_shift = small ? 7 : 12;  // blocks up to 8 KiB, or 256 B
  const std::uint32_t long_life = 500 / machine.scale_down;
  const std::uint32_t checkpoint_every = steps / 6;
  print("\n== 2. Fragmentation stress: %lu steps, up to %lu live blocks of 16 B .. %lu B\n",
        static_cast<unsigned long>(steps), static_cast<unsigned long>(slots),
        static_cast<unsigned long>(2UL << largest_shift));
  print("   %7s %6s %10s %10s %6s %12s %9s\n", "step", "live", "in use B", "free B", "holes",
        "largest free", "frag/1000");

  auto* blocks = new Block[slots];
  Xorshift random(0xC0FFEE);
  std::uint32_t corruptions = 0;
  std::uint32_t failures = 0;
  std::uint32_t reallocations = 0;
  std::uint32_t allocations = 0;
  unsigned worst_fragmentation = 0;
  bool healthy = true;
  for (std::uint32_t step = 1; step <= steps; ++step) {
    // Free what has expired.
    for (std::uint32_t i = 0; i < slots; ++i) {
      Block& block = blocks[i];
      if (block.bytes != nullptr && block.expires <= step) {
        corruptions += intact(block, block.size) ? 0U : 1U;
        std::free(block.bytes);
        block = Block{};
      }
    }
    Block& block = blocks[random.below(slots)];
    const std::uint32_t shift = 4 + random.below(largest_shift - 3);
    const std::size_t size = (std::size_t{1} << shift) + random.below(1U << shift);
    const std::uint32_t lifetime =
        random.below(8) == 0 ? long_life + random.below(8 * long_life) : 1 + random.below(24);
    const bool zeroed = random.below(16) == 0;
    if (block.bytes != nullptr && random.below(8) == 0) {
      // Resize a live block: it keeps its contents up to the smaller size.
      auto* moved = static_cast<std::uint8_t*>(std::realloc(block.bytes, size));
      if (moved != nullptr) {
        const std::size_t kept = block.size < size ? block.size : size;
        block.bytes = moved;
        corruptions += intact(block, kept) ? 0U : 1U;
        block.size = size;
        fill(block, kept);
        ++reallocations;
      } else {
        ++failures;
      }
    } else if (block.bytes == nullptr) {
      auto* bytes = static_cast<std::uint8_t*>(zeroed ? std::calloc(1, size) : std::malloc(size));
      if (bytes != nullptr) {
        for (std::size_t i = 0; zeroed && i < size; ++i) {
          corruptions += bytes[i] == 0 ? 0U : 1U;
        }
        block = Block{bytes, size, step + lifetime, static_cast<std::uint8_t>(step)};
        fill(block, 0);
        ++allocations;
      } else {
        ++failures;
      }
    }
    if (step % checkpoint_every == 0) {
      const keel::Statistics stats = global_heap().statistics();
      worst_fragmentation = stats.fragmentation_permille > worst_fragmentation
                                ? stats.fragmentation_permille
                                : worst_fragmentation;
      print("   %7lu %6lu %10lu %10lu %6lu %12lu %9u\n", static_cast<unsigned long>(step),
            static_cast<unsigned long>(stats.live_allocations),
            static_cast<unsigned long>(stats.bytes_in_use),
            static_cast<unsigned long>(stats.bytes_free),
            static_cast<unsigned long>(stats.free_blocks),
            static_cast<unsigned long>(stats.largest_free_block), stats.fragmentation_permille);
      healthy = healthy && global_heap().with_lock([](auto& heap) { return heap.validate().ok(); });
    }
  }
  for (std::uint32_t i = 0; i < slots; ++i) {
    if (blocks[i].bytes != nullptr) {
      corruptions += intact(blocks[i], blocks[i].size) ? 0U : 1U;
      std::free(blocks[i].bytes);
    }
  }
  delete[] blocks;
  const keel::Statistics stats = global_heap().statistics();
  print(
      "   %lu mallocs/callocs, %lu reallocs, %lu refused; after freeing all: %lu free "
      "block(s), largest %lu B\n",
      static_cast<unsigned long>(allocations), static_cast<unsigned long>(reallocations),
      static_cast<unsigned long>(failures), static_cast<unsigned long>(stats.free_blocks),
      static_cast<unsigned long>(stats.largest_free_block));
  expect(corruptions == 0, "no block was overwritten, moved badly or handed out unzeroed");
  expect(healthy, "validate() passed at every checkpoint");
  expect(failures == 0, "no request was refused (the heap had room for the live set)");
  expect(allocations > steps / 4, "the stress allocated");
  print("   worst fragmentation seen: %u/1000 (1000 · (1 - largest free block / free bytes))\n",
        worst_fragmentation);
}

}  // namespace demo
