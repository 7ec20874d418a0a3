// cortex_m_registers.hpp: the Armv6-M / Armv7-M / Armv8-M system registers the port touches,
// by name. Every address is from the Armv7-M Architecture Reference Manual (B3.2, B3.3, B3.4),
// and is the same on v6-M and v8-M where the register exists. On v6-M the system handler
// priority and NVIC priority registers accept word accesses only, so all accesses here are
// 32-bit.
#pragma once

#include <cstdint>

namespace keel::port::cortex_m {

/// A memory-mapped 32-bit register.
[[nodiscard]] inline volatile std::uint32_t& mmio(std::uintptr_t address) {
  return *reinterpret_cast<volatile std::uint32_t*>(address);
}

namespace reg {

// SysTick (B3.3)
inline constexpr std::uintptr_t kSysTickControl = 0xE000E010;  ///< SYST_CSR
inline constexpr std::uintptr_t kSysTickReload = 0xE000E014;   ///< SYST_RVR (24 bits)
inline constexpr std::uintptr_t kSysTickCurrent = 0xE000E018;  ///< SYST_CVR, counts down

inline constexpr std::uint32_t kSysTickEnable = 1U << 0;
inline constexpr std::uint32_t kSysTickInterrupt = 1U << 1;
inline constexpr std::uint32_t kSysTickProcessorClock = 1U << 2;
inline constexpr std::uint32_t kSysTickMaxReload = 0x00FFFFFFU;

// System control block (B3.2)
inline constexpr std::uintptr_t kInterruptControl = 0xE000ED04;      ///< ICSR
inline constexpr std::uintptr_t kVectorTableOffset = 0xE000ED08;     ///< VTOR (not on v6-M)
inline constexpr std::uintptr_t kConfigurationControl = 0xE000ED14;  ///< CCR
inline constexpr std::uintptr_t kHandlerPriority2 = 0xE000ED1C;      ///< SHPR2: SVCall
inline constexpr std::uintptr_t kHandlerPriority3 = 0xE000ED20;      ///< SHPR3: PendSV, SysTick
inline constexpr std::uintptr_t kFaultStatus = 0xE000ED28;           ///< CFSR (v7-M, v8-M mainline)
inline constexpr std::uintptr_t kHardFaultStatus = 0xE000ED2C;       ///< HFSR (v7-M, v8-M mainline)
inline constexpr std::uintptr_t kMemManageAddress = 0xE000ED34;      ///< MMFAR
inline constexpr std::uintptr_t kBusFaultAddress = 0xE000ED38;       ///< BFAR
inline constexpr std::uintptr_t kCoprocessorAccess = 0xE000ED88;     ///< CPACR

inline constexpr std::uint32_t kPendSysTickSet = 1U << 26;        ///< ICSR.PENDSTSET
inline constexpr std::uint32_t kPendSysTickClear = 1U << 25;      ///< ICSR.PENDSTCLR
inline constexpr std::uint32_t kPendSvSet = 1U << 28;             ///< ICSR.PENDSVSET
inline constexpr std::uint32_t kUnalignedTrap = 1U << 3;          ///< CCR.UNALIGN_TRP
inline constexpr std::uint32_t kFullAccessCp10Cp11 = 0xFU << 20;  ///< CPACR: the FPU

inline constexpr std::uint32_t kMemManageAddressValid = 1U << 7;  ///< CFSR.MMARVALID
inline constexpr std::uint32_t kBusFaultAddressValid = 1U << 15;  ///< CFSR.BFARVALID
inline constexpr std::uint32_t kUnalignedFault = 1U << 24;        ///< CFSR.UNALIGNED

// NVIC (B3.4): 32 interrupts per enable/pending word, 4 per priority word.
inline constexpr std::uintptr_t kIrqSetEnable = 0xE000E100;     ///< NVIC_ISER0
inline constexpr std::uintptr_t kIrqClearEnable = 0xE000E180;   ///< NVIC_ICER0
inline constexpr std::uintptr_t kIrqSetPending = 0xE000E200;    ///< NVIC_ISPR0
inline constexpr std::uintptr_t kIrqClearPending = 0xE000E280;  ///< NVIC_ICPR0
inline constexpr std::uintptr_t kIrqPriority = 0xE000E400;      ///< NVIC_IPR0

}  // namespace reg
}  // namespace keel::port::cortex_m
