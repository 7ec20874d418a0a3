#!/usr/bin/env python3
"""keel-size's tests (ctest runs one group at a time; tools/keel-size/tests/CMakeLists.txt).

    test_keel_size.py --keel-size BUILT_DRIVER --source KEEL_SOURCE --traces SHARED_TRACES
                      --widths 4,8 --work SCRATCH GROUP

GROUP: convert (round trips, malformed and cut-off input), size_synthetic (generated
recordings), size_traces (../shared/traces), see (the pictures). A size test checks the tool's
answer with replays of its own: the smallest arena must replay, one granule step less must fail
(unless the tool said the result is not monotone there), and so for every row of the option
table. Exit status 77: skipped (ctest's SKIP_RETURN_CODE), only when matplotlib is missing.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_recording  # noqa: E402

ARGS = None


def keel_size(*arguments, check=True):
    process = subprocess.run([ARGS.keel_size] + list(arguments), capture_output=True,
                             check=False)
    if check and process.returncode != 0:
        raise AssertionError("keel-size %s failed (%d): %s" %
                             (" ".join(arguments), process.returncode,
                              process.stderr.decode(errors="replace")))
    return process


def work(name):
    os.makedirs(ARGS.work, exist_ok=True)
    return os.path.join(ARGS.work, name)


def synthetic(pointer_bytes, seed=1, operations=3000, end=True, name=None):
    path = work(name or "synthetic-%d-%d.krec" % (pointer_bytes, seed))
    with open(path, "wb") as stream:
        stream.write(make_recording.generate(pointer_bytes, seed, operations, end))
    return path


def doc_example():
    """The text recording shown in docs/recording.md."""
    with open(os.path.join(ARGS.source, "docs", "recording.md")) as stream:
        text = stream.read()
    block = re.search(r"## The text form.*?```\n(.*?)```", text, re.S)
    return block.group(1)


class Convert(unittest.TestCase):
    def test_binary_text_binary_byte_for_byte(self):
        for width in (4, 8):
            for end in (True, False):
                with self.subTest(width=width, end=end):
                    original = synthetic(width, seed=7, end=end,
                                         name="rt-%d-%d.krec" % (width, end))
                    text, back = original + ".txt", original + ".back"
                    process = keel_size("convert", original, "-o", text)
                    keel_size("convert", text, "-o", back)
                    with open(original, "rb") as a, open(back, "rb") as b:
                        self.assertEqual(a.read(), b.read())
                    with open(text) as stream:
                        lines = stream.read().splitlines()
                    self.assertTrue(lines[0].startswith("# keel-recording 1 pointer_bytes=%d "
                                                        % width))
                    self.assertEqual(lines[-1] == "# end", end)
                    self.assertTrue(any(line.startswith("# fail ") for line in lines))
                    if not end:
                        self.assertIn(b"cut off", process.stderr)

    def test_largest_block_round_trips(self):
        # A heap built with HeapOptions::largest_block names it in header bytes 12..15.
        original = synthetic(4, seed=9, name="rt-largest.krec")
        with open(original, "rb") as stream:
            data = bytearray(stream.read())
        data[12:16] = (65536).to_bytes(4, "little")
        patched, text, back = (work("rt-largest-64k" + suffix)
                               for suffix in (".krec", ".txt", ".back"))
        with open(patched, "wb") as stream:
            stream.write(data)
        keel_size("convert", patched, "-o", text)
        keel_size("convert", text, "-o", back)
        with open(back, "rb") as stream:
            self.assertEqual(stream.read(), bytes(data))
        with open(text) as stream:
            self.assertTrue(stream.readline().rstrip().endswith(" largest_block=65536"))

    def test_text_binary_text(self):
        example = doc_example()
        path = work("doc-example.txt")
        with open(path, "w") as stream:
            stream.write(example)
        keel_size("convert", path, "-o", path + ".krec")
        keel_size("convert", path + ".krec", "-o", path + ".back")
        with open(path + ".back") as stream:
            self.assertEqual(stream.read(), example)
        # and gzip-compressed input reads the same
        with open(path + ".krec", "rb") as stream, gzip.open(path + ".krec.gz", "wb") as out:
            out.write(stream.read())
        self.assertEqual(keel_size("convert", path + ".krec.gz").stdout.decode(), example)

    def test_malformed_input_is_refused_clearly(self):
        good = open(synthetic(8, seed=3, operations=50), "rb").read()
        header = good[:16]
        cases = [
            ("version", b"KREC\x02" + header[5:] + b"E", "version 2"),
            ("short header", header[:10], "cut off inside the header"),
            ("pointer bytes", header[:5] + b"\x03" + header[6:] + b"E", "pointer bytes 3"),
            ("reserved", header[:9] + b"\x01" + header[10:] + b"E", "reserved byte 9"),
            ("opcode", header + b"\x99", "unknown opcode 0x99"),
            ("long number", header + b"A\x80\x00\x01\x03\x00\x00", "not in its shortest form"),
            ("free of nothing", header + b"F\x08E", "not a live block"),
            ("after the end", good + b"A", "after the end record"),
            ("not ascii", b"\xff\xfe garbage", "neither a binary recording"),
            ("unknown text", b"a 0 16 8\nx 1 2\n", "unknown operation"),
            ("id not live", b"a 0 16 8\nf 1\n", "id 1 is not live"),
            ("no address", b"# keel-recording 1 pointer_bytes=4 default_align=8 checking=basic"
             b" tags=0 statistics=1 hardened=0 search_limit=8\na 0 16 8 # tag=0x10\n",
             "no at= field"),
            ("cut gzip", gzip.compress(good)[:-30], "gzip stream"),
        ]
        for name, data, message in cases:
            with self.subTest(name):
                path = work("malformed-%s" % name.replace(" ", "-"))
                with open(path, "wb") as stream:
                    stream.write(data)
                for command in (["convert", path], [path]):
                    process = keel_size(*command, check=False)
                    self.assertEqual(process.returncode, 1, process.stderr)
                    self.assertIn(message, process.stderr.decode())
                    self.assertTrue(process.stderr.startswith(b"keel-size: "))

    def test_cut_off_inside_a_record(self):
        good = open(synthetic(4, seed=5, operations=400), "rb").read()
        cut = work("cut.krec")
        for length in range(len(good) // 2, len(good) // 2 + 20):
            with open(cut, "wb") as stream:
                stream.write(good[:length])
            process = keel_size("convert", cut)
            message = process.stderr.decode()
            if "no end record" not in message:
                break
        self.assertRegex(message, r"cut off inside record \d+")
        records = int(re.search(r"(\d+) records read", message).group(1))
        text = process.stdout.decode().splitlines()
        self.assertEqual(len(text), records + 1)  # the header line, no '# end'
        full = keel_size("convert", synthetic(4, seed=5, operations=400)).stdout.decode()
        self.assertEqual(full.splitlines()[:records + 1], text)
        # a plain trace cannot become a recording
        trace = work("plain.trace")
        with open(trace, "w") as stream:
            stream.write("a 0 16 8\nf 0\n")
        process = keel_size("convert", trace, check=False)
        self.assertEqual(process.returncode, 1)
        self.assertIn(b"cannot be made a recording", process.stderr)


class Replays:
    """Replays of keel-size's replayer itself, to check the tool's answers."""

    def __init__(self):
        home = os.path.dirname(os.path.realpath(ARGS.keel_size))
        sys.path.insert(0, home)
        os.environ.setdefault("KEEL_SIZE_HOME", home)
        from keelsize import recording, replayer
        self.recording = recording
        self.replayer = replayer

    def program(self, pointer_bytes):
        return self.replayer.Replayer(pointer_bytes)

    def granule(self, pointer_bytes):
        return self.program(pointer_bytes).info["granule"]

    def run(self, path, options, arena, checking=None, tags=None, failed="probe"):
        options = dict(options)
        if checking is not None:
            options["checking"], options["tags"] = checking, tags
        recording = self.recording.load(path)
        text, origin = self.recording.replay_lines(recording, options["default_align"], failed)
        program = self.program(options["pointer_bytes"])
        lines = program.lines(["run", "--arena", str(arena), "--stop-at-failure"] +
                              self.replayer.option_arguments(options), text)
        summary = lines[-1]
        summary["origin"] = origin
        return summary


def peak_live(path):
    """The largest sum of live request sizes, computed here from the recording's calls."""
    sys.path.insert(0, os.path.dirname(os.path.realpath(ARGS.keel_size)))
    from keelsize import recording
    live, total, peak = {}, 0, 0
    for record in recording.load(path).records:
        if record.failed:
            continue
        if record.kind in "ac":
            live[record.id] = record.count * record.size
        elif record.kind == "r":
            total -= live[record.id]
            live[record.id] = record.size
        else:
            total -= live.pop(record.id)
            continue
        total += live[record.id]
        peak = max(peak, total)
    return peak


class SizeChecks:
    def check_answer(self, path, *options, table=True):
        options += () if table else ("--no-table",)
        result = json.loads(keel_size(path, "--json", "--scan", "16", *options).stdout)
        replays = Replays()
        o = result["options"]
        failed = result["failed_calls_replayed"]
        smallest = result["smallest_arena"]
        # Sizes are searched in steps of the replayer's granule: 8 bytes for 32-bit (Cortex-M)
        # recordings, whatever the host's; this build's own for 64-bit ones.
        step = result["step"]
        self.assertEqual(step, replays.granule(o["pointer_bytes"]))
        if o["pointer_bytes"] == 4:
            self.assertEqual(step, 8)
        self.assertEqual(smallest % step, 0)
        at = replays.run(path, o, smallest, failed=failed)
        self.assertTrue(at["claimed"])
        self.assertEqual(at["failures"], 0, "the smallest arena does not replay")
        below = replays.run(path, o, smallest - step, failed=failed)
        if smallest - step in result["runs_below"]:
            self.assertFalse(result["monotone"])
        else:
            self.assertTrue(below["failures"] > 0 or not below["claimed"],
                            "one step below the smallest arena replays too")
            if below["claimed"]:
                self.assertEqual(result["closest_to_failing"]["op"],
                                 below["origin"][below["first_failure"]])
        self.assertEqual(result["monotone"], not result["fails_above"] and
                         not result["runs_below"])
        for size in result["fails_above"][:4]:
            self.assertGreater(replays.run(path, o, size, failed=failed)["failures"], 0)
        self.assertEqual(replays.run(path, o, result["safe_from"], failed=failed)["failures"]
                         == 0, result["safe_runs"])
        if result["stable"]:
            self.assertTrue(result["safe_runs"])
        self.assertEqual(replays.run(path, o, result["recommended_arena"],
                                     failed=failed)["failures"], 0)
        self.assertGreaterEqual(result["recommended_arena"],
                                result["safe_from"] * (100 + result["margin_percent"]) // 100)
        self.assertEqual(result["at_recommended"]["failures"], 0)
        self.assertEqual(result["peak_live_bytes"], peak_live(path))
        self.assertGreaterEqual(result["peak_in_use"], result["peak_live_bytes"])
        self.assertLess(result["peak_in_use"], smallest)
        # every row of the option table, checked the same way
        self.assertEqual(len(result["variants"]), 6 if table else 1)
        for row in result["variants"]:
            checking = "full" if row["replayed_as"] == "full" else row["checking"]
            at = replays.run(path, o, row["smallest_arena"], checking, row["tags"], failed)
            self.assertEqual(at["failures"], 0, row)
            below = replays.run(path, o, row["smallest_arena"] - step, checking, row["tags"],
                                failed)
            self.assertTrue(below["failures"] > 0 or not below["claimed"], row)
        # the human-readable report says the same
        text = keel_size(path, "--scan", "16", *options).stdout.decode()
        self.assertIn("smallest arena        %s bytes" %
                      "{:,}".format(smallest).replace(",", " "), text)
        self.assertIn("fails (one %d-byte granule step less)" % step, text)
        return result


class SizeSynthetic(unittest.TestCase, SizeChecks):
    def test_synthetic_recordings(self):
        for width in ARGS.widths:
            for failed in ("probe", "skip"):
                with self.subTest(width=width, failed=failed):
                    path = synthetic(width, seed=11)
                    result = self.check_answer(path, "--failed", failed)
                    self.assertEqual(result["options"]["pointer_bytes"], width)
                    self.assertEqual(result["form"], "binary")
                    self.assertGreater(result["failed_calls"], 0)
                    critical = result["closest_to_failing"]
                    self.assertIn(critical["kind"], ("allocate", "allocate_zeroed",
                                                     "reallocate"))
                    self.assertNotEqual(critical["tag"], 0)

    def test_text_form_sizes_like_binary(self):
        path = synthetic(ARGS.widths[0], seed=12)
        keel_size("convert", path, "-o", path + ".txt")
        first = json.loads(keel_size(path, "--json", "--no-table", "--scan", "8").stdout)
        second = json.loads(keel_size(path + ".txt", "--json", "--no-table", "--scan",
                                      "8").stdout)
        for key in ("smallest_arena", "safe_from", "peak_in_use", "variants"):
            self.assertEqual(first[key], second[key], key)
        del first["closest_to_failing"]["where"], second["closest_to_failing"]["where"]
        self.assertEqual(first["closest_to_failing"], second["closest_to_failing"])

    def test_missing_replayer_or_limit_is_clear(self):
        path = work("limit.trace")
        with open(path, "w") as stream:
            stream.write("a 0 16 8\nf 0\n")
        process = keel_size(path, "--search-limit", "3", "--pointer-bytes",
                            str(ARGS.widths[0]), check=False)
        self.assertEqual(process.returncode, 1)
        self.assertIn(b"search_limit", process.stderr)
        for width in (4, 8):
            if width not in ARGS.widths:
                process = keel_size(path, "--pointer-bytes", str(width), check=False)
                self.assertEqual(process.returncode, 1)
                self.assertIn(b"no replayer for %d-byte pointers" % width, process.stderr)

    def test_reallocate_to_zero_keeps_the_block(self):
        path = work("zero.trace")
        with open(path, "w") as stream:
            stream.write("a 0 100 8\nr 0 0\na 1 24 8\nr 0 40\nf 0\nf 1\n")
        result = json.loads(keel_size(path, "--json", "--scan", "4", "--pointer-bytes",
                                      str(ARGS.widths[0])).stdout)
        self.assertLess(result["smallest_arena"], 256)
        self.assertEqual(result["at_recommended"]["failures"], 0)

    def test_32_bit_replayer_under_qemu(self):
        if 4 not in ARGS.widths or shutil.which("qemu-i386") is None:
            self.skipTest("no 32-bit replayer or no qemu-i386")
        path = synthetic(4, seed=13, operations=800)
        native = json.loads(keel_size(path, "--json", "--scan", "8").stdout)
        process = subprocess.run([ARGS.keel_size, path, "--json", "--scan", "8"],
                                 capture_output=True, check=True,
                                 env=dict(os.environ, KEEL_SIZE_QEMU="1"))
        emulated = json.loads(process.stdout)
        self.assertEqual(emulated["replayer"]["how"], "under qemu-i386")
        for key in ("smallest_arena", "safe_from", "variants", "closest_to_failing"):
            self.assertEqual(native[key], emulated[key], key)


class SizeTraces(unittest.TestCase, SizeChecks):
    def test_shared_traces(self):
        self.assertTrue(os.path.isdir(ARGS.traces), "no shared traces at %s" % ARGS.traces)
        # growth (reallocations, not monotone at 32 bits) without the option table: its
        # searches take a while
        for name, width, table in (("fifo", 8, True), ("growth", 4, False)):
            if width not in ARGS.widths:
                width = ARGS.widths[0]
            with self.subTest(name=name, width=width):
                path = os.path.join(ARGS.traces, name + ".trace.gz")
                result = self.check_answer(path, "--pointer-bytes", str(width), table=table)
                self.assertEqual(result["form"], "trace")
                self.assertEqual(result["failed_calls"], 0)


def check_png(test, path):
    with open(path, "rb") as stream:
        data = stream.read()
    test.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n", path)
    offset, chunks = 8, []
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        crc, = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        test.assertEqual(zlib.crc32(kind + body), crc, "%s: bad CRC in %s" % (path, kind))
        chunks.append((kind, body))
        offset += 12 + length
    test.assertEqual(chunks[0][0], b"IHDR")
    test.assertEqual(chunks[-1][0], b"IEND")
    width, height = struct.unpack(">II", chunks[0][1][:8])
    test.assertGreater(width, 400)
    test.assertGreater(height, 200)
    image = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    test.assertGreater(len(set(image)), 8, "%s: hardly anything drawn" % path)


class See(unittest.TestCase):
    def test_pictures(self):
        for width in ARGS.widths:
            path = synthetic(width, seed=21, operations=1500)
            out = work("see-%d" % width)
            for old in os.listdir(out) if os.path.isdir(out) else ():
                os.remove(os.path.join(out, old))
            process = keel_size("see", path, "--out", out, "--name", "s", "--scan", "8",
                                check=False)
            if b"see needs matplotlib" in process.stderr:
                print("skipped: matplotlib is missing: %s" % process.stderr.decode().strip())
                sys.exit(77)
            self.assertEqual(process.returncode, 0, process.stderr)
            written = process.stdout.decode().split()
            self.assertEqual(sorted(os.path.basename(p) for p in written),
                             ["s-map-end.png", "s-map-peak.png", "s-timeline.png"])
            self.assertEqual(sorted(os.listdir(out)), sorted(os.path.basename(p)
                                                             for p in written))
            for picture in written:
                check_png(self, picture)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--keel-size", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--traces", required=True)
    parser.add_argument("--widths", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("group", choices=("convert", "size_synthetic", "size_traces", "see"))
    ARGS = parser.parse_args()
    ARGS.widths = [int(width) for width in ARGS.widths.split(",")]
    group = {"convert": Convert, "size_synthetic": SizeSynthetic, "size_traces": SizeTraces,
             "see": See}[ARGS.group]
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(group)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
