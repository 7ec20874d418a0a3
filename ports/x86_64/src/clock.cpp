// ports/x86_64/src/clock.cpp: TSC calibration against PIT channel 2.
#include "x86/clock.hpp"

#include "lapic.hpp"
#include "x86/cpu.hpp"

namespace keel::port::x86 {
namespace {

constexpr std::uint16_t kPitChannel2 = 0x42;
constexpr std::uint16_t kPitCommand = 0x43;
constexpr std::uint16_t kSpeakerControl = 0x61;  // bit 0: channel 2 gate, bit 5: channel 2 out
constexpr std::uint8_t kGate = 0x01;
constexpr std::uint8_t kSpeaker = 0x02;
constexpr std::uint8_t kOutput = 0x20;
// Channel 2, low byte then high byte, mode 0 (interrupt on terminal count), binary.
constexpr std::uint8_t kChannel2OneShot = 0xB0;
constexpr std::uint64_t kPitHz = 1'193'182;
constexpr std::uint32_t kCount = 11'932;  // 10 ms
// A measurement can only come out too long (the core was descheduled by the host around the
// PIT's terminal count), never too short: the least of several is the best.
constexpr unsigned kMeasurements = 5;

constinit std::uint64_t g_tsc_hz = 0;
// APIC timer ticks per 2^20 TSC ticks.
constinit std::uint64_t g_apic_per_mega_tsc = 0;
constexpr std::uint64_t kCalibrationTsc = 1ULL << 24;

}  // namespace

namespace {

/// TSC ticks during one PIT channel 2 one-shot of kCount.
std::uint64_t measure_once() {
  // Gate off and speaker off while programming; then gate on to start counting.
  out8(kSpeakerControl, static_cast<std::uint8_t>(in8(kSpeakerControl) & ~(kGate | kSpeaker)));
  out8(kPitCommand, kChannel2OneShot);
  out8(kPitChannel2, static_cast<std::uint8_t>(kCount & 0xFF));
  out8(kPitChannel2, static_cast<std::uint8_t>(kCount >> 8));
  const std::uint64_t start = read_tsc();
  out8(kSpeakerControl, static_cast<std::uint8_t>((in8(kSpeakerControl) & ~kSpeaker) | kGate));
  std::uint64_t spins = 0;
  while ((in8(kSpeakerControl) & kOutput) == 0 && ++spins < (1ULL << 32)) {
  }
  const std::uint64_t ticks = read_tsc() - start;
  out8(kSpeakerControl, static_cast<std::uint8_t>(in8(kSpeakerControl) & ~kGate));
  return ticks;
}

}  // namespace

std::uint64_t tsc_frequency_hz() noexcept {
  if (g_tsc_hz == 0) {
    std::uint64_t least = ~std::uint64_t{0};
    for (unsigned i = 0; i < kMeasurements; ++i) {
      const std::uint64_t ticks = measure_once();
      least = ticks < least ? ticks : least;
    }
    g_tsc_hz = least * kPitHz / kCount;
  }
  return g_tsc_hz;
}

std::uint32_t apic_timer_count_for(std::uint64_t tsc_ticks) noexcept {
  if (g_apic_per_mega_tsc == 0) {
    const std::uint32_t start_count = 0xFFFFFFFFU;
    lapic::start_one_shot_masked(start_count);
    const std::uint64_t start = read_tsc();
    while (read_tsc() - start < kCalibrationTsc) {
      pause();
    }
    const std::uint32_t elapsed = start_count - lapic::timer_current_count();
    lapic::stop_timer();
    g_apic_per_mega_tsc = (static_cast<std::uint64_t>(elapsed) << 20) / kCalibrationTsc;
    if (g_apic_per_mega_tsc == 0) {
      g_apic_per_mega_tsc = 1;
    }
  }
  const std::uint64_t count = (tsc_ticks * g_apic_per_mega_tsc) >> 20;
  return count == 0 ? 1 : count > 0xFFFFFFFFU ? 0xFFFFFFFFU : static_cast<std::uint32_t>(count);
}

}  // namespace keel::port::x86
