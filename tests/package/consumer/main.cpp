// A program that puts all its allocations in keel: malloc (keel::libc), new (keel::new_delete),
// and a pool from keel::core. Prints "consumer ok" and exits 0 if every one landed in keel.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "keel/global.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/pool.hpp"

namespace {

alignas(16) constinit std::byte g_memory[4 << 20];
constinit keel::Locked<keel::Heap<keel::ClaimOnOom>, keel::SpinLock> g_heap{
    keel::ClaimOnOom{keel::Span{g_memory}}};

struct Message {
  int id;
  char text[36];
};
constinit keel::ObjectPool<Message, 16> g_messages;

bool in_heap(const void* pointer) {
  const auto* byte = static_cast<const std::byte*>(pointer);
  return byte >= g_memory && byte < g_memory + sizeof g_memory;
}

}  // namespace

KEEL_GLOBAL_HEAP(g_heap);

int main() {
  char* text = strdup("keel");
  int* number = new int(42);
  Message* message = g_messages.create(Message{7, "hello"});
  const bool ok = in_heap(text) && in_heap(number) && message != nullptr &&
                  g_messages.in_use() == 1 && g_heap.statistics().live_allocations >= 2;
  g_messages.destroy(message);
  delete number;
  std::free(text);
  std::printf("consumer %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
