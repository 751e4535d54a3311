"""Tests of the summary's own TF-IDF vectoriser against scikit-learn's on real articles."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from parallax.tfidf import ENGLISH_STOP_WORDS, TfidfVectorizer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _sentences() -> tuple[list[str], list[str]]:
    """Sentence-ish pieces of the example articles, and their first lines as titles."""
    texts: list[str] = []
    titles: list[str] = []
    for path in sorted(EXAMPLES.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        lines = [line for line in raw.splitlines() if line.strip()]
        titles.append(lines[0])
        texts.extend(s for s in re.split(r"(?<=[.!?])\s+", raw) if s.strip())
    return texts, titles


def test_matches_scikit_learn_on_the_example_articles() -> None:
    text = pytest.importorskip("sklearn.feature_extraction.text")
    texts, titles = _sentences()
    assert len(texts) > 50
    ours = TfidfVectorizer().fit(texts)
    theirs = text.TfidfVectorizer(sublinear_tf=True, stop_words="english").fit(texts)
    assert ours.vocabulary_ == theirs.vocabulary_
    np.testing.assert_allclose(ours.idf_, theirs.idf_, rtol=1e-12)
    for batch in (texts, titles, ["Nothing known here: zzqx", ""]):
        mine = ours.transform(batch)
        assert mine.shape == (len(batch), len(ours.vocabulary_))
        np.testing.assert_allclose(mine.toarray(), theirs.transform(batch).toarray(), atol=1e-12)


def test_stop_words_are_scikit_learns() -> None:
    text = pytest.importorskip("sklearn.feature_extraction.text")
    assert ENGLISH_STOP_WORDS == text.ENGLISH_STOP_WORDS


def test_only_stop_words_gives_an_empty_vocabulary() -> None:
    vec = TfidfVectorizer().fit(["the and of", "a I"])
    assert vec.vocabulary_ == {}
    assert vec.transform(["the news"]).shape == (1, 0)
