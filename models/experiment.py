"""Champion/challenger experiments: which arm each loan and borrower is in (from the day it joined),
and an experiment stopped by hand (with the arm it promoted)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime


# A loan's or a borrower's arm in an experiment, kept while the experiment runs.
class ExperimentArm(SQLModel, table=True):
    __tablename__ = "experiment_arm"
    __table_args__ = (UniqueConstraint("experiment", "unit", "ref", name="uq_experiment_arm_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment: str = Field(max_length=64, index=True)
    unit: str = Field(max_length=8)  # loan | borrower
    ref: str = Field(max_length=64)  # loan number or borrower id
    arm: str = Field(max_length=32)
    joined_on: date


# `arrears experiments stop NAME [--promote ARM]`: from `stopped_on` nobody joins, and every loan is
# planned by the promoted arm's strategy (or the champion's).
class ExperimentStop(SQLModel, table=True):
    __tablename__ = "experiment_stop"

    experiment: str = Field(primary_key=True, max_length=64)
    stopped_on: date
    promoted_arm: str | None = Field(default=None, max_length=32)
    stopped_by: str = Field(max_length=64)
    at: datetime = Field(sa_type=AwareDateTime)
