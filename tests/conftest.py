"""Fixtures give real things: a fresh SQLite file or a fresh schema on the local
PostgreSQL (every database test runs on both), and Prefect's test harness, started
once per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, text

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
# ID numbers are encrypted at rest: the suite makes its own keys, none live in the repo
if not os.environ.get("ARREARS_DATA_KEYS"):
    from cryptography.fernet import Fernet

    os.environ["ARREARS_DATA_KEYS"] = Fernet.generate_key().decode()
    os.environ["ARREARS_LOOKUP_KEY"] = Fernet.generate_key().decode()

from arrears.db import make_engine, upgrade  # noqa: E402
from arrears.settings import get_settings  # noqa: E402

if TYPE_CHECKING:
    from arrears.fakeprovider import FakeProviders
    from arrears.forkserver import ForkServer

POSTGRES_URL = os.environ.get("ARREARS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(
            POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), connect_args={"connect_timeout": 3}
        )
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as err:  # noqa: BLE001 - any failure means: not reachable
        return str(err).splitlines()[0]


_PG_PROBLEM = _postgres_reachable()
if _PG_PROBLEM and os.environ.get("ARREARS_REQUIRE_POSTGRES") == "1":
    raise RuntimeError(f"PostgreSQL at {POSTGRES_URL} is required (ARREARS_REQUIRE_POSTGRES=1): {_PG_PROBLEM}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL to an empty database: a new SQLite file, or a new schema on PostgreSQL."""
    yield from empty_database(request.param, tmp_path_factory)


def empty_database(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield a URL to an empty SQLite file or PostgreSQL schema (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'arrears.db'}"
        return
    if _PG_PROBLEM:
        pytest.skip(f"PostgreSQL not reachable: {_PG_PROBLEM}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def fresh_db(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database with the schema migrated to head."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings_env(db_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """ARREARS_* pointing at the test database (what the CLI and flows read at their edge)."""
    monkeypatch.setenv("ARREARS_DATABASE_URL", db_url)
    monkeypatch.setenv("ARREARS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ARREARS_WORKERS", "1")  # in-process; the classify pool has its own test
    monkeypatch.setenv("ARREARS_BATCH_SIZE", "100")
    monkeypatch.setenv("ARREARS_LETTER_WORKERS", "1")  # in-process; the pool has its own test
    monkeypatch.setenv("ARREARS_DAILY_REPORT", "false")  # the report has its own tests (it costs seconds a run)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real (temporary) Prefect server for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def fork_server(prefect_harness) -> Iterator[ForkServer]:  # type: ignore[no-untyped-def]
    """``arrears`` commands in processes of their own, forked from one that imported the CLI once."""
    from prefect.settings import PREFECT_API_URL

    from arrears.forkserver import ForkServer

    with ForkServer({**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}) as server:
        yield server


@pytest.fixture
def providers(settings_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    """The fake Twilio + SendGrid on 127.0.0.1 and the real webhook app they call back,
    with ARREARS_* pointing the SDKs at the fake (fast retries for tests)."""
    from arrears.fakeprovider.server import LocalProviders

    engine = make_engine(settings_env)
    upgrade(engine)
    local = LocalProviders(engine).start()
    env = {
        **local.env(),
        "ARREARS_SMS_RATE_PER_S": "0",
        "ARREARS_EMAIL_RATE_PER_S": "0",
        "ARREARS_ALIYUN_RATE_PER_S": "0",
        "ARREARS_SMTP_RATE_PER_S": "0",
        "ARREARS_RETRY_BASE_S": "0.05",
        "ARREARS_RETRY_MAX_S": "0.5",
        "ARREARS_LOOKUP_DELAY_S": "0.1",
        "ARREARS_PROVIDER_TIMEOUT_S": "2",
        "ARREARS_LEASE_TTL_S": "3",  # a killed run is taken for gone within seconds
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    fake = local.fake
    fake.webhooks = local.webhooks  # type: ignore[attr-defined]
    yield fake
    local.stop()
    engine.dispose()


# Run longest first, so the two pytest workers (scripts/test.sh) finish together.
LONGEST_FIRST = (
    "tests/flows/test_operations_e2e.py",
    "tests/cases/test_story.py",
    "tests/letters/test_letters_day.py",
    "tests/messaging/test_day_of_reminders.py",
)


STORY_MODULES = ("tests/cases/test_story.py",)  # the module fixture of tests/cases/conftest.py


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first; the story's tests share one module fixture per database, so each
    database's story stays on one pytest worker (``--dist loadgroup``)."""

    def rank(item: pytest.Item) -> tuple[int, str]:
        path = item.nodeid.split("::")[0]
        # a story's tests one database after the other: switching back and forth between the
        # module fixture's params would build each story again
        story = item.callspec.id if path in STORY_MODULES else ""  # type: ignore[attr-defined]
        return (LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)), story

    items.sort(key=rank)
    for item in items:
        if item.nodeid.split("::")[0] in STORY_MODULES:
            item.add_marker(pytest.mark.xdist_group(f"story-{item.callspec.id}"))  # type: ignore[attr-defined]
