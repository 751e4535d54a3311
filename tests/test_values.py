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


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("There are two more presidential debates on the calendar.", "increment, not a total"),
        ("Three of the senators voted no.", "part of a group"),
        ("The first three speakers were cheered.", "part of a sequence"),
        ("It passed in a 396-9 vote.", "tally"),
        ("It passed on a 52 to 47 vote.", "tally"),
        ("He gave his party a two-in-three chance of holding the House.", "ratio"),
        ("There is a 2 in 3 chance that we win.", "ratio"),
        ("The measure known as Amendment 64 was approved by voters.", "identifier"),
        ("Slaves were counted as three fifths of all other persons.", "fraction"),
        ("He won his third term in Congress.", "ordinal"),
        ("Prices went from 5 to 10 dollars.", "a change, not a range"),
    ],
)
def test_not_counts(nlp, text: str, why: str) -> None:  # type: ignore[no-untyped-def]
    assert [v for v in _values(nlp, text) if v.kind in ("count", "number")] == [], why


@pytest.mark.parametrize(
    ("text", "normalized", "low", "high", "unit", "head"),
    [
        ("He signed nearly two-dozen executive actions.", "24", 20.4, 24, "action", "action"),
        ("Between 5 and 10 people were hurt.", "7.5", 5, 10, "people", "people"),
        ("Five to seven people were hurt.", "6", 5, 7, "people", "people"),
        ("Dozens of protesters gathered.", "dozens", 24, float("inf"), "protester", "protester"),
        ("Three Republican state senators objected.", "3", 3, 3, "state senator", "senator"),
        ("They signed the 12-nation Pacific trade deal.", "12", 12, 12, "nation", "deal"),
        ("A task force released a 1125-page report.", "1125", 1125, 1125, "page", "report"),
    ],
)
def test_count_shapes(  # type: ignore[no-untyped-def]
    nlp, text: str, normalized: str, low: float, high: float, unit: str, head: str
) -> None:
    (v,) = [v for v in _values(nlp, text) if v.kind == "count"]
    assert (v.normalized, v.unit, v.head) == (normalized, unit, head)
    assert v.low == pytest.approx(low) and v.high == pytest.approx(high)
    assert text[v.start : v.end] == v.text


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("Dozens of protesters gathered.", "Some 60 protesters gathered.", True),
        ("Dozens of protesters gathered.", "Twelve protesters gathered.", False),
        ("Five to seven people were hurt.", "Six people were hurt.", True),
        ("Five to seven people were hurt.", "Nine people were hurt.", False),
    ],
)
def test_vague_and_range_agreement(nlp, a: str, b: str, agree: bool) -> None:  # type: ignore[no-untyped-def]
    (va,) = [v for v in _values(nlp, a) if v.kind == "count"]
    (vb,) = [v for v in _values(nlp, b) if v.kind == "count"]
    assert values_agree(va, vb) is agree


@pytest.mark.parametrize(("words", "number"), [(["two", "dozen"], 24), (["three", "hundred"], 300)])
def test_multipliers(words: list[str], number: float) -> None:
    assert parse_number(words) == number


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


@pytest.mark.parametrize(
    ("text", "normalized", "unit"),
    [
        ("The quake left more than 31, 000 people dead.", "31000", "people"),
        ("Reports said about 2, 000 people marched.", "2000", "people"),
        ("A 6. 7 - strength quake hit the city.", "6.7", "strength quake"),
        ("Authorities say the 36-year-old LaSalle was driving.", "age 36", "age"),
        ("A 61-year-old man was charged with murder.", "age 61", "age"),
    ],
)
def test_tokenised_numbers_and_ages(nlp, text: str, normalized: str, unit: str) -> None:  # type: ignore[no-untyped-def]
    """Numbers a tokenised corpus spaced out ("31, 000", "6. 7") are one number; "N-year-old" is
    an age, comparable with "Rahman, 36", not a duration in days."""
    found = [v for v in _values(nlp, text) if v.kind in ("count", "number")]
    assert [(v.normalized, v.unit) for v in found] == [(normalized, unit)]
    assert text[found[0].start : found[0].end] == found[0].text


def test_a_date_before_a_count_is_not_a_thousands_separator(nlp) -> None:  # type: ignore[no-untyped-def]
    counts = [v for v in _values(nlp, "On March 5, 200 people were arrested.") if v.kind == "count"]
    assert [v.normalized for v in counts] == ["200"]


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("At least 544 store managers sued.", "At least 1,632 store managers sued.", False),
        ("More than 26,000 people died.", "More than 31,000 people died.", False),
        ("More than 2,000 people died.", "More than 2,000 people died.", True),
        ("Up to 50 people were hurt.", "Up to 90 people were hurt.", False),
        ("More than 100 people attended.", "Exactly 150 people attended.", True),
        ("Dozens of protesters gathered.", "Hundreds of protesters gathered.", True),
    ],
)
def test_bounds_of_one_direction_compare_their_figures(nlp, a: str, b: str, agree: bool) -> None:  # type: ignore[no-untyped-def]
    """Two lower (or upper) bounds state a figure each: "at least 544" and "at least 1,632" give
    different counts of one thing, while one bound and one exact figure inside it agree."""
    (va,) = [v for v in _values(nlp, a) if v.kind == "count"]
    (vb,) = [v for v in _values(nlp, b) if v.kind == "count"]
    assert values_agree(va, vb) is agree
    assert values_agree(vb, va) is agree


def test_day_of_month_without_a_year(nlp) -> None:  # type: ignore[no-untyped-def]
    """An undated article's "October 28" is a day of a month in an unknown year: it disagrees
    with "October 9" and is not compared with a year or a month."""
    (a,) = [v for v in _values(nlp, "The trial was set for October 28.") if v.kind == "date"]
    (b,) = [v for v in _values(nlp, "The trial was set for October 9.") if v.kind == "date"]
    assert (a.normalized, b.normalized) == ("XXXX-10-28", "XXXX-10-09")
    assert values_agree(a, b) is False and values_agree(a, a) is True
    (year,) = [v for v in _values(nlp, "The trial was set for 2013.") if v.kind == "date"]
    assert values_agree(a, year) is None
