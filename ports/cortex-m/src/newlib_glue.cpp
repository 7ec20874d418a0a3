// newlib_glue.cpp: the system calls newlib's stdio and exit need, for images that link newlib
// (the demo kernel and the measurement images). stdout and stderr go to the console; there is
// no input and no file system. _sbrk is not here: newlib's own malloc is replaced by keel in the
// demo, and the measurement images that keep newlib's malloc bring their own _sbrk.
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>

#include "port.hpp"

extern "C" {

int _write(int file, const char* text, int length) {
  if (file != 1 && file != 2) {
    errno = EBADF;
    return -1;
  }
  keel::port::console_write(text, static_cast<std::size_t>(length));
  return length;
}

int _read(int /*file*/, char* /*text*/, int /*length*/) {
  return 0;
}

int _close(int /*file*/) {
  errno = EBADF;
  return -1;
}

int _fstat(int /*file*/, struct stat* status) {
  status->st_mode = S_IFCHR;
  return 0;
}

int _isatty(int /*file*/) {
  return 1;
}

int _lseek(int /*file*/, int /*offset*/, int /*whence*/) {
  return 0;
}

int _getpid() {
  return 1;
}

int _kill(int /*pid*/, int /*signal*/) {
  errno = EINVAL;
  return -1;
}

[[noreturn]] void _exit(int status) {
  keel::port::exit(status);
}

}  // extern "C"
