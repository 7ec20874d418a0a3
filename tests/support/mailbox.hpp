// tests/support/mailbox.hpp: blocks that threads hand each other in the stress tests, each with
// a fill byte that says whether anyone wrote into it while it was away.
#pragma once

#include <cstddef>
#include <cstring>
#include <mutex>
#include <vector>

namespace keel_test {

/// A block a test owns: where, how big, its alignment, and the byte it is filled with.
struct Owned {
  unsigned char* pointer;
  std::size_t size;
  std::size_t align;
  unsigned char tag;
};

inline void fill(const Owned& block) {
  std::memset(block.pointer, block.tag, block.size);
}

inline bool intact(const Owned& block) {
  for (std::size_t i = 0; i < block.size; ++i) {
    if (block.pointer[i] != block.tag) {
      return false;
    }
  }
  return true;
}

/// Blocks in transit between threads. Its own mutex gives the hand-over a happens-before edge,
/// as any real queue would.
class Mailbox {
 public:
  void post(const Owned& block) {
    const std::lock_guard<std::mutex> guard(mutex_);
    blocks_.push_back(block);
  }
  bool take(Owned& block) {
    const std::lock_guard<std::mutex> guard(mutex_);
    if (blocks_.empty()) {
      return false;
    }
    block = blocks_.back();
    blocks_.pop_back();
    return true;
  }

 private:
  std::mutex mutex_;
  std::vector<Owned> blocks_;
};

}  // namespace keel_test
