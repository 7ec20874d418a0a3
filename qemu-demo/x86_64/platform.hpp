// qemu-demo/x86_64/platform.hpp: the demo::Platform of this kernel.
#pragma once

#include "demo.hpp"
#include "kernel_heap.hpp"

namespace kernel {

/// The shared workload's view of the machine: region 1 is the first usable range above the
/// kernel image, the out-of-memory reserve the second (or, with only one range, its top
/// quarter), the timer the bootstrap core's local APIC timer.
demo::Platform make_platform(const BootMemory& memory, const char* machine);

}  // namespace kernel
