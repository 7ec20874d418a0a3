// ports/x86_64/smp.cpp: per-core blocks, INIT-SIPI-SIPI start-up, and the work loop of the
// application cores.
#include "x86/smp.hpp"

#include <atomic>
#include <cstddef>

#include "lapic.hpp"
#include "port.hpp"
#include "x86/boot_layout.h"
#include "x86/cpu.hpp"
#include "x86/interrupts.hpp"
#include "x86/wait.hpp"

extern "C" const std::byte ap_trampoline_start[];  // boot.S
extern "C" const std::byte ap_trampoline_end[];

namespace keel::port::x86 {
namespace {

/// What GS points at on each core. `index` must stay the first field (cpu_index reads gs:0).
struct alignas(64) PerCore {
  std::uint32_t index;
  std::uint32_t apic_id;
};
static_assert(offsetof(PerCore, index) == 0);

constinit PerCore g_per_core[MAX_CPUS] = {};
constinit std::atomic<unsigned> g_online{1};

// The job run_on_cores hands out. Published by bumping g_generation (release).
constinit CoreFunction g_job_function = nullptr;
constinit void* g_job_context = nullptr;
constinit unsigned g_job_count = 0;
constinit std::atomic<std::uint32_t> g_generation{0};
// Jobs finished by application cores, counted forever (each value stored once: x86/wait.hpp), so
// that the bootstrap core can sleep until the count it waits for.
constinit std::atomic<std::uint32_t> g_job_acknowledged{0};

// QEMU's firmware configuration device (docs/specs/fw_cfg.txt in QEMU's source).
constexpr std::uint16_t kFwCfgSelector = 0x510;
constexpr std::uint16_t kFwCfgData = 0x511;
constexpr std::uint16_t kFwCfgSignature = 0x0000;
constexpr std::uint16_t kFwCfgCpuCount = 0x0005;

// How long the bootstrap core waits for the application cores: about a second at 1 GHz.
constexpr std::uint64_t kStartTimeoutTicks = 1'000'000'000ULL;

void set_per_core(unsigned index) {
  PerCore& self = g_per_core[index];
  self.index = index;
  self.apic_id = lapic::id();
  write_msr(kMsrGsBase, reinterpret_cast<std::uint64_t>(&self));
}

std::uint8_t fw_cfg_byte() {
  return in8(kFwCfgData);
}

/// An application core between jobs: spins a little, then sleeps until the next job is
/// published (x86/wait.hpp), so that idle cores leave the host's CPUs to the working ones.
[[noreturn]] void work_loop(unsigned index) {
  std::uint32_t seen = g_generation.load(std::memory_order_acquire);
  for (;;) {
    unsigned spins = 0;
    std::uint32_t now = g_generation.load(std::memory_order_acquire);
    while (now == seen) {
      pause();
      if (++spins == kSpinsBeforeSleep) {
        sleep_until(g_generation, seen + 1);
        spins = 0;
      }
      now = g_generation.load(std::memory_order_acquire);
    }
    seen = now;
    if (index < g_job_count) {
      g_job_function(index, g_job_context);
    }
    const std::uint32_t done = g_job_acknowledged.fetch_add(1, std::memory_order_seq_cst) + 1;
    wake_sleepers(g_job_acknowledged, done);
  }
}

}  // namespace

unsigned cpu_index() noexcept {
  std::uint32_t index = 0;
  asm volatile("movl %%gs:0, %0" : "=r"(index));
  return index;
}

std::uint32_t cpu_apic_id() noexcept {
  std::uint32_t id = 0;
  asm volatile("movl %%gs:4, %0" : "=r"(id));
  return id;
}

std::uint32_t cpu_apic_id_of(unsigned cpu) noexcept {
  return cpu < MAX_CPUS ? g_per_core[cpu].apic_id : 0;
}

void init_bootstrap_core() noexcept {
  lapic::enable();
  set_per_core(0);
}

unsigned cpus_present() noexcept {
  out16(kFwCfgSelector, kFwCfgSignature);
  const char expected[] = "QEMU";
  for (int i = 0; i < 4; ++i) {
    if (static_cast<char>(fw_cfg_byte()) != expected[i]) {
      return 1;
    }
  }
  out16(kFwCfgSelector, kFwCfgCpuCount);
  const unsigned low = fw_cfg_byte();
  const unsigned high = fw_cfg_byte();
  const unsigned count = low | (high << 8);
  if (count == 0) {
    return 1;
  }
  return count < MAX_CPUS ? count : MAX_CPUS;
}

unsigned cpus_online() noexcept {
  return g_online.load(std::memory_order_acquire);
}

void delay_microseconds(unsigned microseconds) noexcept {
  const std::uint64_t start = read_tsc();
  const std::uint64_t ticks = static_cast<std::uint64_t>(microseconds) * 1000;
  while (read_tsc() - start < ticks) {
    pause();
  }
}

unsigned start_application_cores() noexcept {
  const unsigned wanted = cpus_present();
  if (wanted <= 1) {
    return cpus_online();
  }
  const auto size = static_cast<std::size_t>(ap_trampoline_end - ap_trampoline_start);
  __builtin_memcpy(reinterpret_cast<void*>(AP_TRAMPOLINE_BASE), ap_trampoline_start, size);
  lapic::wake_all_other_cores(static_cast<std::uint8_t>(AP_TRAMPOLINE_BASE >> 12),
                              &delay_microseconds);
  const std::uint64_t start = read_tsc();
  while (cpus_online() < wanted && read_tsc() - start < kStartTimeoutTicks) {
    pause();
  }
  return cpus_online();
}

void run_on_cores(unsigned count, CoreFunction function, void* context) noexcept {
  const unsigned online = cpus_online();
  if (count > online) {
    count = online;
  }
  if (count == 0) {
    return;
  }
  g_job_function = function;
  g_job_context = context;
  g_job_count = count;
  const std::uint32_t done = g_job_acknowledged.load(std::memory_order_relaxed) + online - 1;
  const std::uint32_t generation = g_generation.fetch_add(1, std::memory_order_seq_cst) + 1;
  wake_sleepers(g_generation, generation);
  function(0, context);
  // Done with its own part: spin a little, then sleep until the last core reports, rather than
  // keep a host CPU from the cores still working.
  unsigned spins = 0;
  while (g_job_acknowledged.load(std::memory_order_acquire) != done) {
    pause();
    if (++spins == kSpinsBeforeSleep) {
      const std::uint64_t flags = save_and_disable_interrupts();
      sleep_until(g_job_acknowledged, done);
      restore_interrupts(flags);
      spins = 0;
    }
  }
}

}  // namespace keel::port::x86

/// Called by boot.S on each application core, in long mode, on its own stack.
extern "C" [[noreturn]] void x86_ap_main(unsigned index) {
  using namespace keel::port::x86;
  lapic::enable();
  set_per_core(index);
  load_interrupt_table();
  g_online.fetch_add(1, std::memory_order_acq_rel);
  work_loop(index);
}
