// ports/x86_64/include/x86/this_cpu.hpp: the port's keel::CpuPolicy, for keel::CpuCached
// (keel/cpu_cache.hpp): which core is running, and how to mask its interrupts.
//
// mask() saves RFLAGS and masks interrupts (cli), restore() unmasks them if they were enabled:
// with interrupts masked the kernel neither preempts nor migrates, so the core index read by
// current() stays true until restore(). The index is the dense cpu index of x86/smp.hpp (0 is the
// bootstrap core), read from the per-core block GS points at: one load, inline here because it
// sits on every cached allocation. Valid once the core's per-core block is set up (boot does it
// before main, and before an application core runs any job). Any context.
#pragma once

#include <cstdint>

#include "x86/boot_layout.h"
#include "x86/cpu.hpp"

namespace keel::port::x86 {

struct ThisCpu {
  static constexpr unsigned kMaxCpus = MAX_CPUS;
  using Saved = std::uint64_t;

  static Saved mask() noexcept { return save_and_disable_interrupts(); }
  static void restore(Saved saved) noexcept { restore_interrupts(saved); }
  /// The running core's index: gs:0, the first field of the per-core block (src/smp.cpp, which
  /// static_asserts the offset).
  static unsigned current() noexcept {
    std::uint32_t index = 0;
    asm volatile("movl %%gs:0, %0" : "=r"(index));
    return index;
  }
};

}  // namespace keel::port::x86
