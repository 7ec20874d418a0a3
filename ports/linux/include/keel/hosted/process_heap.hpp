// keel/hosted/process_heap.hpp: a keel heap as the malloc of a Linux process.
//
// keel::hosted::ProcessHeap is a keel::Heap that grows by mapping memory (MapOnOom), behind a
// mutex, that gives the pages of large freed blocks back to the kernel, and that answers
// usable_size without the lock. It is constant-initialised, so it serves requests made before
// any constructor runs, and it is what KEEL_GLOBAL_HEAP needs:
//
//     constinit keel::hosted::ProcessHeap<> g_heap;
//     KEEL_GLOBAL_HEAP(g_heap);           // with keel::libc: the process's malloc family
//
// The LD_PRELOAD library (ports/linux/src/preload.cpp) is three of these, one per checking level.
//
// Giving pages back (docs/design.md section 12). free of a block whose usable size is at least
// return_threshold() hands the whole pages inside it back to the kernel (madvise MADV_DONTNEED)
// before it frees the block: the memory leaves the process at once, the addresses stay in the
// heap as a free block and are backed again, with zeros, when they are next used. The work is
// one system call on the block's own pages, done without the heap's lock (the block is still
// the caller's until it is freed), so it adds nothing to any other thread's wait and nothing to
// the heap's O(1) bounds. The pages kept are the ones a free block's metadata lies in: its
// header, links and footer sit in the first 12 and the last 4 bytes of the block (section 1).
// A reallocate that moves a large block returns the old block's pages the same way.
// Not done with Checking::full: there a free block's inside holds the freed fill, checked when
// the memory is handed out again, and pages read back as zeros would be reported as written
// after free. Not done either for memory that a free merges from smaller blocks, or for the tail
// that a shrinking reallocate frees: finding those pages would take more than O(1) work.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/config.hpp"
#include "keel/detail/block.hpp"
#include "keel/detail/tools.hpp"
#include "keel/heap.hpp"
#include "keel/hosted/map_on_oom.hpp"
#include "keel/hosted/mutex.hpp"
#include "keel/hosted/pages.hpp"
#include "keel/lock.hpp"
#include "keel/tag.hpp"

#if defined(__SANITIZE_THREAD__)
#define KEEL_HOSTED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KEEL_HOSTED_TSAN 1
#endif
#endif

namespace keel::hosted {

/// The least usable size of a block whose pages free gives back by default: glibc's default
/// mmap threshold, above which glibc too gives a freed block's memory back at once.
inline constexpr std::size_t kDefaultReturnThreshold = std::size_t{128} << 10U;

template <HeapOptions kOptions = HeapOptions{}, BasicLockable Lock = Mutex>
class ProcessHeap {
 public:
  using HeapType = Heap<MapOnOom, kOptions>;
  /// Whether free gives pages back at all (not with Checking::full, see the top of the file).
  static constexpr bool kReturnsPages = kOptions.checking < Checking::full;

  constexpr ProcessHeap() = default;
  /// A heap whose free gives back the pages of blocks of at least `return_threshold` usable
  /// bytes (SIZE_MAX: never).
  constexpr explicit ProcessHeap(std::size_t return_threshold)
      : return_threshold_(return_threshold) {}
  ProcessHeap(const ProcessHeap&) = delete;
  ProcessHeap& operator=(const ProcessHeap&) = delete;

  /// Heap::allocate under the lock. O(1), plus the OOM policy's system calls when the heap grows.
  [[nodiscard]] void* allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                               AllocationTag tag = AllocationTag::here()) {
    const LockGuard guard(lock_);
    return detail::allocate_tagged(heap_, size, align, tag);
  }

  /// Heap::reallocate's contract. A large block (return_threshold) that cannot be resized in
  /// place is moved by allocate, copy and free, the copy outside the lock and the old pages
  /// given back; smaller blocks take Heap::reallocate under the lock.
  [[nodiscard]] void* reallocate(void* pointer, std::size_t size,
                                 std::size_t align = kDefaultAlignment,
                                 AllocationTag tag = AllocationTag::here()) {
    if constexpr (kReturnsPages) {
      if (pointer != nullptr && size != 0) {
        std::size_t old_size = 0;
        {
          const LockGuard guard(lock_);
          if (!large(pointer)) {
            return detail::reallocate_tagged(heap_, pointer, size, align, tag);
          }
          old_size = heap_.usable_size(pointer);  // checks the pointer; 0 (reported) if bad
          if (old_size == 0) {
            return nullptr;
          }
          if (heap_.try_resize_in_place(pointer, size, tag)) {
            return pointer;
          }
        }
        void* fresh = allocate(size, align, tag);
        if (fresh == nullptr) {
          return nullptr;
        }
        detail::tools::open_for_copy(pointer, old_size);
        __builtin_memcpy(fresh, pointer, old_size < size ? old_size : size);
        give_back_and_free(pointer, old_size);
        return fresh;
      }
      if (pointer != nullptr) {
        free(pointer);  // size 0: Heap::reallocate frees and returns null
        return nullptr;
      }
    }
    const LockGuard guard(lock_);
    return detail::reallocate_tagged(heap_, pointer, size, align, tag);
  }

  /// Heap::free under the lock; a large block's pages are given back first. null is ignored.
  void free(void* pointer) {
    if (pointer == nullptr) {
      return;
    }
    if constexpr (kReturnsPages) {
      std::size_t size = 0;
      {
        const LockGuard guard(lock_);
        if (!large(pointer)) {
          heap_.free(pointer);
          return;
        }
        size = heap_.usable_size(pointer);  // checks the pointer; 0 (reported) if bad
        if (size == 0) {
          return;
        }
      }
      give_back_and_free(pointer, size);
    } else {
      const LockGuard guard(lock_);
      heap_.free(pointer);
    }
  }

  /// The usable bytes of a live block, read from the block itself, without the lock: the block
  /// is the caller's, and the one word of it that other threads write (the header's PREV_USED
  /// bit, when the block in front is allocated or freed) does not change the size read from it.
  /// O(1). 0 for null. A pointer that is not a live block is not checked (as glibc's
  /// malloc_usable_size): use Heap::usable_size through with_lock for a checked answer.
  /// ThreadSanitizer builds take the lock: the unlocked read races, benignly, with that write.
  [[nodiscard]] std::size_t usable_size(const void* pointer) {
    if (pointer == nullptr) {
      return 0;
    }
#if defined(KEEL_HOSTED_TSAN)
    const LockGuard guard(lock_);
#endif
    return live_block_size(pointer);
  }

  /// The heap's statistics, under the lock. O(1).
  [[nodiscard]] Statistics statistics() {
    const LockGuard guard(lock_);
    return heap_.statistics();
  }

  /// Runs function(heap) with the lock held: validate, walk, dump, leak_report.
  template <typename F>
  decltype(auto) with_lock(F&& function) {
    const LockGuard guard(lock_);
    return static_cast<F&&>(function)(heap_);
  }

  /// The heap itself, unlocked, and the lock (pthread_atfork handlers take it around fork).
  [[nodiscard]] HeapType& unlocked() {
    return heap_;
  }
  [[nodiscard]] Lock& lock() {
    return lock_;
  }

  /// The least usable size of a block whose pages free gives back (SIZE_MAX: never).
  [[nodiscard]] std::size_t return_threshold() const {
    return return_threshold_;
  }
  /// Sets it. Not synchronised: before the heap is shared (the preload library sets it from
  /// the environment before its first allocation).
  void set_return_threshold(std::size_t bytes) {
    return_threshold_ = bytes;
  }

 private:
  /// The size a live block's own words give: its header's granules less header and trailer, or
  /// with Checking::full the requested size stored first in its trailer (docs/design.md
  /// sections 1 and 9). tests/hosted checks it against Heap::usable_size at every level.
  static std::size_t live_block_size(const void* pointer) {
    const std::byte* block = static_cast<const std::byte*>(pointer) - detail::kHeaderBytes;
    const std::size_t bytes = detail::bytes_of(detail::granules_of(detail::header_of(block)));
    if constexpr (kOptions.checking >= Checking::full) {
      return detail::load_word(block + bytes - HeapType::trailer_bytes);
    } else {
      return bytes - detail::kHeaderBytes - HeapType::trailer_bytes;
    }
  }

  /// Under the lock: whether `pointer` may be a block of at least return_threshold_ bytes. Reads
  /// its header only where memory is committed (a foreign pointer goes straight to Heap::free,
  /// which reports it); Heap::usable_size then checks it before any page is given back.
  bool large(const void* pointer) {
    return heap_.oom_policy().contains(pointer) && live_block_size(pointer) >= return_threshold_;
  }

  /// The whole pages of a live block of `size` usable bytes, bar the first 8 (a free block's
  /// links) and the last 4 (its footer), go back to the kernel; then the block is freed.
  void give_back_and_free(void* pointer, std::size_t size) {
    if (size > 12) {
      return_pages(Span{static_cast<std::byte*>(pointer) + 8, size - 12});
    }
    const LockGuard guard(lock_);
    heap_.free(pointer);
  }

  HeapType heap_{};
  Lock lock_{};
  std::size_t return_threshold_ = kDefaultReturnThreshold;
};

}  // namespace keel::hosted
