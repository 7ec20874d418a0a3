// ports/x86_64/src/clock.cpp: TSC calibration against PIT channel 2.
#include "x86/clock.hpp"

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
constexpr std::uint32_t kCount = 59'659;  // 50 ms

constinit std::uint64_t g_tsc_hz = 0;

}  // namespace

std::uint64_t tsc_frequency_hz() noexcept {
  if (g_tsc_hz != 0) {
    return g_tsc_hz;
  }
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
  g_tsc_hz = ticks * kPitHz / kCount;
  return g_tsc_hz;
}

}  // namespace keel::port::x86
