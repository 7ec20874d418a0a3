// tests/support/thread_cpu.hpp: a keel::CpuPolicy for host tests of keel::CpuCached.
//
// On a host there are no interrupts to mask and threads are not pinned, so the "CPU" is an index
// each thread chooses for itself with ThreadCpu::set (0 until it does). Two threads must never use
// the same index at once: that is the policy's promise to CpuCached, as a kernel's is that
// current() does not change while interrupts are masked. A single-threaded test switches the
// index to play several CPUs in turn.
#pragma once

namespace keel_test {

template <unsigned kCpus>
struct BasicThreadCpu {
  static constexpr unsigned kMaxCpus = kCpus;
  using Saved = int;
  static Saved mask() noexcept { return 0; }
  static void restore(Saved /*saved*/) noexcept {}
  static unsigned current() noexcept { return index(); }
  /// Makes the calling thread CPU `cpu` (kMaxCpus or more: a CPU the cache does not know).
  static void set(unsigned cpu) noexcept { index() = cpu; }

 private:
  static unsigned& index() noexcept {
    thread_local unsigned value = 0;
    return value;
  }
};

using ThreadCpu = BasicThreadCpu<4>;

}  // namespace keel_test
