// keel/lock.hpp: locks, and the wrapper that makes a heap safe to share.
//
// The core heap is unsynchronised. `Locked<Heap, Lock>` takes the lock around every call. Any
// type with lock() and unlock() will do: `NoLock`, `SpinLock` (here), a port's interrupt-masking
// lock, or std::mutex on a host. The OOM policy runs with the lock held (docs/design.md §6).
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

#include "keel/config.hpp"
#include "keel/tag.hpp"

namespace keel {

template <typename L>
concept BasicLockable = requires(L& lock) {
  lock.lock();
  lock.unlock();
};

/// A lock that does nothing, for a heap used by one thread with no interrupt handlers.
struct NoLock {
  constexpr void lock() noexcept {}
  constexpr void unlock() noexcept {}
};

/// A test-and-test-and-set spinlock on an atomic flag. Not fair and not interrupt-safe: on a
/// single core, use a port's interrupt-masking lock instead. Needs hardware atomics (not v6-M).
class SpinLock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) {
        return;
      }
      while (locked_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
  }
  void unlock() noexcept {
    locked_.store(false, std::memory_order_release);
  }

 private:
  std::atomic<bool> locked_{false};
};

/// RAII holder for any BasicLockable.
template <BasicLockable L>
class LockGuard {
 public:
  explicit LockGuard(L& lock) : lock_(lock) { lock_.lock(); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  L& lock_;
};

/// A heap behind a lock. Every call takes the lock for its whole duration (all bounded, except
/// the O(n) inspection calls, which say so).
template <typename H, BasicLockable L>
class Locked {
 public:
  template <typename... Args>
  constexpr explicit Locked(Args&&... args) : heap_(std::forward<Args>(args)...) {}

  // The allocating calls pass the caller's tag on (HeapOptions::tags) when the heap takes one.
  [[nodiscard]] void* allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                               AllocationTag tag = AllocationTag::here()) {
    LockGuard guard(lock_);
    return detail::allocate_tagged(heap_, size, align, tag);
  }
  [[nodiscard]] void* try_allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                                   AllocationTag tag = AllocationTag::here()) {
    LockGuard guard(lock_);
    if constexpr (requires { heap_.try_allocate(size, align, tag); }) {
      return heap_.try_allocate(size, align, tag);
    } else {
      return heap_.try_allocate(size, align);
    }
  }
  [[nodiscard]] void* allocate_zeroed(std::size_t count, std::size_t size,
                                      std::size_t align = kDefaultAlignment,
                                      AllocationTag tag = AllocationTag::here()) {
    LockGuard guard(lock_);
    if constexpr (requires { heap_.allocate_zeroed(count, size, align, tag); }) {
      return heap_.allocate_zeroed(count, size, align, tag);
    } else {
      return heap_.allocate_zeroed(count, size, align);
    }
  }
  [[nodiscard]] void* reallocate(void* pointer, std::size_t size,
                                 std::size_t align = kDefaultAlignment,
                                 AllocationTag tag = AllocationTag::here()) {
    LockGuard guard(lock_);
    return detail::reallocate_tagged(heap_, pointer, size, align, tag);
  }
  void free(void* pointer) {
    LockGuard guard(lock_);
    heap_.free(pointer);
  }
  [[nodiscard]] std::size_t usable_size(const void* pointer) {
    LockGuard guard(lock_);
    return heap_.usable_size(pointer);
  }
  [[nodiscard]] auto statistics() {
    LockGuard guard(lock_);
    return heap_.statistics();
  }
  /// Runs `function(heap)` with the lock held: for claim, extend, truncate, walk, validate, dump.
  template <typename F>
  decltype(auto) with_lock(F&& function) {
    LockGuard guard(lock_);
    return std::forward<F>(function)(heap_);
  }

  /// The heap itself, unlocked: for single-threaded set-up before sharing.
  [[nodiscard]] H& unlocked() { return heap_; }
  [[nodiscard]] L& lock() { return lock_; }

 private:
  H heap_;
  L lock_{};
};

}  // namespace keel
