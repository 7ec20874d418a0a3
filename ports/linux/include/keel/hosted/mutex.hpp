// keel/hosted/mutex.hpp: the lock of keel::hosted's process heap.
//
// A futex lock (Drepper, "Futexes are tricky", mutex 2): one 32-bit word, 0 free, 1 taken, 2 taken
// with threads asleep on it. Uncontended, lock is one compare-and-swap and unlock one exchange,
// inline: a few instructions on every malloc and free (a pthread mutex costs about 40, behind
// two calls). A thread that finds it taken sleeps in the kernel (futex wait) instead of spinning,
// which matters when threads outnumber cores. Constant-initialised, so a constinit heap can use it
// before any constructor runs; it never allocates, so it may be taken inside malloc.
#pragma once

#include <atomic>
#include <cstdint>

namespace keel::hosted {

/// Satisfies keel::BasicLockable. Not recursive: a thread that takes it twice deadlocks.
class Mutex {
 public:
  constexpr Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() noexcept {
    std::uint32_t expected = kFree;
    if (!state_.compare_exchange_strong(expected, kTaken, std::memory_order_acquire,
                                        std::memory_order_relaxed)) [[unlikely]] {
      lock_contended(expected);
    }
  }

  void unlock() noexcept {
    if (state_.exchange(kFree, std::memory_order_release) == kSleepers) [[unlikely]] {
      wake_one();
    }
  }

  /// In the child of fork(), for a mutex the parent's forking thread held across the fork
  /// (pthread_atfork's child handler): makes it free. The child has one thread, so nobody else
  /// can hold or wait for it.
  void reset_in_child() noexcept { state_.store(kFree, std::memory_order_relaxed); }

 private:
  static constexpr std::uint32_t kFree = 0;
  static constexpr std::uint32_t kTaken = 1;
  static constexpr std::uint32_t kSleepers = 2;

  /// Marks the lock as having sleepers and sleeps until it is free. `seen`: the state the
  /// failed compare-and-swap found.
  void lock_contended(std::uint32_t seen) noexcept;
  /// Wakes one sleeper (futex wake).
  void wake_one() noexcept;

  std::atomic<std::uint32_t> state_{kFree};
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                    std::atomic<std::uint32_t>::is_always_lock_free,
                "a futex is one plain 32-bit word");
};

}  // namespace keel::hosted
