// bench/icount/insn_window.cpp: a QEMU TCG plugin that counts, exactly, the guest instructions
// each measured allocator operation executes.
//
// Why a plugin: the instruction counts must be deterministic and per operation. This machine's
// perf has no hardware instruction counter (`perf stat -e instructions` says "not supported"
// under KVM), and ptrace single-stepping costs about 17 us a step here, which is hours for the
// traces. QEMU user mode runs the same static binary and counts every instruction it executes.
//
// What it counts: the benchmark brackets every allocator call with two marker NOPs
// (bench/src/marker.hpp). Between an opening and a closing marker the plugin counts every
// executed instruction, except
//   - instructions of functions whose symbol contains a `skip=` substring (the benchmark's own
//     code around the call: argument set-up, the call instruction), and
//   - instructions of functions whose symbol contains a `copy=` substring (memcpy/memmove), which
//     are counted apart, so that the copy of a moving reallocate can be excluded from the bound.
// The result equals what callgrind reports inclusively for the measured wrappers.
//
// Usage: qemu-x86_64 -plugin libinsn_window.so,out=FILE,skip=keel_bench,copy=memcpy,copy=memmove
//
// Output (FILE, tab-separated): per category `category id ops total max argmax copy_total
// copy_max min`, then `hist id instructions count` for the distribution of counts (counts at or
// above kHistogramLimit are folded into the last bucket), then `stray N` for closing markers
// that had no opening one (should be 0).
//
// The plugin API is declared here from QEMU's documented ABI, version 1 (QEMU 7.x), because
// Debian does not ship qemu-plugin.h.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
using qemu_plugin_id_t = std::uint64_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
using TranslateCallback = void (*)(qemu_plugin_id_t, qemu_plugin_tb*);
using AtExitCallback = void (*)(qemu_plugin_id_t, void*);
using ExecuteCallback = void (*)(unsigned int, void*);
enum QemuPluginInlineOp : int { kInlineAddU64 = 0 };
enum QemuPluginCallbackFlags : int { kNoRegisters = 0 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, TranslateCallback callback);
std::size_t qemu_plugin_tb_n_insns(const qemu_plugin_tb* tb);
qemu_plugin_insn* qemu_plugin_tb_get_insn(const qemu_plugin_tb* tb, std::size_t index);
const void* qemu_plugin_insn_data(const qemu_plugin_insn* insn);
std::size_t qemu_plugin_insn_size(const qemu_plugin_insn* insn);
const char* qemu_plugin_insn_symbol(const qemu_plugin_insn* insn);
void qemu_plugin_register_vcpu_insn_exec_inline(qemu_plugin_insn* insn, QemuPluginInlineOp op,
                                                void* counter, std::uint64_t value);
void qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_insn* insn, ExecuteCallback callback,
                                            QemuPluginCallbackFlags flags, void* user_data);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, AtExitCallback callback, void* user_data);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t* info, int argc,
                                                               char** argv);
}

namespace {

// The marker: nopw disp32(%rax,%rax,1) = 66 0F 1F 84 00 <disp32>, disp32 = 0x4B45'0000 | id.
constexpr unsigned char kMarkerPrefix[] = {0x66, 0x0F, 0x1F, 0x84, 0x00};
constexpr std::size_t kMarkerBytes = sizeof kMarkerPrefix + 4;
constexpr std::uint32_t kMarkerMagic = 0x4B450000U;
constexpr std::uint32_t kBegin = 0;
constexpr std::uint32_t kCategories = 256;
constexpr std::uint64_t kHistogramLimit = 4096;

struct CategoryStats {
  std::uint64_t ops = 0;
  std::uint64_t total = 0;
  std::uint64_t max = 0;
  std::uint64_t argmax = 0;  ///< 1-based ordinal, within the category, of the op with max
  std::uint64_t min = ~std::uint64_t{0};
  std::uint64_t copy_total = 0;
  std::uint64_t copy_max = 0;
  std::vector<std::uint64_t> histogram;
};

struct State {
  std::string out_path;
  std::vector<std::string> skip;
  std::vector<std::string> copy;
  // Incremented by inline TCG ops: instructions counted, and instructions of copy routines.
  std::uint64_t counted = 0;
  std::uint64_t copied = 0;
  bool open = false;
  std::uint64_t counted_at_open = 0;
  std::uint64_t copied_at_open = 0;
  std::uint64_t stray = 0;
  CategoryStats categories[kCategories];
};

State state;

bool contains_any(const char* symbol, const std::vector<std::string>& needles) {
  if (symbol == nullptr) {
    return false;
  }
  for (const std::string& needle : needles) {
    if (std::strstr(symbol, needle.c_str()) != nullptr) {
      return true;
    }
  }
  return false;
}

/// Returns the marker id of `insn`, or -1 if it is not a marker.
long marker_id(const qemu_plugin_insn* insn) {
  if (qemu_plugin_insn_size(insn) != kMarkerBytes) {
    return -1;
  }
  const auto* bytes = static_cast<const unsigned char*>(qemu_plugin_insn_data(insn));
  if (std::memcmp(bytes, kMarkerPrefix, sizeof kMarkerPrefix) != 0) {
    return -1;
  }
  std::uint32_t displacement = 0;
  std::memcpy(&displacement, bytes + sizeof kMarkerPrefix, sizeof displacement);
  if ((displacement & 0xFFFF0000U) != kMarkerMagic) {
    return -1;
  }
  return static_cast<long>(displacement & 0xFFFFU);
}

void on_marker(unsigned int /*vcpu*/, void* user_data) {
  const auto id = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(user_data));
  if (id == kBegin) {
    state.open = true;
    state.counted_at_open = state.counted;
    state.copied_at_open = state.copied;
    return;
  }
  if (!state.open || id >= kCategories) {
    ++state.stray;
    return;
  }
  state.open = false;
  const std::uint64_t counted = state.counted - state.counted_at_open;
  const std::uint64_t copied = state.copied - state.copied_at_open;
  CategoryStats& stats = state.categories[id];
  ++stats.ops;
  stats.total += counted;
  if (counted > stats.max || stats.ops == 1) {
    stats.max = counted;
    stats.argmax = stats.ops;
  }
  stats.min = counted < stats.min ? counted : stats.min;
  stats.copy_total += copied;
  stats.copy_max = copied > stats.copy_max ? copied : stats.copy_max;
  if (stats.histogram.empty()) {
    stats.histogram.assign(kHistogramLimit + 1, 0);
  }
  ++stats.histogram[counted < kHistogramLimit ? counted : kHistogramLimit];
}

void on_translate(qemu_plugin_id_t /*id*/, qemu_plugin_tb* tb) {
  const std::size_t count = qemu_plugin_tb_n_insns(tb);
  for (std::size_t i = 0; i < count; ++i) {
    qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const long marker = marker_id(insn);
    if (marker >= 0) {
      qemu_plugin_register_vcpu_insn_exec_cb(
          insn, on_marker, kNoRegisters,
          reinterpret_cast<void*>(static_cast<std::uintptr_t>(marker)));
      continue;
    }
    const char* symbol = qemu_plugin_insn_symbol(insn);
    if (contains_any(symbol, state.skip)) {
      continue;
    }
    std::uint64_t* counter = contains_any(symbol, state.copy) ? &state.copied : &state.counted;
    qemu_plugin_register_vcpu_insn_exec_inline(insn, kInlineAddU64, counter, 1);
  }
}

void on_exit(qemu_plugin_id_t /*id*/, void* /*user_data*/) {
  std::FILE* out = std::fopen(state.out_path.c_str(), "w");
  if (out == nullptr) {
    std::perror(state.out_path.c_str());
    return;
  }
  std::fprintf(out, "#category\tid\tops\ttotal\tmax\targmax\tcopy_total\tcopy_max\tmin\n");
  for (std::uint32_t id = 1; id < kCategories; ++id) {
    const CategoryStats& stats = state.categories[id];
    if (stats.ops == 0) {
      continue;
    }
    std::fprintf(
        out, "category\t%u\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n", id,
        static_cast<unsigned long long>(stats.ops), static_cast<unsigned long long>(stats.total),
        static_cast<unsigned long long>(stats.max), static_cast<unsigned long long>(stats.argmax),
        static_cast<unsigned long long>(stats.copy_total),
        static_cast<unsigned long long>(stats.copy_max),
        static_cast<unsigned long long>(stats.min));
  }
  for (std::uint32_t id = 1; id < kCategories; ++id) {
    const CategoryStats& stats = state.categories[id];
    for (std::size_t value = 0; value < stats.histogram.size(); ++value) {
      if (stats.histogram[value] != 0) {
        std::fprintf(out, "hist\t%u\t%zu\t%llu\n", id, value,
                     static_cast<unsigned long long>(stats.histogram[value]));
      }
    }
  }
  std::fprintf(out, "stray\t%llu\n", static_cast<unsigned long long>(state.stray));
  std::fclose(out);
}

}  // namespace

int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* /*info*/, int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    const std::string argument = argv[i];
    const std::size_t equals = argument.find('=');
    const std::string key = argument.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : argument.substr(equals + 1);
    if (key == "out") {
      state.out_path = value;
    } else if (key == "skip") {
      state.skip.push_back(value);
    } else if (key == "copy") {
      state.copy.push_back(value);
    } else {
      std::fprintf(stderr, "insn_window: unknown argument %s\n", argv[i]);
      return 1;
    }
  }
  if (state.out_path.empty()) {
    std::fprintf(stderr, "insn_window: out=FILE is required\n");
    return 1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit, nullptr);
  return 0;
}
