// ports/x86_64/ticket_lock.hpp: a fair spinlock for several cores.
//
// A ticket lock: lock() takes the next ticket and spins (with `pause`) until the lock serves it,
// so cores get the lock in the order they asked: no core starves while others loop on
// allocate/free, which a test-and-set lock cannot promise.
//
// Only the waiter next in line spins. The ones behind it halt until their ticket is next
// (unlock() sends them a wake-up IPI then), and the next one halts too if the holder keeps the
// lock for more than kSpinsBeforeSleep pauses. x86/wait.hpp says why: under QEMU, virtual cores
// that outnumber the host's would otherwise spin while the holder, or the core whose turn it
// is, waits for a host CPU. With only the next waiter spinning, a hand-off usually finds it
// running. Not interrupt-safe by itself: code
// that an interrupt handler may also run takes keel::port::IrqLock (irq_lock.hpp), which masks
// interrupts on this core first. Not recursive.
#pragma once

#include <atomic>
#include <cstdint>

#include "x86/cpu.hpp"
#include "x86/wait.hpp"

namespace keel::port::x86 {

class TicketLock {
 public:
  constexpr TicketLock() = default;
  TicketLock(const TicketLock&) = delete;
  TicketLock& operator=(const TicketLock&) = delete;

  /// Waits for the lock: O(cores ahead in the queue) critical sections. Any context where the
  /// holder cannot be interrupted by this core.
  void lock() noexcept {
    const std::uint32_t ticket = next_.fetch_add(1, std::memory_order_relaxed);
    unsigned spins = 0;
    for (;;) {
      const std::uint32_t serving = serving_.load(std::memory_order_acquire);
      if (serving == ticket) {
        return;
      }
      if (ticket - serving > 1) {
        sleep_until(serving_, ticket - 1);  // until this ticket is next in line
        continue;
      }
      pause();
      if (++spins == kSpinsBeforeSleep) {
        sleep_until(serving_, ticket);  // the holder is slow: until it hands over
        spins = 0;
      }
    }
  }

  /// Takes the lock only if nobody holds it or waits for it. O(1).
  [[nodiscard]] bool try_lock() noexcept {
    std::uint32_t serving = serving_.load(std::memory_order_relaxed);
    return next_.compare_exchange_strong(serving, serving + 1, std::memory_order_acquire,
                                         std::memory_order_relaxed);
  }

  /// Passes the lock to the next ticket. Only the holder may call it.
  void unlock() noexcept {
    const std::uint32_t next = serving_.load(std::memory_order_relaxed) + 1;
    serving_.store(next, std::memory_order_seq_cst);
    wake_sleepers(serving_, next);
  }

  /// True while some core holds the lock (a snapshot, for diagnostics).
  [[nodiscard]] bool is_locked() const noexcept {
    return next_.load(std::memory_order_relaxed) != serving_.load(std::memory_order_relaxed);
  }

 private:
  // Apart, so that waiters reading serving_ do not bounce the line that new tickets write.
  alignas(64) std::atomic<std::uint32_t> next_{0};
  alignas(64) std::atomic<std::uint32_t> serving_{0};
};

}  // namespace keel::port::x86
