"""Cases end to end over simulated days, through the real flow, CLI, providers and database
(the story is told once per database by ``tests/cases/conftest.py``), and its legal hand-off:

* LN-NEVER   never pays: gentle -> firm -> letter -> final -> escalation to legal
* LN-KEPT    promises on day 2 of arrears and keeps it: the ladder stops
* LN-BROKEN  breaks two promises: a higher risk grade (a faster ladder), then legal
* LN-DISPUTE disputes on day 2: everything held until the dispute is resolved
* LN-PAYDAY  pays in full on the morning of its letter day: no letter, calls cancelled
* LN-PLAN    gets a hardship repayment plan: DPD restarts from the plan's schedule
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from arrears.policy import load_policy
from arrears.reports.summary import render_summary
from arrears.settings import get_settings
from arrears.store.summary import read_day_summary
from tests.cases.conftest import LOANS, Story


def test_a_loan_that_never_pays_goes_gentle_firm_letter_final_then_legal(story: Story) -> None:
    sent = {(str(m.as_of), m.channel, m.template) for m in story.messages("NEVER") if m.status in ("sent", "delivered")}
    assert {("2026-08-03", "sms", "m1_gentle"), ("2026-08-03", "email", "m1_gentle")} <= sent
    assert {("2026-09-01", "sms", "m2_firm"), ("2026-09-01", "email", "m2_firm")} <= sent
    assert {("2026-10-01", "sms", "m3_final_notice"), ("2026-10-01", "email", "m3_final_notice")} <= sent
    letters = [(str(t.as_of), t.template, t.status) for t in story.letters("NEVER")]
    assert letters == [
        ("2026-09-01", "m2_demand_letter", "rendered"),
        ("2026-10-01", "m3_final_demand", "rendered"),
        ("2026-10-31", "pre_litigation_notice", "rendered"),
    ]
    [(reference, rule, opened_on, track)] = story.legal("NEVER")
    assert (reference, rule, str(opened_on), track) == (
        "LC-20261031-LN-NEVER",
        "over_90_dpd",
        "2026-10-31",
        "litigation",
    )
    tasks = story.rows(
        "SELECT t.kind, t.owner, t.due_on, t.status FROM legal_task t JOIN legal_case g ON g.id = t.legal_case_id"
        " WHERE g.reference = :r ORDER BY t.seq",
        r=reference,
    )
    owners = get_settings().legal_owners
    assert [(t.kind, t.owner, str(t.due_on), t.status) for t in tasks] == [
        ("lawyers_letter", owners["lawyers_letter"], "2026-11-10", "open"),
        ("litigation", owners["litigation"], "2027-02-28", "open"),
        ("enforcement", owners["enforcement"], "2027-06-28", "open"),
    ]
    changes = story.rows(
        "SELECT as_of, from_stage, to_stage FROM stage_change WHERE loan_id = :l ORDER BY as_of",
        l=story.loan_id("NEVER"),
    )
    assert [(str(c.as_of), c.from_stage, c.to_stage) for c in changes] == [
        ("2026-08-03", None, "M1"),
        ("2026-09-01", "M1", "M2"),
        ("2026-10-01", "M2", "M3"),
        ("2026-10-31", "M3", "M3+"),
    ]
    assert "stage_change" in story.outputs["case_never"] and "escalated" in story.outputs["case_never"]


def test_a_kept_promise_pauses_the_ladder_and_the_payment_stops_it(story: Story) -> None:
    on_promise_eve = story.actions("KEPT", "2026-08-07")
    assert {(a.action, a.status, a.reason) for a in on_promise_eve} == {
        ("ptp_reminder_sms", "planned", None),
        ("ptp_reminder_email", "planned", None),
        ("m1_call", "suppressed", "promise_open"),
    }
    assert {(m.channel, m.template) for m in story.messages("KEPT", "2026-08-07")} == {
        ("sms", "ptp_reminder"),
        ("email", "ptp_reminder"),
    }
    [promise] = story.rows("SELECT status, paid FROM promise WHERE loan_id = :l", l=story.loan_id("KEPT"))
    assert promise.status == "kept"
    [case] = story.rows(
        "SELECT status, close_reason, closed_on FROM collection_case WHERE loan_id = :l", l=story.loan_id("KEPT")
    )
    assert (case.status, case.close_reason, str(case.closed_on)) == ("closed", "cured", "2026-08-09")
    assert [m for m in story.messages("KEPT") if str(m.as_of) > "2026-08-07"] == []


def test_a_broken_promise_raises_the_risk_grade_speeds_the_ladder_and_two_escalate(story: Story) -> None:
    assert story.position("NEVER", "2026-08-07").risk == "low"
    assert story.position("BROKEN", "2026-08-07").risk == "high"  # one broken promise
    # DPD 6: the high-risk ladder sends a reminder, the ordinary one has only a call
    assert {a.action for a in story.actions("BROKEN", "2026-08-07")} >= {"m1_gentle_sms", "m1_gentle_email"}
    assert {a.action for a in story.actions("NEVER", "2026-08-07")} == {"m1_call"}
    statuses = story.rows("SELECT status FROM promise WHERE loan_id = :l ORDER BY made_on", l=story.loan_id("BROKEN"))
    assert [s.status for s in statuses] == ["broken", "broken"]
    [(reference, rule, opened_on, _)] = story.legal("BROKEN")
    assert (rule, str(opened_on)) == ("two_broken_promises", "2026-08-09")
    out = story.outputs["case_broken"]
    assert "promise_broken" in out and reference in out


def test_a_dispute_holds_every_contact_until_it_is_resolved(story: Story) -> None:
    for day in ("2026-08-07", "2026-09-01"):
        actions = story.actions("DISPUTE", day)
        assert actions and {(a.status, a.reason) for a in actions} == {("suppressed", "dispute_hold")}
        assert story.messages("DISPUTE", day) == []
    assert [str(t.as_of) for t in story.letters("DISPUTE")] == ["2026-10-01", "2026-10-31"]
    with story.engine.connect() as conn:
        summary = read_day_summary(conn, date(2026, 9, 1))
    assert ("LN-DISPUTE", "2026-08-03", "2026-08-18") in summary.overdue_disputes
    assert summary.held.get("dispute_hold", 0) >= 3
    markdown = render_summary(summary, load_policy())
    assert "1 dispute past their reply date" in markdown and "| LN-DISPUTE | 2026-08-03 | 2026-08-18 |" in markdown
    resumed = {(m.channel, m.template, m.status) for m in story.messages("DISPUTE", "2026-10-01")}
    assert {("sms", "m3_final_notice", "sent"), ("email", "m3_final_notice", "sent")} <= {
        (c, t, "sent" if s in ("sent", "delivered") else s) for c, t, s in resumed
    }


def test_a_payment_on_the_morning_of_a_letter_day_means_no_letter_and_cancels_open_calls(story: Story) -> None:
    assert story.letters("PAYDAY") == []
    assert story.actions("PAYDAY", "2026-09-01") == []
    [case] = story.rows(
        "SELECT status, close_reason, closed_on FROM collection_case WHERE loan_id = :l", l=story.loan_id("PAYDAY")
    )
    assert (case.status, case.close_reason, str(case.closed_on)) == ("closed", "cured", "2026-09-01")
    calls = story.rows("SELECT as_of, status, reason FROM call_task WHERE loan_id = :l", l=story.loan_id("PAYDAY"))
    assert [(str(c.as_of), c.status) for c in calls] == [("2026-08-07", "cancelled")]
    assert calls[0].reason.startswith("cured")


def test_a_hardship_plan_restarts_dpd_from_the_plan_schedule(story: Story) -> None:
    assert story.position("PLAN", "2026-08-03").dpd == 2
    assert story.position("PLAN", "2026-08-07").dpd == 0  # the plan's first instalment is due 2026-09-15
    assert tuple(story.position("PLAN", "2026-10-01")) == (16, "M1", "low")
    cases = story.rows(
        "SELECT opened_on, status, close_reason FROM collection_case WHERE loan_id = :l ORDER BY opened_on",
        l=story.loan_id("PLAN"),
    )
    assert [(str(c.opened_on), c.status, c.close_reason) for c in cases] == [
        ("2026-08-03", "closed", "cured"),
        ("2026-10-01", "open", None),
    ]


def test_the_summary_reports_new_legal_cases_and_overdue_legal_tasks_with_owners(story: Story) -> None:
    owner = get_settings().legal_owners["lawyers_letter"]
    with story.engine.connect() as conn:
        on_escalation = read_day_summary(conn, date(2026, 8, 9))
        weeks_later = read_day_summary(conn, date(2026, 9, 1))
    assert on_escalation.new_legal_cases == [("LC-20260809-LN-BROKEN", "LN-BROKEN", "two_broken_promises", owner)]
    assert ("LC-20260809-LN-BROKEN", "lawyers_letter", owner, "2026-08-19") in weeks_later.overdue_legal_tasks
    markdown = render_summary(weeks_later, load_policy())
    assert "legal task" in markdown and " overdue:**" in markdown and "LC-20260809-LN-BROKEN" in markdown


def test_roll_rates_and_recovery_compare_the_day_with_the_previous_run_day(story: Story) -> None:
    from arrears.store.reports import recovery_by_stage, roll_rates

    with story.engine.connect() as conn:
        prev, rolls = roll_rates(conn, date(2026, 10, 31))
        since, recovery = recovery_by_stage(conn, date(2026, 9, 1))
    assert prev == date(2026, 10, 1)
    assert rolls[("M3", "M3+")] == 3  # LN-NEVER, LN-BROKEN, LN-DISPUTE
    assert rolls[("M1", "M2")] == 1  # LN-PLAN, behind on its plan
    assert sum(rolls.values()) == len(LOANS)
    assert since == date(2026, 8, 9)
    [m1] = [r for r in recovery if r.stage == "M1"]
    # on 2026-08-09 LN-PAYDAY owed 3100 + 8 days of penalty (12.00) + the late fee (50);
    # its 4000 on 2026-09-01 recovers exactly that, the rest is not recovery
    assert m1.recovered == Decimal("3162.00")
    assert m1.overdue > m1.recovered and Decimal(0) < m1.rate < 1


def test_escalating_the_same_case_again_creates_nothing_new(story: Story) -> None:
    assert len(story.legal("NEVER")) == 1
    events = story.rows(
        "SELECT COUNT(*) FROM case_event WHERE loan_id = :l AND kind = 'escalated'", l=story.loan_id("NEVER")
    )
    assert events[0][0] == 1
    assert (
        story.rows("SELECT COUNT(*) FROM legal_task")[0][0] == 3 * story.rows("SELECT COUNT(*) FROM legal_case")[0][0]
    )


def test_call_queue_lists_the_days_calls_with_talking_points_and_logs_outcomes(story: Story) -> None:
    out = story.outputs["calls"]
    assert "LN-NEVER" in out and "LN-PAYDAY" in out
    assert "LN-KEPT" not in out and "LN-DISPUTE" not in out  # held: promise open, dispute
    assert "13812340001" not in out  # phones masked
    [call] = story.rows("SELECT status, outcome, note FROM call_task WHERE loan_id = :l", l=story.loan_id("NEVER"))
    assert tuple(call) == ("done", "no_answer", "rang 8 times")


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
