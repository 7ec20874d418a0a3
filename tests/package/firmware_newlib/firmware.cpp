// A firmware whose C library is newlib: printf, strdup and malloc all allocate through
// newlib's _malloc_r family, which keel::libc provides, so newlib's own allocator (and its
// _sbrk) never gets linked. keel's heap is a static array here; a firmware usually takes the
// space between its linker script's end-of-bss and stack symbols.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "keel/global.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"

namespace {

/// Masks interrupts around heap calls, nesting-safe (PRIMASK is saved and restored).
class IrqLock {
 public:
  void lock() {
    std::uint32_t primask = 0;
    __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
    saved_ = primask;
  }
  void unlock() { __asm volatile("msr primask, %0" ::"r"(saved_) : "memory"); }

 private:
  std::uint32_t saved_ = 0;
};

alignas(8) constinit std::byte g_heap_memory[32 * 1024];
constinit keel::Locked<keel::Heap<keel::ClaimOnOom>, IrqLock> g_heap{
    keel::ClaimOnOom{keel::Span{g_heap_memory}}};

}  // namespace

KEEL_GLOBAL_HEAP(g_heap);

int main() {
  char* name = strdup("keel");
  auto* numbers = new int[16]{};
  std::printf("%s serves newlib: %d blocks live\n", name,
              static_cast<int>(g_heap.statistics().live_allocations));
  delete[] numbers;
  std::free(name);
  return 0;
}
