// Checking::full and ::debug, hardened links, tags with the leak report, and the histogram.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "keel/heap.hpp"
#include "support/host_tools.hpp"

namespace {

using keel::Checking;
using keel::FailOnOom;
using keel::Fault;
using keel::Heap;
using keel::HeapOptions;
using keel::Span;

struct Recorded {
  Fault fault;
  const void* address;
  keel::AllocationTag origin;
};
std::vector<Recorded> g_faults;
void record_fault(Fault fault, const void* address) noexcept {
  g_faults.push_back({fault, address, keel::fault_origin()});
}

/// The address `bytes` before `pointer`, hidden from the compiler's bounds analysis: these tests
/// write into keel's metadata on purpose.
std::byte* before(void* pointer, std::size_t bytes) {
  auto* result = static_cast<std::byte*>(pointer);
  asm volatile("" : "+r"(result));
  return result - bytes;
}

template <typename HeapT>
class Checked : public ::testing::Test {
 protected:
  void SetUp() override {
    KEEL_SKIP_UNDER_HOST_TOOLS();
    g_faults.clear();
    previous_ = keel::set_fault_handler(&record_fault);
    arena_ = std::make_unique<std::byte[]>(kBytes);
    heap_ = std::make_unique<HeapT>();
    ASSERT_TRUE(heap_->claim(Span{arena_.get(), kBytes}));
  }
  void TearDown() override { keel::set_fault_handler(previous_); }
  static constexpr std::size_t kBytes = 32 * 1024;
  keel::FaultHandler previous_ = nullptr;
  std::unique_ptr<std::byte[]> arena_;
  std::unique_ptr<HeapT> heap_;
};

using FullTagged = Heap<FailOnOom, HeapOptions{.checking = Checking::full, .tags = true}>;
using Full = Heap<FailOnOom, HeapOptions{.checking = Checking::full}>;
using Debug = Heap<FailOnOom, HeapOptions{.checking = Checking::debug}>;
using Hardened = Heap<FailOnOom, HeapOptions{.hardened = true}>;

using FullTaggedTest = Checked<FullTagged>;
using FullTest = Checked<Full>;
using DebugTest = Checked<Debug>;
using HardenedTest = Checked<Hardened>;

TEST_F(FullTaggedTest, OverrunOfOneBytePastTheRequestIsReportedWithTheOrigin) {
  for (std::size_t size : {1U, 7U, 12U, 13U, 100U, 1000U}) {
    g_faults.clear();
    auto* block = static_cast<unsigned char*>(heap_->allocate(size));
    const unsigned line = __LINE__ - 1;
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(heap_->usable_size(block), size);  // exactly the request: the rest is checked
    std::memset(block, 1, size);
    const unsigned char saved = block[size];
    block[size] = static_cast<unsigned char>(saved ^ 0x55);  // one byte too many
    heap_->free(block);
    ASSERT_EQ(g_faults.size(), 1U) << size;
    EXPECT_EQ(g_faults[0].fault, Fault::buffer_overrun) << keel::to_string(g_faults[0].fault);
    EXPECT_EQ(g_faults[0].address, block);
    EXPECT_EQ(g_faults[0].origin.line, line);
    EXPECT_NE(std::string(g_faults[0].origin.file).find("test_checking.cpp"), std::string::npos);
    // The block was not freed; undo the damage, and it frees cleanly.
    block[size] = saved;
    g_faults.clear();
    heap_->free(block);
    EXPECT_TRUE(g_faults.empty());
  }
  EXPECT_TRUE(heap_->validate());
}

TEST_F(FullTest, OverwrittenHeaderIsReported) {
  auto* a = static_cast<std::byte*>(heap_->allocate(40, 8));
  auto* b = static_cast<std::byte*>(heap_->allocate(40, 8));
  std::uint32_t header;
  std::memcpy(&header, before(b, 4), 4);
  const std::uint32_t damaged = header ^ 0x10;  // a different size, still "used"
  std::memcpy(before(b, 4), &damaged, 4);
  heap_->free(b);
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_NE(g_faults[0].fault, Fault::double_free);
  EXPECT_FALSE(heap_->validate());
  std::memcpy(before(b, 4), &header, 4);
  g_faults.clear();
  heap_->free(b);
  heap_->free(a);
  EXPECT_TRUE(g_faults.empty());
  EXPECT_TRUE(heap_->validate());
}

TEST_F(FullTest, WriteAfterFreeIsReportedWhenTheMemoryIsReused) {
  auto* block = static_cast<unsigned char*>(heap_->allocate(200, 8));
  void* guard = heap_->allocate(16, 8);  // keeps the freed block from merging to the right
  heap_->free(block);
  EXPECT_TRUE(heap_->validate());
  block[100] = 0x42;  // a stale pointer writes into freed memory
  const auto found = heap_->validate();
  EXPECT_EQ(found.kind, keel::Violation::free_block_written) << keel::to_string(found.kind);
  void* again = heap_->allocate(200, 8);  // the same memory, handed out again
  EXPECT_EQ(again, block);
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::write_after_free);
  EXPECT_EQ(g_faults[0].address, block + 100);
  heap_->free(again);
  heap_->free(guard);
}

TEST_F(FullTest, ReallocateKeepsTheChecksRight) {
  auto* block = static_cast<unsigned char*>(heap_->allocate(10, 8));
  std::memset(block, 3, 10);
  block = static_cast<unsigned char*>(heap_->reallocate(block, 300, 8));  // grows in place
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(heap_->usable_size(block), 300U);
  std::memset(block, 4, 300);
  block = static_cast<unsigned char*>(heap_->reallocate(block, 20, 8));  // shrinks in place
  EXPECT_EQ(heap_->usable_size(block), 20U);
  EXPECT_TRUE(heap_->validate());
  const unsigned char saved = block[20];
  block[20] = static_cast<unsigned char>(saved + 1);
  EXPECT_EQ(heap_->reallocate(block, 30, 8), nullptr);  // the overrun is found first
  ASSERT_EQ(g_faults.size(), 1U);
  EXPECT_EQ(g_faults[0].fault, Fault::buffer_overrun);
  block[20] = saved;
  heap_->free(block);
  EXPECT_EQ(g_faults.size(), 1U);
}

TEST_F(DebugTest, CorruptionIsReportedAtTheNextOperation) {
  auto* a = static_cast<std::byte*>(heap_->allocate(64, 8));
  auto* b = static_cast<std::byte*>(heap_->allocate(64, 8));
  heap_->free(b);
  ASSERT_TRUE(g_faults.empty());
  std::memset(b + 40, 0, 4);  // scribble on the free block's fill, past the next block's links
  void* c = heap_->allocate(8, 8);  // unrelated; the validate() after it finds the damage
  EXPECT_FALSE(g_faults.empty());
  EXPECT_EQ(g_faults.back().fault, Fault::corrupted_block);
  (void)a;
  (void)c;
}

TEST_F(HardenedTest, LinksAreStoredMangled) {
  auto* a = static_cast<std::byte*>(heap_->allocate(64, 8));
  auto* b = static_cast<std::byte*>(heap_->allocate(64, 8));
  auto* c = static_cast<std::byte*>(heap_->allocate(64, 8));
  void* d = heap_->allocate(64, 8);
  heap_->free(a);
  heap_->free(c);  // a and c in the same bin: c's next link names a
  std::uint32_t next_of_c;
  std::memcpy(&next_of_c, c, 4);  // the word after c's header: its next link
  EXPECT_NE(next_of_c, 0U);
  const std::uint32_t true_link = static_cast<std::uint32_t>(
      (reinterpret_cast<std::uintptr_t>(a - 4) - reinterpret_cast<std::uintptr_t>(c - 4)) >> 3);
  (void)true_link;
  // Mangled: the stored word is not a plausible plain offset between two nearby blocks.
  std::uint32_t prev_of_c;
  std::memcpy(&prev_of_c, c + 4, 4);
  EXPECT_NE(prev_of_c, 0U) << "a null link is stored mangled too";
  EXPECT_TRUE(heap_->validate());
  heap_->free(b);
  heap_->free(d);
  EXPECT_TRUE(g_faults.empty());
}

TEST_F(HardenedTest, AnOverwrittenLinkCannotSteerAllocation) {
  auto* a = static_cast<std::byte*>(heap_->allocate(64, 8));
  auto* b = static_cast<std::byte*>(heap_->allocate(64, 8));
  auto* c = static_cast<std::byte*>(heap_->allocate(64, 8));
  void* d = heap_->allocate(64, 8);
  heap_->free(a);
  heap_->free(c);
  // An overflow out of b rewrites c's links (c is free, right after b).
  std::uint64_t target = 0;
  std::memset(c, 0x41, 8);
  heap_->free(b);  // b merges with its free neighbours: unlinking c finds the broken link
  ASSERT_FALSE(g_faults.empty());
  EXPECT_EQ(g_faults[0].fault, Fault::corrupted_block);
  g_faults.clear();
  EXPECT_EQ(heap_->allocate(64, 8), nullptr);  // the heap refuses to go on
  EXPECT_EQ(heap_->allocate(8, 8), nullptr);
  (void)target;
  (void)d;
}

TEST(Tags, LeakReportGroupsBySite) {
  auto arena = std::make_unique<std::byte[]>(32 * 1024);
  Heap<FailOnOom, HeapOptions{.tags = true}> heap;
  ASSERT_TRUE(heap.claim(Span{arena.get(), 32 * 1024}));
  std::vector<void*> blocks;
  for (int i = 0; i < 3; ++i) {
    blocks.push_back(heap.allocate(100));  // site A
  }
  const unsigned site_a = __LINE__ - 2;
  blocks.push_back(heap.allocate(40));  // site B
  const unsigned site_b = __LINE__ - 1;
  void* freed = heap.allocate(10);
  heap.free(freed);
  std::string report;
  const std::size_t live = heap.leak_report(
      [&report](const char* text, std::size_t length) { report.append(text, length); });
  EXPECT_EQ(live, 4U);
  EXPECT_NE(report.find("4 live block(s) from 2 site(s)"), std::string::npos) << report;
  EXPECT_NE(report.find("3 block(s), " + std::to_string(3 * heap.usable_size(blocks[0])) + " B  " +
                        __FILE__ + ":" + std::to_string(site_a)),
            std::string::npos)
      << report;
  EXPECT_NE(report.find(std::string(__FILE__) + ":" + std::to_string(site_b)), std::string::npos)
      << report;
  for (void* block : blocks) {
    heap.free(block);
  }
  report.clear();
  EXPECT_EQ(heap.leak_report(
                [&report](const char* text, std::size_t length) { report.append(text, length); }),
            0U);
  EXPECT_NE(report.find("0 live block(s)"), std::string::npos);
}

TEST(Tags, WithoutTagsTheReportStillListsBlocks) {
  auto arena = std::make_unique<std::byte[]>(8 * 1024);
  Heap<> heap;
  ASSERT_TRUE(heap.claim(Span{arena.get(), 8 * 1024}));
  void* block = heap.allocate(50);
  std::string report;
  EXPECT_EQ(heap.leak_report(
                [&report](const char* text, std::size_t length) { report.append(text, length); }),
            1U);
  EXPECT_NE(report.find("1 block(s)"), std::string::npos) << report;
  EXPECT_NE(report.find("unknown"), std::string::npos) << report;
  heap.free(block);
}

TEST(Histogram, CountsRequestsAndFailuresBySizeClass) {
  auto arena = std::make_unique<std::byte[]>(8 * 1024);
  Heap<FailOnOom, HeapOptions{.histogram = true}> heap;
  ASSERT_TRUE(heap.claim(Span{arena.get(), 8 * 1024}));
  void* blocks[3] = {heap.allocate(0), heap.allocate(100), heap.allocate(127)};
  EXPECT_EQ(heap.allocate(100000), nullptr);
  const keel::SizeHistogram histogram = heap.histogram();
  EXPECT_EQ(histogram.requests[0], 1U);   // size 0
  EXPECT_EQ(histogram.requests[7], 2U);   // 64..127
  EXPECT_EQ(histogram.requests[17], 1U);  // 65536..131071
  EXPECT_EQ(histogram.failures[17], 1U);
  EXPECT_EQ(histogram.failures[7], 0U);
  for (void* block : blocks) {
    heap.free(block);
  }
  // Off by default, and then it costs no storage.
  EXPECT_EQ(Heap<>{}.histogram().requests[7], 0U);
}

TEST(CheckingCost, BytesPerBlockAtEachLevel) {
  EXPECT_EQ(Heap<>::trailer_bytes, 0U);
  EXPECT_EQ(Full::trailer_bytes, 8U);
  EXPECT_EQ(FullTagged::trailer_bytes, sizeof(void*) == 8 ? 24U : 16U);
  EXPECT_EQ((Heap<FailOnOom, HeapOptions{.tags = true}>::trailer_bytes),
            sizeof(void*) == 8 ? 16U : 8U);
}

}  // namespace
