"""A letter as its reader sees it: the PDF read back with pypdf."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from arrears.letters.fonts import used_glyphs
from arrears.letters.html import LETTERS, stylesheet
from arrears.letters.pdf import ChunkJob, build_html, layout, render_chunk
from arrears.letters.truetype import glyph_count, reachable
from tests.letters.samples import LENDER, letter

FONT = "WenQuanYi Micro Hei"


def job(tmp_path: Path, *letters, name: str = "chunk") -> ChunkJob:  # type: ignore[no-untyped-def]
    return ChunkJob(name, tuple(letters), LENDER, str(tmp_path), FONT, "Asia/Shanghai")


def text_of(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def embedded_fonts(path: Path) -> set[str]:
    """Names of the fonts whose program is inside the PDF (not referenced by name only)."""
    names = set()
    for page in PdfReader(path).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            inner = descendants[0].get_object() if descendants else font
            descriptor = inner["/FontDescriptor"].get_object()
            if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                names.add(str(font["/BaseFont"]))
    return names


def test_the_letter_states_the_engines_figures_contract_dpd_and_deadline_in_chinese(tmp_path):
    f = letter()
    result = render_chunk(job(tmp_path, f))
    assert not result.failures
    (file,) = result.files
    text = flat(text_of(tmp_path / file.path))
    for amount in ("¥6,123.45", "¥812.07", "¥96.33", "¥100.00", "¥7,131.85"):
        assert amount in text
    assert "LN00000001" in text and f.reference in text
    assert "已逾期42天" in text
    assert "请于2026年12月8日前" in text  # 2026-11-23 + 15 days
    assert "《借款合同》第八条（逾期还款）" in text
    assert "催款函" in text and "王建国" in text  # Chinese extracts as Chinese, not boxes or (cid:..)
    assert "第1页" in text


def test_the_english_letter_states_the_same_figures(tmp_path):
    f = letter(2, locale="en_US", template="m3_final_demand")
    (file,) = render_chunk(job(tmp_path, f)).files
    text = flat(text_of(tmp_path / file.path))
    for amount in ("CN¥6,123.45", "CN¥812.07", "CN¥96.33", "CN¥100.00", "CN¥7,131.85"):
        assert amount in text
    assert "42dayspastdue" in text
    assert "byDecember8,2026" in text
    assert "FinalDemandforPayment" in text
    assert "Legalnotice" in text


def test_a_cjk_font_is_embedded(tmp_path):
    (file,) = render_chunk(job(tmp_path, letter())).files
    fonts = embedded_fonts(tmp_path / file.path)
    assert any("WenQuanYi-Micro-Hei" in name for name in fonts), fonts


def test_the_same_letters_render_to_the_same_bytes(tmp_path):
    letters = [letter(1), letter(2, locale="en_US"), letter(3, template="pre_litigation_notice")]
    first = render_chunk(job(tmp_path / "a", *letters))
    again = render_chunk(job(tmp_path / "b", *letters))
    assert [f.sha256 for f in first.files] == [f.sha256 for f in again.files]
    for f in first.files:
        data = (tmp_path / "a" / f.path).read_bytes()
        assert data == (tmp_path / "b" / f.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256
    meta = PdfReader(tmp_path / "a" / first.files[0].path).metadata
    assert meta["/CreationDate"] == "D:20261123000000+08'00'"  # the letter date, not the clock


def test_each_letter_of_a_batch_is_its_own_pdf_numbered_from_page_one(tmp_path):
    letters = [letter(n, locale="zh_CN" if n % 2 else "en_US") for n in range(1, 7)]
    result = render_chunk(job(tmp_path, *letters))
    assert len(result.files) == 6
    for f in result.files:
        reader = PdfReader(tmp_path / f.path)
        assert len(reader.pages) == f.pages
        footers = [flat(p.extract_text()) for p in reader.pages]
        for n, page_text in enumerate(footers, start=1):
            assert f.reference in page_text
            assert f"第{n}页" in page_text or f"Page{n}" in page_text
    chunk = PdfReader(tmp_path / result.chunk_pdfs["chunk"])
    assert len(chunk.pages) == sum(f.pages for f in result.files)


def _overflowing_text(doc) -> list[str]:  # type: ignore[no-untyped-def]
    """Text that runs into the right page margin."""
    from weasyprint.formatting_structure.boxes import TextBox

    out = []
    for page in doc.pages:
        limit = page.width - page._page_box.margin_right + 0.5
        for box in page._page_box.descendants():
            if isinstance(box, TextBox) and box.position_x + box.width > limit:
                out.append(box.text)
    return out


def test_a_very_long_name_and_address_still_fit_the_page(tmp_path):
    long_name = "欧阳" + "娜" * 60
    long_address = "新疆维吾尔自治区乌鲁木齐市" + "天山区解放南路" * 30 + "1号" + "X" * 80
    f = letter(7, borrower_name=long_name, address=long_address)
    html, good, failures = build_html(job(tmp_path, f))
    assert good and not failures
    doc = layout(html, stylesheet(FONT), str(LETTERS))
    assert _overflowing_text(doc) == []
    (file,) = render_chunk(job(tmp_path, f)).files
    assert flat(long_address) in flat(text_of(tmp_path / file.path))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"address": ""}, "address"),
        ({"clause": " "}, "clause"),
        ({"overdue_total": letter().overdue_total + 1}, "overdue_total"),
        ({"template": "no_such_letter"}, "template"),
    ],
)
def test_bad_letter_data_is_named_and_the_rest_of_the_batch_is_produced(tmp_path, change, field):
    bad = replace(letter(5), **change)
    result = render_chunk(job(tmp_path, letter(4), bad, letter(6, locale="en_US")))
    assert [f.reference for f in result.files] == [letter(4).reference, letter(6, locale="en_US").reference]
    (failure,) = result.failures
    assert failure.key == bad.key
    assert bad.reference in failure.error and field in failure.error


def test_a_template_using_a_field_that_does_not_exist_names_it(tmp_path):
    root = tmp_path / "templates"
    src = Path(__file__).resolve().parents[2] / "templates" / "letters"
    for p in src.rglob("*"):
        if p.is_file():
            (root / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (root / p.relative_to(src)).write_bytes(p.read_bytes())
    broken = root / "zh_CN" / "m2_demand_letter.html.j2"
    broken.write_text(broken.read_text().replace("{% block title %}催款函", "{% block title %}{{ f.guarantor_name }}"))
    j = ChunkJob(
        "c", (letter(1), letter(2, locale="en_US")), LENDER, str(tmp_path / "out"), FONT, "Asia/Shanghai", str(root)
    )
    result = render_chunk(j)
    assert [f.reference for f in result.files] == [letter(2, locale="en_US").reference]
    (failure,) = result.failures
    assert "guarantor_name" in failure.error and letter(1).reference in failure.error


def test_pdf_bytes_are_a_real_pdf(tmp_path):
    (file,) = render_chunk(job(tmp_path, letter())).files
    data = (tmp_path / file.path).read_bytes()
    assert data.startswith(b"%PDF-")
    assert PdfReader(io.BytesIO(data)).pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4


def test_the_letters_user_agent_stylesheet_covers_every_element_the_templates_use():
    from html.parser import HTMLParser

    from arrears.letters.pdf import UA_ELEMENTS

    used: set[str] = set()

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
            used.add(tag)

    for template in LETTERS.rglob("*.html.j2"):
        Tags().feed(template.read_text(encoding="utf-8"))
    assert used <= UA_ELEMENTS, used - UA_ELEMENTS
    ua = (LETTERS / "ua.css").read_text(encoding="utf-8")
    assert all(re.search(rf"\b{tag}\b", ua) for tag in UA_ELEMENTS)


def _programs(path: Path) -> list[bytes]:
    """The TrueType programs embedded in a letter (faces may share one)."""
    reader = PdfReader(path)
    programs = {}
    for ref in reader.pages[0]["/Resources"]["/Font"].values():
        descendant = ref.get_object()["/DescendantFonts"][0].get_object()
        program = descendant["/FontDescriptor"].get_object().raw_get("/FontFile2")
        programs[program.idnum] = program.get_object().get_data()
    return list(programs.values())


def _shown(path: Path) -> set[int]:
    """The glyph ids a PDF's text shows, on all its pages, with any of its fonts."""
    pages = PdfReader(path).pages
    return {g for page in pages for ids in used_glyphs(page.get_contents().get_data()).values() for g in ids}


def test_each_letter_carries_only_its_own_glyphs_whatever_else_its_chunk_holds(tmp_path):
    """A chunk of letters with many different names and streets: each letter's file holds the
    glyphs of its own text (and .notdef), not its chunk's, and stays under 40 KB, and so does
    each letter's share of the print batch."""
    streets = ["天山区解放南路", "鼓楼区中山北路", "锦江区春熙路", "雁塔区科技路", "南岗区西大直街", "江北区观音桥"]
    names = ["欧阳娜娜", "司马光", "诸葛孔明", "上官婉儿", "东方明珠", "慕容复"]
    letters = [
        letter(n, template=t, borrower_name=names[n % 6], address=f"{streets[n % 6]}{n}号{streets[(n + 3) % 6]}")
        for n, t in enumerate(["m2_demand_letter", "m3_final_demand", "pre_litigation_notice"] * 4, start=1)
    ]
    result = render_chunk(job(tmp_path, *letters))
    sizes = [f.size_bytes for f in result.files]
    assert len(sizes) == 12 and max(sizes) <= 40 * 1024, sizes
    (chunk_pdf,) = result.chunk_pdfs.values()  # what the mail-house batch is made of
    assert (tmp_path / chunk_pdf).stat().st_size <= 12 * 40 * 1024
    chunk_shown = _shown(tmp_path / chunk_pdf)
    chunk_glyphs = max(len(reachable(p, chunk_shown)) for p in _programs(tmp_path / chunk_pdf))
    by_reference = {x.reference: x for x in letters}
    for f in result.files:
        facts = by_reference[f.reference]
        (program,) = _programs(tmp_path / f.path)  # the bold shares the regular's program
        # every glyph it holds is shown, or a part of one shown, or .notdef; far fewer than the chunk's
        assert reachable(program, _shown(tmp_path / f.path) | {0}) == set(range(glyph_count(program)))
        assert glyph_count(program) < chunk_glyphs
        text = flat(text_of(tmp_path / f.path))
        assert flat(facts.address) in text and facts.borrower_name in text  # same glyphs, same text


def test_a_cff_font_is_copied_whole_and_still_renders(tmp_path):
    """Noto CJK is CFF (no glyf table to cut down): each letter keeps its chunk's subset of it,
    and reads the same."""
    letters = [letter(1), letter(2, borrower_name="欧阳娜娜")]
    cff = ChunkJob("chunk", tuple(letters), LENDER, str(tmp_path), "Noto Serif CJK SC", "Asia/Shanghai")
    result = render_chunk(cff)
    assert not result.failures and len(result.files) == 2
    for f, facts in zip(result.files, letters, strict=True):
        assert any("Noto-Serif-CJK" in name for name in embedded_fonts(tmp_path / f.path))
        assert facts.borrower_name in flat(text_of(tmp_path / f.path))


def _images(path: Path) -> list[tuple[int, int]]:
    """(width, height) of each distinct image on the letter's pages (an image drawn through an
    opacity group is listed once per reference: counted once)."""
    found = {}
    for page in PdfReader(path).pages:
        for image in page.images:
            found[image.name] = image.image.size
    return list(found.values())


def test_the_lenders_logo_heads_the_letter_and_its_seal_is_stamped_at_the_signature(tmp_path):
    from arrears.templating.lender import data_uri
    from tests.factories import logo_png, seal_png

    logo, seal = logo_png(tmp_path / "logo.png"), seal_png(tmp_path / "seal.png")
    lender = replace(LENDER, logo=data_uri(logo), seal=data_uri(seal))
    job_ = ChunkJob("chunk", (letter(), letter(2, locale="en_US")), lender, str(tmp_path), FONT, "Asia/Shanghai")
    result = render_chunk(job_)
    assert not result.failures
    for file in result.files:
        path = tmp_path / file.path
        assert sorted(_images(path)) == [(240, 240), (300, 90)], file.reference
        assert len(PdfReader(path).pages) == 1  # still one sheet
        assert "安信小贷" in text_of(path) or "Anxin Lending" in text_of(path)  # the seal covers nothing away


def test_without_a_logo_or_seal_the_letter_carries_no_image(tmp_path):
    (file,) = render_chunk(job(tmp_path, letter())).files
    assert _images(tmp_path / file.path) == []


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [("seal.gif", b"GIF89a", "give a PNG, JPEG or SVG image"), ("missing.png", None, "no such file")],
)
def test_a_bad_seal_or_logo_setting_is_refused_naming_the_setting(tmp_path, monkeypatch, name, content, reason):
    from pydantic import ValidationError

    from arrears.settings import Settings

    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("ARREARS_LENDER_SEAL", str(path))
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "lender_seal" in str(err.value) and reason in str(err.value)


def test_a_signed_pay_now_link_is_printed_and_the_letter_keeps_to_one_sheet(tmp_path):
    from arrears.templating.paylink import verify_pay_link

    lender = replace(LENDER, pay_key="letter-link-key")
    f = letter()
    (file,) = render_chunk(ChunkJob("chunk", (f,), lender, str(tmp_path), FONT, "Asia/Shanghai")).files
    text = flat(text_of(tmp_path / file.path))
    link = re.search(r"https://pay\.anxin\.example\?loan=\S+?sig=[0-9a-f]{32}", text)
    assert link is not None and verify_pay_link("letter-link-key", link.group(0)) == (f.loan_no, f.overdue_total)
    assert file.pages == 1
