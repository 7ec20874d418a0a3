// test_interrupts: the port's interrupt-masking locks and a heap shared with an interrupt.
//
// 1. PrimaskLock and IrqLock nest: the mask stays up until the outermost unlock, which restores
//    what was there before.
// 2. What each lock masks, seen by software-triggered interrupts: with IrqLock held, an
//    interrupt at the heap's priority waits for unlock; an urgent interrupt (priority above the
//    ceiling) runs at once where IrqLock uses BASEPRI (v7-M, v8-M mainline) and waits where it
//    uses PRIMASK (v6-M). PrimaskLock holds both back everywhere.
// 3. A keel::Locked<Heap, IrqLock> used by the main loop and by the SysTick interrupt at the
//    same time: both allocate, write, check and free blocks; at the end every block is intact,
//    validate() passes and the counts add up.
#include <cstddef>
#include <cstdint>
#include <new>

#include "check.hpp"
#include "cortex_m.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "port.hpp"
#include "support/op_model.hpp"

namespace {

namespace cm = keel::port::cortex_m;

// Two external interrupts no device of the boards drives (nRF51: software interrupts SWI0/1).
constexpr unsigned kUrgentIrq = 20;
constexpr unsigned kHeapIrq = 21;

volatile unsigned g_urgent_runs = 0;
volatile unsigned g_heap_irq_runs = 0;

void urgent_handler() noexcept {
  g_urgent_runs = g_urgent_runs + 1;
}
void heap_irq_handler() noexcept {
  g_heap_irq_runs = g_heap_irq_runs + 1;
}

void nesting() {
  keel::port::PrimaskLock primask;
  KEEL_EXPECT(cm::read_primask() == 0);
  primask.lock();
  primask.lock();
  primask.unlock();
  KEEL_EXPECT(cm::read_primask() == 1);  // still held by the outer lock
  primask.unlock();
  KEEL_EXPECT(cm::read_primask() == 0);

  // Taken with interrupts already masked, it leaves them masked.
  cm::mask_interrupts();
  primask.lock();
  primask.unlock();
  KEEL_EXPECT(cm::read_primask() == 1);
  cm::unmask_interrupts();

#if KEEL_CORTEX_M_HAS_BASEPRI
  keel::port::IrqLock irq;
  irq.lock();
  KEEL_EXPECT(cm::read_basepri() == keel::port::kHeapPriorityCeiling);
  irq.lock();
  irq.unlock();
  KEEL_EXPECT(cm::read_basepri() == keel::port::kHeapPriorityCeiling);
  irq.unlock();
  KEEL_EXPECT(cm::read_basepri() == 0);
  KEEL_EXPECT(cm::read_primask() == 0);
#endif
}

/// Triggers both interrupts with `lock` held; returns which ran before unlock (bit 0 urgent,
/// bit 1 heap) and checks that both ran after it.
template <typename Lock>
unsigned ran_while_locked(Lock& lock) {
  g_urgent_runs = 0;
  g_heap_irq_runs = 0;
  lock.lock();
  cm::trigger_irq(kUrgentIrq);
  cm::trigger_irq(kHeapIrq);
  const unsigned ran = (g_urgent_runs != 0 ? 1U : 0U) | (g_heap_irq_runs != 0 ? 2U : 0U);
  lock.unlock();
  asm volatile("isb" ::: "memory");
  KEEL_EXPECT(g_urgent_runs == 1 && g_heap_irq_runs == 1);
  return ran;
}

void masking() {
  cm::set_irq_handler(kUrgentIrq, urgent_handler, keel::port::kUrgentPriority);
  cm::set_irq_handler(kHeapIrq, heap_irq_handler, keel::port::kTickPriority);
  // Unlocked, both run at once.
  cm::trigger_irq(kUrgentIrq);
  cm::trigger_irq(kHeapIrq);
  KEEL_EXPECT(g_urgent_runs == 1 && g_heap_irq_runs == 1);

  keel::port::PrimaskLock primask;
  KEEL_EXPECT(ran_while_locked(primask) == 0);
  keel::port::IrqLock irq;
  const unsigned ran = ran_while_locked(irq);
  keel::check::out().text("  priority bits ").decimal(cm::priority_bits());
  keel::check::out().text("; with IrqLock held the urgent interrupt ");
  keel::check::out().text((ran & 1U) != 0 ? "ran at once\n" : "waited\n");
  KEEL_EXPECT((ran & 2U) == 0);  // the heap's interrupt always waits
  KEEL_EXPECT(((ran & 1U) != 0) == (KEEL_CORTEX_M_HAS_BASEPRI != 0));
  cm::set_irq_handler(kUrgentIrq, nullptr, 0);
  cm::set_irq_handler(kHeapIrq, nullptr, 0);
}

// --- a heap shared by the main loop and the SysTick interrupt ---------------------------------

using SharedHeap = keel::Locked<keel::Heap<>, keel::port::IrqLock>;
alignas(8) std::byte g_shared_storage[sizeof(SharedHeap)];
SharedHeap* g_shared = nullptr;

struct Block {
  std::uint32_t* words = nullptr;
  std::uint32_t count = 0;
  std::uint32_t seed = 0;
};

void fill(const Block& block) {
  for (std::uint32_t i = 0; i < block.count; ++i) {
    block.words[i] = block.seed ^ (i * 0x9E3779B9U);
  }
}
bool intact(const Block& block) {
  for (std::uint32_t i = 0; i < block.count; ++i) {
    if (block.words[i] != (block.seed ^ (i * 0x9E3779B9U))) {
      return false;
    }
  }
  return true;
}

constexpr unsigned kTickSlots = 8;
Block g_tick_blocks[kTickSlots];
volatile unsigned g_ticks = 0;
volatile unsigned g_tick_allocations = 0;
volatile unsigned g_tick_corruptions = 0;

void tick() noexcept {
  const unsigned tick_number = g_ticks;
  g_ticks = tick_number + 1;
  Block& block = g_tick_blocks[tick_number % kTickSlots];
  if (block.words != nullptr) {
    if (!intact(block)) {
      g_tick_corruptions = g_tick_corruptions + 1;
    }
    g_shared->free(block.words);
    block = Block{};
    return;
  }
  const std::uint32_t count = 1 + (tick_number * 7U) % 40U;
  auto* words = static_cast<std::uint32_t*>(g_shared->allocate(count * 4));
  if (words != nullptr) {
    block = Block{words, count, tick_number * 2654435761U};
    fill(block);
    g_tick_allocations = g_tick_allocations + 1;
  }
}

void shared_with_interrupt() {
  g_shared = ::new (static_cast<void*>(g_shared_storage)) SharedHeap();
  const keel::Span memory = cm::heap_memory();
  const keel::Span used{memory.data, memory.size < 16384 ? memory.size : 16384};
  KEEL_EXPECT(g_shared->with_lock([used](auto& heap) { return heap.claim(used).ok(); }));
  cm::set_tick_handler(tick, 1500);

  constexpr unsigned kMainSlots = 24;
  Block blocks[kMainSlots];
  keel::test::Random random(2024);
  unsigned corruptions = 0;
  unsigned main_allocations = 0;
  for (unsigned step = 0; step < 20000; ++step) {
    Block& block = blocks[random.below(kMainSlots)];
    if (block.words != nullptr) {
      corruptions += intact(block) ? 0U : 1U;
      g_shared->free(block.words);
      block = Block{};
      continue;
    }
    const auto count = static_cast<std::uint32_t>(1 + random.below(64));
    auto* words = static_cast<std::uint32_t*>(g_shared->allocate(count * 4));
    if (words != nullptr) {
      block = Block{words, count, static_cast<std::uint32_t>(random.next())};
      fill(block);
      ++main_allocations;
    }
  }
  cm::set_tick_handler(nullptr, 0);
  for (Block& block : blocks) {
    if (block.words != nullptr) {
      corruptions += intact(block) ? 0U : 1U;
      g_shared->free(block.words);
    }
  }
  for (Block& block : g_tick_blocks) {
    if (block.words != nullptr) {
      corruptions += intact(block) ? 0U : 1U;
      g_shared->free(block.words);
      block = Block{};
    }
  }
  keel::check::out().text("  shared heap: ").decimal(main_allocations);
  keel::check::out().text(" allocations in the main loop, ").decimal(g_tick_allocations);
  keel::check::out().text(" in ").decimal(g_ticks).text(" SysTick interrupts\n");
  KEEL_EXPECT(g_ticks > 100);
  KEEL_EXPECT(g_tick_allocations > 50);
  KEEL_EXPECT(corruptions == 0 && g_tick_corruptions == 0);
  KEEL_EXPECT(g_shared->statistics().live_allocations == 0);
  KEEL_EXPECT(g_shared->with_lock([](auto& heap) { return heap.validate().ok(); }));
}

}  // namespace

int main() {
  keel::port::init();
  keel::check::out().text("test_interrupts on ").text(cm::board_name()).text("\n");
  nesting();
  masking();
  shared_with_interrupt();
  return keel::check::finish("test_interrupts");
}
