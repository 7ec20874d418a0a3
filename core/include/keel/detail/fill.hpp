// keel/detail/fill.hpp: what keel writes into memory it does not hand out, and how it checks it
// (docs/design.md section 9, Checking::full). The fills go through the host tools' scopes
// (detail/tools.hpp), since the bytes they cover are poisoned for AddressSanitizer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/detail/block.hpp"
#include "keel/detail/tools.hpp"

namespace keel::detail {

/// Values keel writes into memory it no longer uses, so that a stale pointer finds a
/// recognisable word instead of a plausible header.
enum class Pattern : Word {
  freed_header = 0x0DEADF00U,  ///< a header absorbed by a merge (USED clear, size impossible)
};

/// Bytes written into memory under Checking::full, and checked later.
enum class Fill : std::uint8_t {
  freed = 0xDF,  ///< the inside of every free block; checked when the memory is handed out again
  slack = 0xAC,  ///< between the end of a request and the block's trailer; checked at free
};

/// Fills `bytes` at `address` with `fill`. The range may be poisoned for AddressSanitizer (free
/// memory, a slack): it is opened for the write and closed again.
inline void fill_bytes(std::byte* address, std::size_t bytes, Fill fill) {
  tools::give_back(address, bytes);
  __builtin_memset(address, static_cast<int>(fill), bytes);
  tools::hide(address, bytes);
}

/// Fills the slack of a live block. It stays poisoned for AddressSanitizer (which sees live blocks
/// at the size asked for) but addressable for valgrind (which sees them at their usable size and
/// keeps that view when the block is resized in place).
/// For a request of size 0 the first byte stays visible to ASan (detail/tools.hpp, on_allocate).
inline void fill_slack(std::byte* address, std::size_t bytes, std::size_t size) {
  tools::give_back(address, bytes);
  __builtin_memset(address, static_cast<int>(Fill::slack), bytes);
  const std::size_t visible = size == 0 && bytes != 0 ? 1 : 0;
  tools::hide_from_asan(address + visible, bytes - visible);
}

/// Whether checked memory is free (hidden from the caller) or the slack of a live block.
enum class Checked : bool { free_memory, live_slack };

/// The first byte in [address, address + bytes) that is not `fill`, or null. The range is left
/// as the tools saw it: hidden (free memory) or visible to valgrind only (a live block's slack).
inline const std::byte* first_mismatch(const std::byte* address, std::size_t bytes, Fill fill,
                                       Checked what = Checked::free_memory,
                                       std::size_t keep_visible = 0) {
  tools::give_back(address, bytes);
  const std::byte* found = nullptr;
  for (std::size_t i = 0; i < bytes; ++i) {
    if (address[i] != static_cast<std::byte>(fill)) {
      found = address + i;
      break;
    }
  }
  if (what == Checked::live_slack) {
    // keep_visible: the first byte of a size-0 block stays visible (detail/tools.hpp).
    const std::size_t visible = keep_visible < bytes ? keep_visible : bytes;
    tools::hide_from_asan(address + visible, bytes - visible);
  } else {
    tools::hide(address, bytes);
  }
  return found;
}

}  // namespace keel::detail
