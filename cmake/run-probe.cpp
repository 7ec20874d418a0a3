// cmake/run-probe.cpp: a program that does nothing. cmake/test-programs.cmake builds it with the
// build's compiler and flags and runs it, to learn whether this machine runs such programs.
int main() {
  return 0;
}
