// keel/pool.hpp: fixed-size block pools.
//
// Theory of operation
//   A pool cuts a span into `capacity` blocks of one size (the stride: the block size rounded up
//   to the alignment, and to at least one pointer). A free block holds the link to the next free
//   block in its first word, so a block in use carries no header at all. Blocks that were never
//   handed out are not linked at construction: `untouched_` marks the first of them, and acquire
//   takes from it when the free list is empty. Both acquire and release are O(1) with no loop,
//   and construction is O(1) too (so an ObjectPool can be `constinit`).
//
//      base_                                      untouched_                  end_
//      | block 0 | block 1 | block 2 | block 3 | block 4 | block 5 | ... | block n-1 |
//        in use    free ──────────────┐ in use   never used ...
//                    ▲ free_          ▼
//                    └──── link ─ block 2 ─ link ─ null
//
//   Release checks its pointer in O(1) with one multiplication and no division: with the
//   stride written as 2^k · d (d odd) and d⁻¹ its inverse modulo 2^W (W = pointer bits), an
//   address p is a block of the pool iff the low k bits of o = p - base are zero and
//   ((o >> k) · d⁻¹ mod 2^W) < capacity. Multiplication by d⁻¹ is a bijection on the W-bit
//   integers that maps q·d to q, and q·d < capacity·d fits in W bits, so exactly the block
//   starts pass; a pointer below the base wraps around and fails like any other. The same
//   product is the block's index, used by the double-release bitmap.
//
// Invariants (validate() checks them in O(capacity))
//   1. Every block is either in use, on the free list, or at or after untouched_.
//   2. The free list holds only block starts below untouched_, each once, and has
//      capacity - in_use - (blocks from untouched_ on) entries.
//   3. With a bitmap, a block's bit is set iff the block is in use.
//
// Checking (keel::Checking, chosen per pool)
//   - none: release trusts its pointer; a bad one corrupts the pool.
//   - basic and above: release reports a pointer that is not a block start of this pool
//     (foreign or interior) as Fault::pool_foreign, and a release of the block that heads the
//     free list (the usual double release) as Fault::pool_double_release; acquire checks the
//     link it follows and reports Fault::corrupted_block if a released block was written to.
//   - With a bitmap (one bit per block: ObjectPool has one built in unless its checking is none;
//     a BlockPool gets one from its caller) every double release is caught, not only the most
//     recent one.
//   A fault leaves the pool as it was (a corrupted link empties the free list: the blocks on it
//   are lost, never handed out twice).
//
// Host tools (keel/detail/tools.hpp): under AddressSanitizer, or valgrind with KEEL_VALGRIND=1,
//   every block not in use is off limits to the caller, and a block in use is one malloc-like
//   block of the stride, so an overrun into the next block, a read after release and a double
//   release are reported by the tool even with checking none. Blocks never handed out are
//   hidden at construction (an ObjectPool, constructed at compile time, hides them at its first
//   acquire). In those builds only, the pool has a destructor that gives the storage back (and
//   tells valgrind its live blocks are gone); elsewhere it is trivially destructible.
//
// Freestanding: no libc, no printing; all accesses are aligned (Cortex-M0 safe). Not
// synchronised: wrap a shared pool's calls in the caller's lock. IRQ-safe: every call but
// validate() is bounded and never blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "keel/config.hpp"
#include "keel/detail/tools.hpp"
#include "keel/span.hpp"

namespace keel {

/// A pool's counters (BlockPool::statistics(), O(1)).
struct PoolStatistics {
  std::size_t block_size = 0;             ///< bytes per block (the stride)
  std::size_t capacity = 0;               ///< blocks in the pool
  std::size_t in_use = 0;                 ///< blocks acquired and not released
  std::size_t peak_in_use = 0;            ///< highest in_use so far
  std::uint64_t total_acquisitions = 0;   ///< successful acquisitions so far
  std::uint64_t failed_acquisitions = 0;  ///< acquisitions that returned null (pool empty)
};

/// What BlockPool::validate() found wrong, if anything.
enum class PoolViolation : std::uint8_t {
  none,
  link_out_of_pool,  ///< a free-list link is not a block start below untouched_
  list_too_long,     ///< the free list has more entries than free blocks (a cycle, or a block
                     ///< both free and in use)
  count_mismatch,    ///< the free list is shorter than capacity - in_use - untouched
  bitmap_mismatch,   ///< a free block's bit is set, or the count of set bits is not in_use
};

/// The caller's storage for a double-release bitmap: one bit per block.
struct PoolBitmap {
  std::uint32_t* words = nullptr;
  std::size_t word_count = 0;
};

/// A pool of equal blocks over a caller's span. Non-template: every pool size shares this code.
class BlockPool {
 public:
  /// The least stride: a free block holds one pointer.
  static constexpr std::size_t kMinBlockSize = sizeof(void*);

  /// Words of bitmap needed for `blocks` blocks.
  [[nodiscard]] static constexpr std::size_t bitmap_words(std::size_t blocks) {
    return (blocks + 31) / 32;
  }
  /// The stride of blocks of `block_size` bytes aligned to `align` (0 if align is not a power
  /// of two or the size overflows).
  [[nodiscard]] static constexpr std::size_t stride_for(std::size_t block_size, std::size_t align) {
    if (align == 0 || (align & (align - 1)) != 0) {
      return 0;
    }
    align = align < alignof(void*) ? alignof(void*) : align;
    block_size = block_size < kMinBlockSize ? kMinBlockSize : block_size;
    if (block_size > ~std::size_t{0} - (align - 1)) {
      return 0;
    }
    return (block_size + align - 1) & ~(align - 1);
  }

  /// An empty pool: every acquire fails.
  constexpr BlockPool() = default;

  /// Lays a pool over `storage`: as many blocks of `block_size` bytes, aligned to `align` (a
  /// power of two), as fit after aligning the start. With a bitmap, the pool holds no more blocks
  /// than the bitmap has bits, and every double release is detected. Parameters that make no
  /// block (align not a power of two, storage too small or null) give an empty pool:
  /// capacity() says how many blocks there are. O(1) (the bitmap is cleared: O(bitmap words)).
  BlockPool(Span storage, std::size_t block_size, std::size_t align = kDefaultAlignment,
            Checking checking = Checking::basic, PoolBitmap bitmap = {}) noexcept;

  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  /// A free block, or null if none is left (counted as a failure). O(1), IRQ-safe.
  [[nodiscard]] void* acquire() noexcept;

  /// Gives a block back. null is ignored. O(1), IRQ-safe. With checking, a pointer that is not
  /// a block of this pool, or a block already released, goes to the fault hook and the pool is
  /// not changed.
  void release(void* block) noexcept;

  /// Whether `pointer` is the start of one of this pool's blocks (in use or not). O(1).
  [[nodiscard]] bool owns(const void* pointer) const noexcept {
    return index_of(pointer) < capacity_;
  }

  [[nodiscard]] constexpr std::size_t block_size() const { return stride_; }
  [[nodiscard]] constexpr std::size_t capacity() const { return capacity_; }
  [[nodiscard]] constexpr std::size_t in_use() const { return in_use_; }
  [[nodiscard]] constexpr std::size_t available() const { return capacity_ - in_use_; }
  [[nodiscard]] constexpr Checking checking() const { return checking_; }
  /// The blocks' memory: [base, base + capacity · block_size).
  [[nodiscard]] Span extent() const { return Span{base_, capacity_ * stride_}; }

  /// The counters. O(1).
  [[nodiscard]] PoolStatistics statistics() const noexcept;

  /// Checks the invariants at the top of this file. O(capacity). Never faults.
  [[nodiscard]] PoolViolation validate() const noexcept;

 protected:
  /// For ObjectPool: storage already aligned to the stride's alignment, constant-initialisable.
  struct Prepared {
    std::byte* base;
    std::size_t stride;
    std::size_t capacity;
  };
  constexpr BlockPool(Prepared prepared, Checking checking, PoolBitmap bitmap)
      : base_(prepared.base),
        untouched_(prepared.base),
        end_(prepared.base + prepared.capacity * prepared.stride),
        stride_(prepared.stride),
        capacity_(prepared.capacity),
        shift_(trailing_zeros(prepared.stride)),
        inverse_(odd_inverse(prepared.stride >> trailing_zeros(prepared.stride))),
        bitmap_(bitmap.words),
        checking_(checking) {}

  static Prepared prepare(Span storage, std::size_t block_size, std::size_t align,
                          PoolBitmap bitmap) noexcept;

  /// The O(1) checks of release, reporting a fault; true if `block` may be released.
  [[nodiscard]] bool accept_release(const void* block) const noexcept;
  /// Puts a block accepted by accept_release back on the free list.
  void push_free(void* block) noexcept;

 private:
  static constexpr unsigned trailing_zeros(std::size_t value) {
    return value == 0 ? 0 : static_cast<unsigned>(__builtin_ctzll(value));
  }
  /// The inverse of an odd number modulo 2^W, by Newton's iteration (each step doubles the
  /// number of correct low bits; d·d ≡ 1 mod 8 gives the first 3).
  static constexpr std::size_t odd_inverse(std::size_t odd) {
    std::size_t inverse = odd;
    for (int step = 0; step < 6; ++step) {
      inverse *= 2 - odd * inverse;
    }
    return inverse;
  }
  /// The index of the block starting at `pointer`, or a value >= capacity_ if there is none.
  [[nodiscard]] std::size_t index_of(const void* pointer) const noexcept {
    const std::uintptr_t offset =
        reinterpret_cast<std::uintptr_t>(pointer) - reinterpret_cast<std::uintptr_t>(base_);
    if ((offset & ((std::uintptr_t{1} << shift_) - 1)) != 0) {
      return ~std::size_t{0};
    }
    return static_cast<std::size_t>(offset >> shift_) * inverse_;
  }
  [[nodiscard]] bool bit(std::size_t index) const {
    return (bitmap_[index / 32] >> (index % 32) & 1U) != 0;
  }

  std::byte* base_ = nullptr;
  std::byte* free_ = nullptr;       ///< head of the free list
  std::byte* untouched_ = nullptr;  ///< first block never handed out
  std::byte* end_ = nullptr;
  std::size_t stride_ = 0;
  std::size_t capacity_ = 0;
  unsigned shift_ = 0;
  std::size_t inverse_ = 1;
  std::uint32_t* bitmap_ = nullptr;
  std::size_t in_use_ = 0;
  std::size_t peak_in_use_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t failed_ = 0;
  Checking checking_ = Checking::basic;

#if defined(KEEL_TOOLS_ASAN) || defined(KEEL_TOOLS_VALGRIND)
 public:
  /// Tool builds only: the storage is the caller's again, unpoisoned. O(capacity).
  ~BlockPool();
#endif
};

namespace detail {

/// The storage of an ObjectPool, a base class so that it exists before the BlockPool part is
/// constructed over it.
template <std::size_t kStride, std::size_t kAlign, std::size_t kCount, bool kBitmap>
struct ObjectPoolStorage {
  constexpr PoolBitmap bitmap() { return PoolBitmap{bits_, BlockPool::bitmap_words(kCount)}; }
  alignas(kAlign) std::byte blocks_[kStride * kCount] = {};
  std::uint32_t bits_[BlockPool::bitmap_words(kCount)] = {};
};
template <std::size_t kStride, std::size_t kAlign, std::size_t kCount>
struct ObjectPoolStorage<kStride, kAlign, kCount, false> {
  constexpr PoolBitmap bitmap() { return PoolBitmap{}; }
  alignas(kAlign) std::byte blocks_[kStride * kCount] = {};
};

}  // namespace detail

/// A pool of N objects of type T in its own static storage. `create` constructs an object in a
/// free block, `destroy` runs the destructor and releases the block. The code is BlockPool's;
/// only create and destroy are per type. Can be `constinit`.
///
///     constinit keel::ObjectPool<Message, 32> g_messages;
///     Message* m = g_messages.create(id, payload);   // null when all 32 are in use
///     g_messages.destroy(m);
template <typename T, std::size_t N, Checking kChecking = Checking::basic>
class ObjectPool
    : private detail::ObjectPoolStorage<BlockPool::stride_for(sizeof(T), alignof(T)),
                                        (alignof(T) > alignof(void*) ? alignof(T) : alignof(void*)),
                                        N, kChecking != Checking::none>,
      public BlockPool {
  static_assert(N > 0, "an ObjectPool holds at least one object");
  static constexpr std::size_t kStride = BlockPool::stride_for(sizeof(T), alignof(T));
  static constexpr std::size_t kAlign = alignof(T) > alignof(void*) ? alignof(T) : alignof(void*);
  using Storage = detail::ObjectPoolStorage<kStride, kAlign, N, kChecking != Checking::none>;

 public:
  using value_type = T;

  constexpr ObjectPool()
      : Storage{},
        BlockPool(Prepared{Storage::blocks_, kStride, N}, kChecking, Storage::bitmap()) {}

  /// Constructs a T from `args` in a free block. Null if the pool is empty. O(1) plus T's
  /// constructor. If the constructor throws, the block is released and the exception passes on.
  template <typename... Args>
  [[nodiscard]] T* create(Args&&... args) {
    void* block = acquire();
    if (block == nullptr) {
      return nullptr;
    }
#if defined(__cpp_exceptions)
    if constexpr (!std::is_nothrow_constructible_v<T, Args&&...>) {
      try {
        return ::new (block) T(std::forward<Args>(args)...);
      } catch (...) {
        push_free(block);
        throw;
      }
    }
#endif
    return ::new (block) T(std::forward<Args>(args)...);
  }

  /// Runs the destructor of an object from create and releases its block. null is ignored.
  /// A pointer that is not a live object of this pool goes to the fault hook, and neither the
  /// destructor nor the release happens. O(1) plus T's destructor.
  void destroy(T* object) noexcept {
    if constexpr (std::is_trivially_destructible_v<T>) {
      release(object);  // one call: nothing to run between the checks and the release
    } else {
      if (object == nullptr || !accept_release(object)) {
        return;
      }
      object->~T();
      push_free(object);
    }
  }
};

}  // namespace keel
