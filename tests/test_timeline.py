"""Tests of parallax.timeline: resolution, merging, ordering, conflict marks."""

from __future__ import annotations

from parallax.conflicts import find_conflicts
from parallax.timeline import build_timeline


def test_resolves_against_publication_date(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    analyzed = make_analyzed(("a", "Lucy Flores published an essay on Friday."), published="2019-04-01")
    (entry,) = build_timeline(analyzed, [], [])
    assert entry.date == "2019-03-29" and entry.resolved and entry.articles == ("a",)


def test_relative_without_date_stays_relative_and_last(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    analyzed = make_analyzed(
        ("a", "Lucy Flores published an essay last week. She ran for office in October 2009.")
    )
    entries = build_timeline(analyzed, [], [])
    assert [(e.date, e.resolved) for e in entries] == [("2009-10", True), ("last week", False)]


def test_merges_same_event_keeps_finest_and_orders(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    analyzed = make_analyzed(
        (
            "a",
            "Lucy Flores said it happened at a rally in early November 2014. Biden met Pope Francis in 1999.",
        ),
        ("b", "Lucy Flores said Biden kissed her at a 2014 campaign rally."),
    )
    entries = build_timeline(analyzed, [], [])
    assert [e.date for e in entries] == ["1999", "2014-11"]
    assert entries[1].articles == ("a", "b")
    assert len(entries[1].evidence) == 2


def test_conflicting_dates_are_marked(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    analyzed = make_analyzed(
        ("a", "Amy Lappos, an aide to Jim Himes, said Biden grabbed her during a 2009 fundraiser."),
        ("b", "Amy Lappos, an aide to Jim Himes, said Biden grabbed her during a 2019 fundraiser."),
    )
    conflicts = find_conflicts(analyzed, [], [])
    entries = build_timeline(analyzed, [], conflicts)
    assert {e.date: e.conflict for e in entries} == {"2009": "c1", "2019": "c1"}


def test_seed_timeline(seed_report) -> None:  # type: ignore[no-untyped-def]
    dates = [e.date for e in seed_report.timeline]
    for expected in ("2009-10", "2014-11"):
        assert expected in dates
    # The 2018-09-27 sentence is a photo caption; the clean stage may remove it before analysis.
    if any("September 27, 2018" in a.text for a in seed_report.articles):
        assert "2018-09-27" in dates
    resolved = [e for e in seed_report.timeline if e.resolved]
    assert [e.date for e in resolved] == sorted((e.date for e in resolved), key=lambda d: d.ljust(10, "0"))
    assert any(not e.resolved and e.date in ("Friday", "last week", "Monday") for e in seed_report.timeline)
