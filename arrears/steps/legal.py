"""Legal work: escalation (a legal case with its chain of tasks for each loan an escalation
rule, or the strategy's ``legal`` action, fires for), and the hand-off to the legal team or
an outside firm (``arrears legal export``): an evidence pack per case and an index."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, Engine

from arrears.cases.escalation import legal_chain, legal_reference, rule_fired
from arrears.cases.evidence import MASKED, Disclosure, PackLender, evidence_pack
from arrears.cases.promises import broken_statuses
from arrears.faults import crash_point
from arrears.runtime import Runtime
from arrears.settings import Settings
from arrears.store.audit import record_export, record_files
from arrears.store.cases import add_event
from arrears.store.legal import NewLegalCase, escalation_candidates, evidence_rows, legal_case, open_legal_cases
from arrears.templating import TEMPLATES
from arrears.templating.formats import coded_amount, percent, stamp, write_csv
from arrears.templating.lender import data_uri
from arrears.vault import IdVault

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
        crash_point("escalate.opened")  # legal cases and tasks written, not committed
    made = set(out.references)
    for n in new:
        if legal_reference(n.view.loan_no, as_of) in made:
            out.by_rule[n.rule] = out.by_rule.get(n.rule, 0) + 1
    return out


def pack_lender(settings: Settings) -> PackLender:
    return PackLender(
        settings.lender_name_zh, settings.lender_name_en, settings.lender_address_zh, settings.lender_timezone
    )


@dataclass(frozen=True)
class Unmasking:
    """An audited unmasked export: the vault to decrypt ID numbers with, who asked, why, and the
    audit record written before any file."""

    vault: IdVault
    actor: str
    reason: str
    audit_id: int


def _disclosure(borrower: Any, unmasking: Unmasking | None) -> Disclosure:
    if unmasking is None:
        return MASKED
    token = borrower.id_number_enc
    clear = unmasking.vault.decrypt(token) if token else borrower.id_number  # anonymised: nothing left to show
    return Disclosure(True, clear, unmasking.actor, unmasking.reason, unmasking.audit_id)


def evidence_packs(
    conn: Connection, references: Sequence[str], settings: Settings, unmasking: Unmasking | None = None
) -> list[dict[str, Any]]:
    packs = []
    for ref in references:
        rows = evidence_rows(conn, ref)
        packs.append(evidence_pack(rows, pack_lender(settings), _disclosure(rows.borrower, unmasking)))
    return packs


def render_pack_html(data: dict[str, Any], font: str, logo: str | None = None) -> str:
    """The pack as HTML: amounts with their currency code (``CNY 3,286.50``), rates as percentages
    (``0.05%``), timestamps to the second with their offset; ``logo`` a data URI or None."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=select_autoescape(["html", "j2"])
    )
    env.filters |= {"amount": coded_amount, "rate": percent, "stamp": lambda v: stamp(v) if v else ""}
    return env.get_template("legal/evidence_pack.html.j2").render(d=data, font=font, logo=logo)


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
    html = HTML(
        string=render_pack_html(data, settings.letter_font, data_uri(settings.lender_logo)), base_url=str(TEMPLATES)
    )
    pdf = html.write_pdf(attachments=attachments)
    pdf_path.write_bytes(pdf)
    sidecar = data | {"pdf": {"file": pdf_path.name, "sha256": hashlib.sha256(pdf).hexdigest()}}
    json_path.write_text(json.dumps(sidecar, ensure_ascii=False, indent=2), encoding="utf-8")
    return pdf_path, json_path


def write_index(packs: Sequence[dict[str, Any]], out_dir: Path) -> dict[str, str]:
    """``legal-cases.json`` and ``legal-cases.csv``: one line per case for the firm's intake;
    returns their SHA-256 by file name."""
    index = [
        p["legal_case"]
        | {"loan_no": p["loan"]["loan_no"], "borrower": p["borrower"]["name"], "currency": p["loan"]["currency"]}
        for p in packs
    ]
    (out_dir / "legal-cases.json").write_text(json.dumps(index, ensure_ascii=False, indent=2, default=str), "utf-8")
    with (out_dir / "legal-cases.csv").open("w", newline="", encoding="utf-8") as f:
        write_csv(f, INDEX_COLUMNS, index)
    return {name: sha256_of(out_dir / name) for name in ("legal-cases.json", "legal-cases.csv")}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Exported:
    audit_id: int
    packs: list[tuple[Path, Path]]  # (PDF, JSON) per case
    files: dict[str, str]  # every file written: name -> sha256


def export_packs(
    engine: Engine,
    references: Sequence[str],
    out_dir: Path,
    settings: Settings,
    *,
    actor: str,
    at: datetime,
    vault: IdVault | None = None,
    reason: str = "",
) -> Exported:
    """``arrears legal export``: the audit record first (committed before any personal data is
    written), then a pack per case and the index, then each file's SHA-256 on the record. With a
    ``vault`` the packs are unmasked, and each case's timeline says who took its identity out."""
    with engine.begin() as conn:
        audit_id = record_export(
            conn, at=at, actor=actor, kind="legal_packs", unmasked=vault is not None, reason=reason,
            cases=references, destination=str(out_dir.resolve()), files={},
        )  # fmt: skip
    unmasking = Unmasking(vault, actor, reason, audit_id) if vault is not None else None
    with engine.connect() as conn:
        packs = evidence_packs(conn, references, settings, unmasking)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, files = [], {}
    for data in packs:
        pdf, sidecar = write_pack(data, out_dir, settings)
        written.append((pdf, sidecar))
        files |= {pdf.name: sha256_of(pdf), sidecar.name: sha256_of(sidecar)}
    files |= write_index(packs, out_dir)
    with engine.begin() as conn:
        record_files(conn, audit_id, files)
        for data in packs if unmasking else ():
            _note_unmasked(conn, data, unmasking, at, settings.today(at))  # type: ignore[arg-type]
    return Exported(audit_id, written, files)


def _note_unmasked(conn: Connection, data: dict[str, Any], u: Unmasking, at: datetime, day: date) -> None:
    """The case's timeline records that its identity data left, who took it and why."""
    reference = data["legal_case"]["reference"]
    case_, _ = legal_case(conn, reference)
    add_event(
        conn, key=f"export:{u.audit_id}:{reference}", loan_id=case_.loan_id, as_of=day, at=at, kind="exported",
        actor=u.actor, source="cli",
        detail=f"evidence pack {reference} exported unmasked (audit #{u.audit_id}): {u.reason}",
    )  # fmt: skip
