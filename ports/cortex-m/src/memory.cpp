// memory.cpp: the heap sections the linker script (linker/cortex-m/) sets aside.
#include "cortex_m.hpp"

extern "C" {
extern std::byte __keel_heap_start[];
extern std::byte __keel_heap_end[];
extern std::byte __keel_heap2_start[];
extern std::byte __keel_heap2_end[];
extern const char __keel_heap2_separate_bank[];  // an absolute symbol: 1 or 0
}

namespace keel::port::cortex_m {

Span heap_memory() noexcept {
  return Span{__keel_heap_start, static_cast<std::size_t>(__keel_heap_end - __keel_heap_start)};
}

Span second_heap_memory() noexcept {
  return Span{__keel_heap2_start, static_cast<std::size_t>(__keel_heap2_end - __keel_heap2_start)};
}

bool has_second_bank() noexcept {
  // The symbol's address is its value. The compiler assumes no object is at address 0, so the
  // address goes through an empty asm to be compared for real.
  const char* value = __keel_heap2_separate_bank;
  asm("" : "+r"(value));
  return value != nullptr;
}

}  // namespace keel::port::cortex_m
