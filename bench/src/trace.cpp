// bench/src/trace.cpp: reading and generating allocation traces.
#include "trace.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "random.hpp"

#ifndef KEEL_BENCH_TRACE_DIR
#define KEEL_BENCH_TRACE_DIR "../shared/traces"
#endif

namespace keel_bench {
namespace {

[[noreturn]] void fail(const std::string& where, const char* what) {
  std::fprintf(stderr, "keel_bench: %s: %s\n", where.c_str(), what);
  std::exit(2);
}

/// Tracks live ids and sizes while a trace is built, to validate it and find its peaks.
class LiveSet {
 public:
  void allocate(Trace& trace, std::uint32_t id, std::size_t bytes, const std::string& where) {
    grow(id);
    if (live_[id]) {
      fail(where, "id allocated while live");
    }
    live_[id] = true;
    sizes_[id] = bytes;
    bytes_ += bytes;
    ++blocks_;
    note_peak(trace);
  }
  void reallocate(Trace& trace, std::uint32_t id, std::size_t bytes, const std::string& where) {
    if (id >= live_.size() || !live_[id]) {
      fail(where, "reallocate of an id that is not live");
    }
    bytes_ = bytes_ - sizes_[id] + bytes;
    sizes_[id] = bytes;
    note_peak(trace);
  }
  void free(std::uint32_t id, const std::string& where) {
    if (id >= live_.size() || !live_[id]) {
      fail(where, "free of an id that is not live");
    }
    live_[id] = false;
    bytes_ -= sizes_[id];
    --blocks_;
  }
  [[nodiscard]] bool is_live(std::uint32_t id) const { return id < live_.size() && live_[id]; }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  [[nodiscard]] std::size_t size_of(std::uint32_t id) const { return sizes_[id]; }

 private:
  void grow(std::uint32_t id) {
    if (id >= live_.size()) {
      live_.resize(id + 1U, false);
      sizes_.resize(id + 1U, 0);
    }
  }
  void note_peak(Trace& trace) const {
    trace.peak_live_bytes = bytes_ > trace.peak_live_bytes ? bytes_ : trace.peak_live_bytes;
    trace.peak_live_blocks = blocks_ > trace.peak_live_blocks ? blocks_ : trace.peak_live_blocks;
  }

  std::vector<bool> live_;
  std::vector<std::size_t> sizes_;
  std::size_t bytes_ = 0;
  std::size_t blocks_ = 0;
};

bool parse_number(const char*& cursor, std::uint64_t& value) {
  char* end = nullptr;
  value = std::strtoull(cursor, &end, 10);
  if (end == cursor) {
    return false;
  }
  cursor = end;
  return true;
}

}  // namespace

std::string trace_directory() {
  const char* from_environment = std::getenv("KEEL_BENCH_TRACE_DIR");
  return from_environment != nullptr ? from_environment : KEEL_BENCH_TRACE_DIR;
}

Trace load_trace(const std::string& directory, const std::string& name) {
  const std::string path = directory + "/" + name + ".trace.gz";
  if (FILE* probe = std::fopen(path.c_str(), "rb")) {
    std::fclose(probe);
  } else {
    fail(path, "cannot open");
  }
  const std::string command = "gzip -dc '" + path + "'";
  FILE* input = popen(command.c_str(), "r");
  if (input == nullptr) {
    fail(path, "cannot run gzip");
  }
  Trace trace;
  trace.name = name;
  trace.ops.reserve(1U << 18);
  LiveSet live;
  char line[256];
  std::size_t line_number = 0;
  while (std::fgets(line, sizeof line, input) != nullptr) {
    ++line_number;
    const std::string where = path + ":" + std::to_string(line_number);
    const char* cursor = line;
    while (*cursor == ' ' || *cursor == '\t') {
      ++cursor;
    }
    if (*cursor == '#' || *cursor == '\n' || *cursor == '\0') {
      continue;
    }
    const char letter = *cursor++;
    std::uint64_t numbers[3] = {};
    const int wanted = letter == 'a' || letter == 'c' ? 3
                       : letter == 'r'                ? 2
                       : letter == 'f'                ? 1
                                                      : 0;
    if (wanted == 0) {
      fail(where, "unknown operation");
    }
    for (int i = 0; i < wanted; ++i) {
      if (!parse_number(cursor, numbers[i])) {
        fail(where, "missing number");
      }
    }
    if (numbers[0] > 0xFFFFFFU) {
      fail(where, "id too large");
    }
    TraceOp op{};
    op.id = static_cast<std::uint32_t>(numbers[0]);
    op.count = 1;
    switch (letter) {
      case 'a':
        if (numbers[2] == 0 || (numbers[2] & (numbers[2] - 1)) != 0 || numbers[2] > 1U << 20) {
          fail(where, "bad alignment");
        }
        op.kind = OpKind::allocate;
        op.size = numbers[1];
        op.align = static_cast<std::uint32_t>(numbers[2]);
        live.allocate(trace, op.id, op.size, where);
        ++trace.allocations;
        break;
      case 'c':
        if (numbers[1] > 0xFFFFFFFFU) {
          fail(where, "count too large");
        }
        op.kind = OpKind::allocate_zeroed;
        op.count = static_cast<std::uint32_t>(numbers[1]);
        op.size = numbers[2];
        live.allocate(trace, op.id, op.size * op.count, where);
        ++trace.allocations;
        break;
      case 'r':
        op.kind = OpKind::reallocate;
        op.size = numbers[1];
        live.reallocate(trace, op.id, op.size, where);
        ++trace.reallocations;
        break;
      default:
        op.kind = OpKind::free;
        live.free(op.id, where);
        ++trace.frees;
        break;
    }
    trace.id_limit = op.id + 1 > trace.id_limit ? op.id + 1 : trace.id_limit;
    trace.ops.push_back(op);
  }
  if (pclose(input) != 0 || trace.ops.empty()) {
    fail(path, "gzip failed or the trace is empty");
  }
  return trace;
}

Trace make_random_trace(std::uint64_t seed, std::size_t operations, std::size_t live_target) {
  static constexpr std::uint32_t kAlignments[] = {8, 8, 8, 8, 16, 16, 32, 64, 256, 4096};
  static constexpr std::uint32_t kIds = 4096;
  Random random(seed);
  Trace trace;
  trace.name = "random_exhaustion";
  trace.ops.reserve(operations);
  LiveSet live;
  std::vector<std::uint32_t> live_ids;
  std::vector<std::uint32_t> aligned(kIds, 8);
  std::vector<std::uint32_t> free_ids;
  for (std::uint32_t id = kIds; id > 0; --id) {
    free_ids.push_back(id - 1);
  }
  const std::string where = "random trace";
  while (trace.ops.size() < operations) {
    const std::size_t roll = random.below(100);
    const bool want_more = live.bytes() < live_target && !free_ids.empty();
    if (live_ids.empty() || (want_more && roll < 55)) {
      const std::uint32_t id = free_ids.back();
      free_ids.pop_back();
      // log-uniform sizes 1..8192
      const std::size_t size = 1 + random.below(std::size_t{1} << (1 + random.below(13)));
      const std::uint32_t align = kAlignments[random.below(std::size(kAlignments))];
      trace.ops.push_back(TraceOp{OpKind::allocate, id, align, 1, size});
      aligned[id] = align;
      live.allocate(trace, id, size, where);
      live_ids.push_back(id);
      ++trace.allocations;
      continue;
    }
    const std::size_t pick = random.below(live_ids.size());
    const std::uint32_t id = live_ids[pick];
    if (roll < 75 && aligned[id] == 8) {
      const std::size_t size = 1 + random.below(std::size_t{1} << (1 + random.below(13)));
      trace.ops.push_back(TraceOp{OpKind::reallocate, id, 0, 1, size});
      live.reallocate(trace, id, size, where);
      ++trace.reallocations;
      continue;
    }
    trace.ops.push_back(TraceOp{OpKind::free, id, 0, 1, 0});
    live.free(id, where);
    live_ids[pick] = live_ids.back();
    live_ids.pop_back();
    free_ids.push_back(id);
    ++trace.frees;
  }
  for (const std::uint32_t id : live_ids) {
    trace.ops.push_back(TraceOp{OpKind::free, id, 0, 1, 0});
    live.free(id, where);
    ++trace.frees;
  }
  trace.id_limit = kIds;
  return trace;
}

}  // namespace keel_bench
