"""Tests of stage 9 (summary): wording choice, ordering, disputes, and the seed acceptance."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from parallax.align import align
from parallax.embed import get_embedder
from parallax.errors import ConfigError
from parallax.records import (
    Conflict,
    ConflictValue,
    Fact,
    Framing,
    Label,
    LoadedSpan,
    Mention,
)
from parallax.summary import (
    FEATURES,
    TERM_FEATURES,
    Candidate,
    Linear,
    SelectionModel,
    candidate_features,
    candidates_of,
    load_selection_model,
    select_facts,
    summarize,
    term_features,
)

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
    strict = dataclasses.replace(load_selection_model(), drop_loaded=True)
    entries = summarize(story, facts_of(story), [], sentences=3, framing=Framing(loaded=loaded), model=strict)
    assert all(e.facts != ("f1",) for e in entries)


def test_loaded_fact_kept_in_its_least_loaded_wording(story) -> None:  # type: ignore[no-untyped-def]
    """With ``drop_loaded`` off, a fact whose every wording is loaded is quoted in its least loaded
    wording; a wording with a long premodifier chain before a name is still never quoted."""
    s0 = [a.sentences[0] for a in story]
    loaded = (
        LoadedSpan(article="a", text="approved", start=s0[0].start + 12, end=s0[0].start + 20, score=1),
        LoadedSpan(article="a", text="school", start=s0[0].start + 25, end=s0[0].start + 31, score=1),
        LoadedSpan(article="b", text="Radical", start=s0[1].start, end=s0[1].start + 7, score=1),
        LoadedSpan(article="b", text="rammed", start=s0[1].start + 33, end=s0[1].start + 39, score=1),
        LoadedSpan(article="c", text="approved", start=s0[2].start + 12, end=s0[2].start + 20, score=1),
    )
    lenient = dataclasses.replace(load_selection_model(), drop_loaded=False)
    entries = summarize(
        story, facts_of(story), [], sentences=3, framing=Framing(loaded=loaded), model=lenient
    )
    assert [e.text for e in entries if e.facts == ("f1",)] == [s0[2].text]  # one span, not two or three
    chained = [
        dataclasses.replace(w, loaded=True, has_premodifier=True)
        for w in (c.wording for c in candidates_of(story, facts_of(story)[:1], Framing()))
    ]
    cands = [Candidate(fact=facts_of(story)[0], wording=w) for w in chained]
    no_terms: list[frozenset[int]] = [frozenset()] * 3
    assert select_facts(cands, np.zeros(3), no_terms, np.zeros(0), sentences=3, drop_loaded=False) == []


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
    # the twins quote the same sentence: whichever the model ranks first is kept, never both
    assert len(entries) == 1 and entries[0].facts in {("f1",), ("f9",)}


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


# --- the learned selection model -----------------------------------------------------------------


def test_shipped_model_loads_and_covers_the_features() -> None:
    model = load_selection_model()
    assert set(model.sentences.features) <= set(FEATURES)
    assert set(model.terms.features) <= set(TERM_FEATURES)
    assert all(s > 0 for s in (*model.sentences.scale, *model.terms.scale))


def linear(features: dict[str, float], bias: float = 0.0) -> Linear:
    n = len(features)
    return Linear(tuple(features), tuple(features.values()), bias, (0.0,) * n, (1.0,) * n)


NO_TERMS = linear({"share": 0.0}, bias=-50.0)  # every term weighs ~0


@pytest.mark.parametrize(
    "sentences",
    [
        {"features": ["share"], "weights": [1.0, 2.0], "bias": 0, "mean": [0], "scale": [1]},
        {"features": ["nonsense"], "weights": [1.0], "bias": 0, "mean": [0], "scale": [1]},
        {"features": ["share"], "weights": [1.0], "mean": [0], "scale": [1]},
    ],
)
def test_bad_model_file_is_a_config_error(sentences: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="summary"):
        SelectionModel.from_json({"sentences": sentences, "terms": NO_TERMS.to_json()})


def test_model_scores_are_linear_and_round_trip() -> None:
    sent = Linear(("share", "first"), (2.0, -1.0), 0.5, (0.5, 0.0), (0.5, 1.0))
    model = SelectionModel(sentences=sent, terms=linear({"all": 2.0}), length_power=0.5)
    x = np.zeros((2, len(FEATURES)))
    x[0, FEATURES.index("share")] = 1.0  # z = 1 -> +2
    x[1, FEATURES.index("first")] = 1.0  # share z = -1 -> -2, first -1
    assert model.sentence_scores(x).tolist() == pytest.approx([2.5, -2.5])
    t = np.zeros((2, len(TERM_FEATURES)))
    t[1, TERM_FEATURES.index("all")] = 1.0
    assert model.term_probabilities(t).tolist() == pytest.approx([0.5, 1 / (1 + np.exp(-2))])
    t[0, TERM_FEATURES.index("share")] = 0.5  # a term one article uses is worth nothing
    assert model.term_weights(t, articles=3).tolist() == pytest.approx([0.5, 0.0])
    assert SelectionModel.from_json(model.to_json()) == model


def test_outlet_term_weighting() -> None:
    """``term_weighting="outlets"``: a term is worth the number of outlets that use it, once two do."""
    model = SelectionModel(sentences=linear({"share": 0.0}), terms=NO_TERMS, term_weighting="outlets")
    t = np.zeros((4, len(TERM_FEATURES)))
    t[:, TERM_FEATURES.index("share")] = [0.0, 1 / 3, 2 / 3, 1.0]  # 1, 2, 3 and 4 of 4 articles
    assert model.term_weights(t, articles=4).tolist() == [0.0, 2.0, 3.0, 4.0]
    assert SelectionModel.from_json(model.to_json()) == model
    with pytest.raises(ConfigError, match="term_weighting"):
        SelectionModel.from_json({**model.to_json(), "term_weighting": "tfidf"})


def test_candidate_features(story) -> None:  # type: ignore[no-untyped-def]
    cands = candidates_of(story, facts_of(story), Framing())
    x = candidate_features(story, cands)
    assert x.shape == (len(cands), len(FEATURES))
    col = {f: x[:, i] for i, f in enumerate(FEATURES)}
    # the budget sentence is carried by all three articles, the rain sentence by one
    assert col["share"].tolist() == [1.0, 1.0, 1.0, 0.5, 0.5, 0.0]
    assert col["consensus"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert col["first"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert col["title"].max() == 0.0  # no article opens with a headline
    # shared wording is central; "Rain fell later." shares nothing with the other articles
    assert col["central_others"][0] > 0.3 and col["central_others"][5] == 0.0
    assert col["short"][5] == 1.0 and col["no_period"].max() == 0.0


def test_term_features(story) -> None:  # type: ignore[no-untyped-def]
    cands = candidates_of(story, facts_of(story), Framing())
    sets, x, keys = term_features(story, cands, Framing())
    assert x.shape == (len(keys), len(TERM_FEATURES))
    row = {k: dict(zip(TERM_FEATURES, x[i], strict=True)) for i, k in enumerate(keys)}
    assert row["budget"]["all"] == 1.0 and row["budget"]["leads"] == 1.0
    assert row["rain"]["share"] == 0.0 and row["rain"]["leads"] == 0.0
    assert row["tuesday"]["proper"] == 1.0
    assert {keys[t] for t in sets[0]} >= {"council", "budget", "school", "tuesday"}


def test_word_budget_stops_the_selection(story) -> None:  # type: ignore[no-untyped-def]
    every = summarize(story, facts_of(story), [], sentences=5)
    few = summarize(story, facts_of(story), [], sentences=5, words=3)
    assert len(every) == 3 and len(few) == 1 and few[0] == every[0]


def test_selection_follows_the_model(story) -> None:  # type: ignore[no-untyped-def]
    """Without status order, a model that only likes short sentences picks the unique one first."""
    short = SelectionModel(sentences=linear({"log_words": -1.0}), terms=NO_TERMS, sentence_weight=1.0)
    cands = candidates_of(story, facts_of(story), Framing())
    x = candidate_features(story, cands)
    sets, tx, _ = term_features(story, cands, Framing())
    args = (cands, short.sentence_scores(x), sets, short.term_probabilities(tx))
    assert [f.id for f, _ in select_facts(*args, sentences=1, status_first=False, sentence_weight=1.0)] == [
        "f3"
    ]
    assert [f.id for f, _ in select_facts(*args, sentences=1, sentence_weight=1.0)] == ["f1"]


def test_selection_covers_new_terms(story) -> None:  # type: ignore[no-untyped-def]
    """With term weights only, each step takes the fact whose wording adds the most new terms."""
    cands = candidates_of(story, facts_of(story), Framing())
    sets, _, _ = term_features(story, cands, Framing())
    weights = np.ones(max(max(s) for s in sets) + 1)
    salience = np.zeros(len(cands))
    every = select_facts(cands, salience, sets, weights, sentences=10, status_first=False)
    terms = {f.id: next(s for c, s in zip(cands, sets, strict=True) if c.wording == w) for f, w in every}
    covered: frozenset[int] = frozenset()
    expected = []
    for _ in terms:
        best = min(sorted(set(terms) - set(expected)), key=lambda f: -len(terms[f] - covered))
        expected.append(best)
        covered |= terms[best]
    assert [f.id for f, _ in every] == expected
