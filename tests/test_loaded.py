"""Tests of the loaded-wording detector."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.loaded import (
    LoadedWordingDetector,
    TermStats,
    fit_term_stats,
    load_default,
    merge_flags,
    token_flags,
)


def test_default_detector_loads_and_is_cached() -> None:
    det = load_default()
    assert det is load_default()
    assert det.train_years and 0 < det.threshold < 1
    assert 2014 not in det.train_years and 2015 not in det.train_years


def test_fit_counts_inside_tokens(nlp) -> None:  # type: ignore[no-untyped-def]
    doc = nlp("The senator blasted the outrageous plan. The plan was approved.")
    start = doc.text.index("outrageous")
    stats = fit_term_stats([(doc, [(start, start + len("outrageous"))])])
    assert stats.terms["outrageous"] == (1, 1)
    assert stats.terms["plan"] == (0, 2)
    assert stats.pos["ADJ"][0] == 1
    assert "plan" not in stats.to_json()["terms"]


def test_detector_flags_learned_terms_and_round_trips(nlp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stats = TermStats(terms={"outrageous": (9, 10)}, pos={"ADJ": (5, 100), "NOUN": (1, 100)})
    det = LoadedWordingDetector(stats, threshold=0.5, nlp=nlp)
    doc = nlp("The outrageous plan passed.")
    spans = det.doc_spans(doc)
    assert [doc.text[s:e] for s, e, _ in spans] == ["outrageous"]
    assert det.score_text("An outrageous plan.") > det.score_text("A plan.")
    path = tmp_path / "d.json"
    path.write_text(json.dumps({**stats.to_json(), "params": {"smoothing": 2, "threshold": 0.5, "gap": 0}}))
    again = LoadedWordingDetector.from_path(path, nlp=nlp)
    assert again.doc_spans(doc) == spans


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
