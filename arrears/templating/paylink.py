"""Pay-now links: ``ARREARS_LENDER_PAY_URL`` with the loan's reference and the amount, signed with
``ARREARS_PAY_LINK_KEY`` (HMAC-SHA256) so a borrower's link cannot be altered into another loan or
another amount. The lender's payment page checks the signature with ``verify_pay_link``. Without a
key the links are the plain payment URL."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit


def pay_signature(key: str, loan_no: str, amount: Decimal) -> str:
    message = f"{loan_no}|{Decimal(amount).quantize(Decimal('0.01'))}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def pay_link(pay_url: str, key: str, loan_no: str, amount: Decimal) -> str:
    """``https://pay.anxin.example?loan=LN00000042&amount=1551.76&sig=…`` (or ``pay_url`` without a key)."""
    if not key:
        return pay_url
    amount = Decimal(amount).quantize(Decimal("0.01"))
    query = urlencode({"loan": loan_no, "amount": str(amount), "sig": pay_signature(key, loan_no, amount)})
    return f"{pay_url}{'&' if '?' in pay_url else '?'}{query}"


def verify_pay_link(key: str, url: str) -> tuple[str, Decimal] | None:
    """The loan and amount a link was signed for, or None when it was altered or is not one of ours."""
    query = parse_qs(urlsplit(url).query)
    try:
        loan_no, amount, sig = query["loan"][0], Decimal(query["amount"][0]), query["sig"][0]
    except (KeyError, IndexError, ArithmeticError):
        return None
    return (loan_no, amount) if hmac.compare_digest(sig, pay_signature(key, loan_no, amount)) else None
