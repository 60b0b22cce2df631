"""Runs: a daily collection run (its day, its Prefect flow run, its summary counts), and the lease
every run that sends holds while it lives."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class CollectionRun(SQLModel, table=True):
    __tablename__ = "collection_run"

    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(index=True)
    flow_run_id: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    status: str = Field(default="running", max_length=16)  # running | completed | failed | crashed
    summary: str | None = None  # JSON counts, written at the end
    lease_id: int | None = None  # the run's lease (see RunLease): gone with no finish = crashed
    crash_found_at: datetime | None = Field(default=None, sa_type=AwareDateTime)  # when a later run found it
    policy_hash: str | None = Field(default=None, max_length=64)  # the policy it ran with (incremental days)


# A live run's claim on what it is sending: renewed by a heartbeat while the process lives. A message
# in `sending` is reconciled only once its lease is released or its heartbeat is older than the TTL.
class RunLease(SQLModel, table=True):
    __tablename__ = "run_lease"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # daily | dispatch
    holder: str = Field(max_length=200)  # host:pid of the process
    flow_run_id: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(sa_type=AwareDateTime)
    heartbeat_at: datetime = Field(sa_type=AwareDateTime)
    released_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


# One run at a time sends through a provider, across processes and machines: the provider's rate is
# the provider's, not each run's. A run holds the row (under its lease) while any of its send tasks
# uses the provider; a run whose lease is gone (released, or silent past the TTL) holds it no more.
class SendSlot(SQLModel, table=True):
    __tablename__ = "send_slot"

    provider: str = Field(primary_key=True, max_length=16)
    lease_id: int | None = None
    held_since: datetime | None = Field(default=None, sa_type=AwareDateTime)
