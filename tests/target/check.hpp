// tests/target/check.hpp: the few checking tools an on-target test needs, freestanding.
//
// A test is a kernel: main() runs checks and returns check::finish(), which prints a summary
// and returns the exit status (0 when every check passed). The port turns it into QEMU's exit
// status, which is what ctest reads. Output goes to the console; nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/detail/format.hpp"
#include "port.hpp"

namespace keel::check {

struct ConsoleSink {
  void operator()(const char* text, std::size_t length) const noexcept {
    port::console_write(text, length);
  }
};
inline const ConsoleSink kConsole{};

/// A writer to the console: `out().text("x = ").decimal(x).text("\n");`
inline detail::TextWriter<const ConsoleSink> out() {
  return detail::TextWriter<const ConsoleSink>(kConsole);
}

struct Tally {
  unsigned checks = 0;
  unsigned failures = 0;
};
inline Tally g_tally;

/// Records one check; prints the failing ones with where they are.
inline bool expect(bool passed, const char* what, const char* file, int line) {
  ++g_tally.checks;
  if (!passed) {
    ++g_tally.failures;
    out()
        .text("FAIL ")
        .text(file)
        .text(":")
        .decimal(static_cast<std::uint64_t>(line))
        .text(": ")
        .text(what)
        .text("\n");
  }
  return passed;
}

/// Prints the summary and returns the exit status: 0 if every check passed and there was at
/// least one, 1 otherwise.
inline int finish(const char* test_name) {
  const bool passed = g_tally.failures == 0 && g_tally.checks != 0;
  out()
      .text(passed ? "PASS " : "FAIL ")
      .text(test_name)
      .text(": ")
      .decimal(g_tally.checks)
      .text(" checks, ")
      .decimal(g_tally.failures)
      .text(" failed\n");
  return passed ? 0 : 1;
}

}  // namespace keel::check

#define KEEL_EXPECT(condition) ::keel::check::expect((condition), #condition, __FILE__, __LINE__)
