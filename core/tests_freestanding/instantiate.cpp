// Instantiates every member of the heap templates in a freestanding translation unit, so that
// scripts/check-freestanding.sh sees every symbol the header code can reference.
#include "keel/cpu_cache.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/recorder.hpp"

namespace keel {
template class Heap<FailOnOom, HeapOptions{}>;
template class Heap<ClaimOnOom, HeapOptions{.statistics = false, .checking = Checking::none}>;
// The small-heap bins (docs/design.md section 13).
template class Heap<FailOnOom,
                    HeapOptions{
                        .checking = Checking::full, .hardened = true, .largest_block = 64 * 1024}>;
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

// The recorder over a heap (keel/recorder.hpp), with a sink that drops the bytes.
namespace keel_freestanding {
struct DropSink {
  void write(const std::byte* /*data*/, std::size_t /*size*/) {}
};
}  // namespace keel_freestanding
template class keel::Recorded<keel::Heap<>, keel_freestanding::DropSink>;
template class keel::Recorded<
    keel::Heap<keel::FailOnOom, keel::HeapOptions{.checking = keel::Checking::full}>,
    keel_freestanding::DropSink>;

void keel_freestanding_recorder(keel::Recorded<keel::Heap<>, keel_freestanding::DropSink>& heap) {
  heap.start_recording();
  heap.free(heap.reallocate(heap.allocate_zeroed(2, 8), 100, 64));
  heap.stop_recording();
}

// The per-CPU front end, where the target has the atomic exchange its locks need (not v6-M).
#if !defined(__ARM_ARCH_6M__)
namespace keel_freestanding {
struct TwoCpus {
  static constexpr unsigned kMaxCpus = 2;
  using Saved = int;
  static Saved mask() noexcept { return 0; }
  static void restore(Saved /*saved*/) noexcept {}
  static unsigned current() noexcept { return 0; }
};
}  // namespace keel_freestanding
template class keel::CpuCached<keel::Heap<>, keel::SpinLock, keel_freestanding::TwoCpus>;

void keel_freestanding_cpu_cache(
    keel::CpuCached<keel::Heap<>, keel::SpinLock, keel_freestanding::TwoCpus>& front) {
  front.walk([](const keel::BlockInfo&) {});
  (void)front.leak_report(NullSink{});
  (void)front.with_lock([](keel::Heap<>& heap) { return heap.check(); });
}
#endif
