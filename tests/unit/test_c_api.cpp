// The C API (keel.h): the same outcomes as the C++ heap, through the C names.
#include "keel/keel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "keel/fault.hpp"

namespace {

TEST(CApi, InitAllocateFreeAndStats) {
  auto memory = std::make_unique<unsigned char[]>(64 * 1024);
  EXPECT_EQ(keel_init(nullptr, 4096), nullptr);
  EXPECT_EQ(keel_init(memory.get(), keel_heap_size()), nullptr);
  keel_heap* heap = keel_init(memory.get(), 64 * 1024);
  ASSERT_NE(heap, nullptr);

  char* text = static_cast<char*>(keel_malloc(heap, 100));
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(text) % alignof(std::max_align_t), 0U);
  std::strcpy(text, "keel");
  EXPECT_GE(keel_usable_size(heap, text), 100U);
  text = static_cast<char*>(keel_realloc(heap, text, 3000));
  ASSERT_NE(text, nullptr);
  EXPECT_STREQ(text, "keel");

  auto* zeros = static_cast<unsigned char*>(keel_calloc(heap, 16, 16));
  ASSERT_NE(zeros, nullptr);
  for (int i = 0; i < 256; ++i) {
    ASSERT_EQ(zeros[i], 0);
  }
  volatile size_t huge = std::numeric_limits<size_t>::max();  // out of the compiler's sight
  EXPECT_EQ(keel_calloc(heap, huge, 2), nullptr);

  void* aligned = keel_aligned_alloc(heap, 1024, 50);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 1024, 0U);
  EXPECT_EQ(keel_aligned_alloc(heap, 24, 50), nullptr);

  keel_stats stats;
  keel_get_stats(heap, &stats);
  EXPECT_EQ(stats.live_allocations, 3U);
  EXPECT_EQ(stats.failed_allocations, 2U);
  const void* where = nullptr;
  EXPECT_EQ(keel_validate(heap, &where), 0);

  EXPECT_EQ(keel_realloc(heap, text, 0), nullptr);  // frees
  keel_free(heap, zeros);
  keel_free(heap, aligned);
  keel_free(heap, nullptr);
  keel_get_stats(heap, &stats);
  EXPECT_EQ(stats.live_allocations, 0U);
  EXPECT_EQ(stats.bytes_in_use, 0U);
  EXPECT_EQ(keel_usable_size(heap, nullptr), 0U);
}

TEST(CApi, ClaimCodes) {
  auto memory = std::make_unique<unsigned char[]>(16 * 1024);
  keel_heap* heap = keel_init(memory.get(), 8 * 1024);
  ASSERT_NE(heap, nullptr);
  EXPECT_EQ(keel_claim(heap, nullptr, 100), 1);
  EXPECT_EQ(keel_claim(heap, memory.get() + 8192, 10), 2);
  EXPECT_EQ(keel_claim(heap, memory.get() + 4096, 8192), 3);
  EXPECT_EQ(keel_claim(heap, memory.get() + 8192, 8192), 0);
  void* big = keel_malloc(heap, 7000);  // only the second region can serve it
  EXPECT_NE(big, nullptr);
  keel_free(heap, big);
}

// keel_init over at most 64 KiB limits the heap to blocks of 64 KiB and gives the bin heads it
// then never uses to the region (docs/design.md 13); over more, nothing is limited.
TEST(CApi, SmallArenaKeepsLessState) {
  constexpr std::size_t kArena = 16 * 1024;
  auto memory = std::make_unique<unsigned char[]>(kArena);
  keel_heap* heap = keel_init(memory.get(), kArena);
  ASSERT_NE(heap, nullptr);
  keel_stats stats;
  keel_get_stats(heap, &stats);
  EXPECT_GT(stats.bytes_claimed, kArena - keel_heap_size() / 2);
  EXPECT_LT(stats.bytes_claimed, kArena);
  void* blocks[1024] = {};
  std::size_t count = 0;
  while (count < 1024 && (blocks[count] = keel_malloc(heap, 40)) != nullptr) {
    std::memset(blocks[count++], 0x5A, 40);
  }
  EXPECT_EQ(keel_validate(heap, nullptr), 0);
  for (std::size_t i = 0; i < count; i += 2) {
    keel_free(heap, blocks[i]);
  }
  EXPECT_EQ(keel_validate(heap, nullptr), 0);
  for (std::size_t i = 1; i < count; i += 2) {
    keel_free(heap, blocks[i]);
  }
  keel_get_stats(heap, &stats);
  EXPECT_EQ(stats.live_allocations, 0U);

  auto large = std::make_unique<unsigned char[]>(1024 * 1024);
  keel_heap* big = keel_init(large.get(), 1024 * 1024);
  ASSERT_NE(big, nullptr);
  void* half = keel_malloc(big, 512 * 1024);
  EXPECT_NE(half, nullptr);
  keel_free(big, half);
}

// A span larger than a small heap's largest region is claimed as several regions.
TEST(CApi, ClaimSplitsASpanLargerThanTheLargestRegion) {
  auto memory = std::make_unique<unsigned char[]>(208 * 1024);  // one buffer: in the link window
  unsigned char* more = memory.get() + 8 * 1024;
  keel_heap* heap = keel_init(memory.get(), 8 * 1024);
  ASSERT_NE(heap, nullptr);
  keel_stats before;
  keel_get_stats(heap, &before);
  EXPECT_EQ(keel_claim(heap, more, 200 * 1024), 0);
  keel_stats after;
  keel_get_stats(heap, &after);
  EXPECT_GT(after.bytes_claimed - before.bytes_claimed, 200 * 1024 - 4 * 64);
  EXPECT_LE(after.bytes_claimed - before.bytes_claimed, 200 * 1024U);
  EXPECT_EQ(keel_malloc(heap, 100 * 1024), nullptr);  // more than one 64 KiB block
  void* parts[3] = {};
  for (void*& part : parts) {
    part = keel_malloc(heap, 60 * 1024);
    EXPECT_NE(part, nullptr);
  }
  EXPECT_EQ(keel_validate(heap, nullptr), 0);
  for (void* part : parts) {
    keel_free(heap, part);
  }
}

// A C fault handler's record of its calls.
struct CFaults {
  int count = 0;
  int fault = -1;
  const void* address = nullptr;
};
CFaults g_c_faults;
CFaults g_other_c_faults;
int g_cpp_faults = 0;
int g_default_faults = 0;

extern "C" void record_c_fault(int fault, const void* address) {
  ++g_c_faults.count;
  g_c_faults.fault = fault;
  g_c_faults.address = address;
}
extern "C" void record_other_c_fault(int fault, const void* address) {
  ++g_other_c_faults.count;
  g_other_c_faults.fault = fault;
  g_other_c_faults.address = address;
}
void record_cpp_fault(keel::Fault /*fault*/, const void* /*address*/) noexcept {
  ++g_cpp_faults;
}
void record_default_fault(keel::Fault /*fault*/, const void* /*address*/) noexcept {
  ++g_default_faults;
}

class CFaultHandler : public ::testing::Test {
 protected:
  CFaultHandler() {
    g_c_faults = {};
    g_other_c_faults = {};
    g_cpp_faults = 0;
    g_default_faults = 0;
    heap_ = keel_init(memory_.get(), 16 * 1024);
  }
  ~CFaultHandler() override {
    keel_set_fault_handler(nullptr);
    keel::set_fault_handler(nullptr);
    keel::set_default_fault_handler(nullptr);
  }
  std::unique_ptr<unsigned char[]> memory_ = std::make_unique<unsigned char[]>(16 * 1024);
  keel_heap* heap_ = nullptr;
};

TEST_F(CFaultHandler, ReceivesTheFaultCodeAndAddress) {
  ASSERT_NE(heap_, nullptr);
  EXPECT_EQ(keel_set_fault_handler(&record_c_fault), nullptr) << "none was installed from C";
  void* block = keel_malloc(heap_, 40);
  keel_free(heap_, block);
  keel_free(heap_, block);
  EXPECT_EQ(g_c_faults.count, 1);
  EXPECT_EQ(g_c_faults.fault, KEEL_FAULT_DOUBLE_FREE);
  EXPECT_EQ(g_c_faults.address, block);
  alignas(16) static unsigned char elsewhere[32];
  keel_free(heap_, elsewhere);
  EXPECT_EQ(g_c_faults.count, 2);
  EXPECT_EQ(g_c_faults.fault, KEEL_FAULT_FOREIGN_POINTER);
  EXPECT_EQ(g_c_faults.address, elsewhere);
  EXPECT_EQ(keel_validate(heap_, nullptr), 0) << "the bad frees changed nothing";
}

TEST_F(CFaultHandler, SaveAndRestoreRoundTrips) {
  ASSERT_NE(heap_, nullptr);
  keel_set_fault_handler(&record_c_fault);
  EXPECT_EQ(keel_set_fault_handler(&record_other_c_fault), &record_c_fault);
  alignas(16) static unsigned char elsewhere[32];
  keel_free(heap_, elsewhere);
  EXPECT_EQ(g_other_c_faults.count, 1);
  EXPECT_EQ(g_c_faults.count, 0);
  EXPECT_EQ(keel_set_fault_handler(&record_c_fault), &record_other_c_fault);
  keel_free(heap_, elsewhere);
  EXPECT_EQ(g_c_faults.count, 1);
  // A handler installed from C++ is not a C function: null is returned for it.
  keel::set_fault_handler(&record_cpp_fault);
  EXPECT_EQ(keel_set_fault_handler(&record_other_c_fault), nullptr);
  EXPECT_NE(keel::set_fault_handler(nullptr), nullptr) << "the C handler's trampoline";
}

TEST_F(CFaultHandler, NullRestoresTheDefaultThatAnAdapterChose) {
  ASSERT_NE(heap_, nullptr);
  keel::set_default_fault_handler(&record_default_fault);
  alignas(16) static unsigned char elsewhere[32];
  keel_set_fault_handler(&record_c_fault);
  keel_free(heap_, elsewhere);
  EXPECT_EQ(g_c_faults.count, 1) << "an installed handler takes precedence over the default";
  EXPECT_EQ(g_default_faults, 0);
  EXPECT_EQ(keel_set_fault_handler(nullptr), &record_c_fault);
  keel_free(heap_, elsewhere);
  EXPECT_EQ(g_default_faults, 1) << "null brings back the default, not the trap";
  EXPECT_EQ(g_c_faults.count, 1);
}

TEST(FaultHandlers, SettingTheDefaultKeepsAnInstalledHandler) {
  g_cpp_faults = 0;
  g_default_faults = 0;
  const keel::FaultHandler before = keel::set_fault_handler(&record_cpp_fault);
  EXPECT_EQ(before, nullptr) << "nothing installed: the default is in effect";
  keel::set_default_fault_handler(&record_default_fault);
  keel::report_fault(keel::Fault::double_free, nullptr);
  EXPECT_EQ(g_cpp_faults, 1);
  EXPECT_EQ(g_default_faults, 0);
  EXPECT_EQ(keel::set_fault_handler(before), &record_cpp_fault);
  keel::report_fault(keel::Fault::double_free, nullptr);
  EXPECT_EQ(g_default_faults, 1)
      << "restoring what set_fault_handler returned restores the default";
  keel::set_default_fault_handler(nullptr);
}

TEST(CFaultNames, MatchKeelsNames) {
  EXPECT_EQ(std::string(keel_fault_name(KEEL_FAULT_DOUBLE_FREE)), "double_free");
  EXPECT_EQ(std::string(keel_fault_name(KEEL_FAULT_WRITE_AFTER_FREE)), "write_after_free");
  EXPECT_EQ(std::string(keel_fault_name(KEEL_FAULT_FOREIGN_POINTER)), "foreign_pointer");
  EXPECT_EQ(std::string(keel_fault_name(-1)), "unknown");
  EXPECT_EQ(std::string(keel_fault_name(KEEL_FAULT_WRITE_AFTER_FREE + 1)), "unknown");
}

}  // namespace
