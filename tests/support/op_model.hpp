// tests/support/op_model.hpp: one operation model for every test of a keel heap.
//
// An `Operation` (allocate, free, reallocate, claim, extend, truncate) is applied to a heap and to
// a shadow model of what the heap must hold at the same time. After each operation the model
// checks what the heap returned (alignment, usable size, no overlap with another live block,
// inside a claimed region, the contents of every block it touches intact) and then runs
// validate(). The same model drives the host property tests, the fuzzer, and the on-target
// property test, so it is freestanding: no gtest, no containers, no printing. A failure leaves a
// message in `failure()`; the caller prints it with its seed and may dump the heap.
//
// Hostile by design (o1heap's tests): region buffers are filled with random bytes before they
// are claimed, and every byte handed out is written with a pattern and checked before it is
// freed, moved or shrunk.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/detail/bins.hpp"
#include "keel/detail/block.hpp"
#include "keel/detail/format.hpp"
#include "keel/heap.hpp"

namespace keel::test {

/// splitmix64: small, fast, and the same sequence on every target.
class Random {
 public:
  explicit constexpr Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t value = (state_ += 0x9E3779B97F4A7C15ULL);
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
    return value ^ (value >> 31);
  }
  /// Uniform in [0, bound). Precondition: bound > 0.
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  std::uint64_t state_;
};

enum class OpKind : std::uint8_t { allocate, free, reallocate, claim, extend, truncate };

/// One step. `slot` names a block slot (allocate, free, reallocate) or a region slot (claim,
/// extend, truncate); `size`, `align`, `offset` are interpreted per kind (see Model::apply).
struct Operation {
  OpKind kind;
  std::uint32_t slot;
  std::size_t size;
  std::size_t align;
  std::size_t offset;
};

/// Writes text into a fixed buffer; a sink for detail::TextWriter.
class MessageBuffer {
 public:
  void operator()(const char* text, std::size_t length) {
    for (std::size_t i = 0; i < length && used_ + 1 < sizeof text_; ++i) {
      text_[used_++] = text[i];
    }
    text_[used_] = '\0';
  }
  [[nodiscard]] const char* c_str() const { return text_; }
  [[nodiscard]] bool empty() const { return used_ == 0; }
  void clear() {
    used_ = 0;
    text_[0] = '\0';
  }

 private:
  char text_[256] = {};
  std::size_t used_ = 0;
};

/// How the random generator weighs the operations, and what sizes it asks for.
struct Mix {
  unsigned allocate = 40;
  unsigned free = 30;
  unsigned reallocate = 15;
  unsigned claim = 3;
  unsigned extend = 6;
  unsigned truncate = 6;
  std::size_t max_size = 600;       ///< most requests are up to this size
  std::size_t large_size = 8192;    ///< an occasional request up to this size
  std::size_t max_align_shift = 9;  ///< alignments up to 2^this
};

template <typename HeapT, std::size_t kSlots = 128, std::size_t kRegions = 4>
class Model {
 public:
  /// `memory` is split into kRegions equal buffers; region slot 0 is claimed at once (its middle
  /// half, so that extend can grow it both ways). The buffers are filled with `random` bytes.
  Model(HeapT& heap, Span memory, Random& random)
      : heap_(heap), previous_handler_(set_fault_handler(&record_fault)) {
    fault_seen_ = false;
    const std::size_t each = memory.size / kRegions & ~std::size_t{63};
    for (std::size_t i = 0; i < kRegions; ++i) {
      regions_[i].buffer = Span{memory.data + i * each, each};
    }
    for (std::size_t i = 0; i < kRegions * each; ++i) {
      memory.data[i] = static_cast<std::byte>(random.next());
    }
    const Span& buffer = regions_[0].buffer;
    apply(Operation{OpKind::claim, 0, buffer.size / 2, 0, buffer.size / 4});
  }

  ~Model() { set_fault_handler(previous_handler_); }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  /// Applies one operation to the heap and the model. Returns false (with failure() set) if the
  /// heap did something it must not. Operations that make no sense in the current state (free of
  /// an empty slot, extend of an unclaimed region) are skipped and count as success.
  bool apply(const Operation& op) {
    if (!failure_.empty()) {
      return false;
    }
    ++step_;
    switch (op.kind) {
      case OpKind::allocate: do_allocate(op); break;
      case OpKind::free: do_free(op); break;
      case OpKind::reallocate: do_reallocate(op); break;
      case OpKind::claim: do_claim(op); break;
      case OpKind::extend: do_extend(op); break;
      case OpKind::truncate: do_truncate(op); break;
    }
    if (fault_seen_ && failure_.empty()) {
      fail(to_string(fault_kind_), fault_address_);  // the model never misuses the heap
    }
    if (failure_.empty()) {
      check_heap();
    }
    return failure_.empty();
  }

  /// A random operation, weighted by `mix`.
  Operation random_operation(Random& random, const Mix& mix = Mix{}) const {
    const unsigned total =
        mix.allocate + mix.free + mix.reallocate + mix.claim + mix.extend + mix.truncate;
    unsigned pick = static_cast<unsigned>(random.below(total));
    Operation op{};
    op.slot = static_cast<std::uint32_t>(random.below(kSlots));
    op.size = random.chance(3) ? random.below(mix.large_size + 1) : random.below(mix.max_size + 1);
    op.align = std::size_t{1} << random.below(mix.max_align_shift + 1);
    op.offset = static_cast<std::size_t>(random.next() >> 1);
    if (pick < mix.allocate) {
      op.kind = OpKind::allocate;
    } else if ((pick -= mix.allocate) < mix.free) {
      op.kind = OpKind::free;
    } else if ((pick -= mix.free) < mix.reallocate) {
      op.kind = OpKind::reallocate;
    } else if ((pick -= mix.reallocate) < mix.claim) {
      op.kind = OpKind::claim;
    } else if ((pick -= mix.claim) < mix.extend) {
      op.kind = OpKind::extend;
    } else {
      op.kind = OpKind::truncate;
    }
    if (op.kind == OpKind::claim || op.kind == OpKind::extend || op.kind == OpKind::truncate) {
      op.slot = static_cast<std::uint32_t>(random.below(kRegions));
      op.size = static_cast<std::size_t>(random.next() >> 1);
    }
    return op;
  }

  /// Frees every live block, checking each one's contents. Returns false on a failure.
  bool free_all() {
    for (std::uint32_t slot = 0; slot < kSlots; ++slot) {
      if (slots_[slot].pointer != nullptr && !apply(Operation{OpKind::free, slot, 0, 0, 0})) {
        return false;
      }
    }
    return true;
  }

  [[nodiscard]] const char* failure() const { return failure_.c_str(); }
  [[nodiscard]] std::size_t step() const { return step_; }
  [[nodiscard]] std::size_t live_blocks() const { return live_; }
  [[nodiscard]] std::size_t allocations() const { return allocations_; }
  [[nodiscard]] std::size_t failed_allocations() const { return failed_allocations_; }
  [[nodiscard]] std::size_t truncations() const { return truncations_; }

 private:
  struct Slot {
    std::byte* pointer = nullptr;
    std::size_t size = 0;
    std::size_t align = 0;
    std::uint8_t seed = 0;
  };
  struct RegionSlot {
    Span buffer{};
    Span extent{};
    bool claimed = false;
  };

  static std::uintptr_t address(const void* pointer) {
    return reinterpret_cast<std::uintptr_t>(pointer);
  }

  void fail(const char* what, const void* where = nullptr, std::size_t number = 0) {
    detail::TextWriter<MessageBuffer> out(failure_);
    out.text("step ").decimal(step_).text(": ").text(what);
    if (where != nullptr) {
      out.text(" at ").address(where);
    }
    if (number != 0) {
      out.text(" (").decimal(number).text(")");
    }
  }

  static std::byte pattern(std::uint8_t seed, std::size_t index) {
    return static_cast<std::byte>(seed + index * 31U);
  }
  void fill(const Slot& slot, std::size_t from) {
    for (std::size_t i = from; i < slot.size; ++i) {
      slot.pointer[i] = pattern(slot.seed, i);
    }
  }
  bool intact(const Slot& slot, std::size_t length) {
    for (std::size_t i = 0; i < length; ++i) {
      if (slot.pointer[i] != pattern(slot.seed, i)) {
        fail("block contents overwritten", slot.pointer + i, i);
        return false;
      }
    }
    return true;
  }

  /// Checks a block the heap just handed out: alignment, usable size, inside a region, and not
  /// overlapping any other live block.
  bool check_new_block(std::uint32_t self, std::byte* pointer, std::size_t size,
                       std::size_t align) {
    if (address(pointer) % align != 0 || address(pointer) % detail::kGranule != 0) {
      fail("block misaligned", pointer, align);
      return false;
    }
    if (heap_.usable_size(pointer) < size) {
      fail("usable size below the request", pointer, size);
      return false;
    }
    bool inside = false;
    for (const RegionSlot& region : regions_) {
      if (region.claimed && address(pointer) >= address(region.extent.data) &&
          address(pointer) + size <= address(region.extent.data) + region.extent.size) {
        inside = true;
      }
    }
    if (!inside) {
      fail("block outside every region", pointer, size);
      return false;
    }
    for (std::uint32_t other = 0; other < kSlots; ++other) {
      const Slot& slot = slots_[other];
      if (other == self || slot.pointer == nullptr) {
        continue;
      }
      const std::size_t other_size = slot.size == 0 ? 1 : slot.size;
      const std::size_t this_size = size == 0 ? 1 : size;
      if (address(pointer) < address(slot.pointer) + other_size &&
          address(slot.pointer) < address(pointer) + this_size) {
        fail("block overlaps a live block", pointer, other);
        return false;
      }
    }
    return true;
  }

  /// True if the heap had a free block that its O(1) good-fit search must find for this request.
  bool must_succeed(std::size_t size, std::size_t align, const Statistics& before) const {
    if (before.largest_free_block == 0 || size > HeapT::max_request) {
      return false;
    }
    detail::Word wanted = detail::granules_for(size + HeapT::trailer_bytes);
    if (align > detail::kGranule) {
      wanted += static_cast<detail::Word>(align / detail::kGranule) - 1;
    }
    const auto largest = static_cast<detail::Word>(
        (before.largest_free_block + detail::kHeaderBytes) / detail::kGranule);
    using Bins = typename HeapT::Bins;
    const detail::Word start = Bins::search_size(wanted);
    return start <= Bins::kMaxGranules && Bins::bin_floor(Bins::bin_of(largest)) >= start;
  }

  void do_allocate(const Operation& op) {
    Slot& slot = slots_[op.slot];
    if (slot.pointer != nullptr) {
      return;
    }
    const Statistics before = heap_.statistics();
    auto* pointer = static_cast<std::byte*>(heap_.try_allocate(op.size, op.align));
    if (pointer == nullptr) {
      ++failed_allocations_;
      if (must_succeed(op.size, op.align, before)) {
        fail("allocation failed although a fitting block was free", nullptr, op.size);
      }
      return;
    }
    if (!check_new_block(op.slot, pointer, op.size, op.align)) {
      return;
    }
    slot = Slot{pointer, op.size, op.align, static_cast<std::uint8_t>(step_)};
    fill(slot, 0);
    ++live_;
    ++allocations_;
  }

  void do_free(const Operation& op) {
    Slot& slot = slots_[op.slot];
    if (slot.pointer == nullptr || !intact(slot, slot.size)) {
      return;
    }
    heap_.free(slot.pointer);
    slot = Slot{};
    --live_;
  }

  void do_reallocate(const Operation& op) {
    Slot& slot = slots_[op.slot];
    if (slot.pointer == nullptr || !intact(slot, slot.size)) {
      return;
    }
    const std::size_t size = op.size == 0 ? 1 : op.size;  // size 0 frees: covered by unit tests
    auto* pointer = static_cast<std::byte*>(heap_.reallocate(slot.pointer, size, slot.align));
    if (pointer == nullptr) {
      ++failed_allocations_;
      intact(slot, slot.size);  // the old block must be untouched
      return;
    }
    Slot moved = slot;
    moved.pointer = pointer;
    const std::size_t kept = slot.size < size ? slot.size : size;
    moved.size = kept;
    slot.pointer = nullptr;  // exclude the old block from the overlap check
    if (!check_new_block(op.slot, pointer, size, slot.align) || !intact(moved, kept)) {
      slot = moved;
      return;
    }
    moved.size = size;
    fill(moved, kept);
    slot = moved;
  }

  /// A sub-span of `buffer` chosen by `offset` and `size`, clipped to the buffer.
  static Span sub_span(const Span& buffer, std::size_t offset, std::size_t size) {
    const std::size_t start = offset % (buffer.size / 2 + 1);
    const std::size_t room = buffer.size - start;
    return Span{buffer.data + start, size % (room + 1)};
  }

  void do_claim(const Operation& op) {
    RegionSlot& region = regions_[op.slot];
    if (region.claimed) {
      // Claiming memory the heap already has must be refused and change nothing.
      const Statistics before = heap_.statistics();
      const RegionResult result = heap_.claim(region.extent);
      const bool big_enough = region.extent.size >= HeapT::min_region + 2 * detail::kGranule;
      if (result.ok() || (big_enough && result.error() != RegionError::overlaps)) {
        fail("claim of an existing region was not refused as overlapping", region.extent.data);
      } else {
        expect_unchanged(before);
      }
      return;
    }
    const Span wanted = sub_span(region.buffer, op.offset, op.size);
    const Statistics before = heap_.statistics();
    const RegionResult result = heap_.claim(wanted);
    if (!result.ok()) {
      if (wanted.size >= HeapT::min_region + 2 * detail::kGranule) {
        fail("claim of a large enough fresh span refused", wanted.data, wanted.size);
      }
      expect_unchanged(before);
      return;
    }
    const Span extent = result.extent();
    if (address(extent.data) < address(wanted.data) ||
        address(extent.data) + extent.size > address(wanted.data) + wanted.size ||
        extent.size > heap_.largest_region()) {
      fail("claimed extent outside the span given or above max_region", extent.data, extent.size);
      return;
    }
    region.extent = extent;
    region.claimed = true;
  }

  void do_extend(const Operation& op) {
    RegionSlot& region = regions_[op.slot];
    if (!region.claimed) {
      return;
    }
    // A span of the buffer that contains the current extent.
    const std::size_t below = address(region.extent.data) - address(region.buffer.data);
    const std::size_t above = address(region.buffer.data) + region.buffer.size -
                              (address(region.extent.data) + region.extent.size);
    const std::size_t grow_low = below == 0 ? 0 : op.offset % (below + 1);
    const std::size_t grow_high = above == 0 ? 0 : op.size % (above + 1);
    const Span grown{region.extent.data - grow_low, region.extent.size + grow_low + grow_high};
    const Statistics before = heap_.statistics();
    const RegionResult result = heap_.extend(region.extent, grown);
    if (!result.ok()) {
      if (result.error() == RegionError::too_large) {
        if (grown.size <= heap_.largest_region()) {
          fail("extend within max_region refused as too large", grown.data, grown.size);
        }
      } else if (result.error() != RegionError::too_small) {
        fail("extend inside the buffer refused", grown.data,
             static_cast<std::size_t>(result.error()));
      } else if (grow_low >= 32 || grow_high >= 32) {
        fail("extend by a whole block refused as too small", grown.data, grow_low + grow_high);
      }
      expect_unchanged(before);
      return;
    }
    const Span extent = result.extent();
    if (address(extent.data) < address(grown.data) ||
        address(extent.data) + extent.size > address(grown.data) + grown.size ||
        address(extent.data) > address(region.extent.data) || extent.size < region.extent.size ||
        extent.size > heap_.largest_region()) {
      fail("extended extent is not between the old one and the one asked", extent.data,
           extent.size);
      return;
    }
    region.extent = extent;
  }

  void do_truncate(const Operation& op) {
    RegionSlot& region = regions_[op.slot];
    if (!region.claimed) {
      return;
    }
    const RegionResult least = heap_.reserved(region.extent);
    if (!least.ok()) {
      fail("reserved() does not know a claimed region", region.extent.data);
      return;
    }
    // Half the time keep exactly what reserved() says must stay (plus a little), otherwise
    // something random inside the region, which may cut a live block and must then be refused.
    Span keep;
    if (op.offset % 8 == 0) {
      keep = Span{};  // release the whole region: refused unless it holds no live block
    } else if (op.offset % 2 == 0) {
      keep = least.extent();
    } else {
      keep = sub_span(region.extent, op.offset, op.size);
      if (keep.size == 0) {
        keep.size = 1;
      }
    }
    const Statistics before = heap_.statistics();
    const RegionResult result = heap_.truncate(region.extent, keep);
    if (!result.ok()) {
      if (keep.data == least.extent().data && keep.size == least.extent().size &&
          result.error() != RegionError::too_small) {
        fail("truncate to reserved() refused", keep.data, static_cast<std::size_t>(result.error()));
      }
      expect_unchanged(before);
      return;
    }
    ++truncations_;
    const Span extent = result.extent();
    if (keep.size == 0) {
      if (!extent.empty()) {
        fail("releasing a region returned a non-empty extent", extent.data);
      }
      region.claimed = false;
      region.extent = Span{};
      return;
    }
    if (address(extent.data) > address(keep.data) ||
        address(extent.data) + extent.size < address(keep.data) + keep.size ||
        address(extent.data) < address(region.extent.data) ||
        address(extent.data) + extent.size > address(region.extent.data) + region.extent.size) {
      fail("truncated extent does not contain the kept span", extent.data, extent.size);
      return;
    }
    const Span old_extent = region.extent;
    region.extent = extent;
    for (const Slot& slot : slots_) {
      const bool was_inside = address(slot.pointer) >= address(old_extent.data) &&
                              address(slot.pointer) < address(old_extent.data) + old_extent.size;
      if (slot.pointer != nullptr && was_inside &&
          (address(slot.pointer) < address(extent.data) ||
           address(slot.pointer) + slot.size > address(extent.data) + extent.size)) {
        fail("a live block is outside its truncated region", slot.pointer, slot.size);
        return;
      }
    }
  }

  void expect_unchanged(const Statistics& before) {
    const Statistics after = heap_.statistics();
    // A region call flushes the quick lists first, refused or not (docs/design.md section 15):
    // the blocks they held merge, so only the free block count may fall.
    const bool blocks_kept = HeapT::options.quick_lists != 0
                                 ? after.free_blocks <= before.free_blocks
                                 : after.free_blocks == before.free_blocks;
    if (after.bytes_claimed != before.bytes_claimed || after.bytes_free != before.bytes_free ||
        after.bytes_in_use != before.bytes_in_use || !blocks_kept) {
      fail("a refused region call changed the heap");
    }
  }

  void check_heap() {
    const ValidationResult result = heap_.validate();
    if (!result.ok()) {
      fail(to_string(result.kind), result.address);
      return;
    }
    if constexpr (HeapT::options.statistics) {
      const Statistics stats = heap_.statistics();
      std::size_t claimed = 0;
      for (const RegionSlot& region : regions_) {
        claimed += region.claimed ? region.extent.size : 0;
      }
      if (stats.live_allocations != live_) {
        fail("live allocation count differs from the model", nullptr, stats.live_allocations);
      } else if (stats.bytes_claimed != claimed) {
        fail("claimed bytes differ from the model", nullptr, stats.bytes_claimed);
      }
    }
  }

  /// Faults are recorded here while a model runs (one model at a time).
  static void record_fault(Fault fault, const void* address) noexcept {
    fault_seen_ = true;
    fault_kind_ = fault;
    fault_address_ = address;
  }
  static inline bool fault_seen_ = false;
  static inline Fault fault_kind_ = Fault::invalid_pointer;
  static inline const void* fault_address_ = nullptr;

  HeapT& heap_;
  FaultHandler previous_handler_;
  Slot slots_[kSlots] = {};
  RegionSlot regions_[kRegions] = {};
  MessageBuffer failure_;
  std::size_t step_ = 0;
  std::size_t live_ = 0;
  std::size_t allocations_ = 0;
  std::size_t failed_allocations_ = 0;
  std::size_t truncations_ = 0;
};

}  // namespace keel::test
