"""Champion/challenger: stable assignment by weight, each arm planned by its own strategy and
recorded on every contact, results with intervals — a challenger that truly recovers more is
shown ahead, an A/A test is not — and stopping an experiment with a promotion."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine
from arrears.demo.synthetic import generate_book, respond
from arrears.policy import load_policy
from arrears.policy.experiments import ExperimentSpec
from arrears.reports.experiments import mean_difference, proportion_difference
from arrears.settings import get_settings
from arrears.steps.experiments import results
from arrears.steps.importing import import_book
from flows.daily import daily_collection
from tests.factories import policy_with

FIRST = date(2026, 11, 16)  # a Monday: six ordinary working days follow
SHANGHAI = ZoneInfo("Asia/Shanghai")
EXTRA = {"action": "m1_extra_sms", "channel": "sms", "template": "m1_gentle", "tone": "gentle", "start_day": 0,
         "every_days": 1}  # fmt: skip


ARMS = ("champion", "challenger", "twin")


def _experiment(name: str, challenger_strategy: dict | None = None, weights: tuple[int, ...] = (50, 50)) -> dict:
    arms = [{"name": n, "weight": w} for n, w in zip(ARMS, weights, strict=False)]
    if challenger_strategy is not None:
        arms[1]["strategy"] = challenger_strategy
    return {"name": name, "started_on": FIRST.isoformat(), "arms": arms}


def test_assignment_is_stable_and_splits_by_weight():
    spec = ExperimentSpec.model_validate(_experiment("split", weights=(80, 20)))
    refs = [f"LN{i:08d}" for i in range(20_000)]
    arms = [spec.arm_for(r) for r in refs]
    share = Counter(arms)["challenger"] / len(refs)
    assert 0.185 < share < 0.215  # 20 % within 1.5 points
    assert arms == [spec.arm_for(r) for r in refs]  # the same on every call, day and machine
    renamed = ExperimentSpec.model_validate(_experiment("split-2", weights=(80, 20)))
    moved = sum(a != renamed.arm_for(r) for a, r in zip(arms, refs, strict=True))
    assert moved > 0.2 * len(refs)  # a new experiment assigns afresh


def test_the_champion_runs_the_policys_strategy_and_experiments_do_not_overlap(tmp_path):
    bad = _experiment("x")
    bad["arms"][0]["strategy"] = {"M1": {"any": [EXTRA]}}
    with pytest.raises(Exception, match=r"arms\[0\] \(champion\) is the champion"):
        load_policy(policy_with(tmp_path, experiments=[bad]))
    with pytest.raises(Exception, match="a and b overlap: one experiment runs at a time"):
        load_policy(policy_with(tmp_path, experiments=[_experiment("a"), _experiment("b")]))


def test_intervals_find_a_real_difference_and_not_a_chance_one():
    assert proportion_difference(40, 200, 80, 200).significant  # 20 % vs 40 %
    assert not proportion_difference(40, 200, 44, 200).significant
    zero = proportion_difference(0, 50, 0, 50)  # nothing to compare: an interval around 0, not an error
    assert zero.estimate == 0 and zero.low < 0 < zero.high
    same = [0.1, 0.5, 0.9, 0.3] * 25
    assert not mean_difference(same, list(reversed(same))).significant
    assert mean_difference([0.1] * 50 + [0.2] * 50, [0.6] * 50 + [0.7] * 50).low > 0.4


@pytest.fixture
def book(request, providers, tmp_path):  # type: ignore[no-untyped-def]
    """Synthetic loans (150, or the test's ``loans`` mark) imported the day before the experiment
    starts; the engine and the book's folder."""
    mark = request.node.get_closest_marker("loans")
    engine = make_engine(get_settings().resolved_database_url)
    generate_book(tmp_path / "book", loans=mark.args[0] if mark else 150, as_of=FIRST, seed=23, bad_rows=False)
    import_book(engine=engine, directory=tmp_path / "book")
    yield engine, tmp_path / "book"
    engine.dispose()


def _use_policy(monkeypatch, tmp_path: Path, experiment: dict) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARREARS_POLICY_PATH", str(policy_with(tmp_path, experiments=[experiment])))
    monkeypatch.setenv("ARREARS_DAILY_REPORT", "false")
    get_settings.cache_clear()


def _run(day: date) -> None:
    now = datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI)
    state = daily_collection(as_of=day, now=now, return_state=True)
    assert state.is_completed(), state.message


def _rows(engine, sql: str, **params):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_each_arm_is_planned_by_its_own_strategy_and_every_contact_records_its_arm(
    prefect_harness, book, tmp_path, monkeypatch
):
    engine, _ = book
    _use_policy(monkeypatch, tmp_path, _experiment("extra-sms", {"M1": {"any": [EXTRA]}}))
    _run(FIRST)
    _run(FIRST)  # a re-run assigns nobody again and plans nothing new
    _run(FIRST + timedelta(days=1))
    extra = _rows(engine, "SELECT DISTINCT arm FROM collection_action WHERE action = 'm1_extra_sms'")
    assert [r.arm for r in extra] == ["challenger"]  # only the challenger's ladder has it
    arms = _rows(engine, "SELECT arm, COUNT(*) AS n FROM collection_action GROUP BY arm")
    assert {r.arm for r in arms} == {"champion", "challenger"}
    for table in ("outbox_message", "letter", "call_task"):
        unstamped = _rows(engine, f"SELECT COUNT(*) FROM {table} t JOIN collection_action a ON a.key = t.key"  # noqa: S608
                                  " WHERE t.arm IS NULL OR t.arm <> a.arm")  # fmt: skip
        assert unstamped[0][0] == 0, table
    joined = _rows(engine, "SELECT ref, arm, joined_on FROM experiment_arm WHERE unit = 'loan'")
    assert len(joined) == len({r.ref for r in joined}) and {str(r.joined_on) for r in joined} <= {
        str(FIRST), str(FIRST + timedelta(days=1))
    }
    spec = load_policy(get_settings().policy_path).experiments[0]
    assert all(r.arm == spec.arm_for(r.ref) for r in joined)


def _respond_and_import(engine, folder: Path, day: date, rates: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    """Borrowers contacted on ``day`` pay, by their arm's response rate, on the next day."""
    sent = _rows(
        engine,
        "SELECT l.loan_no, m.arm, p.overdue_total FROM outbox_message m JOIN loan l ON l.id = m.loan_id"
        " JOIN position p ON p.loan_id = m.loan_id AND p.as_of = m.as_of"
        " WHERE m.as_of = :d AND m.status IN ('sent', 'delivered') AND m.arm IS NOT NULL",
        d=day,
    )
    owed = [(r.loan_no, r.arm, Decimal(r.overdue_total) / 100) for r in sent]
    paid = respond(owed, rates, day + timedelta(days=1), seed=5)
    if paid:
        with (folder / "payments.csv").open("a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, fieldnames=["loan_no", "paid_on", "amount", "reference"]).writerows(paid)
        import_book(engine=engine, directory=folder)


def _trial(engine, folder: Path, rates: dict[str, float], days: int = 5):  # type: ignore[no-untyped-def]
    for i in range(days):
        day = FIRST + timedelta(days=i)
        _run(day)
        _respond_and_import(engine, folder, day, rates)
    last = FIRST + timedelta(days=days)
    _run(last)
    policy = load_policy(get_settings().policy_path)
    with engine.connect() as conn:
        return results(conn, policy, get_settings(), policy.experiments[0], last)


# statistics over six days of the flow: the results' SQL runs on both databases in the tests above and below
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.loans(450)
def test_a_challenger_whose_borrowers_truly_pay_more_is_shown_ahead_and_a_twin_of_the_champion_is_not(
    prefect_harness, book, tmp_path, monkeypatch
):
    """Three arms on one book: the challenger's borrowers answer contact seven times as often; the
    twin runs the champion's strategy with the champion's response (an A/A test inside the A/B)."""
    engine, folder = book
    _use_policy(monkeypatch, tmp_path, _experiment("ab", weights=(34, 33, 33)))
    result = _trial(engine, folder, {"champion": 0.1, "challenger": 0.7, "twin": 0.1})
    champion, challenger, twin = result.arms
    assert challenger.rate("cure rate") > champion.rate("cure rate")
    ahead, aa = (c.measures for c in result.comparisons)
    assert ahead["cure rate"].significant and ahead["cure rate"].low > 0
    assert result.verdicts[0].startswith("challenger vs champion: ahead on cure rate by +")
    assert challenger.contacts.get("sms", 0) > 0 and challenger.cost_per_recovered is not None
    assert not aa["cure rate"].significant and not aa["recovery rate"].significant
    assert result.verdicts[1].startswith("twin vs champion: ")
    assert "not yet significant on cure rate" in result.verdicts[1]


def test_stopping_with_a_promotion_plans_everyone_by_that_arm_and_counts_nobody_more(
    prefect_harness, book, tmp_path, monkeypatch
):
    engine, _ = book
    _use_policy(monkeypatch, tmp_path, _experiment("promo", {"M1": {"any": [EXTRA]}}))
    _run(FIRST)
    runner = CliRunner()
    assert "challenger" in runner.invoke(app, ["experiments", "list"]).output
    shown = runner.invoke(app, ["experiments", "show", "promo", "--as-of", str(FIRST)])
    assert shown.exit_code == 0 and "challenger vs champion" in shown.output
    stop = runner.invoke(app, ["experiments", "stop", "promo", "--promote", "nobody", "--on", str(FIRST)])
    assert stop.exit_code == 2 and "promo has no arm 'nobody'" in stop.output
    stop = runner.invoke(
        app, ["experiments", "stop", "promo", "--promote", "challenger", "--on", str(FIRST + timedelta(days=1))]
    )
    assert stop.exit_code == 0 and "challenger plans every loan from now on" in stop.output
    joined = len(_rows(engine, "SELECT id FROM experiment_arm"))
    _run(FIRST + timedelta(days=1))
    day2 = _rows(engine, "SELECT action, arm FROM collection_action WHERE as_of = :d", d=FIRST + timedelta(days=1))
    assert {r.arm for r in day2} == {None} and "m1_extra_sms" in {r.action for r in day2}
    assert len(_rows(engine, "SELECT id FROM experiment_arm")) == joined
