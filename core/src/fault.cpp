// core/src/fault.cpp: the fault hook and the names of keel's enumerations.
#include "keel/fault.hpp"
#include "keel/span.hpp"
#include "keel/stats.hpp"

namespace keel {
namespace {

[[noreturn]] void trap_on_fault(Fault /*fault*/, const void* /*address*/) noexcept {
  __builtin_trap();
}

// Constant-initialised: no static constructor runs before they are usable. A null installed
// handler means the default one.
constinit FaultHandler g_fault_handler = nullptr;
constinit FaultHandler g_default_handler = &trap_on_fault;
constinit AllocationTag g_fault_origin{};

}  // namespace

FaultHandler set_fault_handler(FaultHandler handler) noexcept {
  const FaultHandler previous = g_fault_handler;
  g_fault_handler = handler;
  return previous;
}

void set_default_fault_handler(FaultHandler handler) noexcept {
  g_default_handler = handler != nullptr ? handler : &trap_on_fault;
}

void report_fault(Fault fault, const void* address) noexcept {
  report_fault(fault, address, AllocationTag{});
}

void report_fault(Fault fault, const void* address, AllocationTag origin) noexcept {
  g_fault_origin = origin;
  (g_fault_handler != nullptr ? g_fault_handler : g_default_handler)(fault, address);
  g_fault_origin = AllocationTag{};
}

AllocationTag fault_origin() noexcept {
  return g_fault_origin;
}

const char* to_string(Fault fault) noexcept {
  switch (fault) {
    case Fault::foreign_pointer: return "foreign_pointer";
    case Fault::misaligned_pointer: return "misaligned_pointer";
    case Fault::double_free: return "double_free";
    case Fault::invalid_pointer: return "invalid_pointer";
    case Fault::corrupted_block: return "corrupted_block";
    case Fault::pool_foreign: return "pool_foreign";
    case Fault::pool_double_release: return "pool_double_release";
    case Fault::buffer_overrun: return "buffer_overrun";
    case Fault::write_after_free: return "write_after_free";
  }
  return "unknown";
}

const char* to_string(RegionError error) noexcept {
  switch (error) {
    case RegionError::null_span: return "null_span";
    case RegionError::too_small: return "too_small";
    case RegionError::overlaps: return "overlaps";
    case RegionError::out_of_reach: return "out_of_reach";
    case RegionError::not_a_region: return "not_a_region";
    case RegionError::not_contained: return "not_contained";
    case RegionError::cuts_live_block: return "cuts_live_block";
    case RegionError::too_large: return "too_large";
  }
  return "unknown";
}

const char* to_string(Violation violation) noexcept {
  switch (violation) {
    case Violation::none: return "none";
    case Violation::region_broken: return "region_broken";
    case Violation::block_out_of_bounds: return "block_out_of_bounds";
    case Violation::adjacent_free_blocks: return "adjacent_free_blocks";
    case Violation::prev_used_mismatch: return "prev_used_mismatch";
    case Violation::bad_footer: return "bad_footer";
    case Violation::bad_pad: return "bad_pad";
    case Violation::free_list_broken: return "free_list_broken";
    case Violation::wrong_bin: return "wrong_bin";
    case Violation::bitmap_mismatch: return "bitmap_mismatch";
    case Violation::free_block_unlisted: return "free_block_unlisted";
    case Violation::statistics_mismatch: return "statistics_mismatch";
    case Violation::trailer_damaged: return "trailer_damaged";
    case Violation::free_block_written: return "free_block_written";
    case Violation::top_block_broken: return "top_block_broken";
  }
  return "unknown";
}

}  // namespace keel
