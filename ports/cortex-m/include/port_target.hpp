// port_target.hpp (Cortex-M): the parts of the port contract that must be inline, here the
// interrupt-masking locks. ports/port.hpp includes this file; include port.hpp, not this.
//
// Two locks, both nestable and both keel::BasicLockable:
//
//   PrimaskLock     sets PRIMASK: masks every interrupt with configurable priority (all but NMI
//                   and HardFault). Every Cortex-M has it.
//   BasePriLock<c>  raises BASEPRI to the ceiling `c`: masks only the interrupts whose priority
//                   value is c or more (less urgent). Interrupts more urgent than `c` still run
//                   while the heap is locked, so they keep their latency; they must not use the
//                   heap. Armv7-M and Armv8-M mainline only (M3, M4, M7, M33).
//
//   IrqLock         the port's lock (ports/port.hpp): BasePriLock<kHeapPriorityCeiling> where
//                   BASEPRI exists, PrimaskLock on Armv6-M (M0).
//
// The rule that makes them correct: an interrupt that uses the heap has a priority value of
// kHeapPriorityCeiling or more. Priorities are 8-bit values of which a core implements the top
// 2 (v6-M) to 8 bits; the ceilings below use only the top two bits, so they mean the same on
// every core.
//
// Nesting: lock() remembers the mask only when it is the outermost lock of this lock object, and
// unlock() restores it only when the count drops back to zero. The count is touched only with
// the mask raised, and an interrupt that takes the lock releases it before it returns, so it
// needs no atomics. Cost: 4 to 6 instructions each way, no loop.
#pragma once

#include <cstdint>

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
#define KEEL_CORTEX_M_HAS_BASEPRI 1
#else
#define KEEL_CORTEX_M_HAS_BASEPRI 0
#endif

namespace keel::port {

/// Interrupts with this priority value or a lower one (more urgent) are never masked by
/// IrqLock on cores with BASEPRI; they must not use the heap.
inline constexpr std::uint8_t kUrgentPriority = 0x00;
/// The ceiling of IrqLock: an interrupt that uses the heap must have this priority value or more.
inline constexpr std::uint8_t kHeapPriorityCeiling = 0x40;
/// The priority the port gives its SysTick interrupt (which may run a heap-using tick handler).
inline constexpr std::uint8_t kTickPriority = 0x80;

namespace cortex_m {

[[nodiscard]] inline std::uint32_t read_primask() noexcept {
  std::uint32_t value;
  asm volatile("mrs %0, primask" : "=r"(value));
  return value;
}
inline void mask_interrupts() noexcept {
  asm volatile("cpsid i" ::: "memory");
}
inline void unmask_interrupts() noexcept {
  asm volatile("cpsie i" ::: "memory");
}

#if KEEL_CORTEX_M_HAS_BASEPRI
[[nodiscard]] inline std::uint32_t read_basepri() noexcept {
  std::uint32_t value;
  asm volatile("mrs %0, basepri" : "=r"(value));
  return value;
}
inline void write_basepri(std::uint32_t value) noexcept {
  asm volatile("msr basepri, %0" ::"r"(value) : "memory");
}
/// Raises BASEPRI to `value` unless it already masks more (BASEPRI_MAX never lowers it).
inline void raise_basepri(std::uint32_t value) noexcept {
  asm volatile("msr basepri_max, %0" ::"r"(value) : "memory");
}
#endif

}  // namespace cortex_m

/// Masks every maskable interrupt (PRIMASK). Nestable; see the top of this file.
class PrimaskLock {
 public:
  void lock() noexcept {
    const std::uint32_t previous = cortex_m::read_primask();
    cortex_m::mask_interrupts();
    if (depth_++ == 0) {
      saved_ = previous;
    }
  }
  void unlock() noexcept {
    if (--depth_ == 0 && saved_ == 0) {
      cortex_m::unmask_interrupts();
    }
  }

 private:
  std::uint32_t saved_ = 0;
  std::uint32_t depth_ = 0;
};

#if KEEL_CORTEX_M_HAS_BASEPRI
/// Masks the interrupts with priority value `kCeiling` or more (BASEPRI). Nestable.
template <std::uint8_t kCeiling>
class BasePriLock {
  static_assert(kCeiling != 0, "BASEPRI 0 masks nothing");

 public:
  void lock() noexcept {
    const std::uint32_t previous = cortex_m::read_basepri();
    cortex_m::raise_basepri(kCeiling);
    if (depth_++ == 0) {
      saved_ = previous;
    }
  }
  void unlock() noexcept {
    if (--depth_ == 0) {
      cortex_m::write_basepri(saved_);
    }
  }

 private:
  std::uint32_t saved_ = 0;
  std::uint32_t depth_ = 0;
};

class IrqLock : public BasePriLock<kHeapPriorityCeiling> {};
#else
class IrqLock : public PrimaskLock {};
#endif

}  // namespace keel::port
