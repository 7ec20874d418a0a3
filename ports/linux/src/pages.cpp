// ports/linux/src/pages.cpp: mmap, mprotect and madvise for keel::hosted (keel/hosted/pages.hpp).
#include "keel/hosted/pages.hpp"

#include <sys/auxv.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace keel::hosted {
namespace {

constinit std::atomic<std::size_t> g_page_size{0};

std::uintptr_t address_of(const void* pointer) {
  return reinterpret_cast<std::uintptr_t>(pointer);
}

}  // namespace

std::size_t page_size() noexcept {
  std::size_t size = g_page_size.load(std::memory_order_relaxed);
  if (size == 0) {
    // Every thread that gets here stores the same value.
    size = static_cast<std::size_t>(getauxval(AT_PAGESZ));
    if (size == 0) {
      size = 4096;
    }
    g_page_size.store(size, std::memory_order_relaxed);
  }
  return size;
}

Span reserve_address_space(std::size_t bytes) noexcept {
  void* start = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (start == MAP_FAILED) {
    return Span{};
  }
  return Span{start, bytes};
}

bool commit(Span pages) noexcept {
  return mprotect(pages.data, pages.size, PROT_READ | PROT_WRITE) == 0;
}

void decommit(Span pages) noexcept {
  mprotect(pages.data, pages.size, PROT_NONE);
}

void release_address_space(Span reservation) noexcept {
  if (!reservation.empty()) {
    munmap(reservation.data, reservation.size);
  }
}

std::size_t return_pages(Span span) noexcept {
  const std::size_t page = page_size();
  const std::uintptr_t first = (address_of(span.data) + page - 1) & ~(page - 1);
  const std::uintptr_t end = (address_of(span.data) + span.size) & ~(page - 1);
  if (span.data == nullptr || end <= first) {
    return 0;
  }
  const std::size_t bytes = end - first;
  const int saved_errno = errno;  // free() must leave errno as it was (POSIX.1-2024)
  // NOLINTNEXTLINE(performance-no-int-to-ptr): a page address computed from a block's address
  const bool done = madvise(reinterpret_cast<void*>(first), bytes, MADV_DONTNEED) == 0;
  errno = saved_errno;
  return done ? bytes : 0;
}

}  // namespace keel::hosted
