// keel/detail/tools.hpp: telling AddressSanitizer and valgrind about keel's blocks.
//
// A custom arena hides its blocks from host tools: to them the arena is one big live object, so
// an overrun from one block into the next, or a read of freed memory, goes unseen. keel tells
// them what it knows:
//   - AddressSanitizer (any build with -fsanitize=address): everything in a region is poisoned
//     except the bytes of live blocks that the caller asked for; freeing poisons them again.
//     keel's own reads and writes of its headers and links go through unpoisoned accessors.
//   - valgrind memcheck (builds that define KEEL_VALGRIND=1; the header comes with Debian's
//     valgrind package): a region is marked no-access when claimed, each live block is announced
//     as a malloc-like block of its usable size, and keel's own metadata accesses are made with
//     error reporting switched off for the duration of a heap call.
// In builds with neither, every function here is empty and costs nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#define KEEL_TOOLS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_TOOLS_ASAN 1
#endif
#endif

#if defined(KEEL_TOOLS_ASAN)
#include <sanitizer/asan_interface.h>
#endif

#if defined(KEEL_VALGRIND) && KEEL_VALGRIND
#include <valgrind/memcheck.h>
#define KEEL_TOOLS_VALGRIND 1
#endif

#if defined(KEEL_TOOLS_ASAN)
#define KEEL_NO_SANITIZE_ADDRESS __attribute__((no_sanitize_address))
#else
#define KEEL_NO_SANITIZE_ADDRESS
#endif

namespace keel::detail::tools {

#if defined(KEEL_TOOLS_ASAN)
inline constexpr bool kAsan = true;
#else
inline constexpr bool kAsan = false;
#endif
#if defined(KEEL_TOOLS_VALGRIND)
inline constexpr bool kValgrind = true;
#else
inline constexpr bool kValgrind = false;
#endif
inline constexpr bool kActive = kAsan || kValgrind;

/// Memory the caller must not touch: free blocks, headers, gaps, a freshly claimed region.
inline void hide(const void* address, std::size_t bytes) {
#if defined(KEEL_TOOLS_ASAN)
  ASAN_POISON_MEMORY_REGION(address, bytes);
#endif
#if defined(KEEL_TOOLS_VALGRIND)
  VALGRIND_MAKE_MEM_NOACCESS(address, bytes);
#endif
  (void)address;
  (void)bytes;
}

/// The part of a live block past the size asked for: poisoned for ASan only.
inline void hide_from_asan(const void* address, std::size_t bytes) {
#if defined(KEEL_TOOLS_ASAN)
  ASAN_POISON_MEMORY_REGION(address, bytes);
#endif
  (void)address;
  (void)bytes;
}

/// Memory that is the caller's again (released by truncate, or a heap going away).
inline void give_back(const void* address, std::size_t bytes) {
#if defined(KEEL_TOOLS_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(address, bytes);
#endif
#if defined(KEEL_TOOLS_VALGRIND)
  VALGRIND_MAKE_MEM_UNDEFINED(address, bytes);
#endif
  (void)address;
  (void)bytes;
}

/// A block handed out: `size` bytes asked for, `usable` bytes it really has.
/// Under ASan at least one byte stays visible, even for size 0, so that on_free's probe tells a
/// live block from a freed one.
inline void on_allocate(void* payload, std::size_t size, std::size_t usable) {
#if defined(KEEL_TOOLS_ASAN)
  const std::size_t visible = size == 0 ? 1 : size;
  ASAN_UNPOISON_MEMORY_REGION(payload, visible);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(payload) + visible, usable - visible);
#endif
#if defined(KEEL_TOOLS_VALGRIND)
  VALGRIND_MALLOCLIKE_BLOCK(payload, usable, 0, 0);
#endif
  (void)payload;
  (void)size;
  (void)usable;
}

/// A live block resized in place from `old_usable` to `size` bytes asked (`usable` in all).
inline void on_resize(void* payload, std::size_t old_usable, std::size_t size, std::size_t usable) {
#if defined(KEEL_TOOLS_ASAN)
  const std::size_t visible = size == 0 ? 1 : size;
  ASAN_UNPOISON_MEMORY_REGION(payload, visible);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(payload) + visible,
                            (usable > old_usable ? usable : old_usable) - visible);
#endif
#if defined(KEEL_TOOLS_VALGRIND)
  VALGRIND_RESIZEINPLACE_BLOCK(payload, old_usable, usable, 0);
#endif
  (void)payload;
  (void)old_usable;
  (void)size;
  (void)usable;
}

/// A live block about to be freed. Under ASan, touching its first byte makes a second free of
/// the same block (already poisoned) a use-after-poison report at the free, even with keel's
/// own checks off.
inline void on_free(void* payload, std::size_t usable) {
#if defined(KEEL_TOOLS_ASAN)
  (void)*static_cast<volatile char*>(payload);
  ASAN_POISON_MEMORY_REGION(payload, usable);
#endif
#if defined(KEEL_TOOLS_VALGRIND)
  // Announced with error reporting on (a heap call pauses it, Scope), so that memcheck reports
  // the free of a block it does not know as live: a double free with keel's checks off.
  VALGRIND_ENABLE_ERROR_REPORTING;
  VALGRIND_FREELIKE_BLOCK(payload, 0);
  VALGRIND_DISABLE_ERROR_REPORTING;
#endif
  (void)payload;
  (void)usable;
}

/// Valgrind only: whatever block memcheck knows at `payload` is gone, announced inside a Scope so
/// that an address memcheck does not know (a block already freed) is not an error.
inline void forget(const void* payload) {
#if defined(KEEL_TOOLS_VALGRIND)
  VALGRIND_FREELIKE_BLOCK(payload, 0);
#endif
  (void)payload;
}

/// Opens all `bytes` of a live block for keel to copy when it moves the block: under ASan only
/// the bytes asked for are unpoisoned, and keel does not know how many that was. The block is
/// freed (and poisoned) right after. Valgrind needs nothing: the whole block is addressable.
inline void open_for_copy(const void* payload, std::size_t bytes) {
#if defined(KEEL_TOOLS_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(payload, bytes);
#endif
  (void)payload;
  (void)bytes;
}

/// For the duration of a heap call: keel's reads and writes of its own (no-access) metadata are
/// not errors. Real errors of the caller are reported outside heap calls.
class Scope {
 public:
  Scope() {
#if defined(KEEL_TOOLS_VALGRIND)
    VALGRIND_DISABLE_ERROR_REPORTING;
#endif
  }
  ~Scope() {
#if defined(KEEL_TOOLS_VALGRIND)
    VALGRIND_ENABLE_ERROR_REPORTING;
#endif
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
};

}  // namespace keel::detail::tools
