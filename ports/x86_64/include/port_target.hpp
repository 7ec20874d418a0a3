// port_target.hpp (x86_64): keel::port::IrqLock, the part of the port contract (ports/port.hpp)
// that must be inline.
//
// lock() masks interrupts on this core (saving RFLAGS.IF), then takes a ticket lock shared by all
// cores; unlock() releases the ticket lock, then restores IF as it was. So the holder is never
// interrupted on its own core (an interrupt handler that allocates cannot deadlock against the
// code it interrupted), and the other cores wait their turn in FIFO order. Nesting two different
// IrqLocks restores the interrupt state correctly; taking the same one twice deadlocks.
#pragma once

#include <cstdint>

#include "x86/cpu.hpp"
#include "x86/ticket_lock.hpp"

namespace keel::port {

class IrqLock {
 public:
  constexpr IrqLock() = default;
  IrqLock(const IrqLock&) = delete;
  IrqLock& operator=(const IrqLock&) = delete;

  void lock() noexcept {
    const std::uint64_t flags = x86::save_and_disable_interrupts();
    spin_.lock();
    saved_flags_ = flags;
  }

  /// As lock(), but gives up (restoring the interrupt state) if another core holds the lock.
  [[nodiscard]] bool try_lock() noexcept {
    const std::uint64_t flags = x86::save_and_disable_interrupts();
    if (!spin_.try_lock()) {
      x86::restore_interrupts(flags);
      return false;
    }
    saved_flags_ = flags;
    return true;
  }

  void unlock() noexcept {
    const std::uint64_t flags = saved_flags_;
    spin_.unlock();
    x86::restore_interrupts(flags);
  }

  [[nodiscard]] bool is_locked() const noexcept { return spin_.is_locked(); }

 private:
  x86::TicketLock spin_{};
  std::uint64_t saved_flags_ = 0;  // written only by the holder
};

}  // namespace keel::port
