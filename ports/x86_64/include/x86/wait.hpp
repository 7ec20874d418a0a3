// ports/x86_64/include/x86/wait.hpp: waiting for a word without burning the host's CPU.
//
// Under QEMU every virtual core is a host thread. When there are more virtual cores than host
// cores (the CI machine has 2; the tests boot 4), a core that spins on a lock keeps its thread
// busy while the core that holds the lock, or the one whose turn comes next in a ticket lock,
// waits for a host CPU: a hand-off then costs a host scheduling slice (milliseconds) instead of
// a few hundred nanoseconds. (Linux met the same problem in guests and answered it with
// paravirtual ticket locks: spin a while, then halt until the unlocker sends a wake-up IPI.)
//
// The words waited on are counters that only ever grow by one (a ticket lock's "now serving",
// the generation of a job), so every value is stored exactly once. A waiter calls
// sleep_until(word, value): it publishes what it waits for, checks the counter once more, and,
// unless the counter has reached `value`, halts with only the wake-up vector unmasked (TPR
// raised, IF set just for the hlt). Whoever stores `value` into the counter then calls
// wake_sleepers(word, value), which sends the wake-up IPI to every core sleeping on that word
// for that value. Both sides use sequentially consistent operations, so a wake-up is never
// lost: either the sleeper sees the new value before it halts, or the waker sees the sleeper's
// record. Interrupts other than the wake-up stay masked throughout, so the callers'
// interrupt-masking guarantees hold (IrqLock).
#pragma once

#include <atomic>
#include <cstdint>

namespace keel::port::x86 {

/// How many `pause` iterations a waiter spins before it sleeps.
inline constexpr unsigned kSpinsBeforeSleep = 256;

/// Halts the calling core until the counter `word` may have reached `value` (modulo 2^32: the
/// counter is at most 2^31 - 1 behind). Returns at once if it has. The caller re-checks its own
/// condition afterwards (a wake-up may be spurious). Any context with interrupts masked; the
/// local APIC must be enabled.
void sleep_until(const std::atomic<std::uint32_t>& word, std::uint32_t value) noexcept;

namespace detail {
/// Cores inside sleep_until now.
extern std::atomic<unsigned> g_sleeping_cores;
void wake_sleepers_slow(const std::atomic<std::uint32_t>& word, std::uint32_t value) noexcept;
}  // namespace detail

/// Wakes the cores sleeping in sleep_until(word, value). Call after storing `value` into `word`
/// (with memory_order_seq_cst). One inline load when no core sleeps, O(cores) otherwise.
inline void wake_sleepers(const std::atomic<std::uint32_t>& word, std::uint32_t value) noexcept {
  if (detail::g_sleeping_cores.load(std::memory_order_seq_cst) != 0) {
    detail::wake_sleepers_slow(word, value);
  }
}

/// Wake-up IPIs sent so far (for the reports).
[[nodiscard]] std::uint64_t wake_ups_sent() noexcept;

}  // namespace keel::port::x86
