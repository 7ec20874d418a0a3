// ports/x86_64/console.cpp: the COM1 console and keel::port::console_write.
#include "x86/console.hpp"

#include <atomic>

#include "port.hpp"
#include "port_target.hpp"
#include "x86/cpu.hpp"

namespace keel::port::x86 {
namespace {

constexpr std::uint16_t kCom1 = 0x3F8;
// 16550 registers, as offsets from the base port.
constexpr std::uint16_t kData = 0;             // DLAB=0: transmit holding; DLAB=1: divisor low
constexpr std::uint16_t kInterruptEnable = 1;  // DLAB=1: divisor high
constexpr std::uint16_t kFifoControl = 2;
constexpr std::uint16_t kLineControl = 3;
constexpr std::uint16_t kModemControl = 4;
constexpr std::uint16_t kLineStatus = 5;
constexpr std::uint8_t kLineStatusTransmitEmpty = 1U << 5;
constexpr std::uint8_t kDivisorLatch = 0x80;
constexpr std::uint8_t kEightNoneOne = 0x03;
constexpr std::uint8_t kFifoEnableClear = 0xC7;
constexpr std::uint8_t kDtrRts = 0x03;
constexpr unsigned kPanicLockAttempts = 1U << 20;

constinit IrqLock g_console_lock;
constinit std::atomic<bool> g_panic_mode{false};

void put_byte(char character) {
  while ((in8(kCom1 + kLineStatus) & kLineStatusTransmitEmpty) == 0) {
    pause();
  }
  out8(kCom1 + kData, static_cast<std::uint8_t>(character));
}

}  // namespace

void console_init() noexcept {
  out8(kCom1 + kInterruptEnable, 0);
  out8(kCom1 + kLineControl, kDivisorLatch);
  out8(kCom1 + kData, 1);  // divisor 1: 115200 baud
  out8(kCom1 + kInterruptEnable, 0);
  out8(kCom1 + kLineControl, kEightNoneOne);
  out8(kCom1 + kFifoControl, kFifoEnableClear);
  out8(kCom1 + kModemControl, kDtrRts);
}

void console_enter_panic_mode() noexcept {
  g_panic_mode.store(true, std::memory_order_relaxed);
}

// --- Line ----------------------------------------------------------------------------------------

void Line::put(char character) noexcept {
  if (used_ < kCapacity) {
    buffer_[used_++] = character;
  }
}

Line& Line::text(const char* string) noexcept {
  while (*string != '\0') {
    put(*string++);
  }
  return *this;
}

Line& Line::text(const char* string, std::size_t length) noexcept {
  for (std::size_t i = 0; i < length; ++i) {
    put(string[i]);
  }
  return *this;
}

Line& Line::decimal(std::uint64_t value) noexcept {
  char digits[20];
  unsigned count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (count != 0) {
    put(digits[--count]);
  }
  return *this;
}

Line& Line::signed_decimal(std::int64_t value) noexcept {
  if (value < 0) {
    put('-');
    return decimal(0 - static_cast<std::uint64_t>(value));
  }
  return decimal(static_cast<std::uint64_t>(value));
}

Line& Line::hex(std::uint64_t value, unsigned digits) noexcept {
  text("0x");
  unsigned needed = 1;
  while (needed < 16 && (value >> (4 * needed)) != 0) {
    ++needed;
  }
  if (digits > 16) {
    digits = 16;
  }
  for (unsigned i = needed > digits ? needed : digits; i != 0; --i) {
    put("0123456789abcdef"[(value >> (4 * (i - 1))) & 0xFU]);
  }
  return *this;
}

Line& Line::fixed(std::uint64_t value, unsigned decimals) noexcept {
  std::uint64_t scale = 1;
  for (unsigned i = 0; i < decimals; ++i) {
    scale *= 10;
  }
  decimal(value / scale);
  if (decimals != 0) {
    put('.');
    std::uint64_t rest = value % scale;
    for (unsigned i = decimals; i != 0; --i) {
      scale /= 10;
      put(static_cast<char>('0' + rest / scale));
      rest %= scale;
    }
  }
  return *this;
}

Line& Line::address(const void* pointer) noexcept {
  return hex(reinterpret_cast<std::uintptr_t>(pointer), 8);
}

Line& Line::column(std::size_t column) noexcept {
  while (used_ < column) {
    put(' ');
  }
  return *this;
}

void Line::flush() noexcept {
  if (used_ != 0) {
    console_write(buffer_, used_);
    used_ = 0;
  }
}

}  // namespace keel::port::x86

namespace keel::port {

void console_write(const char* text, std::size_t length) noexcept {
  bool locked = false;
  if (x86::g_panic_mode.load(std::memory_order_relaxed)) {
    for (unsigned attempt = 0; attempt < x86::kPanicLockAttempts && !locked; ++attempt) {
      locked = x86::g_console_lock.try_lock();
    }
  } else {
    x86::g_console_lock.lock();
    locked = true;
  }
  for (std::size_t i = 0; i < length; ++i) {
    x86::put_byte(text[i]);
  }
  if (locked) {
    x86::g_console_lock.unlock();
  }
}

}  // namespace keel::port
