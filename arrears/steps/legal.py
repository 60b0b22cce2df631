"""Legal work: escalation (a legal case with its chain of tasks for each loan an escalation
rule, or the strategy's ``legal`` action, fires for), and the hand-off to the legal team or
an outside firm (``arrears legal export``): an evidence pack per case and an index."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection

from arrears.cases.escalation import legal_chain, legal_reference, rule_fired
from arrears.cases.evidence import PackLender, evidence_pack
from arrears.cases.promises import broken_statuses
from arrears.runtime import Runtime
from arrears.settings import Settings
from arrears.store.legal import NewLegalCase, escalation_candidates, evidence_rows, open_legal_cases
from arrears.templating import TEMPLATES
from arrears.templating.formats import write_csv

INDEX_COLUMNS = (
    "reference", "loan_no", "borrower", "opened_on", "rule", "track", "currency", "overdue_total", "status",
    "next_task", "next_owner", "next_due_on",
)  # fmt: skip


@dataclass
class Escalated:
    references: list[str] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)


def escalate_day(rt: Runtime, as_of: date) -> Escalated:
    """One legal case per collection case: running the day again opens nothing new."""
    policy, out = rt.policy, Escalated()
    with rt.engine.begin() as conn:
        broken = broken_statuses(policy.promises.partial_counts_as_broken)
        views, planned = escalation_candidates(conn, as_of, broken)
        new = []
        for view in views:
            rule = rule_fired(view, policy.escalation) or planned.get(view.loan_id)
            if rule is None:
                continue
            track = policy.product(view.product).legal_track
            steps = legal_chain(as_of, track, policy.escalation, rt.settings.legal_owners)
            new.append(NewLegalCase(view, rule, track, steps))
        out.references = open_legal_cases(conn, new, as_of, rt.clock.wall())
    made = set(out.references)
    for n in new:
        if legal_reference(n.view.loan_no, as_of) in made:
            out.by_rule[n.rule] = out.by_rule.get(n.rule, 0) + 1
    return out


def pack_lender(settings: Settings) -> PackLender:
    return PackLender(settings.lender_name_zh, settings.lender_name_en, settings.lender_address_zh)


def evidence_packs(conn: Connection, references: Sequence[str], settings: Settings) -> list[dict[str, Any]]:
    return [evidence_pack(evidence_rows(conn, ref), pack_lender(settings)) for ref in references]


def render_pack_html(data: dict[str, Any], font: str) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=select_autoescape(["html", "j2"])
    )
    return env.get_template("legal/evidence_pack.html.j2").render(d=data, font=font)


def letter_files(data: dict[str, Any], letters_dir: Path) -> list[tuple[str, bytes]]:
    """The archived letter PDFs of the pack, each checked against the SHA-256 recorded when it was
    rendered (a file missing or changed is left out, and the pack's JSON says so)."""
    found = []
    for letter in data["letters"]:
        path = letters_dir / letter["file"] if letter["file"] else None
        blob = path.read_bytes() if path is not None and path.is_file() else None
        ok = blob is not None and hashlib.sha256(blob).hexdigest() == letter["sha256"]
        letter["attached"] = ok
        if ok and blob is not None:
            found.append((f"{letter['reference']}.pdf", blob))
    return found


def write_pack(data: dict[str, Any], out_dir: Path, settings: Settings) -> tuple[Path, Path]:
    """``<reference>.pdf`` (the letters' own PDFs embedded in it as attachments) and
    ``<reference>.json``; the JSON names the PDF's SHA-256."""
    from weasyprint import HTML, Attachment  # noqa: PLC0415 - heavy: imported when packs are written

    reference = data["legal_case"]["reference"]
    pdf_path, json_path = out_dir / f"{reference}.pdf", out_dir / f"{reference}.json"
    attachments = [
        Attachment(string=blob, name=name, description=f"demand letter {name[:-4]} as sent")
        for name, blob in letter_files(data, settings.resolved_letters_dir)
    ]
    html = HTML(string=render_pack_html(data, settings.letter_font), base_url=str(TEMPLATES))
    pdf = html.write_pdf(attachments=attachments)
    pdf_path.write_bytes(pdf)
    sidecar = data | {"pdf": {"file": pdf_path.name, "sha256": hashlib.sha256(pdf).hexdigest()}}
    json_path.write_text(json.dumps(sidecar, ensure_ascii=False, indent=2), encoding="utf-8")
    return pdf_path, json_path


def write_index(packs: Sequence[dict[str, Any]], out_dir: Path) -> None:
    """``legal-cases.json`` and ``legal-cases.csv``: one line per case for the firm's intake."""
    index = [
        p["legal_case"]
        | {"loan_no": p["loan"]["loan_no"], "borrower": p["borrower"]["name"], "currency": p["loan"]["currency"]}
        for p in packs
    ]
    (out_dir / "legal-cases.json").write_text(json.dumps(index, ensure_ascii=False, indent=2, default=str), "utf-8")
    with (out_dir / "legal-cases.csv").open("w", newline="", encoding="utf-8") as f:
        write_csv(f, INDEX_COLUMNS, index)
