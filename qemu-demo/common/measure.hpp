// qemu-demo/common/measure.hpp: the malloc/free cost workload, in instructions, shared by the
// demo and the measurement images (qemu-demo/cortex-m/measure_main.cpp), so that keel and
// newlib's malloc run exactly the same sequence of requests.
//
// The workload (the one of shared/reference's newlib baseline): xorshift32 from 0x12345678 picks
// one of `slots` slots per step; an empty slot gets malloc(min_size + r % size_span), a full one
// is freed. It runs until `operations` mallocs have been made, then frees what is left; every
// malloc and every free is one sample. Each call is timed alone with interrupts masked,
// between two reads of keel::port::counter(), and the cost of an empty window (the least of many,
// measured first) is subtracted: a sample is the instructions of the call itself, including the
// caller's branch to it. Exact under QEMU -icount to about one instruction (the counter's
// quantum).
#pragma once

#include <cstddef>
#include <cstdint>

#include "port.hpp"

namespace demo {

struct MeasureConfig {
  std::uint32_t slots = 64;
  std::uint32_t operations = 10000;  ///< mallocs (and so frees)
  std::uint32_t min_size = 8;
  std::uint32_t size_span = 249;  ///< sizes are min_size + r % size_span
  std::uint32_t seed = 0x12345678;
};

/// Instruction counts of one kind of call: an exact histogram up to kBins - 1, and the worst.
/// Up to 65535 samples per value (16-bit counts: 2 KiB for 1024 bins, small enough for the M0).
template <std::size_t kBins>
class Histogram {
 public:
  void add(std::uint64_t value) {
    const std::size_t clipped = value < kBins - 1 ? static_cast<std::size_t>(value) : kBins - 1;
    counts_[clipped] = static_cast<std::uint16_t>(counts_[clipped] + (counts_[clipped] != 0xFFFF));
    ++samples_;
    total_ += value;
    worst_ = value > worst_ ? value : worst_;
    best_ = value < best_ ? value : best_;
  }
  [[nodiscard]] std::uint64_t samples() const { return samples_; }
  [[nodiscard]] std::uint64_t worst() const { return worst_; }
  [[nodiscard]] std::uint64_t best() const { return samples_ == 0 ? 0 : best_; }
  [[nodiscard]] std::uint64_t mean() const { return samples_ == 0 ? 0 : total_ / samples_; }
  /// The lower median; kBins - 1 means "kBins - 1 or more".
  [[nodiscard]] std::uint64_t median() const { return percentile(50); }
  [[nodiscard]] std::uint64_t percentile(unsigned percent) const {
    const std::uint64_t rank = samples_ == 0 ? 0 : (samples_ - 1) * percent / 100;
    std::uint64_t seen = 0;
    for (std::size_t value = 0; value < kBins; ++value) {
      seen += counts_[value];
      if (seen > rank) {
        return value;
      }
    }
    return kBins - 1;
  }

 private:
  std::uint16_t counts_[kBins] = {};
  std::uint64_t samples_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t worst_ = 0;
  std::uint64_t best_ = ~std::uint64_t{0};
};

struct MeasureResult {
  std::uint32_t mallocs = 0;
  std::uint32_t failed_mallocs = 0;
  std::uint32_t frees = 0;
  std::uint64_t window_overhead = 0;  ///< the empty window subtracted from each sample
};

/// The cost of an empty measurement window: the least of many. Interrupts masked.
inline std::uint64_t empty_window() {
  std::uint64_t least = ~std::uint64_t{0};
  for (int i = 0; i < 64; ++i) {
    keel::port::IrqLock lock;
    lock.lock();
    const std::uint64_t before = keel::port::counter();
    const std::uint64_t after = keel::port::counter();
    lock.unlock();
    least = after - before < least ? after - before : least;
  }
  return least;
}

/// Runs the workload with `allocate(size)` and `release(pointer)`, which should be calls the
/// compiler cannot inline (as malloc and free are), and adds one sample per call to `mallocs`
/// and `frees`. `slots_memory` holds `config.slots` pointers.
template <typename Allocate, typename Release, typename Samples>
MeasureResult measure(const MeasureConfig& config, void** slots_memory, Allocate&& allocate,
                      Release&& release, Samples& mallocs, Samples& frees) {
  MeasureResult result;
  result.window_overhead = empty_window();
  const auto sample = [&result](std::uint64_t before, std::uint64_t after) {
    const std::uint64_t window = after - before;
    return window > result.window_overhead ? window - result.window_overhead : 0;
  };
  for (std::uint32_t i = 0; i < config.slots; ++i) {
    slots_memory[i] = nullptr;
  }
  std::uint32_t state = config.seed;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  const auto free_slot = [&](std::uint32_t slot) {
    void* pointer = slots_memory[slot];
    keel::port::IrqLock lock;
    lock.lock();
    const std::uint64_t before = keel::port::counter();
    release(pointer);
    const std::uint64_t after = keel::port::counter();
    lock.unlock();
    frees.add(sample(before, after));
    slots_memory[slot] = nullptr;
    ++result.frees;
  };
  while (result.mallocs + result.failed_mallocs < config.operations) {
    const std::uint32_t slot = next() % config.slots;
    if (slots_memory[slot] != nullptr) {
      free_slot(slot);
      continue;
    }
    const std::size_t size = config.min_size + next() % config.size_span;
    keel::port::IrqLock lock;
    lock.lock();
    const std::uint64_t before = keel::port::counter();
    void* pointer = allocate(size);
    const std::uint64_t after = keel::port::counter();
    lock.unlock();
    if (pointer == nullptr) {
      ++result.failed_mallocs;
      continue;
    }
    mallocs.add(sample(before, after));
    slots_memory[slot] = pointer;
    ++result.mallocs;
  }
  for (std::uint32_t slot = 0; slot < config.slots; ++slot) {
    if (slots_memory[slot] != nullptr) {
      free_slot(slot);
    }
  }
  return result;
}

}  // namespace demo
