"""A cure stops what is pending; the case commands refuse what they must and say why."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.runtime import Clock, Runtime
from arrears.settings import get_settings
from arrears.steps.calls import queue_day
from arrears.steps.cases import track_day
from arrears.steps.classify import classify_loans
from arrears.steps.importing import import_book
from arrears.steps.legal import escalate_day
from arrears.steps.plan import plan_borrowers
from tests.factories import write_book

LETTER_DAY = date(2026, 9, 1)  # DPD 31: the M2 demand letter


def _book(tmp_path, payments=()):  # type: ignore[no-untyped-def]
    return write_book(
        tmp_path / "book",
        borrowers=[
            "B1,张伟,110101199003071234,13812345678,zhang.wei@example.cn,上海市浦东新区,zh_CN,Asia/Shanghai,true,true"
        ],
        loans=["LN1,B1,consumer,CNY,3000.00,0.18,0.0005,50.00,3,2026-07-01"],
        installments=["LN1,1,2026-08-01,3000.00,100.00,0.00"],
        payments=list(payments),
    )


def _rt(engine, now=None):  # type: ignore[no-untyped-def]
    return Runtime.of(engine, get_settings(), clock=Clock(now))


def _rows(engine, sql, **params):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_a_payment_after_the_letter_was_planned_cancels_it_on_the_rerun(
    prefect_harness, settings_env, providers, fresh_db, tmp_path
):  # type: ignore[no-untyped-def]
    from flows.daily import daily_collection

    import_book(engine=fresh_db, directory=_book(tmp_path))
    # a run that planned the day and then crashed, before any letter or message was produced
    classify_loans(settings_env, None, 1, 1, LETTER_DAY)
    track_day(_rt(fresh_db), LETTER_DAY)
    plan_borrowers(settings_env, None, "B1", "B1", LETTER_DAY)
    planned = _rows(fresh_db, "SELECT action, status FROM collection_action WHERE channel = 'letter'")
    assert [tuple(r) for r in planned] == [("m2_demand_letter", "planned")]
    # the borrower pays in full that morning; the run is re-triggered
    import_book(engine=fresh_db, directory=_book(tmp_path, ["LN1,2026-09-01,4000.00,PAY-1"]))
    now = datetime(2026, 9, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert daily_collection(as_of=LETTER_DAY, now=now, return_state=True).is_completed()

    actions = _rows(fresh_db, "SELECT action, status, reason FROM collection_action ORDER BY action")
    assert {(a.status, a.reason.split(":")[0]) for a in actions} == {("cancelled", "cured")}
    assert _rows(fresh_db, "SELECT COUNT(*) FROM letter")[0][0] == 0
    assert _rows(fresh_db, "SELECT COUNT(*) FROM outbox_message")[0][0] == 0
    assert providers.state.requests == []
    [case] = _rows(fresh_db, "SELECT status, close_reason FROM collection_case")
    assert tuple(case) == ("closed", "cured")
    out = CliRunner().invoke(app, ["case", "LN1", "--as-of", "2026-09-01"]).output
    assert "cured" in out and "PAY-1" in out and "nothing planned" in out


def _cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def test_promises_import_refuses_bad_rows_by_line_and_is_idempotent(settings_env, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    import_book(engine=fresh_db, directory=_book(tmp_path))
    calls = tmp_path / "outcomes.csv"
    calls.write_text(
        "loan_no,amount,promised_on,made_on,collector,note\n"
        "LN1,500.00,2026-09-05,2026-09-01,li.na,will pay Friday\n"
        "LN404,500.00,2026-09-05,2026-09-01,li.na,\n"
        "LN1,abc,2026-09-05,2026-09-01,li.na,\n"
        "LN1,100.00,2026-08-30,2026-09-01,li.na,\n",
        encoding="utf-8",
    )
    first = _cli("ptp", "import", str(calls))
    assert first.exit_code == 3
    assert "1 new" in first.output
    assert f"{calls}:3: no loan 'LN404'" in first.stderr
    assert f"{calls}:4:" in first.stderr and f"{calls}:5: promised date 2026-08-30 is before" in first.stderr
    again = _cli("ptp", "import", str(calls))
    assert "0 new, 1 already recorded" in again.output
    [p] = _rows(fresh_db, "SELECT amount, actor, source, note FROM promise")
    assert (p.amount, p.actor, p.source, p.note) == (50000, "li.na", "import:outcomes.csv", "will pay Friday")


def test_a_newer_promise_supersedes_the_open_one(settings_env, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    import_book(engine=fresh_db, directory=_book(tmp_path))
    assert _cli("ptp", "add", "LN1", "--amount", "500", "--date", "2026-09-05", "--on", "2026-09-01").exit_code == 0
    assert _cli("ptp", "add", "LN1", "--amount", "900", "--date", "2026-09-08", "--on", "2026-09-02").exit_code == 0
    rows = _rows(fresh_db, "SELECT amount, status FROM promise ORDER BY made_on")
    assert [tuple(r) for r in rows] == [(50000, "superseded"), (90000, "open")]
    # a backdated promise (an old call-outcome file) does not reopen: the later one stays the open one
    assert _cli("ptp", "add", "LN1", "--amount", "100", "--date", "2026-09-03", "--on", "2026-08-30").exit_code == 0
    rows = _rows(fresh_db, "SELECT amount, status FROM promise ORDER BY made_on")
    assert [tuple(r) for r in rows] == [(10000, "superseded"), (50000, "superseded"), (90000, "open")]


def test_dispute_commands_refuse_what_makes_no_sense(settings_env, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    import_book(engine=fresh_db, directory=_book(tmp_path))
    assert _cli("dispute", "resolve", "LN1", "--outcome", "upheld").exit_code == 2
    assert _cli("dispute", "open", "LN1", "--reason", "wrong amount", "--on", "2026-09-01").exit_code == 0
    twice = _cli("dispute", "open", "LN1", "--reason", "again")
    assert twice.exit_code == 2 and "already has an open dispute" in twice.stderr
    unknown = _cli("dispute", "open", "LN9", "--reason", "x")
    assert unknown.exit_code == 2 and "no loan 'LN9'" in unknown.stderr
    bad = _cli("dispute", "resolve", "LN1", "--outcome", "maybe")
    assert bad.exit_code == 2 and "upheld or rejected" in bad.stderr
    [d] = _rows(fresh_db, "SELECT reply_by, status FROM dispute")
    assert (str(d.reply_by), d.status) == ("2026-09-16", "open")


def test_a_waiver_needs_an_approver_a_reason_and_an_amount(settings_env, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    import_book(engine=fresh_db, directory=_book(tmp_path))
    base = ["hardship", "waive", "LN1", "--effective", "2026-09-01", "--approver", "zhao.min"]
    assert _cli(*base, "--reason", "hospital").exit_code == 2  # nothing to waive
    assert _cli(*base, "--reason", "hospital", "--penalty", "10.123").exit_code == 2  # not cents
    ok = _cli(*base, "--reason", "hospital", "--penalty", "30.00")
    assert ok.exit_code == 0, ok.output
    out = _cli("loans", "--as-of", "2026-09-01").output
    assert "LN1" in out


def test_settling_a_case_cancels_its_legal_tasks_with_the_reason(settings_env, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    import_book(engine=fresh_db, directory=_book(tmp_path))
    day = date(2026, 10, 31)  # DPD 91
    now = datetime.now(UTC)
    classify_loans(settings_env, None, 1, 1, day)
    track_day(_rt(fresh_db, now), day)
    first = escalate_day(_rt(fresh_db, now), day)
    again = escalate_day(_rt(fresh_db, now), day)
    assert (first.references, again.references) == (["LC-20261031-LN1"], [])
    done = _cli(
        "legal",
        "update",
        "LC-20261031-LN1",
        "--task",
        "lawyers_letter",
        "--status",
        "done",
        "--outcome",
        "sent by EMS",
        "--on",
        "2026-11-05",
    )
    assert done.exit_code == 0, done.output
    assert "litigation (law firm" in _cli("legal", "list").output  # the next open task
    bad = _cli("legal", "update", "LC-20261031-LN1", "--task", "mediation", "--status", "done")
    assert bad.exit_code == 2 and "has no mediation task" in bad.stderr
    settled = _cli("case", "LN1", "--close", "settled", "--as-of", "2026-11-10", "--by", "zhao.min")
    assert settled.exit_code == 0, settled.output
    tasks = _rows(fresh_db, "SELECT kind, status, outcome FROM legal_task ORDER BY seq")
    assert [(t.kind, t.status) for t in tasks] == [
        ("lawyers_letter", "done"),
        ("litigation", "cancelled"),
        ("enforcement", "cancelled"),
    ]
    assert tasks[1].outcome.startswith("settled")
    [legal] = _rows(fresh_db, "SELECT status, close_reason FROM legal_case")
    assert legal.status == "closed" and legal.close_reason.startswith("settled")
    show = _cli("legal", "show", "LC-20261031-LN1").output
    assert "sent by EMS" in show and "cancelled" in show
    timeline = _cli("case", "LN1", "--as-of", "2026-11-10").output
    assert "settled" in timeline and "zhao.min" in timeline


def test_a_borrower_without_a_phone_gets_no_call_task(settings_env, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    book = write_book(
        tmp_path / "nophone",
        borrowers=["B1,张伟,110101199003071234,,zhang.wei@example.cn,上海市浦东新区,zh_CN,Asia/Shanghai,false,true"],
        loans=["LN1,B1,consumer,CNY,3000.00,0.18,0.0005,50.00,3,2026-07-01"],
        installments=["LN1,1,2026-08-01,3000.00,100.00,0.00"],
    )
    import_book(engine=fresh_db, directory=book)
    day = date(2026, 8, 7)  # DPD 6: the M1 call
    classify_loans(settings_env, None, 1, 1, day)
    plan_borrowers(settings_env, None, "B1", "B1", day)
    assert queue_day(_rt(fresh_db), day) == {}
    [a] = _rows(fresh_db, "SELECT status, reason FROM collection_action WHERE channel = 'call_task'")
    assert tuple(a) == ("suppressed", "no phone number")


def test_a_dispute_opened_mid_day_holds_what_the_day_planned_at_once(settings_env, fresh_db, tmp_path):  # type: ignore[no-untyped-def]
    import_book(engine=fresh_db, directory=_book(tmp_path))
    classify_loans(settings_env, None, 1, 1, LETTER_DAY)
    plan_borrowers(settings_env, None, "B1", "B1", LETTER_DAY)
    result = _cli("dispute", "open", "LN1", "--reason", "amount is wrong", "--on", "2026-09-01")
    assert result.exit_code == 0, result.output
    actions = _rows(fresh_db, "SELECT action, status, reason FROM collection_action ORDER BY action")
    assert [tuple(a) for a in actions] == [
        ("m2_demand_letter", "suppressed", "dispute_hold"),
        ("m2_firm_email", "suppressed", "dispute_hold"),
        ("m2_firm_sms", "suppressed", "dispute_hold"),
    ]
