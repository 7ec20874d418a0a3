// bench/src/scaling.cpp: keel_scaling, allocation throughput on 1 and 2 threads (issue 13).
//
// Every thread runs the loop of the x86_64 kernel's throughput section (qemu-demo/x86_64/
// throughput.cpp): allocate 32 blocks (sizes 16..512 B from a fixed table), free them in a fixed
// shuffled order, again and again, for a fixed time after a start barrier. The `cross` pattern
// frees each batch on the next thread instead (the batch goes round through a one-slot mailbox
// per thread), so that every block is freed by another thread than the one that allocated it.
// Allocators:
//   glibc          malloc/free (per-thread caches of its own)
//   locked-spin    keel::Locked<keel::Heap<>, keel::SpinLock> over one arena
//   locked-mutex   keel::Locked<keel::Heap<>, std::mutex>
//   cpu-cached     keel::CpuCached<keel::Heap<>, keel::SpinLock, ThreadCpu>: per-thread caches
//                  (a thread plays a CPU) in front of the same heap
//   cpu-cached x2  (local frees only) one such front end per thread, each over its own arena:
//                  nothing shared, the ceiling for cpu-cached on the machine
// Each cell is the median of `--repeats` runs, with the lowest and highest; scaling is the median
// on 2 threads over the median on 1. The machine's other load matters: the report prints the
// load average before and after.
//
//   keel_scaling [--milliseconds N] [--repeats N] [--pattern local|cross|both] [--gap BYTES]
//
// --gap: thread 1 first allocates BYTES (and frees them after its runs), so that the blocks it
// takes from a shared heap lie beyond that gap instead of next to thread 0's.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keel/cpu_cache.hpp"
#include "keel/heap.hpp"
#include "keel/lock.hpp"
#include "random.hpp"
#include "support/thread_cpu.hpp"

namespace keel_bench {
namespace {

constexpr unsigned kBatch = 32;
constexpr unsigned kMaxThreads = 2;
constexpr std::size_t kArenaBytes = std::size_t{64} << 20;

/// A thread is a CPU: each benchmark thread sets its index before it starts.
using ThreadCpu = keel_test::BasicThreadCpu<kMaxThreads>;

/// Anonymous memory for the keel heaps, touched once so that page faults stay out of the runs.
class Arena {
 public:
  Arena() {
    void* memory =
        mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      std::fprintf(stderr, "keel_scaling: cannot map the arena\n");
      std::exit(2);
    }
    data_ = static_cast<std::byte*>(memory);
    std::memset(data_, 0, kArenaBytes);
  }
  ~Arena() { munmap(data_, kArenaBytes); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  [[nodiscard]] keel::Span span() const { return keel::Span{data_, kArenaBytes}; }

 private:
  std::byte* data_ = nullptr;
};

struct Glibc {
  void* allocate(std::size_t size) { return std::malloc(size); }
  void free(void* pointer) { std::free(pointer); }
};

template <typename Shared>
class Keel {
 public:
  explicit Keel(const Arena& arena) : shared_(std::make_unique<Shared>()) {
    const bool claimed =
        shared_->with_lock([&](auto& heap) { return heap.claim(arena.span()).ok(); });
    if (!claimed) {
      std::fprintf(stderr, "keel_scaling: claim refused\n");
      std::exit(2);
    }
  }
  void* allocate(std::size_t size) { return shared_->allocate(size); }
  void free(void* pointer) { shared_->free(pointer); }
  Shared& shared() { return *shared_; }

 private:
  std::unique_ptr<Shared> shared_;
};

/// One front end per thread, each over its own arena: nothing shared at all, the ceiling of what
/// the shared front end could give on this machine (local frees only: a block must go back to
/// the front end it came from).
class SeparateFrontEnds {
 public:
  SeparateFrontEnds() {
    for (unsigned index = 0; index < kMaxThreads; ++index) {
      fronts_[index] =
          std::make_unique<Keel<keel::CpuCached<keel::Heap<>, keel::SpinLock, ThreadCpu>>>(
              arenas_[index]);
    }
  }
  void* allocate(std::size_t size) { return fronts_[ThreadCpu::current()]->allocate(size); }
  void free(void* pointer) { fronts_[ThreadCpu::current()]->free(pointer); }

 private:
  Arena arenas_[kMaxThreads];
  std::unique_ptr<Keel<keel::CpuCached<keel::Heap<>, keel::SpinLock, ThreadCpu>>>
      fronts_[kMaxThreads];
};

using LockedSpin = keel::Locked<keel::Heap<>, keel::SpinLock>;
using LockedMutex = keel::Locked<keel::Heap<>, std::mutex>;
using CpuCachedHeap = keel::CpuCached<keel::Heap<>, keel::SpinLock, ThreadCpu>;

enum class Pattern : std::uint8_t { local, cross };

struct Job {
  std::size_t gap;  // bytes thread 1 takes from the allocator before its first round (--gap)
  std::size_t sizes[kBatch];
  unsigned order[kBatch];
  Pattern pattern;
  unsigned threads;
  std::chrono::nanoseconds duration;
};

/// A one-batch mailbox per thread for the cross pattern: a batch of blocks to free, and whether
/// it is there (the flag's release and acquire order the pointers).
struct alignas(64) Mailbox {
  std::atomic<bool> full{false};
  void* blocks[kBatch] = {};
};

struct alignas(64) ThreadResult {
  std::uint64_t operations = 0;
  std::uint64_t failures = 0;
  std::uint64_t sent = 0;  // batches freed by the next thread
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;
};

template <typename Allocator>
void free_batch(Allocator& allocator, const Job& job, void* const* blocks) {
  for (unsigned i = 0; i < kBatch; ++i) {
    allocator.free(blocks[job.order[i]]);
  }
}

template <typename Allocator>
void run_thread(Allocator& allocator, const Job& job, unsigned index, std::atomic<unsigned>& ready,
                Mailbox* mailboxes, ThreadResult& result) {
  ThreadCpu::set(index);
  // --gap: thread 1's first blocks come from beyond a gap, not right after thread 0's.
  void* gap = index == 1 && job.gap != 0 ? allocator.allocate(job.gap) : nullptr;
  void* blocks[kBatch] = {};
  Mailbox& mine = mailboxes[index];
  Mailbox& next = mailboxes[(index + 1) % job.threads];
  const bool cross = job.pattern == Pattern::cross && job.threads > 1;
  ready.fetch_add(1);
  while (ready.load() < job.threads) {
  }
  result.start = std::chrono::steady_clock::now();
  const auto deadline = result.start + job.duration;
  std::uint64_t rounds = 0;
  do {
    for (unsigned check = 0; check < 16; ++check, ++rounds) {
      for (unsigned i = 0; i < kBatch; ++i) {
        blocks[i] = allocator.allocate(job.sizes[i]);
        result.failures += blocks[i] == nullptr ? 1 : 0;
        if (blocks[i] != nullptr) {
          static_cast<unsigned char*>(blocks[i])[0] = static_cast<unsigned char>(i);
        }
      }
      if (!cross) {
        free_batch(allocator, job, blocks);
        continue;
      }
      // Free what the previous thread sent, then send this batch on; if the next thread has
      // not taken the last one yet, free this one here.
      if (mine.full.load(std::memory_order_acquire)) {
        free_batch(allocator, job, mine.blocks);
        mine.full.store(false, std::memory_order_release);
      }
      if (!next.full.load(std::memory_order_acquire)) {
        std::memcpy(next.blocks, blocks, sizeof blocks);
        next.full.store(true, std::memory_order_release);
        ++result.sent;
      } else {
        free_batch(allocator, job, blocks);
      }
    }
  } while (std::chrono::steady_clock::now() < deadline);
  result.end = std::chrono::steady_clock::now();
  result.operations = rounds * 2 * kBatch;
  if (gap != nullptr) {
    allocator.free(gap);
  }
}

/// One timed run: operations per second over all threads, from the first start to the last end.
template <typename Allocator>
double measure(Allocator& allocator, const Job& job, std::uint64_t& failures, std::uint64_t& sent,
               std::uint64_t& rounds) {
  std::atomic<unsigned> ready{0};
  Mailbox mailboxes[kMaxThreads];
  ThreadResult results[kMaxThreads];
  std::vector<std::thread> threads;
  for (unsigned index = 0; index < job.threads; ++index) {
    threads.emplace_back(
        [&, index] { run_thread(allocator, job, index, ready, mailboxes, results[index]); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  // Batches still travelling at the end (their frees are not counted).
  for (unsigned index = 0; index < job.threads; ++index) {
    if (mailboxes[index].full.load(std::memory_order_acquire)) {
      free_batch(allocator, job, mailboxes[index].blocks);
    }
  }
  auto first = results[0].start;
  auto last = results[0].end;
  std::uint64_t operations = 0;
  for (unsigned index = 0; index < job.threads; ++index) {
    first = std::min(first, results[index].start);
    last = std::max(last, results[index].end);
    operations += results[index].operations;
    failures += results[index].failures;
    sent += results[index].sent;
    rounds += results[index].operations / (2 * kBatch);
  }
  const double seconds = std::chrono::duration<double>(last - first).count();
  return static_cast<double>(operations) / seconds;
}

struct Cell {
  double median = 0;
  double low = 0;
  double high = 0;
};

template <typename Allocator>
Cell repeat(Allocator& allocator, Job job, unsigned threads, unsigned repeats,
            std::uint64_t& failures, std::uint64_t& sent, std::uint64_t& rounds) {
  job.threads = threads;
  std::vector<double> rates;
  for (unsigned run = 0; run < repeats; ++run) {
    rates.push_back(measure(allocator, job, failures, sent, rounds));
  }
  if (rates.empty()) {
    return Cell{};
  }
  std::sort(rates.begin(), rates.end());
  return Cell{rates[rates.size() / 2], rates.front(), rates.back()};
}

double load_average() {
  double load = -1;
  if (FILE* file = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(file, "%lf", &load) != 1) {
      load = -1;
    }
    std::fclose(file);
  }
  return load;
}

template <typename Allocator>
void report(const char* name, Allocator& allocator, const Job& job, unsigned repeats) {
  std::uint64_t failures = 0;
  std::uint64_t sent = 0;
  std::uint64_t rounds = 0;
  const Cell one = repeat(allocator, job, 1, repeats, failures, sent, rounds);
  sent = 0;
  rounds = 0;
  const Cell two = repeat(allocator, job, 2, repeats, failures, sent, rounds);
  const auto mops = [](double rate) { return rate / 1e6; };
  std::printf("%-6s %-13s %6.2f (%6.2f..%6.2f)  %6.2f (%6.2f..%6.2f)  %5.2fx  %3.0f %%%s\n",
              job.pattern == Pattern::local ? "local" : "cross", name, mops(one.median),
              mops(one.low), mops(one.high), mops(two.median), mops(two.low), mops(two.high),
              two.median / one.median,
              100.0 * static_cast<double>(sent) / static_cast<double>(rounds == 0 ? 1 : rounds),
              failures != 0 ? "  (allocations failed!)" : "");
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "keel_scaling: %s\nusage: keel_scaling [--milliseconds N] [--repeats N] "
               "[--pattern local|cross|both] [--gap BYTES]\n",
               why);
  std::exit(1);
}

}  // namespace
}  // namespace keel_bench

int main(int argc, char** argv) {
  using namespace keel_bench;
  Job job{};
  unsigned milliseconds = 200;
  unsigned repeats = 7;
  std::string pattern = "both";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      usage("a flag lacks its value");
    }
    const char* value = argv[++i];
    if (flag == "--milliseconds") {
      milliseconds = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
    } else if (flag == "--repeats") {
      repeats = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
    } else if (flag == "--pattern") {
      pattern = value;
    } else if (flag == "--gap") {
      job.gap = static_cast<std::size_t>(std::strtoull(value, nullptr, 10));
    } else {
      usage("unknown flag");
    }
  }
  if (repeats == 0 || milliseconds == 0 ||
      (pattern != "local" && pattern != "cross" && pattern != "both")) {
    usage("bad value");
  }

  keel_bench::Random random(0x5EED);
  for (unsigned i = 0; i < kBatch; ++i) {
    job.sizes[i] = 16 + random.below(497);
    job.order[i] = i;
  }
  for (unsigned i = kBatch - 1; i > 0; --i) {
    std::swap(job.order[i], job.order[random.below(i + 1)]);
  }
  job.duration = std::chrono::milliseconds(milliseconds);

  std::printf(
      "keel_scaling: %u x allocate (16..512 B) then %u x free per round, %u ms per run, median "
      "of %u runs (min..max); gap %zu B; %u hardware threads; load average %.2f\n",
      kBatch, kBatch, milliseconds, repeats, job.gap, std::thread::hardware_concurrency(),
      load_average());
  std::printf("%-6s %-13s %-24s %-24s %-7s %s\n", "free", "allocator", "1 thread, Mops/s",
              "2 threads, Mops/s", "scaling", "freed by the other thread");
  for (const Pattern each : {Pattern::local, Pattern::cross}) {
    if (pattern != "both" && pattern != (each == Pattern::local ? "local" : "cross")) {
      continue;
    }
    job.pattern = each;
    Glibc glibc;
    report("glibc", glibc, job, repeats);
    const Arena arena;
    {
      Keel<LockedSpin> spin(arena);
      report("locked-spin", spin, job, repeats);
    }
    {
      Keel<LockedMutex> mutex(arena);
      report("locked-mutex", mutex, job, repeats);
    }
    {
      Keel<CpuCachedHeap> cached(arena);
      report("cpu-cached", cached, job, repeats);
      const keel::CacheStatistics s = cached.shared().statistics();
      if (s.live_allocations != 0 || !cached.shared().validate().ok()) {
        std::printf("cpu-cached: %zu blocks left or the heap does not validate\n",
                    s.live_allocations);
        return 3;
      }
      std::printf(
          "       cpu-cached: %.1f %% of allocations from a cache, %llu refills, %llu flushes\n",
          100.0 * static_cast<double>(s.cache_hits) / static_cast<double>(s.total_allocations),
          static_cast<unsigned long long>(s.refills), static_cast<unsigned long long>(s.flushes));
    }
    if (each == Pattern::local) {
      SeparateFrontEnds apart;
      report("cpu-cached x2", apart, job, repeats);
    }
  }
  std::printf("load average at the end %.2f\n", load_average());
  return 0;
}
