"""The story of six loans, run once per database for the tests of ``test_story.py``: cases end to
end over simulated days, through the real flow, CLI, providers and database.

One small book, one loan per story, run on the same days (2026-08-03 .. 2026-10-31):

* LN-NEVER   never pays: gentle -> firm -> letter -> final -> escalation to legal
* LN-KEPT    promises on day 2 of arrears and keeps it: the ladder stops
* LN-BROKEN  breaks two promises: a higher risk grade (a faster ladder), then legal
* LN-DISPUTE disputes on day 2: everything held until the dispute is resolved
* LN-PAYDAY  pays in full on the morning of its letter day: no letter, calls cancelled
* LN-PLAN    gets a hardship repayment plan: DPD restarts from the plan's schedule
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from arrears.cli import app
from arrears.db import make_engine, upgrade
from arrears.settings import get_settings
from arrears.steps.importing import import_book
from tests.conftest import empty_database
from tests.factories import policy_file, write_book

DAYS = ["2026-08-03", "2026-08-07", "2026-08-09", "2026-09-01", "2026-10-01", "2026-10-31"]
LOANS = ["NEVER", "KEPT", "BROKEN", "DISPUTE", "PAYDAY", "PLAN"]


def story_book(directory: Path, payments: list[str]) -> Path:
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


def cli(*args: str) -> str:
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
            import_book(engine=engine, directory=story_book(tmp / "book", payments))
            run("2026-08-03")
            cli(
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
            cli("ptp", "add", "LN-BROKEN", "--amount", "500.00", "--date", "2026-08-05", "--on", "2026-08-03")
            cli("dispute", "open", "LN-DISPUTE", "--reason", "says the loan was repaid in cash", "--on", "2026-08-03")
            plan = tmp / "plan.csv"
            plan.write_text(
                "seq,due_date,principal_due,interest_due,fee_due\n1,2026-09-15,1600.00,0.00,0\n"
                "2,2026-10-15,1600.00,0.00,0\n"
            )
            cli(
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
            outputs["calls"] = cli("calls", "--as-of", "2026-08-07")
            cli("ptp", "add", "LN-BROKEN", "--amount", "500.00", "--date", "2026-08-08", "--on", "2026-08-07")
            with engine.connect() as conn:
                call_id = conn.execute(
                    text("SELECT k.id FROM call_task k JOIN loan l ON l.id = k.loan_id WHERE l.loan_no = 'LN-NEVER'")
                ).scalar_one()
            cli("calls", "log", str(call_id), "--outcome", "no_answer", "--note", "rang 8 times")
            payments.append("LN-KEPT,2026-08-08,3200.00,PAY-KEPT")
            import_book(engine=engine, directory=story_book(tmp / "book", payments))
            run("2026-08-09")
            outputs["case_broken"] = cli("case", "LN-BROKEN", "--as-of", "2026-08-09")
            payments.append("LN-PAYDAY,2026-09-01,4000.00,PAY-PAYDAY")  # the morning of its letter day
            import_book(engine=engine, directory=story_book(tmp / "book", payments))
            run("2026-09-01")
            cli(
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
            outputs["case_never"] = cli("case", "LN-NEVER", "--as-of", "2026-10-31")
            outputs["legal_list"] = cli("legal", "list")
            exported = tmp / "handoff"
            outputs["export"] = cli("legal", "export", "--out", str(exported))
            outputs["unmasked"] = cli(
                "legal", "export", "LC-20261031-LN-NEVER", "--out", str(tmp / "filing"), "--unmasked",
                "--reason", "claim filing by 上海明理律师事务所", "--by", "zhao.min",
            )  # fmt: skip
            refused = CliRunner().invoke(app, ["legal", "export", "--out", str(tmp / "refused"), "--unmasked"])
            outputs["refused"] = f"{refused.exit_code} {refused.output}"
            yield Story(engine, exported, outputs)
        get_settings.cache_clear()
        local.stop()
        engine.dispose()

