// keel/fault.hpp: the one hook through which keel reports misuse and corruption.
//
// keel never prints and never asserts. A bad pointer handed to free or reallocate, or a heap
// structure found overwritten, is reported through `report_fault`, which calls the installed
// handler with the kind and the address concerned. The default handler traps
// (`__builtin_trap`), which on a kernel lands in the fault handler of the port. A handler that
// returns lets keel carry on: the operation that found the fault is abandoned and the heap is
// left as it was.
#pragma once

#include <cstdint>

#include "keel/tag.hpp"

namespace keel {

/// What went wrong. The address passed with it is the pointer the caller gave, or the block
/// found damaged. keel.h's enum keel_fault mirrors these values (core/src/c_api.cpp checks each):
/// a new kind goes at the end, in both.
enum class Fault : std::uint8_t {
  foreign_pointer,      ///< outside every region of the heap
  misaligned_pointer,   ///< not on the heap's 8-byte payload alignment
  double_free,          ///< the block is already free
  invalid_pointer,      ///< inside the heap but not the start of a live block (interior pointer)
  corrupted_block,      ///< a header or footer was overwritten (found by a check or validate())
  pool_foreign,         ///< a pool was handed a pointer that is not one of its blocks
  pool_double_release,  ///< a pool block was released twice
  buffer_overrun,       ///< bytes past the end of a live block were written (Checking::full)
  write_after_free,     ///< a free block was written after it was freed (Checking::full)
};

/// Returns a short lower-case name for a fault kind ("double_free").
[[nodiscard]] const char* to_string(Fault fault) noexcept;

/// A fault handler. It may return (keel then abandons the operation) or not return.
/// It must not call back into the heap that reported the fault.
using FaultHandler = void (*)(Fault fault, const void* address) noexcept;

/// Installs `handler` (null restores the default) and returns the handler installed before:
/// null if there was none and the default was in effect, so that passing the result back
/// restores exactly what was there. Not synchronised: install it before other threads or
/// interrupts use keel.
FaultHandler set_fault_handler(FaultHandler handler) noexcept;

/// Replaces the default, keel's trap, with `handler` (null brings the trap back). For the code
/// that owns error reporting on a platform, such as the FreeRTOS heap adapter, which sends
/// faults to configASSERT: a handler installed with set_fault_handler, before or after, still
/// takes precedence. Not synchronised, as set_fault_handler.
void set_default_fault_handler(FaultHandler handler) noexcept;

/// Calls the installed handler. Used by keel's own checks; ports may use it too.
void report_fault(Fault fault, const void* address) noexcept;

/// As report_fault, and makes `origin` (the allocation site of the block concerned) available
/// to the handler through fault_origin().
void report_fault(Fault fault, const void* address, AllocationTag origin) noexcept;

/// Inside a fault handler: the allocation site of the block concerned, where keel knows it
/// (heaps with HeapOptions::tags); an unknown tag otherwise. Not synchronised: with faults on two
/// threads at once, a handler may see the other's origin.
[[nodiscard]] AllocationTag fault_origin() noexcept;

}  // namespace keel
