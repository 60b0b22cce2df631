"""Borrowers: existence, look-up by phone or by the keyed hash of an ID number, and the stored
ciphertexts that key rotation re-encrypts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def borrower_known(conn: Connection, borrower_id: str) -> bool:
    return conn.execute(text("SELECT 1 FROM borrower WHERE borrower_id = :b"), {"b": borrower_id}).first() is not None


def borrowers_with_phone(conn: Connection, phone: str) -> list[str]:
    rows = conn.execute(text("SELECT borrower_id FROM borrower WHERE phone = :p"), {"p": phone})
    return [r[0] for r in rows]


def borrowers_by_id_hash(conn: Connection, digest: str) -> list[Any]:
    """(borrower_id, name, masked id_number) of the borrowers whose ID number has this look-up hash."""
    return list(
        conn.execute(text("SELECT borrower_id, name, id_number FROM borrower WHERE id_number_hash = :h"), {"h": digest})
    )


def encrypted_ids(conn: Connection) -> list[Any]:
    """(borrower_id, id_number_enc) of every borrower with a stored ciphertext."""
    return list(conn.execute(text("SELECT borrower_id, id_number_enc FROM borrower WHERE id_number_enc IS NOT NULL")))


def set_encrypted_id(conn: Connection, borrower_id: str, token: str) -> None:
    conn.execute(
        text("UPDATE borrower SET id_number_enc = :e WHERE borrower_id = :b"), {"e": token, "b": borrower_id}
    )
