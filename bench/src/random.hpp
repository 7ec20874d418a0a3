// bench/src/random.hpp: a small deterministic generator (splitmix64), the same on every host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel_bench {

class Random {
 public:
  explicit constexpr Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t value = (state_ += 0x9E3779B97F4A7C15ULL);
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
    return value ^ (value >> 31);
  }
  /// Uniform in [0, bound). Precondition: bound > 0.
  std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }

 private:
  std::uint64_t state_;
};

}  // namespace keel_bench
