"""Tests of stage 4 (align): facts, statuses, ids, omissions, and the seed story acceptance."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.align import align, quoted_words
from parallax.embed import get_embedder
from parallax.records import AnalyzedArticle

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

A = (
    "The city council approved a new budget for public schools on Tuesday. "
    "Mayor Jane Porter said the plan would hire two hundred teachers. "
    "Local bakeries reported record sales of pumpkin pies this autumn."
)
B = (
    "On Tuesday the city council approved the new public school budget. "
    "Critics argued the spending was reckless and poorly planned. "
    "Mayor Jane Porter said the plan would hire 200 teachers."
)
C = (
    "The council approved a budget for the city's public schools on Tuesday. "
    "Mayor Jane Porter said that the plan will hire two hundred new teachers. "
    "A storm knocked down power lines across the northern suburbs."
)


@pytest.fixture(scope="module")
def hashing():  # type: ignore[no-untyped-def]
    return get_embedder("hashing")


@pytest.fixture(scope="module")
def three(nlp):  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze
    from parallax.records import Article

    arts = [
        Article(id=i, source_path=f"{i}.txt", text=t, outlet=i) for i, t in (("a", A), ("b", B), ("c", C))
    ]
    return analyze(arts, nlp=nlp)


def partition(alignment) -> set[frozenset[tuple[str, int]]]:  # type: ignore[no-untyped-def]
    return {frozenset((m.article, m.sentence) for m in f.mentions) for f in alignment.facts}


def check_invariants(analyzed: list[AnalyzedArticle], alignment) -> None:  # type: ignore[no-untyped-def]
    by_id = {a.id: a for a in analyzed}
    seen = [(m.article, m.sentence) for f in alignment.facts for m in f.mentions]
    expected = [(a.id, s.index) for a in analyzed for s in a.sentences]
    # every sentence is covered; a sentence that carries two facts (many-to-one) is in both
    assert set(seen) == set(expected)
    for m in (m for f in alignment.facts for m in f.mentions):
        assert len(m.text.split()) >= 3 or len(by_id[m.article].sentences) == 1, m.text
    for n, fact in enumerate(alignment.facts, start=1):
        assert fact.id == f"f{n}"
        arts = [m.article for m in fact.mentions]
        assert len(arts) == len(set(arts))  # one main mention per article
        assert tuple(arts) == fact.articles
        for m in fact.mentions:
            assert by_id[m.article].article.text[m.start : m.end] == m.text
        if len(arts) == 1:
            assert fact.status == "unique" and fact.score == 1.0
        elif len(arts) == len(analyzed):
            assert fact.status == "consensus"
        else:
            assert fact.status == "partial"
    ranks = [{"consensus": 0, "partial": 1, "unique": 2}[f.status] for f in alignment.facts]
    assert ranks == sorted(ranks)
    for art_id, missing in alignment.omissions:
        assert set(missing) == {f.id for f in alignment.facts if art_id not in f.articles}


def test_budget_story_aligns(three, hashing) -> None:  # type: ignore[no-untyped-def]
    alignment = align(three, embedder=hashing)
    check_invariants(three, alignment)
    consensus = [f for f in alignment.facts if f.status == "consensus"]
    assert {tuple(m.sentence for m in f.mentions) for f in consensus} == {(0, 0, 0), (1, 2, 1)}
    uniques = {
        (f.mentions[0].article, f.mentions[0].sentence) for f in alignment.facts if f.status == "unique"
    }
    assert uniques == {("a", 2), ("b", 1), ("c", 2)}
    omitted = dict(alignment.omissions)
    assert len(omitted["a"]) == 2  # b's critics and c's storm


def test_single_article_is_all_unique(three, hashing) -> None:  # type: ignore[no-untyped-def]
    alignment = align(three[:1], embedder=hashing)
    assert [f.status for f in alignment.facts] == ["unique"] * len(three[0].sentences)
    assert alignment.omissions == [("a", ())]


def test_empty_story(hashing) -> None:  # type: ignore[no-untyped-def]
    alignment = align([], embedder=hashing)
    assert alignment.facts == [] and alignment.omissions == []


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ("Yes indeed.", "Yes indeed."),  # two-word fragments
        ("“Especially now.”", "“Especially now.”"),  # a lone short quotation fragment
    ],
)
def test_fragments_never_align(make_analyzed, hashing, x: str, y: str) -> None:  # type: ignore[no-untyped-def]
    analyzed = make_analyzed(("a", f"The senate passed the farm bill today. {x}"), ("b", f"{y} Rain fell."))
    alignment = align(analyzed, embedder=hashing)
    fragment_facts = [f for f in alignment.facts if any(x.strip("“”.") in m.text for m in f.mentions)]
    assert all(f.status == "unique" for f in fragment_facts)


def test_quotation_aligns_despite_framing(make_analyzed, hashing) -> None:  # type: ignore[no-untyped-def]
    quote = "“We will rebuild every bridge in this county before the winter comes,” "
    analyzed = make_analyzed(
        ("a", "Officials met on Friday. " + quote + "the governor promised."),
        (
            "b",
            "Protesters gathered outside. "
            + quote
            + "the embattled governor boasted to reporters at a rally.",
        ),
    )
    alignment = align(analyzed, embedder=hashing)
    shared = [f for f in alignment.facts if f.status == "consensus"]
    assert any(all("rebuild every bridge" in m.text for m in f.mentions) for f in shared)


@pytest.mark.parametrize(
    ("text", "words", "share"),
    [("“a b c d”", 4, 1.0), ("He said “go now” today.", 2, 0.4), ("No quotes here.", 0, 0.0)],
)
def test_quoted_words(text: str, words: int, share: float) -> None:
    found, frac = quoted_words(text)
    assert len(found) == words
    assert frac == pytest.approx(share)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations([0, 1, 2]))
def test_alignment_is_symmetric(three, hashing, order: list[int]) -> None:  # type: ignore[no-untyped-def]
    base = align(three, embedder=hashing)
    permuted = [three[i] for i in order]
    again = align(permuted, embedder=hashing)
    check_invariants(permuted, again)
    assert partition(again) == partition(base)


_SENTS = [A, B, C, "The council met again. The mayor spoke to reporters about teachers and schools."]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.sampled_from(range(len(_SENTS))), min_size=2, max_size=4))
def test_alignment_is_a_partition(make_analyzed, hashing, picks: list[int]) -> None:  # type: ignore[no-untyped-def]
    analyzed = make_analyzed(*[(f"x{i}", _SENTS[p]) for i, p in enumerate(picks)])
    check_invariants(analyzed, align(analyzed, embedder=hashing))


# --- acceptance over the seed story --------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(nlp):  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze
    from parallax.records import Article

    paths = sorted(EXAMPLES.glob("*.txt"))
    arts = [
        Article(id=p.name[:3], source_path=str(p), text=p.read_text(encoding="utf-8"), outlet=p.name[:3])
        for p in paths
    ]
    analyzed = analyze(arts, nlp=nlp)
    return analyzed, align(analyzed, embedder=get_embedder("minilm"))


def test_seed_consensus(seed) -> None:  # type: ignore[no-untyped-def]
    analyzed, alignment = seed
    check_invariants(analyzed, alignment)
    assert sum(f.status == "consensus" for f in alignment.facts) >= 3


def _facts_with(alignment, article: str, needle: str):  # type: ignore[no-untyped-def]
    return [f for f in alignment.facts if any(m.article == article and needle in m.text for m in f.mentions)]


def test_seed_kavanaugh_unique_to_002(seed) -> None:  # type: ignore[no-untyped-def]
    _, alignment = seed
    facts = _facts_with(alignment, "002", "Kavanaugh")
    assert facts
    omitted_by_000 = set(dict(alignment.omissions)["000"])
    for fact in facts:
        assert fact.status == "unique" and fact.articles == ("002",)
        assert fact.id in omitted_by_000


def test_seed_twitter_unique_to_001(seed) -> None:  # type: ignore[no-untyped-def]
    _, alignment = seed
    (fact,) = _facts_with(alignment, "001", "Twitter users divided")
    assert fact.status == "unique" and fact.articles == ("001",)


def test_seed_hypocrisy_is_unique_to_001(seed) -> None:  # type: ignore[no-untyped-def]
    _, alignment = seed
    (fact,) = _facts_with(alignment, "001", "accused Milano of hypocrisy")
    assert fact.status == "unique" and fact.articles == ("001",)
    accused = _facts_with(alignment, "000", "accused by two women")
    assert accused and all("001" not in f.articles for f in accused)


def test_seed_short_claims_held_by_one_long_quote_are_not_one_fact(seed) -> None:  # type: ignore[no-untyped-def]
    # 002 quotes two sentences as one unit ("I respect Lucy Flores' decision ... But, just as we
    # must believe women ..."); 000 and 001 each print the two claims separately. The second
    # claim is one fact with 001's sentence that contains it, not with 001's first claim.
    _, alignment = seed
    (fact,) = [
        f
        for f in alignment.facts
        if any(m.article == "000" and m.text.startswith("“But, just as we must believe") for m in f.mentions)
    ]
    mine = {m.article: m.text for m in fact.mentions}
    assert fact.status == "consensus"
    assert "just as we must believe women" in mine["001"]
    assert "Lucy Flores" in mine["002"]
    # no two facts are shown with the same wording from the same sentences
    firsts = [(f.mentions[0].article, f.mentions[0].sentence) for f in alignment.facts]
    shown = [frozenset((m.article, m.sentence) for m in f.mentions) for f in alignment.facts]
    assert len(set(zip(firsts, shown, strict=True))) == len(firsts)
    assert len({frozenset(s) for s in shown}) == len(shown)


def _toy_features(articles: list[str]):  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    return [SimpleNamespace(article=a, index=k, article_pos=k, start=0) for k, a in enumerate(articles)]


def test_grouping_floor_keeps_two_claims_of_one_long_sentence_apart() -> None:
    from parallax.align import group_sentences

    # 0 (outlet a) and 1 (outlet b) are two different short claims; 2 (outlet c) holds both
    feats = _toy_features(["a", "b", "c"])
    edges = {(0, 2): 0.9, (1, 2): 0.85, (0, 1): 0.05}
    chained = group_sentences(feats, edges, threshold=0.5)  # type: ignore[arg-type]
    assert sorted(map(sorted, chained)) == [[0, 1, 2]]  # the mean alone lets the chain through
    kept = group_sentences(feats, edges, threshold=0.5, floor=0.15)  # type: ignore[arg-type]
    assert sorted(map(sorted, kept)) == [[0, 2], [1]]
    # a containment link between the two lifts the floor
    both = group_sentences(feats, edges, threshold=0.5, floor=0.15, contains=frozenset({(0, 1)}))  # type: ignore[arg-type]
    assert sorted(map(sorted, both)) == [[0, 1, 2]]


def test_carrying_is_directional() -> None:
    from parallax.align import carried

    # group {0} of outlet a; sentence 1 of outlet b contains it, sentence 2 of outlet c is
    # contained in it (holds only part of its claim)
    feats = _toy_features(["a", "b", "c"])
    links = {(1, 0): 1.0, (0, 1): 0.2, (0, 2): 1.0, (2, 0): 0.2}
    assert carried(feats, [[0]], links, threshold=0.5) == [[1]]  # type: ignore[arg-type]


def test_seed_quotation_stays_whole(seed) -> None:  # type: ignore[no-untyped-def]
    _analyzed, alignment = seed
    texts = [m.text for f in alignment.facts for m in f.mentions]
    assert not any(t.strip() in {"”", '"', "Especially now.”", "And I will.”"} for t in texts)
    assert any(t.endswith("Especially now.”") and "intent has never been" in t for t in texts)


def test_pair_score_is_symmetric_and_learned(seed) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from parallax.align import candidate_pairs, default_model, pair_scores, sentence_features
    from parallax.settings import Settings

    analyzed, _ = seed
    feats = sentence_features(analyzed)
    i, j = candidate_pairs(feats)
    assert 0 < len(i) < len(feats) * (len(feats) - 1) / 2  # sparse candidates, not all pairs
    vecs = get_embedder("hashing").encode([f.text for f in feats])
    forward = pair_scores(feats, vecs, i, j)
    backward = pair_scores(feats, vecs, j, i)
    assert np.allclose(forward, backward) and ((forward >= 0) & (forward <= 1)).all()
    assert Settings().align_threshold == default_model().threshold


def test_pairwise_scores_in_range(seed) -> None:  # type: ignore[no-untyped-def]
    _, alignment = seed
    for f in alignment.facts:
        assert 0.0 <= f.score <= 1.0
    assert list(itertools.chain.from_iterable(o for _, o in alignment.omissions))


# --- the cascade embedder ------------------------------------------------------------------------


class _Counting:
    """An embedder that records how many texts it was asked to encode."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.name = f"counting-{inner.name}"
        self.encoded = 0

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_cascade_with_an_infinite_margin_is_the_slow_path(three, hashing) -> None:  # type: ignore[no-untyped-def]
    from parallax.embed import CascadeEmbedder

    slow = _Counting(hashing)
    cascade = CascadeEmbedder(fast=get_embedder("minilm-static"), slow=slow)
    got = align(three, embedder=cascade, cascade_margin=float("inf"))
    want = align(three, embedder=hashing)
    assert slow.encoded > 0
    assert [(f.mentions, f.status, f.score) for f in got.facts] == [
        (f.mentions, f.status, f.score) for f in want.facts
    ]


def test_cascade_with_no_margin_never_calls_the_slow_embedder(three, hashing) -> None:  # type: ignore[no-untyped-def]
    from parallax.embed import CascadeEmbedder

    slow = _Counting(hashing)
    fast = _Counting(get_embedder("minilm-static"))
    got = align(three, embedder=CascadeEmbedder(fast=fast, slow=slow), cascade_margin=0.0)
    assert slow.encoded == 0 and fast.encoded > 0
    check_invariants(three, got)
    assert any(f.status == "consensus" for f in got.facts)


def test_cascade_re_encodes_only_undecided_pairs(seed) -> None:  # type: ignore[no-untyped-def]
    from parallax.embed import CascadeEmbedder

    analyzed, full = seed
    slow = _Counting(get_embedder("minilm-numpy"))
    fast = _Counting(get_embedder("minilm-static"))
    got = align(analyzed, embedder=CascadeEmbedder(fast=fast, slow=slow))
    assert 0 < slow.encoded < fast.encoded
    check_invariants(analyzed, got)
    assert partition(got) == partition(full)


def test_sentences_that_carry_each_other_make_one_fact(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    """A long sentence that contains a short one links both ways (containment) while their pair
    score stays low: each is its own group and carries the other, which must give one fact."""
    analyzed = make_analyzed(
        (
            "a",
            "The senate passed the farm bill on Tuesday, after a long night of debate over dairy "
            "subsidies, crop insurance and food stamps that split both parties.",
        ),
        ("b", "The senate passed the farm bill on Tuesday."),
    )
    alignment = align(analyzed, embedder=get_embedder())
    sets = [frozenset((m.article, m.sentence) for m in f.mentions) for f in alignment.facts]
    assert frozenset({("a", 0), ("b", 0)}) in sets
    assert len(sets) == len(set(sets))


def test_entities_within_a_span_match_a_scan_of_doc_ents(three) -> None:  # type: ignore[no-untyped-def]
    """The once-per-document entity index finds what filtering ``Doc.ents`` per span finds."""
    from parallax.align import ENTITY_LABELS, _Entities

    for art in three:
        index = _Entities.of(art.doc)
        for sent in art.sentences:
            naive = {
                f"{e.label_}:{' '.join(e.text.lower().split())}"
                for e in art.doc.ents
                if e.label_ in ENTITY_LABELS and e.start_char >= sent.start and e.end_char <= sent.end
            }
            assert {k.split(":")[0] for k in index.within(sent.start, sent.end)} == {
                k.split(":")[0] for k in naive
            }
            assert len(index.within(sent.start, sent.end)) == len(naive)
