// recording.cpp: keel::port::RecordingSink through Arm semihosting (port_recording.hpp).
//
// SYS_OPEN (0x01) takes {path, mode, path length} and returns a handle or -1; mode 5 is "wb".
// SYS_WRITE (0x05) takes {handle, data, length} and returns the bytes not written. SYS_CLOSE
// (0x02) takes {handle}. The operation goes in r0, the block's address in r1, the result comes
// back in r0 (as in exit.cpp).
#include "port_recording.hpp"

#include <cstdint>

namespace keel::port {
namespace {

constexpr std::uint32_t kSysOpen = 0x01;
constexpr std::uint32_t kSysClose = 0x02;
constexpr std::uint32_t kSysWrite = 0x05;
constexpr std::uint32_t kModeWriteBinary = 5;

std::uint32_t semihosting_call(std::uint32_t operation, const void* block) noexcept {
  register std::uint32_t r0 asm("r0") = operation;
  register const void* r1 asm("r1") = block;
  asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

std::uint32_t length_of(const char* text) noexcept {
  std::uint32_t length = 0;
  while (text[length] != '\0') {
    ++length;
  }
  return length;
}

}  // namespace

bool RecordingSink::open(const char* path) noexcept {
  close();
  const std::uint32_t block[3] = {reinterpret_cast<std::uintptr_t>(path), kModeWriteBinary,
                                  length_of(path)};
  const std::uint32_t handle = semihosting_call(kSysOpen, block);
  if (handle == ~std::uint32_t{0}) {
    return false;
  }
  handle_plus_one_ = handle + 1;
  return true;
}

void RecordingSink::write(const std::byte* data, std::size_t size) noexcept {
  if (handle_plus_one_ == 0 || size == 0) {
    return;
  }
  const std::uint32_t block[3] = {handle_plus_one_ - 1, reinterpret_cast<std::uintptr_t>(data),
                                  static_cast<std::uint32_t>(size)};
  (void)semihosting_call(kSysWrite, block);
}

void RecordingSink::close() noexcept {
  if (handle_plus_one_ == 0) {
    return;
  }
  const std::uint32_t block[1] = {handle_plus_one_ - 1};
  (void)semihosting_call(kSysClose, block);
  handle_plus_one_ = 0;
}

}  // namespace keel::port
