// ports/linux/src/preload.cpp: libkeel_preload.so, keel as the malloc of an unmodified program.
//
//     LD_PRELOAD=/path/to/libkeel_preload.so program ...
//
// The library defines the C malloc family (core/src/libc.cpp, keel::libc) over one of three
// process heaps (keel/hosted/process_heap.hpp), picked once, at the first call, by the
// environment:
//   KEEL_CHECKING=none|basic|full  the checking level (default basic; full also keeps every
//                                  block's allocation site, the caller of malloc)
//   KEEL_LEAK_REPORT=1             at exit, every live block and its site on stderr
//   KEEL_STATS=1                   at exit, one line of statistics on stderr
//   KEEL_RETURN_THRESHOLD=bytes    free gives the pages of blocks this large back to the kernel
//                                  (default 131072; 0: never)
// A fault (a bad free, an overrun found by Checking::full) is printed on stderr with the block's
// allocation site where known, and the process aborts.
//
// Everything works before constructors run: the heaps, the level and the fault handler are
// constant-initialised, and the first call reads the environment with getenv, which does not
// allocate. Nothing called inside malloc allocates (no dlsym, no stdio, no locale): the system
// calls are mmap, mprotect, madvise and write. The one constructor below only registers the
// fork handlers and the exit report, after the C library is initialised.
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <type_traits>

#include "keel/detail/format.hpp"
#include "keel/fault.hpp"
#include "keel/global.hpp"
#include "keel/hosted/process_heap.hpp"

namespace {

using keel::Checking;
using keel::HeapOptions;
using NoneHeap = keel::hosted::ProcessHeap<HeapOptions{.checking = Checking::none}>;
using BasicHeap = keel::hosted::ProcessHeap<HeapOptions{}>;
using FullHeap = keel::hosted::ProcessHeap<HeapOptions{.checking = Checking::full, .tags = true}>;

// No static destructor may run at exit: other atexit handlers and threads still allocate then.
static_assert(std::is_trivially_destructible_v<NoneHeap> &&
                  std::is_trivially_destructible_v<BasicHeap> &&
                  std::is_trivially_destructible_v<FullHeap>,
              "the preload library's heaps must need no destructor (build it without host tools)");

constinit NoneHeap g_none;
constinit BasicHeap g_basic;
constinit FullHeap g_full;

enum class Level : int { unchosen, choosing, none, basic, full };
constinit std::atomic<Level> g_level{Level::unchosen};

// What the environment asked for at exit; written once, by the thread that chose the level.
constinit bool g_leak_report = false;
constinit bool g_stats = false;

void write_stderr(const char* text, std::size_t length) noexcept {
  while (length != 0) {
    const ssize_t written = ::write(STDERR_FILENO, text, length);
    if (written <= 0) {
      return;
    }
    text += written;
    length -= static_cast<std::size_t>(written);
  }
}

struct StderrSink {
  void operator()(const char* text, std::size_t length) const noexcept {
    write_stderr(text, length);
  }
};

bool equals(const char* text, const char* expected) {
  while (*text != '\0' && *text == *expected) {
    ++text;
    ++expected;
  }
  return *text == *expected;
}

/// An environment variable that is set, not empty and not "0".
bool flag(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' && !equals(value, "0");
}

[[noreturn]] void print_fault(keel::Fault fault, const void* address) noexcept {
  StderrSink sink;
  {
    keel::detail::TextWriter<StderrSink> out(sink);
    out.text("keel: ").text(keel::to_string(fault)).text(" at ").address(address);
    const keel::AllocationTag origin = keel::fault_origin();
    if (origin.known() && origin.line == 0) {
      out.text(", block allocated by code at ").address(origin.file);
    }
    out.text("\n");
  }
  std::abort();
}

/// A decimal number from the environment, or `fallback` if it is not set or not a number.
std::size_t number(const char* name, std::size_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return fallback;
  }
  std::size_t result = 0;
  for (; *value != '\0'; ++value) {
    if (*value < '0' || *value > '9' || result > (SIZE_MAX - 9) / 10) {
      return fallback;
    }
    result = result * 10 + static_cast<std::size_t>(*value - '0');
  }
  return result;
}

/// Reads the environment and fixes the level. The first caller does it; a thread that comes
/// while it does waits (only at the very first allocation of the process).
[[gnu::noinline, gnu::cold]] Level choose() {
  Level expected = Level::unchosen;
  if (!g_level.compare_exchange_strong(expected, Level::choosing, std::memory_order_acquire)) {
    while ((expected = g_level.load(std::memory_order_acquire)) == Level::choosing) {
      sched_yield();
    }
    return expected;
  }
  Level level = Level::basic;
  if (const char* value = std::getenv("KEEL_CHECKING")) {
    if (equals(value, "none")) {
      level = Level::none;
    } else if (equals(value, "full")) {
      level = Level::full;
    } else if (!equals(value, "basic") && *value != '\0') {
      constexpr char kWarning[] = "keel: KEEL_CHECKING is none, basic or full; using basic\n";
      write_stderr(kWarning, sizeof kWarning - 1);
    }
  }
  g_leak_report = flag("KEEL_LEAK_REPORT");
  g_stats = flag("KEEL_STATS");
  const std::size_t threshold =
      number("KEEL_RETURN_THRESHOLD", keel::hosted::kDefaultReturnThreshold);
  g_none.set_return_threshold(threshold == 0 ? SIZE_MAX : threshold);
  g_basic.set_return_threshold(threshold == 0 ? SIZE_MAX : threshold);
  keel::set_fault_handler(&print_fault);
  g_level.store(level, std::memory_order_release);
  return level;
}

Level level() {
  const Level chosen = g_level.load(std::memory_order_acquire);
  if (chosen > Level::choosing) [[likely]] {
    return chosen;
  }
  return choose();
}

/// Calls function(heap) with the chosen process heap.
template <typename F>
decltype(auto) with_heap(F&& function) {
  switch (level()) {
    case Level::none: return function(g_none);
    case Level::full: return function(g_full);
    default: return function(g_basic);
  }
}

keel::AllocationTag tag_of(const void* caller) {
  return keel::detail::global_tag(caller);
}

// Fork: the child gets a copy of the heap as it was at the fork. The lock is held across the
// fork so that no other thread is half-way through an operation in that copy.
void lock_before_fork() {
  with_heap([](auto& heap) { heap.lock().lock(); });
}
void unlock_in_parent() {
  with_heap([](auto& heap) { heap.lock().unlock(); });
}
void unlock_in_child() {
  with_heap([](auto& heap) { heap.lock().reset_in_child(); });
}

const char* level_name(Level chosen) {
  switch (chosen) {
    case Level::none: return "none";
    case Level::full: return "full";
    default: return "basic";
  }
}

void report_at_exit() {
  with_heap([](auto& process_heap) {
    process_heap.with_lock([](auto& heap) {
      StderrSink sink;
      if (g_stats) {
        const keel::Statistics stats = heap.statistics();
        keel::detail::TextWriter<StderrSink> out(sink);
        out.text("keel: checking ").text(level_name(level())).text(", ");
        out.decimal(stats.total_allocations).text(" allocations, ");
        out.decimal(stats.live_allocations).text(" live at exit, peak ");
        out.decimal(stats.peak_bytes_in_use).text(" B in use, ");
        out.decimal(stats.bytes_claimed).text(" B in ").decimal(stats.region_count);
        out.text(" region(s), ").decimal(stats.failed_allocations).text(" failed\n");
      }
      if (g_leak_report) {
        (void)heap.leak_report(sink);
      }
    });
  });
}

/// After the C library's own initialisation: fork handlers and the exit report. Allocations
/// before this point are served all the same.
[[gnu::constructor]] void register_hooks() {
  (void)level();
  pthread_atfork(&lock_before_fork, &unlock_in_parent, &unlock_in_child);
  if (g_leak_report || g_stats) {
    std::atexit(&report_at_exit);
  }
}

}  // namespace

// keel/global.hpp's four functions, which keel::libc's malloc family calls.
void* keel::global::allocate(std::size_t size, std::size_t align, const void* caller) noexcept {
  return with_heap([&](auto& heap) { return heap.allocate(size, align, tag_of(caller)); });
}

void* keel::global::reallocate(void* pointer, std::size_t size, std::size_t align,
                               const void* caller) noexcept {
  return with_heap(
      [&](auto& heap) { return heap.reallocate(pointer, size, align, tag_of(caller)); });
}

void keel::global::free(void* pointer) noexcept {
  with_heap([&](auto& heap) { heap.free(pointer); });
}

std::size_t keel::global::usable_size(const void* pointer) noexcept {
  return with_heap([&](auto& heap) { return heap.usable_size(pointer); });
}
