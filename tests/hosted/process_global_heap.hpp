// tests/hosted/process_global_heap.hpp: the process heap that test_hosted_libc's malloc uses.
#pragma once

#include "keel/hosted/process_heap.hpp"

namespace keel_test {

using ProcessGlobalHeap = keel::hosted::ProcessHeap<>;
extern ProcessGlobalHeap g_process_heap;

}  // namespace keel_test
