"""Tests of the loaded-wording detector."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.errors import ConfigError
from parallax.loaded import (
    FEATURES,
    CorpusPrior,
    Lexicon,
    LoadedWordingDetector,
    TermStats,
    featurize,
    fit_term_stats,
    load_default,
    load_lexicon,
    merge_flags,
    person_premodifiers,
    quote_segments,
    token_flags,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: Weights of a hand-set detector for unit tests: lexicon words are loaded, corpus evidence counts.
TEST_WEIGHTS = {"bias": -4.0, "lex_verb": 5.0, "lex_emotive": 5.0, "lex_phrase": 5.0, "corpus": 1.0}


@pytest.fixture(scope="module")
def tiny_lexicon() -> Lexicon:
    return Lexicon.parse("[verb]\nslam\nblast\n[emotive]\noutrageous\n[phrase]\nlash out\ntake aim at\n")


def test_default_detector_loads_and_is_cached() -> None:
    det = load_default()
    assert det is load_default()
    assert det.train_years and 0 < det.threshold < 1
    assert 2014 not in det.train_years and 2015 not in det.train_years
    assert det.min_stories >= 2


def test_shipped_lexicon_is_substantial_and_categorised() -> None:
    lex = load_lexicon()
    assert len(lex) > 300
    assert "verb" in lex.words["slam"] and "emotive" in lex.words["leftist"]
    assert any(words == ("left", "-", "wing") for words, _ in lex.phrases["left"])


@pytest.mark.parametrize(
    ("text", "error"),
    [("slam\n", "before any"), ("[nonsense]\nslam\n", "unknown category")],
)
def test_lexicon_parse_errors_name_the_line(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        Lexicon.parse(text, source="x.txt")


def test_fit_counts_inside_tokens_and_stories(nlp) -> None:  # type: ignore[no-untyped-def]
    doc = nlp("The senator blasted the outrageous plan. The plan was approved.")
    start = doc.text.index("outrageous")
    gold = [(start, start + len("outrageous"))]
    stats = fit_term_stats([(doc, gold), (doc, gold), (doc, gold)], stories=["s1", "s1", "s2"])
    assert stats.terms["outrageous"] == (3, 3)
    assert stats.stories["outrageous"] == 2
    assert stats.terms["plan"] == (0, 6)
    assert stats.pos["ADJ"][0] == 3
    shipped = stats.to_json(min_stories=2)["terms"]
    assert "outrageous" in shipped and "plan" not in shipped
    assert TermStats.from_json(stats.to_json(min_stories=2)).stories["outrageous"] == 2


def test_corpus_feature_needs_two_stories(nlp) -> None:  # type: ignore[no-untyped-def]
    """A lemma annotated in a single story (a story's topic word) carries no positive evidence."""
    stats = TermStats(
        terms={"hair": (3, 3), "scathing": (3, 3), "slam": (0, 50)},
        pos={"NOUN": (10, 1000), "ADJ": (10, 1000), "VERB": (10, 1000)},
        stories={"hair": 1, "scathing": 2},
    )
    prior = CorpusPrior(stats, smoothing=2.0, min_stories=2, lexicon_keys={"slam"})
    assert prior("hair", "NOUN") == (0.0, 0.0)
    assert prior("scathing", "ADJ")[0] > 1.0 and prior("scathing", "ADJ")[1] == 0.0
    assert prior("slam", "VERB")[0] == 0.0
    assert prior("slam", "VERB")[1] < 0.0  # a lexicon word the corpus never saw inside a span
    assert prior("unseen", "NOUN") == (0.0, 0.0)


@pytest.mark.parametrize(
    "sentence",
    [
        "She sniffed his hair and pulled him close by the neck.",
        "He put his hand around her neck and pulled her in.",
        "The barber cut his hair before pulling the car into the garage.",
        "The committee approved the budget on Tuesday after a short meeting.",
    ],
)
def test_default_detector_ignores_plain_content_words(nlp, sentence: str) -> None:  # type: ignore[no-untyped-def]
    det = load_default()
    doc = nlp(sentence)
    assert det.doc_spans(doc) == [], [doc.text[s:e] for s, e, _ in det.doc_spans(doc)]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The senator slammed the plan in a scathing speech.", {"slammed", "scathing"}),
        ("Left-wing activists railed against the outrageous decision.", {"Left-wing", "outrageous"}),
        ("The embattled mayor lashed out at reporters.", {"embattled", "lashed out"}),
        ("The brazen so-called reform drew a stark contrast.", {"brazen", "so-called", "stark"}),
    ],
)
def test_default_detector_flags_loaded_wording(nlp, sentence: str, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    det = load_default()
    doc = nlp(sentence)
    found = {doc.text[s:e] for s, e, _ in det.doc_spans(doc)}
    assert expected <= found or all(any(e in f for f in found) for e in expected), found


def test_idiom_is_flagged_whole(nlp, tiny_lexicon: Lexicon) -> None:  # type: ignore[no-untyped-def]
    det = LoadedWordingDetector(TermStats(pos={"VERB": (1, 100)}), weights=TEST_WEIGHTS, lexicon=tiny_lexicon)
    doc = nlp("The governor took aim at the unions and lashed out at critics.")
    found = [doc.text[s:e] for s, e, _ in det.doc_spans(doc)]
    assert "took aim at" in found and "lashed out" in found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He called it a “scheme” yesterday.", ["scheme"]),
        ('He called it a "scheme" yesterday.', ["scheme"]),
        ("She said “we will win this fight” on Monday.", ["we will win this fight"]),
        ("No quotation here.", []),
    ],
)
def test_quote_segments(nlp, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    doc = nlp(text)
    assert [doc[i:j].text for i, j in quote_segments(doc)] == expected


def test_context_features(nlp) -> None:  # type: ignore[no-untyped-def]
    doc = nlp("Veteran lawmaker John Carter called it the “worst” and most reckless plan.")
    premod = {doc[i].text for i in person_premodifiers(doc)}
    assert {"Veteran", "lawmaker"} <= premod
    feats = featurize(doc, Lexicon())
    row = {
        doc[i].text: dict(zip(FEATURES, r, strict=True)) for i, r in zip(feats.index, feats.rows, strict=True)
    }
    assert row["worst"]["scare_quote"] == 1.0 and row["worst"]["superlative"] == 1.0
    assert row["reckless"]["superlative"] == 1.0
    assert row["Veteran"]["premod_person"] == 1.0
    assert row["plan"]["premod_person"] == 0.0


def test_detector_round_trips_and_scores_text(nlp, tmp_path, tiny_lexicon: Lexicon) -> None:  # type: ignore[no-untyped-def]
    stats = TermStats(terms={"outrageous": (9, 10)}, pos={"ADJ": (5, 100)}, stories={"outrageous": 3})
    det = LoadedWordingDetector(stats, weights=TEST_WEIGHTS, lexicon=tiny_lexicon, threshold=0.5, nlp=nlp)
    doc = nlp("The outrageous plan passed.")
    spans = det.doc_spans(doc)
    assert [doc.text[s:e] for s, e, _ in spans] == ["outrageous"]
    assert det.score_text("An outrageous plan.") > det.score_text("A plan.")
    path = tmp_path / "d.json"
    payload = {
        **stats.to_json(min_stories=2),
        "weights": TEST_WEIGHTS,
        "params": {"smoothing": 2, "threshold": 0.5, "gap": 0, "min_stories": 2},
    }
    path.write_text(json.dumps(payload))
    again = LoadedWordingDetector.from_path(path, nlp=nlp)
    again_spans = LoadedWordingDetector(
        again.stats, weights=TEST_WEIGHTS, lexicon=tiny_lexicon, threshold=0.5
    ).doc_spans(doc)
    assert again_spans == spans


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"terms": {}, "pos": {}, "params": {"smoothing": 1}},
        {"terms": {}, "pos": {}, "weights": {"nope": 1}},
    ],
)
def test_malformed_data_is_a_config_error(tmp_path, payload: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ConfigError):
        LoadedWordingDetector.from_path(path)


def test_seed_002_clearly_denser_than_000(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    """Acceptance: the outlet with the partisan framing carries more loaded wording per word."""
    texts = {p.stem[:3]: p.read_text(encoding="utf-8").strip() for p in sorted(EXAMPLES.glob("*.txt"))}
    arts = make_analyzed(*texts.items())
    det = load_default()
    density = {}
    for art in arts:
        words = sum(1 for t in art.doc if not (t.is_punct or t.is_space))
        density[art.id] = 1000 * len(det.spans(art)) / words
    assert density["002"] > 1.5 * density["000"], density


@settings(max_examples=50, deadline=None)
@given(flags=st.lists(st.booleans(), min_size=1, max_size=12), gap=st.integers(0, 2))
def test_merge_flags_covers_every_flag_once(nlp, flags: list[bool], gap: int) -> None:  # type: ignore[no-untyped-def]
    doc = nlp.make_doc(" ".join(["word"] * len(flags)))
    runs = merge_flags(doc, flags, gap=gap)
    covered = [i for a, b in runs for i in range(a, b)]
    assert len(covered) == len(set(covered))
    assert {i for i, f in enumerate(flags) if f} <= set(covered)
    assert all(flags[a] and flags[b - 1] for a, b in runs)


@settings(max_examples=50, deadline=None)
@given(spans=st.lists(st.tuples(st.integers(0, 40), st.integers(1, 10)), max_size=5))
def test_token_flags_match_overlap(nlp, spans: list[tuple[int, int]]) -> None:  # type: ignore[no-untyped-def]
    doc = nlp.make_doc("alpha beta gamma delta epsilon zeta eta theta")
    char_spans = [(s, s + n) for s, n in spans]
    flags = token_flags(doc, char_spans)
    for tok in doc:
        expected = any(s < tok.idx + len(tok.text) and tok.idx < e for s, e in char_spans)
        assert flags[tok.i] == expected


@settings(max_examples=30, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(["the", "slammed", "plan", "-", "outrageous", "“", "”", "very"]), max_size=15
    )
)
def test_spans_are_ordered_disjoint_and_in_bounds(nlp, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    doc = nlp(" ".join(words))
    spans = load_default().doc_spans(doc)
    assert all(0 <= s < e <= len(doc.text) for s, e, _ in spans)
    assert all(a[1] <= b[0] for a, b in pairwise(spans))
    assert all(0 <= score <= 1 for _, _, score in spans)
