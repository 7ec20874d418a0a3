// Reentry from the OOM policy (docs/errors.md). docs/design.md section 6 says a policy must not
// allocate from its own heap; these tests pin down what happens when one does:
//   - on the plain Heap there is no lock: the call re-enters the heap, which is consistent at the
//     point where the policy runs, so the inner call works like any other; a policy that calls
//     allocate (not try_allocate) recurses, and only the policy itself can bound that;
//   - through Locked, the policy is handed the unlocked heap inside the wrapper: calling that is
//     the same as above, and safe;
//   - calling the Locked wrapper itself from the policy takes the lock a second time: with a
//     non-recursive lock (SpinLock, std::mutex) the thread deadlocks. The tests show it with a lock
//     that counts the second acquisition, and in a child process that a timer ends.
#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "keel/heap.hpp"
#include "keel/lock.hpp"

namespace {

using keel::OomAction;
using keel::Span;

std::uintptr_t address(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

/// Claims a spare span once, then allocates from the heap it was handed before saying retry.
struct ClaimThenTryAllocate {
  Span spare{};
  void* inner = nullptr;
  bool valid_inside = false;
  int calls = 0;

  template <typename H>
  OomAction on_oom(H& heap, std::size_t /*size*/, std::size_t /*align*/) {
    ++calls;
    if (spare.empty() || !heap.claim(spare).ok()) {
      return OomAction::give_up;
    }
    spare = Span{};
    inner = heap.try_allocate(64);  // re-enters the heap whose allocate is running
    valid_inside = heap.validate().ok();
    return OomAction::retry;
  }
};

TEST(OomReentry, PolicyTryAllocatingFromThePlainHeapWorks) {
  auto memory = std::make_unique<std::byte[]>(1024 + 16384);
  keel::Heap<ClaimThenTryAllocate> heap;
  ASSERT_TRUE(heap.claim(Span{memory.get(), 1024}));
  heap.oom_policy().spare = Span{memory.get() + 1024, 16384};
  auto* outer = static_cast<std::byte*>(heap.allocate(4000));
  auto* inner = static_cast<std::byte*>(heap.oom_policy().inner);
  ASSERT_NE(outer, nullptr);
  ASSERT_NE(inner, nullptr);
  EXPECT_TRUE(heap.oom_policy().valid_inside);
  EXPECT_TRUE(address(inner) + 64 <= address(outer) || address(outer) + 4000 <= address(inner))
      << "the inner and the outer block overlap";
  EXPECT_EQ(heap.statistics().live_allocations, 2U);
  EXPECT_TRUE(heap.validate());
  heap.free(inner);
  heap.free(outer);
  EXPECT_TRUE(heap.validate());
  EXPECT_EQ(heap.statistics().live_allocations, 0U);
}

/// Calls allocate (which calls this policy again) until `limit` levels deep.
struct RecursiveAllocate {
  int depth = 0;
  int deepest = 0;
  int limit = 3;
  bool valid_inside = true;

  template <typename H>
  OomAction on_oom(H& heap, std::size_t size, std::size_t align) {
    ++depth;
    deepest = depth > deepest ? depth : deepest;
    valid_inside = valid_inside && heap.validate().ok();
    if (depth < limit) {
      void* block = heap.allocate(size, align);  // no memory: calls this policy once more
      heap.free(block);
    }
    --depth;
    return OomAction::give_up;
  }
};

TEST(OomReentry, PolicyCallingAllocateRecursesUntilThePolicyStops) {
  auto memory = std::make_unique<std::byte[]>(1024);
  keel::Heap<RecursiveAllocate> heap;
  ASSERT_TRUE(heap.claim(Span{memory.get(), 1024}));
  EXPECT_EQ(heap.allocate(4000), nullptr);
  // keel neither detects nor stops the reentry: each level ran the policy again.
  EXPECT_EQ(heap.oom_policy().deepest, 3);
  EXPECT_TRUE(heap.oom_policy().valid_inside);
  EXPECT_EQ(heap.statistics().failed_allocations, 3U);
  EXPECT_TRUE(heap.validate());
}

TEST(OomReentry, PolicyUsingTheHeapItIsHandedUnderALockIsSafe) {
  auto memory = std::make_unique<std::byte[]>(1024 + 16384);
  keel::Locked<keel::Heap<ClaimThenTryAllocate>, std::mutex> shared;
  ASSERT_TRUE(shared.unlocked().claim(Span{memory.get(), 1024}));
  shared.unlocked().oom_policy().spare = Span{memory.get() + 1024, 16384};
  void* outer = shared.allocate(4000);  // the policy runs with the mutex held
  ASSERT_NE(outer, nullptr);
  void* inner = shared.unlocked().oom_policy().inner;
  ASSERT_NE(inner, nullptr);
  EXPECT_TRUE(shared.unlocked().oom_policy().valid_inside);
  shared.free(inner);
  shared.free(outer);
  EXPECT_TRUE(shared.with_lock([](auto& heap) { return heap.validate().ok(); }));
}

/// A lock that notices when the thread holding it takes it again (where a non-recursive lock
/// would deadlock), counts it, and lets the call go on so that the test can report it.
class ReentryCountingLock {
 public:
  void lock() {
    if (held_ && owner_ == std::this_thread::get_id()) {
      ++reentries_;
      ++depth_;
      return;
    }
    mutex_.lock();
    held_ = true;
    owner_ = std::this_thread::get_id();
    depth_ = 1;
  }
  void unlock() {
    if (--depth_ == 0) {
      held_ = false;
      mutex_.unlock();
    }
  }
  [[nodiscard]] int reentries() const { return reentries_; }

 private:
  std::mutex mutex_;
  bool held_ = false;
  std::thread::id owner_;
  int depth_ = 0;
  int reentries_ = 0;
};

/// Allocates through a Locked wrapper (set after construction), not through the heap it is given.
template <typename Wrapper>
struct AllocateThroughWrapper {
  Wrapper* wrapper = nullptr;
  void* inner = nullptr;

  template <typename H>
  OomAction on_oom(H& /*heap*/, std::size_t /*size*/, std::size_t /*align*/) {
    inner = wrapper->try_allocate(16);
    return OomAction::give_up;
  }
};

template <typename Lock>
struct WrapperFixture {
  struct Policy;
  using Shared = keel::Locked<keel::Heap<Policy>, Lock>;
  struct Policy : AllocateThroughWrapper<Shared> {};

  explicit WrapperFixture(std::size_t bytes) : memory(std::make_unique<std::byte[]>(bytes)) {
    EXPECT_TRUE(shared.unlocked().claim(Span{memory.get(), bytes}));
    shared.unlocked().oom_policy().wrapper = &shared;
  }
  std::unique_ptr<std::byte[]> memory;
  Shared shared;
};

TEST(OomReentry, PolicyCallingTheLockedWrapperTakesTheLockAgain) {
  WrapperFixture<ReentryCountingLock> fixture(1024);
  EXPECT_EQ(fixture.shared.allocate(4000), nullptr);
  // With SpinLock or std::mutex this second acquisition never returns (next test).
  EXPECT_EQ(fixture.shared.lock().reentries(), 1);
  void* inner = fixture.shared.unlocked().oom_policy().inner;
  EXPECT_NE(inner, nullptr) << "the 16-byte request fits the region";
  fixture.shared.free(inner);
  EXPECT_TRUE(fixture.shared.with_lock([](auto& heap) { return heap.validate().ok(); }));
}

/// In a child process: allocate through a wrapper whose policy calls the wrapper again. A timer
/// ends the child if it hangs; finishing would exit with status 0.
template <typename Lock>
void allocate_with_reentrant_policy() {
  alarm(2);
  WrapperFixture<Lock> fixture(1024);
  (void)fixture.shared.allocate(4000);
  std::_Exit(0);
}

TEST(OomReentryDeathTest, SpinLockDeadlocks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(allocate_with_reentrant_policy<keel::SpinLock>(), ::testing::KilledBySignal(SIGALRM),
              "");
}

TEST(OomReentryDeathTest, StdMutexDeadlocks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(allocate_with_reentrant_policy<std::mutex>(), ::testing::KilledBySignal(SIGALRM), "");
}

}  // namespace
