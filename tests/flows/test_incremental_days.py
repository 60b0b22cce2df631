"""Incremental days are exact: thirty days run both ways — every loan every day, and only the loans
whose position may have changed — over a book with payments (back-dated too), hardship plans and
waivers, and promises kept and broken, give the same positions, stage changes, actions and message
keys, and the incremental way computes far fewer loans."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from arrears.db import make_engine, upgrade
from arrears.demo.synthetic import generate_book
from arrears.engine import Installment
from arrears.runtime import Clock, Runtime
from arrears.settings import Settings, get_settings
from arrears.steps import classify, guard, messages, plan, promises, snapshot
from arrears.steps.cases import track_day
from arrears.steps.importing import import_book
from arrears.store.hardship import Approval, WaiverLimits, add_repayment_plan, add_waiver
from arrears.store.payments import insert_payment
from arrears.store.promises import NewPromise
from arrears.store.runs import recorded_run

START = date(2026, 9, 1)
DAYS = 30
LOANS = 200


def _engine(tmp_path, name: str) -> Engine:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / name}.db")
    upgrade(engine)
    return engine


def _events(day: date, rng: random.Random, loans: list[tuple[int, int, int]]) -> list[tuple[str, tuple]]:  # type: ignore[type-arg]
    """What happens before the day's run: payments (some dated days back), a plan, a waiver, promises."""
    out: list[tuple[str, tuple]] = []  # type: ignore[type-arg]
    for loan_id, owed, _ in rng.sample(loans, 4):
        back = rng.choice([0, 0, 0, 1, 3, 6])  # an import that brings an older payment
        amount = Decimal(rng.choice([owed, owed // 2, 50_000])) / 100
        out.append(("pay", (loan_id, day - timedelta(days=back), amount, f"X{day:%m%d}-{loan_id}")))
    i = (day - START).days
    if i == 4:
        out.append(("plan", (loans[0][0], day + timedelta(days=3))))
    if i == 9:
        out.append(("waiver", (loans[1][0], day)))
    if i in (2, 12):
        out.append(("promise", (loans[2 + i // 10][0], day, day + timedelta(days=3))))
    return out


def _apply(engine: Engine, events: list[tuple[str, tuple]], now: datetime) -> None:  # type: ignore[type-arg]
    approval = Approval("zhao.min", "test", "cli")
    with engine.begin() as conn:
        for kind, args in events:
            if kind == "pay":
                loan_id, paid_on, amount, ref = args
                insert_payment(conn, loan_id, paid_on, amount, ref)
            elif kind == "plan":
                loan_id, effective = args
                dues = [effective + timedelta(days=30 * k) for k in (1, 2)]
                plan_lines = [Installment(due, k, Decimal(500), Decimal(0)) for k, due in enumerate(dues, start=1)]
                add_repayment_plan(conn, loan_id, effective, plan_lines, approval=approval, now=now)
            elif kind == "waiver":
                add_waiver(conn, args[0], args[1], WaiverLimits(penalty=Decimal(100)), approval=approval, now=now)
            elif kind == "promise":
                loan_id, made, promised = args
                promises.record_promise(conn, NewPromise(loan_id, Decimal(10), made, promised, "li.na", "cli"), now)


def _run(engine: Engine, settings: Settings, day: date) -> None:
    """The day's steps up to the outbox, without Prefect (the same functions its tasks call)."""
    now = datetime.combine(day, time(1, 0), UTC)
    rt = Runtime.of(engine, settings, clock=Clock(now))
    with recorded_run(engine, day, None, None, rt.policy.fingerprint) as run:
        promises.judge_day(rt, day)
        since = classify.incremental_base(rt, day)
        kept = sum(classify.classify_batch(rt, b, day, since).kept for b in snapshot.snapshot(rt))
        track_day(rt, day)
        for bounds in plan.planning_batches(rt, day):
            plan.plan_batch(rt, bounds, day)
        guard.decide_day(rt, day)
        messages.queue_day(rt, day)
        run.status = "completed"
    _run.kept = getattr(_run, "kept", 0) + kept  # type: ignore[attr-defined]


def _dump(engine: Engine) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    queries = {
        "positions": "SELECT as_of, loan_id, dpd, stage, risk, overdue_principal, overdue_interest, overdue_penalty,"
        " overdue_fees, overdue_total, outstanding_principal, credit, times_late, next_due_date FROM position",
        "stage changes": "SELECT as_of, loan_id, from_stage, to_stage, dpd FROM stage_change",
        "actions": "SELECT key, status, reason, stage, risk FROM collection_action",
        "messages": "SELECT key, status, body_text FROM outbox_message",
        "cases": "SELECT loan_id, opened_on, status, closed_on, close_reason FROM collection_case",
    }
    with engine.connect() as conn:
        return {name: sorted(tuple(map(str, r)) for r in conn.execute(text(q))) for name, q in queries.items()}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_thirty_days_incremental_equal_thirty_days_full(settings_env, tmp_path, monkeypatch):
    generate_book(tmp_path / "book", loans=LOANS, as_of=START, seed=17, bad_rows=False)
    engines = {mode: _engine(tmp_path, mode) for mode in ("full", "incremental")}
    for engine in engines.values():
        import_book(engine=engine, directory=tmp_path / "book")
    with engines["full"].connect() as conn:
        loans = [(int(i), int(o or 0), 0) for i, o in conn.execute(text(
            "SELECT l.id, SUM(i.principal_due + i.interest_due) FROM loan l JOIN installment i ON i.loan_id = l.id"
            " GROUP BY l.id ORDER BY l.id"))]  # fmt: skip
    base = get_settings()
    computed = {}
    for mode, engine in engines.items():
        url = f"sqlite:///{tmp_path / mode}.db"
        settings = base.model_copy(update={"incremental": mode == "incremental", "database_url": url})
        rng = random.Random(3)
        _run.kept = 0  # type: ignore[attr-defined]
        for i in range(DAYS):
            day = START + timedelta(days=i)
            _apply(engine, _events(day, rng, loans), datetime.combine(day, time(0, 30), UTC))
            _run(engine, settings, day)
        computed[mode] = _run.kept  # type: ignore[attr-defined]
    full, incremental = _dump(engines["full"]), _dump(engines["incremental"])
    for name in full:
        assert incremental[name] == full[name], name
    # a third or more of the positions kept (this synthetic book is a third delinquent: those are recomputed daily)
    assert computed["full"] == 0 and computed["incremental"] > 0.35 * LOANS * (DAYS - 1)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_incremental_batches_classified_side_by_side_on_sqlite_never_find_the_database_locked(settings_env, tmp_path):
    """A batch's staging must not pin a read snapshot that its write cannot upgrade once another
    batch has committed (SQLite answers "database is locked" at once: the task would wait out
    Prefect's retry delay)."""
    from concurrent.futures import ThreadPoolExecutor

    engine = _engine(tmp_path, "side-by-side")
    generate_book(tmp_path / "book", loans=400, as_of=START, seed=17, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    settings = get_settings().model_copy(update={"batch_size": 100, "database_url": f"sqlite:///{tmp_path}/side-by-side.db"})
    for i in range(3):
        day = START + timedelta(days=i)
        rt = Runtime.of(engine, settings, clock=Clock(datetime.combine(day, time(1, 0), UTC)))
        with recorded_run(engine, day, None, None, rt.policy.fingerprint) as run:
            since = classify.incremental_base(rt, day)
            batches = [b for b in snapshot.snapshot(rt) for _ in range(3)]  # each batch thrice, at once
            with ThreadPoolExecutor(len(batches)) as pool:
                list(pool.map(lambda b: classify.classify_batch(rt, b, day, since), batches))  # noqa: B023
            run.status = "completed"
        assert (since is None) == (i == 0)
