"""What readers see instead of ids: outlet names, titles, dates, the glance rows, timeline rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parallax.render.display import (
    article_title,
    looks_raw,
    one_side,
    outlet_labels,
    outlet_strip,
    readable_date,
    with_names,
)
from parallax.render.glance import build_glance, main_person, telling_label, title_position
from parallax.render.html import timeline_rows
from parallax.report import ArticleModel, LabelModel, LoadedSpanModel, StoryReport, TimelineEntryModel

FIXTURE = Path(__file__).resolve().parent / "data" / "report_fixture.json"


@pytest.fixture(scope="module")
def fixture_report() -> StoryReport:
    return StoryReport.model_validate_json(FIXTURE.read_text(encoding="utf-8"))


def _article(
    article_id: str, outlet: str, *, title: str | None = None, text: str = "Text.", **kw: Any
) -> ArticleModel:
    return ArticleModel(
        id=article_id,
        source_path=kw.get("source_path", f"/data/in/{article_id}.txt"),
        outlet=outlet,
        outlet_source=kw.get("outlet_source", "input"),
        title=title,
        published=None,
        url=None,
        text=text,
        removed=[],
    )


@pytest.mark.parametrize(
    ("value", "raw"),
    [
        ("Fox News", False),
        ("nyt", False),
        ("The 2020 Report", False),
        ("001_00d09475fcb2e337", True),
        ("basil-2b95d2cf-e979-4f9c", True),
        ("/srv/news/a.txt", True),
        ("story.html", True),
        ("", True),
    ],
)
def test_looks_raw(value: str, raw: bool) -> None:
    assert looks_raw(value) is raw


def test_outlet_labels_letter_unknowns_and_number_repeats() -> None:
    arts = [
        _article("001_00d09475fcb2e337", "001_00d09475fcb2e337", outlet_source="filename"),
        _article("a2", "Fox News"),
        _article("x9", "x9"),  # the outlet is the article's own id
        _article("a4", "Fox News"),
        _article("a5", "Metro Wire", outlet_source="filename"),  # a readable file name is a name
    ]
    assert outlet_labels(arts) == {
        "001_00d09475fcb2e337": "Unknown outlet A",
        "a2": "Fox News (1)",
        "x9": "Unknown outlet B",
        "a4": "Fox News (2)",
        "a5": "Metro Wire",
    }


def test_article_title_falls_back_to_the_first_sentence() -> None:
    lead = "Sen. Warren and Raúl R. Labrador met on Monday. They talked."
    assert article_title(_article("a1", "X", title="Budget passes")) == "Budget passes"
    assert (
        article_title(_article("a1", "X", title="a1", text=lead))
        == "Sen. Warren and Raúl R. Labrador met on Monday."
    )
    assert article_title(_article("a1", "X", text="“Go,” she said. Then.")) == "“Go,” she said."
    long = article_title(_article("a1", "X", text="word " * 60), limit=30)
    assert len(long) <= 30 and long.endswith("…")


@pytest.mark.parametrize(
    ("value", "resolved", "shown"),
    [
        ("2015-02-24", True, "2015-02-24"),
        ("2015-02", True, "2015-02"),
        ("2015", True, "2015"),
        ("2015-02-24TNI", True, "2015-02-24, night"),
        ("2015-02-24T14:30:00", True, "2015-02-24 14:30"),
        ("2015-W10", True, "week 10 of 2015"),
        ("2015-W10-WE", True, "the weekend of week 10 of 2015"),
        ("2015-SU", True, "summer 2015"),
        ("2015-Q1", True, "the first quarter of 2015"),
        ("201", True, "the 2010s"),
        ("PRESENT_REF", True, "now"),
        ("last week", False, "“last week” (relative)"),
    ],
)
def test_readable_date(value: str, resolved: bool, shown: str) -> None:
    assert readable_date(value, resolved=resolved) == shown
    assert "TNI" not in shown and "-W" not in shown


def test_with_names_replaces_raw_outlets_in_generated_sentences() -> None:
    arts = [_article("001_00d0", "001_00d09475fcb2e337"), _article("b2", "Fox News")]
    labels = {"001_00d0": "Unknown outlet A", "b2": "Fox News"}
    text = "2009 (Fox News, 001_00d09475fcb2e337); 2019 (001_00d0)."
    assert with_names(text, arts, labels) == "2009 (Fox News, Unknown outlet A); 2019 (Unknown outlet A)."


def test_outlet_strip_and_one_side() -> None:
    assert outlet_strip(["Fox News", "nyt", "Fox News", "001_00d09475fcb2e337", "002_bd170a96a0f87049"]) == [
        "Fox News",
        "nyt",
        "2 unknown outlets",
    ]
    groups = {"left": ("HuffPost", "nyt"), "right": ("Fox News",)}
    assert one_side(["HuffPost", "NYT"], groups) == "left"
    assert one_side(["HuffPost", "nyt", "Fox News"], groups) is None  # two thirds is not "mostly"
    assert one_side(["HuffPost", "Somebody"], groups) is None  # one grouped outlet says nothing
    assert one_side(["HuffPost", "nyt"], {}) is None  # no groups, no side


def _label(article: str, label: str, kind: str = "role", start: int = 0) -> LabelModel:
    return LabelModel(
        entity="P", article=article, label=label, kind=kind, start=start, end=start + len(label)
    )


def test_telling_label_prefers_loaded_then_distinct_words() -> None:
    mine = [_label("b", "the actress"), _label("b", "Left-wing Hollywood activist", "premodifier", 10)]
    others = [_label("a", "The actress"), _label("c", "#MeToo activist")]
    loaded = [LoadedSpanModel(article="b", text="Left-wing", start=10, end=19, score=0.9)]
    assert telling_label(mine, others, loaded=loaded) == "Left-wing Hollywood activist"
    plain = [_label("b", "the actress"), _label("b", "Hollywood star", "apposition", 30)]
    assert telling_label(plain, others) == "Hollywood star"
    assert telling_label([], others) is None


def test_title_position_and_main_person(fixture_report: StoryReport) -> None:
    assert title_position("Bill Clinton", "Hillary Clinton Releases Tax Returns") > len(
        "Hillary Clinton Releases Tax Returns"
    )
    assert title_position("Elizabeth Warren", "Sen. Warren speaks") == 5
    person = main_person(fixture_report)
    assert person is not None
    entities = {lab.entity for lab in fixture_report.framing.labels}
    assert person in entities


def test_glance_rows_count_what_each_outlet_carries(fixture_report: StoryReport) -> None:
    anchors = {f.id: f"x-{f.id}" for f in fixture_report.facts}
    glance = build_glance(fixture_report, anchors=anchors)
    assert [r.article for r in glance.rows] == [a.id for a in fixture_report.articles]
    for row in glance.rows:
        carried = [f for f in fixture_report.facts if row.article in f.articles]
        assert row.total == len(carried)
        assert sum(row.share(s) for s in ("consensus", "partial", "unique")) == pytest.approx(100, abs=0.5)
        missed = next(o.facts for o in fixture_report.omissions if o.article == row.article)
        assert row.omitted == len(missed) and all(f.id in missed for f in row.omissions)
        # omissions every other outlet reports come first
        others = len(fixture_report.articles) - 1
        outlets = [f.outlets for f in row.omissions]
        assert outlets == sorted(outlets, reverse=True) and all(o <= others for o in outlets)
    conflicted = {a for c in fixture_report.conflicts for v in c.values for a in v.articles}
    assert {r.article for r in glance.rows if r.conflicts} == conflicted


def test_timeline_rows_show_a_sentence_once(fixture_report: StoryReport) -> None:
    base = fixture_report.timeline[0]
    twice = [
        base.model_copy(update={"date": "2015-02-24"}),
        base.model_copy(update={"date": "2015-02-24TNI"}),
        TimelineEntryModel(
            date="Monday", text=base.text, articles=base.articles, evidence=[], resolved=False
        ),
    ]
    report = fixture_report.model_copy(update={"timeline": twice})
    (row,) = timeline_rows(report)
    assert row.dates == ("2015-02-24, night", "“Monday” (relative)")
    assert row.value == "2015-02-24TNI"
