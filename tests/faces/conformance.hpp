// tests/faces/conformance.hpp: the conformance suite, written once and instantiated for every
// face of keel: the heap, a locked heap, BlockPool, ObjectPool, the C API, Allocator<T>,
// memory_resource (test_faces_conformance), the malloc family, operator new and the global
// Allocator<T> (test_faces_global), and the FreeRTOS heap (test_faces_freertos_*).
//
// A face is a class with
//   static constexpr const char* kName;
//   static constexpr std::size_t kMaxSize;   // the largest request the suite makes
//   static constexpr std::size_t kMaxAlign;  // the largest alignment it asks for
//   static constexpr bool kBounded;          // the suite may run it out of memory
//   void* allocate(std::size_t size, std::size_t align);   // null on failure (no exception)
//   void free(void* pointer, std::size_t size, std::size_t align);
//   std::size_t live();                      // blocks in use, from the face's own counters
// Each test gets a fresh face object (a face over the global heap shares it, and leaves it as
// it found it).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace keel_test {

/// A block the suite holds, and the seed of the pattern written into it.
struct LiveBlock {
  std::byte* pointer;
  std::size_t size;
  std::size_t align;
  std::uint8_t seed;
};

template <typename Face>
class Conformance : public ::testing::Test {
 protected:
  using Live = LiveBlock;

  static std::size_t random_size(std::mt19937& random) {
    // Mostly small, some up to the face's largest.
    const std::size_t limit =
        random() % 4 == 0 ? Face::kMaxSize : std::min<std::size_t>(Face::kMaxSize, 128);
    return 1 + random() % limit;
  }
  static std::size_t random_align(std::mt19937& random) {
    std::size_t align = std::size_t{1} << (random() % 8);
    return std::min(align, Face::kMaxAlign);
  }
  static void fill(const Live& block) {
    for (std::size_t i = 0; i < block.size; ++i) {
      block.pointer[i] = static_cast<std::byte>(block.seed + i * 7);
    }
  }
  static bool intact(const Live& block) {
    for (std::size_t i = 0; i < block.size; ++i) {
      if (block.pointer[i] != static_cast<std::byte>(block.seed + i * 7)) {
        return false;
      }
    }
    return true;
  }
  static bool aligned(const void* pointer, std::size_t align) {
    return reinterpret_cast<std::uintptr_t>(pointer) % align == 0;
  }
  Live take(std::size_t size, std::size_t align, std::uint8_t seed) {
    auto* pointer = static_cast<std::byte*>(face_.allocate(size, align));
    return Live{pointer, size, align, seed};
  }
  void give_back(const Live& block) { face_.free(block.pointer, block.size, block.align); }

  Face face_{};
};

TYPED_TEST_SUITE_P(Conformance);

TYPED_TEST_P(Conformance, BlocksAreAlignedDisjointAndKeepTheirContents) {
  std::mt19937 random(1);
  // The suite's own vectors are reserved first: on the global faces they use the same heap.
  std::vector<LiveBlock> blocks;
  blocks.reserve(48);
  std::vector<LiveBlock> by_address;
  by_address.reserve(48);
  const std::size_t live_before = this->face_.live();
  for (int i = 0; i < 48; ++i) {
    const LiveBlock block = this->take(this->random_size(random), this->random_align(random),
                                       static_cast<std::uint8_t>(i));
    ASSERT_NE(block.pointer, nullptr) << TypeParam::kName << " block " << i;
    ASSERT_TRUE(this->aligned(block.pointer, block.align)) << block.align;
    this->fill(block);
    blocks.push_back(block);
  }
  EXPECT_EQ(this->face_.live(), live_before + blocks.size());
  by_address = blocks;
  std::sort(by_address.begin(), by_address.end(),
            [](const LiveBlock& a, const LiveBlock& b) { return a.pointer < b.pointer; });
  for (std::size_t i = 1; i < by_address.size(); ++i) {
    ASSERT_LE(by_address[i - 1].pointer + by_address[i - 1].size, by_address[i].pointer)
        << "blocks overlap";
  }
  for (const LiveBlock& block : blocks) {
    ASSERT_TRUE(this->intact(block)) << TypeParam::kName;
  }
  for (const LiveBlock& block : blocks) {
    this->give_back(block);
  }
  EXPECT_EQ(this->face_.live(), live_before);
}

TYPED_TEST_P(Conformance, FreedMemoryIsReused) {
  // Far more bytes than any bounded face holds.
  for (int round = 0; round < 20000; ++round) {
    void* pointer = this->face_.allocate(TypeParam::kMaxSize, TypeParam::kMaxAlign);
    ASSERT_NE(pointer, nullptr) << TypeParam::kName << " round " << round;
    std::memset(pointer, round & 0xFF, TypeParam::kMaxSize);
    this->face_.free(pointer, TypeParam::kMaxSize, TypeParam::kMaxAlign);
  }
}

TYPED_TEST_P(Conformance, ExhaustionFailsCleanlyAndRecovers) {
  if constexpr (!TypeParam::kBounded) {
    GTEST_SKIP() << TypeParam::kName << " is the process's heap: not run out here";
  } else {
    const std::size_t live_before = this->face_.live();
    std::vector<LiveBlock> blocks;
    for (int i = 0; i < 1'000'000; ++i) {
      const LiveBlock block = this->take(TypeParam::kMaxSize, 8, static_cast<std::uint8_t>(i));
      if (block.pointer == nullptr) {
        break;
      }
      this->fill(block);
      blocks.push_back(block);
    }
    ASSERT_GT(blocks.size(), 1U);
    ASSERT_LT(blocks.size(), 1'000'000U) << "never ran out";
    EXPECT_EQ(this->face_.allocate(TypeParam::kMaxSize, 8), nullptr) << "still out";
    this->give_back(blocks[blocks.size() / 2]);
    const LiveBlock again = this->take(TypeParam::kMaxSize, 8, 0xEE);
    ASSERT_NE(again.pointer, nullptr) << "a freed block serves the next request";
    this->fill(again);
    blocks[blocks.size() / 2] = again;
    for (const LiveBlock& block : blocks) {
      ASSERT_TRUE(this->intact(block));
      this->give_back(block);
    }
    EXPECT_EQ(this->face_.live(), live_before);
  }
}

TYPED_TEST_P(Conformance, RandomWorkloadAgainstAShadow) {
  std::mt19937 random(42);
  std::vector<LiveBlock> blocks;
  blocks.reserve(41);
  const std::size_t live_before = this->face_.live();
  for (int step = 0; step < 6000; ++step) {
    if (blocks.empty() || (blocks.size() < 40 && random() % 2 == 0)) {
      const LiveBlock block = this->take(this->random_size(random), this->random_align(random),
                                         static_cast<std::uint8_t>(step));
      if (block.pointer == nullptr) {
        ASSERT_TRUE(TypeParam::kBounded) << TypeParam::kName << " failed at step " << step;
        continue;
      }
      ASSERT_TRUE(this->aligned(block.pointer, block.align));
      this->fill(block);
      blocks.push_back(block);
    } else {
      const std::size_t index = random() % blocks.size();
      ASSERT_TRUE(this->intact(blocks[index])) << TypeParam::kName << " step " << step;
      this->give_back(blocks[index]);
      blocks[index] = blocks.back();
      blocks.pop_back();
    }
  }
  for (const LiveBlock& block : blocks) {
    ASSERT_TRUE(this->intact(block));
    this->give_back(block);
  }
  EXPECT_EQ(this->face_.live(), live_before);
}

REGISTER_TYPED_TEST_SUITE_P(Conformance, BlocksAreAlignedDisjointAndKeepTheirContents,
                            FreedMemoryIsReused, ExhaustionFailsCleanlyAndRecovers,
                            RandomWorkloadAgainstAShadow);

/// Names the instantiations after the faces.
struct FaceName {
  template <typename Face>
  static std::string GetName(int /*index*/) {
    return Face::kName;
  }
};

}  // namespace keel_test
