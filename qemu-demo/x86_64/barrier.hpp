// qemu-demo/x86_64/barrier.hpp: a reusable spinning barrier for the cores of one job.
#pragma once

#include <atomic>

#include "x86/cpu.hpp"

namespace kernel {

class Barrier {
 public:
  constexpr Barrier() = default;

  /// Sets the number of cores that will arrive. Call before the job starts.
  void reset(unsigned cores) {
    cores_ = cores;
    arrived_.store(0, std::memory_order_relaxed);
  }

  /// Returns once `cores` cores have called it (for this round).
  void arrive_and_wait() {
    const unsigned round = round_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == cores_) {
      arrived_.store(0, std::memory_order_relaxed);
      round_.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    while (round_.load(std::memory_order_acquire) == round) {
      keel::port::x86::pause();
    }
  }

 private:
  unsigned cores_ = 1;
  std::atomic<unsigned> arrived_{0};
  std::atomic<unsigned> round_{0};
};

}  // namespace kernel
