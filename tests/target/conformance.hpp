// tests/target/conformance.hpp: the conformance suite for the target, freestanding (no gtest,
// no containers, no allocation of its own), instantiated for each face of keel that the target
// tests build: the heap in its configurations, the locked heap, the C API, BlockPool and
// ObjectPool (test_conformance.cpp).
//
// A face is a class with
//   static constexpr const char* kName;
//   static constexpr std::size_t kMaxSize;   // the largest request the suite makes
//   static constexpr std::size_t kMaxAlign;  // the largest alignment it asks for
//   void* allocate(std::size_t size, std::size_t align);   // null when out of memory
//   void free(void* pointer);
//   std::size_t live();                      // blocks in use, from the face's own counters
//   bool healthy();                          // the face's validate()
//
// Every block handed out is checked for alignment (on Cortex-M0 a misaligned block would fault
// at its first word access; elsewhere the tests trap unaligned accesses), written in full with a
// pattern, and checked for that pattern before it is freed, so that overlapping blocks or a
// heap that writes into live blocks are found.
#pragma once

#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "support/op_model.hpp"

namespace keel::target_test {

template <typename Face, std::size_t kSlots = 48>
class Conformance {
 public:
  explicit Conformance(Face& face) : face_(face) {}

  /// Runs every case; failures are counted in keel::check's tally.
  void run(std::uint64_t seed) {
    check::out().text("  ").text(Face::kName).text("\n");
    sizes_and_alignments();
    fill_and_drain(seed);
    random_churn(seed, 3000);
    exhaust_and_recover();
    KEEL_EXPECT(face_.live() == 0);
    KEEL_EXPECT(face_.healthy());
  }

 private:
  struct Slot {
    std::byte* pointer = nullptr;
    std::size_t size = 0;
    std::uint8_t seed = 0;
  };

  static std::uintptr_t address(const void* pointer) {
    return reinterpret_cast<std::uintptr_t>(pointer);
  }
  static std::byte pattern(std::uint8_t seed, std::size_t index) {
    return static_cast<std::byte>(seed + index * 7U);
  }

  /// Checks a fresh block and records it in `slot`. False if it was null.
  bool take(Slot& slot, std::size_t size, std::size_t align, std::uint8_t seed) {
    auto* pointer = static_cast<std::byte*>(face_.allocate(size, align));
    if (pointer == nullptr) {
      return false;
    }
    const bool aligned = address(pointer) % align == 0;
    if (!KEEL_EXPECT(aligned)) {
      check::out().text("    ").text(Face::kName).text(": block ").address(pointer);
      check::out().text(" not aligned to ").decimal(align).text("\n");
    }
    bool apart = true;
    for (const Slot& other : slots_) {
      if (other.pointer != nullptr && address(pointer) < address(other.pointer) + other.size &&
          address(other.pointer) < address(pointer) + (size == 0 ? 1 : size)) {
        apart = false;
      }
    }
    KEEL_EXPECT(apart);
    slot = Slot{pointer, size, seed};
    for (std::size_t i = 0; i < size; ++i) {
      pointer[i] = pattern(seed, i);
    }
    return true;
  }

  void give_back(Slot& slot) {
    bool intact = true;
    for (std::size_t i = 0; i < slot.size; ++i) {
      intact = intact && slot.pointer[i] == pattern(slot.seed, i);
    }
    if (!KEEL_EXPECT(intact)) {
      check::out().text("    ").text(Face::kName).text(": block ").address(slot.pointer);
      check::out().text(" of ").decimal(slot.size).text(" B overwritten\n");
    }
    face_.free(slot.pointer);
    slot = Slot{};
  }

  void give_back_all() {
    for (Slot& slot : slots_) {
      if (slot.pointer != nullptr) {
        give_back(slot);
      }
    }
  }

  /// Every alignment from 1 to kMaxAlign, with sizes around the small-block boundaries, eight
  /// blocks live at a time (the M0's heap is small).
  void sizes_and_alignments() {
    constexpr std::size_t kLive = 8;
    constexpr std::size_t kSizes[] = {1, 3, 4, 7, 8, 12, 13, 16, 24, 31, 64, 100, 127, 128, 129};
    std::size_t slot = 0;
    for (std::size_t align = 1; align <= Face::kMaxAlign; align *= 2) {
      for (const std::size_t size : kSizes) {
        if (size > Face::kMaxSize) {
          continue;
        }
        if (slots_[slot].pointer != nullptr) {
          give_back(slots_[slot]);
        }
        KEEL_EXPECT(take(slots_[slot], size, align, static_cast<std::uint8_t>(slot)));
        slot = (slot + 1) % kLive;
      }
    }
    give_back_all();
    KEEL_EXPECT(face_.live() == 0);
    KEEL_EXPECT(face_.healthy());
  }

  /// Fills every slot, then frees them in an order that makes the neighbours merge both ways.
  void fill_and_drain(std::uint64_t seed) {
    test::Random random(seed);
    for (std::size_t i = 0; i < kSlots; ++i) {
      const std::size_t size = 1 + random.below(Face::kMaxSize < 200 ? Face::kMaxSize : 200);
      KEEL_EXPECT(take(slots_[i], size, 8, static_cast<std::uint8_t>(i)));
    }
    KEEL_EXPECT(face_.live() == kSlots);
    for (std::size_t i = 0; i < kSlots; i += 2) {
      give_back(slots_[i]);
    }
    KEEL_EXPECT(face_.healthy());
    for (std::size_t i = 1; i < kSlots; i += 2) {
      give_back(slots_[i]);
    }
    KEEL_EXPECT(face_.live() == 0);
    KEEL_EXPECT(face_.healthy());
  }

  /// Random allocations and frees, sizes mostly small, some up to kMaxSize.
  void random_churn(std::uint64_t seed, unsigned steps) {
    test::Random random(seed * 7919 + 1);
    unsigned failures = 0;
    for (unsigned step = 0; step < steps; ++step) {
      Slot& slot = slots_[random.below(kSlots)];
      if (slot.pointer != nullptr) {
        give_back(slot);
        continue;
      }
      const std::size_t limit = random.chance(20)     ? Face::kMaxSize
                                : Face::kMaxSize < 96 ? Face::kMaxSize
                                                      : 96;
      std::size_t align = std::size_t{1} << random.below(8);
      align = align > Face::kMaxAlign ? Face::kMaxAlign : align;
      if (!take(slot, 1 + random.below(limit), align, static_cast<std::uint8_t>(step))) {
        ++failures;
      }
      if (step % 500 == 0) {
        KEEL_EXPECT(face_.healthy());
      }
    }
    give_back_all();
    KEEL_EXPECT(failures < steps / 10);  // the faces get enough memory for this mix
    KEEL_EXPECT(face_.live() == 0);
    KEEL_EXPECT(face_.healthy());
  }

  /// Allocates until the face says no, frees everything, and checks it serves again: memory
  /// is not lost to an exhaustion.
  void exhaust_and_recover() {
    std::size_t first_round = 0;
    for (int round = 0; round < 2; ++round) {
      std::size_t count = 0;
      // Chain the blocks through their own first word, so that no slot array limits the count.
      void* chain = nullptr;
      for (;;) {
        void* block = face_.allocate(Face::kMaxSize < 64 ? Face::kMaxSize : 64, 8);
        if (block == nullptr) {
          break;
        }
        *static_cast<void**>(block) = chain;
        chain = block;
        ++count;
      }
      KEEL_EXPECT(count > 0);
      KEEL_EXPECT(face_.healthy());
      while (chain != nullptr) {
        void* next = *static_cast<void**>(chain);
        face_.free(chain);
        chain = next;
      }
      if (round == 0) {
        first_round = count;
      } else {
        KEEL_EXPECT(count == first_round);
      }
    }
    KEEL_EXPECT(face_.live() == 0);
  }

  Face& face_;
  Slot slots_[kSlots] = {};
};

}  // namespace keel::target_test
