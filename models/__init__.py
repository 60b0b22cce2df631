"""What Arrears stores: one module per aggregate. Importing this package registers every table."""

from sqlmodel import SQLModel

from models.action import CollectionAction
from models.audit import ExportAudit
from models.borrower import Borrower, Contact
from models.case import (
    CallTask,
    CaseEvent,
    CollectionCase,
    Dispute,
    Hardship,
    HardshipInstallment,
    LegalCase,
    LegalTask,
    Promise,
    StageChange,
)
from models.experiment import ExperimentArm, ExperimentStop
from models.guard import BorrowerFlag, ContactDecision, Conversation
from models.imports import ImportRun, QuarantinedRow
from models.letter import Letter
from models.loan import Installment, Loan, Payment
from models.message import MessageEvent, OutboxMessage, Suppression
from models.position import Position
from models.run import CollectionRun, RunLease, SendSlot

metadata = SQLModel.metadata

__all__ = [
    "BorrowerFlag",
    "ContactDecision",
    "Conversation",
    "CallTask",
    "CaseEvent",
    "CollectionCase",
    "Dispute",
    "Hardship",
    "HardshipInstallment",
    "LegalCase",
    "LegalTask",
    "Promise",
    "StageChange",
    "Borrower",
    "CollectionAction",
    "CollectionRun",
    "ExperimentArm",
    "ExperimentStop",
    "ExportAudit",
    "Contact",
    "ImportRun",
    "Installment",
    "Letter",
    "Loan",
    "MessageEvent",
    "OutboxMessage",
    "Payment",
    "Position",
    "QuarantinedRow",
    "RunLease",
    "SendSlot",
    "Suppression",
    "metadata",
]
