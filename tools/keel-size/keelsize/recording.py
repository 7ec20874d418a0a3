"""Recordings and traces: reading, checking and writing them (docs/recording.md).

Three inputs are read, each plain or gzip-compressed:

- the binary form of a recording (`.krec`, starts with the magic ``KREC``);
- its text form (a trace in ../shared/traces/FORMAT.md with the recording's fields in ``#``
  comments, first line ``# keel-recording 1 ...``);
- a plain FORMAT.md trace (no header, no addresses): replayed as it is, with options the user
  names, but it cannot be made a binary recording.

Every input becomes a `Recording`: a header (or None), a list of `Record`s in call order, and
whether the stream ended with its end record. A malformed input raises `FormatError` with the
place; a cut-off one (no end record) is read up to where it stops and says so in `cut_off`.
"""

import gzip
import struct
import zlib

MAGIC = b"KREC"
VERSION = 1
HEADER_BYTES = 16
CHECKING_NAMES = ("none", "basic", "full", "debug")
FLAG_TAGS = 1
FLAG_STATISTICS = 2
FLAG_HARDENED = 4
OPCODES = {0x41: "a", 0x43: "c", 0x52: "r", 0x46: "f"}
OPCODE_OF = {kind: code for code, kind in OPCODES.items()}
END = 0x45
BAD_ALIGN = 255  # the align byte of a call whose alignment is not a power of two (align 0 here)
MASK64 = (1 << 64) - 1


class FormatError(Exception):
    """The input is not a recording or trace this tool can read; the message says where."""


class Header:
    """The binary header's fields (docs/recording.md, "The binary form")."""

    def __init__(self, pointer_bytes=8, align_log=4, checking=1, flags=FLAG_STATISTICS,
                 search_limit=0, largest_block=0):
        self.pointer_bytes = pointer_bytes
        self.largest_block = largest_block  # 0: the default
        self.align_log = align_log
        self.checking = checking
        self.flags = flags
        self.search_limit = search_limit

    @property
    def default_align(self):
        return 1 << self.align_log

    @property
    def tags(self):
        return bool(self.flags & FLAG_TAGS)

    @property
    def statistics(self):
        return bool(self.flags & FLAG_STATISTICS)

    @property
    def hardened(self):
        return bool(self.flags & FLAG_HARDENED)

    @property
    def checking_name(self):
        return CHECKING_NAMES[self.checking]

    def pack(self):
        return (MAGIC + bytes([VERSION, self.pointer_bytes, self.align_log, self.checking,
                               self.flags, 0]) +
                struct.pack("<HI", self.search_limit, self.largest_block))

    def text(self):
        line = ("# keel-recording 1 pointer_bytes=%d default_align=%d checking=%s tags=%d "
                "statistics=%d hardened=%d search_limit=%d" %
                (self.pointer_bytes, self.default_align, self.checking_name, self.tags,
                 self.statistics, self.hardened, self.search_limit))
        if self.largest_block:
            line += " largest_block=%d" % self.largest_block
        return line


class Record:
    """One call: kind is 'a', 'c', 'r' or 'f'.

    at: the address returned (0: the call failed); frm: the block reallocated; align: bytes;
    tag and line: the allocation tag (line 0: tag is a code address). id: the block's trace id.
    where: the record's place in the input, for messages.
    """

    __slots__ = ("kind", "id", "size", "count", "align", "at", "frm", "tag", "line", "where")

    def __init__(self, kind, id=None, size=0, count=1, align=8, at=None, frm=None, tag=0,
                 line=0, where=""):
        self.kind = kind
        self.id = id
        self.size = size
        self.count = count
        self.align = align
        self.at = at
        self.frm = frm
        self.tag = tag
        self.line = line
        self.where = where

    @property
    def failed(self):
        return self.kind != "f" and self.at == 0


class Recording:
    """What an input holds. form: 'binary', 'text' or 'trace' (plain FORMAT.md)."""

    def __init__(self, form, header, records, ended, cut_off=None):
        self.form = form
        self.header = header
        self.records = records
        self.ended = ended
        self.cut_off = cut_off

    @property
    def failed_calls(self):
        return sum(1 for record in self.records if record.failed)


# --------------------------------------------------------------------------------------------
# Reading


def load(path):
    """Reads `path` (any of the three forms, plain or gzip) into a Recording."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise FormatError("%s: cannot read: %s" % (path, error.strerror)) from None
    return parse(data, path)


def parse(data, name="input"):
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as error:
            raise FormatError("%s: the gzip stream is damaged or cut off (%s)" %
                              (name, error)) from None
    if data[:4] == MAGIC:
        return parse_binary(data, name)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        raise FormatError("%s: neither a binary recording (no KREC magic) nor text (byte %d is "
                          "not ASCII)" % (name, error.start)) from None
    return parse_text(text, name)


class _Bytes:
    """A cursor over a binary recording that knows when it ran out."""

    class CutOff(Exception):
        pass

    def __init__(self, data, name):
        self.data = data
        self.name = name
        self.offset = 0

    def byte(self):
        if self.offset >= len(self.data):
            raise _Bytes.CutOff()
        value = self.data[self.offset]
        self.offset += 1
        return value

    def unsigned(self):
        start = self.offset
        value = 0
        shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            if shift >= 70:
                raise FormatError("%s: byte %d: a number longer than 10 bytes" %
                                  (self.name, start))
        if value > MASK64:
            raise FormatError("%s: byte %d: a number larger than 64 bits" % (self.name, start))
        if self.offset - start > 1 and byte == 0:
            raise FormatError("%s: byte %d: a number not in its shortest form" %
                              (self.name, start))
        return value

    def signed(self):
        value = self.unsigned()
        return (value >> 1) ^ -(value & 1)


def _signed64(value):
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def parse_binary(data, name="input"):
    if len(data) < HEADER_BYTES:
        raise FormatError("%s: cut off inside the header (%d of %d bytes)" %
                          (name, len(data), HEADER_BYTES))
    version, pointer_bytes, align_log, checking, flags, zero = data[4:10]
    search_limit, largest_block = struct.unpack("<HI", data[10:16])
    if version != VERSION:
        raise FormatError("%s: recording version %d; this keel-size reads version %d" %
                          (name, version, VERSION))
    problems = []
    if pointer_bytes not in (4, 8):
        problems.append("pointer bytes %d (4 or 8)" % pointer_bytes)
    if align_log not in (3, 4):
        problems.append("default alignment log2 %d (3 or 4)" % align_log)
    if checking > 3:
        problems.append("checking %d (0 to 3)" % checking)
    if flags & ~7:
        problems.append("unknown flags 0x%02x" % flags)
    if zero:
        problems.append("reserved byte 9 not zero")
    if problems:
        raise FormatError("%s: bad header: %s" % (name, "; ".join(problems)))
    header = Header(pointer_bytes, align_log, checking, flags, search_limit, largest_block)
    address_limit = 1 << (8 * pointer_bytes)
    cursor = _Bytes(data, name)
    cursor.offset = HEADER_BYTES
    records = []
    ids = _Ids(name)
    last = 0
    last_tag = 0

    def address():
        nonlocal last
        start = cursor.offset
        delta = cursor.signed()
        if not -(1 << 61) <= delta < (1 << 61):
            raise FormatError("%s: byte %d: address difference out of range" % (name, start))
        value = (last + 4 * delta) & MASK64
        if value >= address_limit:
            raise FormatError("%s: byte %d: address 0x%x is wider than %d bytes" %
                              (name, start, value, pointer_bytes))
        last = value
        return value

    def align():
        start = cursor.offset
        value = cursor.byte()
        if value == BAD_ALIGN:
            return 0
        if value >= 8 * pointer_bytes:
            raise FormatError("%s: byte %d: alignment 2^%d" % (name, start, value))
        return 1 << value

    def tag():
        nonlocal last_tag
        start = cursor.offset
        value = (last_tag + cursor.signed()) & MASK64
        if value >= address_limit:
            raise FormatError("%s: byte %d: tag 0x%x is wider than %d bytes" %
                              (name, start, value, pointer_bytes))
        last_tag = value
        line = cursor.unsigned()
        if line > 0xFFFFFFFF:
            raise FormatError("%s: byte %d: tag line %d" % (name, start, line))
        return value, line

    while True:
        start = cursor.offset
        if start == len(data):
            return Recording("binary", header, records, False,
                             "no end record after %d records: the recording was cut off" %
                             len(records))
        where = "record %d (byte %d)" % (len(records), start)
        try:
            code = cursor.byte()
            if code == END:
                if cursor.offset != len(data):
                    raise FormatError("%s: %d bytes after the end record (byte %d)" %
                                      (name, len(data) - cursor.offset, start))
                return Recording("binary", header, records, True)
            kind = OPCODES.get(code)
            if kind is None:
                raise FormatError("%s: %s: unknown opcode 0x%02x" % (name, where, code))
            record = Record(kind, where=where)
            if kind == "a":
                record.at = address()
                record.size = cursor.unsigned()
                record.align = align()
                record.tag, record.line = tag()
            elif kind == "c":
                record.at = address()
                record.count = cursor.unsigned()
                record.size = cursor.unsigned()
                record.align = align()
                record.tag, record.line = tag()
            elif kind == "r":
                record.frm = address()
                record.at = address()
                record.size = cursor.unsigned()
                record.align = align()
                record.tag, record.line = tag()
            else:
                record.at = address()
            if record.kind != "f" and record.align == 0 and record.at != 0:
                raise FormatError("%s: %s: a call with an alignment that is not a power of two "
                                  "succeeded" % (name, where))
        except _Bytes.CutOff:
            return Recording("binary", header, records, False,
                             "cut off inside %s: the recording was cut off; %d records read" %
                             (where, len(records)))
        ids.assign(record)
        records.append(record)


class _Ids:
    """Trace ids for a recording's blocks (docs/recording.md, "The text form"): a new block
    takes the most recently freed id, or the next unused one; a reallocated block keeps its id."""

    def __init__(self, name):
        self.name = name
        self.live = {}
        self.free_ids = []
        self.next_id = 0

    def assign(self, record):
        where = "%s: %s" % (self.name, record.where)
        if record.kind in "ac":
            if record.at == 0:
                return
            if record.at in self.live:
                raise FormatError("%s: address 0x%x returned while live" % (where, record.at))
            record.id = self.free_ids.pop() if self.free_ids else self._next()
            self.live[record.at] = record.id
        elif record.kind == "r":
            if record.frm not in self.live:
                raise FormatError("%s: reallocate of 0x%x, which is not a live block" %
                                  (where, record.frm))
            record.id = self.live[record.frm]
            if record.at != 0:
                del self.live[record.frm]
                if record.at in self.live:
                    raise FormatError("%s: address 0x%x returned while live" %
                                      (where, record.at))
                self.live[record.at] = record.id
        else:
            if record.at not in self.live:
                raise FormatError("%s: free of 0x%x, which is not a live block" %
                                  (where, record.at))
            record.id = self.live.pop(record.at)
            self.free_ids.append(record.id)

    def _next(self):
        self.next_id += 1
        return self.next_id - 1


def _number(text, where, base=10):
    try:
        value = int(text, base)
    except ValueError:
        raise FormatError("%s: %r is not a number" % (where, text)) from None
    if value < 0:
        raise FormatError("%s: %r is negative" % (where, text))
    return value


def _power_of_two(value, where):
    if value == 0 or value & (value - 1):
        raise FormatError("%s: alignment %d is not a power of two" % (where, value))
    return value


def _fields(words, where):
    fields = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals:
            raise FormatError("%s: %r is not a key=value field" % (where, word))
        fields[key] = value
    return fields


def _tag(text, where):
    address, colon, line = text.partition(":")
    if not address.startswith("0x"):
        raise FormatError("%s: tag %r does not start with 0x" % (where, text))
    tag = _number(address[2:], where, 16)
    line = _number(line, where) if colon else 0
    if colon and line == 0:
        raise FormatError("%s: tag %r has line 0" % (where, text))
    return tag, line


def _hex(text, key, where):
    if text is None:
        raise FormatError("%s: no %s= field" % (where, key))
    if not text.startswith("0x"):
        raise FormatError("%s: %s=%s does not start with 0x" % (where, key, text))
    return _number(text[2:], where, 16)


def _parse_header(words, where):
    fields = _fields(words, where)
    expected = ("pointer_bytes", "default_align", "checking", "tags", "statistics", "hardened",
                "search_limit")
    if sorted(set(fields) - {"largest_block"}) != sorted(expected):
        raise FormatError("%s: the keel-recording line needs exactly %s (and may have "
                          "largest_block)" % (where, ", ".join(expected)))
    header = Header()
    header.pointer_bytes = _number(fields["pointer_bytes"], where)
    align = _power_of_two(_number(fields["default_align"], where), where)
    header.align_log = align.bit_length() - 1
    if fields["checking"] not in CHECKING_NAMES:
        raise FormatError("%s: checking=%s (none, basic, full or debug)" %
                          (where, fields["checking"]))
    header.checking = CHECKING_NAMES.index(fields["checking"])
    header.flags = 0
    for key, bit in (("tags", FLAG_TAGS), ("statistics", FLAG_STATISTICS),
                     ("hardened", FLAG_HARDENED)):
        if fields[key] not in ("0", "1"):
            raise FormatError("%s: %s=%s (0 or 1)" % (where, key, fields[key]))
        header.flags |= bit if fields[key] == "1" else 0
    header.search_limit = _number(fields["search_limit"], where)
    if "largest_block" in fields:
        header.largest_block = _number(fields["largest_block"], where)
        if not 0 < header.largest_block < 1 << 32:
            raise FormatError("%s: largest_block=%d (1 to 2^32 - 1; absent for the default)" %
                              (where, header.largest_block))
    if (header.pointer_bytes not in (4, 8) or header.align_log not in (3, 4) or
            header.search_limit > 0xFFFF):
        raise FormatError("%s: pointer_bytes 4 or 8, default_align 8 or 16, search_limit below "
                          "65536" % where)
    return header


def parse_text(text, name="input"):
    """A text recording (with its keel-recording line) or a plain FORMAT.md trace."""
    header = None
    records = []
    ended = False
    live = {}
    for number, raw in enumerate(text.splitlines(), 1):
        where = "%s:%d" % (name, number)
        line = raw.strip()
        if not line:
            continue
        if ended:
            raise FormatError("%s: text after '# end'" % where)
        code, hash_mark, comment = line.partition("#")
        words = code.split()
        notes = comment.split()
        if not words:
            if notes[:2] == ["keel-recording", "1"]:
                if header is not None or records:
                    raise FormatError("%s: a keel-recording line after the first operation" %
                                      where)
                header = _parse_header(notes[2:], where)
            elif notes[:1] == ["keel-recording"]:
                raise FormatError("%s: keel-recording version %s; this keel-size reads 1" %
                                  (where, " ".join(notes[1:2])))
            elif notes == ["end"] and header is not None:
                ended = True
            elif notes[:1] == ["fail"] and header is not None:
                records.append(_failed_record(notes[1:], where, live))
            continue
        records.append(_record(words, notes if hash_mark else [], where, live, header))
    if not records and header is None:
        raise FormatError("%s: no operations: neither a recording nor a trace" % name)
    if header is None:
        return Recording("trace", None, records, True)
    cut_off = None if ended else "no '# end' line: the recording was cut off"
    return Recording("text", header, records, ended, cut_off)


def _record(words, notes, where, live, header):
    kind = words[0]
    counts = {"a": 4, "c": 4, "r": 3, "f": 2}
    if kind not in counts:
        raise FormatError("%s: unknown operation %r" % (where, kind))
    if len(words) != counts[kind]:
        raise FormatError("%s: '%s' takes %d numbers" % (where, kind, counts[kind] - 1))
    numbers = [_number(word, where) for word in words[1:]]
    record = Record(kind, id=numbers[0], where=where)
    fields = _fields(notes, where) if header is not None else {}
    if kind == "a":
        record.size = numbers[1]
        record.align = _power_of_two(numbers[2], where)
    elif kind == "c":
        record.count, record.size = numbers[1], numbers[2]
        record.align = header.default_align if header is not None else None
    elif kind == "r":
        record.size = numbers[1]
    if record.id in live and kind in "ac":
        raise FormatError("%s: id %d allocated while live" % (where, record.id))
    if record.id not in live and kind in "rf":
        raise FormatError("%s: id %d is not live" % (where, record.id))
    if kind == "r":
        record.align = live[record.id]
    if header is not None:
        record.at = _hex(fields.get("at"), "at", where)
        if kind == "r":
            record.frm = _hex(fields.get("from"), "from", where)
        if kind in "cr":
            record.align = _power_of_two(_number(fields.get("align", ""), where), where)
        if kind != "f":
            record.tag, record.line = _tag(fields.get("tag", ""), where)
        if record.at == 0:
            raise FormatError("%s: at=0 (a failed call is a '# fail' line)" % where)
    if kind == "f":
        del live[record.id]
    else:
        live[record.id] = record.align
    return record


def _fail_align(value, where):
    """A failed call's alignment: 0 stands for one that is not a power of two."""
    return value if value == 0 else _power_of_two(value, where)


def _failed_record(notes, where, live):
    kind = notes[0] if notes else ""
    counts = {"a": 3, "c": 3, "r": 3}
    if kind not in counts:
        raise FormatError("%s: '# fail' of an unknown operation" % where)
    numbers = [_number(word, where) for word in notes[1:counts[kind]]]
    if len(numbers) != counts[kind] - 1:
        raise FormatError("%s: '# fail %s' takes %d numbers" % (where, kind, counts[kind] - 1))
    fields = _fields(notes[counts[kind]:], where)
    record = Record(kind, at=0, where=where)
    if kind == "a":
        record.size = numbers[0]
        record.align = _fail_align(numbers[1], where)
    elif kind == "c":
        record.count, record.size = numbers
        record.align = _fail_align(_number(fields.get("align", ""), where), where)
    else:
        record.id, record.size = numbers
        if record.id not in live:
            raise FormatError("%s: id %d is not live" % (where, record.id))
        record.frm = _hex(fields.get("from"), "from", where)
        record.align = _fail_align(_number(fields.get("align", ""), where), where)
    record.tag, record.line = _tag(fields.get("tag", ""), where)
    return record


# --------------------------------------------------------------------------------------------
# Writing


def _unsigned(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value):
    value = _signed64(value)
    return ((value << 1) ^ (value >> 63)) & MASK64


def to_binary(recording):
    """The binary form. Needs a recording (a header and every record's addresses)."""
    if recording.header is None:
        raise FormatError("a plain trace has no header and no addresses: it cannot be made a "
                          "recording")
    out = bytearray(recording.header.pack())
    last = 0
    last_tag = 0

    def address(value):
        nonlocal last
        delta = _signed64(value - last)
        out.extend(_unsigned(_zigzag(delta // 4)))
        last = value

    def tag(record):
        nonlocal last_tag
        out.extend(_unsigned(_zigzag(record.tag - last_tag)))
        out.extend(_unsigned(record.line))
        last_tag = record.tag

    for record in recording.records:
        if record.at is None or (record.kind == "r" and record.frm is None):
            raise FormatError("%s: no address: not a recording" % record.where)
        for value in (record.at, record.frm):
            if value is not None and value % 4:
                raise FormatError("%s: address 0x%x is not a multiple of 4" %
                                  (record.where, value))
        out.append(OPCODE_OF[record.kind])
        if record.kind == "r":
            address(record.frm)
        address(record.at)
        if record.kind == "c":
            out.extend(_unsigned(record.count))
        if record.kind != "f":
            out.extend(_unsigned(record.size))
            out.append(record.align.bit_length() - 1 if record.align else BAD_ALIGN)
            tag(record)
    if recording.ended:
        out.append(END)
    return bytes(out)


def _tag_text(record):
    if record.line:
        return "tag=0x%x:%d" % (record.tag, record.line)
    return "tag=0x%x" % record.tag


def to_text(recording):
    """The text form (a recording) or the plain trace as FORMAT.md lines."""
    lines = []
    if recording.header is not None:
        lines.append(recording.header.text())
    plain = recording.header is None
    for r in recording.records:
        if plain:
            if r.kind == "a":
                lines.append("a %d %d %d" % (r.id, r.size, r.align))
            elif r.kind == "c":
                lines.append("c %d %d %d" % (r.id, r.count, r.size))
            elif r.kind == "r":
                lines.append("r %d %d" % (r.id, r.size))
            else:
                lines.append("f %d" % r.id)
        elif r.failed:
            if r.kind == "a":
                lines.append("# fail a %d %d %s" % (r.size, r.align, _tag_text(r)))
            elif r.kind == "c":
                lines.append("# fail c %d %d align=%d %s" % (r.count, r.size, r.align,
                                                             _tag_text(r)))
            else:
                lines.append("# fail r %d %d from=0x%x align=%d %s" %
                             (r.id, r.size, r.frm, r.align, _tag_text(r)))
        elif r.kind == "a":
            lines.append("a %d %d %d # at=0x%x %s" %
                         (r.id, r.size, r.align, r.at, _tag_text(r)))
        elif r.kind == "c":
            lines.append("c %d %d %d # at=0x%x align=%d %s" %
                         (r.id, r.count, r.size, r.at, r.align, _tag_text(r)))
        elif r.kind == "r":
            lines.append("r %d %d # from=0x%x at=0x%x align=%d %s" %
                         (r.id, r.size, r.frm, r.at, r.align, _tag_text(r)))
        else:
            lines.append("f %d # at=0x%x" % (r.id, r.at))
    if recording.header is not None and recording.ended:
        lines.append("# end")
    return "\n".join(lines) + "\n"


def replay_lines(recording, default_align, failed="probe"):
    """The replayer's input (tools/keel-size/replay.cpp) and, for each of its operations, the
    index of the record it came from. failed: 'probe' replays failed calls as probes, 'skip'
    leaves them out."""
    lines = ["keel-replay 1"]
    origin = []
    for index, r in enumerate(recording.records):
        align = r.align if r.align is not None else default_align
        tag = "%x %d" % (r.tag, r.line)
        if r.failed:
            if failed == "skip" or r.align == 0:
                continue  # a call with an alignment no heap serves is never probed
            if r.kind == "a":
                lines.append("pa %d %d %s" % (r.size, align, tag))
            elif r.kind == "c":
                lines.append("pc %d %d %d %s" % (r.count, r.size, align, tag))
            else:
                lines.append("pr %d %d %d %s" % (r.id, r.size, align, tag))
        elif r.kind == "a":
            lines.append("a %d %d %d %s" % (r.id, r.size, align, tag))
        elif r.kind == "c":
            lines.append("c %d %d %d %d %s" % (r.id, r.count, r.size, align, tag))
        elif r.kind == "r":
            lines.append("r %d %d %d %s" % (r.id, r.size, align, tag))
        else:
            lines.append("f %d" % r.id)
        origin.append(index)
    return "\n".join(lines) + "\n", origin
