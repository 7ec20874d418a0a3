// tools/keel-size/replay.cpp: the replayer behind keel-size (docs/design.md section 14.2).
//
// The Python driver (tools/keel-size/keel-size) reads a recording or a trace, checks it, and
// feeds this program a normalised operation list on standard input:
//
//     keel-replay 1
//     a ID SIZE ALIGN TAG LINE          allocate
//     c ID COUNT SIZE ALIGN TAG LINE    allocate_zeroed
//     r ID SIZE ALIGN TAG LINE          reallocate of the live block ID (SIZE 0: resized to
//                                       a minimum block, not freed)
//     f ID                              free of the live block ID
//     pa SIZE ALIGN TAG LINE            a failed call of the recording, replayed as a probe
//     pc COUNT SIZE ALIGN TAG LINE      (it must succeed here, and is undone at once)
//     pr ID SIZE ALIGN TAG LINE
//
// TAG is hexadecimal (a code address or a file name's address on the target), the other numbers
// decimal. Operation i of the list is operation i of the recording. The replayer answers on
// standard output with one JSON object a line:
//
//     keel-size-replay-N info                      the pointer width and what was built in
//     keel-size-replay-N search OPTIONS --variant CHECKING:TAGS ... [--scan K]
//         the smallest arena of each variant (the other options as given)
//     keel-size-replay-N run OPTIONS --arena BYTES [--timeline FILE] [--map WHEN]...
//         one replay at that size: peaks, least headroom, worst fragmentation, failures; the
//         state after every operation to FILE; the block list at WHEN (peak, end or an index)
//
// OPTIONS: --checking none|basic|full|debug --tags 0|1 --statistics 0|1 --hardened 0|1
// --search-limit N --base-offset BYTES (where the arena starts past a 4096-byte boundary).
//
// Every block gets a byte pattern that is checked before it is freed or reallocated (and a
// reallocated block's kept prefix after), every pointer's alignment is checked, and the heap is
// validated at the end of each checked replay: a mismatch stops the program (exit status 3).
#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bisect.hpp"
#include "keel/heap.hpp"
#include "pattern.hpp"

namespace keel_size {
namespace {

constexpr std::size_t kStep = keel::detail::kGranule;  ///< the granule step of the search
constexpr std::size_t kPage = 4096;
/// The largest arena the search tries: what a 32-bit replayer can map with room to spare; on
/// 64-bit hosts 4 GiB, about keel's largest region (Heap::max_region).
constexpr std::size_t kLargestArena =
    sizeof(void*) == 4 ? std::size_t{1} << 29 : std::size_t{1} << (sizeof(void*) * 4);
constexpr std::uint16_t kSearchLimits[] = {0, 8};

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "keel-size-replay: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::exit(2);
}

[[noreturn]] void corrupted(std::size_t index, const char* what) {
  std::fprintf(stderr, "keel-size-replay: operation %zu: %s\n", index, what);
  std::exit(3);
}

// ---------------------------------------------------------------------------------------------
// The operation list

enum class Kind : std::uint8_t {
  allocate,
  allocate_zeroed,
  reallocate,
  free,
  probe_allocate,
  probe_allocate_zeroed,
  probe_reallocate,
};

/// One operation. Sizes larger than this replayer's size_t are stored as SIZE_MAX, which keel
/// refuses as it would on the target.
struct Op {
  Kind kind;
  std::uint32_t id;
  std::uint32_t line;
  std::size_t count;
  std::size_t size;
  std::size_t align;
  std::uintptr_t tag;
};

std::size_t saturated(std::uint64_t value) {
  return value > SIZE_MAX ? SIZE_MAX : static_cast<std::size_t>(value);
}

struct Recording {
  std::vector<Op> ops;
  std::uint32_t id_limit = 0;
  std::uint64_t peak_live = 0;  ///< the largest sum of live request sizes
};

bool read_number(const char*& cursor, std::uint64_t& value, int base = 10) {
  while (*cursor == ' ') {
    ++cursor;
  }
  char* end = nullptr;
  errno = 0;
  value = std::strtoull(cursor, &end, base);
  if (end == cursor || errno != 0 || *cursor == '-') {
    return false;
  }
  cursor = end;
  return true;
}

Recording read_recording(std::FILE* input) {
  Recording recording;
  char line[512];
  if (std::fgets(line, sizeof line, input) == nullptr ||
      std::strncmp(line, "keel-replay 1", 13) != 0) {
    fail("standard input does not start with \"keel-replay 1\"");
  }
  std::vector<std::uint64_t> sizes;  // in 64 bits, so that a 32-bit replayer's sums hold
  std::vector<bool> live;
  std::uint64_t live_bytes = 0;
  std::size_t line_number = 1;
  while (std::fgets(line, sizeof line, input) != nullptr) {
    ++line_number;
    const std::string where = "input line " + std::to_string(line_number);
    const char* cursor = line;
    Op op{};
    bool has_id = true;
    bool has_count = false;
    bool has_size = true;
    bool has_tag = true;
    if (cursor[0] == 'p') {
      ++cursor;
      has_id = cursor[0] == 'r';
    }
    const bool probe = cursor != line;
    switch (cursor[0]) {
      case 'a': op.kind = probe ? Kind::probe_allocate : Kind::allocate; break;
      case 'c':
        op.kind = probe ? Kind::probe_allocate_zeroed : Kind::allocate_zeroed;
        has_count = true;
        break;
      case 'r': op.kind = probe ? Kind::probe_reallocate : Kind::reallocate; break;
      case 'f':
        if (probe) {
          fail("unknown operation", where);
        }
        op.kind = Kind::free;
        has_size = false;
        has_tag = false;
        break;
      default: fail("unknown operation", where);
    }
    ++cursor;
    std::uint64_t id = 0;
    std::uint64_t line_of_tag = 0;
    std::uint64_t count = 1;
    std::uint64_t size = 0;
    std::uint64_t align = 1;
    std::uint64_t tag = 0;
    if ((has_id && !read_number(cursor, id)) || (has_count && !read_number(cursor, count)) ||
        (has_size && !read_number(cursor, size)) || (has_size && !read_number(cursor, align)) ||
        (has_tag && (!read_number(cursor, tag, 16) || !read_number(cursor, line_of_tag)))) {
      fail("missing or bad number", where);
    }
    if (align == 0 || (align & (align - 1)) != 0 || align > SIZE_MAX / 2) {
      fail("alignment not a power of two this replayer can ask for", where);
    }
    if (id >= 0xFFFFFFU || line_of_tag > 0xFFFFFFFFU || tag > UINTPTR_MAX) {
      fail("id, tag or line too large", where);
    }
    op.count = saturated(count);
    op.size = saturated(size);
    op.align = static_cast<std::size_t>(align);
    op.tag = static_cast<std::uintptr_t>(tag);
    op.id = static_cast<std::uint32_t>(id);
    op.line = static_cast<std::uint32_t>(line_of_tag);
    if (has_id && op.id >= live.size()) {
      live.resize(op.id + 1U, false);
      sizes.resize(op.id + 1U, 0);
    }
    const bool new_block = op.kind == Kind::allocate || op.kind == Kind::allocate_zeroed;
    if (has_id && live[op.id] == new_block) {
      fail(new_block ? "id allocated while live" : "id not live", where);
    }
    if (new_block) {
      live[op.id] = true;
      sizes[op.id] = count * size;
      live_bytes += sizes[op.id];
    } else if (op.kind == Kind::reallocate) {
      live_bytes = live_bytes - sizes[op.id] + size;
      sizes[op.id] = size;
    } else if (op.kind == Kind::free) {
      live[op.id] = false;
      live_bytes -= sizes[op.id];
    }
    recording.peak_live = live_bytes > recording.peak_live ? live_bytes : recording.peak_live;
    recording.ops.push_back(op);
  }
  recording.id_limit = static_cast<std::uint32_t>(live.size());
  return recording;
}

// ---------------------------------------------------------------------------------------------
// Heap options: the recording's, chosen at run time, each combination a heap type

struct Options {
  keel::Checking checking = keel::Checking::basic;
  bool tags = false;
  bool statistics = true;
  bool hardened = false;
  std::uint16_t search_limit = keel::HeapOptions{}.search_limit;
};

const char* checking_name(keel::Checking checking) {
  switch (checking) {
    case keel::Checking::none: return "none";
    case keel::Checking::basic: return "basic";
    case keel::Checking::full: return "full";
    case keel::Checking::debug: return "debug";
  }
  return "?";
}

bool parse_checking(const char* text, keel::Checking& checking) {
  for (const keel::Checking each :
       {keel::Checking::none, keel::Checking::basic, keel::Checking::full, keel::Checking::debug}) {
    if (std::strcmp(text, checking_name(each)) == 0) {
      checking = each;
      return true;
    }
  }
  return false;
}

constexpr keel::HeapOptions with_checking(keel::HeapOptions options, keel::Checking checking) {
  options.checking = checking;
  return options;
}
constexpr keel::HeapOptions with_tags(keel::HeapOptions options, bool tags) {
  options.tags = tags;
  return options;
}
constexpr keel::HeapOptions with_statistics(keel::HeapOptions options, bool statistics) {
  options.statistics = statistics;
  return options;
}
constexpr keel::HeapOptions with_hardened(keel::HeapOptions options, bool hardened) {
  options.hardened = hardened;
  return options;
}
constexpr keel::HeapOptions with_search_limit(keel::HeapOptions options, std::uint16_t limit) {
  options.search_limit = limit;
  return options;
}

template <keel::HeapOptions kOptions>
using HeapOf = keel::Heap<keel::FailOnOom, kOptions>;

/// Calls function.template operator()<kOptions>() with the heap options `options` names.
/// Replays never instantiate Checking::debug: it has full's layout and makes the same choices,
/// and validate() after every call would make a search take hours (docs/design.md section 14.2).
template <bool kWithDebug, keel::HeapOptions kOptions, std::size_t kLimit = 0, typename F>
bool pick_limit(const Options& options, F& function) {
  if constexpr (kLimit < std::size(kSearchLimits)) {
    if (options.search_limit == kSearchLimits[kLimit]) {
      function.template operator()<with_search_limit(kOptions, kSearchLimits[kLimit])>();
      return true;
    }
    return pick_limit<kWithDebug, kOptions, kLimit + 1>(options, function);
  } else {
    return false;
  }
}

template <bool kWithDebug, keel::HeapOptions kOptions, typename F>
bool pick_flags(const Options& options, F& function) {
  constexpr keel::HeapOptions kOff =
      with_tags(with_statistics(with_hardened(kOptions, false), false), false);
  const auto flags =
      (options.tags ? 1U : 0U) | (options.statistics ? 2U : 0U) | (options.hardened ? 4U : 0U);
  switch (flags) {
    case 0: return pick_limit<kWithDebug, kOff>(options, function);
    case 1: return pick_limit<kWithDebug, with_tags(kOff, true)>(options, function);
    case 2: return pick_limit<kWithDebug, with_statistics(kOff, true)>(options, function);
    case 3:
      return pick_limit<kWithDebug, with_tags(with_statistics(kOff, true), true)>(options,
                                                                                  function);
    case 4: return pick_limit<kWithDebug, with_hardened(kOff, true)>(options, function);
    case 5:
      return pick_limit<kWithDebug, with_tags(with_hardened(kOff, true), true)>(options, function);
    case 6:
      return pick_limit<kWithDebug, with_statistics(with_hardened(kOff, true), true)>(options,
                                                                                      function);
    default:
      return pick_limit<kWithDebug, with_tags(with_statistics(with_hardened(kOff, true), true),
                                              true)>(options, function);
  }
}

template <bool kWithDebug, typename F>
bool dispatch(const Options& options, F&& function) {
  constexpr keel::HeapOptions kBase{};
  switch (options.checking) {
    case keel::Checking::none:
      return pick_flags<kWithDebug, with_checking(kBase, keel::Checking::none)>(options, function);
    case keel::Checking::basic:
      return pick_flags<kWithDebug, with_checking(kBase, keel::Checking::basic)>(options, function);
    case keel::Checking::full:
      return pick_flags<kWithDebug, with_checking(kBase, keel::Checking::full)>(options, function);
    case keel::Checking::debug:
      if constexpr (kWithDebug) {
        return pick_flags<kWithDebug, with_checking(kBase, keel::Checking::debug)>(options,
                                                                                   function);
      } else {
        return false;
      }
  }
  return false;
}

/// The options a replay uses: debug replays as full (same layout, same choices).
Options replayed(Options options) {
  if (options.checking == keel::Checking::debug) {
    options.checking = keel::Checking::full;
  }
  return options;
}

std::size_t heap_object_bytes(const Options& options) {
  std::size_t bytes = 0;
  dispatch<true>(options, [&]<keel::HeapOptions kOptions>() { bytes = sizeof(HeapOf<kOptions>); });
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// One replay

/// Page-aligned memory, reserved but only committed where it is touched; arenas are its first
/// bytes past `offset`.
class Arena {
 public:
  Arena(std::size_t bytes, std::size_t offset) : bytes_(bytes + kPage), offset_(offset) {
    void* memory = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
      fail("cannot map the arena", std::to_string(bytes_) + " bytes");
    }
    data_ = static_cast<std::byte*>(memory);
  }
  ~Arena() { munmap(data_, bytes_); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  [[nodiscard]] std::byte* base() const { return data_ + offset_; }
  [[nodiscard]] keel::Span prefix(std::size_t bytes) const { return keel::Span{base(), bytes}; }
  [[nodiscard]] std::size_t limit() const { return bytes_ - kPage; }

 private:
  std::byte* data_ = nullptr;
  std::size_t bytes_;
  std::size_t offset_;
};

enum class Check : std::uint8_t { none, patterns };
enum class OnFailure : std::uint8_t { stop, carry_on };

struct Slot {
  void* pointer = nullptr;
  std::size_t bytes = 0;
  std::size_t align = 0;
  std::uint64_t seed = 0;
  std::uintptr_t tag = 0;
  std::uint32_t line = 0;
  std::size_t born = 0;  ///< the operation that made the block, or last moved or resized it
};

struct Outcome {
  bool claimed = false;
  std::size_t failures = 0;
  std::size_t first_failure = 0;  ///< valid when failures > 0
  std::size_t skipped = 0;        ///< operations on blocks whose allocation had failed
};

bool misaligned(const void* pointer, std::size_t align) {
  return (reinterpret_cast<std::uintptr_t>(pointer) & (align - 1)) != 0;
}

keel::AllocationTag tag_of(const Op& op) {
  return keel::AllocationTag{reinterpret_cast<const char*>(static_cast<std::uintptr_t>(op.tag)),
                             op.line};
}

/// Replays `recording` against `heap` (which has claimed its arena), calling
/// observe(index, heap, slots, live_bytes) after every operation.
template <typename H, typename Observe>
Outcome replay(const Recording& recording, H& heap, Check check, OnFailure on_failure,
               std::vector<Slot>& slots, Observe&& observe) {
  const bool patterns = check == Check::patterns;
  Outcome outcome;
  outcome.claimed = true;
  std::uint64_t next_seed = 0x6B65656C00000000ULL;
  std::uint64_t live_bytes = 0;
  slots.assign(recording.id_limit, Slot{});
  const auto failed = [&](std::size_t index) {
    if (outcome.failures++ == 0) {
      outcome.first_failure = index;
    }
    return on_failure == OnFailure::stop;
  };
  for (std::size_t index = 0; index < recording.ops.size(); ++index) {
    const Op& op = recording.ops[index];
    const std::size_t bytes = op.count * op.size;
    if (op.count != 0 && bytes / op.count != op.size) {
      if (failed(index)) {
        return outcome;
      }
      continue;
    }
    switch (op.kind) {
      case Kind::allocate:
      case Kind::allocate_zeroed:
      case Kind::probe_allocate:
      case Kind::probe_allocate_zeroed: {
        const bool zeroed =
            op.kind == Kind::allocate_zeroed || op.kind == Kind::probe_allocate_zeroed;
        void* pointer = zeroed ? heap.allocate_zeroed(op.count, op.size, op.align, tag_of(op))
                               : heap.allocate(op.size, op.align, tag_of(op));
        if (pointer == nullptr) {
          if (failed(index)) {
            return outcome;
          }
          break;
        }
        if (misaligned(pointer, op.align)) {
          corrupted(index, "misaligned block");
        }
        if (patterns && zeroed && !keel_bench::is_zero(pointer, bytes)) {
          corrupted(index, "allocate_zeroed returned a block that is not zero");
        }
        if (op.kind == Kind::probe_allocate || op.kind == Kind::probe_allocate_zeroed) {
          heap.free(pointer);
          break;
        }
        slots[op.id] = Slot{pointer, bytes, op.align, next_seed++, op.tag, op.line, index};
        if (patterns) {
          keel_bench::fill_pattern(pointer, bytes, slots[op.id].seed);
        }
        live_bytes += bytes;
        break;
      }
      case Kind::reallocate:
      case Kind::probe_reallocate: {
        Slot& slot = slots[op.id];
        if (slot.pointer == nullptr) {
          ++outcome.skipped;
          break;
        }
        if (patterns && !keel_bench::check_pattern(slot.pointer, slot.bytes, slot.seed)) {
          corrupted(index, "block damaged before reallocate");
        }
        if (op.kind == Kind::probe_reallocate) {
          // The block could have grown in place, or a new block of the size been found.
          bool served = heap.try_resize_in_place(slot.pointer, op.size, tag_of(op));
          if (served) {
            if (!heap.try_resize_in_place(
                    slot.pointer, slot.bytes,
                    keel::AllocationTag{
                        reinterpret_cast<const char*>(static_cast<std::uintptr_t>(slot.tag)),
                        slot.line})) {
              corrupted(index, "a block grown in place did not shrink back");
            }
          } else if (void* fresh = heap.allocate(op.size, op.align, tag_of(op))) {
            heap.free(fresh);
            served = true;
          }
          if (!served && failed(index)) {
            return outcome;
          }
          break;
        }
        // A reallocate to 0 bytes keeps a minimum block (a recorded try_resize_in_place(p, 0);
        // a recorded realloc that freed is an F), where keel's reallocate would free it.
        void* pointer = op.size != 0 ? heap.reallocate(slot.pointer, op.size, op.align, tag_of(op))
                        : heap.try_resize_in_place(slot.pointer, 0, tag_of(op)) ? slot.pointer
                                                                                : nullptr;
        if (pointer == nullptr) {
          if (patterns && !keel_bench::check_pattern(slot.pointer, slot.bytes, slot.seed)) {
            corrupted(index, "failed reallocate damaged the block");
          }
          if (failed(index)) {
            return outcome;
          }
          break;
        }
        if (misaligned(pointer, op.align)) {
          corrupted(index, "misaligned block after reallocate");
        }
        const std::size_t kept = op.size < slot.bytes ? op.size : slot.bytes;
        if (patterns && !keel_bench::check_pattern(pointer, kept, slot.seed)) {
          corrupted(index, "reallocate lost the contents");
        }
        live_bytes = live_bytes - slot.bytes + op.size;
        slot = Slot{pointer, op.size, op.align, next_seed++, op.tag, op.line, index};
        if (patterns) {
          keel_bench::fill_pattern(pointer, slot.bytes, slot.seed);
        }
        break;
      }
      case Kind::free: {
        Slot& slot = slots[op.id];
        if (slot.pointer == nullptr) {
          ++outcome.skipped;
          break;
        }
        if (patterns && !keel_bench::check_pattern(slot.pointer, slot.bytes, slot.seed)) {
          corrupted(index, "block damaged before free");
        }
        heap.free(slot.pointer);
        live_bytes -= slot.bytes;
        slot = Slot{};
        break;
      }
    }
    observe(index, heap, slots, live_bytes);
  }
  if (patterns && !heap.validate().ok()) {
    corrupted(recording.ops.size(), "the heap does not validate after the replay");
  }
  return outcome;
}

/// A fresh heap over the first `bytes` of `arena`, replayed.
template <keel::HeapOptions kOptions, typename Observe>
Outcome replay_at(const Recording& recording, const Arena& arena, std::size_t bytes, Check check,
                  OnFailure on_failure, std::vector<Slot>& slots, Observe&& observe) {
  auto heap = std::make_unique<HeapOf<kOptions>>();
  if (bytes > arena.limit() || !heap->claim(arena.prefix(bytes)).ok()) {
    return Outcome{};
  }
  return replay(recording, *heap, check, on_failure, slots, observe);
}

// ---------------------------------------------------------------------------------------------
// search: the smallest arena

struct SearchResult {
  std::size_t smallest = 0;   ///< the smallest size found that replays
  std::size_t safe_from = 0;  ///< every size from here to the top of the window replays
  std::size_t bisection = 0;  ///< the boundary galloping and bisection found
  std::size_t window_low = 0;
  std::size_t window_high = 0;
  std::vector<std::size_t> runs_below;   ///< sizes below the bisection boundary that replay
  std::vector<std::size_t> fails_above;  ///< sizes above `smallest` that fail
  std::size_t attempts = 0;
  bool stable = true;     ///< false: no `scan` sizes in a row replayed above the smallest
  bool safe_runs = true;  ///< safe_from replays (it need not when not stable)
  Outcome step_below;     ///< the replay at smallest - kStep
};

template <keel::HeapOptions kOptions>
SearchResult search(const Recording& recording, const Arena& arena, std::size_t scan) {
  SearchResult result;
  std::vector<Slot> slots;
  std::unordered_map<std::size_t, bool> known;
  const auto runs = [&](std::size_t bytes) {
    const auto found = known.find(bytes);
    if (found != known.end()) {
      return found->second;
    }
    ++result.attempts;
    const Outcome outcome = replay_at<kOptions>(recording, arena, bytes, Check::none,
                                                OnFailure::stop, slots, [](auto&&...) {});
    const bool ok = outcome.claimed && outcome.failures == 0;
    known.emplace(bytes, ok);
    return ok;
  };
  // Galloping: from the peak of live bytes up, doubling, to a size that replays.
  std::size_t low = kStep;  // no region fits in one granule
  const std::uint64_t start =
      (recording.peak_live + recording.peak_live / 8 + 64 + kStep - 1) / kStep * kStep;
  std::size_t high = start < arena.limit() ? static_cast<std::size_t>(start) : arena.limit();
  while (!runs(high)) {
    if (high == arena.limit()) {
      fail("the recording does not replay in the largest arena this replayer tries",
           std::to_string(arena.limit()) + " bytes");
    }
    low = high;
    high = high > arena.limit() / 2 ? arena.limit() : high * 2;
  }
  // Bisection: low fails, high replays.
  high = keel_bench::bisect(low, high, kStep, runs);
  result.bisection = high;
  result.smallest = high;
  // Failure need not be monotone in the size: another size moves where blocks land. Look below
  // the boundary until `scan` sizes in a row fail, and above it for `scan` sizes.
  std::size_t in_a_row = 0;
  std::size_t size = high;
  while (in_a_row < scan && size > kStep) {
    size -= kStep;
    if (runs(size)) {
      result.runs_below.push_back(size);
      result.smallest = size;
      in_a_row = 0;
    } else {
      ++in_a_row;
    }
  }
  result.window_low = size;
  // Above: from the smallest size up until `scan` sizes in a row replay (16 * scan at most).
  result.safe_from = result.smallest;
  in_a_row = 0;
  for (size = result.smallest + kStep; in_a_row < scan; size += kStep) {
    if (size > result.smallest + 16 * scan * kStep) {
      result.stable = false;
      break;
    }
    if (runs(size)) {
      ++in_a_row;
    } else {
      result.fails_above.push_back(size);
      result.safe_from = size + kStep;
      in_a_row = 0;
    }
  }
  result.window_high = size - kStep;
  // The search replayed without patterns, for speed: check its answers with them.
  const auto checked = [&](std::size_t bytes) {
    return replay_at<kOptions>(recording, arena, bytes, Check::patterns, OnFailure::stop, slots,
                               [](auto&&...) {});
  };
  const auto same = [&](std::size_t bytes, const Outcome& outcome) {
    return runs(bytes) == (outcome.claimed && outcome.failures == 0);
  };
  const Outcome at_smallest = checked(result.smallest);
  const Outcome at_safe = checked(result.safe_from);
  result.safe_runs = at_safe.claimed && at_safe.failures == 0;
  result.step_below = checked(result.smallest - kStep);
  if (!same(result.smallest, at_smallest) || !same(result.safe_from, at_safe) ||
      !same(result.smallest - kStep, result.step_below)) {
    corrupted(recording.ops.size(), "a size the search found replays differently with patterns");
  }
  return result;
}

void print_sizes(const std::vector<std::size_t>& sizes) {
  std::printf("[");
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::printf("%s%zu", i == 0 ? "" : ",", sizes[i]);
  }
  std::printf("]");
}

void print_search(const Options& options, const Options& as, const SearchResult& result,
                  const Recording& recording) {
  std::printf(
      "{\"checking\":\"%s\",\"replayed_as\":\"%s\",\"tags\":%d,\"statistics\":%d,"
      "\"hardened\":%d,\"search_limit\":%u,\"heap_bytes\":%zu,\"smallest\":%zu,"
      "\"safe_from\":%zu,\"stable\":%s,\"safe_runs\":%s,\"bisection\":%zu,\"window\":[%zu,%zu],"
      "\"attempts\":%zu,"
      "\"runs_below\":",
      checking_name(options.checking), checking_name(as.checking), options.tags ? 1 : 0,
      options.statistics ? 1 : 0, options.hardened ? 1 : 0, options.search_limit,
      heap_object_bytes(options), result.smallest, result.safe_from,
      result.stable ? "true" : "false", result.safe_runs ? "true" : "false", result.bisection,
      result.window_low, result.window_high, result.attempts);
  print_sizes(result.runs_below);
  std::printf(",\"fails_above\":");
  print_sizes(result.fails_above);
  std::printf(",\"step_below\":{\"arena\":%zu,\"claimed\":%s", result.smallest - kStep,
              result.step_below.claimed ? "true" : "false");
  if (result.step_below.claimed) {
    const Op& op = recording.ops[result.step_below.first_failure];
    std::printf(",\"op\":%zu,\"size\":%zu,\"count\":%zu,\"align\":%zu,\"tag\":%" PRIuPTR
                ",\"line\":%u",
                result.step_below.first_failure, op.size, op.count, op.align, op.tag, op.line);
  }
  std::printf("}}\n");
}

// ---------------------------------------------------------------------------------------------
// run: one replay with everything it shows

struct State {
  std::size_t in_use = 0;
  std::size_t free = 0;
  std::size_t largest = 0;
  unsigned fragmentation = 0;
};

struct Extreme {
  std::size_t value = 0;
  std::size_t op = 0;
  bool set = false;
  void more(std::size_t candidate, std::size_t index) {
    if (!set || candidate > value) {
      value = candidate;
      op = index;
      set = true;
    }
  }
  void less(std::size_t candidate, std::size_t index) {
    if (!set || candidate < value) {
      value = candidate;
      op = index;
      set = true;
    }
  }
};

struct RunReport {
  Outcome outcome;
  Extreme peak_in_use;
  Extreme peak_live;
  Extreme least_free;
  Extreme least_largest;
  Extreme worst_fragmentation;
  State at_worst_fragmentation;
};

constexpr std::size_t kNoMap = SIZE_MAX;
constexpr std::size_t kMapAtPeak = SIZE_MAX - 1;
constexpr std::size_t kMapAtEnd = SIZE_MAX - 2;

template <typename H>
void print_map(const char* name, std::size_t index, const H& heap, const std::vector<Slot>& slots,
               const std::byte* base) {
  std::unordered_map<const void*, std::uint32_t> ids;
  for (std::uint32_t id = 0; id < slots.size(); ++id) {
    if (slots[id].pointer != nullptr) {
      ids.emplace(slots[id].pointer, id);
    }
  }
  const auto offset = [&](const void* pointer) {
    return static_cast<long long>(static_cast<const std::byte*>(pointer) - base);
  };
  std::printf("{\"map\":\"%s\",\"op\":%zu,\"regions\":[", name, index);
  bool first = true;
  heap.for_each_region([&](keel::Span extent) {
    std::printf("%s[%lld,%zu]", first ? "" : ",", offset(extent.data), extent.size);
    first = false;
  });
  std::printf("],\"blocks\":[");
  first = true;
  heap.walk([&](const keel::BlockInfo& block) {
    std::printf("%s[%lld,%zu,%d", first ? "" : ",", offset(block.address), block.size,
                block.used ? 1 : 0);
    first = false;
    const auto found = ids.find(block.address);
    if (block.used && found != ids.end()) {
      const Slot& slot = slots[found->second];
      std::printf(",%u,%zu,%" PRIuPTR ",%u,%zu", found->second, slot.bytes, slot.tag, slot.line,
                  slot.born);
    }
    std::printf("]");
  });
  std::printf("]}\n");
}

template <keel::HeapOptions kOptions>
void run(const Recording& recording, const Arena& arena, std::size_t bytes, OnFailure on_failure,
         const char* timeline_path, const std::vector<std::size_t>& maps) {
  std::vector<Slot> slots;
  RunReport report;
  std::FILE* timeline = nullptr;
  if (timeline_path != nullptr) {
    timeline = std::fopen(timeline_path, "w");
    if (timeline == nullptr) {
      fail("cannot write the timeline", timeline_path);
    }
  }
  const auto wants_map = [&](std::size_t index) {
    for (const std::size_t each : maps) {
      if (each == index) {
        return true;
      }
    }
    return false;
  };
  // A first pass finds the peak, if a map of it is wanted; the second replays identically.
  std::size_t peak_op = kNoMap;
  if (wants_map(kMapAtPeak)) {
    Extreme peak;
    replay_at<kOptions>(recording, arena, bytes, Check::none, on_failure, slots,
                        [&](std::size_t index, const auto& heap, const auto&, std::uint64_t) {
                          peak.more(heap.statistics().bytes_in_use, index);
                        });
    peak_op = peak.set ? peak.op : kNoMap;
  }
  std::printf("{\"arena\":%zu,\"heap_bytes\":%zu}\n", bytes, sizeof(HeapOf<kOptions>));
  const std::byte* base = arena.base();
  std::size_t last = 0;
  report.outcome = replay_at<kOptions>(
      recording, arena, bytes, Check::patterns, on_failure, slots,
      [&](std::size_t index, const auto& heap, const auto& live, std::uint64_t live_bytes) {
        const keel::Statistics statistics = heap.statistics();
        report.peak_in_use.more(statistics.bytes_in_use, index);
        report.peak_live.more(static_cast<std::size_t>(live_bytes), index);
        report.least_free.less(statistics.bytes_free, index);
        report.least_largest.less(statistics.largest_free_block, index);
        if (!report.worst_fragmentation.set ||
            statistics.fragmentation_permille > report.worst_fragmentation.value) {
          report.worst_fragmentation.more(statistics.fragmentation_permille, index);
          report.at_worst_fragmentation =
              State{statistics.bytes_in_use, statistics.bytes_free, statistics.largest_free_block,
                    statistics.fragmentation_permille};
        }
        if (timeline != nullptr) {
          std::fprintf(timeline, "%zu %zu %zu %" PRIu64 "\n", statistics.bytes_in_use,
                       statistics.bytes_free, statistics.largest_free_block, live_bytes);
        }
        if (index == peak_op) {
          print_map("peak", index, heap, live, base);
        }
        if (wants_map(index)) {
          print_map("op", index, heap, live, base);
        }
        if (index + 1 == recording.ops.size() && wants_map(kMapAtEnd)) {
          print_map("end", index, heap, live, base);
        }
        last = index;
      });
  if (timeline != nullptr && std::fclose(timeline) != 0) {
    fail("cannot write the timeline", timeline_path);
  }
  const Outcome& outcome = report.outcome;
  std::printf(
      "{\"claimed\":%s,\"operations\":%zu,\"last_op\":%zu,\"failures\":%zu,"
      "\"first_failure\":%lld,\"skipped\":%zu,",
      outcome.claimed ? "true" : "false", recording.ops.size(), last, outcome.failures,
      outcome.failures == 0 ? -1LL : static_cast<long long>(outcome.first_failure),
      outcome.skipped);
  const auto extreme = [](const char* name, const Extreme& value) {
    std::printf("\"%s\":[%zu,%lld],", name, value.value,
                value.set ? static_cast<long long>(value.op) : -1LL);
  };
  extreme("peak_in_use", report.peak_in_use);
  extreme("peak_live", report.peak_live);
  extreme("least_free", report.least_free);
  extreme("least_largest_free", report.least_largest);
  extreme("worst_fragmentation", report.worst_fragmentation);
  std::printf("\"at_worst_fragmentation\":{\"in_use\":%zu,\"free\":%zu,\"largest_free\":%zu}}\n",
              report.at_worst_fragmentation.in_use, report.at_worst_fragmentation.free,
              report.at_worst_fragmentation.largest);
}

// ---------------------------------------------------------------------------------------------
// The command line

struct Variant {
  keel::Checking checking;
  bool tags;
};

std::uint64_t number_argument(const char* flag, const char* text) {
  const char* cursor = text;
  std::uint64_t value = 0;
  if (!read_number(cursor, value) || *cursor != '\0') {
    fail("bad number for", flag);
  }
  return value;
}

std::size_t size_argument(const char* flag, const char* text) {
  const std::uint64_t value = number_argument(flag, text);
  if (value > SIZE_MAX) {
    fail("too large for this replayer:", flag);
  }
  return static_cast<std::size_t>(value);
}

bool flag_argument(const char* flag, const char* text) {
  const std::uint64_t value = number_argument(flag, text);
  if (value > 1) {
    fail("expected 0 or 1 for", flag);
  }
  return value == 1;
}

int main_with(int argc, char** argv) {
  if (argc < 2) {
    fail("usage: keel-size-replay-N info|search|run [options] < operations");
  }
  const std::string command = argv[1];
  if (command == "info") {
    std::printf("{\"replayer\":1,\"pointer_bytes\":%zu,\"granule\":%zu,\"search_limits\":[",
                sizeof(void*), kStep);
    for (std::size_t i = 0; i < std::size(kSearchLimits); ++i) {
      std::printf("%s%u", i == 0 ? "" : ",", kSearchLimits[i]);
    }
    std::printf("],\"largest_arena\":%zu}\n", kLargestArena);
    return 0;
  }
  if (command != "search" && command != "run") {
    fail("unknown command", command);
  }
  Options options;
  std::vector<Variant> variants;
  std::size_t scan = 64;
  std::size_t base_offset = 0;
  std::size_t arena_bytes = 0;
  const char* timeline = nullptr;
  std::vector<std::size_t> maps;
  OnFailure on_failure = OnFailure::carry_on;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--stop-at-failure") {
      on_failure = OnFailure::stop;
      continue;
    }
    if (i + 1 >= argc) {
      fail("missing value after", flag);
    }
    const char* value = argv[++i];
    if (flag == "--checking") {
      if (!parse_checking(value, options.checking)) {
        fail("unknown checking level", value);
      }
    } else if (flag == "--tags") {
      options.tags = flag_argument(argv[i - 1], value);
    } else if (flag == "--statistics") {
      options.statistics = flag_argument(argv[i - 1], value);
    } else if (flag == "--hardened") {
      options.hardened = flag_argument(argv[i - 1], value);
    } else if (flag == "--search-limit") {
      const std::uint64_t limit = number_argument(argv[i - 1], value);
      if (limit > 0xFFFFU) {
        fail("search limit too large", value);
      }
      options.search_limit = static_cast<std::uint16_t>(limit);
    } else if (flag == "--variant") {
      const char* colon = std::strchr(value, ':');
      Variant variant{};
      if (colon == nullptr ||
          !parse_checking(std::string(value, colon).c_str(), variant.checking)) {
        fail("a variant is CHECKING:TAGS", value);
      }
      variant.tags = flag_argument("--variant", colon + 1);
      variants.push_back(variant);
    } else if (flag == "--scan") {
      scan = size_argument(argv[i - 1], value);
    } else if (flag == "--base-offset") {
      base_offset = size_argument(argv[i - 1], value);
      if (base_offset >= kPage) {
        fail("the base offset is below 4096", value);
      }
    } else if (flag == "--arena") {
      arena_bytes = size_argument(argv[i - 1], value);
    } else if (flag == "--timeline") {
      timeline = value;
    } else if (flag == "--map") {
      const std::string when = value;
      maps.push_back(when == "peak"  ? kMapAtPeak
                     : when == "end" ? kMapAtEnd
                                     : size_argument("--map", value));
    } else {
      fail("unknown option", flag);
    }
  }
  const Recording recording = read_recording(stdin);
  const Arena arena(kLargestArena, base_offset);
  bool supported = true;
  if (command == "search") {
    if (variants.empty()) {
      variants.push_back(Variant{options.checking, options.tags});
    }
    for (const Variant& variant : variants) {
      Options each = options;
      each.checking = variant.checking;
      each.tags = variant.tags;
      const Options as = replayed(each);
      supported = supported && dispatch<false>(as, [&]<keel::HeapOptions kOptions>() {
                    print_search(each, as, search<kOptions>(recording, arena, scan), recording);
                  });
      std::fflush(stdout);
    }
  } else {
    if (arena_bytes == 0) {
      fail("run needs --arena BYTES");
    }
    // The run reads the counters, so it uses the heap with statistics on: statistics change no
    // placement decision, only what the heap can say about itself.
    Options as = replayed(options);
    as.statistics = true;
    supported = dispatch<false>(as, [&]<keel::HeapOptions kOptions>() {
      run<kOptions>(recording, arena, arena_bytes, on_failure, timeline, maps);
    });
  }
  if (!supported) {
    fail("this replayer has no heap with search_limit", std::to_string(options.search_limit));
  }
  return 0;
}

}  // namespace
}  // namespace keel_size

int main(int argc, char** argv) {
  return keel_size::main_with(argc, argv);
}
