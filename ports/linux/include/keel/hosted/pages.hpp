// keel/hosted/pages.hpp: the Linux memory calls behind keel::hosted (mmap, mprotect, madvise).
//
// keel's core never maps memory; the hosted OOM policy (keel/hosted/map_on_oom.hpp) and the
// process heap (keel/hosted/process_heap.hpp) get address space and pages from the kernel
// through these few functions. None of them allocates or takes a lock, so they may run inside
// malloc; return_pages leaves errno as it was, so that free can call it.
#pragma once

#include <cstddef>

#include "keel/span.hpp"

namespace keel::hosted {

/// The kernel's page size (getauxval(AT_PAGESZ)), read once and cached.
[[nodiscard]] std::size_t page_size() noexcept;

/// Reserves `bytes` of address space: no access, no memory behind it, not counted against the
/// commit limit (mmap PROT_NONE, MAP_NORESERVE). Page-aligned. An empty span if the kernel
/// refuses (address-space limit, RLIMIT_AS).
[[nodiscard]] Span reserve_address_space(std::size_t bytes) noexcept;

/// Makes reserved pages readable and writable (mprotect). Pages are backed by memory only when
/// first touched. `data` and `bytes` are page multiples inside one reservation. False if the
/// kernel refuses (the commit limit under vm.overcommit_memory=2, the map count limit).
[[nodiscard]] bool commit(Span pages) noexcept;

/// Makes committed pages reserved again (mprotect PROT_NONE): for pages committed for a region
/// the heap then refused.
void decommit(Span pages) noexcept;

/// Gives a reservation back (munmap). For heaps that go away, e.g. in tests.
void release_address_space(Span reservation) noexcept;

/// Hands the whole pages inside `span` back to the kernel (madvise MADV_DONTNEED): their memory
/// is freed at once, the addresses stay usable and read as zeros when next touched. Pages only
/// partly inside `span` are kept. Returns the bytes handed back (0 if none, or if the kernel
/// refused). O(pages) in the kernel.
std::size_t return_pages(Span span) noexcept;

}  // namespace keel::hosted
