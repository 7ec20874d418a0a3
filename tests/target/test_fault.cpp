// test_fault: the port's fault handler. The test registers a health reporter, then loads a
// word from an odd address: a HardFault on the M0, a UsageFault (escalated to HardFault) on
// v7-M and v8-M with unaligned accesses trapped. The handler must print the exception, the
// address of the faulting instruction and, through the reporter, the heap's health, then end
// the run with the port's fault status. ctest checks the output (PASS_REGULAR_EXPRESSION);
// if the load does not fault, the test prints "no fault", which fails it.
#include <cstddef>
#include <cstdint>

#include <new>

#include "check.hpp"
#include "cortex_m.hpp"
#include "keel/heap.hpp"
#include "port.hpp"

namespace {

keel::Heap<>* g_heap = nullptr;
alignas(8) std::byte g_heap_object[sizeof(keel::Heap<>)];

void report_health() noexcept {
  const keel::ValidationResult result = g_heap->validate();
  keel::check::out()
      .text("health: heap ")
      .text(result.ok() ? "valid" : keel::to_string(result.kind))
      .text(", ")
      .decimal(g_heap->statistics().live_allocations)
      .text(" live blocks\n");
}

}  // namespace

int main() {
  keel::port::init();
  keel::port::cortex_m::trap_unaligned_access();
  g_heap = ::new (static_cast<void*>(g_heap_object)) keel::Heap<>();
  const keel::Span memory = keel::port::cortex_m::heap_memory();
  (void)g_heap->claim(keel::Span{memory.data, 4096});
  void* block = g_heap->allocate(64);
  keel::port::set_health_reporter(report_health);
  keel::check::out().text("loading a word from ").address(static_cast<std::byte*>(block) + 1);
  keel::check::out().text("\n");
  std::uint32_t value;
  asm volatile("ldr %0, [%1]" : "=l"(value) : "l"(static_cast<std::byte*>(block) + 1) : "memory");
  keel::check::out().text("no fault (read ").hex(value).text(")\n");
  return 1;
}
