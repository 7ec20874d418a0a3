"""keel-size see: PNG pictures of a replay (matplotlib, Agg backend: no display needed).

- NAME-timeline.png: bytes in use, live (requested), free and the largest free block after every
  operation, the arena's usable bytes as a line, the peak marked.
- NAME-map-peak.png, NAME-map-end.png: the heap at its peak of bytes in use and after the last
  operation. Each region is a strip (wrapped into rows when it holds many blocks); the same
  strip three times: blocks used or free, used blocks coloured by allocation tag (by request
  size when the input has no tags), and by age (the operation that made the block).
"""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import cm, colors  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

FREE = "#d9d9d9"
USED = "#3b75af"
OVERHEAD = "#555555"
HEADER = 4  # bytes of a block's header, in front of its payload


def read_timeline(path):
    columns = ([], [], [], [])
    with open(path) as stream:
        for line in stream:
            for column, value in zip(columns, line.split()):
                column.append(int(value))
    return {"in_use": columns[0], "free": columns[1], "largest": columns[2],
            "live": columns[3]}


def _kib(value, _position=None):
    """An axis label: bytes below 1 KiB, else KiB or MiB."""
    if abs(value) >= 1 << 20:
        return "%g MiB" % round(value / (1 << 20), 2)
    if abs(value) >= 1024:
        return "%g KiB" % round(value / 1024, 1)
    return "%d" % value


def draw_timeline(path, name, timeline, origin, arena, smallest, summary, options):
    x = [origin[i] for i in range(len(timeline["in_use"]))]
    figure, axes = plt.subplots(figsize=(12, 5), dpi=110)
    axes.fill_between(x, timeline["in_use"], step="post", color=USED, alpha=0.35,
                      label="in use (whole blocks)")
    axes.plot(x, timeline["live"], drawstyle="steps-post", color=USED, linewidth=0.8,
              label="live (bytes requested)")
    axes.plot(x, timeline["free"], drawstyle="steps-post", color="#2ca02c", linewidth=0.8,
              label="free")
    axes.plot(x, timeline["largest"], drawstyle="steps-post", color="#d62728", linewidth=0.8,
              label="largest free block")
    if timeline["in_use"]:
        usable = timeline["in_use"][0] + timeline["free"][0]
        axes.axhline(usable, color=OVERHEAD, linestyle="--", linewidth=0.8,
                     label="in use + free (arena less region overhead)")
    peak_value, peak_op = summary["peak_in_use"]
    if 0 <= peak_op < len(origin):
        axes.axvline(origin[peak_op], color=OVERHEAD, linestyle=":", linewidth=0.8)
        axes.annotate("peak in use %s" % _kib(peak_value), (origin[peak_op], peak_value),
                      xytext=(5, 5), textcoords="offset points", fontsize=8)
    title = "%s: arena %s bytes" % (name, format(arena, ","))
    if smallest:
        title += " (smallest that serves: %s)" % format(smallest, ",")
    axes.set_title(title + "\n%d-byte pointers, checking=%s, tags=%d" %
                   (options["pointer_bytes"], options["checking"], options["tags"]),
                   fontsize=10)
    axes.set_xlabel("operation")
    axes.set_ylabel("bytes")
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(matplotlib.ticker.MultipleLocator(
        _byte_step(axes.get_ylim())))
    axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_kib))
    axes.margins(x=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize=8, framealpha=0.9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _spans(snapshot):
    """Each region's blocks as (region index, start, end, block) with start and end offsets of
    the block's extent (its header to the next header); pads count with the block before."""
    regions = sorted(snapshot["regions"])
    blocks = sorted(snapshot["blocks"])
    result = []
    for index, (start, extent) in enumerate(regions):
        inside = [b for b in blocks if start <= b[0] < start + extent]
        end = start + extent - HEADER  # the sentinel
        for position, block in enumerate(inside):
            block_end = inside[position + 1][0] - HEADER if position + 1 < len(inside) else end
            result.append((index, block[0] - HEADER, block_end, block))
    return regions, result


def _tag_key(block):
    return (block[5], block[6]) if len(block) > 5 else None


def _tag_label(key):
    tag, line = key
    return "0x%x:%d" % (tag, line) if line else "0x%x" % tag


def draw_map(path, name, title, snapshot):
    regions, spans = _spans(snapshot)
    used = [s for s in spans if s[3][2]]
    tagged = any(_tag_key(s[3]) not in (None, (0, 0)) for s in used)
    # Colours by tag: the ten tags holding most bytes get their own, the rest share one.
    by_tag = {}
    for span in used:
        key = _tag_key(span[3]) if tagged else _size_class(span[3])
        by_tag[key] = by_tag.get(key, 0) + span[2] - span[1]
    ranked = sorted(by_tag, key=lambda key: -by_tag[key])
    palette = plt.get_cmap("tab10")
    tag_colour = {key: palette(i) for i, key in enumerate(ranked[:10])}
    # Ages by rank among the live blocks, oldest to youngest: a few old blocks (made at start-up)
    # would otherwise make every other block the same colour.
    births = sorted(set(s[3][7] for s in used if len(s[3]) > 7))
    rank = {birth: index for index, birth in enumerate(births)}
    age_norm = colors.Normalize(vmin=0, vmax=max(len(births) - 1, 1))
    age_map = plt.get_cmap("viridis")

    blocks_per_row = 120
    rows_of = [max(1, min(8, math.ceil(sum(1 for s in spans if s[0] == index) /
                                       blocks_per_row))) for index in range(len(regions))]
    total_rows = sum(rows_of)
    figure, panels = plt.subplots(3, 1, figsize=(13, 2.4 + 1.2 * total_rows), dpi=110,
                                  squeeze=False)
    modes = (("used / free", "used"),
             ("used blocks by allocation tag" if tagged else
              "used blocks by request size (no tags in the input)", "tag"),
             ("used blocks by age (the operation that made, moved or resized them)", "age"))
    for (label, mode), axes in zip(modes, panels[:, 0]):
        row = 0
        ticks = []
        for index, (start, extent) in enumerate(regions):
            rows = rows_of[index]
            width = math.ceil(extent / rows)
            for r in range(rows):
                ticks.append((row + r, "region %d" % index if rows == 1 else
                              "region %d, +%s" % (index, _kib(r * width))))
            pieces = [(start, spans_first(spans, index, start), OVERHEAD)]
            for span in spans:
                if span[0] != index:
                    continue
                block = span[3]
                if not block[2]:
                    colour = FREE
                elif mode == "used":
                    colour = USED
                elif mode == "tag":
                    key = _tag_key(block) if tagged else _size_class(block)
                    colour = tag_colour.get(key, "#8c8c8c")
                else:
                    colour = age_map(age_norm(rank[block[7]])) if len(block) > 7 else USED
                pieces.append((span[1], span[2], colour))
            pieces.append((start + extent - HEADER, start + extent, OVERHEAD))
            # Free space first, blocks over it: a block narrower than 1/500 of a row (under three
            # pixels) is drawn that wide, over the free space beside it, so that it stays visible.
            least = width / 500
            for low, high, colour in sorted(pieces, key=lambda piece: piece[2] != FREE):
                if colour != FREE and high - low < least:
                    high = min(low + least, start + extent)
                _draw_wrapped(axes, low - start, high - start, width, row, colour)
            row += rows
        axes.set_ylim(row - 0.5, -0.5)
        axes.set_yticks([tick for tick, _ in ticks])
        axes.set_yticklabels([text for _, text in ticks], fontsize=7)
        axes.set_xlim(0, max(math.ceil(extent / rows_of[i]) for i, (_, extent) in
                             enumerate(regions)))
        axes.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(
            _byte_step(axes.get_xlim())))
        axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_kib))
        axes.set_title(label, fontsize=9, loc="left")
        if mode == "used":
            axes.legend(handles=[Patch(color=USED, label="used"), Patch(color=FREE,
                                                                        label="free"),
                                 Patch(color=OVERHEAD, label="region record / sentinel")],
                        loc="upper left", fontsize=7, bbox_to_anchor=(1.01, 1))
        elif mode == "tag" and ranked:
            handles = [Patch(color=tag_colour[key], label=(_tag_label(key) if tagged else
                                                           _size_label(key)))
                       for key in ranked[:10]]
            if len(ranked) > 10:
                handles.append(Patch(color="#8c8c8c", label="%d more" % (len(ranked) - 10)))
            axes.legend(handles=handles, loc="upper left", fontsize=7,
                        ncol=1 + len(handles) // (3 + 2 * total_rows), bbox_to_anchor=(1.01, 1))
        elif mode == "age" and births:
            # In an inset beside the strip, so that this panel keeps the others' width.
            bar = figure.colorbar(cm.ScalarMappable(norm=age_norm, cmap=age_map),
                                  cax=axes.inset_axes([1.01, 0.0, 0.012, 1.0]),
                                  orientation="vertical")
            bar.set_ticks([0, max(len(births) - 1, 1)])
            bar.set_ticklabels(["op %d" % births[0], "op %d" % births[-1]])
    panels[-1, 0].set_xlabel("bytes from the region's start")
    figure.suptitle("%s: %s" % (name, title), fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _byte_step(limits):
    """A tick step for a byte axis from `limits`: a power of two giving 4 to 8 ticks."""
    low, high = limits
    return 1 << max(int(math.ceil(math.log2(max(high - low, 8) / 8))), 0)


def spans_first(spans, index, start):
    for span in spans:
        if span[0] == index:
            return span[1]
    return start


def _draw_wrapped(axes, low, high, width, row, colour):
    """A byte range [low, high) of a region drawn on rows of `width` bytes."""
    while low < high:
        r = low // width
        end = min(high, (r + 1) * width)
        axes.broken_barh([(low - r * width, end - low)], (row + r - 0.4, 0.8),
                         facecolors=colour, edgecolors="white" if end - low > width / 400
                         else colour, linewidth=0.2)
        low = end


def _size_class(block):
    size = block[4] if len(block) > 4 else block[1]
    return max(size, 1).bit_length()


def _size_label(size_class):
    return "%d-%d B" % (1 << (size_class - 1), (1 << size_class) - 1)


def draw_all(out, name, timeline, maps, origin, recording, arena, smallest, summary, options):
    written = []
    path = "%s/%s-timeline.png" % (out, name)
    draw_timeline(path, name, timeline, origin, arena, smallest, summary, options)
    written.append(path)
    for when, title in (("peak", "the heap at its peak of bytes in use"),
                        ("end", "the heap after the last operation")):
        snapshot = maps.get(when)
        if snapshot is None:
            continue
        op = origin[snapshot["op"]] if snapshot["op"] < len(origin) else snapshot["op"]
        path = "%s/%s-map-%s.png" % (out, name, when)
        draw_map(path, name, "%s (op %d, arena %s bytes)" % (title, op, format(arena, ",")),
                 snapshot)
        written.append(path)
    return written
