// bench/src/trace.hpp: allocation traces, parsed into memory before they are replayed.
//
// The format is /work/shared/traces/FORMAT.md: one operation a line, `a ID SIZE ALIGN`,
// `c ID COUNT SIZE`, `r ID NEWSIZE`, `f ID`, `#` comments. Files are gzip-compressed and are
// read through `gzip -dc`, so the benchmark needs no compression library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace keel_bench {

enum class OpKind : std::uint8_t { allocate, allocate_zeroed, reallocate, free };

/// One trace operation. For allocate_zeroed, `count` elements of `size` bytes.
struct TraceOp {
  OpKind kind;
  std::uint32_t id;
  std::uint32_t align;  ///< allocate: the alignment asked for; otherwise 0
  std::uint32_t count;  ///< allocate_zeroed: the element count; otherwise 1
  std::uint64_t size;   ///< allocate, reallocate: bytes; allocate_zeroed: bytes per element
};

struct Trace {
  std::string name;
  std::vector<TraceOp> ops;
  std::uint32_t id_limit = 0;        ///< every id is below this
  std::size_t peak_live_bytes = 0;   ///< the largest sum of live request sizes
  std::size_t peak_live_blocks = 0;  ///< the largest number of live blocks
  std::size_t allocations = 0;       ///< allocate and allocate_zeroed operations
  std::size_t frees = 0;
  std::size_t reallocations = 0;
};

/// The directory holding the shared traces (KEEL_BENCH_TRACE_DIR, or the build-time default).
[[nodiscard]] std::string trace_directory();

/// Reads `<directory>/<name>.trace.gz`. Exits with a message if the file is missing or malformed
/// (an id used while not live, or allocated while live, is malformed too).
[[nodiscard]] Trace load_trace(const std::string& directory, const std::string& name);

/// A random alloc/free/realloc mix with alignments 8..4096 and sizes 1..8192 whose live bytes
/// wander up to about `live_target` bytes: it drives heaps into exhaustion when replayed in an
/// arena smaller than that. The same seed gives the same trace.
[[nodiscard]] Trace make_random_trace(std::uint64_t seed, std::size_t operations,
                                      std::size_t live_target);

}  // namespace keel_bench
