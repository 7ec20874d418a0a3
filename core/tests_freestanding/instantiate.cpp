// Instantiates every member of the heap templates in a freestanding translation unit, so that
// scripts/check-freestanding.sh sees every symbol the header code can reference.
#include "keel/heap.hpp"
#include "keel/lock.hpp"

namespace keel {
template class Heap<FailOnOom, HeapOptions{}>;
template class Heap<ClaimOnOom, HeapOptions{.statistics = false, .checking = Checking::none}>;
}  // namespace keel

namespace {
struct NullSink {
  void operator()(const char* /*text*/, std::size_t /*length*/) const {}
};
}  // namespace

void keel_freestanding_exercise(keel::Heap<>& heap, void* pointer) {
  heap.dump(NullSink{});
  heap.walk([](const keel::BlockInfo&) {});
  (void)heap.validate();
  (void)heap.check();
  heap.free(heap.reallocate(pointer, 100, 64));
}
