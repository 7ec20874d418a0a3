// ports/linux/src/mutex.cpp: the slow paths of keel::hosted::Mutex (keel/hosted/mutex.hpp).
#include "keel/hosted/mutex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace keel::hosted {
namespace {

/// The futex word of an atomic (the static_assert in mutex.hpp: a plain 32-bit word).
std::uint32_t* word_of(std::atomic<std::uint32_t>& state) {
  return reinterpret_cast<std::uint32_t*>(&state);
}

}  // namespace

void Mutex::lock_contended(std::uint32_t seen) noexcept {
  const int saved_errno = errno;  // a malloc that succeeds leaves errno alone where it can
  // From here on the word says "sleepers" whenever this thread may sleep, so that the unlock
  // that frees it wakes someone.
  if (seen != kSleepers) {
    seen = state_.exchange(kSleepers, std::memory_order_acquire);
  }
  while (seen != kFree) {
    // Sleeps only if the word still says kSleepers; returns at once otherwise (EAGAIN).
    syscall(SYS_futex, word_of(state_), FUTEX_WAIT_PRIVATE, kSleepers, nullptr, nullptr, 0);
    seen = state_.exchange(kSleepers, std::memory_order_acquire);
  }
  errno = saved_errno;
}

void Mutex::wake_one() noexcept {
  const int saved_errno = errno;
  syscall(SYS_futex, word_of(state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  errno = saved_errno;
}

}  // namespace keel::hosted
