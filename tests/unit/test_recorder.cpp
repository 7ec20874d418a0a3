// keel/recorder.hpp: the recording's bytes (docs/recording.md), read back by a decoder written
// here from the format's description alone, field by field.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/global.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "keel/recorder.hpp"
#include "support/host_tools.hpp"

namespace {

/// Keeps every write apart, to check where the recorder cut its buffers.
struct MemorySink {
  std::vector<std::vector<std::byte>>* writes = nullptr;
  void write(const std::byte* data, std::size_t size) { writes->emplace_back(data, data + size); }
};

// --- the test's decoder ---------------------------------------------------------------------

struct Header {
  unsigned version = 0;
  unsigned pointer_bytes = 0;
  unsigned default_align_log2 = 0;
  unsigned checking = 0;
  unsigned flags = 0;
  unsigned search_limit = 0;
  std::uint32_t largest_block = 0;  // 0: the default
};

struct Record {
  char kind = 0;
  std::uint64_t from = 0;  // R: the block reallocated
  std::uint64_t address = 0;
  std::uint64_t count = 0;  // C
  std::uint64_t size = 0;
  unsigned align_log2 = 0;
  std::uint64_t tag = 0;
  std::uint32_t line = 0;
};

class Decoder {
 public:
  explicit Decoder(const std::vector<std::byte>& bytes) : bytes_(bytes) {}

  bool header(Header& out) {
    if (bytes_.size() < 16 || std::memcmp(bytes_.data(), "KREC", 4) != 0) {
      return false;
    }
    const auto at = [this](std::size_t i) { return std::to_integer<unsigned>(bytes_[i]); };
    out.version = at(4);
    out.pointer_bytes = at(5);
    out.default_align_log2 = at(6);
    out.checking = at(7);
    out.flags = at(8);
    out.search_limit = at(10) | (at(11) << 8U);
    out.largest_block = at(12) | (at(13) << 8U) | (at(14) << 16U) | (at(15) << 24U);
    const bool zeros = at(9) == 0;
    position_ = 16;
    return zeros;
  }

  /// The next record, or nothing at the end of the bytes; `bad` is set on a malformed one.
  std::optional<Record> next() {
    if (position_ >= bytes_.size()) {
      return std::nullopt;
    }
    Record record;
    record.kind = static_cast<char>(bytes_[position_++]);
    switch (record.kind) {
      case 'A':
        record.address = address();
        record.size = unsigned_number();
        align_and_tag(record);
        break;
      case 'C':
        record.address = address();
        record.count = unsigned_number();
        record.size = unsigned_number();
        align_and_tag(record);
        break;
      case 'R':
        record.from = address();
        record.address = address();
        record.size = unsigned_number();
        align_and_tag(record);
        break;
      case 'F': record.address = address(); break;
      case 'E': break;
      default: bad = true; return std::nullopt;
    }
    if (position_ > bytes_.size()) {
      bad = true;
      return std::nullopt;
    }
    return record;
  }

  [[nodiscard]] std::size_t position() const { return position_; }
  bool bad = false;

 private:
  std::uint64_t unsigned_number() {
    std::uint64_t value = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
      if (position_ >= bytes_.size()) {
        bad = true;
        ++position_;
        return 0;
      }
      const auto byte = std::to_integer<std::uint64_t>(bytes_[position_++]);
      value |= (byte & 0x7FU) << shift;
      if ((byte & 0x80U) == 0) {
        return value;
      }
    }
    bad = true;
    return value;
  }
  std::uint64_t signed_number() {  // zigzag, as a difference modulo 2^64
    const std::uint64_t zigzag = unsigned_number();
    return (zigzag >> 1) ^ (0 - (zigzag & 1));
  }
  std::uint64_t address() {
    last_address_ += signed_number() * 4;
    return last_address_;
  }
  void align_and_tag(Record& record) {
    record.align_log2 =
        position_ < bytes_.size() ? std::to_integer<unsigned>(bytes_[position_]) : 0;
    ++position_;
    last_tag_ += signed_number();
    record.tag = last_tag_;
    record.line = static_cast<std::uint32_t>(unsigned_number());
  }

  const std::vector<std::byte>& bytes_;
  std::size_t position_ = 0;
  std::uint64_t last_address_ = 0;
  std::uint64_t last_tag_ = 0;
};

/// `pointer`, hidden from the optimiser (which would otherwise see keel read in front of a
/// stack object when it checks a foreign pointer, and warn).
template <typename T>
T* opaque(T* pointer) {
  asm volatile("" : "+r"(pointer));
  return pointer;
}

std::uint64_t number(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

unsigned log2_of(std::size_t value) {
  unsigned log2 = 0;
  while ((value >>= 1) != 0) {
    ++log2;
  }
  return log2;
}

// --- fixtures ---------------------------------------------------------------------------------

constexpr std::size_t kArenaBytes = 64 * 1024;

template <keel::HeapOptions kOptions = keel::HeapOptions{.tags = true},
          std::size_t kBufferBytes = 256>
struct Recording {
  using RecordedHeap =
      keel::Recorded<keel::Heap<keel::FailOnOom, kOptions>, MemorySink, kBufferBytes>;
  std::vector<std::vector<std::byte>> writes;
  std::unique_ptr<std::byte[]> arena = std::make_unique<std::byte[]>(kArenaBytes);
  std::unique_ptr<RecordedHeap> heap = std::make_unique<RecordedHeap>();

  Recording() {
    heap->recorder().sink().writes = &writes;
    EXPECT_TRUE(heap->claim(keel::Span{arena.get(), kArenaBytes}).ok());
  }
  [[nodiscard]] std::vector<std::byte> bytes() const {
    std::vector<std::byte> all;
    for (const auto& write : writes) {
      all.insert(all.end(), write.begin(), write.end());
    }
    return all;
  }
  /// Every record of the stream, which must be well formed and end with E.
  [[nodiscard]] std::vector<Record> records(Header* header = nullptr) const {
    const std::vector<std::byte> all = bytes();
    Decoder decoder(all);
    Header read;
    EXPECT_TRUE(decoder.header(read));
    if (header != nullptr) {
      *header = read;
    }
    std::vector<Record> result;
    while (auto record = decoder.next()) {
      result.push_back(*record);
    }
    EXPECT_FALSE(decoder.bad) << "malformed record at byte " << decoder.position();
    EXPECT_FALSE(result.empty());
    if (!result.empty()) {
      EXPECT_EQ(result.back().kind, 'E');
    }
    return result;
  }
};

// --- tests ------------------------------------------------------------------------------------

TEST(Recorder, HeaderSaysTheHeapsOptionsAndTheTarget) {
  constexpr keel::HeapOptions kOptions{.statistics = false,
                                       .checking = keel::Checking::full,
                                       .search_limit = 0x1234,
                                       .tags = true,
                                       .hardened = true};
  Recording<kOptions> recording;
  recording.heap->start_recording();
  EXPECT_TRUE(recording.writes.empty()) << "the header waits in the buffer";
  recording.heap->stop_recording();
  ASSERT_EQ(recording.writes.size(), 1U);
  const std::vector<std::byte> bytes = recording.bytes();
  ASSERT_EQ(bytes.size(), 17U);
  const unsigned char expected[17] = {
      'K',
      'R',
      'E',
      'C',
      1,
      sizeof(void*),
      static_cast<unsigned char>(log2_of(alignof(std::max_align_t))),
      2,
      1 | 4,
      0,
      0x34,
      0x12,
      0,
      0,
      0,
      0,
      'E'};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    EXPECT_EQ(std::to_integer<unsigned>(bytes[i]), expected[i]) << "byte " << i;
  }
  Header header;
  (void)recording.records(&header);
  EXPECT_EQ(header.version, 1U);
  EXPECT_EQ(header.pointer_bytes, sizeof(void*));
  EXPECT_EQ(header.search_limit, 0x1234U);
}

TEST(Recorder, DefaultOptionsHeader) {
  Recording<keel::HeapOptions{}> recording;
  recording.heap->start_recording();
  recording.heap->stop_recording();
  Header header;
  (void)recording.records(&header);
  EXPECT_EQ(header.checking, 1U);  // basic
  EXPECT_EQ(header.flags, 2U);     // statistics only
  EXPECT_EQ(header.search_limit, 0U);
  EXPECT_EQ(header.default_align_log2, log2_of(keel::kDefaultAlignment));
}

TEST(Recorder, HeaderNamesALargestBlockThatIsNotTheDefault) {
  constexpr keel::HeapOptions kSmall{.largest_block = 64 * 1024};
  Recording<kSmall> recording;
  recording.heap->start_recording();
  recording.heap->stop_recording();
  Header header;
  (void)recording.records(&header);
  EXPECT_EQ(header.largest_block, 64U * 1024U);
  const std::vector<std::byte> bytes = recording.bytes();
  ASSERT_GE(bytes.size(), 16U);
  EXPECT_EQ(std::to_integer<unsigned>(bytes[14]), 1U) << "little-endian 0x00010000";

  Recording<keel::HeapOptions{}> plain;
  plain.heap->start_recording();
  plain.heap->stop_recording();
  (void)plain.records(&header);
  EXPECT_EQ(header.largest_block, 0U) << "the default is written 0";
}

TEST(Recorder, EveryCallWithItsFields) {
  Recording<> recording;
  auto& heap = *recording.heap;
  void* before = heap.allocate(40);  // before start: served, not recorded
  heap.start_recording();
  const keel::AllocationTag here{"file.cpp", 77};
  const keel::AllocationTag code = keel::AllocationTag::code(reinterpret_cast<const void*>(0x1235));
  void* a = heap.allocate(100, 8, here);
  void* b = heap.allocate_zeroed(10, 12, 16, code);
  void* c = heap.try_allocate(24, 64, here);
  void* grown = heap.reallocate(a, 300, 8, code);
  void* failed = heap.allocate(kArenaBytes * 2, 8, here);
  void* huge_zeroed = heap.allocate_zeroed(SIZE_MAX / 2, 3, 8, here);  // the product overflows
  void* from_null = heap.reallocate(nullptr, 33, 8, here);
  void* not_grown = heap.reallocate(grown, kArenaBytes * 2, 8, here);
  heap.free(nullptr);
  heap.free(b);
  EXPECT_EQ(heap.reallocate(c, 0, 64, here), nullptr);
  EXPECT_TRUE(heap.try_resize_in_place(from_null, 16, code));
  (void)heap.usable_size(grown);
  (void)heap.statistics();
  heap.free(grown);
  heap.free(from_null);
  heap.stop_recording();
  heap.free(before);  // after stop: not recorded
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(failed, nullptr);
  EXPECT_EQ(huge_zeroed, nullptr);
  EXPECT_EQ(not_grown, nullptr);

  const std::vector<Record> records = recording.records();
  ASSERT_EQ(records.size(), 14U);
  const auto expect_record = [&](std::size_t i, char kind, const void* address, std::size_t size,
                                 std::size_t align, keel::AllocationTag tag) {
    SCOPED_TRACE(i);
    EXPECT_EQ(records[i].kind, kind);
    EXPECT_EQ(records[i].address, number(address));
    EXPECT_EQ(records[i].size, size);
    EXPECT_EQ(records[i].align_log2, log2_of(align));
    EXPECT_EQ(records[i].tag, number(tag.file));
    EXPECT_EQ(records[i].line, tag.line);
  };
  expect_record(0, 'A', a, 100, 8, here);
  expect_record(1, 'C', b, 12, 16, code);
  EXPECT_EQ(records[1].count, 10U);
  EXPECT_EQ(records[1].line, 0U) << "a code address has line 0";
  expect_record(2, 'A', c, 24, 64, here);
  expect_record(3, 'R', grown, 300, 8, code);
  EXPECT_EQ(records[3].from, number(a));
  expect_record(4, 'A', nullptr, kArenaBytes * 2, 8, here);
  expect_record(5, 'C', nullptr, 3, 8, here);
  EXPECT_EQ(records[5].count, SIZE_MAX / 2);
  expect_record(6, 'A', from_null, 33, 8, here);  // realloc(null, n)
  expect_record(7, 'R', nullptr, kArenaBytes * 2, 8, here);
  EXPECT_EQ(records[7].from, number(grown));
  EXPECT_EQ(records[8].kind, 'F');  // free(null) was not recorded
  EXPECT_EQ(records[8].address, number(b));
  EXPECT_EQ(records[9].kind, 'F');  // realloc(p, 0)
  EXPECT_EQ(records[9].address, number(c));
  expect_record(10, 'R', from_null, 16, keel::kDefaultAlignment, code);  // resized in place
  EXPECT_EQ(records[10].from, number(from_null));
  EXPECT_EQ(records[11].kind, 'F');
  EXPECT_EQ(records[11].address, number(grown));
  EXPECT_EQ(records[12].kind, 'F');
  EXPECT_EQ(records[12].address, number(from_null));
  EXPECT_EQ(records[13].kind, 'E');
  EXPECT_EQ(heap.recorder().records(), 14U) << "13 calls and E";
  EXPECT_EQ(heap.recorder().bytes(), recording.bytes().size());
  EXPECT_TRUE(heap.validate().ok());
}

TEST(Recorder, FailedResizeInPlaceAndBadAlignment) {
  Recording<> recording;
  auto& heap = *recording.heap;
  heap.start_recording();
  void* a = heap.allocate(16, 8);
  void* wall = heap.allocate(16, 8);  // a cannot grow in place past it
  EXPECT_FALSE(heap.try_resize_in_place(a, 4000));
  EXPECT_EQ(heap.allocate(16, 24), nullptr);  // not a power of two
  heap.free(wall);
  heap.free(a);
  heap.stop_recording();
  const std::vector<Record> records = recording.records();
  ASSERT_EQ(records.size(), 6U);
  EXPECT_EQ(records[0].kind, 'A');
  EXPECT_EQ(records[1].kind, 'A');
  EXPECT_EQ(records[2].kind, 'A') << "the failed resize is not recorded";
  EXPECT_EQ(records[2].address, 0U);
  EXPECT_EQ(records[2].align_log2, 0xFFU) << "an alignment that is not a power of two";
  EXPECT_EQ(records[3].kind, 'F');
  EXPECT_EQ(records[4].kind, 'F');
}

TEST(Recorder, FaultsAreReportedOnceAndNotRecorded) {
  static unsigned faults = 0;
  faults = 0;
  const keel::FaultHandler previous = keel::set_fault_handler(
      [](keel::Fault /*fault*/, const void* /*address*/) noexcept { ++faults; });
  {
    Recording<> recording;
    auto& heap = *recording.heap;
    heap.start_recording();
    void* a = heap.allocate(64);
    long outside = 0;
    heap.free(opaque(&outside));
    EXPECT_EQ(heap.reallocate(opaque(&outside), 100), nullptr);
    EXPECT_FALSE(heap.try_resize_in_place(opaque(&outside), 8));
    EXPECT_EQ(faults, 3U) << "each bad pointer reported once";
    if (!keel::test::host_tool_watching()) {  // a double free is the tools' own report there
      void* b = heap.allocate(64);
      heap.free(b);
      heap.free(b);
      EXPECT_EQ(faults, 4U);
    }
    heap.free(a);
    heap.stop_recording();
    const std::vector<Record> records = recording.records();
    std::size_t frees = 0;
    for (const Record& record : records) {
      frees += record.kind == 'F' ? 1 : 0;
      EXPECT_NE(record.address, number(&outside));
    }
    EXPECT_EQ(frees, keel::test::host_tool_watching() ? 1U : 2U);
    EXPECT_TRUE(heap.validate().ok());
  }
  keel::set_fault_handler(previous);
}

TEST(Recorder, ZeroByteBlocksWithFullChecking) {
  // usable_size of a 0-byte block is 0 with Checking::full: it must still be recorded as freed.
  Recording<keel::HeapOptions{.checking = keel::Checking::full}> recording;
  auto& heap = *recording.heap;
  heap.start_recording();
  void* empty = heap.allocate(0);
  ASSERT_NE(empty, nullptr);
  void* moved = heap.reallocate(empty, 0);
  EXPECT_EQ(moved, nullptr);
  void* again = heap.allocate(0);
  heap.free(again);
  heap.stop_recording();
  const std::vector<Record> records = recording.records();
  ASSERT_EQ(records.size(), 5U);
  EXPECT_EQ(records[1].kind, 'F');
  EXPECT_EQ(records[1].address, number(empty));
  EXPECT_EQ(records[3].kind, 'F');
  EXPECT_EQ(records[3].address, number(again));
  EXPECT_EQ(heap.statistics().live_allocations, 0U);
}

TEST(Recorder, BuffersHoldWholeRecords) {
  Recording<keel::HeapOptions{.tags = true}, 64> recording;
  auto& heap = *recording.heap;
  heap.start_recording();
  std::vector<void*> blocks;
  std::uint32_t state = 0x12345678;
  for (int step = 0; step < 2000; ++step) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    if (blocks.size() > 40 || (!blocks.empty() && state % 3 == 0)) {
      const std::size_t i = state % blocks.size();
      if (state % 5 == 0) {
        blocks[i] =
            heap.reallocate(blocks[i], 8 + state % 1000, 8, keel::AllocationTag{"far.cpp", state});
        if (blocks[i] != nullptr) {
          continue;
        }
      } else {
        heap.free(blocks[i]);
      }
      blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      blocks.push_back(heap.allocate_zeroed(1 + state % 7, 1 + state % 300, 8,
                                            keel::AllocationTag::code(&blocks)));
    }
  }
  for (void* block : blocks) {
    heap.free(block);
  }
  heap.stop_recording();
  ASSERT_GT(recording.writes.size(), 100U);
  // Each write decodes on its own (continuing the stream's state): a record never straddles two.
  std::vector<std::byte> so_far;
  std::size_t records = 0;
  for (const auto& write : recording.writes) {
    EXPECT_LE(write.size(), 64U);
    so_far.insert(so_far.end(), write.begin(), write.end());
    Decoder decoder(so_far);
    Header header;
    ASSERT_TRUE(decoder.header(header));
    std::size_t count = 0;
    while (decoder.next()) {
      ++count;
    }
    ASSERT_FALSE(decoder.bad) << "a record is cut at byte " << so_far.size();
    ASSERT_EQ(decoder.position(), so_far.size());
    records = count;
  }
  EXPECT_EQ(records, heap.recorder().records());
  // Replaying the stream gives back a consistent live set: every F and R names a live block.
  std::vector<std::uint64_t> live;
  for (const Record& record : recording.records()) {
    const auto forget = [&live](std::uint64_t address) {
      for (auto& held : live) {
        if (held == address) {
          held = live.back();
          live.pop_back();
          return true;
        }
      }
      return false;
    };
    if (record.kind == 'F') {
      EXPECT_TRUE(forget(record.address));
    } else if (record.kind == 'R') {
      EXPECT_TRUE(forget(record.from));
      live.push_back(record.address != 0 ? record.address : record.from);
    } else if ((record.kind == 'A' || record.kind == 'C') && record.address != 0) {
      live.push_back(record.address);
    }
  }
  EXPECT_TRUE(live.empty());
}

TEST(Recorder, FarAddressesAndTagsInBothDirections) {
  // The encoder alone, with addresses and tags far apart both ways (the longest numbers).
  std::vector<std::vector<std::byte>> writes;
  keel::Recorder<MemorySink, 64> recorder;
  recorder.sink().writes = &writes;
  recorder.start(keel::HeapOptions{});
  const std::uintptr_t high = ~std::uintptr_t{0} - 7;  // the highest multiple of 8
  const auto* high_pointer = reinterpret_cast<const void*>(high);
  const auto* low_pointer = reinterpret_cast<const void*>(std::uintptr_t{8});
  const keel::AllocationTag high_tag{reinterpret_cast<const char*>(~std::uintptr_t{0}), UINT32_MAX};
  recorder.allocated(high_pointer, SIZE_MAX, std::size_t{1} << 31, high_tag);
  recorder.reallocated(high_pointer, low_pointer, 1, 1, keel::AllocationTag{});
  recorder.allocated_zeroed(high_pointer, SIZE_MAX, SIZE_MAX, 8, high_tag);
  recorder.freed(low_pointer);
  recorder.stop();
  std::vector<std::byte> all;
  for (const auto& write : writes) {
    EXPECT_LE(write.size(), 64U);
    all.insert(all.end(), write.begin(), write.end());
  }
  Decoder decoder(all);
  Header header;
  ASSERT_TRUE(decoder.header(header));
  std::vector<Record> records;
  while (auto record = decoder.next()) {
    records.push_back(*record);
  }
  ASSERT_FALSE(decoder.bad);
  ASSERT_EQ(records.size(), 5U);
  // Addresses and tags read back modulo the pointer width.
  const std::uint64_t mask = sizeof(void*) == 8 ? ~std::uint64_t{0} : 0xFFFFFFFFU;
  EXPECT_EQ(records[0].address & mask, high);
  EXPECT_EQ(records[0].size, SIZE_MAX);
  EXPECT_EQ(records[0].align_log2, 31U);
  EXPECT_EQ(records[0].tag & mask, number(high_tag.file));
  EXPECT_EQ(records[0].line, UINT32_MAX);
  EXPECT_EQ(records[1].from & mask, high);
  EXPECT_EQ(records[1].address & mask, 8U);
  EXPECT_EQ(records[1].tag & mask, 0U);
  EXPECT_EQ(records[2].address & mask, high);
  EXPECT_EQ(records[2].count, SIZE_MAX);
  EXPECT_EQ(records[3].address & mask, 8U);
  EXPECT_EQ(records[4].kind, 'E');
}

TEST(Recorder, StartAgainBeginsANewStream) {
  Recording<> recording;
  auto& heap = *recording.heap;
  heap.start_recording();
  heap.free(heap.allocate(10));
  heap.stop_recording();
  const std::size_t first = recording.bytes().size();
  heap.start_recording();
  void* block = heap.allocate(10);
  heap.stop_recording();
  heap.free(block);
  const std::vector<std::byte> all = recording.bytes();
  const std::vector<std::byte> second(all.begin() + static_cast<std::ptrdiff_t>(first), all.end());
  Decoder decoder(second);
  Header header;
  ASSERT_TRUE(decoder.header(header));
  const auto record = decoder.next();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->address, number(block)) << "the address delta starts from 0 again";
  EXPECT_EQ(decoder.next()->kind, 'E');
  EXPECT_FALSE(decoder.next().has_value());
}

TEST(Recorder, LockedRecordedIsAGlobalHeapObject) {
  using Shared = keel::Locked<
      keel::Recorded<keel::Heap<keel::FailOnOom, keel::HeapOptions{.tags = true}>, MemorySink>,
      keel::NoLock>;
  static_assert(keel::GlobalHeapObject<Shared>);
  std::vector<std::vector<std::byte>> writes;
  auto arena = std::make_unique<std::byte[]>(kArenaBytes);
  auto shared = std::make_unique<Shared>();
  shared->with_lock([&](auto& heap) {
    heap.recorder().sink().writes = &writes;
    EXPECT_TRUE(heap.claim(keel::Span{arena.get(), kArenaBytes}).ok());
    heap.start_recording();
    return 0;
  });
  const keel::AllocationTag tag{"here.cpp", 5};
  void* block = shared->allocate(50, 8, tag);
  void* zeroed = shared->allocate_zeroed(2, 8, 8, tag);
  block = shared->reallocate(block, 500, 8, tag);
  shared->free(block);
  shared->free(zeroed);
  EXPECT_EQ(shared->statistics().live_allocations, 0U);
  shared->with_lock([](auto& heap) {
    heap.stop_recording();
    return heap.validate().ok();
  });
  std::vector<std::byte> all;
  for (const auto& write : writes) {
    all.insert(all.end(), write.begin(), write.end());
  }
  Decoder decoder(all);
  Header header;
  ASSERT_TRUE(decoder.header(header));
  std::string kinds;
  while (auto record = decoder.next()) {
    kinds += record->kind;
    if (record->kind != 'F' && record->kind != 'E') {
      EXPECT_EQ(record->line, 5U);
    }
  }
  EXPECT_EQ(kinds, "ACRFFE");
}

// constinit: a recorded heap is constant-initialised, and its recorder is all zero until start.
struct NullSink {
  void write(const std::byte* /*data*/, std::size_t /*size*/) {}
};
constinit keel::Locked<keel::Recorded<keel::Heap<keel::ClaimOnOom>, NullSink>, keel::NoLock>
    g_constinit_heap{keel::ClaimOnOom{}};

TEST(Recorder, ConstinitAndAllZeroUntilStarted) {
  auto& recorder = g_constinit_heap.unlocked().recorder();
  EXPECT_FALSE(recorder.recording());
  const auto* bytes = reinterpret_cast<const unsigned char*>(&recorder);
  for (std::size_t i = 0; i < sizeof(recorder); ++i) {
    ASSERT_EQ(bytes[i], 0U) << "byte " << i;
  }
}

}  // namespace
