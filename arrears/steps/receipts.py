"""Receipts that come by mail: the delivery status notifications (DSNs) a lender's mail server
leaves in a mailbox for the messages Arrears sent over SMTP (``arrears bounces read``)."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from arrears.providers.dsn import NotADsn, parse_dsn
from arrears.store.events import apply_receipt


@dataclass
class MailboxRead:
    messages: int = 0  # read from the mailbox
    receipts: int = 0  # recipient reports recorded (a replay counts nothing)
    not_dsn: int = 0  # other mail, left where it was


def read_maildir(engine: Engine, folder: Path, now: datetime) -> MailboxRead:
    """Apply each new DSN of a Maildir (``new/``) once, then file it under ``cur/`` (seen); mail that is
    not a DSN stays unread for a person. Safe to run again: receipts are recorded once."""
    box = mailbox.Maildir(folder, create=False)
    out = MailboxRead()
    for key in list(box.iterkeys()):
        msg = box[key]
        if msg.get_subdir() != "new":
            continue
        out.messages += 1
        try:
            receipts = parse_dsn(msg.as_bytes(), now)
        except NotADsn:
            out.not_dsn += 1
            continue
        with engine.begin() as conn:
            out.receipts += sum(apply_receipt(conn, r, now) for r in receipts)
        msg.set_subdir("cur")
        msg.add_flag("S")
        box[key] = msg
    return out
