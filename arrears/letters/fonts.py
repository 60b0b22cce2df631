"""Each letter's PDF carries only the glyphs it shows.

A chunk of letters is laid out as one document, so its embedded font subset covers every glyph
of every letter in the chunk; a letter's pages copied out of it would carry them all (a Chinese
chunk's subset is hundreds of kilobytes). Here each letter gets font objects of its own: its
TrueType programs (``FontFile2``) cut down to the glyphs its text shows and renumbered densely
(WeasyPrint's CIDs are the glyph ids of the whole font, with an identity ``CIDToGIDMap``), its
text written with the new numbers, its widths and ToUnicode maps of its own glyphs only: the
same glyphs at the same places, a fraction of the bytes. Renumbering is what keeps a letter
small: a ``CIDToGIDMap`` from the old ids instead would cost ~2 KB per font (2 bytes for every id
up to the highest a CJK text uses, ~35,000).

Faces cut from the same font file (a synthetic bold beside its regular) share one program
(``arrears.letters.truetype``: a glyph both hold alike is kept once). The chunk's fonts
are parsed once (``ChunkFonts``); per letter the work is proportional to the letter's glyphs
(the text is rewritten a font run at a time, not a glyph at a time). Pure bytes work, no
layout engine; deterministic.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from pypdf import PageObject, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
)

from arrears.letters.truetype import Program, prune, same_source

_FONT = re.compile(rb"(/[^\s/\[\]<>()]+)\s+[-\d.]+\s+Tf")
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")


def _segments(content: bytes) -> Iterator[tuple[str | None, bytes]]:
    """The content stream cut at each font selection (``Tf``): (the font's resource name or
    None before the first, the bytes up to the next selection, the selection included)."""
    font: str | None = None
    at = 0
    for m in _FONT.finditer(content):
        yield font, content[at : m.end()]
        font, at = m.group(1).decode("latin-1"), m.end()
    yield font, content[at:]


def _ids(hexes: list[bytes]) -> array[int]:
    """The 2-byte glyph ids of these hex strings (Identity-H), in order."""
    ids = array("H", bytes.fromhex(b"".join(hexes).decode("ascii")))
    if sys.byteorder == "little":
        ids.byteswap()
    return ids


def used_glyphs(content: bytes) -> dict[str, set[int]]:
    """Font resource name -> the glyph ids the content stream shows with it (2-byte hex strings
    of an Identity-H font, as WeasyPrint writes them)."""
    used: dict[str, set[int]] = {}
    for font, segment in _segments(content):
        hexes = _HEX.findall(segment)
        if font is not None and hexes:
            used.setdefault(font, set()).update(_ids(hexes))
    return used


def renumber_text(content: bytes, fonts: dict[str, dict[int, int]]) -> bytes:
    """The content stream with each glyph of a renumbered font (resource name -> old id -> new)
    written under its new number; the rest byte for byte."""
    out = []
    for font, segment in _segments(content):
        table = fonts.get(font) if font is not None else None
        parts = _HEX.split(segment)  # text, hex, text, hex, ..., text
        if table is None or len(parts) == 1:
            out.append(segment)
            continue
        new = array("H", map(table.__getitem__, _ids(parts[1::2])))
        if sys.byteorder == "little":
            new.byteswap()
        digits, at = new.tobytes().hex().encode("ascii"), 0
        for i in range(1, len(parts), 2):
            width = len(parts[i])
            parts[i] = b"<" + digits[at : at + width] + b">"
            at += width
        out.append(b"".join(parts))
    return b"".join(out)


def _parse_widths(w: ArrayObject) -> dict[int, PdfObject]:
    """CID -> width from a ``/W`` array (both of its forms)."""
    width: dict[int, PdfObject] = {}
    i = 0
    while i < len(w):
        first = int(w[i])
        if isinstance(w[i + 1], ArrayObject):
            for k, value in enumerate(w[i + 1]):
                width[first + k] = value
            i += 2
        else:
            for cid in range(first, int(w[i + 1]) + 1):
                width[cid] = w[i + 2]
            i += 3
    return width


def _widths(width: dict[int, PdfObject]) -> ArrayObject:
    """A ``/W`` array of these CIDs' widths, compact: a run of 3 or more consecutive CIDs of one
    width as ``first last w`` (CJK glyphs are all 1000 wide), other consecutive CIDs as
    ``first [w1 w2 ...]``."""
    runs: list[tuple[int, int, PdfObject]] = []  # (first, last, width): consecutive, one width
    for cid in sorted(width):
        if runs and runs[-1][1] == cid - 1 and runs[-1][2] == width[cid]:
            runs[-1] = (runs[-1][0], cid, width[cid])
        else:
            runs.append((cid, cid, width[cid]))
    out = ArrayObject()
    singles: list[PdfObject] = []
    start = next_cid = -1
    for first, last, value in runs:
        if last - first >= 2:
            if singles:
                out += [NumberObject(start), ArrayObject(singles)]
                singles = []
            out += [NumberObject(first), NumberObject(last), value]
            continue
        if not singles or first != next_cid:
            if singles:
                out += [NumberObject(start), ArrayObject(singles)]
            singles, start = [], first
        singles += [value] * (last - first + 1)
        next_cid = last + 1
    if singles:
        out += [NumberObject(start), ArrayObject(singles)]
    return out


_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")


def _parse_to_unicode(cmap: bytes) -> dict[int, str]:
    """CID -> UTF-16BE hex of a ToUnicode CMap (WeasyPrint writes ``bfchar`` pairs only)."""
    text = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in _BFCHAR.findall(block):
            text[int(src, 16)] = dst.decode("ascii")
    return text


def _to_unicode(text: dict[int, str]) -> bytes:
    """A ToUnicode CMap of these CIDs (CID -> UTF-16BE hex)."""
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
        "1 begincodespacerange", "<0000> <ffff>", "endcodespacerange",
    ]  # fmt: skip
    pairs = sorted(text.items())
    for i in range(0, len(pairs), 100):
        part = pairs[i : i + 100]
        lines += [f"{len(part)} beginbfchar", *(f"<{cid:04x}> <{dst}>" for cid, dst in part), "endbfchar"]
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return ("\n".join(lines) + "\n").encode("ascii")


def _dict(obj: Any) -> DictionaryObject:
    """A pypdf object (or a reference to one) as the dictionary it is."""
    return cast(DictionaryObject, obj.get_object())


def _data(obj: Any) -> bytes:
    """The decoded bytes of a pypdf stream (or a reference to one)."""
    data: bytes = obj.get_object().get_data()
    return data


def _stream(data: bytes, **entries: PdfObject) -> EncodedStreamObject:
    stream = StreamObject()
    stream.set_data(data)
    for key, value in entries.items():
        stream[NameObject(f"/{key}")] = value
    return stream.flate_encode(level=9)  # written once, archived for years


@dataclass
class _Face:
    """One embedded CID font of the chunk, parsed once: its dictionaries, widths, text map and
    the program (by the chunk's object number) it draws with."""

    font: DictionaryObject
    descendant: DictionaryObject
    descriptor: DictionaryObject
    program: int
    widths: dict[int, PdfObject]
    text: dict[int, str]


class ChunkFonts:
    """The chunk document's TrueType CID fonts (the kind WeasyPrint embeds), parsed on first use
    and shared by the chunk's letters; ``letter_fonts`` builds one letter's own."""

    def __init__(self) -> None:
        self._faces: dict[int, _Face | None] = {}
        self._programs: dict[int, Program] = {}
        self._groups: dict[int, int] = {}  # program -> the first program cut from the same file

    def face(self, ref: IndirectObject) -> _Face | None:
        """The parsed face of a font resource, or None for a font this does not cut down."""
        if ref.idnum not in self._faces:
            self._faces[ref.idnum] = self._parse(_dict(ref))
        return self._faces[ref.idnum]

    def _parse(self, font: DictionaryObject) -> _Face | None:
        if font.get("/Subtype") != "/Type0":
            return None
        descendant = _dict(cast(ArrayObject, font["/DescendantFonts"])[0])
        descriptor = _dict(descendant["/FontDescriptor"])
        if descendant.get("/CIDToGIDMap") != "/Identity" or "/FontFile2" not in descriptor:
            return None
        program_ref = descriptor.raw_get("/FontFile2")
        if program_ref.idnum not in self._programs:
            program = Program.parse(_data(program_ref))
            self._programs[program_ref.idnum] = program
            self._groups[program_ref.idnum] = next(
                (g for g in dict.fromkeys(self._groups.values()) if same_source(self._programs[g], program)),
                program_ref.idnum,
            )
        widths = _parse_widths(cast(ArrayObject, descendant["/W"].get_object())) if "/W" in descendant else {}
        text = _parse_to_unicode(_data(font["/ToUnicode"])) if "/ToUnicode" in font else {}
        return _Face(font, descendant, descriptor, program_ref.idnum, widths, text)

    def letter_fonts(
        self, writer: PdfWriter, pages: list[PageObject]
    ) -> tuple[IndirectObject, dict[str, dict[int, int]]]:
        """The ``/Font`` resources of one letter (its chunk pages ``pages``), added to ``writer``,
        and how each renumbered font's glyphs map (resource name -> old id -> new): each cut-down
        face a new font of the letter's own glyphs, any other font copied whole."""
        resources: dict[str, IndirectObject] = {}
        shown: dict[int, set[int]] = {}
        for page in pages:
            if "/Font" not in _dict(page["/Resources"]):
                continue
            fonts = _dict(_dict(page["/Resources"])["/Font"])
            for name in fonts:
                resources.setdefault(name, fonts.raw_get(name))
            for name, cids in used_glyphs(_data(page.get_contents())).items():
                if name in fonts:
                    shown.setdefault(fonts.raw_get(name).idnum, set()).update(cids)
        faces = {ref.idnum: face for ref in resources.values() if (face := self.face(ref)) is not None}
        by_group: dict[int, list[int]] = {}
        for idnum, face in sorted(faces.items()):
            by_group.setdefault(self._groups[face.program], []).append(idnum)
        built: dict[int, tuple[IndirectObject, dict[int, int]]] = {}
        for members in by_group.values():
            used = [f for f in members if shown.get(f)]
            if not used:
                continue
            programs = [self._programs[faces[f].program] for f in used]
            pruned, new_ids = prune(programs, [shown[f] for f in used])
            program = writer._add_object(_stream(pruned, Length1=NumberObject(len(pruned))))  # noqa: SLF001 - pypdf's way to add an object
            for idnum, new_id in zip(used, new_ids, strict=True):
                built[idnum] = self._letter_face(writer, faces[idnum], new_id, program), new_id
        font_resources = DictionaryObject()
        renumbered = {}
        for name, ref in sorted(resources.items()):
            if ref.idnum in built:
                font_resources[NameObject(name)], renumbered[name] = built[ref.idnum]
            elif ref.idnum not in faces:  # not a font this cuts down: as it is
                font_resources[NameObject(name)] = ref.clone(writer)
        return writer._add_object(font_resources), renumbered  # noqa: SLF001

    @staticmethod
    def _letter_face(writer: PdfWriter, face: _Face, new_id: dict[int, int], program: IndirectObject) -> IndirectObject:
        descriptor = DictionaryObject({k: v for k, v in face.descriptor.items() if k != "/FontFile2"})
        descriptor[NameObject("/FontFile2")] = program
        descendant = DictionaryObject({k: v for k, v in face.descendant.items() if k not in ("/W", "/FontDescriptor")})
        descendant[NameObject("/FontDescriptor")] = writer._add_object(descriptor)  # noqa: SLF001
        descendant[NameObject("/W")] = _widths({new_id[c]: w for c, w in face.widths.items() if c in new_id})
        font = DictionaryObject({k: v for k, v in face.font.items() if k not in ("/ToUnicode", "/DescendantFonts")})
        font[NameObject("/DescendantFonts")] = ArrayObject([writer._add_object(descendant)])  # noqa: SLF001
        if face.text:
            text = {new_id[c]: t for c, t in face.text.items() if c in new_id}
            font[NameObject("/ToUnicode")] = writer._add_object(_stream(_to_unicode(text)))  # noqa: SLF001
        return writer._add_object(font)  # noqa: SLF001


def copy_letter(reader_pages: list[PageObject], fonts: ChunkFonts) -> PdfWriter:
    """A PDF of one letter's pages from the chunk, with fonts of its own glyphs only. The chunk's
    shared ``/Font`` resources are set aside while its pages are copied (copying would pull in the
    chunk's whole fonts) and put back afterwards."""
    writer = PdfWriter()
    font_resources, renumbered = fonts.letter_fonts(writer, reader_pages)
    for page in reader_pages:
        resources = _dict(page["/Resources"])
        chunk_fonts = resources.raw_get("/Font") if "/Font" in resources else None
        if chunk_fonts is not None:
            del resources["/Font"]
        try:
            copied = writer.add_page(page)
        finally:
            if chunk_fonts is not None:
                resources[NameObject("/Font")] = chunk_fonts
        if chunk_fonts is not None:
            _dict(copied["/Resources"])[NameObject("/Font")] = font_resources
            copied.replace_contents(_stream(renumber_text(_data(copied.get_contents()), renumbered)))
    return writer
