# ports/x86_64/toolchain.cmake: the x86_64 kernel, built with the host g++ in freestanding mode.
#
#     cmake -S qemu-demo/x86_64 -B build/x86-kernel     (the kernel's own CMake project picks
#                                                        this file when none is given)
#
# Every translation unit is freestanding C++ for a 64-bit kernel: no red zone (interrupts land
# on the kernel stack), the kernel code model (-mcmodel=kernel: the image is linked at 1 MiB,
# which R_X86_64_32S relocations reach), no PIC/PIE (Debian's g++ defaults to PIE), no stack
# protector or CET notes, no unwind tables, and none of the C++ runtime (no thread-safe statics,
# no atexit registration, no exceptions, no RTTI). SSE stays on: the boot stub enables it and
# the interrupt stubs save it. Links use -nostdlib plus -lgcc.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # nothing links without the port

set(CMAKE_C_COMPILER gcc)
set(CMAKE_CXX_COMPILER g++)
set(CMAKE_ASM_COMPILER gcc)

set(_keel_x86_common
    "-ffreestanding -fno-pic -fno-pie -mno-red-zone -mcmodel=kernel -fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${_keel_x86_common}")
set(CMAKE_CXX_FLAGS_INIT
    "${_keel_x86_common} -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit")
set(CMAKE_ASM_FLAGS_INIT "-fno-pie")
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "-nostdlib -static -no-pie -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--gc-sections -Wl,--build-id=none")
set(CMAKE_C_STANDARD_LIBRARIES "-lgcc" CACHE STRING "")
set(CMAKE_CXX_STANDARD_LIBRARIES "-lgcc" CACHE STRING "")
set(CMAKE_EXECUTABLE_SUFFIX_C .elf)
set(CMAKE_EXECUTABLE_SUFFIX_CXX .elf)
