// core/src/pool.cpp: BlockPool, the non-template code of every pool (keel/pool.hpp explains the
// layout, the O(1) pointer check and the invariants).
#include "keel/pool.hpp"

#include "keel/detail/bits.hpp"
#include "keel/fault.hpp"

namespace keel {
namespace {

namespace tools = detail::tools;

// A free block's link. Under AddressSanitizer free blocks are poisoned: the pool's own accesses
// are not instrumented.
KEEL_NO_SANITIZE_ADDRESS std::byte* load_link(const std::byte* block) {
  std::byte* link = nullptr;
  __builtin_memcpy(&link, block, sizeof link);  // the block is pointer-aligned: one load
  return link;
}

KEEL_NO_SANITIZE_ADDRESS void store_link(std::byte* block, std::byte* link) {
  __builtin_memcpy(block, &link, sizeof link);
}

}  // namespace

BlockPool::Prepared BlockPool::prepare(Span storage, std::size_t block_size, std::size_t align,
                                       PoolBitmap bitmap) noexcept {
  const Prepared none{nullptr, 0, 0};
  const std::size_t stride = stride_for(block_size, align);
  const auto start = reinterpret_cast<std::uintptr_t>(storage.data);
  std::uintptr_t end = 0;
  std::uintptr_t first = 0;
  const std::uintptr_t block_align = align < alignof(void*) ? alignof(void*) : align;
  if (stride == 0 || storage.data == nullptr || __builtin_add_overflow(start, storage.size, &end) ||
      __builtin_add_overflow(start, block_align - 1, &first)) {
    return none;
  }
  first = detail::align_down(first, block_align);
  if (first >= end) {
    return none;
  }
  std::size_t count = (end - first) / stride;
  if (bitmap.words != nullptr && count > bitmap.word_count * 32) {
    count = bitmap.word_count * 32;
  }
  if (count == 0) {
    return none;
  }
  return Prepared{reinterpret_cast<std::byte*>(first), stride, count};
}

BlockPool::BlockPool(Span storage, std::size_t block_size, std::size_t align, Checking checking,
                     PoolBitmap bitmap) noexcept
    : BlockPool(
          prepare(storage, block_size, align, checking != Checking::none ? bitmap : PoolBitmap{}),
          checking, checking != Checking::none ? bitmap : PoolBitmap{}) {
  if (bitmap_ != nullptr) {
    for (std::size_t word = 0; word < bitmap_words(capacity_); ++word) {
      bitmap_[word] = 0;
    }
  }
  tools::hide(base_, capacity_ * stride_);
}

#if defined(KEEL_TOOLS_ASAN) || defined(KEEL_TOOLS_VALGRIND)
BlockPool::~BlockPool() {
  {
    // Blocks still in use are gone with the pool (valgrind). Blocks already free are announced
    // too: the scope keeps memcheck from reporting them as invalid frees.
    const tools::Scope scope;
    for (std::byte* block = base_; block != untouched_; block += stride_) {
      tools::forget(block);
    }
  }
  tools::give_back(base_, capacity_ * stride_);
}
#endif

void* BlockPool::acquire() noexcept {
  const tools::Scope scope;
  std::byte* block = free_;
  if (block != nullptr) [[likely]] {
    std::byte* next = load_link(block);
    if (checking_ != Checking::none && next != nullptr &&
        (index_of(next) >= capacity_ || next >= untouched_)) [[unlikely]] {
      report_fault(Fault::corrupted_block, block);
      next = nullptr;  // the rest of the list cannot be trusted: drop it
    }
    free_ = next;
  } else if (untouched_ != end_) {
    block = untouched_;
    untouched_ += stride_;
    if (tools::kActive && block == base_) {
      tools::hide(untouched_, static_cast<std::size_t>(end_ - untouched_));  // constinit pools
    }
  } else {
    ++failed_;
    return nullptr;
  }
  if (bitmap_ != nullptr) {
    const std::size_t index = index_of(block);
    bitmap_[index / 32] |= std::uint32_t{1} << (index % 32);
  }
  ++total_;
  if (++in_use_ > peak_in_use_) {
    peak_in_use_ = in_use_;
  }
  tools::on_allocate(block, stride_, stride_);
  return block;
}

bool BlockPool::accept_release(const void* block) const noexcept {
  if (checking_ == Checking::none) {
    return true;
  }
  const std::size_t index = index_of(block);
  if (index >= capacity_ || block >= untouched_) [[unlikely]] {
    report_fault(Fault::pool_foreign, block);
    return false;
  }
  if (bitmap_ != nullptr ? !bit(index) : block == free_) [[unlikely]] {
    report_fault(Fault::pool_double_release, block);
    return false;
  }
  return true;
}

void BlockPool::push_free(void* block) noexcept {
  const tools::Scope scope;
  auto* bytes = static_cast<std::byte*>(block);
  if (bitmap_ != nullptr) {
    const std::size_t index = index_of(bytes);
    bitmap_[index / 32] &= ~(std::uint32_t{1} << (index % 32));
  }
  tools::on_free(bytes, stride_);
  store_link(bytes, free_);
  free_ = bytes;
  --in_use_;
}

// accept_release and push_free in one pass: the index is computed once.
void BlockPool::release(void* block) noexcept {
  if (block == nullptr) {
    return;
  }
  const tools::Scope scope;
  auto* bytes = static_cast<std::byte*>(block);
  if (checking_ != Checking::none) {
    const std::size_t index = index_of(bytes);
    if (index >= capacity_ || bytes >= untouched_) [[unlikely]] {
      report_fault(Fault::pool_foreign, block);
      return;
    }
    if (bitmap_ != nullptr) {
      std::uint32_t& word = bitmap_[index / 32];
      const std::uint32_t mask = std::uint32_t{1} << (index % 32);
      if ((word & mask) == 0) [[unlikely]] {
        report_fault(Fault::pool_double_release, block);
        return;
      }
      word &= ~mask;
    } else if (bytes == free_) [[unlikely]] {
      report_fault(Fault::pool_double_release, block);
      return;
    }
  }
  tools::on_free(bytes, stride_);  // with checking none, a double release is the tool's to report
  store_link(bytes, free_);
  free_ = bytes;
  --in_use_;
}

PoolStatistics BlockPool::statistics() const noexcept {
  PoolStatistics result;
  result.block_size = stride_;
  result.capacity = capacity_;
  result.in_use = in_use_;
  result.peak_in_use = peak_in_use_;
  result.total_acquisitions = total_;
  result.failed_acquisitions = failed_;
  return result;
}

PoolViolation BlockPool::validate() const noexcept {
  const tools::Scope scope;
  const std::size_t untouched_blocks =
      static_cast<std::size_t>(end_ - untouched_) / (stride_ == 0 ? 1 : stride_);
  if (in_use_ + untouched_blocks > capacity_) {
    return PoolViolation::count_mismatch;
  }
  const std::size_t expected = capacity_ - in_use_ - untouched_blocks;
  std::size_t listed = 0;
  for (const std::byte* block = free_; block != nullptr; block = load_link(block)) {
    if (index_of(block) >= capacity_ || block >= untouched_) {
      return PoolViolation::link_out_of_pool;
    }
    if (++listed > expected) {
      return PoolViolation::list_too_long;
    }
    if (bitmap_ != nullptr && bit(index_of(block))) {
      return PoolViolation::bitmap_mismatch;
    }
  }
  if (listed != expected) {
    return PoolViolation::count_mismatch;
  }
  if (bitmap_ != nullptr) {
    std::size_t set = 0;
    for (std::size_t index = 0; index < capacity_; ++index) {
      set += bit(index) ? 1U : 0U;
    }
    if (set != in_use_) {
      return PoolViolation::bitmap_mismatch;
    }
  }
  return PoolViolation::none;
}

}  // namespace keel
