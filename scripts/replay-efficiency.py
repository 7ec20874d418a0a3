#!/usr/bin/env python3
"""replay-efficiency.py: heap efficiency on the shared traces at a finer step than measure.py.

../shared/replay/measure.py reports peak live bytes over the smallest arena in 1 KiB steps; on the
small traces one step is 2 to 5 % of the arena, and the answer jumps with the heap's layout
(docs/benchmarks.md). This script takes that answer and bisects below it in STEP-byte steps with
the same replayer (`replay_X cg TRACE ARENA` must report fails=0), so two builds can be compared
on the same scale. The search assumes that a larger arena never fails where a smaller one served,
which is nearly but not exactly true: treat the last digit with care.

Usage, from the project root, after measure.py has built its replayer:
  python3 scripts/replay-efficiency.py [--replayer build/shared-replay/replay_keel] [--step 16]
"""
import argparse
import os
import re
import subprocess
import sys

TRACES = ["micro", "random_actions", "random_actions_big", "aligned", "fifo", "lifo", "prodcons",
          "growth"]


def run(args):
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout


def serves(replayer, trace, arena):
    return "fails=0" in run([replayer, "cg", trace, str(arena)])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--replayer", default="build/shared-replay/replay_keel")
    parser.add_argument("--traces", default=os.path.join(here, "..", "..", "shared", "traces"))
    parser.add_argument("--step", type=int, default=16)
    args = parser.parse_args()
    if not os.access(args.replayer, os.X_OK):
        sys.exit(f"no replayer at {args.replayer}: run python3 ../shared/replay/measure.py first")
    print(f"| trace | peak live | arena, 1 KiB steps | efficiency | arena, {args.step} B steps "
          "| efficiency |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in TRACES:
        trace = os.path.join(args.traces, name + ".trace.gz")
        found = run([args.replayer, "minarena", trace])
        coarse = re.search(r"min_arena=(\d+)", found)
        peak = re.search(r"peak_live=(\d+)", found)
        if not coarse or not peak:
            sys.exit(f"{name}: no answer from minarena: {found.strip()}")
        high, low = int(coarse.group(1)), int(peak.group(1))
        while high - low > args.step:
            middle = (low + high) // 2 // args.step * args.step
            if middle <= low:
                break
            if serves(args.replayer, trace, middle):
                high = middle
            else:
                low = middle
        live = int(peak.group(1))
        print(f"| {name} | {live} | {coarse.group(1)} | {live / int(coarse.group(1)):.3f} | {high} "
              f"| {live / high:.3f} |")


if __name__ == "__main__":
    main()
