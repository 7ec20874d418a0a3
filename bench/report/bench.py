#!/usr/bin/python3
"""Runs keel's host benchmark and rewrites its part of docs/benchmarks.md and docs/plots/.

Called by scripts/bench.sh after the build (see there for the packages it needs). Every figure
comes from one run of this script:

  - instructions per operation: callgrind, counting only the measured wrappers
    (bench/src/measured.hpp), keel and glibc, per trace;
  - worst single operation: QEMU user mode with the instruction-window plugin
    (bench/icount/insn_window.cpp), over the traces and the constructed worst cases;
  - heap efficiency: a native binary search for the smallest arena;
  - bytes per allocation: native address deltas.

Usage: bench.py --build BUILD_DIR --repo REPO [--jobs 2]
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import pickle
import re
import shlex
import subprocess
import sys
import time

TRACES = ["micro", "random_actions", "random_actions_big", "aligned", "fifo", "lifo",
          "prodcons", "growth"]
RANDOM_TRACE = "random_exhaustion"
RATIO_TARGET = {"micro": 0.75, "random_actions": 0.55, "random_actions_big": 0.60,
                "aligned": 0.33, "fifo": 0.85, "lifo": 0.78, "prodcons": 0.80, "growth": 0.55}
EFFICIENCY_TARGET = {"micro": 0.92, "random_actions": 0.85, "random_actions_big": 0.85,
                     "aligned": 0.80, "fifo": 0.94, "lifo": 0.92, "prodcons": 0.90,
                     "growth": 0.80}
ALLOCATE_BOUND = 200
FREE_BOUND = 120
ARENAS = {"64 KiB": 64 * 1024, "1 GiB": 1 << 30}
HEAPS = {"default": "keel::Heap<> (search_limit 0)",
         "search8": "keel::Heap<FailOnOom, {.search_limit = 8}>"}
CATEGORY_NAMES = {1: "allocate", 2: "allocate (failed)", 3: "free", 4: "reallocate (in place)",
                  5: "reallocate (moved)", 6: "reallocate (failed)", 7: "allocate_zeroed"}
ALLOCATE_CATEGORIES = (1, 2, 7)
FREE_CATEGORIES = (3,)
REALLOCATE_CATEGORIES = (4, 5, 6)
SCENARIO_BASE = 64
TOGGLE = "*measured::*"
OOM_CLAIM_CASES = ((1, "no"), (1000, "no"), (1000, "yes"))
PLUGIN_FILTERS = "skip=keel_bench,copy=memcpy,copy=memmove"
KEEL_SOURCES = "core/include/keel/"


class Runner:
    """Runs commands, remembers them, and keeps the outputs in the results directory."""

    def __init__(self, repo, build, snapshot, results):
        self.repo = repo
        self.build = build
        self.results = results
        self.binary = os.path.join(build, "bench", "keel_bench")
        self.plugin = os.path.join(build, "bench", "libinsn_window.so")
        self.snapshot = snapshot  # the sources as built (scripts/bench.sh)
        self.commands = []
        self.environment = dict(os.environ,
                                KEEL_BENCH_TRACE_DIR=os.path.join(repo, "..", "shared", "traces"))

    def rel(self, path):
        return os.path.relpath(path, self.repo)

    def run(self, argv, what):
        self.commands.append(" ".join(shlex.quote(self.rel(a) if a.startswith(self.repo) else a)
                                      for a in argv))
        started = time.time()
        done = subprocess.run(argv, cwd=self.repo, capture_output=True, text=True,
                              env=self.environment)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit("bench.py: %s failed (exit %d): %s"
                             % (what, done.returncode, " ".join(argv)))
        return done.stdout, time.time() - started

    def native(self, args, what):
        out, _ = self.run(["setarch", "-R", self.binary] + args, what)
        return parse_pairs(out), out

    def callgrind(self, args, tag):
        out_file = os.path.join(self.results, "callgrind.%s.out" % tag)
        out, _ = self.run(["setarch", "-R", "valgrind", "--tool=callgrind",
                           "--collect-atstart=no", "--toggle-collect=" + TOGGLE,
                           "--compress-strings=no", "--compress-pos=no",
                           "--callgrind-out-file=" + out_file, self.binary] + args,
                          "callgrind " + tag)
        return parse_pairs(out), read_callgrind_total(out_file), out_file

    def plugin_run(self, args, tag):
        out_file = os.path.join(self.results, "icount.%s.tsv" % tag)
        out, _ = self.run(["setarch", "-R", "qemu-x86_64", "-cpu", "max", "-plugin",
                           "%s,out=%s,%s" % (self.plugin, out_file, PLUGIN_FILTERS),
                           self.binary] + args, "qemu " + tag)
        return parse_pairs(out), out, read_plugin(out_file)


def parse_pairs(text):
    pairs = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            pairs[parts[0]] = parts[1]
    return pairs


def read_callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise SystemExit("bench.py: no total in " + path)


def read_plugin(path):
    categories, histograms, stray = {}, {}, 0
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "category":
                values = [int(v) for v in parts[1:]]
                categories[values[0]] = dict(zip(
                    ["ops", "total", "max", "argmax", "copy_total", "copy_max", "min"], values[1:]))
            elif parts[0] == "hist":
                histograms.setdefault(int(parts[1]), {})[int(parts[2])] = int(parts[3])
            elif parts[0] == "stray":
                stray = int(parts[1])
    if stray:
        raise SystemExit("bench.py: %s has %d unmatched markers" % (path, stray))
    return {"categories": categories, "histograms": histograms}


def per_kind(categories):
    """Mean instructions per allocate, free and reallocate (copies included)."""
    means = {}
    for kind, ids in (("allocate", ALLOCATE_CATEGORIES), ("free", FREE_CATEGORIES),
                      ("reallocate", REALLOCATE_CATEGORIES)):
        ops = sum(categories[i]["ops"] for i in ids if i in categories)
        total = sum(categories[i]["total"] + categories[i]["copy_total"]
                    for i in ids if i in categories)
        means[kind] = total / ops if ops else None
    return means


def worst_of(categories, ids):
    best = None
    for i in ids:
        c = categories.get(i)
        if c and (best is None or c["max"] > best["max"]):
            best = dict(c, category=i)
    return best


# --- per-line hot spots from callgrind's output ------------------------------------------------

FUNCTION_SKIP = {"if", "for", "while", "switch", "return", "static_assert", "sizeof", "alignof",
                 "decltype", "else"}


def enclosing_functions(path):
    """Maps each line number of a keel header to the function it belongs to (by indentation)."""
    with open(path) as f:
        lines = f.read().split("\n")
    signature_indent = 2 if path.endswith("heap.hpp") else 0
    owner, current = {}, "?"
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        indent = len(text) - len(text.lstrip(" "))
        if (stripped and indent == signature_indent and "(" in stripped
                and not stripped.startswith(("//", "/*", "*", "template", "static_assert", "#"))):
            match = re.search(r"(~?[A-Za-z_]\w*)\s*\(", stripped)
            if match and match.group(1) not in FUNCTION_SKIP:
                current = match.group(1)
        owner[number] = current
    return owner


def line_costs(callgrind_file):
    """(file, line) -> instructions, from a callgrind output written with
    --compress-strings=no --compress-pos=no (self cost only: call costs are skipped)."""
    costs = {}
    function_file = current = None
    skip_next = False
    with open(callgrind_file) as f:
        for text in f:
            if text.startswith("fl="):
                function_file = current = text[3:].strip()
            elif text.startswith(("fi=", "fe=")):
                current = text[3:].strip()
            elif text.startswith("fn="):
                current = function_file
            elif text.startswith("calls="):
                skip_next = True
            elif text[:1].isdigit():
                if skip_next:
                    skip_next = False
                    continue
                parts = text.split()
                if len(parts) >= 2 and current is not None:
                    key = (current, int(parts[0]))
                    costs[key] = costs.get(key, 0) + int(parts[1])
    return costs


def hot_lines(repo, snapshot, callgrind_file, operations):
    """Self cost per source line of keel's headers, per operation, with the owning function.
    The code text comes from the snapshot of the sources taken when the benchmark was built."""
    owners, texts, result = {}, {}, []
    for (source, number), cost in line_costs(callgrind_file).items():
        if KEEL_SOURCES not in source or cost == 0:
            continue
        base = snapshot if source.startswith(snapshot + os.sep) else repo
        relative = os.path.relpath(source, base)
        path = os.path.join(snapshot, relative)
        if relative not in owners:
            owners[relative] = enclosing_functions(path) if os.path.exists(path) else {}
            texts[relative] = open(path).read().split("\n") if os.path.exists(path) else []
        code = texts[relative][number - 1] if 0 < number <= len(texts[relative]) else "?"
        result.append({"file": relative, "line": number, "per_op": cost / operations,
                       "code": code.strip(), "function": owners[relative].get(number, "?")})
    result.sort(key=lambda r: -r["per_op"])
    return result


def by_function(lines):
    totals = {}
    for line in lines:
        key = "%s (%s)" % (line["function"], os.path.basename(line["file"]))
        totals[key] = totals.get(key, 0.0) + line["per_op"]
    statistics = sum(l["per_op"] for l in lines if "counters_" in l["code"])
    return sorted(totals.items(), key=lambda kv: -kv[1]), statistics


# --- the measurements --------------------------------------------------------------------------

def measure(runner, jobs):
    tasks = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)

    def submit(key, function, *args):
        tasks[key] = pool.submit(function, *args)

    for trace in TRACES:
        for heap in ("default", "lean", "glibc"):
            submit(("callgrind", trace, heap), runner.callgrind,
                   ["replay", "--trace", trace, "--heap", heap], "%s.%s" % (trace, heap))
        submit(("plugin", trace, "glibc", None), runner.plugin_run,
               ["replay", "--trace", trace, "--heap", "glibc"], "%s.glibc" % trace)
        for heap in HEAPS:
            submit(("efficiency", trace, heap), runner.native,
                   ["efficiency", "--trace", trace, "--heap", heap], "efficiency")
    for trace in TRACES + [RANDOM_TRACE]:
        for heap in HEAPS:
            for arena_name, arena in ARENAS.items():
                submit(("plugin", trace, heap, arena_name), runner.plugin_run,
                       ["replay", "--trace", trace, "--heap", heap, "--arena", str(arena),
                        "--on-failure", "carry-on"],
                       "%s.%s.%d" % (trace, heap, arena))
    for heap in HEAPS:
        for arena_name, arena in ARENAS.items():
            submit(("scenarios", heap, arena_name), runner.plugin_run,
                   ["scenarios", "--heap", heap, "--arena", str(arena)],
                   "scenarios.%s.%d" % (heap, arena))
    submit(("overhead",), runner.native, ["overhead"], "overhead")
    for regions, gaps in OOM_CLAIM_CASES:
        submit(("oom_claim", regions, gaps), runner.plugin_run,
               ["oom-claim", "--regions", str(regions), "--gaps", gaps],
               "oom_claim.%d.%s" % (regions, gaps))
    submit(("quick_flush",), runner.plugin_run, ["quick-flush"], "quick_flush")
    results = {}
    for key, future in tasks.items():
        results[key] = future.result()
    pool.shutdown()
    return results


def collect(runner, raw):
    data = {"traces": {}, "bounded": {}, "scenarios": {}, "overhead": [], "glibc_worst": {}}
    for trace in TRACES:
        entry = {}
        for heap in ("default", "lean", "glibc"):
            pairs, total, out_file = raw[("callgrind", trace, heap)]
            operations = int(pairs["operations"])
            if int(pairs["failures"]) != 0:
                raise SystemExit("bench.py: %s/%s failed allocations at 1 GiB" % (trace, heap))
            if pairs.get("keel_valgrind_requests") == "1":
                raise SystemExit("bench.py: keel was built with KEEL_VALGRIND=1; reconfigure "
                                 "with -DKEEL_VALGRIND=OFF")
            entry[heap] = {"instructions": total, "operations": operations,
                           "per_op": total / operations, "callgrind": runner.rel(out_file)}
            entry["peak_live_bytes"] = int(pairs["peak_live_bytes"])
            entry["counts"] = {k: int(pairs[k]) for k in ("allocations", "frees", "reallocations")}
        entry["ratio"] = entry["default"]["per_op"] / entry["glibc"]["per_op"]
        entry["lean_ratio"] = entry["lean"]["per_op"] / entry["glibc"]["per_op"]
        lines = hot_lines(runner.repo, runner.snapshot,
                          os.path.join(runner.repo, entry["default"]["callgrind"]),
                          entry["default"]["operations"])
        entry["hot_lines"] = lines[:12]
        entry["hot_functions"], entry["statistics_per_op"] = by_function(lines)
        entry["hot_functions"] = entry["hot_functions"][:10]
        # The same run under the plugin: its sum must equal callgrind's total.
        _, _, plugin = raw[("plugin", trace, "default", "1 GiB")]
        plugin_sum = sum(c["total"] + c["copy_total"] for c in plugin["categories"].values())
        entry["plugin_sum"] = plugin_sum
        entry["per_kind"] = {"keel": per_kind(plugin["categories"]),
                             "glibc": per_kind(raw[("plugin", trace, "glibc", None)][2]["categories"])}
        entry["copy_per_op"] = (sum(c["copy_total"] for c in plugin["categories"].values())
                                / entry["default"]["operations"])
        for heap in HEAPS:
            pairs, _ = raw[("efficiency", trace, heap)]
            entry["efficiency_" + heap] = {
                "smallest_arena": int(pairs["smallest_arena"]),
                "largest_failing": int(pairs["largest_failing"]),
                "efficiency": int(pairs["peak_live_bytes"]) / int(pairs["smallest_arena"]),
                "stable_from": int(pairs["stable_from"]),
                "bisection": int(pairs["bisection"]),
                "stable_found": pairs["stable_found"] == "1",
                "stable_efficiency": int(pairs["peak_live_bytes"]) / int(pairs["stable_from"]),
                "failing_above": int(pairs["failing_above"]),
                "failure": {k[len("failure_"):]: int(v) for k, v in pairs.items()
                            if k.startswith("failure_")}}
        _, _, glibc_plugin = raw[("plugin", trace, "glibc", None)]
        entry["glibc_worst"] = {
            "allocate": worst_of(glibc_plugin["categories"], ALLOCATE_CATEGORIES),
            "free": worst_of(glibc_plugin["categories"], FREE_CATEGORIES),
            "reallocate": worst_of(glibc_plugin["categories"], REALLOCATE_CATEGORIES)}
        entry["histograms"] = {
            "keel": plugin["histograms"], "glibc": glibc_plugin["histograms"]}
        data["traces"][trace] = entry

    for heap in HEAPS:
        for arena_name in ARENAS:
            rows = []
            for trace in TRACES + [RANDOM_TRACE]:
                pairs, _, plugin = raw[("plugin", trace, heap, arena_name)]
                cats = plugin["categories"]
                rows.append({"source": trace,
                             "operations": int(pairs["operations"]),
                             "failures": int(pairs["failures"]),
                             "allocate": worst_of(cats, ALLOCATE_CATEGORIES),
                             "free": worst_of(cats, FREE_CATEGORIES),
                             "reallocate": worst_of(cats, REALLOCATE_CATEGORIES)})
            _, out, plugin = raw[("scenarios", heap, arena_name)]
            scenarios = []
            for line in out.splitlines():
                parts = line.split("\t")
                if parts[0] != "scenario":
                    continue
                index = int(parts[1])
                measured = plugin["categories"].get(SCENARIO_BASE + index)
                # not-applicable: a case about pads, which 16-byte granules do not have
                fits = parts[3] not in ("does-not-fit", "not-applicable")
                if parts[4] != "as-planned" or (fits and measured is None):
                    raise SystemExit("bench.py: scenario %d (%s) missed its path" % (index, parts[5]))
                scenarios.append({"index": index, "kind": parts[2], "result": parts[3],
                                  "name": parts[5],
                                  "instructions": measured["max"] if fits else None,
                                  "copy": measured["copy_max"] if fits else 0})
            data["scenarios"]["%s|%s" % (heap, arena_name)] = scenarios
            data["bounded"]["%s|%s" % (heap, arena_name)] = rows

    data["oom_claim"] = []
    for regions, gaps in OOM_CLAIM_CASES:
        _, out, plugin = raw[("oom_claim", regions, gaps)]
        allocate = plugin["categories"].get(1)
        if "\tserved" not in out or allocate is None or allocate["ops"] != 1:
            raise SystemExit("bench.py: oom-claim with %d regions (gaps %s) was not served by "
                             "the claimed reserve: %s" % (regions, gaps, out.strip()))
        data["oom_claim"].append({"regions": regions, "gaps": gaps,
                                  "instructions": allocate["total"]})
    _, out, plugin = raw[("quick_flush",)]
    allocate = plugin["categories"].get(1)
    if "\tserved" not in out or allocate is None or allocate["ops"] != 1:
        raise SystemExit("bench.py: quick-flush was not served after the flush: %s" % out.strip())
    data["quick_flush"] = {"held": int(out.split("\t")[1]), "instructions": allocate["total"]}
    _, out = raw[("overhead",)]
    for line in out.splitlines():
        parts = line.split("\t")
        if parts[0] == "overhead" and parts[1] != "size":
            data["overhead"].append([int(p) for p in parts[1:]])
    return data


def profile_worst_cases(runner, data):
    """Line-level callgrind profiles of the slowest constructed allocate and free (default
    heap, 1 GiB arena), to show which code the instructions go to."""
    profiles = {}
    cases = data["scenarios"]["default|1 GiB"]
    for kind in ("allocate", "free"):
        worst = max((c for c in cases if c["kind"] == kind and c["instructions"] is not None),
                    key=lambda c: c["instructions"])
        _, total, out_file = runner.callgrind(
            ["scenarios", "--heap", "default", "--arena", str(1 << 30), "--only",
             str(worst["index"])], "case%d" % worst["index"])
        lines = hot_lines(runner.repo, runner.snapshot, out_file, 1)
        functions, statistics = by_function(lines)
        profiles[kind] = {"case": worst, "callgrind_total": total, "lines": lines[:14],
                          "functions": functions[:12], "statistics": statistics}
    return profiles


def worst_bound(data, heap, arena_name):
    """The worst allocate, free and reallocate over traces and scenarios, with where it was met."""
    worst = {}
    for kind in ("allocate", "free", "reallocate"):
        best = None
        for row in data["bounded"]["%s|%s" % (heap, arena_name)]:
            w = row[kind]
            if w and (best is None or w["max"] > best[0]):
                label = "%s (%s)" % (row["source"], CATEGORY_NAMES[w["category"]])
                best = (w["max"], "trace " + label)
            elif w and w["max"] == best[0]:
                best = (best[0], best[1] + ", trace " + row["source"])
        for s in data["scenarios"]["%s|%s" % (heap, arena_name)]:
            if s["instructions"] is None:
                continue
            if s["kind"] == kind and (best is None or s["instructions"] > best[0]):
                best = (s["instructions"], "case %d: %s" % (s["index"], s["name"]))
            elif s["kind"] == kind and s["instructions"] == best[0]:
                best = (best[0], best[1] + "; case %d" % s["index"])
        worst[kind] = best
    return worst


# --- plots -------------------------------------------------------------------------------------

def plots(data, plot_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plot_dir, exist_ok=True)
    traces = TRACES
    x = list(range(len(traces)))

    # 1. instructions per operation
    fig, ax = plt.subplots(figsize=(11, 5.2))
    keel = [data["traces"][t]["default"]["per_op"] for t in traces]
    glibc = [data["traces"][t]["glibc"]["per_op"] for t in traces]
    target = [data["traces"][t]["glibc"]["per_op"] * RATIO_TARGET[t] for t in traces]
    width = 0.38
    ax.bar([i - width / 2 for i in x], keel, width, label="keel::Heap<> (default options)",
           color="#c0504d")
    ax.bar([i + width / 2 for i in x], glibc, width, label="glibc malloc", color="#4f81bd")
    ax.scatter([i - width / 2 for i in x], target, marker="_", s=900, color="black", zorder=5,
               label="target for keel (glibc x target ratio)")
    for i, t in enumerate(traces):
        ratio = data["traces"][t]["ratio"]
        ax.annotate("%.2fx" % ratio, (i - width / 2, keel[i]), ha="center", va="bottom",
                    fontsize=9, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x)
    ax.set_xticklabels(traces, rotation=15)
    ax.set_ylabel("instructions per operation (callgrind)")
    ax.set_title("Instructions per allocator operation, keel vs glibc (label: keel/glibc)")
    ax.legend(loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(plot_dir, "instructions_per_op.png"), dpi=110)
    plt.close(fig)

    # 2. heap efficiency
    fig, ax = plt.subplots(figsize=(11, 5.2))
    eff = [data["traces"][t]["efficiency_default"]["efficiency"] for t in traces]
    eff0 = [data["traces"][t]["efficiency_default"]["stable_efficiency"] for t in traces]
    ax.bar([i - width / 2 for i in x], eff, width,
           label="keel::Heap<>, smallest arena that replays", color="#c0504d")
    ax.bar([i + width / 2 for i in x], eff0, width,
           label="keel::Heap<>, stable arena (64 sizes in a row replay)", color="#f2b8b6")
    ax.scatter([i - width / 2 for i in x], [EFFICIENCY_TARGET[t] for t in traces], marker="_",
               s=900, color="black", zorder=5, label="target")
    for i in x:
        ax.annotate("%.3f" % eff[i], (i - width / 2, eff[i]), ha="center", va="bottom",
                    fontsize=9, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x)
    ax.set_xticklabels(traces, rotation=15)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("peak live bytes / arena")
    ax.set_title("Heap efficiency: peak live bytes over the smallest arena that replays the trace")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(plot_dir, "heap_efficiency.png"), dpi=110)
    plt.close(fig)

    # 3. distribution of per-operation instruction counts
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.4), sharey=True)
    for ax, t in zip(axes.flat, traces):
        for who, colour in (("keel", "#c0504d"), ("glibc", "#4f81bd")):
            hist = {}
            for cat, values in data["traces"][t]["histograms"][who].items():
                for value, count in values.items():
                    hist[int(value)] = hist.get(int(value), 0) + count
            values = sorted(hist)
            total = sum(hist.values())
            running, xs, ys = 0, [], []
            for v in values:
                running += hist[v]
                xs.append(v)
                ys.append(running / total)
            ax.step(xs, ys, where="post", color=colour, label=who)
        ax.set_xscale("log")
        ax.set_title(t, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="lower right")
    for ax in axes[1]:
        ax.set_xlabel("instructions in one operation (copies excluded)")
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of operations")
    fig.suptitle("Per-operation instruction counts (cumulative), keel::Heap<> vs glibc")
    fig.tight_layout()
    fig.savefig(os.path.join(plot_dir, "per_op_distribution.png"), dpi=100)
    plt.close(fig)

    # 4. bytes per allocation
    fig, ax = plt.subplots(figsize=(11, 4.8))
    sizes = [row[0] for row in data["overhead"]]
    ax.step(sizes, [row[1] for row in data["overhead"]], where="mid", color="#c0504d",
            label="keel, align 8")
    ax.step(sizes, [row[2] for row in data["overhead"]], where="mid", color="#e39a98",
            linestyle="--", label="keel, default align (16 on x86_64)")
    ax.step(sizes, [row[3] for row in data["overhead"]], where="mid", color="#4f81bd",
            label="glibc malloc")
    ax.plot(sizes, sizes, color="grey", linewidth=0.8, label="request size")
    ax.set_xlabel("request size (bytes)")
    ax.set_ylabel("bytes consumed per allocation")
    ax.set_title("Bytes each allocation consumes (address step between consecutive blocks)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(plot_dir, "bytes_per_allocation.png"), dpi=110)
    plt.close(fig)

    # 5. bounded work
    fig, ax = plt.subplots(figsize=(11, 4.8))
    labels, allocs, frees = [], [], []
    for heap in HEAPS:
        for arena_name in ARENAS:
            w = worst_bound(data, heap, arena_name)
            labels.append("%s\n%s" % ("search_limit 0" if heap == "default" else "search_limit 8",
                                      arena_name))
            allocs.append(w["allocate"][0])
            frees.append(w["free"][0])
    x4 = list(range(len(labels)))
    ax.bar([i - width / 2 for i in x4], allocs, width, color="#c0504d", label="worst allocate")
    ax.bar([i + width / 2 for i in x4], frees, width, color="#9bbb59", label="worst free")
    ax.axhline(ALLOCATE_BOUND, color="#c0504d", linestyle="--", linewidth=1,
               label="allocate bound %d" % ALLOCATE_BOUND)
    ax.axhline(FREE_BOUND, color="#4f6228", linestyle="--", linewidth=1,
               label="free bound %d" % FREE_BOUND)
    for i in x4:
        ax.annotate(str(allocs[i]), (i - width / 2, allocs[i]), ha="center", va="bottom",
                    fontsize=9)
        ax.annotate(str(frees[i]), (i + width / 2, frees[i]), ha="center", va="bottom",
                    fontsize=9)
    ax.set_xticks(x4)
    ax.set_xticklabels(labels)
    ax.set_ylabel("instructions in the worst single operation")
    ax.set_title("Bounded work: worst allocate and free over traces and constructed cases")
    ax.legend(loc="upper right", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(plot_dir, "bounded_work.png"), dpi=110)
    plt.close(fig)


# --- the document ------------------------------------------------------------------------------

def mark(ok):
    return "pass" if ok else "**miss**"


def fmt(value, digits=1):
    return ("%%.%df" % digits) % value


def machine():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().split("\n")[0]
        except OSError:
            return "?"
    model = "?"
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return {"cpu": model, "cores": first(["nproc"]), "kernel": first(["uname", "-sr"]),
            "gcc": first(["g++", "--version"]), "glibc": first(["ldd", "--version"]),
            "valgrind": first(["valgrind", "--version"]),
            "qemu": first(["qemu-x86_64", "--version"])}


def host_section(data, info, runner):
    out = []
    w = out.append
    w("Measured %s on commit `%s`%s by `%sscripts/bench.sh` (%.0f s)." % (
        info["date"], info["commit"],
        " (working tree with local changes in core/ or bench/)" if info["dirty"] else "",
        "KEEL_BENCH_REV=%s " % info["commit"] if info["revision_mode"] else "", info["seconds"]))
    w("")
    w("### Machine")
    w("")
    m = info["machine"]
    w("| | |\n|---|---|")
    for key, label in (("cpu", "CPU (lscpu model name)"), ("cores", "cores"),
                       ("kernel", "kernel"), ("gcc", "compiler"), ("glibc", "glibc"),
                       ("valgrind", "valgrind"), ("qemu", "QEMU (user mode)")):
        w("| %s | %s |" % (label, m[key]))
    w("")
    w("Build: `cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release` (so `-O3 -DNDEBUG`; the "
      "benchmark adds `-g` for line-level annotation and links statically, glibc's malloc "
      "included).")
    w("")
    w("### Commands")
    w("")
    w("`scripts/bench.sh` runs all of these (two at a time) and rewrites this section. For one "
      "trace (here `micro`):")
    w("")
    w("```sh")
    w("B=%s/bench   # the build directory's bench/" % runner.rel(runner.build))
    w("# instructions per operation: only the measured wrappers (bench/src/measured.hpp) count")
    w("setarch -R valgrind --tool=callgrind --collect-atstart=no --toggle-collect='%s' \\" % TOGGLE)
    w("    --callgrind-out-file=cg.out $B/keel_bench replay --trace micro --heap default   "
      "# or --heap glibc, --heap lean")
    w("callgrind_annotate --inclusive=yes cg.out; callgrind_annotate --auto=yes cg.out   "
      "# per function / per line")
    w("# exact instruction count of every single operation (QEMU plugin, bench/icount/)")
    w("setarch -R qemu-x86_64 -cpu max -plugin $B/libinsn_window.so,out=ops.tsv,%s \\"
      % PLUGIN_FILTERS)
    w("    $B/keel_bench replay --trace micro --heap default --arena 65536 --on-failure carry-on")
    w("setarch -R qemu-x86_64 -cpu max -plugin $B/libinsn_window.so,out=cases.tsv,%s \\"
      % PLUGIN_FILTERS)
    w("    $B/keel_bench scenarios --heap default --arena 1073741824")
    w("# heap efficiency and bytes per allocation (native)")
    w("setarch -R $B/keel_bench efficiency --trace micro --heap default")
    w("setarch -R $B/keel_bench overhead")
    w("```")
    w("")
    w("The full list of the %d commands of this run is written to "
      "`build/bench/results/commands.txt`, the raw outputs next to it." % len(runner.commands))
    w("")
    w("### Method")
    w("")
    w("- **Replay.** Each trace of `shared/traces` (format in `FORMAT.md` there) is parsed into "
      "memory first. Every block gets a byte pattern that is checked before it is freed or "
      "resized (and after a move); every pointer is checked for its alignment; keel's heap must "
      "pass `validate()` at the end. keel: one `keel::Heap<>` over a 1 GiB `mmap`ed arena, "
      "`allocate(size, ALIGN)` with the trace's ALIGN (8 for plain requests), "
      "`reallocate(p, size, 8)`, `free(p)`. glibc: `malloc`, `aligned_alloc` when ALIGN > 16, "
      "`realloc`, `free`.")
    w("- **Instructions per operation** = callgrind's instruction count inside the measured "
      "wrappers (one out-of-line function per operation that only calls the allocator; pattern "
      "work is outside) / the number of operations. It includes the copy of a moving "
      "`reallocate` for both allocators.")
    w("- **Worst single operation**: `perf stat -e instructions` reports *not supported* on this "
      "VM and ptrace single-stepping costs ~17 us a step here, so every operation is counted "
      "under QEMU user mode by a TCG plugin (`bench/icount/insn_window.cpp`) between two marker "
      "NOPs around the call. It counts exactly what callgrind counts: for every trace its sum "
      "over all operations equals callgrind's total (column *check* below). memcpy/memmove are "
      "counted apart and excluded from the bound (the copy of a moving reallocate).")
    w("- **Heap efficiency** = peak live bytes (sum of live request sizes, as in MANIFEST.tsv) / "
      "the smallest arena in which keel replays the trace with no failed request: a binary "
      "search at 8-byte resolution, each attempt a fresh heap over the first N bytes of a "
      "page-aligned buffer; then, since failing is not monotone in the size (see below), every "
      "size below the boundary until 64 sizes in a row fail (at most 1024 sizes), and every size "
      "above the smallest found until 64 in a row replay (at most 2048). These walks replay "
      "without the byte patterns, for speed; the two sizes reported are replayed again with "
      "them.")
    w("- **Bytes per allocation**: the address step between consecutive allocations of one "
      "size in fresh memory (the most common of 31 steps).")
    w("")
    w("### Targets")
    w("")
    w("| trace | keel instr/op | glibc instr/op | keel/glibc | target | | efficiency | target | "
      "| stable efficiency | |")
    w("|---|---:|---:|---:|---:|---|---:|---:|---|---:|---|")
    for t in TRACES:
        e = data["traces"][t]
        eff = e["efficiency_default"]["efficiency"]
        stable = e["efficiency_default"]["stable_efficiency"]
        w("| %s | %s | %s | %.3f | <= %.2f | %s | %.3f | >= %.2f | %s | %.3f | %s |" % (
            t, fmt(e["default"]["per_op"]), fmt(e["glibc"]["per_op"]), e["ratio"],
            RATIO_TARGET[t], mark(e["ratio"] <= RATIO_TARGET[t]), eff, EFFICIENCY_TARGET[t],
            mark(eff >= EFFICIENCY_TARGET[t]), stable, mark(stable >= EFFICIENCY_TARGET[t])))
    w("")
    w("*efficiency* uses the smallest arena that replays the trace (the target's definition); "
      "*stable efficiency* the smallest arena from which 64 sizes in a row replay: failing is "
      "not monotone in the arena size, so the two differ (section *Heap efficiency, in detail*).")
    w("")
    misses_ratio = [t for t in TRACES if data["traces"][t]["ratio"] > RATIO_TARGET[t]]
    misses_eff = [t for t in TRACES if data["traces"][t]["efficiency_default"]["efficiency"]
                  < EFFICIENCY_TARGET[t]]
    misses_stable = [t for t in TRACES if data["traces"][t]["efficiency_default"][
        "stable_efficiency"] < EFFICIENCY_TARGET[t]]
    w("Instructions-per-operation targets met: %d of 8; heap-efficiency targets met: %d of 8 "
      "(%d of 8 with the stable arena)." % (8 - len(misses_ratio), 8 - len(misses_eff),
                                           8 - len(misses_stable)))
    if misses_ratio:
        w("")
        w("Missed instruction targets, by how much (keel would need to drop to target x glibc):")
        w("")
        for t in misses_ratio:
            e = data["traces"][t]
            need = RATIO_TARGET[t] * e["glibc"]["per_op"]
            w("- %s: %.2fx glibc against %.2fx: %.1f instructions per operation now, at most %.1f "
              "wanted (-%.0f %%)." % (t, e["ratio"], RATIO_TARGET[t], e["default"]["per_op"],
                                     need, 100 * (1 - need / e["default"]["per_op"])))
    if misses_eff:
        w("")
        w("Missed efficiency targets:")
        w("")
        for t in misses_eff:
            e = data["traces"][t]
            eff = e["efficiency_default"]
            w("- %s: %.3f against %.2f (smallest arena %d bytes for %d peak live bytes; the target "
              "needs <= %d)." % (t, eff["efficiency"], EFFICIENCY_TARGET[t], eff["smallest_arena"],
                                 e["peak_live_bytes"],
                                 int(e["peak_live_bytes"] / EFFICIENCY_TARGET[t])))
    w("")
    w("![instructions per operation](plots/instructions_per_op.png)")
    w("")
    w("![heap efficiency](plots/heap_efficiency.png)")
    w("")
    w("### Instructions per operation, in detail")
    w("")
    w("*lean* is `keel::Heap<FailOnOom, {.statistics = false, .checking = Checking::none}>`: the "
      "difference to the default is what statistics and pointer checks cost. *copy* is the "
      "memcpy/memmove share of keel's figure (moving reallocate). *check*: the QEMU plugin's sum "
      "over all operations equals callgrind's total.")
    w("")
    w("| trace | ops | keel | lean | glibc | keel/glibc | lean/glibc | copy | check |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for t in TRACES:
        e = data["traces"][t]
        w("| %s | %d | %s | %s | %s | %.3f | %.3f | %s | %s |" % (
            t, e["default"]["operations"], fmt(e["default"]["per_op"]), fmt(e["lean"]["per_op"]),
            fmt(e["glibc"]["per_op"]), e["ratio"], e["lean_ratio"], fmt(e["copy_per_op"]),
            "equal" if e["plugin_sum"] == e["default"]["instructions"] else
            "differs (%d vs %d)" % (e["plugin_sum"], e["default"]["instructions"])))
    w("")
    w("Mean instructions per kind of operation (QEMU plugin, copies included; glibc under QEMU "
      "differs from callgrind by a few per cent because both emulate brk differently):")
    w("")
    w("| trace | keel allocate | keel free | keel reallocate | glibc malloc | glibc free | "
      "glibc realloc |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for t in TRACES:
        k, g = data["traces"][t]["per_kind"]["keel"], data["traces"][t]["per_kind"]["glibc"]
        cell = lambda v: "-" if v is None else fmt(v)
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            t, cell(k["allocate"]), cell(k["free"]), cell(k["reallocate"]), cell(g["allocate"]),
            cell(g["free"]), cell(g["reallocate"])))
    w("")
    w("![per-operation distribution](plots/per_op_distribution.png)")
    w("")
    w("### Where keel's instructions go")
    w("")
    w("Self cost per source line of keel in the default heap's callgrind run (what "
      "`callgrind_annotate --auto=yes` shows next to each line), in instructions per operation "
      "of the trace, summed by the function the line belongs to: everything is inlined into the "
      "measured wrappers, so this is the useful split. *statistics* is the sum of the lines that "
      "update `counters_`. Line numbers refer to the sources as built%s." % (
          " (core/ was edited while the benchmark ran: see `build/bench/source/` for the snapshot "
          "that was measured)" if info["core_changed"] else ""))
    w("")
    for t in TRACES:
        e = data["traces"][t]
        parts = ", ".join("%s %.1f" % (name, cost) for name, cost in e["hot_functions"][:8])
        w("- **%s** (%.1f/op; statistics %.1f): %s" % (t, e["default"]["per_op"],
                                                      e["statistics_per_op"], parts))
    w("")
    w("Hottest single lines, per operation (trace `micro` and `random_actions`):")
    w("")
    for t in ("micro", "random_actions"):
        w("| %s: file:line | function | instr/op | code |" % t)
        w("|---|---|---:|---|")
        for line in data["traces"][t]["hot_lines"][:10]:
            w("| %s:%d | %s | %.2f | `%s` |" % (line["file"], line["line"], line["function"],
                                                line["per_op"], line["code"].replace("|", "\\|")))
        w("")
    w("### Heap efficiency, in detail")
    w("")
    w("Failing is not monotone in the arena size: another size changes where blocks land and "
      "so which request finds no block. *bisection* is the boundary a plain binary search "
      "finds; *smallest arena* the smallest size that replays, found by walking down from it "
      "until 64 sizes (8-byte steps) in a row fail; *sizes failing above* counts the sizes "
      "between it and *stable from*, the first of 64 sizes in a row that all replay. Stable "
      "from is the safer figure to size an arena by.")
    w("")
    w("| trace | peak live bytes | bisection | smallest arena | efficiency | sizes failing above "
      "| stable from | efficiency | search_limit 8: smallest | efficiency | stable from | "
      "efficiency |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in TRACES:
        e = data["traces"][t]
        d, z = e["efficiency_default"], e["efficiency_search8"]
        stable = lambda r: ("%d" % r["stable_from"]) if r["stable_found"] else (
            "> %d" % r["stable_from"])
        w("| %s | %d | %d | %d | %.3f | %d | %s | %.3f | %d | %.3f | %s | %.3f |" % (
            t, e["peak_live_bytes"], d["bisection"], d["smallest_arena"], d["efficiency"],
            d["failing_above"], stable(d), d["stable_efficiency"], z["smallest_arena"],
            z["efficiency"], stable(z), z["stable_efficiency"]))
    w("")
    w("Why the arena cannot be 8 bytes smaller: the heap at the first failed request when the "
      "trace is replayed in `smallest arena - 8` bytes (default heap). *live* is the bytes the "
      "trace holds then; *in use* the whole used blocks (4-byte headers, rounding to 8, pads); "
      "*free* the bytes in free blocks, none of which could serve the request.")
    w("")
    w("| trace | arena | request (align) | live | in use | block overhead | free | free blocks | "
      "largest free |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in TRACES:
        d = data["traces"][t]["efficiency_default"]
        f = d["failure"]
        w("| %s | %d | %d (%d) | %d | %d | %d (%.1f %%) | %d (%.1f %%) | %d | %d |" % (
            t, d["largest_failing"], f["request"], f["align"], f["live_bytes"], f["in_use"],
            f["in_use"] - f["live_bytes"], 100.0 * (f["in_use"] - f["live_bytes"]) / f["claimed"],
            f["free"], 100.0 * f["free"] / f["claimed"], f["free_blocks"], f["largest_free"]))
    w("")
    w("### Bytes per allocation")
    w("")
    w("![bytes per allocation](plots/bytes_per_allocation.png)")
    w("")
    w("| request bytes | keel, align 8 | keel, default align 16 | glibc | glibc usable+8 |")
    w("|---|---:|---:|---:|---:|")
    for row in data["overhead"]:
        if row[0] in (1, 4, 8, 12, 13, 16, 20, 24, 28, 29, 32, 40, 48, 56, 60, 64):
            w("| %d | %d | %d | %d | %d |" % tuple(row))
    w("")
    mean = lambda col: sum(r[col] for r in data["overhead"]) / len(data["overhead"])
    w("Mean over sizes 1..64: keel %.1f bytes (align 8), %.1f (align 16), glibc %.1f." % (
        mean(1), mean(2), mean(3)))
    return "\n".join(out)


def bounded_section(data, info):
    out = []
    w = out.append
    w("Measured %s on commit `%s` by `%sscripts/bench.sh`, with the QEMU instruction-window plugin "
      "(see the Method above): every operation of every trace, and the constructed worst cases, "
      "counted exactly, for a 64 KiB and a 1 GiB arena. Bounds (x86_64): allocate <= %d, free <= "
      "%d instructions; the memcpy/memmove of a moving or backward-growing reallocate is not "
      "counted (it is reported apart). In the 64 KiB arena most traces do not fit: requests fail "
      "and the replay carries on (`--on-failure carry-on`), which exercises exhaustion." % (
          info["date"], info["commit"],
          "KEEL_BENCH_REV=%s " % info["commit"] if info["revision_mode"] else "",
          ALLOCATE_BOUND, FREE_BOUND))
    w("")
    w("![bounded work](plots/bounded_work.png)")
    w("")
    w("| heap | arena | worst allocate | | met in | worst free | | met in | worst reallocate "
      "(no bound) |")
    w("|---|---|---:|---|---|---:|---|---|---:|")
    for heap in HEAPS:
        for arena_name in ARENAS:
            wb = worst_bound(data, heap, arena_name)
            w("| %s | %s | %d | %s | %s | %d | %s | %s | %d |" % (
                HEAPS[heap], arena_name, wb["allocate"][0], mark(wb["allocate"][0] <=
                                                                ALLOCATE_BOUND),
                wb["allocate"][1], wb["free"][0], mark(wb["free"][0] <= FREE_BOUND),
                wb["free"][1], wb["reallocate"][0]))
    w("")
    w("glibc's worst single operations on the same traces, for comparison (no bound; glibc "
      "takes its memory from brk/mmap, whose kernel work is one `syscall` instruction here; QEMU "
      "emulates brk, so glibc's totals under QEMU differ by a few per cent from callgrind's):")
    w("")
    w("| trace | glibc worst allocate | worst free | worst realloc | keel worst allocate (1 GiB) "
      "| keel worst free |")
    w("|---|---:|---:|---:|---:|---:|")
    rows = {r["source"]: r for r in data["bounded"]["default|1 GiB"]}
    for t in TRACES:
        g = data["traces"][t]["glibc_worst"]
        k = rows[t]
        w("| %s | %s | %s | %s | %s | %s |" % (
            t, g["allocate"]["max"] if g["allocate"] else "-", g["free"]["max"] if g["free"] else "-",
            g["reallocate"]["max"] if g["reallocate"] else "-",
            k["allocate"]["max"] if k["allocate"] else "-", k["free"]["max"] if k["free"] else "-"))
    w("")
    w("#### Constructed worst cases")
    w("")
    w("bench/src/worst_cases.cpp builds each heap state in a fresh heap and measures one call. "
      "Each case checks that it took the intended path: the cases marked *fallback* succeed with "
      "search_limit 8, fail with 7 (so all 8 blocks are looked at) and fail with 0; the heap "
      "validates afterwards.")
    w("")
    header = "| # | operation | case |"
    rule = "|---|---|---|"
    keys = []
    for heap in HEAPS:
        for arena_name in ARENAS:
            header += " %s, %s |" % ("sl 0" if heap == "default" else "sl 8", arena_name)
            rule += "---:|"
            keys.append("%s|%s" % (heap, arena_name))
    w(header)
    w(rule)
    for i, s in enumerate(data["scenarios"][keys[0]]):
        cells = []
        for key in keys:
            c = data["scenarios"][key][i]
            if c["instructions"] is None:
                cells.append("n/a (no pads)" if c["result"] == "not-applicable" else
                             "does not fit")
                continue
            text = str(c["instructions"])
            if c["result"] == "returned-null" and c["kind"] != "free":
                text += " (null)"
            if c["copy"]:
                text += " +%d copy" % c["copy"]
            cells.append(text)
        w("| %d | %s | %s | %s |" % (s["index"], s["kind"], s["name"], " | ".join(cells)))
    w("")
    for kind in ("allocate", "free"):
        prof = data["profiles"][kind]
        case = prof["case"]
        w("Where the instructions of the slowest constructed %s go (case %d, %d instructions; "
          "`valgrind --tool=callgrind ... keel_bench scenarios --heap default --arena 1073741824 "
          "--only %d`, per-line self cost; callgrind counts %d), by keel "
          "function: %s; statistics counters %d." % (
              kind, case["index"], case["instructions"], case["index"], prof["callgrind_total"],
              ", ".join("%s %d" % (name, round(cost)) for name, cost in prof["functions"]),
              round(prof["statistics"])))
        w("")
        w("| file:line | function | instructions | code |")
        w("|---|---|---:|---|")
        for line in prof["lines"][:10]:
            w("| %s:%d | %s | %d | `%s` |" % (line["file"], line["line"], line["function"],
                                              round(line["per_op"]),
                                              line["code"].replace("|", "\\|")))
        w("")
    w("#### The OOM policy's cost, apart")
    w("")
    w("bench/src/oom_claim.cpp builds a `keel::Heap<keel::ClaimOnOom>` of N small regions (256 "
      "bytes each, abutting or with a 256-byte gap after each), its reserve below them all, fills "
      "them, and counts the one allocate that makes the policy claim the reserve and then serves "
      "from it (`keel_bench oom-claim --regions N --gaps yes|no`). The heap's bounds above are for "
      "an allocate that finds a block; this one also runs the policy and a claim. The claim of a "
      "span beside every region walks no region (docs/design.md 13), so the cost does not grow "
      "with N.")
    w("")
    w("| regions | layout | instructions (allocate + claim) |")
    w("|---:|---|---:|")
    for c in data["oom_claim"]:
        w("| %d | %s | %d |" % (c["regions"], "a gap after each" if c["gaps"] == "yes"
                                else "abutting", c["instructions"]))
    w("")
    w("#### The quick lists' flush, apart")
    w("")
    q = data["quick_flush"]
    w("With `HeapOptions::quick_lists` (off by default; docs/design.md section 15) an allocate whose "
      "search fails first frees every block the lists hold, then searches again. "
      "bench/src/quick_flush.cpp fills every list of a heap with `quick_lists = 8` (%d blocks, 8 of "
      "each size up to 256 bytes) with blocks whose two neighbours are free, so that each merges "
      "both ways, and counts the one allocate that flushes them all and is served from a merged "
      "block (`keel_bench quick-flush`): **%d instructions**, %.0f per held block. No other call "
      "of such a heap does this work: a free never flushes, and the region calls that do "
      "(extend, truncate) are O(regions) already." % (
          q["held"], q["instructions"], q["instructions"] / q["held"]))
    w("")
    w("#### Worst single operations per trace (keel)")
    w("")
    w("| trace | arena | heap | ops | failed | worst allocate | worst free | worst reallocate |")
    w("|---|---|---|---:|---:|---:|---:|---:|")
    for heap in HEAPS:
        for arena_name in ARENAS:
            for r in data["bounded"]["%s|%s" % (heap, arena_name)]:
                w("| %s | %s | %s | %d | %d | %s | %s | %s |" % (
                    r["source"], arena_name, "sl 0" if heap == "default" else "sl 8",
                    r["operations"], r["failures"],
                    r["allocate"]["max"] if r["allocate"] else "-",
                    r["free"]["max"] if r["free"] else "-",
                    r["reallocate"]["max"] if r["reallocate"] else "-"))
    return "\n".join(out)


SKELETON = """# keel benchmarks

Figures measured on real hardware or emulators, each with the command that produced it. Sections
are added by the people who own them; the parts between `<!-- generated:... -->` markers are
rewritten by the script named there, so edit outside them.

## Host: keel vs glibc on the allocation traces

<!-- generated:host:begin (scripts/bench.sh) -->
<!-- generated:host:end -->

## Bounded work

<!-- generated:bounded:begin (scripts/bench.sh) -->
<!-- generated:bounded:end -->
"""


def replace_block(text, name, body):
    pattern = re.compile(r"(<!-- generated:%s:begin[^>]*-->\n)(.*?)(<!-- generated:%s:end -->)"
                         % (name, name), re.S)
    if not pattern.search(text):
        raise SystemExit("bench.py: docs/benchmarks.md lacks the generated:%s markers" % name)
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(3), text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--build", required=True, help="the CMake build directory")
    parser.add_argument("--snapshot", required=True, help="the sources that were built")
    parser.add_argument("--revision", required=True, help="a commit, or working-tree")
    parser.add_argument("--results", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reuse", action="store_true",
                        help="rebuild the report from the last run's raw results")
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    build = os.path.abspath(args.build)
    results = os.path.abspath(args.results)
    os.makedirs(results, exist_ok=True)
    runner = Runner(repo, build, os.path.abspath(args.snapshot), results)
    started = time.time()
    raw_path = os.path.join(results, "raw.pickle")
    if args.reuse:
        with open(raw_path, "rb") as f:
            raw, runner.commands, measured_seconds = pickle.load(f)
    else:
        raw = measure(runner, args.jobs)
        measured_seconds = time.time() - started
        with open(raw_path, "wb") as f:
            pickle.dump((raw, runner.commands, measured_seconds), f)
    data = collect(runner, raw)
    data["profiles"] = profile_worst_cases(runner, data)
    if args.revision == "working-tree":
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "core", "bench"], cwd=repo,
                               capture_output=True, text=True).stdout.strip() != ""
        changed = subprocess.run(["diff", "-rq", os.path.join(runner.snapshot, "core"),
                                  os.path.join(repo, "core")], capture_output=True).returncode != 0
    else:
        commit, dirty, changed = args.revision, False, False
    info = {"date": datetime.date.today().isoformat(), "commit": commit, "dirty": dirty,
            "seconds": measured_seconds, "machine": machine(), "core_changed": changed,
            "revision_mode": args.revision != "working-tree"}
    data["info"] = info
    with open(os.path.join(results, "results.json"), "w") as f:
        json.dump(data, f, indent=1, default=str)
    with open(os.path.join(results, "commands.txt"), "w") as f:
        f.write("\n".join(runner.commands) + "\n")
    plots(data, os.path.join(repo, "docs", "plots"))
    doc_path = os.path.join(repo, "docs", "benchmarks.md")
    text = open(doc_path).read() if os.path.exists(doc_path) else SKELETON
    text = replace_block(text, "host", host_section(data, info, runner))
    text = replace_block(text, "bounded", bounded_section(data, info))
    with open(doc_path, "w") as f:
        f.write(text)
    for t in TRACES:
        e = data["traces"][t]
        print("%-20s keel %7.1f glibc %7.1f ratio %.3f (<= %.2f)  efficiency %.3f (>= %.2f)" % (
            t, e["default"]["per_op"], e["glibc"]["per_op"], e["ratio"], RATIO_TARGET[t],
            e["efficiency_default"]["efficiency"], EFFICIENCY_TARGET[t]))
    for heap in HEAPS:
        for arena_name in ARENAS:
            wb = worst_bound(data, heap, arena_name)
            print("%-9s %-7s worst allocate %4d (%s)  worst free %4d (%s)" % (
                heap, arena_name, wb["allocate"][0], wb["allocate"][1], wb["free"][0],
                wb["free"][1]))
    print("bench.py: %d commands in %.0f s; docs/benchmarks.md and docs/plots/ rewritten"
          % (len(runner.commands), time.time() - started))


if __name__ == "__main__":
    main()
