// test_boot: the port itself. Boot ran (.data copied, .bss zeroed, constructors run), the
// console prints, the heap sections are where the linker script says, and the instruction
// counter counts instructions: a loop of known length reads back within a few instructions of
// its length, ten times the loop reads ten times as much, the count never goes backwards, and
// reset painted the stack so that its use can be measured.
#include <cstdint>

#include "check.hpp"
#include "cortex_m.hpp"
#include "port.hpp"

// GCC hands Thumb-1 inline assembly to the assembler in divided syntax, where SUB sets flags;
// clang's assembler reads unified syntax there too.
#if defined(__ARM_ARCH_6M__) && !defined(__clang__)
#define KEEL_SUBTRACT_ONE "sub %0, #1\n\t"
#else
#define KEEL_SUBTRACT_ONE "subs %0, %0, #1\n\t"
#endif

namespace {

int g_initialised = 42;  // .data
int g_zeroed;            // .bss
struct Constructed {
  Constructed() : value(7) {}
  int value;
};
Constructed g_constructed;  // .init_array

/// Runs `iterations` of a two-instruction loop and returns the counter's reading of it.
std::uint64_t count_loop(std::uint32_t iterations) {
  const std::uint64_t before = keel::port::counter();
  asm volatile("1:\n\t" KEEL_SUBTRACT_ONE "bne 1b" : "+l"(iterations) : : "cc");
  return keel::port::counter() - before;
}

}  // namespace

int main() {
  keel::port::init();
  using keel::check::out;
  out().text("test_boot on ").text(keel::port::cortex_m::board_name()).text(" (");
  out().text(keel::port::cortex_m::core_name()).text(")\n");
  KEEL_EXPECT(g_initialised == 42);
  KEEL_EXPECT(g_zeroed == 0);
  KEEL_EXPECT(g_constructed.value == 7);

  const keel::Span heap = keel::port::cortex_m::heap_memory();
  const keel::Span second = keel::port::cortex_m::second_heap_memory();
  out().text("heap ").address(heap.data).text(" ").decimal(heap.size).text(" B, second ");
  out().address(second.data).text(" ").decimal(second.size).text(" B\n");
  KEEL_EXPECT(heap.size >= 4096);
  KEEL_EXPECT(reinterpret_cast<std::uintptr_t>(heap.data) % 8 == 0);
  KEEL_EXPECT(second.size >= 1024);
  KEEL_EXPECT(second.data >= heap.end() || second.end() <= heap.data);
  // The heap memory is RAM: writable at both ends.
  heap.data[0] = std::byte{0x5A};
  heap.data[heap.size - 1] = std::byte{0xA5};
  KEEL_EXPECT(heap.data[0] == std::byte{0x5A} && heap.data[heap.size - 1] == std::byte{0xA5});
  second.data[second.size - 1] = std::byte{0x3C};
  KEEL_EXPECT(second.data[second.size - 1] == std::byte{0x3C});

  const std::uint64_t empty = count_loop(1);
  const std::uint64_t thousand = count_loop(1001) - empty;
  const std::uint64_t ten_thousand = count_loop(10001) - empty;
  out().text("counter (").text(keel::port::counter_unit()).text("): 1000 loops ");
  out().decimal(thousand).text(", 10000 loops ").decimal(ten_thousand).text("\n");
  KEEL_EXPECT(thousand >= 1995 && thousand <= 2005);
  KEEL_EXPECT(ten_thousand >= 19995 && ten_thousand <= 20005);
  // Across several SysTick wraps (2^24 ticks): 6 million iterations, 12 million instructions,
  // plus the tick handler's at each wrap (9 in all with GCC 12 at -O2, 13 with clang 14).
  const std::uint64_t long_run = count_loop(6'000'001) - empty;
  out().text("6000000 loops ").decimal(long_run).text("\n");
  KEEL_EXPECT(long_run >= 11'999'990 && long_run <= 12'000'030);
  std::uint64_t previous = keel::port::counter();
  bool monotonic = true;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t now = keel::port::counter();
    monotonic = monotonic && now >= previous;
    previous = now;
  }
  KEEL_EXPECT(monotonic);
  // Reset painted the stack: some of it is used by now, not all of it.
  const keel::port::cortex_m::StackUse stack = keel::port::cortex_m::stack_use();
  out().text("stack: ").decimal(stack.used).text(" of ").decimal(stack.size).text(" B used\n");
  KEEL_EXPECT(stack.used > 0 && stack.used < stack.size / 2);
  return keel::check::finish("test_boot");
}
