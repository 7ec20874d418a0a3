// qemu-demo/common/measurement.cpp: keel's malloc and free in instructions, in the demo itself.
//
// The workload of measure.hpp through the demo's own malloc and free: keel::libc over the global
// heap, with its interrupt-masking lock, which is what firmware calls. The measurement images
// (qemu-demo/cortex-m/measure_main.cpp) run the same workload against newlib's malloc.
#include <cstdint>
#include <cstdlib>
#include <new>

#include "demo.hpp"
#include "measure.hpp"

namespace demo {
namespace {

[[gnu::noinline]] void* call_malloc(std::size_t size) {
  return std::malloc(size);
}
[[gnu::noinline]] void call_free(void* pointer) {
  std::free(pointer);
}

}  // namespace

void run_measurement() {
  const Platform& machine = platform();
  MeasureConfig config;
  config.slots = 64 / machine.scale_down;
  config.operations = 10000 / machine.scale_down;
  config.size_span = machine.scale_down > 1 ? 120 : 249;
  print("\n== 4. Cost: instructions per malloc and free (%s, deterministic)\n",
        keel::port::counter_unit());
  print(
      "   workload: %lu slots, %lu mallocs of %lu..%lu B and as many frees, xorshift32 "
      "seed 0x%lx\n",
      static_cast<unsigned long>(config.slots), static_cast<unsigned long>(config.operations),
      static_cast<unsigned long>(config.min_size),
      static_cast<unsigned long>(config.min_size + config.size_span - 1),
      static_cast<unsigned long>(config.seed));
  using Samples = Histogram<1024>;
  auto* mallocs = new Samples;
  auto* frees = new Samples;
  auto** slots = new void*[config.slots];
  const MeasureResult result = measure(config, slots, call_malloc, call_free, *mallocs, *frees);
  print("   %-34s %7s %7s %7s %7s\n", "", "median", "p99", "worst", "mean");
  print("   %-34s %7lu %7lu %7lu %7lu\n", "keel malloc (keel::libc, locked)",
        static_cast<unsigned long>(mallocs->median()),
        static_cast<unsigned long>(mallocs->percentile(99)),
        static_cast<unsigned long>(mallocs->worst()), static_cast<unsigned long>(mallocs->mean()));
  print("   %-34s %7lu %7lu %7lu %7lu\n", "keel free   (keel::libc, locked)",
        static_cast<unsigned long>(frees->median()),
        static_cast<unsigned long>(frees->percentile(99)),
        static_cast<unsigned long>(frees->worst()), static_cast<unsigned long>(frees->mean()));
  print(
      "   (each sample: the call alone, interrupts masked, an empty window of %lu subtracted; "
      "newlib's malloc on the same workload: see the measurement images)\n",
      static_cast<unsigned long>(result.window_overhead));
  expect(result.failed_mallocs == 0, "every measured malloc succeeded");
  expect(result.frees == result.mallocs, "every measured block was freed");
  delete[] slots;
  delete frees;
  delete mallocs;
}

}  // namespace demo
