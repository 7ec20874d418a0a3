// qemu-demo/x86_64/barrier.hpp: a reusable barrier for the cores of one job.
//
// A core that arrives early spins a little, then sleeps (x86/wait.hpp) until the last one
// arrives: with more virtual cores than host CPUs, a spinning waiter would keep a host CPU from
// the cores it waits for.
#pragma once

#include <atomic>
#include <cstdint>

#include "x86/cpu.hpp"
#include "x86/wait.hpp"

namespace kernel {

class Barrier {
 public:
  constexpr Barrier() = default;

  /// Sets the number of cores that will arrive. Call before the job starts.
  void reset(unsigned cores) {
    cores_ = cores;
    arrived_.store(0, std::memory_order_relaxed);
  }

  /// Returns once `cores` cores have called it (for this round). Any interrupt state; it is the
  /// same on return.
  void arrive_and_wait() {
    const std::uint32_t round = round_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == cores_) {
      arrived_.store(0, std::memory_order_relaxed);
      round_.store(round + 1, std::memory_order_seq_cst);
      keel::port::x86::wake_sleepers(round_, round + 1);
      return;
    }
    unsigned spins = 0;
    while (round_.load(std::memory_order_acquire) == round) {
      keel::port::x86::pause();
      if (++spins == keel::port::x86::kSpinsBeforeSleep) {
        const std::uint64_t flags = keel::port::x86::save_and_disable_interrupts();
        keel::port::x86::sleep_until(round_, round + 1);
        keel::port::x86::restore_interrupts(flags);
        spins = 0;
      }
    }
  }

 private:
  unsigned cores_ = 1;
  std::atomic<unsigned> arrived_{0};
  /// Rounds completed: grows by one per round, so every value is stored once (x86/wait.hpp).
  std::atomic<std::uint32_t> round_{0};
};

}  // namespace kernel
