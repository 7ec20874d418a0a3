// tests/fuzz/fuzz_keel.cpp: the libFuzzer target. The input's bytes decode into heap and pool
// operations:
//   - allocate, free, reallocate, claim, extend and truncate run through the shared operation
//     model (tests/support/op_model.hpp), which checks every result against its shadow of the
//     live blocks and regions and runs validate() after every step;
//   - deliberate misuse (misaligned, foreign, interior and already-freed pointers handed to free,
//     reallocate and usable_size; impossible requests) must be refused, reported through the
//     fault hook with the right kind and address where the checking level promises it, and leave
//     the heap exactly as it was;
//   - with Checking::full and debug, writes outside a block (one byte past the request, into the
//     header in front, into a freed block) must be found by validate() and by the next call on
//     that block, and undoing the damage must leave a heap that goes on as if nothing happened;
//   - a BlockPool over its own buffer is driven against a small shadow of its live blocks, with
//     its own misuse (foreign, interior, double release).
// Any disagreement prints the step and the heap map, then aborts: libFuzzer keeps the input.
//
// Input layout (a missing byte reads as 0, so every input is valid)
//   byte 0      the heap configuration (kConfigurations below)
//   bytes 1-8   the seed of the random bytes the arena is filled with before it is claimed
//   bytes 9-12  the pool: block size, alignment, flags (bitmap, checking), storage length
//   then        steps: an opcode byte (decode_step) and its operands
//
// Built two ways (tests/fuzz/CMakeLists.txt): with -fsanitize=fuzzer in the host-fuzz preset it is
// the fuzzer; in every other host build it is linked with replay_main.cpp and runs the seed corpus
// once as a regression test. docs/errors.md has the commands for long runs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "keel/heap.hpp"
#include "keel/pool.hpp"
#include "support/op_model.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define KEEL_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_FUZZ_ASAN 1
#endif
#endif
#if defined(KEEL_FUZZ_ASAN)
#include <sanitizer/asan_interface.h>
#define KEEL_FUZZ_UNCHECKED __attribute__((no_sanitize("address")))
#else
#define KEEL_FUZZ_UNCHECKED
#endif

namespace {

using keel::Checking;
using keel::FailOnOom;
using keel::Fault;
using keel::HeapOptions;
using keel::test::Operation;
using keel::test::OpKind;

/// The heap's granule (keel/detail/block.hpp): 8 or 16 bytes. Payloads are granule-aligned, so a
/// pointer off a granule boundary is misaligned and one on it inside a block is interior.
constexpr std::size_t kGranule = keel::detail::kGranule;

constexpr std::size_t kSlots = 128;
constexpr std::size_t kRegions = 4;
constexpr std::size_t kArenaBytes = 64 * 1024;
constexpr std::size_t kMaxSteps = 4096;
constexpr std::size_t kPoolStorageBytes = 4096 + 64;
constexpr std::size_t kMaxPoolBlocks = kPoolStorageBytes / sizeof(void*);

alignas(64) std::byte g_arena[kArenaBytes + 64];
alignas(64) std::byte g_pool_storage[kPoolStorageBytes + 64];
alignas(64) std::byte g_outside[256];  // foreign to both heap and pool

/// The deliberate writes outside a block. Under AddressSanitizer keel has poisoned those bytes, and
/// ASan would (rightly) stop the run at the write; these two accesses are exempt, so that the
/// fuzzer can see keel's own checks catch the damage.
KEEL_FUZZ_UNCHECKED std::byte peek(const std::byte* at) {
  return *static_cast<const volatile std::byte*>(at);
}
KEEL_FUZZ_UNCHECKED void poke(std::byte* at, std::byte value) {
  *static_cast<volatile std::byte*>(at) = value;
}

/// Reads the input front to back; past its end every read is 0.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const { return used_ >= size_; }
  std::uint8_t byte() { return used_ < size_ ? data_[used_++] : 0; }
  std::uint16_t u16() {
    const unsigned low = byte();  // two statements: the order of the reads is fixed
    return static_cast<std::uint16_t>(low | unsigned{byte()} << 8);
  }
  std::uint32_t u32() {
    const std::uint32_t low = u16();
    return low | static_cast<std::uint32_t>(u16()) << 16;
  }
  std::uint64_t u64() {
    const std::uint64_t low = u32();
    return low | static_cast<std::uint64_t>(u32()) << 32;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t used_ = 0;
};

// --- the fault hook ------------------------------------------------------------------------------

struct FaultLog {
  std::size_t count = 0;
  Fault first{};
  const void* first_address = nullptr;
  Fault last{};
  const void* last_address = nullptr;
};
FaultLog g_faults;

void record_fault(Fault fault, const void* address) noexcept {
  if (g_faults.count++ == 0) {
    g_faults.first = fault;
    g_faults.first_address = address;
  }
  g_faults.last = fault;
  g_faults.last_address = address;
}

// --- failure reports
// -------------------------------------------------------------------------------

std::size_t g_step = 0;

void print_text(const char* text, std::size_t length) {
  std::fwrite(text, 1, length, stderr);
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "keel fuzz: step %zu: %s\n", g_step, what);
  std::abort();
}

template <typename HeapT>
[[noreturn]] void die_with_map(const HeapT& heap, const char* what) {
  std::fprintf(stderr, "keel fuzz: step %zu: %s\nheap:\n", g_step, what);
  heap.dump(&print_text);
  std::abort();
}

/// Expects exactly one fault of `kind` at `address` since the log was cleared; with
/// `debug_revalidates`, also accepts the corrupted_block that a debug heap's validate() adds at the
/// end of the call that found damage.
void expect_fault(Fault kind, const void* address, bool debug_revalidates = false) {
  const bool one = g_faults.count == 1;
  const bool debug_pair =
      debug_revalidates && g_faults.count == 2 && g_faults.last == Fault::corrupted_block;
  if ((!one && !debug_pair) || g_faults.first != kind || g_faults.first_address != address) {
    std::fprintf(
        stderr, "keel fuzz: step %zu: expected one %s at %p, got %zu fault(s), first %s at %p\n",
        g_step, keel::to_string(kind), address, g_faults.count,
        g_faults.count == 0 ? "-" : keel::to_string(g_faults.first), g_faults.first_address);
    std::abort();
  }
  g_faults = FaultLog{};
}

void expect_no_fault() {
  if (g_faults.count != 0) {
    std::fprintf(stderr, "keel fuzz: step %zu: unexpected fault %s at %p\n", g_step,
                 keel::to_string(g_faults.first), g_faults.first_address);
    std::abort();
  }
}

// --- decoding ------------------------------------------------------------------------------------

enum class Step : std::uint8_t {
  allocate,
  free,
  reallocate,
  claim,
  extend,
  truncate,
  bad_pointer,
  bad_request,
  zeroed,
  bad_write,
  pool_acquire,
  pool_release,
  pool_misuse,
};

/// Opcode ranges: most steps allocate and free, region calls are rarer, misuse rarer still.
Step decode_step(std::uint8_t opcode) {
  struct Range {
    std::uint8_t below;
    Step step;
  };
  static constexpr Range kRanges[] = {
      {64, Step::allocate},      {104, Step::free},         {128, Step::reallocate},
      {136, Step::claim},        {148, Step::extend},       {160, Step::truncate},
      {172, Step::bad_pointer},  {180, Step::bad_request},  {186, Step::zeroed},
      {210, Step::pool_acquire}, {234, Step::pool_release}, {244, Step::pool_misuse},
      {250, Step::bad_write},
  };
  for (const Range& range : kRanges) {
    if (opcode < range.below) {
      return range.step;
    }
  }
  return Step::allocate;
}

const char* to_string(Step step) {
  static constexpr const char* kNames[] = {
      "allocate",     "free",         "reallocate",  "claim",  "extend",
      "truncate",     "bad_pointer",  "bad_request", "zeroed", "bad_write",
      "pool_acquire", "pool_release", "pool_misuse",
  };
  return kNames[static_cast<unsigned>(step)];
}

/// Sizes: mostly small, some up to 64 KiB, a few beyond the largest request or near SIZE_MAX.
std::size_t decode_size(ByteReader& in) {
  const std::uint8_t code = in.byte();
  if (code < 192) {
    return std::size_t{code} * 3;
  }
  if (code < 252) {
    return in.u16();
  }
  if (code < 254) {
    return std::size_t{in.u32()};
  }
  return SIZE_MAX - in.byte();  // huge: must fail without overflowing anything
}

Operation decode_block_operation(OpKind kind, ByteReader& in) {
  Operation op{kind, 0, 0, 0, 0};
  op.slot = in.byte() % kSlots;
  op.size = decode_size(in);
  op.align = std::size_t{1} << (in.byte() % 13);
  return op;
}

Operation decode_region_operation(OpKind kind, ByteReader& in) {
  Operation op{kind, 0, 0, 0, 0};
  op.slot = in.byte() % kRegions;
  op.size = in.u32();
  op.offset = in.u32();
  return op;
}

// --- misuse of the heap --------------------------------------------------------------------------

/// The payload of the n-th used (or free) block in walk order, or null if there is none.
template <typename HeapT>
std::byte* nth_block(const HeapT& heap, bool used, std::size_t n) {
  std::size_t count = 0;
  heap.walk([&](const keel::BlockInfo& info) { count += info.used == used ? 1 : 0; });
  if (count == 0) {
    return nullptr;
  }
  n %= count;
  std::byte* found = nullptr;
  heap.walk([&](const keel::BlockInfo& info) {
    if (info.used == used && n-- == 0) {
      found = static_cast<std::byte*>(info.address);
    }
  });
  return found;
}

struct Snapshot {
  keel::Statistics stats;
  std::size_t used_blocks = 0;
  std::size_t free_blocks = 0;
};

template <typename HeapT>
Snapshot snapshot(const HeapT& heap) {
  Snapshot result{heap.statistics(), 0, 0};
  heap.walk([&](const keel::BlockInfo& info) {
    ++(info.used ? result.used_blocks : result.free_blocks);
  });
  return result;
}

template <typename HeapT>
void expect_unchanged(const HeapT& heap, const Snapshot& before) {
  const Snapshot after = snapshot(heap);
  if (after.used_blocks != before.used_blocks || after.free_blocks != before.free_blocks ||
      after.stats.bytes_in_use != before.stats.bytes_in_use ||
      after.stats.bytes_free != before.stats.bytes_free ||
      after.stats.live_allocations != before.stats.live_allocations ||
      after.stats.free_blocks != before.stats.free_blocks) {
    die_with_map(heap, "a refused call changed the heap");
  }
  if (const keel::ValidationResult result = heap.validate(); !result.ok()) {
    die_with_map(heap, keel::to_string(result.kind));
  }
}

/// A bad pointer handed to free, reallocate or usable_size: the heap must report it with the
/// expected kind and stay as it was. Interior pointers are tried only where the checking level
/// promises to catch them (docs/design.md section 7: basic may take a pointer whose preceding
/// bytes form a consistent header for a block).
template <typename HeapT>
void bad_pointer(HeapT& heap, ByteReader& in) {
  constexpr Checking kLevel = HeapT::options.checking;
  if constexpr (kLevel == Checking::none) {
    (void)heap;
    (void)in;
    return;
  } else {
    const std::uint8_t kind = in.byte();
    const std::uint8_t call = in.byte();
    const std::uint16_t pick = in.u16();
    const std::uint8_t detail = in.byte();
    std::byte* pointer = nullptr;
    Fault expected{};
    switch (kind % 4) {
      case 0:
        pointer = nth_block(heap, true, pick);
        if (pointer == nullptr) {
          return;
        }
        pointer += 1 + detail % (kGranule - 1);
        expected = Fault::misaligned_pointer;
        break;
      case 1:
        // A static buffer outside the arena, or a small address far below it.
        pointer = detail % 2 == 0 ? g_outside + 8 * (detail % 32)
                                  : reinterpret_cast<std::byte*>(std::uintptr_t{8} * (1U + pick));
        expected = Fault::foreign_pointer;
        break;
      case 2:
        pointer = nth_block(heap, false, pick);
        if (pointer == nullptr) {
          return;
        }
        expected = Fault::double_free;
        break;
      default: {
        if constexpr (kLevel == Checking::basic) {
          return;
        } else {
          pointer = nth_block(heap, true, pick);
          const std::size_t usable = pointer == nullptr ? 0 : heap.usable_size(pointer);
          if (usable < 2 * kGranule) {
            return;
          }
          pointer += kGranule * (1 + detail % (usable / kGranule - 1));
          expected = Fault::invalid_pointer;
        }
        break;
      }
    }
    // Where the bytes in front of an interior pointer look like a freed block (the caller's own
    // data can), the refusal is reported as double_free: keel cannot tell them from one.
    const bool interior = kind % 4 == 3;
    const Snapshot before = snapshot(heap);
    g_faults = FaultLog{};
    switch (call % 4) {
      case 0: heap.free(pointer); break;
      case 1:
        if (heap.reallocate(pointer, detail) != nullptr) {
          die_with_map(heap, "reallocate accepted a bad pointer");
        }
        break;
      case 2:
        if (heap.usable_size(pointer) != 0) {
          die_with_map(heap, "usable_size accepted a bad pointer");
        }
        break;
      default:
        if (heap.try_resize_in_place(pointer, detail)) {
          die_with_map(heap, "try_resize_in_place accepted a bad pointer");
        }
        break;
    }
    if (interior && g_faults.count == 1 && g_faults.first == Fault::double_free) {
      expected = Fault::double_free;
    }
    expect_fault(expected, pointer);
    expect_unchanged(heap, before);
  }
}

/// max_request + 1 + extra, or SIZE_MAX where that sum wraps (32-bit targets: max_request is
/// within 12 bytes of SIZE_MAX there).
template <typename HeapT>
std::size_t past_max_request(std::size_t extra) {
  std::size_t size = 0;
  return __builtin_add_overflow(HeapT::max_request, extra + 1, &size) ? SIZE_MAX : size;
}

/// Requests that must fail at once, whatever the heap holds: an alignment that is not a power of
/// two, more than max_request, a count × size product that overflows; and a live block asked to
/// grow past max_request. None may change the heap or touch the block.
template <typename HeapT>
void bad_request(HeapT& heap, ByteReader& in) {
  static constexpr std::size_t kBadAlignments[] = {0, 3, 6, 12, 24, 48, 100, SIZE_MAX};
  const std::uint8_t kind = in.byte();
  const std::size_t size = decode_size(in);
  const std::uint8_t detail = in.byte();
  const Snapshot before = snapshot(heap);
  g_faults = FaultLog{};
  switch (kind % 4) {
    case 0:
      if (heap.try_allocate(size, kBadAlignments[detail % 8]) != nullptr) {
        die_with_map(heap, "an alignment that is not a power of two was served");
      }
      break;
    case 1:
      if (heap.try_allocate(past_max_request<HeapT>(size % 4096)) != nullptr) {
        die_with_map(heap, "a request above max_request was served");
      }
      break;
    case 2:
      if (heap.allocate_zeroed(SIZE_MAX / (detail + 2) + 1 + size % 64, detail + 2) != nullptr) {
        die_with_map(heap, "an overflowing allocate_zeroed was served");
      }
      break;
    default: {
      std::byte* block = nth_block(heap, true, size);
      if (block == nullptr) {
        return;
      }
      if (heap.reallocate(block, past_max_request<HeapT>(detail)) != nullptr ||
          heap.try_resize_in_place(block, SIZE_MAX - detail)) {
        die_with_map(heap, "a block grew past max_request");
      }
      break;
    }
  }
  expect_no_fault();
  expect_unchanged(heap, before);
}

/// allocate_zeroed of a product that fits: the block must be zero (the arena was random bytes).
/// It is freed at once, so that the model's count of live blocks stays right.
template <typename HeapT>
void zeroed(HeapT& heap, ByteReader& in) {
  const std::size_t count = in.byte();
  const std::size_t size = in.byte();
  const std::size_t align = std::size_t{1} << (in.byte() % 8);
  auto* block = static_cast<std::byte*>(heap.allocate_zeroed(count, size, align));
  if (block == nullptr) {
    return;
  }
  if (reinterpret_cast<std::uintptr_t>(block) % align != 0 ||
      heap.usable_size(block) < count * size) {
    die_with_map(heap, "allocate_zeroed returned a block that does not fit the request");
  }
  for (std::size_t i = 0; i < count * size; ++i) {
    if (block[i] != std::byte{0}) {
      die_with_map(heap, "allocate_zeroed returned a block that is not zero");
    }
  }
  heap.free(block);
  expect_no_fault();
}

/// Checking::full and debug: a write outside a block, found, then undone. On a block of its own
/// (allocated here and freed at the end, so that the model's record stays right):
///   0: one byte past the request: validate() says trailer_damaged, free refuses with
///      buffer_overrun and keeps the block;
///   1: the top byte of the block's header: free refuses with invalid_pointer;
///   2: a byte of the block after it was freed: validate() says free_block_written.
/// And on a live block of the model: 3: one byte past the request, seen by validate() only.
template <typename HeapT>
void bad_write(HeapT& heap, ByteReader& in) {
  constexpr Checking kLevel = HeapT::options.checking;
  const std::uint8_t kind = in.byte();
  const std::size_t size = 24 + in.byte() % 200;
  const std::uint8_t flip = static_cast<std::uint8_t>(in.byte() | 1U);
  const std::uint16_t pick = in.u16();
  if constexpr (kLevel != Checking::full && kLevel != Checking::debug) {
    (void)heap;
    (void)kind;
    (void)size;
    (void)flip;
    (void)pick;
    return;
  } else {
    constexpr bool kDebug = kLevel == Checking::debug;
    const auto damage = [flip](std::byte* at) {
      const std::byte saved = peek(at);
      poke(at, saved ^ static_cast<std::byte>(flip));
      return saved;
    };
    const auto expect_violation = [&heap](keel::Violation violation) {
      if (heap.validate().kind != violation) {
        die_with_map(heap, "validate() missed the damage, or named it wrongly");
      }
    };
    if (kind % 4 == 3) {
      std::byte* block = nth_block(heap, true, pick);
      if (block == nullptr) {
        return;
      }
      std::byte* past = block + heap.usable_size(block);
      const std::byte saved = damage(past);
      expect_violation(keel::Violation::trailer_damaged);
      poke(past, saved);
      expect_violation(keel::Violation::none);
      expect_no_fault();
      return;
    }
    auto* block = static_cast<std::byte*>(heap.try_allocate(size, 8));
    if (block == nullptr) {
      return;
    }
    const Snapshot before = snapshot(heap);
    switch (kind % 4) {
      case 0: {
        const std::byte saved = damage(block + size);
        expect_violation(keel::Violation::trailer_damaged);
        heap.free(block);
        expect_fault(Fault::buffer_overrun, block, kDebug);
        poke(block + size, saved);
        expect_unchanged(heap, before);
        heap.free(block);
        break;
      }
      case 1: {
        const std::byte saved = damage(block - 1);
        heap.free(block);
        expect_fault(Fault::invalid_pointer, block, kDebug);
        poke(block - 1, saved);
        expect_unchanged(heap, before);
        heap.free(block);
        break;
      }
      default: {
        heap.free(block);
        // Past the links at the front and clear of a footer at the end.
        std::byte* inside = block + 8 + pick % (size - 16);
        const std::byte saved = damage(inside);
        expect_violation(keel::Violation::free_block_written);
        poke(inside, saved);
        break;
      }
    }
    expect_no_fault();
    if (const keel::ValidationResult result = heap.validate(); !result.ok()) {
      die_with_map(heap, keel::to_string(result.kind));
    }
  }
}

// --- the pool ------------------------------------------------------------------------------------

/// A BlockPool over g_pool_storage and the shadow of its live blocks.
class PoolRun {
 public:
  struct Setup {
    std::size_t block_size;
    std::size_t align;
    bool bitmap;
    Checking checking;
    std::size_t offset;
    std::size_t length;
  };

  static Setup decode(ByteReader& in) {
    const std::uint8_t size = in.byte();
    const std::uint8_t align = in.byte();
    const std::uint8_t flags = in.byte();
    const std::uint8_t length = in.byte();
    return Setup{1U + size % 200U,    std::size_t{1} << (align % 8),
                 (flags & 1U) != 0,   (flags & 2U) != 0 ? Checking::none : Checking::basic,
                 (flags >> 2U) % 16U, 64U + std::size_t{length} * 16U};
  }

  explicit PoolRun(const Setup& setup)
      : setup_(setup),
        pool_(keel::Span{g_pool_storage + setup.offset, setup.length}, setup.block_size,
              setup.align, setup.checking,
              setup.bitmap ? keel::PoolBitmap{bits_, sizeof bits_ / sizeof bits_[0]}
                           : keel::PoolBitmap{}) {
    if (pool_.capacity() > kMaxPoolBlocks) {
      die("pool holds more blocks than its storage can");
    }
  }

  void acquire() {
    auto* block = static_cast<std::byte*>(pool_.acquire());
    if (live_count_ == pool_.capacity()) {
      if (block != nullptr) {
        die("a full pool handed out a block");
      }
      return;
    }
    if (block == nullptr) {
      die("a pool with free blocks refused to hand one out");
    }
    const auto address = reinterpret_cast<std::uintptr_t>(block);
    const auto base = reinterpret_cast<std::uintptr_t>(pool_.extent().data);
    if (!pool_.owns(block) || address % setup_.align != 0 || address < base ||
        address + setup_.block_size > base + pool_.extent().size) {
      die("a pool block is misaligned or outside the pool");
    }
    for (std::size_t i = 0; i < live_count_; ++i) {
      if (live_[i] == block) {
        die("a pool handed out a live block");
      }
    }
    forget_released(block);
    live_[live_count_++] = block;
    fill(block);
    check();
  }

  void release(std::uint16_t pick) {
    if (live_count_ == 0) {
      return;
    }
    const std::size_t index = pick % live_count_;
    std::byte* block = live_[index];
    if (!intact(block)) {
      die("a live pool block was overwritten");
    }
    pool_.release(block);
    live_[index] = live_[--live_count_];
    remember_released(block);
    check();
  }

  void misuse(ByteReader& in) {
    const std::uint8_t kind = in.byte();
    const std::uint16_t pick = in.u16();
    if (setup_.checking == Checking::none) {
      return;  // an unchecked pool trusts its caller: misuse is undefined there
    }
    std::byte* pointer = nullptr;
    Fault expected = Fault::pool_foreign;
    switch (kind % 4) {
      case 0:  // interior
        if (live_count_ == 0 || pool_.block_size() < 2) {
          return;
        }
        pointer = live_[pick % live_count_] + 1 + pick % (pool_.block_size() - 1);
        break;
      case 1:  // foreign, or just past the last block
        pointer = pick % 2 == 0 ? g_outside + pick % 64 : pool_.extent().data + pool_.extent().size;
        break;
      case 2:  // released twice in a row: the block heads the free list
        if (live_count_ == 0) {
          return;
        }
        release(pick);
        pointer = released_[(released_next_ + kReleasedRing - 1) % kReleasedRing];
        expected = Fault::pool_double_release;
        break;
      default:  // any earlier release: caught only with a bitmap
        if (!setup_.bitmap) {
          return;
        }
        pointer = released_[pick % kReleasedRing];
        if (pointer == nullptr) {
          return;
        }
        expected = Fault::pool_double_release;
        break;
    }
    if (pointer == nullptr) {
      return;  // an empty pool (nothing fitted its storage) has no end to point past
    }
    const std::size_t in_use = pool_.in_use();
    g_faults = FaultLog{};
    pool_.release(pointer);
    expect_fault(expected, pointer);
    if (pool_.in_use() != in_use) {
      die("a refused release changed the pool");
    }
    check();
  }

  void release_all() {
    while (live_count_ != 0) {
      release(0);
    }
    if (pool_.in_use() != 0) {
      die("pool blocks in use after every block was released");
    }
  }

 private:
  static constexpr std::size_t kReleasedRing = 8;

  void check() {
    if (const keel::PoolViolation violation = pool_.validate();
        violation != keel::PoolViolation::none) {
      std::fprintf(stderr, "keel fuzz: step %zu: pool violation %d\n", g_step,
                   static_cast<int>(violation));
      std::abort();
    }
    if (pool_.in_use() != live_count_) {
      die("pool in_use differs from the shadow");
    }
    expect_no_fault();
  }

  [[nodiscard]] std::byte pattern(const std::byte* block, std::size_t index) const {
    return static_cast<std::byte>(reinterpret_cast<std::uintptr_t>(block) / 8 + index * 13);
  }
  void fill(std::byte* block) const {
    for (std::size_t i = 0; i < setup_.block_size; ++i) {
      block[i] = pattern(block, i);
    }
  }
  [[nodiscard]] bool intact(const std::byte* block) const {
    for (std::size_t i = 0; i < setup_.block_size; ++i) {
      if (block[i] != pattern(block, i)) {
        return false;
      }
    }
    return true;
  }

  void remember_released(std::byte* block) {
    released_[released_next_] = block;
    released_next_ = (released_next_ + 1) % kReleasedRing;
  }
  void forget_released(const std::byte* block) {
    for (std::byte*& entry : released_) {
      entry = entry == block ? nullptr : entry;
    }
  }

  Setup setup_;
  std::uint32_t bits_[keel::BlockPool::bitmap_words(kMaxPoolBlocks)] = {};
  keel::BlockPool pool_;
  std::byte* live_[kMaxPoolBlocks] = {};
  std::size_t live_count_ = 0;
  std::byte* released_[kReleasedRing] = {};
  std::size_t released_next_ = 0;
};

// --- one input -----------------------------------------------------------------------------------

/// One input against a heap of type HeapT; `limited`: first limited to blocks of 2 to 16 KiB
/// (limit_blocks, as keel.h does for small arenas), so that claims are trimmed, extends refused
/// and larger requests fail.
template <typename HeapT, bool kLimited = false>
void run(ByteReader& in) {
  const std::uint64_t seed = in.u64();
  PoolRun pool(PoolRun::decode(in));
  keel::test::Random random(seed);
  HeapT heap;
  if constexpr (kLimited) {
    if (heap.limit_blocks(std::size_t{2048} << (seed % 4)) == 0) {
      die("limit_blocks refused a limit it can keep");
    }
  }
  // The secret behind full checking's check words and hardened links: from the input, so that
  // a crash reproduces (by default it comes from addresses, which differ from run to run).
  (void)heap.set_secret(static_cast<std::uint32_t>(seed ^ seed >> 32));
  keel::test::Model<HeapT, kSlots, kRegions> model(
      heap, keel::Span{g_arena + seed % 13, kArenaBytes}, random);
  // Faults go to this file's log, also while the model runs (a model may install its own
  // handler): misuse steps expect theirs, and every other step expects none.
  keel::set_fault_handler(&record_fault);
  const auto apply = [&](const Operation& op) {
    if (!model.apply(op)) {
      die_with_map(heap, model.failure());
    }
    expect_no_fault();
  };
  static const bool trace = std::getenv("KEEL_FUZZ_TRACE") != nullptr;
  for (g_step = 0; g_step < kMaxSteps && !in.empty(); ++g_step) {
    const Step step = decode_step(in.byte());
    if (trace) {
      std::fprintf(stderr, "keel fuzz: step %zu: %s\n", g_step, to_string(step));
    }
    switch (step) {
      case Step::allocate: apply(decode_block_operation(OpKind::allocate, in)); break;
      case Step::free: apply(decode_block_operation(OpKind::free, in)); break;
      case Step::reallocate: apply(decode_block_operation(OpKind::reallocate, in)); break;
      case Step::claim: apply(decode_region_operation(OpKind::claim, in)); break;
      case Step::extend: apply(decode_region_operation(OpKind::extend, in)); break;
      case Step::truncate: apply(decode_region_operation(OpKind::truncate, in)); break;
      case Step::bad_pointer: bad_pointer(heap, in); break;
      case Step::bad_request: bad_request(heap, in); break;
      case Step::zeroed: zeroed(heap, in); break;
      case Step::bad_write: bad_write(heap, in); break;
      case Step::pool_acquire: pool.acquire(); break;
      case Step::pool_release: pool.release(in.u16()); break;
      case Step::pool_misuse: pool.misuse(in); break;
    }
  }
  if (!model.free_all()) {
    die_with_map(heap, model.failure());
  }
  if (heap.statistics().live_allocations != 0 && HeapT::options.statistics) {
    die_with_map(heap, "blocks live after every block was freed");
  }
  pool.release_all();
  expect_no_fault();
}

using BasicHeap = keel::Heap<>;
using UncheckedHeap =
    keel::Heap<FailOnOom, HeapOptions{.statistics = false, .checking = Checking::none}>;
using SearchingHeap = keel::Heap<FailOnOom, HeapOptions{.search_limit = 8}>;
using FullHeap = keel::Heap<FailOnOom, HeapOptions{.checking = Checking::full}>;
using DebugHeap = keel::Heap<FailOnOom, HeapOptions{.checking = Checking::debug}>;
using HardenedHeap = keel::Heap<FailOnOom, HeapOptions{.hardened = true}>;
using EverythingHeap =
    keel::Heap<FailOnOom,
               HeapOptions{
                   .checking = Checking::full, .tags = true, .histogram = true, .hardened = true}>;
/// Deferred frees (docs/design.md 15): lists 2 deep up to 128 bytes, so that inputs fill them.
using QuickHeap = keel::Heap<FailOnOom, HeapOptions{.quick_lists = 2, .quick_largest = 128}>;

/// The heap configurations an input can pick (byte 0).
constexpr std::size_t kConfigurations = 9;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#if defined(KEEL_FUZZ_ASAN)
  // The arena of the previous input may still be poisoned by keel (its heap never freed it).
  ASAN_UNPOISON_MEMORY_REGION(g_arena, sizeof g_arena);
  ASAN_UNPOISON_MEMORY_REGION(g_pool_storage, sizeof g_pool_storage);
#endif
  const keel::FaultHandler previous = keel::set_fault_handler(&record_fault);
  g_faults = FaultLog{};
  ByteReader in(data, size);
  switch (in.byte() % kConfigurations) {
    case 0: run<BasicHeap>(in); break;
    case 1: run<UncheckedHeap>(in); break;
    case 2: run<SearchingHeap>(in); break;
    case 3: run<FullHeap>(in); break;
    case 4: run<DebugHeap>(in); break;
    case 5: run<HardenedHeap>(in); break;
    case 6: run<EverythingHeap>(in); break;
    case 7: run<BasicHeap, true>(in); break;
    default: run<QuickHeap>(in); break;
  }
  keel::set_fault_handler(previous);
  return 0;
}
