// keel/cpu_cache.hpp: one heap for many CPUs, with a cache of free blocks per CPU in front.
//
// Theory of operation (docs/design.md section 11)
//   CpuCached<Heap, Lock, Cpu> owns one keel heap behind one lock, as Locked does, and gives each
//   CPU a cache of blocks per size class (detail/cache_classes.hpp) for small requests at the
//   default alignment. A cached block stays a live block of the heap; a cache is a LIFO list of
//   such blocks threaded through their payloads. allocate pops from the running CPU's list and
//   free pushes onto it, under that CPU's own lock with its interrupts masked, and without the
//   heap's lock. An empty list is refilled with up to `batch` blocks, a full one gives `batch`
//   back, each time under the heap lock. A block freed on another CPU than the one it came from
//   goes into the freeing CPU's cache, as in Bonwick's magazines: blocks have no owner CPU, so a
//   cross-CPU free costs what a local one does and takes no other CPU's lock. When the heap
//   cannot serve a request, every CPU's cache is given back before the request fails.
//
// Invariants (validate() checks every one)
//   1. every cached block is a live block of the heap, its payload aligned to kDefaultAlignment,
//      its size in the class of its list (class_down), its cache mark in place;
//   2. a list holds exactly count[class] <= capacity blocks and ends in null;
//   3. a CPU's block and byte counters are the sums over its lists;
//   4. heap in use = in use by the program + cached, in bytes and in blocks.
//
// Locks, always taken in this order: the running CPU's interrupts (Cpu::mask), CPU locks (one at
// a time, or several in increasing CPU order), the heap lock. Nothing waits for a CPU lock while
// it holds the heap lock. A CPU's own lock is uncontended unless drain, reclaim or an inspection
// runs: those are the only calls that touch another CPU's cache.
//
// Trade-offs
//   Heaps whose blocks carry a trailer (Checking::full and debug, HeapOptions::tags) are not
//   cached: their checks run at the moment of the free and their tags name the caller, which a
//   cache would defeat. For them CpuCached passes every call to the locked heap.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "keel/config.hpp"
#include "keel/detail/cache_classes.hpp"
#include "keel/detail/checked.hpp"
#include "keel/detail/format.hpp"
#include "keel/detail/tools.hpp"
#include "keel/fault.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/stats.hpp"
#include "keel/tag.hpp"

#if defined(__SANITIZE_THREAD__)
#define KEEL_NO_SANITIZE_THREAD __attribute__((no_sanitize("thread")))
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KEEL_NO_SANITIZE_THREAD __attribute__((no_sanitize("thread")))
#endif
#endif
#if !defined(KEEL_NO_SANITIZE_THREAD)
#define KEEL_NO_SANITIZE_THREAD
#endif

namespace keel {

/// What a port tells the front end about its CPUs. All static, all usable in any context:
///   kMaxCpus      CPU indexes run from 0 to kMaxCpus - 1;
///   mask()        masks interrupts (and so preemption and migration) on the running CPU and
///                 returns the previous state; nests;
///   restore(s)    restores the state mask() returned;
///   current()     the running CPU's index; called only between mask() and restore(), so the
///                 answer stays true until restore().
/// A host test or benchmark maps threads to indexes instead, with empty mask and restore.
template <typename C>
concept CpuPolicy = requires(typename C::Saved saved) {
  { C::kMaxCpus } -> std::convertible_to<unsigned>;
  { C::mask() }
  noexcept->std::same_as<typename C::Saved>;
  { C::restore(saved) }
  noexcept;
  { C::current() }
  noexcept->std::same_as<unsigned>;
};

/// How much a CpuCached keeps per CPU (docs/design.md section 11 gives the bounds they set).
struct CacheOptions {
  /// The largest cached block, in bytes (header included): a class size (1024 = class 38).
  /// Requests of up to largest_block - 4 bytes are cached; larger ones go to the heap.
  std::uint16_t largest_block = 1024;
  /// Blocks a CPU keeps per class at most.
  std::uint16_t capacity = 16;
  /// Blocks a refill takes from the heap, and a flush gives back, under one hold of its lock.
  std::uint16_t batch = 8;
};

/// The counters of a CpuCached (statistics(), all taken at one instant). A cached block is a
/// live block to the heap, so `heap` counts it as in use; the fields below tell them apart:
/// heap.bytes_in_use = bytes_in_use + bytes_cached, heap.live_allocations = live_allocations +
/// blocks_cached.
struct CacheStatistics {
  Statistics heap;                   ///< the heap's own counters
  std::size_t bytes_in_use = 0;      ///< bytes of the blocks the program holds (headers included)
  std::size_t live_allocations = 0;  ///< blocks the program holds
  std::size_t bytes_cached = 0;      ///< bytes of the blocks the CPU caches hold
  std::size_t blocks_cached = 0;     ///< blocks the CPU caches hold
  std::uint64_t total_allocations = 0;   ///< successful allocations made through the front end
  std::uint64_t failed_allocations = 0;  ///< allocations (and reallocations) that returned null
  std::uint64_t cache_hits = 0;          ///< allocations served by a cache, without the heap lock
  std::uint64_t refills = 0;             ///< batches taken from the heap
  std::uint64_t flushes = 0;             ///< batches given back (a full class, drain, reclaim)
  std::uint64_t reclaims = 0;            ///< times memory pressure emptied every cache
};

namespace detail {

/// One CPU's cache. Alone on its cache lines, so that CPUs do not share a line on the fast path.
template <unsigned kClasses>
struct alignas(64) CpuCache {
  SpinLock lock;
  std::uint16_t count[kClasses] = {};
  std::byte* head[kClasses] = {};  ///< payload addresses
  std::byte* scan[kClasses] = {};  ///< walk()'s cursors, used only while every lock is held
  std::size_t blocks = 0;
  std::size_t bytes = 0;
  std::uint64_t allocations = 0;
  std::uint64_t failures = 0;
  std::uint64_t hits = 0;
  std::uint64_t refills = 0;
  std::uint64_t flushes = 0;
  std::uint64_t reclaims = 0;
};

// A cached block's payload (docs/design.md section 11):
//
//  byte -4      0                 P                P + 4                 8g - 4
//  +------------+-----------------+----------------+------- ... ---------+
//  |  header    | next (pointer)  | cache mark     |  (left as it was)   |
//  +------------+-----------------+----------------+------- ... ---------+
//   the heap's    P = sizeof(void*): 12 bytes in all, the least payload of a block
inline constexpr std::size_t kCacheNextOffset = 0;
inline constexpr std::size_t kCacheMarkOffset = sizeof(void*);
static_assert(kCacheMarkOffset + 4 <= usable_bytes(kMinBlockGranules));

using AliasedPointer [[gnu::may_alias]] = std::byte*;

[[nodiscard]] KEEL_NO_SANITIZE_ADDRESS inline std::byte* cached_next(const std::byte* payload) {
  return *static_cast<const AliasedPointer*>(static_cast<const void*>(payload + kCacheNextOffset));
}
KEEL_NO_SANITIZE_ADDRESS inline void set_cached_next(std::byte* payload, std::byte* next) {
  *static_cast<AliasedPointer*>(static_cast<void*>(payload + kCacheNextOffset)) = next;
}

/// A heap word of a live block read without the heap's lock: the block's header, the next
/// block's header, or a pad's header. The heap, under its lock, may rewrite such a word at the
/// same time, but only its PREV_USED bit (for the next header: anything but PREV_USED, which
/// stays set while the block lives); the bits read here do not change while the block is live.
/// One aligned 32-bit volatile load returns either value whole. ThreadSanitizer would report
/// the pair of accesses as a race, so this one function is not instrumented (docs/design.md
/// section 11 gives the argument); every other access in keel is.
[[nodiscard]] KEEL_NO_SANITIZE_ADDRESS KEEL_NO_SANITIZE_THREAD inline Word load_live_word(
    const std::byte* at) {
  return *static_cast<const volatile AliasedWord*>(static_cast<const void*>(at));
}

}  // namespace detail

/// A keel heap shared by CPUs through per-CPU caches. `H` is a keel::Heap, `L` the heap's lock
/// (the caches mask interrupts themselves, so a plain spinning lock will do), `Cpu` the port's
/// CpuPolicy. Every call masks the running CPU's interrupts for its duration, so interrupt
/// handlers may allocate and free on their own CPU.
template <typename H, BasicLockable L, CpuPolicy Cpu, CacheOptions kOptions = CacheOptions{}>
class CpuCached {
  using Word = detail::Word;

 public:
  using Heap = H;
  static constexpr unsigned kMaxCpus = Cpu::kMaxCpus;
  /// Whether blocks are cached at all (not for heaps whose blocks carry a trailer).
  static constexpr bool kCaching = H::trailer_bytes == 0 && H::options.checking <= Checking::basic;
  /// Payload alignment of every cached block, and the most a request may ask to be cached.
  static constexpr std::size_t kCacheAlignment = kDefaultAlignment;
  static constexpr Word kLargestGranules = kOptions.largest_block / detail::kGranule;
  static constexpr unsigned kClasses = detail::class_up(kLargestGranules) + 1;
  /// The largest request served from a cache.
  static constexpr std::size_t largest_cached = detail::usable_bytes(kLargestGranules);
  static constexpr unsigned kCapacity = kOptions.capacity;
  static constexpr unsigned kBatch = kOptions.batch;
  /// Regions whose blocks free can check without the heap lock (others go to the heap).
  static constexpr unsigned kRegionsSeen = 8;
  /// Blocks of up to this many granules are cached (one more than the largest class: the heap
  /// does not split off a single granule).
  static constexpr Word kLargestCachedBlock = kLargestGranules + 1;

  static_assert(kMaxCpus >= 1);
  static_assert(kOptions.largest_block % detail::kGranule == 0 &&
                    kLargestGranules >= detail::kMinBlockGranules &&
                    detail::class_granules(kClasses - 1) == kLargestGranules,
                "largest_block must be a class size (detail/cache_classes.hpp)");
  static_assert(kBatch >= 1 && kBatch <= kCapacity && kCapacity <= 0xFFFF);

  template <typename... Args>
  constexpr explicit CpuCached(Args&&... args) : heap_(std::forward<Args>(args)...) {}
  CpuCached(const CpuCached&) = delete;
  CpuCached& operator=(const CpuCached&) = delete;

#if defined(KEEL_TOOLS_ASAN) || defined(KEEL_TOOLS_VALGRIND)  // #if: clang 14 fails requires()
  /// Tool builds (detail/tools.hpp): the caches go back to the heap first, so that the heap's own
  /// farewell finds live blocks where the tools do. Otherwise trivial, as Heap's, so that a
  /// constinit front end needs no registered destructor.
  ~CpuCached() {
    (void)drain_all();
  }
#endif

  // ---------------------------------------------------------------------------------------------
  // Allocation. Every call's work is bounded (docs/design.md section 11): a cache hit or a push
  // is O(1) without the heap lock; a refill or a flush is `batch` heap calls under it; a request
  // the heap cannot serve first gives back every cache (at most kMaxCpus · kClasses · capacity
  // heap frees), then asks once more.

  /// As Heap::allocate. Requests of up to `largest_cached` bytes at up to kCacheAlignment come
  /// from the running CPU's cache; others go to the heap under its lock. `tag` is passed on to
  /// heaps that keep tags (which are not cached).
  [[nodiscard]] void* allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                               AllocationTag tag = AllocationTag::here()) {
    return allocate_with(size, align, tag, CallOom::yes);
  }

  /// As allocate, but the heap's OOM policy is not called (the caches are still given back).
  [[nodiscard]] void* try_allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                                   AllocationTag tag = AllocationTag::here()) {
    return allocate_with(size, align, tag, CallOom::no);
  }

  /// count × size zeroed bytes; null if the product overflows, or as allocate.
  [[nodiscard]] void* allocate_zeroed(std::size_t count, std::size_t size,
                                      std::size_t align = kDefaultAlignment,
                                      AllocationTag tag = AllocationTag::here()) {
    return detail::allocate_zeroed_with(
        count, size, [&](std::size_t total) { return allocate(total, align, tag); },
        [this] {
          const Masked masked(*this);
          if (masked.cache != nullptr) {
            ++masked.cache->failures;
          }
        });
  }

  /// As Heap::free: null is ignored; a block of a cached size goes into the running CPU's cache,
  /// others to the heap. With Checking::basic a pointer that is not a live block is reported
  /// (foreign_pointer, misaligned_pointer, invalid_pointer; double_free for a block already in a
  /// cache or in the heap) and nothing changes.
  void free(void* pointer) {
    if (pointer == nullptr) {
      return;
    }
    if constexpr (!kCaching) {
      locked_free(pointer);
    } else {
      const Masked masked(*this);
      if (masked.cache == nullptr) {
        locked_free(pointer);
        return;
      }
      free_into(*masked.cache, static_cast<std::byte*>(pointer));
    }
  }

  /// As Heap::reallocate, under the heap lock (a block in a cache is reported as a double free).
  /// A request the heap cannot serve gives back every cache and is tried once more.
  [[nodiscard]] void* reallocate(void* pointer, std::size_t size,
                                 std::size_t align = kDefaultAlignment,
                                 AllocationTag tag = AllocationTag::here()) {
    if (pointer == nullptr) {
      return allocate(size, align, tag);
    }
    if (size == 0) {
      free(pointer);
      return nullptr;
    }
    const Masked masked(*this);
    if (!usable(pointer)) {
      count_failure(masked.cache);
      return nullptr;
    }
    bool valid = true;
    const auto resize = [&] {
      // Cached heaps: a live block has at least 12 usable bytes, so 0 means a bad pointer, which
      // usable_size has reported; it is not tried again after a reclaim.
      if (kCaching && heap_.usable_size(pointer) == 0) {
        valid = false;
        return static_cast<void*>(nullptr);
      }
      return detail::reallocate_tagged(heap_, pointer, size, align, tag);
    };
    void* moved = heap_call(resize);
    if (moved == nullptr && valid && kCaching && size <= H::max_request) {
      reclaim(masked.cache);
      moved = heap_call(resize);
    }
    if (moved == nullptr) {
      count_failure(masked.cache);
    }
    return moved;
  }

  /// As Heap::usable_size, under the heap lock; 0 (and a double_free report) for a cached block.
  [[nodiscard]] std::size_t usable_size(const void* pointer) {
    if (pointer == nullptr) {
      return 0;
    }
    const Masked masked(*this);
    if (!usable(pointer)) {
      return 0;
    }
    return heap_call([&] { return heap_.usable_size(pointer); });
  }

  // ---------------------------------------------------------------------------------------------
  // Giving memory back

  /// Gives CPU `cpu`'s cached blocks back to the heap: for a CPU going idle or offline, from it or
  /// from any other CPU. Returns the number of blocks given back. At most kClasses · capacity
  /// heap frees, under the heap lock; waits for `cpu`'s own lock (held only for bounded work).
  std::size_t drain(unsigned cpu) {
    if constexpr (!kCaching) {
      (void)cpu;
      return 0;
    } else {
      if (cpu >= kMaxCpus) {
        return 0;
      }
      const typename Cpu::Saved saved = Cpu::mask();
      Cache& cache = caches_[cpu];
      cache.lock.lock();
      const std::size_t given = flush_all(cache);
      cache.lock.unlock();
      Cpu::restore(saved);
      return given;
    }
  }

  /// drain() of every CPU: what the heap does by itself, under memory pressure, before a request
  /// fails. Returns the number of blocks given back.
  std::size_t drain_all() {
    std::size_t given = 0;
    for (unsigned cpu = 0; cpu < kMaxCpus; ++cpu) {
      given += drain(cpu);
    }
    return given;
  }

  // ---------------------------------------------------------------------------------------------
  // Whole-heap views. Each holds every CPU lock and the heap lock for its duration, so it sees
  // one instant: every CPU's cache calls wait meanwhile.

  /// The heap's counters and the caches', exact (CacheStatistics). O(kMaxCpus) plus
  /// Heap::statistics.
  [[nodiscard]] CacheStatistics statistics() {
    const Everything everything(*this);
    CacheStatistics result{};
    result.heap = heap_.statistics();
    if constexpr (kCaching) {
      for (const Cache& cache : caches_) {
        result.bytes_cached += cache.bytes;
        result.blocks_cached += cache.blocks;
        result.total_allocations += cache.allocations;
        result.failed_allocations += cache.failures;
        result.cache_hits += cache.hits;
        result.refills += cache.refills;
        result.flushes += cache.flushes;
        result.reclaims += cache.reclaims;
      }
    } else {
      result.total_allocations = result.heap.total_allocations;
      result.failed_allocations = result.heap.failed_allocations;
    }
    if constexpr (H::options.statistics) {
      result.bytes_in_use = result.heap.bytes_in_use - result.bytes_cached;
      result.live_allocations = result.heap.live_allocations - result.blocks_cached;
    }
    return result;
  }

  /// Heap::validate, then invariants 1-3 of every cache, then invariant 4. Returns the first
  /// violation: free_list_broken (with the block) for a cache list that is broken or holds
  /// something that is not a cached block of its class, statistics_mismatch for counters that
  /// disagree. Never faults. O(heap blocks + cached blocks · regions).
  [[nodiscard]] ValidationResult validate() {
    const Everything everything(*this);
    const ValidationResult heap_result = heap_.validate();
    const detail::tools::Scope scope;  // valgrind: the cached blocks are freed memory to it
    if (!heap_result.ok() || !kCaching) {
      return heap_result;
    }
    std::size_t all_blocks = 0;
    std::size_t all_bytes = 0;
    for (Cache& cache : caches_) {
      std::size_t blocks = 0;
      std::size_t bytes = 0;
      for (unsigned index = 0; index < kClasses; ++index) {
        std::byte* payload = cache.head[index];
        for (unsigned n = 0; n < cache.count[index]; ++n) {
          Word granules = 0;
          Word pad = 0;
          const std::uintptr_t end = payload == nullptr ? 0 : region_end_locked(payload);
          if (end == 0 || !plausible_live_block(payload, end, granules, pad) ||
              detail::class_down(granules) != index || !marked(payload)) {
            return ValidationResult{Violation::free_list_broken, payload};
          }
          bytes += detail::bytes_of(granules + pad);
          payload = detail::cached_next(payload);
        }
        if (payload != nullptr || cache.count[index] > kCapacity) {
          return ValidationResult{Violation::free_list_broken, payload};
        }
        blocks += cache.count[index];
      }
      if (blocks != cache.blocks || bytes != cache.bytes) {
        return ValidationResult{Violation::statistics_mismatch, nullptr};
      }
      all_blocks += blocks;
      all_bytes += bytes;
    }
    if constexpr (H::options.statistics) {
      const Statistics heap = heap_.statistics();
      if (heap.live_allocations < all_blocks || heap.bytes_in_use < all_bytes) {
        return ValidationResult{Violation::statistics_mismatch, nullptr};
      }
    }
    return ValidationResult{};
  }

  /// Heap::walk, with every cached block reported as not in use (used = false): the program sees
  /// what it holds. Sorts each cache list by address on the way (the order of a list does not
  /// matter). O(heap blocks · kMaxCpus + cached blocks · log). The visitor must not call into
  /// this heap.
  template <typename V>
  void walk(V&& visitor) {
    const Everything everything(*this);
    walk_locked(visitor);
  }

  /// Heap::leak_report for the program's blocks: cached blocks are not listed (they are not
  /// leaks). Returns the number of live blocks the program holds. O(walk).
  template <typename Sink>
  std::size_t leak_report(Sink&& sink) {
    if constexpr (!kCaching) {
      const Everything everything(*this);
      return heap_.leak_report(sink);
    } else {
      const Everything everything(*this);
      detail::TextWriter<std::remove_reference_t<Sink>> out(sink);
      std::size_t live = 0;
      std::size_t bytes = 0;
      out.text("keel leak report: live blocks\n");
      walk_locked([&](const BlockInfo& block) {
        if (block.used) {
          ++live;
          bytes += block.size;
          out.text("  ").address(block.address).text(" ").decimal(block.size).text(" B\n");
        }
      });
      out.text("keel leak report: ").decimal(live).text(" live block(s), ").decimal(bytes);
      out.text(" B (blocks held in CPU caches are not counted)\n");
      return live;
    }
  }

  /// The cheap checks: Heap::check, and each cache's counts within bounds. O(kMaxCpus · kClasses).
  [[nodiscard]] bool check() {
    const Everything everything(*this);
    if (!heap_.check()) {
      return false;
    }
    if constexpr (kCaching) {
      for (const Cache& cache : caches_) {
        std::size_t blocks = 0;
        for (unsigned index = 0; index < kClasses; ++index) {
          if (cache.count[index] > kCapacity ||
              (cache.count[index] == 0) != (cache.head[index] == nullptr)) {
            return false;
          }
          blocks += cache.count[index];
        }
        if (blocks != cache.blocks) {
          return false;
        }
      }
    }
    return true;
  }

  /// Runs function(heap) under the heap lock (claim, extend, truncate, dump...), with the
  /// running CPU's interrupts masked. Cached blocks are live blocks to the heap meanwhile; the
  /// function must not free them. Region changes made here are seen by free's range check.
  template <typename F>
  decltype(auto) with_lock(F&& function) {
    const typename Cpu::Saved saved = Cpu::mask();
    struct Restore {
      CpuCached& self;
      typename Cpu::Saved saved;
      ~Restore() {
        self.update_bounds();
        self.lock_.unlock();
        Cpu::restore(saved);
      }
    };
    lock_.lock();
    const Restore restore{*this, saved};
    return std::forward<F>(function)(heap_);
  }

  /// The heap itself, unlocked: for single-threaded set-up (then call refresh()) and for reads.
  [[nodiscard]] H& unlocked() {
    return heap_;
  }
  /// After changing the regions through unlocked(): lets free see the new address range.
  void refresh() {
    with_lock([](H&) { return 0; });
  }

  /// Sets the secret that cache marks are mixed with (any value; entropy makes a forged mark
  /// harder). Call before the first allocation.
  void set_secret(std::uint32_t secret) {
    secret_ = secret;
  }

 private:
  using Cache = detail::CpuCache<kCaching ? kClasses : 1>;
  enum class CallOom : bool { no, yes };

  /// class_up and class_down (detail/cache_classes.hpp) for every cached size, by granules: one
  /// load on the fast paths instead of a few shifts.
  struct ClassTable {
    std::uint8_t of[kLargestCachedBlock + 1];
  };
  static constexpr ClassTable make_table(bool up) {
    ClassTable table{};
    for (Word granules = detail::kMinBlockGranules; granules <= kLargestCachedBlock; ++granules) {
      const Word bounded = granules < kLargestGranules ? granules : kLargestGranules;
      table.of[granules] =
          static_cast<std::uint8_t>(up ? detail::class_up(bounded) : detail::class_down(bounded));
    }
    return table;
  }
  static constexpr ClassTable kClassUpTable = make_table(true);
  static constexpr ClassTable kClassDownTable = make_table(false);
  static constexpr const std::uint8_t (&kClassUp)[kLargestCachedBlock + 1] = kClassUpTable.of;
  static constexpr const std::uint8_t (&kClassDown)[kLargestCachedBlock + 1] = kClassDownTable.of;
  static_assert(kClasses <= 0xFF);

  /// For the duration of one call: the running CPU's interrupts masked and its cache locked.
  /// `cache` is null for a heap that does not cache, or a CPU index out of range (the call then
  /// goes to the heap).
  struct Masked {
    explicit Masked(CpuCached& self) : saved(Cpu::mask()) {
      if constexpr (kCaching) {
        const unsigned cpu = Cpu::current();
        if (cpu < kMaxCpus) {
          cache = &self.caches_[cpu];
          cache->lock.lock();
        }
      } else {
        (void)self;
      }
    }
    ~Masked() {
      if (cache != nullptr) {
        cache->lock.unlock();
      }
      Cpu::restore(saved);
    }
    Masked(const Masked&) = delete;
    Masked& operator=(const Masked&) = delete;

    typename Cpu::Saved saved;
    Cache* cache = nullptr;
  };

  /// For an inspection: interrupts masked, every CPU lock in increasing order, the heap lock.
  struct Everything {
    explicit Everything(CpuCached& self) : self_(self), saved_(Cpu::mask()) {
      if constexpr (kCaching) {
        for (Cache& cache : self_.caches_) {
          cache.lock.lock();
        }
      }
      self_.lock_.lock();
    }
    ~Everything() {
      self_.lock_.unlock();
      if constexpr (kCaching) {
        for (unsigned cpu = kMaxCpus; cpu-- > 0;) {
          self_.caches_[cpu].lock.unlock();
        }
      }
      Cpu::restore(saved_);
    }
    Everything(const Everything&) = delete;
    Everything& operator=(const Everything&) = delete;

   private:
    CpuCached& self_;
    typename Cpu::Saved saved_;
  };

  /// Runs function() under the heap lock, then lets free see any new region (the OOM policy may
  /// have claimed one). Interrupts are already masked.
  template <typename F>
  decltype(auto) heap_call(F&& function) {
    lock_.lock();
    struct Unlock {
      CpuCached& self;
      ~Unlock() {
        self.update_bounds();
        self.lock_.unlock();
      }
    } const unlock{*this};
    return std::forward<F>(function)();
  }

  void locked_free(void* pointer) {
    if (!usable(pointer)) {
      return;
    }
    const typename Cpu::Saved saved = Cpu::mask();
    lock_.lock();
    heap_.free(pointer);
    lock_.unlock();
    Cpu::restore(saved);
  }

  void count_failure(Cache* cache) {
    if (cache != nullptr) {
      ++cache->failures;
    }
  }

  // --- allocation -------------------------------------------------------------------------------
  void* allocate_with(std::size_t size, std::size_t align, AllocationTag tag, CallOom call_oom) {
    const Masked masked(*this);
    Cache* cache = masked.cache;
    if (cache != nullptr && size <= largest_cached && align <= kCacheAlignment &&
        detail::is_power_of_two(align)) [[likely]] {
      const unsigned index = kClassUp[detail::granules_for(size)];
      bool broken = false;
      void* pointer = pop(*cache, index, size, broken);
      if (pointer != nullptr) [[likely]] {
        ++cache->hits;
        ++cache->allocations;
        return pointer;
      }
      if (broken) {
        ++cache->failures;
        return nullptr;
      }
      return refill_or_reclaim(cache, index, size, call_oom);
    }
    return allocate_from_heap(cache, size, align, tag, call_oom);
  }

  /// An empty class: a refill under the heap lock, and if the heap cannot serve it, a reclaim and
  /// one more try. Out of line, to keep the cache hit short.
  [[gnu::noinline]] void* refill_or_reclaim(Cache* cache, unsigned index, std::size_t size,
                                            CallOom call_oom) {
    void* pointer = heap_call([&] { return refill(*cache, index, size, call_oom); });
    if (pointer == nullptr) {
      reclaim(cache);
      pointer = heap_call(
          [&] { return heap_allocate(size, kCacheAlignment, AllocationTag{}, call_oom); });
    }
    ++(pointer != nullptr ? cache->allocations : cache->failures);
    return pointer;
  }

  /// A request the caches do not serve (or a CPU they do not know: `cache` null), under the heap
  /// lock; if the heap cannot serve it, a reclaim and one more try.
  [[gnu::noinline]] void* allocate_from_heap(Cache* cache, std::size_t size, std::size_t align,
                                             AllocationTag tag, CallOom call_oom) {
    void* pointer = heap_call([&] { return heap_allocate(size, align, tag, call_oom); });
    if (pointer == nullptr && kCaching && size <= H::max_request) {
      reclaim(cache);
      pointer = heap_call([&] { return heap_allocate(size, align, tag, call_oom); });
    }
    if (cache != nullptr) {
      ++(pointer != nullptr ? cache->allocations : cache->failures);
    }
    return pointer;
  }

  void* heap_allocate(std::size_t size, std::size_t align, AllocationTag tag, CallOom call_oom) {
    if (call_oom == CallOom::no) {
      if constexpr (requires { heap_.try_allocate(size, align, tag); }) {
        return heap_.try_allocate(size, align, tag);
      } else {
        return heap_.try_allocate(size, align);
      }
    }
    return detail::allocate_tagged(heap_, size, align, tag);
  }

  /// Under the heap lock: a block of class `index` for a request of `size` bytes, and up to
  /// batch - 1 more for the cache. Only the first may call the OOM policy.
  ///
  /// The batch is ordered by address, and the block handed out is the middle one; the others go
  /// onto the list from the ends inward, so that the next ones to go are next to the middle and
  /// the two ends go last. The ends are the blocks that may share a cache line with another
  /// CPU's blocks (refills of two CPUs lie side by side in the heap); a class that uses one or two
  /// blocks at a time then never writes them, and two CPUs do not write one line
  /// (docs/design.md section 11, docs/benchmarks.md: 1.6x against 2.0x on two threads).
  void* refill(Cache& cache, unsigned index, std::size_t size, CallOom call_oom) {
    const std::size_t class_bytes = detail::usable_bytes(detail::class_granules(index));
    std::byte* batch[kBatch];
    batch[0] = static_cast<std::byte*>(
        heap_allocate(class_bytes, kCacheAlignment, AllocationTag{}, call_oom));
    if (batch[0] == nullptr) {
      return nullptr;
    }
    ++cache.refills;
    unsigned taken = 1;
    while (taken < kBatch) {
      auto* more = static_cast<std::byte*>(heap_.try_allocate(class_bytes, kCacheAlignment));
      if (more == nullptr) {
        break;
      }
      unsigned at = taken++;  // insertion by address
      for (; at > 0 && batch[at - 1] > more; --at) {
        batch[at] = batch[at - 1];
      }
      batch[at] = more;
    }
    const unsigned middle = taken / 2;
    for (unsigned step = 0; step < taken; ++step) {
      // 0, taken-1, 1, taken-2, ...: from the ends inward; the middle one is handed out.
      const unsigned at = step % 2 == 0 ? step / 2 : taken - 1 - step / 2;
      if (at == middle) {
        continue;
      }
      std::byte* block = batch[at];
      Word granules = 0;
      Word pad = 0;
      header_facts(block, granules, pad);
      const unsigned into = granules <= kLargestCachedBlock ? kClassDown[granules] : index;
      if (granules > kLargestCachedBlock || cache.count[into] == kCapacity) {
        heap_.free(block);
        continue;
      }
      push(cache, into, block, granules, pad);
    }
    // The block handed out was announced at class_bytes: tell the tools the size asked for.
    std::byte* handed = batch[middle];
    Word granules = 0;
    Word pad = 0;
    header_facts(handed, granules, pad);
    const std::size_t room = detail::usable_bytes(granules);
    detail::tools::on_resize(handed, room, size, room);
    return handed;
  }

  /// Under the heap lock or not: the size and pad of a live block, from its header.
  static void header_facts(const std::byte* payload, Word& granules, Word& pad) {
    const detail::tools::Scope scope;
    const Word header = detail::load_live_word(payload - detail::kHeaderBytes);
    granules = detail::granules_of(header);
    pad = (header & detail::kPaddedBit) != 0 ? detail::kPadGranules : 0;
  }

  /// Takes a block of class `index` from `cache` for a request of `size` bytes, or null. Sets
  /// `broken` (and reports) if the block at the head was written after it was cached.
  void* pop(Cache& cache, unsigned index, std::size_t size, bool& broken) {
    std::byte* payload = cache.head[index];
    if (payload == nullptr) {
      return nullptr;
    }
    {
      const detail::tools::Scope scope;
      std::byte* next = detail::cached_next(payload);
      if constexpr (H::options.checking != Checking::none) {
        // A write after free into a cached block, or a broken list: the heap's checks cannot see
        // it, so the cache looks at the mark of every block it hands out and of the next one
        // (which must lie inside the heap before it is read), so that a bad link never becomes
        // the head of a list.
        if (!marked(payload) ||
            (next != nullptr && !(region_end_around(next) != 0 && marked(next)))) {
          broken = true;
          report_fault(Fault::corrupted_block, payload);
          return nullptr;
        }
      }
      cache.head[index] = next;
      detail::store_word(payload + detail::kCacheMarkOffset, 0);
    }
    --cache.count[index];
    --cache.blocks;
    Word granules = 0;
    Word pad = 0;
    header_facts(payload, granules, pad);
    cache.bytes -= detail::bytes_of(granules + pad);
    detail::tools::on_allocate(payload, size, detail::usable_bytes(granules));
    return payload;
  }

  /// Puts a live block into class `index` of `cache`. The class has room.
  void push(Cache& cache, unsigned index, std::byte* payload, Word granules, Word pad) {
    {
      // on_free inside one Scope, as the heap calls it: valgrind reports its FREELIKE.
      const detail::tools::Scope scope;
      detail::tools::on_free(payload, detail::usable_bytes(granules));
      detail::set_cached_next(payload, cache.head[index]);
      detail::store_word(payload + detail::kCacheMarkOffset, mark_of(payload));
    }
    cache.head[index] = payload;
    ++cache.count[index];
    ++cache.blocks;
    cache.bytes += detail::bytes_of(granules + pad);
  }

  /// Under the heap lock: gives up to `limit` blocks of class `index` back to the heap.
  /// A block whose mark is gone (written after it was cached) is reported and stops the flush:
  /// the rest of that list stays where it is, for validate() to show.
  std::size_t flush(Cache& cache, unsigned index, unsigned limit) {
    std::size_t given = 0;
    while (given < limit && cache.head[index] != nullptr) {
      std::byte* payload = cache.head[index];
      Word granules = 0;
      Word pad = 0;
      {
        const detail::tools::Scope scope;
        if (H::options.checking != Checking::none && !marked(payload)) {
          report_fault(Fault::corrupted_block, payload);
          break;
        }
      }
      header_facts(payload, granules, pad);
      {
        const detail::tools::Scope scope;
        cache.head[index] = detail::cached_next(payload);
        detail::store_word(payload + detail::kCacheMarkOffset, 0);
      }
      --cache.count[index];
      --cache.blocks;
      cache.bytes -= detail::bytes_of(granules + pad);
      // Live again for the tools, so that the heap's free announces a live block's end.
      const std::size_t usable = detail::usable_bytes(granules);
      detail::tools::on_allocate(payload, usable, usable);
      heap_.free(payload);
      ++given;
    }
    return given;
  }

  /// With `cache`'s lock held: every block of `cache` back to the heap, under the heap lock.
  std::size_t flush_all(Cache& cache) {
    if (cache.blocks == 0) {
      return 0;
    }
    lock_.lock();
    std::size_t given = 0;
    for (unsigned index = 0; index < kClasses; ++index) {
      given += flush(cache, index, kCapacity);
    }
    ++cache.flushes;
    lock_.unlock();
    return given;
  }

  /// Memory pressure: gives every CPU's cache back, one CPU lock at a time (the caller's own
  /// lock is released meanwhile and taken again). At most kMaxCpus · kClasses · capacity frees.
  void reclaim(Cache* own) {
    if constexpr (kCaching) {
      if (own != nullptr) {
        ++own->reclaims;
        own->lock.unlock();
      }
      for (Cache& cache : caches_) {
        cache.lock.lock();
        (void)flush_all(cache);
        cache.lock.unlock();
      }
      if (own != nullptr) {
        own->lock.lock();
      }
    } else {
      (void)own;
    }
  }

  // --- free --------------------------------------------------------------------------------------
  void free_into(Cache& cache, std::byte* payload) {
    Word granules = 0;
    Word pad = 0;
    if (!cacheable(payload, granules, pad)) {
      // Not for a cache: a large or 8-aligned block, or a bad pointer, which the heap reports.
      lock_.lock();
      heap_.free(payload);
      lock_.unlock();
      return;
    }
    if constexpr (H::options.checking != Checking::none) {
      const detail::tools::Scope scope;
      if (marked(payload)) {
        report_fault(Fault::double_free, payload);
        return;
      }
    }
    const unsigned index = kClassDown[granules];
    if (cache.count[index] == kCapacity) {
      lock_.lock();
      (void)flush(cache, index, kBatch);
      ++cache.flushes;
      lock_.unlock();
    }
    push(cache, index, payload, granules, pad);
  }

  /// Whether `payload` is a live block the caches can take, read without the heap lock:
  /// kCacheAlignment-aligned, in the heap's range, a USED header of a cached size (the
  /// unsplit granule included), a next header with PREV_USED, an intact pad. Anything else goes
  /// to the heap, whose own checks, under its lock, decide and report.
  bool cacheable(const std::byte* payload, Word& granules, Word& pad) const {
    const detail::tools::Scope scope;
    const auto address = reinterpret_cast<std::uintptr_t>(payload);
    if ((address & (kCacheAlignment - 1)) != 0) {
      return false;
    }
    if constexpr (H::options.checking == Checking::none) {
      const Word header = detail::load_live_word(payload - detail::kHeaderBytes);
      granules = detail::granules_of(header);
      pad = (header & detail::kPaddedBit) != 0 ? detail::kPadGranules : 0;
      return (header & detail::kUsedBit) != 0 && granules <= kLargestCachedBlock;
    } else {
      const std::uintptr_t end = region_end_around(payload);
      return end != 0 && plausible_live_block(payload, end, granules, pad) &&
             granules <= kLargestCachedBlock;
    }
  }

  /// The checks of the heap's free (docs/design.md section 7), on words read without its lock.
  /// `end` is the end of the region around `payload` (region_end_around).
  static bool plausible_live_block(const std::byte* payload, std::uintptr_t end, Word& granules,
                                   Word& pad) {
    const Word header =
        detail::live_header(payload - detail::kHeaderBytes, end,
                            [](const std::byte* at) { return detail::load_live_word(at); });
    granules = detail::granules_of(header);
    pad = (header & detail::kPaddedBit) != 0 ? detail::kPadGranules : 0;
    return header != 0;
  }

  /// The end of the region that holds `payload` past its record, as last seen under the heap
  /// lock (update_bounds), or 0 if none of the regions seen does, or `payload` is not 8-aligned.
  /// O(regions seen), at most kRegionsSeen.
  std::uintptr_t region_end_around(const std::byte* payload) const {
    const auto address = reinterpret_cast<std::uintptr_t>(payload);
    if ((address & (detail::kGranule - 1)) != 0) {
      return 0;
    }
    const unsigned count = region_count_.load(std::memory_order_relaxed);
    for (unsigned index = 0; index < count && index < kRegionsSeen; ++index) {
      const std::uintptr_t first = regions_[index].first.load(std::memory_order_relaxed);
      const std::uintptr_t end = regions_[index].end.load(std::memory_order_relaxed);
      if (address >= first && address < end) {
        return end;
      }
    }
    return 0;
  }

  /// Under the heap lock: whether `payload` lies inside one of the heap's regions, all of them.
  std::uintptr_t region_end_locked(const std::byte* payload) const {
    const auto address = reinterpret_cast<std::uintptr_t>(payload);
    std::uintptr_t found = 0;
    heap_.for_each_region([&](Span region) {
      const auto begin = reinterpret_cast<std::uintptr_t>(region.begin());
      const auto end = reinterpret_cast<std::uintptr_t>(region.end());
      if (address >= begin + detail::kRecordBytes + detail::kHeaderBytes && address < end) {
        found = end;
      }
    });
    return (address & (detail::kGranule - 1)) == 0 ? found : 0;
  }

  /// Before a free, reallocate or usable_size that goes to the heap: reports a block that sits
  /// in a cache as a double free. False if it does.
  bool usable(const void* pointer) const {
    if constexpr (kCaching && H::options.checking != Checking::none) {
      const auto* payload = static_cast<const std::byte*>(pointer);
      Word granules = 0;
      Word pad = 0;
      if (cacheable(payload, granules, pad)) {
        const detail::tools::Scope scope;
        if (marked(payload)) {
          report_fault(Fault::double_free, pointer);
          return false;
        }
      }
    } else {
      (void)pointer;
    }
    return true;
  }

  // --- marks -------------------------------------------------------------------------------------
  /// The word a cached block carries at kCacheMarkOffset: its address mixed with the secret. A
  /// program's data equals it by chance with probability 2^-32; the cache clears it when it
  /// hands the block out or gives it back.
  Word mark_of(const std::byte* payload) const {
    const auto address = reinterpret_cast<std::uintptr_t>(payload);
    return (static_cast<Word>(address >> detail::kGranuleShift) * 0x9E3779B1U) ^ secret_;
  }
  bool marked(const std::byte* payload) const {
    return detail::load_word(payload + detail::kCacheMarkOffset) == mark_of(payload);
  }

  // --- bounds ------------------------------------------------------------------------------------
  /// Under the heap lock: the extents of the first kRegionsSeen regions, for the range check
  /// free makes without the lock. A pointer into a region not seen goes to the heap, which checks
  /// it under its lock. A reader that runs while a region changes may see some old bounds and
  /// some new: it then sends a live block to the heap, which is right too.
  void update_bounds() {
    if constexpr (kCaching) {
      unsigned count = 0;
      heap_.for_each_region([&](Span region) {
        if (count < kRegionsSeen) {
          regions_[count].first.store(reinterpret_cast<std::uintptr_t>(region.begin()) +
                                          detail::kRecordBytes + detail::kHeaderBytes,
                                      std::memory_order_relaxed);
          regions_[count].end.store(reinterpret_cast<std::uintptr_t>(region.end()),
                                    std::memory_order_relaxed);
          ++count;
        }
      });
      region_count_.store(count, std::memory_order_relaxed);
    }
  }

  // --- walk --------------------------------------------------------------------------------------
  /// With every lock held: Heap::walk with cached blocks shown as free. Each list is sorted by
  /// address, so that one cursor per list and class follows the walk's increasing addresses.
  template <typename V>
  void walk_locked(V&& visitor) {
    if constexpr (!kCaching) {
      heap_.walk(visitor);
    } else {
      for (Cache& cache : caches_) {
        for (unsigned index = 0; index < kClasses; ++index) {
          cache.head[index] = sort_by_address(cache.head[index], cache.count[index]);
          cache.scan[index] = cache.head[index];
        }
      }
      const std::byte* previous = nullptr;
      heap_.walk([&](const BlockInfo& info) {
        auto* payload = static_cast<std::byte*>(info.address);
        if (payload < previous) {  // the next region, lower in memory: start the cursors again
          for (Cache& cache : caches_) {
            for (unsigned index = 0; index < kClasses; ++index) {
              cache.scan[index] = cache.head[index];
            }
          }
        }
        previous = payload;
        bool cached = false;
        const Word granules =
            static_cast<Word>((info.size + detail::kHeaderBytes) >> detail::kGranuleShift);
        if (info.used && granules <= kLargestCachedBlock) {
          const unsigned index = kClassDown[granules];
          for (Cache& cache : caches_) {
            std::byte*& cursor = cache.scan[index];
            while (cursor != nullptr && cursor < payload) {
              cursor = detail::cached_next(cursor);
            }
            cached = cached || cursor == payload;
          }
        }
        if (cached) {
          visitor(BlockInfo{info.address, info.size, false, AllocationTag{}});
        } else {
          visitor(info);
        }
      });
    }
  }

  /// Sorts a list of `count` cached blocks by address, in place (bottom-up merge sort of a
  /// linked list: O(count · log count), no memory beyond a few pointers). Returns the new head.
  static std::byte* sort_by_address(std::byte* head, unsigned count) {
    const detail::tools::Scope scope;
    for (unsigned width = 1; width < count; width *= 2) {
      std::byte* rest = head;
      std::byte* merged = nullptr;
      std::byte* tail = nullptr;
      while (rest != nullptr) {
        std::byte* left = rest;
        std::byte* right = split_after(left, width);
        rest = split_after(right, width);
        while (left != nullptr || right != nullptr) {
          std::byte** from = right == nullptr || (left != nullptr && left < right) ? &left : &right;
          std::byte* node = *from;
          *from = detail::cached_next(node);
          if (tail == nullptr) {
            merged = node;
          } else {
            detail::set_cached_next(tail, node);
          }
          tail = node;
        }
      }
      if (tail != nullptr) {
        detail::set_cached_next(tail, nullptr);
      }
      head = merged;
    }
    return head;
  }

  /// Cuts a list after its first `length` nodes; returns the rest (null if none).
  static std::byte* split_after(std::byte* list, unsigned length) {
    for (unsigned n = 1; list != nullptr && n < length; ++n) {
      list = detail::cached_next(list);
    }
    if (list == nullptr) {
      return nullptr;
    }
    std::byte* rest = detail::cached_next(list);
    detail::set_cached_next(list, nullptr);
    return rest;
  }

  // --- state -------------------------------------------------------------------------------------
  Cache caches_[kMaxCpus] = {};
  H heap_;
  L lock_{};
  /// The heap's regions as last seen under its lock (free's range check, update_bounds).
  struct Extent {
    std::atomic<std::uintptr_t> first{0};  ///< the lowest payload address: past the record
    std::atomic<std::uintptr_t> end{0};
  };
  Extent regions_[kRegionsSeen] = {};
  std::atomic<unsigned> region_count_{0};
  Word secret_ = 0x5BD1E995U;
};

}  // namespace keel
