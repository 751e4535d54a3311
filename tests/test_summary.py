"""Tests of stage 9 (summary): wording choice, ordering, disputes, and the seed acceptance."""

from __future__ import annotations

from pathlib import Path

import pytest

from parallax.align import align
from parallax.embed import get_embedder
from parallax.records import (
    Conflict,
    ConflictValue,
    Fact,
    Framing,
    Label,
    LoadedSpan,
    Mention,
)
from parallax.summary import summarize

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

A = "The council approved the school budget on Tuesday. It was a sunny day in the small town."
B = "Radical spendthrift councillors rammed through the school budget on Tuesday. Rain fell later."
C = "The council approved the budget for schools on Tuesday. The mayor thanked the teachers' union."


@pytest.fixture(scope="module")
def story(nlp):  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze
    from parallax.records import Article

    arts = [
        Article(id=i, source_path=f"{i}.txt", text=t, outlet=o)
        for i, t, o in (("a", A, "Daily A"), ("b", B, "B Post"), ("c", C, ""))
    ]
    return analyze(arts, nlp=nlp)


def mention(analyzed, art: int, sent: int) -> Mention:  # type: ignore[no-untyped-def]
    s = analyzed[art].sentences[sent]
    return Mention(article=s.article, start=s.start, end=s.end, text=s.text, sentence=s.index)


def facts_of(story) -> list[Fact]:  # type: ignore[no-untyped-def]
    budget = Fact(
        id="f1",
        status="consensus",
        mentions=(mention(story, 0, 0), mention(story, 1, 0), mention(story, 2, 0)),
        articles=("a", "b", "c"),
        score=0.8,
    )
    partial = Fact(
        id="f2",
        status="partial",
        mentions=(mention(story, 0, 1), mention(story, 2, 1)),
        articles=("a", "c"),
        score=0.5,
    )
    unique = Fact(id="f3", status="unique", mentions=(mention(story, 1, 1),), articles=("b",))
    return [budget, partial, unique]


def conflict(story, confidence: float, cid: str) -> Conflict:  # type: ignore[no-untyped-def]
    return Conflict(
        id=cid,
        kind="date",
        about="the day of the vote",
        values=(
            ConflictValue(
                value="Tuesday", normalized="2", articles=("a", "c"), evidence=(mention(story, 0, 0),)
            ),
            ConflictValue(value="Monday", normalized="1", articles=("b",), evidence=(mention(story, 1, 0),)),
        ),
        confidence=confidence,
    )


def test_fact_entry_is_verbatim_and_cites_all(story) -> None:  # type: ignore[no-untyped-def]
    entries = summarize(story, facts_of(story), [], sentences=3)
    first = entries[0]
    assert first.kind == "fact" and first.facts == ("f1",)
    assert first.articles == ("a", "b", "c")
    assert any(first.text in a.article.text for a in story if a.id in first.articles)
    assert len(first.evidence) == 3


def test_loaded_wording_is_avoided(story) -> None:  # type: ignore[no-untyped-def]
    s = story[0].sentences[0]
    framing = Framing(
        loaded=(LoadedSpan(article="a", text="approved", start=s.start + 12, end=s.start + 20, score=0.9),),
        labels=(Label(entity="council", article="c", label="The", kind="premodifier", start=0, end=3),),
    )
    entries = summarize(story, facts_of(story), [], sentences=3, framing=framing)
    # a carries a loaded span and c a premodifier label: only b's wording is left, and it is clean
    # as far as framing knows, so it is chosen rather than dropping the fact.
    assert entries[0].text == story[1].sentences[0].text


def test_fact_dropped_when_every_wording_loaded(story) -> None:  # type: ignore[no-untyped-def]
    loaded = tuple(
        LoadedSpan(
            article=a.id,
            text=a.sentences[0].text,
            start=a.sentences[0].start,
            end=a.sentences[0].end,
            score=1,
        )
        for a in story
    )
    entries = summarize(story, facts_of(story), [], sentences=3, framing=Framing(loaded=loaded))
    assert all(e.facts != ("f1",) for e in entries)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_length_and_order(story, n: int) -> None:  # type: ignore[no-untyped-def]
    conflicts = [conflict(story, 0.4, "c1"), conflict(story, 0.9, "c2")]
    entries = summarize(story, facts_of(story), conflicts, sentences=n)
    assert len(entries) <= n
    kinds = [e.kind for e in entries]
    if n >= 3:
        assert kinds[:2] == ["fact", "dispute"]
        assert entries[1].conflicts == ("c2",)  # most confident first
    statuses = [e.facts[0] for e in entries if e.kind == "fact"]
    assert statuses == sorted(statuses)  # consensus f1, partial f2, unique f3


def test_dispute_text(story) -> None:  # type: ignore[no-untyped-def]
    entries = summarize(story, [], [conflict(story, 0.9, "c1")], sentences=3)
    (d,) = entries
    assert d.kind == "dispute" and d.conflicts == ("c1",)
    assert d.text == "Outlets disagree on the day of the vote: Tuesday (Daily A, c); Monday (B Post)."
    assert d.articles == ("a", "b", "c")


def test_redundant_facts_skipped(story) -> None:  # type: ignore[no-untyped-def]
    f1 = facts_of(story)[0]
    twin = Fact(id="f9", status="consensus", mentions=f1.mentions, articles=f1.articles, score=0.7)
    entries = summarize(story, [f1, twin], [], sentences=5)
    assert [e.facts for e in entries] == [("f1",)]


def test_premodifier_chain_guard(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    analyzed = make_analyzed(
        ("a", "Radical left-wing Hollywood activist Jane Doe backed the senator on Monday."),
        ("b", "Jane Doe backed the senator on Monday in a series of posts."),
    )
    fact = Fact(
        id="f1",
        status="consensus",
        mentions=tuple(mention(analyzed, i, 0) for i in range(2)),
        articles=("a", "b"),
        score=0.9,
    )
    (entry,) = summarize(analyzed, [fact], [], sentences=2)
    assert entry.text.startswith("Jane Doe")


# --- acceptance over the seed story --------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_summary(nlp):  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze
    from parallax.records import Article

    paths = sorted(EXAMPLES.glob("*.txt"))
    arts = [
        Article(id=p.name[:3], source_path=str(p), text=p.read_text(encoding="utf-8"), outlet=p.name[:3])
        for p in paths
    ]
    analyzed = analyze(arts, nlp=nlp)
    alignment = align(analyzed, embedder=get_embedder("minilm"))
    return analyzed, summarize(analyzed, alignment.facts, [], sentences=5)


def test_seed_summary(seed_summary) -> None:  # type: ignore[no-untyped-def]
    analyzed, entries = seed_summary
    assert 3 <= len(entries) <= 5
    assert len(entries[0].articles) >= 2
    texts = {a.id: a.article.text for a in analyzed}
    for e in entries:
        assert "Left-wing" not in e.text
        assert any(e.text in texts[a] for a in e.articles)


def test_only_confident_conflicts_become_disputes(story) -> None:  # type: ignore[no-untyped-def]
    from parallax.summary import DISPUTE_CONFIDENCE

    low, high = conflict(story, DISPUTE_CONFIDENCE - 0.01, "c1"), conflict(story, DISPUTE_CONFIDENCE, "c2")
    entries = summarize(story, [], [low, high], sentences=5)
    assert [e.conflicts for e in entries if e.kind == "dispute"] == [("c2",)]
