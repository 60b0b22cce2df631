"""Configuration a person got wrong: a policy with a typo, a wrong type, a negative number, a missing
template; settings out of range; missing or malformed keys and credentials. Each is told in one
line naming the setting or key, the command exits 2, and nothing is half-done (no run recorded)."""

from __future__ import annotations

import sys

import pytest
import yaml
from sqlalchemy import text

from arrears.cli import main
from arrears.db import make_engine
from arrears.policy import DEFAULT_POLICY_PATH
from arrears.settings import get_settings


def _policy(tmp_path, change) -> str:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _typo(d: dict) -> None:
    d["strategy"]["M1"]["any"][0]["chanel"] = d["strategy"]["M1"]["any"][0].pop("channel")


def _wrong_type(d: dict) -> None:
    d["messages"]["deadline_days"] = "a week"


def _negative(d: dict) -> None:
    d["guard"]["max_defer_days"] = -3


def _missing_template(d: dict) -> None:
    d["strategy"]["M1"]["any"][0]["template"] = "m1_nonexistent"


CASES = [
    ("policy typo", {"policy": _typo}, "strategy.M1.any[0].chanel: Extra inputs are not permitted"),
    ("policy wrong type", {"policy": _wrong_type}, "messages.deadline_days"),
    ("policy negative", {"policy": _negative}, "guard.max_defer_days"),
    ("policy missing template", {"policy": _missing_template}, "sms/zh_CN/m1_nonexistent"),
    ("negative rate", {"ARREARS_SMS_RATE_PER_S": "-1"}, "sms_rate_per_s"),
    ("unknown timezone", {"ARREARS_LENDER_TIMEZONE": "Mars/Olympus"}, "lender_timezone"),
    ("not a number", {"ARREARS_BATCH_SIZE": "lots"}, "batch_size"),
    ("bad data key", {"ARREARS_DATA_KEYS": "not-a-fernet-key", "command": "keys rotate"},
     "ARREARS_DATA_KEYS must hold Fernet keys"),
    ("unknown provider", {"ARREARS_SMS_PROVIDER": "pigeon"}, "sms_provider"),
    ("route to a wrong channel", {"ARREARS_SMS_ROUTES": '{"+86": "smtp"}'}, "sms_routes"),
    ("missing credentials", {"ARREARS_SMS_PROVIDER": "aliyun", "ARREARS_ALIYUN_ACCESS_KEY_ID": ""},
     "ARREARS_ALIYUN_ACCESS_KEY_ID"),
    ("a logo that is not there", {"ARREARS_LENDER_LOGO": "/nonexistent/logo.png"}, "lender_logo"),
]  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("case", "change", "named"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_setting_is_told_in_one_line_naming_it_and_nothing_runs(
    case, change, named, settings_env, tmp_path, monkeypatch, capsys
):
    command = change.get("command", "run --as-of 2026-11-23 --here").split()
    for key, value in change.items():
        if key == "command":
            continue
        if key == "policy":
            monkeypatch.setenv("ARREARS_POLICY_PATH", _policy(tmp_path, value))
        else:
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    monkeypatch.setattr(sys, "argv", ["arrears", *command])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert err.startswith("error: ") and named in err and "Traceback" not in err
    with make_engine(settings_env).connect() as conn:  # nothing half-done
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'collection_run'")).all()
        if tables:
            assert conn.execute(text("SELECT COUNT(*) FROM collection_run")).scalar_one() == 0
