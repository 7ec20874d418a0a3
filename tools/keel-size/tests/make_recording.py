#!/usr/bin/env python3
"""Writes a synthetic binary recording (docs/recording.md) for keel-size's tests.

The encoder here is written from the format's description, apart from keel-size's own, so a
round trip through keel-size's reader and writer is checked against an independent writer.

    make_recording.py OUT --pointer-bytes 4|8 [--seed N] [--operations N] [--no-end]

The calls: allocate, allocate_zeroed, reallocate (moving and in place) and free, sizes up to a
few KiB, alignments 8 to 256, tags both kinds (code addresses, file names with lines), a few
failed calls, addresses from a simulated heap (on 8-byte targets in the upper half of the
address space, as a higher-half kernel's are, so differences wrap).
"""

import argparse
import random
import struct


def unsigned(value):
    out = bytearray()
    while value >= 0x80:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def signed(value):
    return unsigned(((value << 1) ^ (value >> 63)) & ((1 << 64) - 1))


def wrap(value):
    """A difference of two unsigned numbers, modulo 2^64, as a signed 64-bit number."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


class Writer:
    def __init__(self, pointer_bytes, flags, checking):
        self.out = bytearray(b"KREC" + bytes([1, pointer_bytes, 3 if pointer_bytes == 4 else 4,
                                              checking, flags, 0]) + struct.pack("<HI", 8, 0))
        self.last = 0
        self.last_tag = 0

    def address(self, value):
        self.out += signed(wrap(value - self.last) // 4)
        self.last = value

    def tag(self, tag, line):
        self.out += signed(wrap(tag - self.last_tag)) + unsigned(line)
        self.last_tag = tag

    def allocate(self, at, size, align, tag, line):
        self.out.append(0x41)
        self.address(at)
        self.out += unsigned(size) + bytes([align.bit_length() - 1 if align else 255])
        self.tag(tag, line)

    def allocate_zeroed(self, at, count, size, align, tag, line):
        self.out.append(0x43)
        self.address(at)
        self.out += unsigned(count) + unsigned(size) + bytes([align.bit_length() - 1])
        self.tag(tag, line)

    def reallocate(self, frm, at, size, align, tag, line):
        self.out.append(0x52)
        self.address(frm)
        self.address(at)
        self.out += unsigned(size) + bytes([align.bit_length() - 1])
        self.tag(tag, line)

    def free(self, at):
        self.out.append(0x46)
        self.address(at)


def generate(pointer_bytes, seed, operations, end=True):
    rng = random.Random(seed)
    writer = Writer(pointer_bytes, flags=3, checking=1)  # tags and statistics, basic checks
    base = 0x20000000 if pointer_bytes == 4 else 0xFFFF800000100000
    code = 0x08000000 if pointer_bytes == 4 else 0xFFFFFFFF80000000
    sites = [(code + 0x100 + 0x40 * i, 0) for i in range(6)]
    sites += [(code + 0x8000 + 0x20 * i, 10 + 7 * i) for i in range(4)]
    live = {}  # address -> (size, align)
    top = base
    free_spans = []

    def place(size, align):
        nonlocal top
        for index, (start, length) in enumerate(free_spans):
            aligned = (start + align - 1) // align * align
            if aligned + size <= start + length:
                del free_spans[index]
                return aligned
        aligned = (top + align - 1) // align * align
        top = aligned + max(size, 8) + 8
        return aligned

    for _ in range(operations):
        roll = rng.random()
        tag, line = rng.choice(sites)
        if not live or roll < 0.45:
            size = rng.choice([0, 8, 24, 40, 100, 256, 600, 1500, 3000])
            align = rng.choice([8, 8, 8, 16, 64, 256])
            if rng.random() < 0.03:
                writer.allocate(0, 50000, align, tag, line)  # a failed call
                continue
            if rng.random() < 0.01:
                writer.allocate(0, 64, 0, tag, line)  # an alignment that is no power of two
                continue
            at = place(size, align)
            live[at] = (size, align)
            if rng.random() < 0.2:
                count = rng.choice([1, 3, 10])
                live[at] = (size // count * count, align)
                writer.allocate_zeroed(at, count, size // count, align, tag, line)
            else:
                writer.allocate(at, size, align, tag, line)
        elif roll < 0.6:
            frm = rng.choice(sorted(live))
            size, align = live[frm]
            new_size = rng.choice([16, 200, 900, 2500])
            if rng.random() < 0.05:
                writer.reallocate(frm, 0, 60000, align, tag, line)  # a failed reallocate
                continue
            at = frm if new_size <= size else place(new_size, align)
            del live[frm]
            if at != frm:
                free_spans.append((frm, max(size, 8)))
            live[at] = (new_size, align)
            writer.reallocate(frm, at, new_size, align, tag, line)
        else:
            at = rng.choice(sorted(live))
            size, _ = live.pop(at)
            free_spans.append((at, max(size, 8)))
            writer.free(at)
    if end:
        for at in sorted(live):
            writer.free(at)
        writer.out.append(0x45)
    return bytes(writer.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--pointer-bytes", type=int, choices=(4, 8), required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--operations", type=int, default=3000)
    parser.add_argument("--no-end", action="store_true")
    args = parser.parse_args()
    with open(args.output, "wb") as stream:
        stream.write(generate(args.pointer_bytes, args.seed, args.operations,
                              not args.no_end))


if __name__ == "__main__":
    main()
