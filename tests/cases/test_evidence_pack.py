"""The legal hand-off of the story (``tests/cases/conftest.py``): evidence packs as a firm files
them, and the audited unmasked export."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path

from pypdf import PdfReader

from tests.cases.conftest import Story


def test_the_evidence_pack_holds_every_contact_letter_and_promise(story: Story) -> None:
    pack = json.loads((story.exported / "LC-20261031-LN-NEVER.json").read_text())
    loan = story.loan_id("NEVER")
    messages = story.rows("SELECT channel, template, status FROM outbox_message WHERE loan_id = :l", l=loan)
    assert sorted((c["channel"], c["template"], c["status"]) for c in pack["contacts"]) == sorted(
        tuple(m) for m in messages
    )
    assert {(t["reference"], t["sha256"]) for t in pack["letters"]} == {
        (t.reference, t.sha256) for t in story.letters("NEVER")
    }
    assert [c["outcome"] for c in pack["calls"]] == ["no_answer"]
    assert pack["borrower"]["id_number"] != "110101199003070001" and "*" in pack["borrower"]["phone"]
    assert [t["kind"] for t in pack["legal_case"]["tasks"]] == ["lawyers_letter", "litigation", "enforcement"]
    reader = PdfReader(story.exported / "LC-20261031-LN-NEVER.pdf")
    pdf_text = "".join(page.extract_text() for page in reader.pages)
    assert "LC-20261031-LN-NEVER" in pdf_text and all(t.reference in pdf_text for t in story.letters("NEVER"))
    embedded = {n: hashlib.sha256(b[0]).hexdigest() for n, b in reader.attachments.items()}  # the letters, as archived
    assert embedded == {f"{t.reference}.pdf": t.sha256 for t in story.letters("NEVER")} and embedded
    index = list(csv.DictReader((story.exported / "legal-cases.csv").read_text().splitlines()))
    assert {r["reference"] for r in index} >= {"LC-20261031-LN-NEVER", "LC-20260809-LN-BROKEN"} and index[0]["currency"]



def _text(pdf: Path) -> str:
    return "".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_the_evidence_pack_states_amounts_rates_and_times_as_a_filing_does(story: Story) -> None:
    pack = json.loads((story.exported / "LC-20261031-LN-NEVER.json").read_text())
    stamps = [c["sent_at"] for c in pack["contacts"] if c["sent_at"]] + [e["at"] for e in pack["timeline"]]
    assert stamps and all(
        datetime.fromisoformat(s).utcoffset().total_seconds() == 8 * 3600 and "." not in s  # type: ignore[union-attr]
        for s in stamps
    )  # the lender's time (Asia/Shanghai), to the second
    assert pack["disclosure"] == {"masked": True}
    pdf_text = _text(story.exported / "LC-20261031-LN-NEVER.pdf")
    flat = "".join(pdf_text.split())
    assert "CNY3,000.00" in flat and "CNY3,286.50" in flat  # principal, total owed
    assert "annualrate18%" in flat and "daily0.05%" in flat
    assert "+08:00" in pdf_text and "UNMASKED" not in pdf_text


def test_an_unmasked_export_shows_the_real_identity_and_is_audited(story: Story) -> None:
    folder = Path(story.outputs["unmasked"].split("\n")[0]).parent
    pack = json.loads((folder / "LC-20261031-LN-NEVER.json").read_text())
    assert pack["borrower"]["id_number"] == "110101199003070001"
    assert pack["borrower"]["phone"] == "+8613812340001" and pack["borrower"]["email"] == "b1@example.cn"
    assert {c["to"] for c in pack["contacts"]} == {"+8613812340001", "b1@example.cn"}
    [audit] = story.rows("SELECT * FROM export_audit WHERE unmasked = :u", u=True)
    assert pack["disclosure"] == {
        "masked": False, "exported_by": "zhao.min", "reason": "claim filing by 上海明理律师事务所",
        "audit_id": audit.id,
    }  # fmt: skip
    assert (audit.actor, audit.kind, json.loads(audit.cases)) == ("zhao.min", "legal_packs", ["LC-20261031-LN-NEVER"])
    assert json.loads(audit.files) == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    pdf_text = _text(folder / "LC-20261031-LN-NEVER.pdf")
    assert "UNMASKED" in pdf_text and f"audit #{audit.id}" in pdf_text
    [event] = story.rows("SELECT actor, detail FROM case_event WHERE kind = 'exported'")
    assert event.actor == "zhao.min" and f"audit #{audit.id}" in event.detail


def test_every_export_is_audited_and_an_unmasked_one_needs_a_reason(story: Story) -> None:
    [masked] = story.rows("SELECT cases, files FROM export_audit WHERE unmasked = :u", u=False)
    assert "legal-cases.csv" in json.loads(masked.files) and "LC-20261031-LN-NEVER" in json.loads(masked.cases)
    assert story.outputs["refused"].startswith("2 ") and "--unmasked needs --reason" in story.outputs["refused"]
    assert len(story.rows("SELECT id FROM export_audit")) == 2  # the refused export recorded nothing
