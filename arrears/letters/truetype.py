"""TrueType programs cut down to a few glyphs: pure bytes work on the ``glyf`` outlines of the
subsets WeasyPrint embeds (glyph ids retained), no font library.

``prune`` keeps the glyphs shown (with .notdef and the components composites are built from),
renumbered densely; the tables indexed by glyph id that a PDF does not use are dropped, the rest
kept, checksums recomputed. Deterministic.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

# composite glyph flags (OpenType 'glyf')
_ARGS_ARE_WORDS, _HAVE_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x0001, 0x0008, 0x0020, 0x0040, 0x0080


def _tables(font: bytes) -> dict[bytes, bytes]:
    count = struct.unpack_from(">H", font, 4)[0]
    out = {}
    for i in range(count):
        tag, _check, offset, length = struct.unpack_from(">4sIII", font, 12 + 16 * i)
        out[tag] = font[offset : offset + length]
    return out


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f">{len(padded) // 4}I", padded)
    return sum(words) & 0xFFFFFFFF


def _components(glyph: bytes) -> Iterable[int]:
    """Glyph ids a composite glyph is made of."""
    if not _is_composite(glyph):
        return
    pos = 10
    while True:
        flags, index = struct.unpack_from(">HH", glyph, pos)
        yield index
        pos += 4 + (4 if flags & _ARGS_ARE_WORDS else 2)
        pos += 8 if flags & _TWO_BY_TWO else 4 if flags & _XY_SCALE else 2 if flags & _HAVE_SCALE else 0
        if not flags & _MORE:
            return


# Tables whose contents are indexed by glyph id (or only serve vertical or complex-script
# layout, which the PDF has done already): dropped when glyphs are renumbered.
GLYPH_INDEXED = frozenset({b"cmap", b"vmtx", b"vhea", b"GDEF", b"GSUB", b"GPOS", b"hdmx", b"LTSH", b"kern", b"VDMX"})


@dataclass
class Program:
    """One TrueType program (a subset WeasyPrint embedded, glyph ids retained) and its glyph index."""

    raw: bytes
    tables: dict[bytes, bytes]
    count: int
    offsets: tuple[int, ...]
    scale: int
    long_metrics: int

    @classmethod
    def parse(cls, font: bytes) -> Program:
        tables = _tables(font)
        long_loca = struct.unpack_from(">h", tables[b"head"], 50)[0] == 1
        count = struct.unpack_from(">H", tables[b"maxp"], 4)[0]
        fmt, width = ("I", 4) if long_loca else ("H", 2)
        offsets = struct.unpack(f">{count + 1}{fmt}", tables[b"loca"][: (count + 1) * width])
        long_metrics = struct.unpack_from(">H", tables[b"hhea"], 34)[0]
        return cls(font, tables, count, offsets, 1 if long_loca else 2, long_metrics)

    def glyph(self, gid: int) -> bytes:
        if gid >= self.count:
            return b""
        return self.tables[b"glyf"][self.offsets[gid] * self.scale : self.offsets[gid + 1] * self.scale]

    def metric(self, gid: int) -> bytes:
        """The glyph's (advance, left side bearing), four bytes."""
        hmtx, full = self.tables[b"hmtx"], self.long_metrics
        if gid < full:
            return hmtx[4 * gid : 4 * gid + 4]
        at = 4 * full + 2 * (gid - full)
        return hmtx[4 * (full - 1) : 4 * (full - 1) + 2] + hmtx[at : at + 2]


def prune_truetype(fonts: list[bytes], keep: list[set[int]]) -> tuple[bytes, list[dict[int, int]]]:
    """One TrueType font of only the glyphs in ``keep`` (with .notdef and the components of
    composites), renumbered densely; returns it with, per font, old glyph id -> new.

    ``fonts`` are subsets cut from the same font file with their glyph ids retained (a regular
    face and its synthetic bold each get their own), ``keep[i]`` the glyphs shown with
    ``fonts[i]``. A simple glyph both subsets hold alike is kept once; a composite keeps its own
    components (subsets number the components they add on their own)."""
    return prune([Program.parse(font) for font in fonts], keep)


_Node = tuple[int, int, bytes]  # (subset, glyph id, outline): subset -1 for a simple glyph


def prune(programs: list[Program], keep: list[set[int]]) -> tuple[bytes, list[dict[int, int]]]:
    nodes: dict[_Node, tuple[Program, int]] = {}  # node -> where its outline and metrics are

    def node(i: int, gid: int) -> _Node:
        outline = programs[i].glyph(gid)
        key = (i, gid, b"") if _is_composite(outline) else (-1, gid, outline)
        if key not in nodes:
            nodes[key] = (programs[i], gid)
            for part in _components(outline):
                node(i, part)
        return key

    shown = [
        {gid: node(i, gid) for gid in sorted({0} | {g for g in keep[i] if g < programs[i].count})}
        for i in range(len(programs))
    ]
    order = sorted(nodes, key=lambda k: (k[1], k[0]))  # by glyph id: .notdef first
    new_id = {key: new for new, key in enumerate(order)}
    parts, new_offsets, at = [], [0], 0
    for key in order:
        program, gid = nodes[key]
        data = _renumbered(program.glyph(gid), partial(_component_id, node, new_id, key[0]))
        data += b"\0" * (-len(data) % 4)
        parts.append(data)
        at += len(data)
        new_offsets.append(at)
    n = len(order)
    tables = dict(programs[0].tables)
    tables[b"glyf"] = b"".join(parts)
    tables[b"loca"] = struct.pack(f">{n + 1}I", *new_offsets)
    tables[b"hmtx"] = b"".join(program.metric(gid) for program, gid in (nodes[k] for k in order))
    tables[b"hhea"] = tables[b"hhea"][:34] + struct.pack(">H", n) + tables[b"hhea"][36:]
    tables[b"maxp"] = tables[b"maxp"][:4] + struct.pack(">H", n) + tables[b"maxp"][6:]
    tables[b"head"] = tables[b"head"][:50] + struct.pack(">h", 1) + tables[b"head"][52:]
    if b"post" in tables:  # format 3: no glyph names (they were indexed by the old ids)
        tables[b"post"] = struct.pack(">I", 0x00030000) + tables[b"post"][4:32]
    for tag in GLYPH_INDEXED & set(tables):
        del tables[tag]
    return _assemble(programs[0].raw[:4], tables), [{gid: new_id[k] for gid, k in m.items()} for m in shown]


def _component_id(node: Callable[[int, int], _Node], new_id: dict[_Node, int], subset: int, gid: int) -> int:
    return new_id[node(subset, gid)]


def _is_composite(glyph: bytes) -> bool:
    return len(glyph) >= 10 and struct.unpack_from(">h", glyph, 0)[0] < 0


def _renumbered(data: bytes, new_id: Callable[[int], int]) -> bytes:
    """A glyph with the ids of its components (a composite's) renumbered."""
    if not _is_composite(data):
        return data
    out = bytearray(data)
    pos = 10
    while True:
        flags, index = struct.unpack_from(">HH", out, pos)
        struct.pack_into(">H", out, pos + 2, new_id(index))
        pos += 4 + (4 if flags & _ARGS_ARE_WORDS else 2)
        pos += 8 if flags & _TWO_BY_TWO else 4 if flags & _XY_SCALE else 2 if flags & _HAVE_SCALE else 0
        if not flags & _MORE:
            return bytes(out)


def _assemble(version: bytes, tables: dict[bytes, bytes]) -> bytes:
    """An sfnt file of these tables (sorted by tag, 4-byte aligned, checksums and the head's
    checkSumAdjustment recomputed)."""
    tags = sorted(tables)
    head = bytearray(tables[b"head"])
    head[8:12] = b"\0\0\0\0"
    tables[b"head"] = bytes(head)
    n = len(tags)
    power = 1 << (n.bit_length() - 1)
    header = version + struct.pack(">HHHH", n, power * 16, power.bit_length() - 1, n * 16 - power * 16)
    offset = 12 + 16 * n
    records, body, head_at = [], [], 0
    for tag in tags:
        data = tables[tag]
        if tag == b"head":
            head_at = offset
        records.append(struct.pack(">4sIII", tag, _checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    whole = bytearray(header + b"".join(records) + b"".join(body))
    struct.pack_into(">I", whole, head_at + 8, (0xB1B0AFBA - _checksum(bytes(whole))) & 0xFFFFFFFF)
    return bytes(whole)


def glyph_count(program: bytes) -> int:
    """How many glyphs a TrueType program holds (its ``maxp``)."""
    (count,) = struct.unpack_from(">H", _tables(program)[b"maxp"], 4)
    return int(count)


def reachable(program: bytes, shown: set[int]) -> set[int]:
    """The glyph ids these glyphs are drawn with: themselves and the components of composites."""
    parsed, seen, todo = Program.parse(program), set(), list(shown)
    while todo:
        gid = todo.pop()
        if gid not in seen:
            seen.add(gid)
            todo.extend(_components(parsed.glyph(gid)))
    return seen


def same_source(a: Program, b: Program) -> bool:
    """Two subsets cut from the same font file: the same head (revision, units per em, created,
    modified)."""
    ha, hb = a.tables[b"head"], b.tables[b"head"]
    return (ha[4:8], ha[18:36]) == (hb[4:8], hb[18:36])
