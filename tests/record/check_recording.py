#!/usr/bin/env python3
"""Checks a keel recording (.krec, docs/recording.md) and prints what it holds.

    check_recording.py [--pointer-bytes N] [--min-records N] [--allow-unterminated] FILE.krec

Reads the file as the format describes it, independently of keel's C++ code, and fails (exit
status 1, with the reason) unless: the header is version 1 with valid fields (and the pointer
width asked for); every record is well formed up to the last byte; the stream ends with E (the
recorder was stopped); there are at least --min-records records; every F and R names a live
block (one that an earlier A, C or R returned and no F or R has released since); no A, C or R
returns a block that is already live. Prints the size, the number of records of each kind, the
failed calls and the peak number of live blocks.
"""
import argparse
import sys

KINDS = {0x41: "A", 0x43: "C", 0x52: "R", 0x46: "F", 0x45: "E"}


class Malformed(Exception):
    pass


class Reader:
    def __init__(self, data, position):
        self.data = data
        self.position = position
        self.last_address = 0
        self.last_tag = 0

    def byte(self):
        if self.position >= len(self.data):
            raise Malformed("record cut off at byte %d" % self.position)
        value = self.data[self.position]
        self.position += 1
        return value

    def unsigned(self):
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte & 0x80 == 0:
                return value
            shift += 7
            if shift >= 70:
                raise Malformed("LEB128 number too long at byte %d" % self.position)

    def signed(self):
        zigzag = self.unsigned()
        return (zigzag >> 1) ^ -(zigzag & 1)

    def address(self):
        self.last_address = (self.last_address + 4 * self.signed()) % (1 << 64)
        return self.last_address

    def align_and_tag(self):
        align = self.byte()
        self.last_tag = (self.last_tag + self.signed()) % (1 << 64)
        line = self.unsigned()
        return align, self.last_tag, line


def check(data, pointer_bytes, min_records, allow_unterminated):
    if len(data) < 16 or data[0:4] != b"KREC":
        raise Malformed("no KREC header")
    version, pointers, align_log2, checking, flags = data[4], data[5], data[6], data[7], data[8]
    search_limit = data[10] | (data[11] << 8)
    if version != 1:
        raise Malformed("version %d, expected 1" % version)
    if pointers not in (4, 8) or (pointer_bytes and pointers != pointer_bytes):
        raise Malformed("pointer bytes %d" % pointers)
    if align_log2 not in (3, 4) or checking > 3 or flags & ~7 or data[9]:
        raise Malformed("header fields out of range: %s" % data[:16].hex())
    print("header: pointer_bytes=%d default_align=%d checking=%d tags=%d statistics=%d "
          "hardened=%d search_limit=%d" % (pointers, 1 << align_log2, checking, flags & 1,
                                           (flags >> 1) & 1, (flags >> 2) & 1, search_limit))
    reader = Reader(data, 16)
    counts = {kind: 0 for kind in KINDS.values()}
    failures = 0
    live = set()
    peak = 0
    ended = False
    index = 0
    while reader.position < len(data):
        if ended:
            raise Malformed("bytes after E at byte %d" % reader.position)
        opcode = reader.byte()
        if opcode not in KINDS:
            raise Malformed("unknown opcode 0x%02x at byte %d" % (opcode, reader.position - 1))
        kind = KINDS[opcode]
        counts[kind] += 1
        index += 1
        if kind == "E":
            ended = True
            continue
        if kind == "F":
            address = reader.address()
            if address not in live:
                raise Malformed("record %d: F of 0x%x, not a live block" % (index, address))
            live.remove(address)
            continue
        source = reader.address() if kind == "R" else None
        address = reader.address()
        reader.unsigned()  # size, or count for C
        if kind == "C":
            reader.unsigned()  # size
        reader.align_and_tag()
        if address % 4:
            raise Malformed("record %d: address 0x%x not a multiple of 4" % (index, address))
        if source is not None:
            if source not in live:
                raise Malformed("record %d: R of 0x%x, not a live block" % (index, source))
            if address == 0:
                failures += 1
                continue
            live.remove(source)
        elif address == 0:
            failures += 1
            continue
        if address in live:
            raise Malformed("record %d: 0x%x handed out while live" % (index, address))
        live.add(address)
        peak = max(peak, len(live))
    if not ended and not allow_unterminated:
        raise Malformed("no E at the end: the recording was cut off")
    records = sum(counts.values())
    print("%d bytes, %d records: %s; %d failed calls; peak %d live blocks, %d live at the end"
          % (len(data), records, ", ".join("%s %d" % (k, counts[k]) for k in "ACRFE"),
             failures, peak, len(live)))
    if records < min_records:
        raise Malformed("only %d records, expected at least %d" % (records, min_records))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--pointer-bytes", type=int, default=0)
    parser.add_argument("--min-records", type=int, default=1)
    parser.add_argument("--allow-unterminated", action="store_true")
    arguments = parser.parse_args()
    with open(arguments.file, "rb") as stream:
        data = stream.read()
    try:
        check(data, arguments.pointer_bytes, arguments.min_records, arguments.allow_unterminated)
    except Malformed as error:
        print("%s: %s" % (arguments.file, error))
        return 1
    print("%s: a well-formed recording" % arguments.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
