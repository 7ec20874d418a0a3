// bench/src/replay.hpp: replays a parsed trace against one allocator.
//
// Every block gets a pattern (pattern.hpp) that is checked before the block is freed or
// resized, and every pointer is checked for its alignment; a mismatch stops the program with a
// message (exit status 3). Each allocator call sits between two markers (marker.hpp), which
// is where the instruction-count plugin measures; the bookkeeping around it is not measured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "marker.hpp"
#include "pattern.hpp"
#include "trace.hpp"

namespace keel_bench {

enum class OnFailure : std::uint8_t { stop, carry_on };
/// Whether blocks get the pattern and are checked (`none`: only for the arena-size search,
/// which re-checks its results with patterns).
enum class Verify : std::uint8_t { patterns, none };

struct ReplayResult {
  std::size_t operations = 0;  ///< allocator calls made
  std::size_t failures = 0;    ///< allocations and reallocations that returned null
  std::size_t skipped = 0;     ///< operations on ids whose allocation had failed
  bool stopped = false;        ///< stopped at the first failure (OnFailure::stop)
  // The first failure, if any: which operation, what it asked for, and the bytes then live.
  std::size_t first_failure = 0;
  std::size_t failed_size = 0;
  std::size_t failed_align = 0;
  std::size_t live_bytes_at_failure = 0;
  std::size_t live_blocks_at_failure = 0;
};

namespace detail {

struct Slot {
  void* pointer = nullptr;
  std::size_t bytes = 0;
  std::size_t align = 0;
  std::uint64_t seed = 0;
};

[[noreturn]] inline void corrupted(const Trace& trace, std::size_t index, const char* what) {
  std::fprintf(stderr, "keel_bench: %s: operation %zu: %s\n", trace.name.c_str(), index, what);
  std::exit(3);
}

inline bool misaligned(const void* pointer, std::size_t align) {
  return (reinterpret_cast<std::uintptr_t>(pointer) & (align - 1)) != 0;
}

}  // namespace detail

template <typename Allocator>
ReplayResult replay(const Trace& trace, Allocator& allocator, OnFailure on_failure,
                    Verify verify = Verify::patterns) {
  const bool patterns = verify == Verify::patterns;
  // The plain alignment of the traces; the allocators are asked for at least this.
  constexpr std::size_t kPlainAlign = 8;
  std::vector<detail::Slot> slots(trace.id_limit);
  ReplayResult result;
  std::uint64_t next_seed = 0x6B65656C00000000ULL;
  std::size_t live_bytes = 0;
  std::size_t live_blocks = 0;
  const auto stop_here = [&](std::size_t index, std::size_t size, std::size_t align) {
    if (result.failures == 0) {
      result.first_failure = index;
      result.failed_size = size;
      result.failed_align = align;
      result.live_bytes_at_failure = live_bytes;
      result.live_blocks_at_failure = live_blocks;
    }
    ++result.failures;
    if (on_failure == OnFailure::stop) {
      result.stopped = true;
      return true;
    }
    return false;
  };
  for (std::size_t index = 0; index < trace.ops.size(); ++index) {
    const TraceOp& op = trace.ops[index];
    detail::Slot& slot = slots[op.id];
    switch (op.kind) {
      case OpKind::allocate:
      case OpKind::allocate_zeroed: {
        const std::size_t bytes = op.size * op.count;
        const std::size_t align = op.align > kPlainAlign ? op.align : kPlainAlign;
        void* pointer = nullptr;
        ++result.operations;
        if (op.kind == OpKind::allocate) {
          mark_begin();
          pointer = allocator.allocate(op.size, align);
          if (pointer != nullptr) {
            mark_end<Category::allocate>();
          } else {
            mark_end<Category::allocate_failed>();
          }
        } else {
          mark_begin();
          pointer = allocator.allocate_zeroed(op.count, op.size);
          if (pointer != nullptr) {
            mark_end<Category::allocate_zeroed>();
          } else {
            mark_end<Category::allocate_failed>();
          }
          if (patterns && pointer != nullptr && !is_zero(pointer, bytes)) {
            detail::corrupted(trace, index, "allocate_zeroed returned a block that is not zero");
          }
        }
        if (pointer == nullptr) {
          slot = detail::Slot{};
          if (stop_here(index, bytes, align)) {
            return result;
          }
          break;
        }
        if (detail::misaligned(pointer, align)) {
          detail::corrupted(trace, index, "misaligned block");
        }
        slot = detail::Slot{pointer, bytes, align, next_seed++};
        if (patterns) {
          fill_pattern(pointer, bytes, slot.seed);
        }
        live_bytes += bytes;
        ++live_blocks;
        break;
      }
      case OpKind::reallocate: {
        if (slot.pointer == nullptr) {
          ++result.skipped;
          break;
        }
        if (patterns && !check_pattern(slot.pointer, slot.bytes, slot.seed)) {
          detail::corrupted(trace, index, "block damaged before reallocate");
        }
        ++result.operations;
        mark_begin();
        void* pointer = allocator.reallocate(slot.pointer, op.size, slot.align);
        if (pointer == slot.pointer) {
          mark_end<Category::reallocate_in_place>();
        } else if (pointer != nullptr) {
          mark_end<Category::reallocate_moved>();
        } else {
          mark_end<Category::reallocate_failed>();
        }
        if (pointer == nullptr) {
          // The old block is still live and intact; the trace goes on with it.
          if (patterns && !check_pattern(slot.pointer, slot.bytes, slot.seed)) {
            detail::corrupted(trace, index, "failed reallocate damaged the block");
          }
          if (stop_here(index, op.size, slot.align)) {
            return result;
          }
          break;
        }
        if (detail::misaligned(pointer, slot.align)) {
          detail::corrupted(trace, index, "misaligned block after reallocate");
        }
        const std::size_t kept = op.size < slot.bytes ? op.size : slot.bytes;
        if (patterns && !check_pattern(pointer, kept, slot.seed)) {
          detail::corrupted(trace, index, "reallocate lost the contents");
        }
        slot.pointer = pointer;
        live_bytes = live_bytes - slot.bytes + op.size;
        slot.bytes = op.size;
        slot.seed = next_seed++;
        if (patterns) {
          fill_pattern(pointer, slot.bytes, slot.seed);
        }
        break;
      }
      case OpKind::free: {
        if (slot.pointer == nullptr) {
          ++result.skipped;
          break;
        }
        if (patterns && !check_pattern(slot.pointer, slot.bytes, slot.seed)) {
          detail::corrupted(trace, index, "block damaged before free");
        }
        ++result.operations;
        mark_begin();
        allocator.free(slot.pointer);
        mark_end<Category::free>();
        live_bytes -= slot.bytes;
        --live_blocks;
        slot = detail::Slot{};
        break;
      }
    }
  }
  return result;
}

}  // namespace keel_bench
