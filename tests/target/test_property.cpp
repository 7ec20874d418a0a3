// test_property: the property tests of tests/property on the target. Random sequences of
// allocate / free / reallocate / claim / extend / truncate run against keel and the shadow model
// of tests/support/op_model.hpp, with validate() after every step, for the same heap
// configurations as on the host. The model's regions are the linker script's heap section,
// filled with random bytes before each seed. A failure prints the configuration, the seed, the
// step and the heap map.
//
// KEEL_TARGET_PROPERTY_SEEDS (a compile definition, default 12) seeds per configuration, of
// kOperations steps each.
#include <cstddef>
#include <cstdint>
#include <new>

#include "check.hpp"
#include "cortex_m.hpp"
#include "keel/heap.hpp"
#include "port.hpp"
#include "support/op_model.hpp"

#ifndef KEEL_TARGET_PROPERTY_SEEDS
#define KEEL_TARGET_PROPERTY_SEEDS 12
#endif

namespace {

constexpr unsigned kSeeds = KEEL_TARGET_PROPERTY_SEEDS;
constexpr std::size_t kOperations = 1500;
// The model's memory: up to this much of the heap section (the M0 has about 7 KiB here).
constexpr std::size_t kMemoryLimit = 256 * 1024;

// The heap and the model are built in static buffers (together about 4.5 KiB: too much for
// the M0's stack), one configuration at a time.
alignas(8) std::byte g_heap_storage[2048];
alignas(8) std::byte g_model_storage[2560];

struct Totals {
  std::size_t allocations = 0;
  std::size_t failed_allocations = 0;
  std::size_t truncations = 0;
};

template <typename HeapT>
bool run_configuration(const char* name, const keel::test::Mix& mix, Totals& totals) {
  using Model = keel::test::Model<HeapT>;
  static_assert(sizeof(HeapT) <= sizeof g_heap_storage, "g_heap_storage too small");
  static_assert(sizeof(Model) <= sizeof g_model_storage, "g_model_storage too small");
  const keel::Span section = keel::port::cortex_m::heap_memory();
  for (unsigned seed = 0; seed < kSeeds; ++seed) {
    keel::test::Random random(seed);
    // Vary the buffer's alignment too: the heap must trim any span correctly.
    const std::size_t skip = seed % 13;
    const std::size_t room = section.size - skip;
    const keel::Span memory{section.data + skip, room < kMemoryLimit ? room : kMemoryLimit};
    auto* heap = ::new (static_cast<void*>(g_heap_storage)) HeapT();
    auto* model = ::new (static_cast<void*>(g_model_storage)) Model(*heap, memory, random);
    bool ok = true;
    for (std::size_t step = 0; step < kOperations && ok; ++step) {
      ok = model->apply(model->random_operation(random, mix));
    }
    ok = ok && model->free_all();
    if (!ok) {
      keel::check::out().text("FAIL ").text(name).text(" seed ").decimal(seed).text(": ");
      keel::check::out().text(model->failure()).text("\nheap:\n");
      heap->dump(keel::check::kConsole);
      return false;
    }
    totals.allocations += model->allocations();
    totals.failed_allocations += model->failed_allocations();
    totals.truncations += model->truncations();
  }
  return true;
}

/// The mix scaled down for a small heap section (the M0's): sizes that let a few dozen blocks
/// live in a region of under 2 KiB, so that the model still exercises more than refusals.
keel::test::Mix fit(keel::test::Mix mix) {
  if (keel::port::cortex_m::heap_memory().size < 64 * 1024) {
    mix.max_size = mix.max_size < 96 ? mix.max_size : 96;
    mix.large_size = mix.large_size < 512 ? mix.large_size : 512;
    mix.max_align_shift = mix.max_align_shift < 6 ? mix.max_align_shift : 6;
  }
  return mix;
}

template <typename HeapT>
void check_configuration(const char* name, const keel::test::Mix& wanted = keel::test::Mix{}) {
  const keel::test::Mix mix = fit(wanted);
  Totals totals;
  KEEL_EXPECT(run_configuration<HeapT>(name, mix, totals));
  keel::check::out().text("  ").text(name).text(": ").decimal(kSeeds).text(" seeds, ");
  keel::check::out().decimal(totals.allocations).text(" allocations, ");
  keel::check::out().decimal(totals.failed_allocations).text(" failed, ");
  keel::check::out().decimal(totals.truncations).text(" truncations\n");
  // The model must really have exercised the heap.
  KEEL_EXPECT(totals.allocations > kSeeds * kOperations / 8);
  KEEL_EXPECT(totals.truncations > 0);
}

}  // namespace

int main() {
  keel::port::init();
  const bool trapping = keel::port::cortex_m::trap_unaligned_access();
  keel::check::out().text("test_property on ").text(keel::port::cortex_m::board_name());
  keel::check::out().text(trapping ? " (unaligned accesses trap)\n" : "\n");

  using keel::FailOnOom;
  using keel::HeapOptions;
  check_configuration<keel::Heap<>>("default heap");
  check_configuration<
      keel::Heap<FailOnOom, HeapOptions{.statistics = false, .checking = keel::Checking::none}>>(
      "no statistics, no checks");
  check_configuration<keel::Heap<FailOnOom, HeapOptions{.search_limit = 8}>>(
      "bounded search of 8 blocks");
  keel::test::Mix small;
  small.allocate = 50;
  small.free = 20;
  small.max_size = 160;
  small.large_size = 3000;
  small.max_align_shift = 5;
  check_configuration<keel::Heap<>>("small blocks near exhaustion", small);
  keel::test::Mix churn;
  churn.allocate = 50;
  churn.free = 20;
  churn.claim = 8;
  churn.extend = 10;
  churn.truncate = 12;
  check_configuration<keel::Heap<>>("allocation heavy with region churn", churn);
  // The small-heap bins (docs/design.md section 13): 8 per power of two. With 1 KiB blocks the
  // model's regions are trimmed and its extends refused as too large on every board; its
  // requests are sized for such blocks, and freed more often, on every board, so that enough of
  // them succeed to exercise the heap.
  check_configuration<keel::Heap<FailOnOom, HeapOptions{.largest_block = 64 * 1024}>>(
      "largest block 64 KiB");
  keel::test::Mix tiny = churn;
  tiny.free = 30;
  tiny.max_size = 64;
  tiny.large_size = 256;
  tiny.max_align_shift = 6;
  check_configuration<keel::Heap<FailOnOom, HeapOptions{.largest_block = 1024}>>(
      "largest block 1 KiB", tiny);
  // Quick lists (docs/design.md section 15): blocks held unmerged between binned ones, flushed
  // when a search fails near exhaustion and before extend and truncate.
  keel::test::Mix quick = small;
  quick.claim = 4;
  quick.extend = 6;
  quick.truncate = 8;
  check_configuration<keel::Heap<FailOnOom, HeapOptions{.quick_lists = 4, .quick_largest = 128}>>(
      "quick lists near exhaustion, with region churn", quick);
  return keel::check::finish("test_property");
}
