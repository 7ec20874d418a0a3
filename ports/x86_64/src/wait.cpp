// ports/x86_64/src/wait.cpp: sleeping waiters and their wake-up IPIs (x86/wait.hpp).
#include "x86/wait.hpp"

#include "lapic.hpp"
#include "x86/boot_layout.h"
#include "x86/interrupts.hpp"
#include "x86/smp.hpp"

namespace keel::port::x86 {
namespace {

/// What a sleeping core waits for. `word` null: not sleeping.
struct alignas(64) Sleeper {
  std::atomic<const std::atomic<std::uint32_t>*> word{nullptr};
  std::atomic<std::uint32_t> value{0};
};

constinit Sleeper g_sleepers[MAX_CPUS] = {};
constinit std::atomic<std::uint64_t> g_wake_ups{0};

// CR8 is the local APIC's task priority class: 14 masks vectors 0x00-0xEF, so only the wake-up
// vector (0xF1) and the spurious vector can arrive while the core halts.
constexpr std::uint64_t kOnlyWakeUp = 0xE;
static_assert(kWakeUpVector >> 4 > kOnlyWakeUp, "the wake-up vector must stay unmasked");

/// Whether a counter that reads `now` has reached `value` (modular: less than 2^31 behind).
bool reached(std::uint32_t now, std::uint32_t value) {
  return static_cast<std::int32_t>(now - value) >= 0;
}

}  // namespace

void sleep_until(const std::atomic<std::uint32_t>& word, std::uint32_t value) noexcept {
  Sleeper& self = g_sleepers[cpu_index()];
  self.value.store(value, std::memory_order_relaxed);
  self.word.store(&word, std::memory_order_seq_cst);
  detail::g_sleeping_cores.fetch_add(1, std::memory_order_seq_cst);
  if (!reached(word.load(std::memory_order_seq_cst), value)) {
    std::uint64_t priority = 0;
    asm volatile("movq %%cr8, %0" : "=r"(priority));
    // sti takes effect after the next instruction, so a wake-up pending now ends the hlt.
    asm volatile(
        "movq %1, %%cr8\n\t"
        "sti\n\t"
        "hlt\n\t"
        "cli\n\t"
        "movq %0, %%cr8"
        :
        : "r"(priority), "r"(kOnlyWakeUp)
        : "memory");
  }
  detail::g_sleeping_cores.fetch_sub(1, std::memory_order_seq_cst);
  self.word.store(nullptr, std::memory_order_relaxed);
}

namespace detail {

constinit std::atomic<unsigned> g_sleeping_cores{0};

void wake_sleepers_slow(const std::atomic<std::uint32_t>& word, std::uint32_t value) noexcept {
  const unsigned online = cpus_online();
  for (unsigned cpu = 0; cpu < online; ++cpu) {
    const Sleeper& sleeper = g_sleepers[cpu];
    if (sleeper.word.load(std::memory_order_seq_cst) == &word &&
        sleeper.value.load(std::memory_order_relaxed) == value) {
      lapic::send_ipi(cpu_apic_id_of(cpu), kWakeUpVector);
      g_wake_ups.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace detail

std::uint64_t wake_ups_sent() noexcept {
  return g_wake_ups.load(std::memory_order_relaxed);
}

}  // namespace keel::port::x86
