// tests/hosted/process_global_heap.cpp: the global heap of test_hosted_libc, a
// keel::hosted::ProcessHeap: with keel::libc linked in, the test process's malloc family
// (GoogleTest's, libstdc++'s and glibc's own allocations included) runs on it from the start.
#include "hosted/process_global_heap.hpp"

#include "keel/global.hpp"

namespace keel_test {

constinit ProcessGlobalHeap g_process_heap;

}  // namespace keel_test

KEEL_GLOBAL_HEAP(keel_test::g_process_heap);
