// port_recording.hpp (Cortex-M): where a recorded heap's bytes go (keel/recorder.hpp): a file on
// the host, written through Arm semihosting (QEMU: -semihosting-config enable=on; a debug probe
// with semihosting support on real hardware).
//
// Each write is one SYS_WRITE: a `bkpt 0xab` that stops the core until the host has taken the
// bytes. Under QEMU that is one instruction; on hardware with a debug probe it is a debug halt,
// typically 1-10 ms per call, which is why the recorder hands over whole buffers. Without a
// debugger attached, bkpt raises a HardFault: record only with one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::port {

/// A keel::RecordingSink that writes a host file. All zero (closed) until open().
class RecordingSink {
 public:
  /// Opens (creates or truncates) `path` on the host for binary writing; relative paths are
  /// relative to the debugger's (QEMU's) working directory. False if the host refused.
  bool open(const char* path) noexcept;
  /// Writes `size` bytes to the file; nothing if it is not open. Any context: it does not
  /// allocate, and the core stops until the host has the bytes.
  void write(const std::byte* data, std::size_t size) noexcept;
  /// Closes the file.
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept { return handle_plus_one_ != 0; }

 private:
  std::uint32_t handle_plus_one_ = 0;  ///< the host's handle + 1; 0 when closed
};

}  // namespace keel::port
