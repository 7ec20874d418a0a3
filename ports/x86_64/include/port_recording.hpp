// port_recording.hpp (x86_64): where a recorded heap's bytes go (keel/recorder.hpp): the Bochs/
// QEMU debug port 0xe9, a byte channel apart from the COM1 console. QEMU writes it to a host
// file with `-debugcon file:PATH` (tests/x86_64/run-kernel.sh --debugcon PATH).
//
// Each byte is one `out` to port 0xe9 (`rep outsb`): under QEMU a trap to the device model per
// byte, and no wait. On hardware without such a port the bytes go nowhere; open() says so.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::port {

/// A keel::RecordingSink over the debug port. All zero (closed) until open().
class RecordingSink {
 public:
  /// The file is QEMU's (-debugcon file:PATH), so `path` is not used. False if no debug port
  /// answers (reading port 0xe9 gives 0xe9 when QEMU's debugcon is there).
  bool open(const char* path) noexcept;
  /// Writes `size` bytes to the port; nothing if it is not open. Any context.
  void write(const std::byte* data, std::size_t size) noexcept;
  void close() noexcept { open_ = false; }
  [[nodiscard]] bool is_open() const noexcept { return open_; }

 private:
  bool open_ = false;
};

}  // namespace keel::port
