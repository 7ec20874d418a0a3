// tests/faces/fault_recorder.hpp: installs a fault handler that records instead of trapping, for
// the life of one object.
#pragma once

#include "keel/fault.hpp"

namespace keel_test {

class FaultRecorder {
 public:
  FaultRecorder() : previous_(keel::set_fault_handler(&record)) { reset(); }
  ~FaultRecorder() { keel::set_fault_handler(previous_); }
  FaultRecorder(const FaultRecorder&) = delete;
  FaultRecorder& operator=(const FaultRecorder&) = delete;

  static void reset() {
    count_ = 0;
    last_address_ = nullptr;
  }
  [[nodiscard]] static int count() { return count_; }
  [[nodiscard]] static keel::Fault last() { return last_; }
  [[nodiscard]] static const void* last_address() { return last_address_; }

 private:
  static void record(keel::Fault fault, const void* address) noexcept {
    ++count_;
    last_ = fault;
    last_address_ = address;
  }
  static inline int count_ = 0;
  static inline keel::Fault last_{};
  static inline const void* last_address_ = nullptr;
  keel::FaultHandler previous_;
};

}  // namespace keel_test
