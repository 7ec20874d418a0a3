// keel/detail/heap_inspect.hpp: statistics(), walk(), validate(), check(), dump() and the largest
// free block of keel::Heap.
//
// Kept apart from heap.hpp because none of it is on the allocation path: these read the counters
// or walk every block and every bin. validate() is written defensively: it checks that an address
// lies inside a region before it reads there, so that a corrupted heap yields a violation, not a
// crash.
#pragma once

#include "keel/heap.hpp"

namespace keel {

template <typename Oom, HeapOptions kOptions>
Statistics Heap<Oom, kOptions>::statistics() const {
  const detail::tools::Scope scope;
  Statistics result{};
  if constexpr (kOptions.statistics) {
    result.bytes_claimed = counters_.claimed;
    result.bytes_in_use = counters_.in_use;
    result.bytes_free = counters_.free_bytes();
    result.bytes_overhead = counters_.overhead;
    result.peak_bytes_in_use = counters_.peak_in_use();
    result.min_bytes_free = counters_.min_free();
    result.live_allocations = counters_.live;
    result.total_allocations = counters_.total;
    result.failed_allocations = counters_.failed;
    result.free_blocks = counters_.free_blocks + (top_ != nullptr ? 1 : 0) + cached_blocks();
    result.region_count = counters_.regions;
  }
  result.largest_free_block = largest_free_block();
  if (result.bytes_free != 0) {
    const std::size_t largest_bytes =
        result.largest_free_block == 0 ? 0 : result.largest_free_block + detail::kHeaderBytes;
    result.fragmentation_permille = 1000 - detail::permille(largest_bytes, result.bytes_free);
  }
  return result;
}

template <typename Oom, HeapOptions kOptions>
template <typename V>
void Heap<Oom, kOptions>::walk(V&& visitor) const {
  const detail::tools::Scope scope;
  for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
    std::byte* sentinel = region_sentinel(record);
    for (std::byte* block = record + detail::kRecordBytes; block < sentinel;
         block = next_block_of(block)) {
      const Word header = header_of(block);
      const Word granules = detail::granules_of(header);
      if (granules == 0 ||
          granules > (address_of(sentinel) - address_of(block)) >> detail::kGranuleShift) {
        break;  // a corrupt header (validate() names it): no next block to go to in this region
      }
      if (detail::is_pad(header)) {
        continue;
      }
      const bool used = (header & detail::kUsedBit) != 0;
      visitor(BlockInfo{detail::payload_of(block),
                        used ? payload_size(block) : detail::usable_bytes(granules), used,
                        used ? tag_of(block) : AllocationTag{}});
    }
  }
}

template <typename Oom, HeapOptions kOptions>
ValidationResult Heap<Oom, kOptions>::validate() const {
  using namespace detail;
  const tools::Scope scope;
  const auto fail = [](Violation kind, const void* address) {
    return ValidationResult{kind, address};
  };
  const auto in_heap = [this](std::uintptr_t address) {
    return address >= low_ && address < high_ &&
           (address & (kGranule - 1)) == kGranule - kHeaderBytes;
  };

  std::size_t free_found = 0;
  std::size_t in_use = 0;
  std::size_t free_bytes = 0;
  std::size_t claimed = 0;
  std::size_t regions = 0;
  std::size_t live = 0;
  std::size_t cached_found = 0;  // blocks on the quick lists (section 15): free, not merged
  std::size_t cached_bytes = 0;
  bool top_found = top_ == nullptr;
  const std::byte* previous_record = nullptr;
  for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
    if (!in_heap(address_of(record)) || header_of(record) != kRecordHeader ||
        region_prev(record) != previous_record) {
      return fail(Violation::region_broken, record);
    }
    std::byte* sentinel = region_sentinel(record);
    if (!in_heap(address_of(sentinel)) || sentinel < record + kRecordBytes ||
        granules_of(header_of(sentinel)) != 0 || (header_of(sentinel) & kUsedBit) == 0) {
      return fail(Violation::region_broken, record);
    }
    // At most one block of the largest size (HeapOptions::largest_block, or limit_blocks): every
    // block maps to a bin in use.
    if (region_extent_bytes(record) > largest_region()) {
      return fail(Violation::region_broken, record);
    }
    bool prev_used = true;
    bool pad_pending = false;
    std::byte* block = record + kRecordBytes;
    while (block < sentinel) {
      const Word header = header_of(block);
      const Word granules = granules_of(header);
      if (granules == 0 || granules > static_cast<std::size_t>(sentinel - block) >> kGranuleShift) {
        return fail(Violation::block_out_of_bounds, block);
      }
      if (((header & kPrevUsedBit) != 0) != prev_used) {
        return fail(Violation::prev_used_mismatch, block);
      }
      if (kQuickClasses != 0 && is_cached(header)) {
        if (pad_pending || granules >= kMinBlockGranules + kQuickClasses) {
          return fail(Violation::free_list_broken, block);
        }
        ++cached_found;
        cached_bytes += bytes_of(granules);
        prev_used = true;  // its neighbours see it as used
        block = next_block(block, granules);
        continue;
      }
      const bool used = (header & kUsedBit) != 0;
      if (used) {
        const bool pad = detail::is_pad(header);
        if (!pad && ((header & kPaddedBit) != 0) != pad_pending) {
          return fail(Violation::bad_pad, block);
        }
        if (pad && (pad_pending || (header & kPaddedBit) != 0)) {
          return fail(Violation::bad_pad, block);
        }
        if (!pad) {
          ++live;
          if constexpr (kFull) {
            const std::size_t room = usable_bytes(granules) - trailer_bytes;
            const std::size_t size = load_word(block + bytes_of(granules) - kSizeOffset);
            // The check word first: it vouches for the size that steers the slack scan.
            if (size > room ||
                load_word(block + bytes_of(granules) - kCheckOffset) != check_word(block, size) ||
                first_mismatch(payload_of(block) + size, room - size, Fill::slack,
                               Checked::live_slack, size == 0 ? 1 : 0) != nullptr) {
              return fail(Violation::trailer_damaged, block);
            }
          }
        }
        in_use += bytes_of(granules);
        pad_pending = pad;
      } else {
        if (pad_pending || (header & kPaddedBit) != 0) {
          return fail(Violation::bad_pad, block);
        }
        if (granules < kMinBlockGranules) {
          return fail(Violation::block_out_of_bounds, block);
        }
        if (!prev_used) {
          return fail(Violation::adjacent_free_blocks, block);
        }
        if (load_word(block + bytes_of(granules) - kHeaderBytes) != granules) {
          return fail(Violation::bad_footer, block);
        }
        if constexpr (kFull) {
          const std::size_t inside = bytes_of(granules) - (kPrevLinkOffset + 4) - kHeaderBytes;
          if (granules > kMinBlockGranules &&
              first_mismatch(block + kPrevLinkOffset + 4, inside, Fill::freed) != nullptr) {
            return fail(Violation::free_block_written, block);
          }
        }
        // The top block ends at its region's sentinel.
        if (block == top_ && next_block(block, granules) != sentinel) {
          return fail(Violation::top_block_broken, block);
        }
        top_found |= block == top_;
        ++free_found;
        free_bytes += bytes_of(granules);
      }
      prev_used = used;
      block = next_block(block, granules);
    }
    if (block != sentinel) {
      return fail(Violation::block_out_of_bounds, block);
    }
    if (pad_pending) {
      return fail(Violation::bad_pad, sentinel);
    }
    if (((header_of(sentinel) & kPrevUsedBit) != 0) != prev_used) {
      return fail(Violation::prev_used_mismatch, sentinel);
    }
    claimed += region_extent_bytes(record);
    ++regions;
    previous_record = record;
  }
  if (!top_found) {
    return fail(Violation::top_block_broken, top_);
  }

  std::size_t listed = 0;
  const unsigned bins = bins_in_use();
  for (unsigned bin = 0; bin < bins; ++bin) {
    const unsigned row = second_bitmap_[bin / Bins::kSecondLevels];
    const bool bit = (row >> (bin % Bins::kSecondLevels) & 1U) != 0;
    if (bit != (heads_[bin] != 0)) {
      return fail(Violation::bitmap_mismatch, nullptr);
    }
    Word previous = 0;
    for (Word link = heads_[bin]; link != 0; link = link_next(from_link(link))) {
      std::byte* block = from_link(link);
      if (!in_heap(address_of(block)) || block == top_ || ++listed > free_found) {
        return fail(Violation::free_list_broken, block);
      }
      const Word header = header_of(block);
      if ((header & kNotFree) != 0 || granules_of(header) < kMinBlockGranules ||
          link_prev(block) != previous) {
        return fail(Violation::free_list_broken, block);
      }
      if (Bins::bin_of(granules_of(header)) != bin) {
        return fail(Violation::wrong_bin, block);
      }
      previous = link;
    }
  }
  // No bit beyond the last bin in use: its row's bits above it, the rows past it, and first
  // levels past the last.
  const unsigned last_row = (bins - 1) / Bins::kSecondLevels;
  if ((static_cast<unsigned>(second_bitmap_[last_row]) >> ((bins - 1) % Bins::kSecondLevels + 1)) !=
      0) {
    return fail(Violation::bitmap_mismatch, nullptr);
  }
  for (unsigned first = 0; first < Bins::kFirstLevels; ++first) {
    if (((first_bitmap_ >> first & 1U) != 0) != (second_bitmap_[first] != 0) ||
        (first > last_row && second_bitmap_[first] != 0)) {
      return fail(Violation::bitmap_mismatch, nullptr);
    }
  }
  if (Bins::kFirstLevels < 32 && first_bitmap_ >> (Bins::kFirstLevels % 32) != 0) {
    return fail(Violation::bitmap_mismatch, nullptr);
  }
  const std::size_t top_count = top_ != nullptr ? 1 : 0;
  if (listed + top_count != free_found) {
    return fail(Violation::free_block_unlisted, nullptr);
  }
  if (const ValidationResult cached = validate_cached(cached_found, in_heap); !cached.ok()) {
    return cached;
  }
  if constexpr (kOptions.statistics) {
    // free_bytes() is claimed - overhead - in use: with those three right, invariant 6 holds
    // when it equals the free bytes found. No peak is below what is in use now.
    if (counters_.in_use != in_use || counters_.free_bytes() != free_bytes + cached_bytes ||
        counters_.live != live || counters_.epoch_peak < in_use ||
        counters_.free_blocks + top_count != free_found || counters_.claimed != claimed ||
        counters_.regions != regions || counters_.overhead != regions * kRegionOverhead) {
      return fail(Violation::statistics_mismatch, nullptr);
    }
  }
  return ValidationResult{};
}

template <typename Oom, HeapOptions kOptions>
bool Heap<Oom, kOptions>::check() const {
  using namespace detail;
  const tools::Scope scope;
  for (unsigned first = 0; first < Bins::kFirstLevels; ++first) {
    if (((first_bitmap_ >> first & 1U) != 0) != (second_bitmap_[first] != 0)) {
      return false;
    }
  }
  const unsigned bins = bins_in_use();
  for (unsigned bin = 0; bin < Bins::kSecondLevels * Bins::kFirstLevels; ++bin) {
    const unsigned row = second_bitmap_[bin / Bins::kSecondLevels];
    const bool bit = (row >> (bin % Bins::kSecondLevels) & 1U) != 0;
    if (bit != (bin < bins && heads_[bin] != 0)) {
      return false;
    }
  }
  if constexpr (kOptions.statistics) {
    return counters_.overhead == counters_.regions * kRegionOverhead &&
           counters_.in_use + counters_.overhead <= counters_.claimed &&
           counters_.in_use <= counters_.epoch_peak;
  }
  return true;
}

template <typename Oom, HeapOptions kOptions>
std::size_t Heap<Oom, kOptions>::largest_free_block() const {
  Word largest = top_ == nullptr ? 0 : detail::granules_of(header_of(top_));
  if (first_bitmap_ == 0) {
    return largest == 0 ? 0 : detail::usable_bytes(largest);
  }
  const unsigned first = detail::highest_bit(first_bitmap_);
  const unsigned bin = first * Bins::kSecondLevels + detail::highest_bit(second_bitmap_[first]);
  unsigned budget = kLargestScan;
  for (Word link = heads_[bin]; link != 0 && budget != 0; --budget) {
    std::byte* block = from_link(link);
    const Word size = detail::granules_of(header_of(block));
    largest = size > largest ? size : largest;
    link = link_next(block);
  }
  return detail::usable_bytes(largest);
}

template <typename Oom, HeapOptions kOptions>
template <typename Sink>
void Heap<Oom, kOptions>::dump(Sink&& sink) const {
  using namespace detail;
  const tools::Scope scope;
  TextWriter<std::remove_reference_t<Sink>> out(sink);
  const Statistics stats = statistics();
  out.text("keel heap: ").decimal(stats.region_count).text(" region(s), ");
  out.decimal(stats.bytes_claimed).text(" B claimed, ").decimal(stats.bytes_in_use);
  out.text(" B in use, ").decimal(stats.bytes_free).text(" B free, peak ");
  out.decimal(stats.peak_bytes_in_use).text(" B, ").decimal(stats.live_allocations);
  out.text(" live, ").decimal(stats.failed_allocations).text(" failed, largest free ");
  out.decimal(stats.largest_free_block).text(" B, fragmentation ");
  out.decimal(stats.fragmentation_permille).text("/1000\n");
  for (std::byte* record = first_region_; record != nullptr; record = region_next(record)) {
    out.text("region ").address(record).text(" .. ");
    out.address(record + region_extent_bytes(record)).text(" (");
    out.decimal(region_extent_bytes(record)).text(" B)\n");
    std::byte* sentinel = region_sentinel(record);
    for (std::byte* block = record + kRecordBytes; block < sentinel; block = next_block_of(block)) {
      const Word header = header_of(block);
      const Word granules = granules_of(header);
      if (granules == 0) {
        out.text("  ").address(block).text(" broken header\n");
        break;
      }
      if (is_pad(header)) {
        continue;
      }
      out.text("  ").address(payload_of(block));
      out.text((header & kUsedBit) != 0 ? " used " : " free ");
      out.decimal(usable_bytes(granules)).text("\n");
    }
  }
}

template <typename Oom, HeapOptions kOptions>
template <typename Sink>
std::size_t Heap<Oom, kOptions>::leak_report(Sink&& sink) const {
  using namespace detail;
  const tools::Scope scope;
  struct Site {
    AllocationTag tag;
    std::size_t blocks;
    std::size_t bytes;
  };
  constexpr std::size_t kSites = 32;
  Site sites[kSites + 1] = {};  // the last one gathers "other"
  std::size_t site_count = 0;
  std::size_t live = 0;
  TextWriter<std::remove_reference_t<Sink>> out(sink);
  const auto write_tag = [&out](const AllocationTag& tag) {
    if (!tag.known()) {
      out.text("unknown");
    } else if (tag.line == 0) {
      out.text("code ").address(tag.file);
    } else {
      out.text(tag.file).text(":").decimal(tag.line);
    }
  };
  out.text("keel leak report: live blocks\n");
  walk([&](const BlockInfo& block) {
    if (!block.used) {
      return;
    }
    ++live;
    out.text("  ").address(block.address).text(" ").decimal(block.size).text(" B  ");
    write_tag(block.tag);
    out.text("\n");
    std::size_t index = 0;
    while (index < site_count && !(sites[index].tag == block.tag)) {
      ++index;
    }
    if (index == site_count) {
      if (site_count < kSites) {
        sites[site_count++].tag = block.tag;
      } else {
        index = kSites;
      }
    }
    ++sites[index].blocks;
    sites[index].bytes += block.size;
  });
  out.text("keel leak report: ").decimal(live).text(" live block(s) from ");
  out.decimal(site_count).text(" site(s)\n");
  for (std::size_t index = 0; index <= kSites; ++index) {
    if (sites[index].blocks == 0) {
      continue;
    }
    out.text("  ").decimal(sites[index].blocks).text(" block(s), ");
    out.decimal(sites[index].bytes).text(" B  ");
    if (index == kSites) {
      out.text("other sites");
    } else {
      write_tag(sites[index].tag);
    }
    out.text("\n");
  }
  return live;
}

}  // namespace keel
