// ports/x86_64/src/clock.cpp: TSC calibration against PIT channel 2.
#include "x86/clock.hpp"

#include "lapic.hpp"
#include "x86/cpu.hpp"

namespace keel::port::x86 {
namespace {

constexpr std::uint16_t kPitChannel2 = 0x42;
constexpr std::uint16_t kPitCommand = 0x43;
constexpr std::uint16_t kSpeakerControl = 0x61;  // bit 0: channel 2 gate, bit 1: speaker
constexpr std::uint8_t kGate = 0x01;
constexpr std::uint8_t kSpeaker = 0x02;
// Channel 2, low byte then high byte, mode 2 (rate generator: counts down from 65536 and
// reloads), binary; and the command that latches channel 2's count for reading.
constexpr std::uint8_t kChannel2RateGenerator = 0xB4;
constexpr std::uint8_t kChannel2Latch = 0x80;
constexpr std::uint64_t kPitHz = 1'193'182;
constexpr std::uint32_t kPitTicksPerInterval = 24'000;  // about 20 ms, well inside one period
constexpr unsigned kIntervals = 5;
// A TSC-PIT-TSC bracket longer than this (about 40 us at 2.5 GHz) was interrupted: retried.
constexpr std::uint64_t kBracketTicks = 100'000;

constinit std::uint64_t g_tsc_hz = 0;
// APIC timer ticks per 2^20 TSC ticks.
constinit std::uint64_t g_apic_per_mega_tsc = 0;
constexpr std::uint64_t kCalibrationTsc = 1ULL << 24;

std::uint16_t read_pit_channel2() {
  out8(kPitCommand, kChannel2Latch);
  const std::uint8_t low = in8(kPitChannel2);
  const std::uint8_t high = in8(kPitChannel2);
  return static_cast<std::uint16_t>(low | (high << 8));
}

/// A PIT count and the TSC at the same moment: the PIT read between two TSC reads that are
/// close together (the host did not deschedule the core in between).
struct Sample {
  std::uint64_t tsc;
  std::uint16_t pit;
};
Sample sample() {
  for (;;) {
    const std::uint64_t before = read_tsc();
    const std::uint16_t pit = read_pit_channel2();
    const std::uint64_t after = read_tsc();
    if (after - before < kBracketTicks) {
      return Sample{before + (after - before) / 2, pit};
    }
  }
}

/// The median of `count` values (sorts them).
std::uint64_t median(std::uint64_t* values, unsigned count) {
  for (unsigned i = 1; i < count; ++i) {
    for (unsigned j = i; j > 0 && values[j - 1] > values[j]; --j) {
      const std::uint64_t value = values[j];
      values[j] = values[j - 1];
      values[j - 1] = value;
    }
  }
  return values[count / 2];
}

}  // namespace

std::uint64_t tsc_frequency_hz() noexcept {
  if (g_tsc_hz != 0) {
    return g_tsc_hz;
  }
  out8(kSpeakerControl, static_cast<std::uint8_t>(in8(kSpeakerControl) & ~(kGate | kSpeaker)));
  out8(kPitCommand, kChannel2RateGenerator);
  out8(kPitChannel2, 0);  // 0 means 65536
  out8(kPitChannel2, 0);
  out8(kSpeakerControl, static_cast<std::uint8_t>((in8(kSpeakerControl) & ~kSpeaker) | kGate));
  std::uint64_t rates[kIntervals] = {};
  for (unsigned i = 0; i < kIntervals; ++i) {
    const Sample start = sample();
    Sample end = start;
    std::uint32_t elapsed = 0;
    while (elapsed < kPitTicksPerInterval) {  // the count goes down, modulo 65536
      end = sample();
      elapsed = static_cast<std::uint16_t>(start.pit - end.pit);
    }
    rates[i] = (end.tsc - start.tsc) * kPitHz / elapsed;
  }
  out8(kSpeakerControl, static_cast<std::uint8_t>(in8(kSpeakerControl) & ~kGate));
  g_tsc_hz = median(rates, kIntervals);
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
