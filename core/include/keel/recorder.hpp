// keel/recorder.hpp: recording what a heap was asked, for sizing it on the host.
//
// Theory of operation (docs/design.md section 14.1; the format is docs/recording.md)
//   `Recorder<Sink>` encodes calls into the binary recording form (.krec version 1) in a small
//   fixed buffer and hands each full buffer to the Sink (a port's: semihosting on Cortex-M,
//   the debug port on x86_64; memory in a test). `Recorded<H, Sink>` is a heap H whose
//   allocate, try_allocate, allocate_zeroed, reallocate, try_resize_in_place and free also
//   record what the caller got. Behind a lock it records inside the lock:
//   `Locked<Recorded<Heap<...>, Sink>, Lock>` writes the calls of all CPUs in the order the
//   heap served them.
//
// Invariants
//   1. a buffer handed to the sink holds whole records (the header counts as one): a record is
//      never split between two writes, so a stream cut off between writes is well formed;
//   2. between start() and stop() every call that changed the heap, or failed to allocate, is
//      recorded exactly once, in the order the heap served it; calls that only inspect the heap,
//      free(null), and calls the heap rejected as a fault are not recorded;
//   3. the encoder's state is all zero until start(): a constinit Recorded heap sits in .bss.
//
// Trade-offs
//   A heap that is not wrapped pays nothing: heap.hpp has no hook. A wrapped heap that is not
//   recording pays one test per call. While recording, each call costs its encoding (about 35
//   instructions for an F to 80 for an A on a Cortex-M4, docs/benchmarks.md) and, with checking
//   on, a free or reallocate checks its pointer once more before the heap does (usable_size): a
//   pointer the heap rejects is reported through the fault hook as before and must not appear
//   in the recording (with Checking::full a block of 0 bytes needs a heap walk for that:
//   O(blocks)). A flush runs the sink with the heap's lock held (with interrupts masked, under
//   an IrqLock): the sink must be callable there, and its cost counts once per buffer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/config.hpp"
#include "keel/detail/bits.hpp"
#include "keel/tag.hpp"

namespace keel {

/// Where a Recorder sends its bytes: `write(data, size)` takes them all or drops them (a sink
/// cannot fail the heap call). It runs inside the heap's calls, under the heap's lock.
template <typename S>
concept RecordingSink = requires(S& sink, const std::byte* data, std::size_t size) {
  sink.write(data, size);
};

/// The record kinds of docs/recording.md (the opcode byte of each record).
enum class RecordKind : std::uint8_t {
  allocate = 0x41,         ///< 'A'
  allocate_zeroed = 0x43,  ///< 'C'
  end = 0x45,              ///< 'E'
  free = 0x46,             ///< 'F'
  reallocate = 0x52,       ///< 'R'
};

namespace detail {

inline constexpr std::size_t kRecordingHeaderBytes = 16;
/// The longest record: R with two 64-bit address deltas, a 64-bit size, the align byte and a tag
/// (a 64-bit delta and a 32-bit line), at 10 bytes per 64-bit LEB128 number and 5 per 32-bit one.
inline constexpr std::size_t kMaxRecordBytes = 1 + 10 + 10 + 10 + 1 + 10 + 5;
/// The align byte of an alignment that is not a power of two (a call that can only fail).
inline constexpr std::uint8_t kRecordedBadAlign = 0xFF;

/// The recording header (docs/recording.md) of a heap with `options` on this target: magic,
/// version, pointer bytes, log2 of the default alignment, checking, flags, search limit.
constexpr void recording_header(const HeapOptions& options, std::byte* out) {
  constexpr std::uint8_t kVersion = 1;
  for (std::size_t i = 0; i < kRecordingHeaderBytes; ++i) {
    out[i] = std::byte{0};
  }
  out[0] = std::byte{'K'};
  out[1] = std::byte{'R'};
  out[2] = std::byte{'E'};
  out[3] = std::byte{'C'};
  out[4] = std::byte{kVersion};
  out[5] = static_cast<std::byte>(sizeof(void*));
  out[6] = static_cast<std::byte>(lowest_bit(static_cast<std::uint32_t>(kDefaultAlignment)));
  out[7] = static_cast<std::byte>(options.checking);
  out[8] = static_cast<std::byte>((options.tags ? 1U : 0U) | (options.statistics ? 2U : 0U) |
                                  (options.hardened ? 4U : 0U));
  out[10] = static_cast<std::byte>(options.search_limit & 0xFFU);
  out[11] = static_cast<std::byte>(options.search_limit >> 8);
  // HeapOptions::largest_block when it is not the default (the default is written 0)
  const std::uint32_t largest =
      options.largest_block == HeapOptions{}.largest_block ? 0U : options.largest_block;
  for (unsigned i = 0; i < 4; ++i) {
    out[12 + i] = static_cast<std::byte>((largest >> (8 * i)) & 0xFFU);
  }
}

/// Writes `value` as unsigned LEB128 at `out`; returns the end. At most 5 bytes.
inline std::byte* put_unsigned(std::byte* out, std::uint32_t value) {
  while (value >= 0x80U) {
    *out++ = static_cast<std::byte>(value | 0x80U);
    value >>= 7;
  }
  *out++ = static_cast<std::byte>(value);
  return out;
}

/// Writes `value` as unsigned LEB128 at `out`; returns the end. At most 10 bytes. Values that fit
/// 32 bits take the 32-bit loop (no 64-bit shifts on 32-bit targets).
inline std::byte* put_unsigned(std::byte* out, std::uint64_t value) {
  while ((value >> 32) != 0) {
    *out++ = static_cast<std::byte>(value | 0x80U);
    value >>= 7;
  }
  return put_unsigned(out, static_cast<std::uint32_t>(value));
}

/// Writes a size_t as unsigned LEB128 (whichever of the two widths it has on this target).
inline std::byte* put_size(std::byte* out, std::size_t value) {
  if constexpr (sizeof(std::size_t) > 4) {
    return put_unsigned(out, static_cast<std::uint64_t>(value));
  } else {
    return put_unsigned(out, static_cast<std::uint32_t>(value));
  }
}

/// Writes `value` in zigzag form as LEB128.
inline std::byte* put_signed(std::byte* out, std::int32_t value) {
  const auto bits = static_cast<std::uint32_t>(value);
  return put_unsigned(out, (bits << 1) ^ (value < 0 ? ~std::uint32_t{0} : 0));
}
inline std::byte* put_signed(std::byte* out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  return put_unsigned(out, (bits << 1) ^ (value < 0 ? ~std::uint64_t{0} : 0));
}

/// An address field's number: (address - last) modulo 2^64 read as signed, divided by 4. Both
/// are multiples of 4. On 32-bit targets the quotient fits 31 bits: 32-bit arithmetic.
inline std::byte* put_address_delta(std::byte* out, std::uintptr_t address, std::uintptr_t last) {
  if constexpr (sizeof(std::uintptr_t) == 4) {
    return put_signed(
        out, static_cast<std::int32_t>(address >> 2) - static_cast<std::int32_t>(last >> 2));
  } else {
    return put_signed(out, static_cast<std::int64_t>(address - last) / 4);
  }
}

/// A tag field's pointer difference: (file - last) modulo 2^64 read as signed. On 32-bit
/// targets it fits 33 bits; 32-bit arithmetic when it fits 32.
inline std::byte* put_tag_delta(std::byte* out, std::uintptr_t file, std::uintptr_t last) {
  if constexpr (sizeof(std::uintptr_t) == 4) {
    const std::uint32_t difference = file - last;
    const bool fits = (file >= last) == (static_cast<std::int32_t>(difference) >= 0);
    if (fits) {
      return put_signed(out, static_cast<std::int32_t>(difference));
    }
    return put_signed(out, static_cast<std::int64_t>(file) - static_cast<std::int64_t>(last));
  } else {
    return put_signed(out, static_cast<std::int64_t>(file - last));
  }
}

/// log2 of `align` for the align byte, or kRecordedBadAlign if it is not a power of two.
inline std::uint8_t align_byte(std::size_t align) {
  if (!is_power_of_two(align)) {
    return kRecordedBadAlign;
  }
  if constexpr (sizeof(std::size_t) > 4) {
    return static_cast<std::uint8_t>(__builtin_ctzll(align));
  } else {
    return static_cast<std::uint8_t>(__builtin_ctz(align));
  }
}

}  // namespace detail

/// Encodes heap calls as a recording (docs/recording.md) into a buffer of `kBufferBytes` and
/// hands full buffers, always whole records, to a Sink. Not synchronised: the heap's lock (or
/// one thread) orders its calls. All-zero until start(); constinit-able if the Sink is.
template <RecordingSink Sink, std::size_t kBufferBytes = 256>
class Recorder {
  static_assert(kBufferBytes >= 64 && kBufferBytes <= 0xFFFF,
                "the buffer must hold the header and a record, and fit a 16-bit count");

 public:
  constexpr Recorder() = default;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Starts a recording of a heap with `options`: hands any buffered bytes of an earlier
  /// recording to the sink, then buffers the 16-byte header. O(1).
  void start(const HeapOptions& options) {
    flush();
    detail::recording_header(options, buffer_);
    used_ = detail::kRecordingHeaderBytes;
    last_address_ = 0;
    last_tag_ = 0;
    records_ = 0;
    bytes_ = 0;
    recording_ = true;
  }

  /// Ends the recording: writes `E` and hands the buffer to the sink. Calls after it are not
  /// recorded. Nothing happens if not recording. O(1) plus the sink's write.
  void stop() {
    if (!recording_) {
      return;
    }
    std::byte* out = begin_record(RecordKind::end);
    finish_record(out);
    recording_ = false;
    flush();
  }

  /// Hands the buffered records to the sink now (e.g. before a reset or a long pause).
  void flush() {
    if (used_ != 0) {
      sink_.write(buffer_, used_);
      bytes_ += used_;
      used_ = 0;
    }
  }

  [[nodiscard]] bool recording() const { return recording_; }
  /// Records written since start(), E included.
  [[nodiscard]] std::uint32_t records() const { return records_; }
  /// Bytes of the recording so far, header and buffered bytes included.
  [[nodiscard]] std::size_t bytes() const { return bytes_ + used_; }
  /// Bytes waiting in the buffer for the next flush.
  [[nodiscard]] std::size_t buffered() const { return used_; }
  [[nodiscard]] Sink& sink() { return sink_; }

  /// An allocate (or try_allocate, or reallocate of null) that returned `result` (null: failed).
  void allocated(const void* result, std::size_t size, std::size_t align, AllocationTag tag) {
    std::byte* out = begin_record(RecordKind::allocate);
    out = put_address(out, result);
    out = detail::put_size(out, size);
    *out++ = static_cast<std::byte>(detail::align_byte(align));
    finish_record(put_tag(out, tag));
  }

  /// An allocate_zeroed of count × size that returned `result`.
  void allocated_zeroed(const void* result, std::size_t count, std::size_t size, std::size_t align,
                        AllocationTag tag) {
    std::byte* out = begin_record(RecordKind::allocate_zeroed);
    out = put_address(out, result);
    out = detail::put_size(out, count);
    out = detail::put_size(out, size);
    *out++ = static_cast<std::byte>(detail::align_byte(align));
    finish_record(put_tag(out, tag));
  }

  /// A reallocate of the live block `from` to `size` that returned `result` (null: failed, the
  /// block is unchanged).
  void reallocated(const void* from, const void* result, std::size_t size, std::size_t align,
                   AllocationTag tag) {
    std::byte* out = begin_record(RecordKind::reallocate);
    out = put_address(out, from);
    out = put_address(out, result);
    out = detail::put_size(out, size);
    *out++ = static_cast<std::byte>(detail::align_byte(align));
    finish_record(put_tag(out, tag));
  }

  /// A free of the live block `pointer`.
  void freed(const void* pointer) {
    finish_record(put_address(begin_record(RecordKind::free), pointer));
  }

 private:
  static std::uintptr_t number_of(const void* pointer) {
    return reinterpret_cast<std::uintptr_t>(pointer);
  }

  /// Makes room for the longest record (flushing whole records), writes the opcode.
  std::byte* begin_record(RecordKind kind) {
    if (used_ + detail::kMaxRecordBytes > kBufferBytes) {
      flush();
    }
    std::byte* out = buffer_ + used_;
    *out++ = static_cast<std::byte>(kind);
    return out;
  }
  void finish_record(const std::byte* end) {
    used_ = static_cast<std::uint16_t>(end - buffer_);
    ++records_;
  }

  /// An address field: the difference to the previous address field, in units of 4 bytes.
  std::byte* put_address(std::byte* out, const void* pointer) {
    const std::uintptr_t address = number_of(pointer);
    out = detail::put_address_delta(out, address, last_address_);
    last_address_ = address;
    return out;
  }

  /// A tag field: the pointer's difference to the previous tag's, then the line.
  std::byte* put_tag(std::byte* out, AllocationTag tag) {
    const std::uintptr_t file = number_of(tag.file);
    out = detail::put_tag_delta(out, file, last_tag_);
    last_tag_ = file;
    return detail::put_unsigned(out, static_cast<std::uint32_t>(tag.line));
  }

  Sink sink_{};
  std::uintptr_t last_address_ = 0;
  std::uintptr_t last_tag_ = 0;
  std::size_t bytes_ = 0;  ///< handed to the sink since start()
  std::uint32_t records_ = 0;
  std::uint16_t used_ = 0;
  bool recording_ = false;
  std::byte buffer_[kBufferBytes] = {};
};

/// A heap H that records its callers' calls while its recorder runs (start_recording() to
/// stop_recording()). Everything else of H (claim, statistics, walk, validate, dump, the OOM
/// policy...) is H's own, so that Locked<Recorded<H, Sink>, Lock> serves as the global heap
/// and with_lock() hands its function a heap with all of H's calls.
///
/// Why public inheritance with hiding, and not a forwarding wrapper: H has some twenty calls
/// besides the six recorded ones, and more may come; inherited, they all stay reachable without
/// a line here that could fall behind heap.hpp. The recorded calls hide H's of the same name
/// (H's are not virtual, and H's own code, such as allocate_zeroed calling allocate, keeps
/// calling H's, so nothing is recorded twice). The price: a call made through a reference to the
/// base H (or as `heap.H::free(p)`) is not recorded; so is a new allocating call added to H
/// until it is added here. Give code the Recorded heap (or the Locked one), never an H&.
///
/// Every recorded call costs H's call plus O(1): the record, and when the buffer is full one
/// sink write of at most kBufferBytes. Null, zero and oversize input behave as in H. IRQ-safe
/// when H's call and the sink's write are (under the heap's lock, as H's call is).
///
/// Recorded calls, and why each is recorded as it is (what a replay needs):
/// - allocate, try_allocate: A (a replay allocates; the OOM policy is the replay's business);
/// - allocate_zeroed: C, with count and size as asked (an overflowing product fails: address 0);
/// - reallocate: null pointer: A; size 0: F; else R with the result (0: failed, block kept);
/// - try_resize_in_place: when it succeeds, an R to the same address at kDefaultAlignment (the
///   block's own alignment is not known here; a replay whose heap cannot resize in place may
///   move it, as reallocate does); when it fails nothing changed and nothing is recorded;
/// - free: F; free(null) is not recorded.
/// With checking on, a free, reallocate or try_resize_in_place of a pointer that is not a live
/// block is reported through the fault hook once (by the check before the call; the call is
/// then not made) and is not recorded: the heap would have changed nothing either.
template <typename H, RecordingSink Sink, std::size_t kBufferBytes = 256>
class Recorded : public H {
 public:
  using Base = H;
  using RecorderType = Recorder<Sink, kBufferBytes>;
  using H::H;

  /// Starts recording: the header from H's options, then every call until stop_recording().
  /// Start it before the first allocation, or the recording frees blocks it never saw.
  void start_recording() {
    if constexpr (requires { H::options; }) {
      recorder_.start(H::options);
    } else {
      recorder_.start(HeapOptions{});
    }
  }
  /// Writes `E` and flushes. Calls after it are served and not recorded.
  void stop_recording() { recorder_.stop(); }
  [[nodiscard]] RecorderType& recorder() { return recorder_; }

  /// As H::allocate; recorded as A.
  [[nodiscard]] void* allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                               AllocationTag tag = AllocationTag::here()) {
    void* result = detail::allocate_tagged(base(), size, align, tag);
    if (recorder_.recording()) {
      recorder_.allocated(result, size, align, tag);
    }
    return result;
  }

  /// As H::try_allocate; recorded as A.
  [[nodiscard]] void* try_allocate(std::size_t size, std::size_t align = kDefaultAlignment,
                                   AllocationTag tag = AllocationTag::here()) {
    void* result = nullptr;
    if constexpr (requires { base().try_allocate(size, align, tag); }) {
      result = base().try_allocate(size, align, tag);
    } else {
      result = base().try_allocate(size, align);
    }
    if (recorder_.recording()) {
      recorder_.allocated(result, size, align, tag);
    }
    return result;
  }

  /// As H::allocate_zeroed; recorded as C.
  [[nodiscard]] void* allocate_zeroed(std::size_t count, std::size_t size,
                                      std::size_t align = kDefaultAlignment,
                                      AllocationTag tag = AllocationTag::here()) {
    void* result = nullptr;
    if constexpr (requires { base().allocate_zeroed(count, size, align, tag); }) {
      result = base().allocate_zeroed(count, size, align, tag);
    } else {
      result = base().allocate_zeroed(count, size, align);
    }
    if (recorder_.recording()) {
      recorder_.allocated_zeroed(result, count, size, align, tag);
    }
    return result;
  }

  /// As H::reallocate; recorded as A (null pointer), F (size 0) or R.
  [[nodiscard]] void* reallocate(void* pointer, std::size_t size,
                                 std::size_t align = kDefaultAlignment,
                                 AllocationTag tag = AllocationTag::here()) {
    if (!recorder_.recording()) {
      return detail::reallocate_tagged(base(), pointer, size, align, tag);
    }
    if (pointer != nullptr && !live(pointer)) {
      return nullptr;
    }
    void* result = detail::reallocate_tagged(base(), pointer, size, align, tag);
    if (pointer == nullptr) {
      recorder_.allocated(result, size, align, tag);
    } else if (size == 0) {
      recorder_.freed(pointer);
    } else {
      recorder_.reallocated(pointer, result, size, align, tag);
    }
    return result;
  }

  /// As H::try_resize_in_place; recorded as R to the same address when it succeeds.
  [[nodiscard]] bool try_resize_in_place(void* pointer, std::size_t size,
                                         AllocationTag tag = AllocationTag::here()) {
    if (!recorder_.recording()) {
      return base().try_resize_in_place(pointer, size, tag);
    }
    if (pointer != nullptr && !live(pointer)) {
      return false;
    }
    const bool resized = base().try_resize_in_place(pointer, size, tag);
    if (resized) {
      recorder_.reallocated(pointer, pointer, size, kDefaultAlignment, tag);
    }
    return resized;
  }

  /// As H::free; recorded as F unless `pointer` is null or not a live block.
  void free(void* pointer) {
    if (!recorder_.recording() || pointer == nullptr) {
      base().free(pointer);
      return;
    }
    if (!live(pointer)) {
      return;
    }
    base().free(pointer);
    recorder_.freed(pointer);
  }

 private:
  H& base() { return *this; }

  /// Whether the heap would accept `pointer` (not null) as a live block; if not, the heap has
  /// reported the fault. Heaps without checks accept everything, as their free does. O(1) but
  /// for a block of 0 bytes with Checking::full (whose usable size is the 0 asked for): O(blocks)
  /// then, and on a fault.
  bool live(void* pointer) {
    if constexpr (requires { H::options.checking; }) {
      if constexpr (H::options.checking == Checking::none) {
        return true;
      }
    }
    if (base().usable_size(pointer) != 0) {
      return true;
    }
    bool found = false;
    if constexpr (requires { H::options.checking; }) {
      if constexpr (H::options.checking >= Checking::full) {
        base().walk([pointer, &found](const auto& block) {
          found = found || (block.used && block.address == pointer);
        });
      }
    }
    return found;
  }

  RecorderType recorder_{};
};

}  // namespace keel
