"""Tests of parallax.values: extraction, heads, tolerance bands and agreement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parallax.values import Value, extract_values, parse_number, values_agree


def _values(nlp, text: str) -> list[Value]:  # type: ignore[no-untyped-def]
    return extract_values(nlp(text))


@pytest.mark.parametrize(
    ("words", "number"),
    [
        (["5,012"], 5012),
        (["1.5", "million"], 1.5e6),
        (["twenty", "five"], 25),
        (["a", "dozen"], 12),
        (["3k"], 3000),
    ],
)
def test_parse_number(words: list[str], number: float) -> None:
    assert parse_number(words) == pytest.approx(number)


@pytest.mark.parametrize(
    ("text", "kind", "normalized", "head"),
    [
        ("Biden has been accused by two women of acting inappropriately.", "count", "2", "woman"),
        ("Biden grabbed her during an October 2009 fundraiser.", "date", "2009-10", "fundraiser"),
        ("Prices rose 12 percent last year.", "percent", "12%", "rise"),
        ("The company paid $1.5 million in fines.", "money", "USD 1500000", "pay"),
        ("About 5,000 people attended the rally.", "count", "5000", "people"),
    ],
)
def test_extraction(nlp, text: str, kind: str, normalized: str, head: str) -> None:  # type: ignore[no-untyped-def]
    found = [v for v in _values(nlp, text) if v.kind == kind]
    assert found, _values(nlp, text)
    v = found[0]
    assert (v.normalized, v.head) == (normalized, head)
    assert text[v.start : v.end] == v.text


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("About 5,000 people attended the rally.", "Exactly 5,012 people attended the rally.", True),
        ("Some 5,000 people attended the rally.", "Nearly 9,000 people attended the rally.", False),
        ("More than 100 people attended the rally.", "Exactly 150 people attended the rally.", True),
        ("The storm moved 10 miles inland.", "The storm moved 16.1 kilometers inland.", True),
        ("The storm moved 10 miles inland.", "The storm moved 30 kilometers inland.", False),
        ("Prices rose 12 percent.", "Prices rose 12.4 percent.", True),
        ("Prices rose 12 percent.", "Prices rose 19 percent.", False),
    ],
)
def test_values_agree(nlp, a: str, b: str, agree: bool) -> None:  # type: ignore[no-untyped-def]
    va = next(v for v in _values(nlp, a) if v.kind != "place")
    vb = next(v for v in _values(nlp, b) if v.kind != "place")
    assert values_agree(va, vb) is agree
    assert values_agree(vb, va) is agree


def test_currencies_are_not_compared(nlp) -> None:  # type: ignore[no-untyped-def]
    (usd,) = [v for v in _values(nlp, "They paid $5 million.") if v.kind == "money"]
    (eur,) = [v for v in _values(nlp, "They paid 5 million euros.") if v.kind == "money"]
    assert values_agree(usd, eur) is None


@given(st.integers(min_value=1, max_value=10**9), st.floats(min_value=0.5, max_value=2.0))
def test_agreement_is_symmetric_and_reflexive(n: int, factor: float) -> None:
    a = Value(kind="number", text=str(n), start=0, end=1, normalized=str(n), amount=n, low=n, high=n)
    m = n * factor
    b = Value(
        kind="number", text=str(m), start=0, end=1, normalized=str(m), amount=m, low=m * 0.9, high=m * 1.1
    )
    assert values_agree(a, a) is True
    assert values_agree(a, b) == values_agree(b, a)
