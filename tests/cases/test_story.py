"""Cases end to end over simulated days, through the real flow, CLI, providers and database.

One small book, one loan per story, run on the same days (2026-08-03 .. 2026-10-31):

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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine, upgrade
from arrears.policy import load_policy
from arrears.reports.summary import render_summary
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from arrears.store.summary import read_day_summary
from tests.conftest import empty_database
from tests.factories import policy_file, write_book

DAYS = ["2026-08-03", "2026-08-07", "2026-08-09", "2026-09-01", "2026-10-01", "2026-10-31"]
LOANS = ["NEVER", "KEPT", "BROKEN", "DISPUTE", "PAYDAY", "PLAN"]


def _book(directory: Path, payments: list[str]) -> Path:
    return write_book(
        directory,
        borrowers=[
            f"B-{name},借款人{i},11010119900307{i:04d},1381234{i:04d},b{i}@example.cn,上海市浦东新区{i}号,zh_CN,"
            "Asia/Shanghai,true,true"
            for i, name in enumerate(LOANS, start=1)
        ],
        loans=[f"LN-{name},B-{name},consumer,CNY,3000.00,0.18,0.0005,50.00,3,2026-07-01" for name in LOANS],
        installments=[f"LN-{name},1,2026-08-01,3000.00,100.00,0.00" for name in LOANS],
        payments=payments,
    )


@dataclass
class Story:
    engine: Engine
    exported: Path
    outputs: dict[str, str]

    def rows(self, sql: str, **params: object) -> list:  # type: ignore[type-arg]
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def loan_id(self, name: str) -> int:
        return self.rows("SELECT id FROM loan WHERE loan_no = :n", n=f"LN-{name}")[0][0]

    def messages(self, name: str, day: str | None = None) -> list:  # type: ignore[type-arg]
        q = "SELECT as_of, channel, template, status FROM outbox_message WHERE loan_id = :l"
        rows = self.rows(q + " ORDER BY as_of, channel", l=self.loan_id(name))
        return [r for r in rows if day is None or str(r.as_of) == day]

    def actions(self, name: str, day: str) -> list:  # type: ignore[type-arg]
        q = "SELECT action, channel, status, reason FROM collection_action WHERE loan_id = :l AND as_of = :d"
        return self.rows(q + " ORDER BY action", l=self.loan_id(name), d=date.fromisoformat(day))

    def letters(self, name: str) -> list:  # type: ignore[type-arg]
        q = "SELECT as_of, template, status, sha256, reference FROM letter WHERE loan_id = :l ORDER BY as_of"
        return self.rows(q, l=self.loan_id(name))

    def position(self, name: str, day: str):  # type: ignore[no-untyped-def]
        q = "SELECT dpd, stage, risk FROM position WHERE loan_id = :l AND as_of = :d"
        return self.rows(q, l=self.loan_id(name), d=date.fromisoformat(day))[0]

    def legal(self, name: str) -> list:  # type: ignore[type-arg]
        return self.rows(
            "SELECT reference, rule, opened_on, track FROM legal_case WHERE loan_id = :l", l=self.loan_id(name)
        )


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"arrears {' '.join(args)} -> {result.exit_code}: {result.output}"
    return result.output


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def story(request, tmp_path_factory, prefect_harness) -> Iterator[Story]:  # type: ignore[no-untyped-def]
    """Run the six stories on both databases (once per module: the tests below read the result)."""
    from arrears.fakeprovider.server import LocalProviders
    from flows.daily import daily_collection

    tmp = tmp_path_factory.mktemp("story")
    for url in empty_database(request.param, tmp_path_factory):
        engine = make_engine(url)
        upgrade(engine)
        local = LocalProviders(engine).start()
        with pytest.MonkeyPatch.context() as mp:
            for k, v in {
                **local.env(),
                "ARREARS_DATABASE_URL": url,
                "ARREARS_VAR_DIR": str(tmp / "var"),
                "ARREARS_BATCH_SIZE": "100",
                "ARREARS_WORKERS": "1",
                "ARREARS_LETTER_WORKERS": "1",
                "ARREARS_DAILY_REPORT": "false",
                "ARREARS_SMS_RATE_PER_S": "0",
                "ARREARS_EMAIL_RATE_PER_S": "0",
                "ARREARS_COLLECTORS": '["li.na", "wang.wei"]',
                # the story's 2026-10-01 is National Day: these stories are about cases, the calendar
                # has its own tests (tests/guard)
                "ARREARS_POLICY_PATH": str(policy_file(tmp, holidays=None)),
            }.items():
                mp.setenv(k, v)
            get_settings.cache_clear()
            outputs: dict[str, str] = {}

            def run(day: str) -> None:
                d = date.fromisoformat(day)
                now = datetime(d.year, d.month, d.day, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
                state = daily_collection(as_of=d, now=now, return_state=True)
                assert state.is_completed(), state.message

            payments: list[str] = []
            import_book(engine=engine, directory=_book(tmp / "book", payments))
            run("2026-08-03")
            _cli(
                "ptp",
                "add",
                "LN-KEPT",
                "--amount",
                "3100.00",
                "--date",
                "2026-08-08",
                "--on",
                "2026-08-03",
                "--by",
                "li.na",
            )
            _cli("ptp", "add", "LN-BROKEN", "--amount", "500.00", "--date", "2026-08-05", "--on", "2026-08-03")
            _cli("dispute", "open", "LN-DISPUTE", "--reason", "says the loan was repaid in cash", "--on", "2026-08-03")
            plan = tmp / "plan.csv"
            plan.write_text(
                "seq,due_date,principal_due,interest_due,fee_due\n1,2026-09-15,1600.00,0.00,0\n"
                "2,2026-10-15,1600.00,0.00,0\n"
            )
            _cli(
                "hardship",
                "plan",
                "LN-PLAN",
                "--effective",
                "2026-08-05",
                "--schedule",
                str(plan),
                "--approver",
                "zhao.min",
                "--reason",
                "lost job; two instalments approved",
            )
            run("2026-08-07")
            outputs["calls"] = _cli("calls", "--as-of", "2026-08-07")
            _cli("ptp", "add", "LN-BROKEN", "--amount", "500.00", "--date", "2026-08-08", "--on", "2026-08-07")
            with engine.connect() as conn:
                call_id = conn.execute(
                    text("SELECT k.id FROM call_task k JOIN loan l ON l.id = k.loan_id WHERE l.loan_no = 'LN-NEVER'")
                ).scalar_one()
            _cli("calls", "log", str(call_id), "--outcome", "no_answer", "--note", "rang 8 times")
            payments.append("LN-KEPT,2026-08-08,3200.00,PAY-KEPT")
            import_book(engine=engine, directory=_book(tmp / "book", payments))
            run("2026-08-09")
            outputs["case_broken"] = _cli("case", "LN-BROKEN", "--as-of", "2026-08-09")
            payments.append("LN-PAYDAY,2026-09-01,4000.00,PAY-PAYDAY")  # the morning of its letter day
            import_book(engine=engine, directory=_book(tmp / "book", payments))
            run("2026-09-01")
            _cli(
                "dispute",
                "resolve",
                "LN-DISPUTE",
                "--outcome",
                "rejected",
                "--note",
                "no cash receipt",
                "--on",
                "2026-09-02",
            )
            run("2026-10-01")
            run("2026-10-31")
            run("2026-10-31")  # a re-run of the day escalates nothing twice
            outputs["case_never"] = _cli("case", "LN-NEVER", "--as-of", "2026-10-31")
            outputs["legal_list"] = _cli("legal", "list")
            exported = tmp / "handoff"
            outputs["export"] = _cli("legal", "export", "--out", str(exported))
            yield Story(engine, exported, outputs)
        get_settings.cache_clear()
        local.stop()
        engine.dispose()


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
