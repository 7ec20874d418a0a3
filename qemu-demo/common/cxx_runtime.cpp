// qemu-demo/common/cxx_runtime.cpp: the few pieces of the C++ runtime that the standard
// containers reach without exceptions, for a kernel that links no libstdc++ (toolchain.cmake):
// the throw helpers of <bits/functexcept.h>, which libstdc++'s headers call when a container
// is misused or cannot grow, std::nothrow, and __cxa_pure_virtual. Each helper stops the kernel
// through keel::port::panic, which prints the heap's health. (operator new and delete come from
// keel::new_delete.)
#include <new>

#include "port.hpp"

// NOLINTBEGIN(cert-dcl58-cpp): these are the runtime's own functions, which this kernel lacks
namespace std {

const nothrow_t nothrow{};

[[noreturn]] void __throw_bad_alloc() {
  keel::port::panic("std::bad_alloc: out of memory in a container");
}
[[noreturn]] void __throw_bad_array_new_length() {
  keel::port::panic("std::bad_array_new_length");
}
[[noreturn]] void __throw_length_error(const char* what) {
  keel::port::panic(what);
}
[[noreturn]] void __throw_logic_error(const char* what) {
  keel::port::panic(what);
}
[[noreturn]] void __throw_out_of_range(const char* what) {
  keel::port::panic(what);
}
[[noreturn]] void __throw_out_of_range_fmt(const char* what, ...) {
  keel::port::panic(what);
}
[[noreturn]] void __throw_invalid_argument(const char* what) {
  keel::port::panic(what);
}

}  // namespace std
// NOLINTEND(cert-dcl58-cpp)

extern "C" [[noreturn]] void __cxa_pure_virtual() {
  keel::port::panic("pure virtual function called");
}
