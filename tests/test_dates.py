"""Tests of parallax.dates: rules, anchoring, granularity comparison."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parallax.dates import calendar_start, dates_agree, find_timexes, granularity_of

ANCHOR = dt.date(2019, 4, 1)  # a Monday


def _one(text: str, anchor: dt.date | None = ANCHOR) -> tuple[str, str | None, bool]:
    found = find_timexes(text, anchor=anchor)
    assert len(found) == 1, found
    t = found[0]
    assert text[t.start : t.end] == t.text
    return t.text, t.value, t.resolved


@pytest.mark.parametrize(
    ("text", "span", "value"),
    [
        ("It came Friday in a piece.", "Friday", "2019-03-29"),
        ("She spoke on Monday.", "Monday", "2019-04-01"),
        ("He left last Monday.", "last Monday", "2019-03-25"),
        ("He will speak Friday.", "Friday", "2019-04-05"),
        ("It happened last week.", "last week", "2019-W13"),
        ("It happened yesterday.", "yesterday", "2019-03-31"),
        ("Sales fell last month.", "last month", "2019-03"),
        ("It was in October of that year.", "October", "2018-10"),
        ("during an October 2009 fundraiser", "October 2009", "2009-10"),
        ("a rally in early November 2014, when", "early November 2014", "2014-11"),
        ("on Capitol Hill September 27, 2018 in Washington", "September 27, 2018", "2018-09-27"),
        ("on 27 September 2018 in", "27 September 2018", "2018-09-27"),
        ("music of the 1990s was", "the 1990s", "199"),
        ("a 2009 fundraiser", "2009", "2009"),
        ("five years ago", "five years ago", "2014"),
        ("for two years", "two years", "P2Y"),
        ("the third quarter", "the third quarter", "2019-Q3"),
        ("Report dated 2018-06-05.", "2018-06-05", "2018-06-05"),
    ],
)
def test_rules_with_anchor(text: str, span: str, value: str) -> None:
    assert _one(text)[:2] == (span, value)


@pytest.mark.parametrize("text", ["It came Friday.", "It happened last week.", "on Monday", "in October"])
def test_relative_dates_stay_relative_without_anchor(text: str) -> None:
    found = find_timexes(text, anchor=None)
    assert len(found) == 1
    assert found[0].value is None and not found[0].resolved


@pytest.mark.parametrize(
    "text",
    [
        "It may rain.",
        "He paid $2019 for it.",
        "2,009 people came.",
        "It rose 2019 percent.",
        "a 6-year-old boy",
    ],
)
def test_no_false_dates(text: str) -> None:
    assert [t for t in find_timexes(text, anchor=ANCHOR) if t.kind in ("DATE", "TIME")] == []


def test_doc_adds_entities_and_uses_tense(nlp) -> None:  # type: ignore[no-untyped-def]
    from spacy.tokens import Span

    doc = nlp("The president will visit on Friday. He arrived on Thanksgiving Day.")
    doc.ents = [Span(doc, len(doc) - 3, len(doc) - 1, label="DATE")]  # set by hand: model-independent
    found = find_timexes(doc, anchor=ANCHOR)
    values = {t.text: t.value for t in found}
    assert values["Friday"] == "2019-04-05"
    assert any("Thanksgiving" in t.text and t.value is None for t in found)


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("2014", "2014-11", True),
        ("2014-11", "2014-11-05", True),
        ("2009", "2019", False),
        ("2009-10", "2019", False),
        ("2014-10", "2014-11", False),
        ("199", "1995", True),
        ("2019-W13", "2019-03-29", True),
        ("2019-W13", "2019-04-05", False),
        ("PAST_REF", "2019", None),
        ("P1W", "2019", None),
    ],
)
def test_dates_agree(a: str, b: str, agree: bool | None) -> None:
    assert dates_agree(a, b) is agree
    assert dates_agree(b, a) is agree


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_day_agrees_with_its_month_and_year(day: dt.date) -> None:
    iso = day.isoformat()
    assert dates_agree(iso, iso[:7]) and dates_agree(iso, iso[:4]) and dates_agree(iso, iso[:3])
    assert granularity_of(iso) == "day" and calendar_start(iso[:7]) == day.replace(day=1)


@given(st.dates(min_value=dt.date(1950, 1, 8), max_value=dt.date(2090, 12, 31)), st.integers(0, 6))
def test_weekday_resolves_within_the_past_week(anchor: dt.date, weekday: int) -> None:
    name = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][weekday]
    (t,) = find_timexes(f"It happened {name}.", anchor=anchor)
    assert t.value is not None
    day = dt.date.fromisoformat(t.value)
    assert day.weekday() == weekday and 0 <= (anchor - day).days < 7
