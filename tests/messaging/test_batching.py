"""Emails that share a body shape go out as one SendGrid request, never changing a word."""

from __future__ import annotations

from dataclasses import replace

from arrears.messaging.batching import Mergeable, batch, fill
from arrears.messaging.checks import SAMPLE_LENDER
from arrears.messaging.content import sample_facts
from arrears.messaging.render import merge_fields, render


def _email(locale: str = "zh_CN", **changes) -> Mergeable:  # type: ignore[no-untyped-def]
    m = replace(sample_facts(locale), **changes)
    r = render("email", "m1_gentle", m, SAMPLE_LENDER)
    return Mergeable(r.subject or "", r.text, r.html or "", merge_fields(m))


def test_same_template_different_values_share_one_request():
    msgs = [_email(borrower_name=n, dpd=d) for n, d in (("张伟", 3), ("李娜", 17), ("王芳", 29))]
    ((idx, shared),) = batch(msgs)
    assert idx == [0, 1, 2]
    for m, subs in zip(msgs, shared.substitutions, strict=True):
        assert fill(shared.text, {k.removeprefix("-arrears_").removesuffix("-"): v for k, v in subs.items()}) == m.text


def test_a_value_that_html_escaping_changes_is_sent_alone():
    msgs = [
        _email("en_US", borrower_name="Ann Lee"),
        _email("en_US", borrower_name="Bob Wu"),
        _email("en_US", borrower_name="Dan O'Brien"),
    ]
    groups = batch(msgs)
    assert ([0, 1], True) in [(i, s is not None) for i, s in groups]
    assert ([2], False) in [(i, s is not None) for i, s in groups]


def test_batches_hold_at_most_the_limit():
    msgs = [_email(borrower_name=f"借款人{i}") for i in range(5)]
    assert [len(i) for i, _ in batch(msgs, limit=2)] == [2, 2, 1]
