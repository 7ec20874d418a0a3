// bench/src/overhead.hpp: bytes each allocation really consumes, for request sizes 1..64.
#pragma once

namespace keel_bench {

/// Prints, for each size 1..64, the address step between consecutive allocations of that size
/// (the most common one of 32): keel at align 8, keel at its default alignment (16 on
/// x86_64), glibc malloc; and glibc's malloc_usable_size + 8 as a cross-check.
void print_overhead_table();

}  // namespace keel_bench
