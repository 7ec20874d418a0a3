// qemu-demo/x86_64/print.cpp: demo::print and demo::write for a kernel without a C library.
//
// The demo's workload prints through demo::print (printf-style). This kernel has no libc, so
// here is the small subset of printf the demo and the kernel use: %d %i %u %x %p %s %c %%, the
// length modifiers l, ll and z, a field width, and the flags '-' and '0'. Output is buffered per
// call and goes to keel::port::console_write in pieces of at most kBufferBytes.
#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "demo.hpp"
#include "port.hpp"

namespace demo {
namespace {

constexpr std::size_t kBufferBytes = 160;

class Output {
 public:
  Output() = default;
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() { flush(); }

  void put(char character) {
    if (used_ == kBufferBytes) {
      flush();
    }
    buffer_[used_++] = character;
  }
  void put(const char* text, std::size_t length) {
    for (std::size_t i = 0; i < length; ++i) {
      put(text[i]);
    }
  }
  void flush() {
    if (used_ != 0) {
      keel::port::console_write(buffer_, used_);
      used_ = 0;
    }
  }

 private:
  char buffer_[kBufferBytes];
  std::size_t used_ = 0;
};

struct Spec {
  unsigned width = 0;
  bool left = false;  // '-': pad on the right
  bool zero = false;  // '0': pad numbers with zeros
};

/// Writes `text` padded to the spec's width.
void field(Output& out, const char* text, std::size_t length, const Spec& spec) {
  const std::size_t padding = spec.width > length ? spec.width - length : 0;
  const bool left = spec.left;
  for (std::size_t i = 0; !left && i < padding; ++i) {
    out.put(spec.zero ? '0' : ' ');
  }
  out.put(text, length);
  for (std::size_t i = 0; left && i < padding; ++i) {
    out.put(' ');
  }
}

/// Digits of `value` in `base`, at the end of `buffer`; returns where they start.
char* digits(char* end, std::uint64_t value, unsigned base) {
  char* cursor = end;
  do {
    *--cursor = "0123456789abcdef"[value % base];
    value /= base;
  } while (value != 0);
  return cursor;
}

enum class Length : std::uint8_t { plain, long_, long_long, size };

std::uint64_t unsigned_argument(va_list& args, Length length) {
  switch (length) {
    case Length::plain: return va_arg(args, unsigned);
    case Length::long_: return va_arg(args, unsigned long);
    case Length::long_long: return va_arg(args, unsigned long long);
    case Length::size: return va_arg(args, std::size_t);
  }
  return 0;
}

std::int64_t signed_argument(va_list& args, Length length) {
  switch (length) {
    case Length::plain: return va_arg(args, int);
    case Length::long_: return va_arg(args, long);
    case Length::long_long: return va_arg(args, long long);
    case Length::size: return static_cast<std::int64_t>(va_arg(args, std::size_t));
  }
  return 0;
}

void format(Output& out, const char* format, va_list& args) {
  for (const char* cursor = format; *cursor != '\0'; ++cursor) {
    if (*cursor != '%') {
      out.put(*cursor);
      continue;
    }
    ++cursor;
    Spec spec;
    for (; *cursor == '-' || *cursor == '0'; ++cursor) {
      spec.left = spec.left || *cursor == '-';
      spec.zero = spec.zero || *cursor == '0';
    }
    while (*cursor >= '0' && *cursor <= '9') {
      spec.width = spec.width * 10 + static_cast<unsigned>(*cursor++ - '0');
    }
    Length length = Length::plain;
    if (*cursor == 'l') {
      ++cursor;
      length = Length::long_;
      if (*cursor == 'l') {
        ++cursor;
        length = Length::long_long;
      }
    } else if (*cursor == 'z') {
      ++cursor;
      length = Length::size;
    }
    char number[24];
    char* const end = number + sizeof number;
    switch (*cursor) {
      case 'd':
      case 'i': {
        const std::int64_t value = signed_argument(args, length);
        char* start = digits(
            end,
            value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value),
            10);
        if (value < 0) {
          *--start = '-';
        }
        field(out, start, static_cast<std::size_t>(end - start), spec);
        break;
      }
      case 'u':
      case 'x': {
        char* start = digits(end, unsigned_argument(args, length), *cursor == 'x' ? 16 : 10);
        field(out, start, static_cast<std::size_t>(end - start), spec);
        break;
      }
      case 'p': {
        char* start = digits(end, reinterpret_cast<std::uintptr_t>(va_arg(args, void*)), 16);
        *--start = 'x';
        *--start = '0';
        field(out, start, static_cast<std::size_t>(end - start), spec);
        break;
      }
      case 's': {
        const char* text = va_arg(args, const char*);
        text = text == nullptr ? "(null)" : text;
        std::size_t size = 0;
        while (text[size] != '\0') {
          ++size;
        }
        field(out, text, size, Spec{spec.width, spec.left, false});
        break;
      }
      case 'c': {
        const char character = static_cast<char>(va_arg(args, int));
        field(out, &character, 1, Spec{spec.width, spec.left, false});
        break;
      }
      case '%': out.put('%'); break;
      case '\0': return;
      default:  // not supported: show it as written
        out.put('%');
        out.put(*cursor);
        break;
    }
  }
}

}  // namespace

void print(const char* format_text, ...) {
  Output out;
  va_list args;
  va_start(args, format_text);
  format(out, format_text, args);
  va_end(args);
}

void write(const char* text, std::size_t length) {
  keel::port::console_write(text, length);
}

}  // namespace demo
