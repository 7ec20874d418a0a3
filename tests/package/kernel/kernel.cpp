// A kernel that sends every `new` to keel: the heap is claimed from the memory map at boot, a
// lock guards it, and a failed `new` ends in the kernel's panic instead of an exception.
#include <cstdio>
#include <cstdlib>

#include "keel/global.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"

namespace {

// What the boot loader's memory map would give: two usable ranges.
alignas(64) std::byte g_low_memory[256 * 1024];
alignas(64) std::byte g_high_memory[1024 * 1024];

// A real kernel uses its interrupt-masking lock here (keel::port::IrqLock on keel's ports).
constinit keel::Locked<keel::Heap<>, keel::SpinLock> g_kernel_heap;

[[noreturn]] void panic(const char* why) {
  std::printf("panic: %s\n", why);
  std::exit(2);
}

void on_new_failure(std::size_t size, std::size_t /*align*/) {
  std::printf("out of memory for %zu bytes\n", size);
  panic("new failed");
}

struct Task {
  explicit Task(int task_id) : id(task_id) {}
  virtual ~Task() = default;
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  int id;
  alignas(64) std::byte stack_guard[64]{};
};

}  // namespace

KEEL_GLOBAL_HEAP(g_kernel_heap);

int main() {
  // Boot: claim the memory map before the first new.
  keel::Heap<>& heap = g_kernel_heap.unlocked();
  if (!heap.claim(keel::Span{g_low_memory}) || !heap.claim(keel::Span{g_high_memory})) {
    panic("cannot claim memory");
  }
  keel::set_new_failure_handler(&on_new_failure);

  Task* tasks[32];
  for (int i = 0; i < 32; ++i) {
    tasks[i] = new Task(i);  // aligned new: Task is over-aligned
  }
  // Larger than the low range: served by the high one.
  char* volatile buffer = new char[300 * 1024];
  const auto* bytes = reinterpret_cast<std::byte*>(buffer);
  const std::size_t live = g_kernel_heap.statistics().live_allocations;
  const bool ok = live == 33 && bytes >= g_high_memory &&
                  bytes < g_high_memory + sizeof g_high_memory &&
                  reinterpret_cast<std::uintptr_t>(tasks[5]) % 64 == 0 && tasks[31]->id == 31;
  delete[] buffer;
  for (Task* task : tasks) {
    delete task;
  }
  const bool clean = g_kernel_heap.statistics().live_allocations == 0 &&
                     g_kernel_heap.with_lock([](auto& h) { return h.validate().ok(); });
  std::printf("kernel %s (%zu blocks at the peak)\n", ok && clean ? "ok" : "FAILED", live);
  return ok && clean ? 0 : 1;
}
