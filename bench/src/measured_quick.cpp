// bench/src/measured_quick.cpp: the measured wrappers of the heap with quick lists, in a unit of
// their own (measured.cpp says why).
#include "measured_impl.hpp"

namespace measured {

KEEL_BENCH_DEFINE_MEASURED(keel_bench::QuickHeap)

}  // namespace measured
