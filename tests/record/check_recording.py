#!/usr/bin/env python3
"""Checks a keel recording (.krec, docs/recording.md) and prints what it holds.

    check_recording.py [--pointer-bytes N] [--min-records N] [--allow-unterminated] FILE.krec

Reads the file with keel-size's reader (tools/keel-size/keelsize/recording.py: Python's standard
library only, so no build is needed), which refuses a bad header, a malformed record, a free or
reallocate of a block that is not live and a block handed out while live. Fails (exit status 1,
with the reason) on those, and unless the pointer width is the one asked for, the stream ends
with E (the recorder was stopped) and there are at least --min-records records. Prints the size,
the records of each kind, the failed calls and the peak number of live blocks.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                os.pardir, "tools", "keel-size"))
from keelsize.recording import FormatError, parse_binary  # noqa: E402


def check(data, name, pointer_bytes, min_records, allow_unterminated):
    if data[:4] != b"KREC":
        raise FormatError("%s: no KREC magic: not a binary recording" % name)
    recording = parse_binary(data, name)
    header = recording.header
    print(header.text().lstrip("# "))
    if pointer_bytes and header.pointer_bytes != pointer_bytes:
        raise FormatError("%s: pointer bytes %d, expected %d" %
                          (name, header.pointer_bytes, pointer_bytes))
    if not recording.ended and not allow_unterminated:
        raise FormatError("%s: %s" % (name, recording.cut_off))
    counts = {kind: 0 for kind in "acrf"}
    live, peak = 0, 0
    for record in recording.records:
        counts[record.kind] += 1
        if record.kind in "ac" and not record.failed:
            live += 1
        elif record.kind == "f":
            live -= 1
        peak = max(peak, live)
    records = len(recording.records) + (1 if recording.ended else 0)
    print("%d bytes, %d records: A %d, C %d, R %d, F %d, E %d; %d failed calls; peak %d live "
          "blocks, %d live at the end" %
          (len(data), records, counts["a"], counts["c"], counts["r"], counts["f"],
           1 if recording.ended else 0, recording.failed_calls, peak, live))
    if records < min_records:
        raise FormatError("%s: only %d records, expected at least %d" %
                          (name, records, min_records))


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
        check(data, arguments.file, arguments.pointer_bytes, arguments.min_records,
              arguments.allow_unterminated)
    except FormatError as error:
        print(error)
        return 1
    print("%s: a well-formed recording" % arguments.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
