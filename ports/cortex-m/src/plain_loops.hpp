// plain_loops.hpp: KEEL_PLAIN_LOOPS marks a function whose copy and fill loops must stay loops.
//
// Optimisers turn such loops into calls to memcpy and memset. Inside memcpy and memset themselves
// (libc_min.cpp) the call would recurse for ever; in the reset handler (startup.cpp) it would run
// before .data exists, in an image that may have no memcpy at all. GCC: the optimize attribute
// switches that transformation off. clang ignores optimize; no_builtin forbids it to assume these
// functions in the marked function (-ffreestanding does so for a whole translation unit).
#pragma once

#if defined(__clang__)
#define KEEL_PLAIN_LOOPS __attribute__((no_builtin("memcpy", "memset", "memmove")))
#else
#define KEEL_PLAIN_LOOPS [[gnu::optimize("no-tree-loop-distribute-patterns")]]
#endif
