// qemu-demo/x86_64/random.hpp: a small deterministic generator (xorshift64*) for the stress and
// benchmark workloads; each core seeds its own.
#pragma once

#include <cstdint>

namespace kernel {

class Random {
 public:
  constexpr explicit Random(std::uint64_t seed)
      : state_(seed == 0 ? 0x9E3779B97F4A7C15ULL : seed) {}

  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  /// A value in [0, bound).
  std::uint32_t below(std::uint32_t bound) {
    return static_cast<std::uint32_t>((next() >> 32) % bound);
  }

 private:
  std::uint64_t state_;
};

}  // namespace kernel
