// recording.cpp: keel::port::RecordingSink over QEMU's debug console port (port_recording.hpp).
#include "port_recording.hpp"

#include <cstdint>

#include "x86/cpu.hpp"

namespace keel::port {
namespace {

constexpr std::uint16_t kDebugPort = 0xE9;
constexpr std::uint8_t kDebugPortAnswer = 0xE9;  ///< what QEMU's isa-debugcon reads back

}  // namespace

bool RecordingSink::open(const char* /*path*/) noexcept {
  open_ = x86::in8(kDebugPort) == kDebugPortAnswer;
  return open_;
}

void RecordingSink::write(const std::byte* data, std::size_t size) noexcept {
  if (!open_) {
    return;
  }
  asm volatile("rep outsb" : "+S"(data), "+c"(size) : "d"(kDebugPort) : "memory");
}

}  // namespace keel::port
