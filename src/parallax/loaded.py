"""Loaded-wording detector: which words of an article carry an outlet's slant.

The detector is learned from the phrase-level ``lex`` (lexical bias) annotations of BASIL
(Fan et al., 2019): for every lemma it knows how often the lemma fell inside an annotated span
and how often it occurred at all, and for every coarse part of speech the same two counts. Only
these numbers, computed by ``scripts/train_loaded.py``, are shipped (``data/loaded_terms.json``);
no BASIL text and no third-party word list is part of the package.

A token's score is a smoothed estimate of the probability that it lies inside a loaded span::

    p(token) = (inside[lemma] + m * prior[pos]) / (seen[lemma] + m)

where ``prior[pos]`` is the inside rate of the token's part of speech and ``m`` the smoothing
weight, so rare lemmas lean towards their part of speech and frequent ones towards their own
rate. Tokens scoring at or above the calibrated threshold are flagged; flagged tokens separated by
at most ``gap`` tokens are merged into one span. ``m``, the threshold and ``gap`` are chosen by
leave-one-year-out cross-validation on the training years (never on the example story).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parallax.errors import ConfigError
from parallax.records import AnalyzedArticle, LoadedSpan

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

log = logging.getLogger(__name__)

DATA_FILE = "loaded_terms.json"
#: Parts of speech that can carry loaded wording; the rest (punctuation, determiners, pronouns,
#: numbers, proper names) only ever join a span as a bridge between flagged tokens.
CONTENT_POS = frozenset({"ADJ", "ADV", "NOUN", "VERB", "INTJ", "X"})


def term_key(token: Token) -> str:
    """The key a token's statistics are stored under: its lower-cased lemma."""
    return (token.lemma_ or token.text).lower()


def is_word(token: Token) -> bool:
    """Whether a token counts as a word (for densities and token-level scores)."""
    return not (token.is_punct or token.is_space or token.pos_ in {"PUNCT", "SPACE", "SYM"})


@dataclass(frozen=True, slots=True)
class TermStats:
    """Counts learned from annotated text: per lemma and per part of speech, (inside, seen)."""

    terms: dict[str, tuple[int, int]] = field(default_factory=dict)
    pos: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_json(self, *, min_inside: int = 1) -> dict[str, Any]:
        """A JSON-able form; lemmas never seen inside a span are dropped (they score the prior)."""
        return {
            "pos": {k: list(v) for k, v in sorted(self.pos.items())},
            "terms": {k: list(v) for k, v in sorted(self.terms.items()) if v[0] >= min_inside},
        }


def fit_term_stats(docs: Iterable[tuple[Doc, Sequence[tuple[int, int]]]]) -> TermStats:
    """Count, over ``(doc, gold character spans)`` pairs, how often each lemma and POS is inside.

    A word token is *inside* when its characters overlap a gold span.
    """
    inside: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    pos_inside: Counter[str] = Counter()
    pos_seen: Counter[str] = Counter()
    for doc, gold in docs:
        flags = token_flags(doc, gold)
        for tok, flag in zip(doc, flags, strict=True):
            if not is_word(tok):
                continue
            key = term_key(tok)
            seen[key] += 1
            pos_seen[tok.pos_] += 1
            if flag:
                inside[key] += 1
                pos_inside[tok.pos_] += 1
    return TermStats(
        terms={k: (inside[k], n) for k, n in seen.items()},
        pos={k: (pos_inside[k], n) for k, n in pos_seen.items()},
    )


def token_flags(doc: Doc, spans: Sequence[tuple[int, int]]) -> list[bool]:
    """For each token of ``doc``, whether it overlaps one of the character ``spans``."""
    ordered = sorted(spans)
    flags = [False] * len(doc)
    j = 0
    for tok in doc:
        start, end = tok.idx, tok.idx + len(tok.text)
        while j < len(ordered) and ordered[j][1] <= start:
            j += 1
        k = j
        while k < len(ordered) and ordered[k][0] < end:
            if ordered[k][1] > start:
                flags[tok.i] = True
                break
            k += 1
    return flags


def merge_flags(doc: Doc, flags: Sequence[bool], *, gap: int) -> list[tuple[int, int]]:
    """Token index ranges ``[i, j)`` of runs of flagged tokens, bridging up to ``gap`` tokens.

    A bridge never crosses a sentence boundary or punctuation other than a hyphen.
    """
    runs: list[tuple[int, int]] = []
    for i, flag in enumerate(flags):
        if not flag:
            continue
        if runs:
            last_start, last_end = runs[-1]
            between = doc[last_end:i]
            bridgeable = (
                i - last_end <= gap
                and not doc[i].is_sent_start
                and all(not t.is_punct or t.text == "-" for t in between)
            )
            if i == last_end or bridgeable:
                runs[-1] = (last_start, i + 1)
                continue
        runs.append((i, i + 1))
    return runs


class LoadedWordingDetector:
    """Scores tokens by their learned probability of being loaded wording and groups them into spans."""

    def __init__(
        self,
        stats: TermStats,
        *,
        smoothing: float = 2.0,
        threshold: float = 0.25,
        gap: int = 0,
        train_years: Sequence[int] = (),
        nlp: Language | None = None,
    ) -> None:
        self.stats = stats
        #: BASIL years the statistics were learned from (evaluations score the others).
        self.train_years = tuple(train_years)
        self.smoothing = smoothing
        self.threshold = threshold
        self.gap = gap
        self._nlp = nlp
        self._pos_prior = {pos: (inside + 0.5) / (seen + 1.0) for pos, (inside, seen) in stats.pos.items()}
        self._default_prior = min(self._pos_prior.values(), default=0.0)

    @classmethod
    def from_json(cls, data: dict[str, Any], *, nlp: Language | None = None) -> LoadedWordingDetector:
        """Build a detector from the shipped JSON form (see ``scripts/train_loaded.py``)."""
        try:
            stats = TermStats(
                terms={str(k): (int(v[0]), int(v[1])) for k, v in data["terms"].items()},
                pos={str(k): (int(v[0]), int(v[1])) for k, v in data["pos"].items()},
            )
            params = data["params"]
            return cls(
                stats,
                smoothing=float(params["smoothing"]),
                threshold=float(params["threshold"]),
                gap=int(params["gap"]),
                train_years=[int(y) for y in data.get("train_years", [])],
                nlp=nlp,
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ConfigError(
                f"loaded-wording data is malformed ({exc!r}); regenerate it with scripts/train_loaded.py"
            ) from exc

    @classmethod
    def from_path(cls, path: str | Path, *, nlp: Language | None = None) -> LoadedWordingDetector:
        """Read a detector from a JSON file written by ``scripts/train_loaded.py``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read loaded-wording data: {exc}") from exc
        return cls.from_json(data, nlp=nlp)

    def token_score(self, token: Token) -> float:
        """Smoothed probability that ``token`` lies inside a loaded span (0 for non-content tokens)."""
        if token.pos_ not in CONTENT_POS or (not token.is_alpha and "-" not in token.text):
            return 0.0
        prior = self._pos_prior.get(token.pos_, self._default_prior)
        inside, seen = self.stats.terms.get(term_key(token), (0, 0))
        return (inside + self.smoothing * prior) / (seen + self.smoothing)

    def doc_scores(self, doc: Doc) -> list[float]:
        """``token_score`` of every token of ``doc``."""
        return [self.token_score(t) for t in doc]

    def doc_spans(self, doc: Doc) -> list[tuple[int, int, float]]:
        """Character spans ``(start, end, score)`` of loaded wording in ``doc``; score = max token score."""
        scores = self.doc_scores(doc)
        flags = [s >= self.threshold for s in scores]
        out = []
        for i, j in merge_flags(doc, flags, gap=self.gap):
            span = doc[i:j]
            out.append((span.start_char, span.end_char, round(max(scores[i:j]), 4)))
        return out

    def spans(self, art: AnalyzedArticle) -> list[LoadedSpan]:
        """Loaded-wording spans of one analysed article, offsets into its cleaned text."""
        text = art.article.text
        return [
            LoadedSpan(article=art.id, text=text[s:e], start=s, end=e, score=score)
            for s, e, score in self.doc_spans(art.doc)
        ]

    def score_text(self, text: str) -> float:
        """How loaded ``text`` is: the mean token score over its words (0 for no words).

        Comparable across texts of different lengths; used to prefer neutral wording.
        """
        if self._nlp is None:
            from parallax.nlp import load_pipeline

            self._nlp = load_pipeline()
        doc = self._nlp(text)
        scores = [self.token_score(t) for t in doc if is_word(t)]
        return sum(scores) / len(scores) if scores else 0.0


@lru_cache(maxsize=1)
def load_default() -> LoadedWordingDetector:
    """The detector shipped with Parallax (loaded once per process)."""
    try:
        raw = resources.files("parallax").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"parallax/data/{DATA_FILE} is missing ({exc}); reinstall Parallax or run scripts/train_loaded.py"
        ) from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"parallax/data/{DATA_FILE}: invalid JSON: {exc}") from exc
    return LoadedWordingDetector.from_json(data)
