"""keel-size's command line: convert, size (the default) and see (tools/keel-size/README.md)."""

import argparse
import json
import os
import sys
import tempfile

from . import recording as rec
from .replayer import Replayer, ReplayError, option_arguments

KIND_NAMES = {"a": "allocate", "c": "allocate_zeroed", "r": "reallocate", "f": "free"}


class UsageError(Exception):
    pass


def _bytes(value):
    return "{:,}".format(value).replace(",", " ")


def _round_up(value, step):
    return (value + step - 1) // step * step


# --------------------------------------------------------------------------------------------
# The options of the heap a recording is replayed against


def heap_options(recording, args):
    """The recording's header, or a plain trace's defaults, with what the user overrode."""
    header = recording.header
    options = {
        "pointer_bytes": header.pointer_bytes if header else 8,
        "default_align": header.default_align if header else None,
        "checking": header.checking_name if header else "basic",
        "tags": header.tags if header else False,
        "statistics": header.statistics if header else True,
        "hardened": header.hardened if header else False,
        "search_limit": header.search_limit if header else 0,
        "base_offset": args.base_offset,
    }
    overridden = []
    for key in ("pointer_bytes", "default_align", "checking", "tags", "statistics", "hardened",
                "search_limit"):
        value = getattr(args, key)
        if value is not None:
            if header is not None and value != options[key]:
                overridden.append(key)
            options[key] = value
    if options["default_align"] is None:
        options["default_align"] = 8 if options["pointer_bytes"] == 4 else 16
    return options, overridden


def describe_options(options):
    return ("%d-byte pointers, default alignment %d, checking=%s tags=%d statistics=%d "
            "hardened=%d search_limit=%d" %
            (options["pointer_bytes"], options["default_align"], options["checking"],
             options["tags"], options["statistics"], options["hardened"],
             options["search_limit"]))


def load_for_replay(args):
    recording = rec.load(args.input)
    if recording.cut_off:
        print("keel-size: %s: warning: %s; using the %d records before that" %
              (args.input, recording.cut_off, len(recording.records)), file=sys.stderr)
    options, overridden = heap_options(recording, args)
    if overridden:
        print("keel-size: %s: replaying with %s other than recorded" %
              (args.input, ", ".join(overridden)), file=sys.stderr)
    replayer = Replayer(options["pointer_bytes"])
    if not replayer.supports(options["search_limit"]):
        raise ReplayError("the replayer has heaps with search_limit %s, not %d" %
                          (", ".join(map(str, replayer.info["search_limits"])),
                           options["search_limit"]))
    text, origin = rec.replay_lines(recording, options["default_align"], args.failed)
    return recording, options, replayer, text, origin


def search(replayer, options, text, variants, scan):
    arguments = ["search", "--scan", str(scan)] + option_arguments(options)
    for checking, tags in variants:
        arguments += ["--variant", "%s:%d" % (checking, tags)]
    return replayer.lines(arguments, text)


def run(replayer, options, text, arena, timeline=None, maps=(), stop_at_failure=False):
    arguments = ["run", "--arena", str(arena)] + option_arguments(options)
    if stop_at_failure:
        arguments.append("--stop-at-failure")
    if timeline:
        arguments += ["--timeline", timeline]
    for when in maps:
        arguments += ["--map", str(when)]
    lines = replayer.lines(arguments, text)
    head, summary = lines[0], lines[-1]
    found = {line["map"]: line for line in lines[1:-1] if "map" in line}
    return head, summary, found


def step_of(replayer):
    """The replayer's granule: arena sizes are searched in steps of this many bytes."""
    return replayer.info["granule"]


def target_granule(options):
    """The granule keel picks on the recorded target unless its build forces one
    (KEEL_GRANULE): 16 bytes where alignof(std::max_align_t) is 16, else 8."""
    return 16 if options["default_align"] >= 16 else 8


def recommended(found, margin, step):
    """The arena recommended at a margin: the size from which every size replays, plus margin
    per cent, rounded up to a granule step."""
    return _round_up(found["safe_from"] * (100 + margin) // 100, step)


def recommended_that_runs(replayer, options, text, found, margin, tries=64):
    """The recommended arena, raised step by step while it fails (a result that is not
    monotone can fail above the safe size). Returns the size and how many steps it was raised."""
    step = step_of(replayer)
    arena = recommended(found, margin, step)
    for raised in range(tries):
        _, summary, _ = run(replayer, options, text, arena + raised * step, maps=(),
                            stop_at_failure=True)
        if summary["failures"] == 0:
            return arena + raised * step, raised
    raise ReplayError("no size from %d to %d bytes replays: the result is not monotone far "
                      "above the smallest arena (%d); try a larger --margin" %
                      (arena, arena + (tries - 1) * step, found["smallest"]))


def describe_op(recording, origin, index):
    """A replayed operation as the user knows it: its record, kind, size and tag."""
    record = recording.records[origin[index]]
    what = KIND_NAMES[record.kind]
    if record.kind == "c":
        size = "%d x %d bytes" % (record.count, record.size)
    else:
        size = "%d bytes" % record.size
    if record.kind in "r":
        size = "block %d to %s" % (record.id, size)
    return {"op": origin[index], "where": record.where, "kind": what, "size": record.size,
            "count": record.count, "align": record.align, "tag": record.tag,
            "line": record.line, "failed_in_recording": record.failed,
            "text": "%s %s%s" % (what, size, " (failed in the recording)"
                                 if record.failed else "")}


def describe_tag(tag, line, recording):
    if recording.header is None:
        return "no tag (a plain trace)"
    if tag == 0:
        return "no tag"
    if line == 0:
        # A return address: the call is the instruction before it. Less one (with a Thumb
        # return address's bit 0 cleared first) lands inside the call on Arm and x86 alike;
        # the return address itself can name the next line, or code inlined after the call.
        call = (tag & ~1) - 1
        return "code address 0x%x: addr2line -e IMAGE 0x%x (the call)" % (tag, call)
    return "file name at 0x%x, line %d" % (tag, line)


# --------------------------------------------------------------------------------------------
# size


def size_report(args):
    recording, options, replayer, text, origin = load_for_replay(args)
    variants = [(options["checking"], int(options["tags"]))]
    if not args.no_table:
        for checking in ("none", "basic", "full"):
            for tags in (0, 1):
                if (checking, tags) not in variants:
                    variants.append((checking, tags))
    found = search(replayer, options, text, variants, args.scan)
    main = found[0]
    arena, raised = recommended_that_runs(replayer, options, text, main, args.margin)
    _, summary, _ = run(replayer, options, text, arena)
    critical = None
    if main["step_below"].get("claimed"):
        critical = describe_op(recording, origin, main["step_below"]["op"])
    result = {
        "input": args.input,
        "form": recording.form,
        "cut_off": recording.cut_off,
        "operations": len(recording.records),
        "failed_calls": recording.failed_calls,
        "failed_calls_replayed": args.failed,
        "failed_calls_bad_alignment": sum(1 for record in recording.records
                                          if record.failed and record.align == 0),
        "options": options,
        "replayer": {"path": replayer.path, "how": replayer.how},
        "step": step_of(replayer),
        "target_granule": target_granule(options),
        "smallest_arena": main["smallest"],
        "heap_object_bytes": main["heap_bytes"],
        "safe_from": main["safe_from"],
        "stable": main["stable"],
        "safe_runs": main["safe_runs"],
        "monotone": not main["runs_below"] and not main["fails_above"],
        "runs_below": main["runs_below"],
        "fails_above": main["fails_above"],
        "window": main["window"],
        "margin_percent": args.margin,
        "recommended_arena": arena,
        "recommended_raised_steps": raised,
        "at_recommended": {
            "failures": summary["failures"],
            "least_free": summary["least_free"][0],
            "least_free_op": _origin(origin, summary["least_free"][1]),
            "least_largest_free": summary["least_largest_free"][0],
            "least_largest_free_op": _origin(origin, summary["least_largest_free"][1]),
            "worst_fragmentation_permille": summary["worst_fragmentation"][0],
            "worst_fragmentation_op": _origin(origin, summary["worst_fragmentation"][1]),
            "at_worst_fragmentation": summary["at_worst_fragmentation"],
        },
        "peak_live_bytes": summary["peak_live"][0],
        "peak_live_op": _origin(origin, summary["peak_live"][1]),
        "peak_in_use": summary["peak_in_use"][0],
        "peak_in_use_op": _origin(origin, summary["peak_in_use"][1]),
        "closest_to_failing": critical,
        "variants": [{"checking": each["checking"], "replayed_as": each["replayed_as"],
                      "tags": each["tags"], "smallest_arena": each["smallest"],
                      "safe_from": each["safe_from"], "heap_object_bytes": each["heap_bytes"]}
                     for each in found],
    }
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        print_report(result, recording)
    return 0


def _origin(origin, index):
    return origin[index] if 0 <= index < len(origin) else None


def print_report(r, recording):
    o = r["options"]
    counts = {kind: 0 for kind in "acrf"}
    for record in recording.records:
        counts[record.kind] += 1
    print("%s: %s, %d operations (%d allocate, %d allocate_zeroed, %d reallocate, %d free)" %
          (r["input"], {"binary": "binary recording", "text": "text recording",
                        "trace": "plain trace"}[r["form"]], r["operations"], counts["a"],
           counts["c"], counts["r"], counts["f"]))
    if r["cut_off"]:
        print("  cut off: %s" % r["cut_off"])
    print("heap: %s%s" % (describe_options(o), " (a plain trace: defaults or as given)"
                          if r["form"] == "trace" else ""))
    if o["checking"] == "debug":
        print("  checking=debug is replayed as full: the same layout and choices; debug's "
              "validate() costs time, not bytes")
    header = recording.header
    if header is not None and header.largest_block:
        print("  NOTE: the recorded heap has largest_block=%d (fewer bins, a smaller heap "
              "object); the replayers have the default layout only, so these sizes are the "
              "default heap's, not exactly the recorded one's" % header.largest_block)
    if r["step"] != r["target_granule"]:
        print("  NOTE: the replayer has %d-byte granules, the recorded target (default "
              "alignment %d) %d-byte ones unless its build forced KEEL_GRANULE: these sizes "
              "are the replayer's layout's" % (r["step"], o["default_align"],
                                               r["target_granule"]))
    print("replayer: %s (%s)" % (r["replayer"]["path"], r["replayer"]["how"]))
    print()
    print("smallest arena        %s bytes (the span given to claim; the heap object, %s bytes, "
          "lives outside it)" % (_bytes(r["smallest_arena"]), _bytes(r["heap_object_bytes"])))
    step = r["step"]
    print("                      %s replays, %s fails (one %d-byte granule step less)" %
          (_bytes(r["smallest_arena"]), _bytes(r["smallest_arena"] - step), step))
    low, high = r["window"]
    if r["monotone"]:
        print("                      monotone from %s to %s bytes: every size below fails, "
              "every size above replays" % (_bytes(low), _bytes(high)))
    else:
        print("                      NOT monotone between %s and %s bytes:" %
              (_bytes(low), _bytes(high)))
        if r["runs_below"]:
            print("                        below the bisection's boundary these replay too: %s"
                  % ", ".join(map(_bytes, r["runs_below"][:8])))
        if r["fails_above"]:
            print("                        above the smallest these fail: %s%s" %
                  (", ".join(map(_bytes, r["fails_above"][:8])),
                   " ..." if len(r["fails_above"]) > 8 else ""))
    if r["stable"]:
        print("safe from             %s bytes (every size from here up to %s replays)" %
              (_bytes(r["safe_from"]), _bytes(high)))
    else:
        print("safe from             not found: sizes up to %s bytes still fail now and then; "
              "%s is one past the last that failed (%s)" %
              (_bytes(high), _bytes(r["safe_from"]), "it replays" if r["safe_runs"] else
               "and fails too"))
    a = r["at_recommended"]
    print("recommended (+%d %%)   %s bytes: safe size + margin; at this size the least free "
          "was %s bytes (op %s), the least largest free block %s bytes (op %s)" %
          (r["margin_percent"], _bytes(r["recommended_arena"]), _bytes(a["least_free"]),
           a["least_free_op"], _bytes(a["least_largest_free"]), a["least_largest_free_op"]))
    if r["recommended_raised_steps"]:
        print("                      (raised %d granule steps above safe + margin, which failed)"
              % r["recommended_raised_steps"])
    print("peak live (requested) %s bytes at op %s" %
          (_bytes(r["peak_live_bytes"]), r["peak_live_op"]))
    print("peak in use           %s bytes at op %s (whole blocks: headers, rounding, pads, "
          "trailers)" % (_bytes(r["peak_in_use"]), r["peak_in_use_op"]))
    worst = a["at_worst_fragmentation"]
    print("worst fragmentation   %d per mille at op %s at the recommended size (free %s bytes, "
          "largest free block %s)" % (a["worst_fragmentation_permille"],
                                      a["worst_fragmentation_op"], _bytes(worst["free"]),
                                      _bytes(worst["largest_free"])))
    c = r["closest_to_failing"]
    if c:
        print("closest to failing    op %d (%s): %s, align %d; %s" %
              (c["op"], c["where"], c["text"], c["align"],
               describe_tag(c["tag"], c["line"], recording)))
        print("                      the first call that fails in an arena one step smaller (%s"
              " bytes)" % _bytes(r["smallest_arena"] - step))
    print("failed calls          %d in the recording%s" %
          (r["failed_calls"], "" if not r["failed_calls"] else
           (" (replayed as probes: each must succeed where it was made, then is undone)"
            if r["failed_calls_replayed"] == "probe" else " (left out of the replay)")))
    if r["failed_calls_bad_alignment"]:
        print("                      %d of them asked for an alignment that is not a power of "
              "two: no heap serves those, they are not replayed" %
              r["failed_calls_bad_alignment"])
    if len(r["variants"]) > 1:
        print()
        print("what each option costs (the other options as above; sizes in bytes):")
        print("  checking  tags  smallest arena  safe from  heap object  total (safe + object)")
        recorded = r["variants"][0]
        base = recorded["safe_from"] + recorded["heap_object_bytes"]
        rows = sorted(r["variants"], key=lambda v: (["none", "basic", "full", "debug"].index(
            v["checking"]), v["tags"]))
        for v in rows:
            total = v["safe_from"] + v["heap_object_bytes"]
            print("  %-8s  %-4s  %14s  %9s  %11s  %9s  %+d%s" %
                  (v["checking"], "on" if v["tags"] else "off", _bytes(v["smallest_arena"]),
                   _bytes(v["safe_from"]), _bytes(v["heap_object_bytes"]), _bytes(total),
                   total - base, ("  (recorded)" if recording.header else "  (as given)")
                   if v is recorded else ""))


# --------------------------------------------------------------------------------------------
# see


def see(args):
    try:
        from . import pictures
    except ImportError as error:
        raise UsageError("see needs matplotlib (Debian: apt-get install python3-matplotlib; "
                         "run keel-size with the python3 that has it): %s" % error) from None
    recording, options, replayer, text, origin = load_for_replay(args)
    smallest = None
    if args.arena:
        arena = args.arena
    else:
        found = search(replayer, options, text, [(options["checking"], int(options["tags"]))],
                       args.scan)[0]
        smallest = found["smallest"]
        arena, _ = recommended_that_runs(replayer, options, text, found, args.margin)
    name = args.name or os.path.basename(args.input).split(".")[0]
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        timeline_path = os.path.join(scratch, "timeline")
        _, summary, maps = run(replayer, options, text, arena, timeline_path,
                               ("peak", "end"))
        timeline = pictures.read_timeline(timeline_path)
    written = pictures.draw_all(args.out, name, timeline, maps, origin, recording, arena,
                                smallest, summary, options)
    for path in written:
        print(path)
    if summary["failures"]:
        print("keel-size: %d calls failed in an arena of %s bytes" %
              (summary["failures"], _bytes(arena)), file=sys.stderr)
    return 0


# --------------------------------------------------------------------------------------------
# convert


def convert(args):
    recording = rec.load(args.input)
    if recording.cut_off:
        print("keel-size: %s: warning: %s; converting the %d records before that" %
              (args.input, recording.cut_off, len(recording.records)), file=sys.stderr)
    to = args.to or ("text" if recording.form == "binary" else "binary")
    data = rec.to_binary(recording) if to == "binary" else rec.to_text(recording).encode()
    if args.output in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(args.output, "wb") as stream:
            stream.write(data)
    return 0


# --------------------------------------------------------------------------------------------


def parser():
    top = argparse.ArgumentParser(
        prog="keel-size",
        description="How big must my heap be? Replays a recording of a heap's calls (or a "
        "trace) against keel and prints the smallest arena that serves it (size, the "
        "default), draws it (see), or converts a recording between its binary and text "
        "forms (convert). docs/recording.md has the formats.")
    commands = top.add_subparsers(dest="command", metavar="{size,see,convert}")

    def replay_options(command):
        command.add_argument("input", help="a recording (.krec or text) or a FORMAT.md trace, "
                             "plain or gzip")
        group = command.add_argument_group(
            "heap options", "the recording's header names them; a plain trace defaults to "
            "8-byte pointers and keel's defaults; these override either")
        group.add_argument("--pointer-bytes", dest="pointer_bytes", type=int, choices=(4, 8))
        group.add_argument("--default-align", dest="default_align", type=int, choices=(8, 16))
        group.add_argument("--checking", choices=rec.CHECKING_NAMES)
        for flag in ("tags", "statistics", "hardened"):
            group.add_argument("--" + flag, type=int, choices=(0, 1))
        group.add_argument("--search-limit", dest="search_limit", type=int)
        command.add_argument("--failed", choices=("probe", "skip"), default="probe",
                             help="failed calls of the recording: replayed as probes that must "
                             "succeed (default), or left out")
        command.add_argument("--margin", type=int, default=25, metavar="PERCENT",
                             help="headroom over the safe size for the recommended arena "
                             "(default 25)")
        command.add_argument("--scan", type=int, default=64, metavar="STEPS",
                             help="granule steps looked at below and above the boundary to "
                             "find where the answer is not monotone (default 64)")
        command.add_argument("--base-offset", dest="base_offset", type=int, default=0,
                             metavar="BYTES", help="the arena starts this many bytes past a "
                             "4096-byte boundary (default 0)")

    size = commands.add_parser("size", help="the smallest arena, headroom, peaks, the "
                               "operation closest to failing, and what each option costs")
    replay_options(size)
    size.add_argument("--no-table", action="store_true",
                      help="skip the other checking levels and tag settings")
    size.add_argument("--json", action="store_true", help="print the result as JSON")

    pictures = commands.add_parser("see", help="PNG pictures: bytes in use, free and the "
                                   "largest free block over the run, heap maps at the peak "
                                   "and at the end")
    replay_options(pictures)
    pictures.add_argument("--out", default=".", help="directory for the pictures")
    pictures.add_argument("--name", help="file name prefix (default: the input's name)")
    pictures.add_argument("--arena", type=int, metavar="BYTES",
                          help="replay in this arena (default: the recommended size)")

    convert_command = commands.add_parser(
        "convert", help="binary recording to text and back (byte for byte)")
    convert_command.add_argument("input")
    convert_command.add_argument("-o", "--output", help="output file (default: standard "
                                 "output)")
    convert_command.add_argument("--to", choices=("text", "binary"),
                                 help="default: the other form than the input's")
    return top


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("size", "see", "convert", "-h", "--help"):
        argv.insert(0, "size")
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 2
    try:
        if args.command == "convert":
            return convert(args)
        if args.margin < 0 or args.scan < 1 or not 0 <= args.base_offset < 4096:
            raise UsageError("--margin >= 0, --scan >= 1, 0 <= --base-offset < 4096")
        if args.command == "see":
            return see(args)
        return size_report(args)
    except (rec.FormatError, ReplayError, UsageError) as error:
        print("keel-size: %s" % error, file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
