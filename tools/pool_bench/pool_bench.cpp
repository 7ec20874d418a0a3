// tools/pool_bench: is a pool for a protocol's message types cheaper than a general heap?
//
// A protocol with four message types (16, 40, 96 and 200 bytes, sent in the proportions
// 40 : 30 : 20 : 10) is sent and received in bursts of 1 to 32 messages: every message of a
// burst is allocated and written, then all are read and freed in order. The same sequence of
// bursts (a fixed seed) is served in one run by
//   pools    one keel::ObjectPool per type (Checking::basic: range, boundary and bitmap checks
//            on release, link check on acquire)
//   pools-unchecked   the same with Checking::none
//   keel     one keel::Heap<> (default options) over a 1 MiB arena
//   glibc    malloc and free
// Each allocation and release goes through one out-of-line function named measured_*, so that
// callgrind (scripts/bench-pools.sh) counts exactly the instructions spent in the allocator:
//
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_*' pool_bench
//
// Run natively it also prints nanoseconds per message (noisy on a shared machine).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "keel/heap.hpp"
#include "keel/pool.hpp"

namespace {

constexpr std::size_t kTypeSizes[] = {16, 40, 96, 200};
constexpr unsigned kTypeWeights[] = {40, 30, 20, 10};
constexpr int kBursts = 20000;
constexpr int kMaxBurst = 32;
/// What a message needs. keel's allocate(size) would default to alignof(max_align_t), 16 on
/// x86_64, which takes keel's aligned path; messages need 4, and keel's granule gives 8.
constexpr std::size_t kMessageAlign = 8;

/// A message: a header the constructor writes, and a payload the sender fills.
template <std::size_t kSize>
struct Message {
  Message(std::uint32_t message_type, std::uint32_t message_sequence)
      : type(message_type), sequence(message_sequence) {}
  std::uint32_t type;
  std::uint32_t sequence;
  std::byte payload[kSize - 8];
};
static_assert(sizeof(Message<200>) == 200);

/// One message in flight: the pointer and what was written into it.
struct Sent {
  void* pointer;
  int type;
  std::uint32_t sequence;
};

/// The same bursts for every allocator: the type of each message, burst after burst.
struct Workload {
  std::vector<std::uint8_t> burst_lengths;
  std::vector<std::uint8_t> types;
};

Workload make_workload() {
  Workload work;
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int burst = 0; burst < kBursts; ++burst) {
    const auto length = static_cast<std::uint8_t>(1 + next() % kMaxBurst);
    work.burst_lengths.push_back(length);
    for (int i = 0; i < length; ++i) {
      unsigned pick = static_cast<unsigned>(next() % 100);
      int type = 0;
      while (pick >= kTypeWeights[type]) {
        pick -= kTypeWeights[type];
        ++type;
      }
      work.types.push_back(static_cast<std::uint8_t>(type));
    }
  }
  return work;
}

// --- the three allocators behind the measured functions --------------------------------------

constexpr std::size_t kPoolDepth = kMaxBurst;
keel::ObjectPool<Message<16>, kPoolDepth> g_pool_16;
keel::ObjectPool<Message<40>, kPoolDepth> g_pool_40;
keel::ObjectPool<Message<96>, kPoolDepth> g_pool_96;
keel::ObjectPool<Message<200>, kPoolDepth> g_pool_200;
keel::ObjectPool<Message<16>, kPoolDepth, keel::Checking::none> g_fast_16;
keel::ObjectPool<Message<40>, kPoolDepth, keel::Checking::none> g_fast_40;
keel::ObjectPool<Message<96>, kPoolDepth, keel::Checking::none> g_fast_96;
keel::ObjectPool<Message<200>, kPoolDepth, keel::Checking::none> g_fast_200;

alignas(64) std::byte g_arena[1 << 20];
keel::Heap<> g_heap;

/// Constructs the message of `type` in raw memory, as ObjectPool::create does in its block.
void* construct(void* block, int type, std::uint32_t sequence) {
  const auto header = static_cast<std::uint32_t>(type);
  switch (type) {
    case 0: return ::new (block) Message<16>(header, sequence);
    case 1: return ::new (block) Message<40>(header, sequence);
    case 2: return ::new (block) Message<96>(header, sequence);
    default: return ::new (block) Message<200>(header, sequence);
  }
}

}  // namespace

// Out of line and not inlined, so that callgrind counts each call: the allocator's work plus the
// call itself (a handful of instructions, the same for all three).
extern "C" {

[[gnu::noinline]] void* measured_pool_send(int type, std::uint32_t sequence) {
  const auto header = static_cast<std::uint32_t>(type);
  switch (type) {
    case 0: return g_pool_16.create(header, sequence);
    case 1: return g_pool_40.create(header, sequence);
    case 2: return g_pool_96.create(header, sequence);
    default: return g_pool_200.create(header, sequence);
  }
}

[[gnu::noinline]] void measured_pool_receive(void* message, int type) {
  switch (type) {
    case 0: g_pool_16.destroy(static_cast<Message<16>*>(message)); return;
    case 1: g_pool_40.destroy(static_cast<Message<40>*>(message)); return;
    case 2: g_pool_96.destroy(static_cast<Message<96>*>(message)); return;
    default: g_pool_200.destroy(static_cast<Message<200>*>(message)); return;
  }
}

[[gnu::noinline]] void* measured_unchecked_send(int type, std::uint32_t sequence) {
  const auto header = static_cast<std::uint32_t>(type);
  switch (type) {
    case 0: return g_fast_16.create(header, sequence);
    case 1: return g_fast_40.create(header, sequence);
    case 2: return g_fast_96.create(header, sequence);
    default: return g_fast_200.create(header, sequence);
  }
}

[[gnu::noinline]] void measured_unchecked_receive(void* message, int type) {
  switch (type) {
    case 0: g_fast_16.destroy(static_cast<Message<16>*>(message)); return;
    case 1: g_fast_40.destroy(static_cast<Message<40>*>(message)); return;
    case 2: g_fast_96.destroy(static_cast<Message<96>*>(message)); return;
    default: g_fast_200.destroy(static_cast<Message<200>*>(message)); return;
  }
}

[[gnu::noinline]] void* measured_keel_send(int type, std::uint32_t sequence) {
  void* block = g_heap.allocate(kTypeSizes[type], kMessageAlign);
  return block == nullptr ? nullptr : construct(block, type, sequence);
}

[[gnu::noinline]] void measured_keel_receive(void* message, int /*type*/) {
  g_heap.free(message);
}

[[gnu::noinline]] void* measured_glibc_send(int type, std::uint32_t sequence) {
  void* block = std::malloc(kTypeSizes[type]);
  return block == nullptr ? nullptr : construct(block, type, sequence);
}

[[gnu::noinline]] void measured_glibc_receive(void* message, int /*type*/) {
  std::free(message);
}

}  // extern "C"

namespace {

using Send = void* (*)(int, std::uint32_t);
using Receive = void (*)(void*, int);

struct Variant {
  const char* name;
  Send send;
  Receive receive;
};

/// Runs the workload once; returns the number of messages, or 0 if a message was lost or
/// damaged (the run is then invalid).
std::size_t run(const Workload& work, const Variant& variant) {
  Sent queue[kMaxBurst];
  std::size_t message = 0;
  std::uint32_t sequence = 0;
  for (const std::uint8_t length : work.burst_lengths) {
    for (int i = 0; i < length; ++i) {
      const int type = work.types[message + static_cast<std::size_t>(i)];
      void* pointer = variant.send(type, sequence);
      if (pointer == nullptr) {
        std::printf("%s: no memory for a message of type %d\n", variant.name, type);
        return 0;
      }
      const std::size_t size = kTypeSizes[type];
      auto* bytes = static_cast<std::byte*>(pointer);
      std::memset(bytes + 8, type, size - 8);
      queue[i] = Sent{pointer, type, sequence++};
    }
    for (int i = 0; i < length; ++i) {
      const auto* bytes = static_cast<const std::byte*>(queue[i].pointer);
      std::uint32_t seen = 0;
      std::memcpy(&seen, bytes + 4, 4);
      if (seen != queue[i].sequence ||
          bytes[kTypeSizes[queue[i].type] - 1] != static_cast<std::byte>(queue[i].type)) {
        std::printf("%s: message %u damaged\n", variant.name, queue[i].sequence);
        return 0;
      }
      variant.receive(queue[i].pointer, queue[i].type);
    }
    message += length;
  }
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 1;
  if (!g_heap.claim(keel::Span{g_arena})) {
    std::printf("cannot claim the arena\n");
    return 1;
  }
  const Workload work = make_workload();
  const Variant variants[] = {
      {"pools", &measured_pool_send, &measured_pool_receive},
      {"pools-unchecked", &measured_unchecked_send, &measured_unchecked_receive},
      {"keel", &measured_keel_send, &measured_keel_receive},
      {"glibc", &measured_glibc_send, &measured_glibc_receive},
  };
  std::printf("messages per run: %zu in %d bursts of 1..%d (types of 16/40/96/200 bytes)\n",
              work.types.size(), kBursts, kMaxBurst);
  for (const Variant& variant : variants) {
    std::size_t messages = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int repeat = 0; repeat < repeats; ++repeat) {
      messages = run(work, variant);
      if (messages == 0) {
        return 1;
      }
    }
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;
    std::printf("%-15s %zu messages x %d runs: %.1f ns per message (native)\n", variant.name,
                messages, repeats, elapsed.count() / (static_cast<double>(messages) * repeats));
  }
  const keel::Statistics heap = g_heap.statistics();
  const std::size_t pool_bytes =
      sizeof g_pool_16 + sizeof g_pool_40 + sizeof g_pool_96 + sizeof g_pool_200;
  std::printf(
      "memory: pools reserve %zu bytes (4 x %zu messages, statically); the keel heap's "
      "peak in use was %zu bytes\n",
      pool_bytes, kPoolDepth, heap.peak_bytes_in_use);
  std::printf("pool failures: %llu; keel heap valid: %s; live blocks: pools %zu, keel %zu\n",
              static_cast<unsigned long long>(g_pool_16.statistics().failed_acquisitions +
                                              g_pool_40.statistics().failed_acquisitions +
                                              g_pool_96.statistics().failed_acquisitions +
                                              g_pool_200.statistics().failed_acquisitions),
              g_heap.validate().ok() ? "yes" : "NO",
              g_pool_16.in_use() + g_pool_40.in_use() + g_pool_96.in_use() + g_pool_200.in_use(),
              heap.live_allocations);
  return 0;
}
