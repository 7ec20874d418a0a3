#!/usr/bin/env python3
"""efficiency-bound.py: the best heap efficiency a trace allows a heap with keel's block layout.

At the moment a trace holds the most live bytes, every live block needs its payload, a header
and the rounding to whole granules; with the heap's state inside the arena, the arena can be no
smaller than those blocks plus the state, even if no byte is free. Peak live bytes over that sum
bound the efficiency that ../shared/replay/measure.py can print for the trace, whatever the heap
does with its free memory. The trace's peak is its first moment with the most live bytes.

Usage, from the project root:
  python3 scripts/efficiency-bound.py [--header 4] [--state 780] [--min-block 16]

--state is the heap's state in the arena (keel.h over a small arena: 780 bytes on x86_64, see
docs/design.md 13); --min-block the least block in bytes. Prints, per trace, the bound with
16-byte and with 8-byte granules.
"""
import argparse
import gzip
import os

TRACES = ["micro", "random_actions", "random_actions_big", "aligned", "fifo", "lifo", "prodcons",
          "growth"]


def peak_blocks(path):
    """Live sizes at the trace's first peak of live bytes, and that peak."""
    live, current, peak, at_peak = {}, 0, 0, []
    with gzip.open(path, "rt") as trace:
        for line in trace:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            op, handle = words[0], words[1]
            if op == "a":
                live[handle] = int(words[2])
                current += live[handle]
            elif op == "c":
                live[handle] = int(words[2]) * int(words[3])
                current += live[handle]
            elif op == "r":
                current += int(words[2]) - live[handle]
                live[handle] = int(words[2])
            elif op == "f":
                current -= live.pop(handle)
            if current > peak:
                peak, at_peak = current, list(live.values())
    return peak, at_peak


def block_bytes(size, header, granule, least):
    return max(least, (size + header + granule - 1) // granule * granule)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", default=os.path.join(here, "..", "..", "shared", "traces"))
    parser.add_argument("--header", type=int, default=4)
    parser.add_argument("--state", type=int, default=780)
    parser.add_argument("--min-block", type=int, default=16)
    args = parser.parse_args()
    print("| trace | peak live | blocks at the peak | mean size | bound, 16-byte granules "
          "| bound, 8-byte granules |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in TRACES:
        peak, sizes = peak_blocks(os.path.join(args.traces, name + ".trace.gz"))
        bounds = [peak / (sum(block_bytes(s, args.header, granule, args.min_block) for s in sizes)
                          + args.state) for granule in (16, 8)]
        print(f"| {name} | {peak} | {len(sizes)} | {peak // len(sizes)} | {bounds[0]:.3f} "
              f"| {bounds[1]:.3f} |")


if __name__ == "__main__":
    main()
