"""Loaded-wording detector: which words of an article carry an outlet's slant.

A small logistic model scores every content token of a spaCy Doc with the probability that it
lies inside a loaded span. Its features come from three sources, so that it does not have to
learn the vocabulary of loaded English from the few hundred annotated spans available:

* **a hand-written lexicon** (``data/loaded_lexicon.txt``, written for Parallax): vehement verbs,
  emotive words and partisan labels, intensifiers, loaded nouns, idioms, focus particles and
  sometimes-evaluative words, one feature per category, each restricted to the parts of speech
  the category is about ("slam" the verb, not "Grand Slam");
* **corpus statistics** from the phrase-level ``lex`` annotations of BASIL (Fan et al., 2019): the
  smoothed rate at which a lemma falls inside an annotated span, relative to its part of speech.
  A lemma counts as evidence *for* loadedness only when it was annotated in at least
  ``min_stories`` different stories (one story's topic words, such as "hair" in a story about
  hair, are not loaded wording); a lexicon lemma seen often but annotated rarely is evidence
  *against* it;
* **context**: the part of speech, whether the token premodifies a person's name ("Left-wing
  Hollywood activist X"), whether it is a superlative, whether it sits in scare quotes (one to
  three quoted words) or inside a longer quotation (someone else's words).

Only the model weights, the lexicon and per-lemma counts computed by ``scripts/train_loaded.py``
are shipped (``data/loaded_terms.json``); no BASIL text and no third-party word list. Flagged
tokens (probability at or above the calibrated threshold) are grouped into spans; a matched idiom
is flagged whole. Weights, threshold, smoothing and gap are calibrated by leave-one-year-out
cross-validation on the training years (never on the example story).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
LEXICON_FILE = "loaded_lexicon.txt"
#: Parts of speech that can carry loaded wording on their own; other tokens join a span only as
#: part of a matched idiom or as a hyphen inside a flagged compound.
CONTENT_POS = frozenset({"ADJ", "ADV", "NOUN", "VERB", "INTJ", "X"})
#: Lexicon categories and the parts of speech a single-word entry of each may match.
CATEGORY_POS: dict[str, frozenset[str]] = {
    "verb": frozenset({"VERB"}),
    # spaCy's small model often tags a predicative or rare adjective as a noun ("brazen")
    "emotive": frozenset({"ADJ", "VERB", "ADV", "NOUN", "X"}),
    "intensifier": frozenset({"ADV", "ADJ"}),
    "noun": frozenset({"NOUN"}),
    "phrase": frozenset({"ADJ", "NOUN", "ADV", "VERB"}),
    "particle": frozenset({"ADV", "ADJ", "DET", "PART"}),
    "mild": frozenset({"ADJ", "NOUN", "ADV", "VERB"}),
}
CATEGORIES = tuple(CATEGORY_POS)
POS_FEATURES = ("ADJ", "ADV", "VERB", "NOUN")
#: Feature names, in the order of a feature vector.
FEATURES: tuple[str, ...] = (
    "bias",
    *(f"lex_{c}" for c in CATEGORIES),
    "corpus",
    "corpus_against",
    *(f"pos_{p}" for p in POS_FEATURES),
    "premod_person",
    "superlative",
    "scare_quote",
    "in_quote",
    "lex_in_quote",
)
_CORPUS = FEATURES.index("corpus")
_AGAINST = FEATURES.index("corpus_against")
_ENTRY_TOKEN = re.compile(r"[\w']+|[^\w\s]")
_OPEN_DOUBLE = frozenset({"“", "«", "„"})
_CLOSE_DOUBLE = frozenset({"”", "»"})
_PREMOD_DEPS = frozenset({"amod", "compound", "nmod", "advmod", "npadvmod", "punct"})


def term_key(token: Token) -> str:
    """The key a token's statistics are stored under: its lower-cased lemma."""
    return (token.lemma_ or token.text).lower()


def is_word(token: Token) -> bool:
    """Whether a token counts as a word (for densities and token-level scores)."""
    return not (token.is_punct or token.is_space or token.pos_ in {"PUNCT", "SPACE", "SYM"})


def story_of(doc_id: str) -> str:
    """The story a BASIL-style article id (``<story>_<n>``) belongs to."""
    return doc_id.rsplit("_", 1)[0]


# --- lexicon --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Single-word entries (key -> categories) and multi-word entries indexed by their first word."""

    words: dict[str, frozenset[str]] = field(default_factory=dict)
    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, *, source: str = LEXICON_FILE) -> Lexicon:
        """Read the ``[category]``-sectioned, one-entry-per-line format of ``loaded_lexicon.txt``."""
        words: defaultdict[str, set[str]] = defaultdict(set)
        phrases: defaultdict[str, set[tuple[tuple[str, ...], str]]] = defaultdict(set)
        category: str | None = None
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip().lower()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                category = line[1:-1]
                if category not in CATEGORY_POS:
                    raise ConfigError(
                        f"{source}:{n}: unknown category [{category}]; use one of {', '.join(CATEGORIES)}"
                    )
                continue
            if category is None:
                raise ConfigError(f"{source}:{n}: entry {line!r} before any [category] header")
            tokens = tuple(_ENTRY_TOKEN.findall(line))
            if len(tokens) == 1:
                words[tokens[0]].add(category)
            else:
                phrases[tokens[0]].add((tokens, category))
        return cls(
            words={k: frozenset(v) for k, v in words.items()},
            phrases={k: tuple(sorted(v, key=lambda p: (-len(p[0]), p))) for k, v in phrases.items()},
        )

    def __len__(self) -> int:
        return len(self.words) + sum(len(v) for v in self.phrases.values())

    def match_phrases(
        self, doc: Doc, *, lowers: Sequence[str] | None = None, keys: Sequence[str] | None = None
    ) -> list[tuple[int, int, str]]:
        """Token ranges ``(i, j, category)`` of multi-word entries in ``doc`` (longest first per start).

        A token matches an entry word by its lower-cased form or its lemma; a match never crosses
        a line break. ``lowers``/``keys`` are the tokens' lower-cased forms and lemma keys when the
        caller already has them.
        """
        lowers = lowers if lowers is not None else [t.lower_ for t in doc]
        keys = keys if keys is not None else [term_key(t) for t in doc]
        out: list[tuple[int, int, str]] = []
        n = len(doc)
        for i in range(n):
            cands = self.phrases.get(lowers[i]) or self.phrases.get(keys[i])
            if not cands:
                continue
            for words, category in cands:
                j = i + len(words)
                if j > n:
                    continue
                if (
                    all(lowers[i + k] == w or keys[i + k] == w for k, w in enumerate(words))
                    and "\n" not in doc[i:j].text
                ):
                    out.append((i, j, category))
                    break
        return out


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The lexicon shipped with Parallax (read once per process)."""
    try:
        text = resources.files("parallax").joinpath("data", LEXICON_FILE).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise ConfigError(f"parallax/data/{LEXICON_FILE} is missing ({exc}); reinstall Parallax") from exc
    return Lexicon.parse(text, source=f"parallax/data/{LEXICON_FILE}")


# --- corpus statistics ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermStats:
    """Counts learned from annotated text.

    ``terms`` and ``pos`` map a lemma or a part of speech to ``(inside, seen)``; ``stories`` maps a
    lemma to the number of different stories in which it was inside an annotated span.
    """

    terms: dict[str, tuple[int, int]] = field(default_factory=dict)
    pos: dict[str, tuple[int, int]] = field(default_factory=dict)
    stories: dict[str, int] = field(default_factory=dict)

    def to_json(self, *, min_stories: int = 1, keep: Iterable[str] = ()) -> dict[str, Any]:
        """A JSON-able form with the lemmas the detector can use.

        Kept: lemmas inside spans of at least ``min_stories`` stories, and the lemmas in ``keep``
        (the lexicon's, whose counts can speak against them). The others score 0 anyway.
        """
        kept = set(keep)
        terms = {
            k: [v[0], v[1], self.stories.get(k, 0)]
            for k, v in sorted(self.terms.items())
            if self.stories.get(k, 0) >= min_stories or (k in kept and v[1] > 0)
        }
        return {"pos": {k: list(v) for k, v in sorted(self.pos.items())}, "terms": terms}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TermStats:
        """Inverse of :meth:`to_json` (``terms`` values are ``[inside, seen]`` or ``[inside, seen, stories]``)."""
        terms = {str(k): (int(v[0]), int(v[1])) for k, v in data["terms"].items()}
        stories = {str(k): int(v[2]) if len(v) > 2 else int(v[0] > 0) for k, v in data["terms"].items()}
        pos = {str(k): (int(v[0]), int(v[1])) for k, v in data["pos"].items()}
        return cls(terms=terms, pos=pos, stories=stories)


def fit_term_stats(
    docs: Iterable[tuple[Doc, Sequence[tuple[int, int]]]], *, stories: Sequence[str] | None = None
) -> TermStats:
    """Count, over ``(doc, gold character spans)`` pairs, how often each lemma and POS is inside.

    A word token is *inside* when its characters overlap a gold span. ``stories`` names the story
    of each document (each document is its own story when omitted).
    """
    inside: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    pos_inside: Counter[str] = Counter()
    pos_seen: Counter[str] = Counter()
    story_sets: defaultdict[str, set[str]] = defaultdict(set)
    for n, (doc, gold) in enumerate(docs):
        story = stories[n] if stories is not None else str(n)
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
                story_sets[key].add(story)
    return TermStats(
        terms={k: (inside[k], n) for k, n in seen.items()},
        pos={k: (pos_inside[k], n) for k, n in pos_seen.items()},
        stories={k: len(v) for k, v in story_sets.items()},
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


# --- features -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocFeatures:
    """The candidate tokens of one Doc and their features, except the corpus feature.

    ``rows[k]`` is the feature vector (ordered as :data:`FEATURES`, corpus slot 0) of token
    ``index[k]``; ``keys``/``pos`` are that token's lemma key and part of speech, which the
    corpus feature is computed from; ``phrases`` are the matched multi-word entries.
    """

    index: tuple[int, ...]
    rows: tuple[tuple[float, ...], ...]
    keys: tuple[str, ...]
    pos: tuple[str, ...]
    phrases: tuple[tuple[int, int, str], ...]


def quote_segments(doc: Doc) -> list[tuple[int, int]]:
    """Token ranges ``[i, j)`` between matching quotation marks (curly, guillemets or straight)."""
    segments: list[tuple[int, int]] = []
    double: int | None = None
    single: int | None = None
    for tok in doc:
        t = tok.text
        if t in _OPEN_DOUBLE or (t in {'"', "``"} and double is None):
            double = tok.i
        elif t in _CLOSE_DOUBLE or (t in {'"', "''"} and double is not None):
            if double is not None:
                segments.append((double + 1, tok.i))
            double = None
        elif t == "‘":
            single = tok.i
        elif t == "’" and single is not None:
            segments.append((single + 1, tok.i))
            single = None
    return segments


def person_premodifiers(doc: Doc) -> set[int]:
    """Indices of the words modifying a person's name from the left ("Left-wing activist X").

    Walks left from each PERSON entity while the token modifies a token of the chain or the name.
    Proper nouns ("Hollywood"), determiners and numbers are walked over but not marked: they are
    names or function words, not wording; any other punctuation than a hyphen ends the chain.
    """
    out: set[int] = set()
    for ent in doc.ents:
        if ent.label_ != "PERSON":
            continue
        i = ent.start - 1
        while i >= 0:
            tok = doc[i]
            if tok.dep_ not in _PREMOD_DEPS or not (i < tok.head.i < ent.end) or "\n" in tok.text_with_ws:
                break
            if tok.is_punct and tok.text != "-":
                break
            if tok.pos_ in {"DET", "PRON", "PROPN", "NUM"}:
                i -= 1
                continue
            out.add(i)
            i -= 1
    return out


def _is_superlative(tok: Token) -> bool:
    """A superlative adjective or adverb ("worst", "most reckless"), not "most" itself."""
    if tok.tag_ in {"JJS", "RBS"} and tok.lower_ not in {"most", "least"}:
        return True
    return tok.pos_ in {"ADJ", "ADV"} and any(c.lower_ == "most" and c.dep_ == "advmod" for c in tok.children)


def featurize(doc: Doc, lexicon: Lexicon) -> DocFeatures:
    """Candidate tokens of ``doc`` and their lexicon, part-of-speech and context features.

    1. match multi-word lexicon entries; their tokens become candidates whatever their POS;
    2. mark scare-quoted words (one to three words between quote marks) and quoted passages;
    3. mark the premodifiers of person names;
    4. for every candidate (a content word or a phrase token), build its feature vector.
    """
    lowers = [t.lower_ for t in doc]
    all_keys = [term_key(t) for t in doc]
    all_pos = [t.pos_ for t in doc]
    # 1. multi-word entries
    phrases = lexicon.match_phrases(doc, lowers=lowers, keys=all_keys)
    phrase_cats: defaultdict[int, set[str]] = defaultdict(set)
    for i, j, cat in phrases:
        for k in range(i, j):
            if is_word(doc[k]):
                phrase_cats[k].add(cat)
    # 2. quotations
    scare: set[int] = set()
    quoted: set[int] = set()
    for i, j in quote_segments(doc):
        words = [k for k in range(i, j) if is_word(doc[k])]
        (scare if 0 < len(words) <= 3 else quoted).update(words)
    # 3. premodifiers of names
    premod = person_premodifiers(doc)
    # 4. feature vectors
    index: list[int] = []
    rows: list[tuple[float, ...]] = []
    keys: list[str] = []
    poses: list[str] = []
    for i, pos in enumerate(all_pos):
        if i not in phrase_cats and (pos not in CONTENT_POS or not (lowers[i].isalpha() or "-" in lowers[i])):
            continue
        tok = doc[i]
        key = all_keys[i]
        cats = set(phrase_cats.get(i, ()))
        for form in (key, lowers[i]):
            for cat in lexicon.words.get(form, ()):
                if pos in CATEGORY_POS[cat]:
                    cats.add(cat)
        in_quote = i in quoted
        row = (
            1.0,
            *(float(c in cats) for c in CATEGORIES),
            0.0,
            0.0,
            *(float(pos == p) for p in POS_FEATURES),
            float(i in premod and pos in {"ADJ", "NOUN", "VERB"}),
            float(pos in {"ADJ", "ADV"} and _is_superlative(tok)),
            float(i in scare),
            float(in_quote),
            float(in_quote and bool(cats)),
        )
        index.append(i)
        rows.append(row)
        keys.append(key)
        poses.append(pos)
    return DocFeatures(tuple(index), tuple(rows), tuple(keys), tuple(poses), tuple(phrases))


class CorpusPrior:
    """The corpus features: log of a lemma's smoothed inside rate over its part of speech's rate.

    ``(inside + m * prior) / (seen + m)`` against ``prior``. A lemma inside spans of at least
    ``min_stories`` stories gives that log ratio as evidence *for* (``corpus``); a lexicon lemma
    without such support gives it with ``inside = 0`` as evidence *against* (``corpus_against``,
    at most 0: the more often it was seen unannotated, the lower). Other lemmas score 0 on both:
    what a single story happens to repeat says nothing about other stories.
    """

    def __init__(
        self, stats: TermStats, *, smoothing: float, min_stories: int, lexicon_keys: Iterable[str]
    ) -> None:
        self.stats = stats
        self.smoothing = smoothing
        self.min_stories = min_stories
        self.lexicon_keys = frozenset(lexicon_keys)
        self._prior = {p: (i + 0.5) / (n + 1.0) for p, (i, n) in stats.pos.items()}
        self._default = min(self._prior.values(), default=0.01)

    def __call__(self, key: str, pos: str) -> tuple[float, float]:
        """``(corpus, corpus_against)`` of a lemma with part of speech ``pos``."""
        counts = self.stats.terms.get(key)
        if counts is None:
            return 0.0, 0.0
        supported = self.stats.stories.get(key, 0) >= self.min_stories
        if not supported and key not in self.lexicon_keys:
            return 0.0, 0.0
        inside, seen = counts
        prior = self._prior.get(pos, self._default)
        rate = ((inside if supported else 0) + self.smoothing * prior) / (seen + self.smoothing)
        ratio = math.log(rate / prior)
        return (ratio, 0.0) if supported else (0.0, min(ratio, 0.0))

    def matrix(self, feats: DocFeatures) -> list[list[float]]:
        """The full feature vectors of ``feats`` (corpus slot filled in)."""
        out = []
        for row, key, pos in zip(feats.rows, feats.keys, feats.pos, strict=True):
            full = list(row)
            full[_CORPUS], full[_AGAINST] = self(key, pos)
            out.append(full)
        return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def spans_from_scores(
    doc: Doc,
    scores: Sequence[float],
    phrases: Iterable[tuple[int, int, str]],
    *,
    threshold: float,
    gap: int,
) -> list[tuple[int, int, float]]:
    """Character spans ``(start, end, max score)`` from token scores (steps 1-3 of ``doc_spans``)."""
    # 1. flags
    flags = [s >= threshold for s in scores]
    # 2. whole idioms, hyphenated compounds
    for i, j, _cat in phrases:
        if any(flags[i:j]):
            flags[i:j] = [True] * (j - i)
    for i in range(1, len(doc) - 1):
        if doc[i].text == "-" and flags[i - 1] and flags[i + 1]:
            flags[i] = True
    # 3. spans
    out = []
    for i, j in merge_flags(doc, flags, gap=gap):
        span = doc[i:j]
        out.append((span.start_char, span.end_char, round(max(scores[i:j]), 4)))
    return out


# --- the detector ---------------------------------------------------------------------------------


class LoadedWordingDetector:
    """Scores tokens by their probability of being loaded wording and groups them into spans."""

    def __init__(
        self,
        stats: TermStats,
        *,
        weights: Mapping[str, float],
        lexicon: Lexicon | None = None,
        smoothing: float = 2.0,
        min_stories: int = 2,
        threshold: float = 0.5,
        gap: int = 0,
        train_years: Sequence[int] = (),
        nlp: Language | None = None,
    ) -> None:
        unknown = set(weights) - set(FEATURES)
        if unknown:
            raise ConfigError(f"loaded-wording weights name unknown features {sorted(unknown)}")
        self.stats = stats
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.weights = tuple(float(weights.get(f, 0.0)) for f in FEATURES)
        #: BASIL years the model was learned from (evaluations score the others).
        self.train_years = tuple(train_years)
        self.smoothing = smoothing
        self.min_stories = min_stories
        self.threshold = threshold
        self.gap = gap
        self._nlp = nlp
        self.corpus = CorpusPrior(
            stats, smoothing=smoothing, min_stories=min_stories, lexicon_keys=self.lexicon.words
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, nlp: Language | None = None) -> LoadedWordingDetector:
        """Build a detector from the shipped JSON form (see ``scripts/train_loaded.py``)."""
        try:
            params = data["params"]
            return cls(
                TermStats.from_json(data),
                weights={str(k): float(v) for k, v in data["weights"].items()},
                smoothing=float(params["smoothing"]),
                min_stories=int(params["min_stories"]),
                threshold=float(params["threshold"]),
                gap=int(params["gap"]),
                train_years=[int(y) for y in data.get("train_years", [])],
                nlp=nlp,
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
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

    def doc_scores(self, doc: Doc) -> list[float]:
        """Probability of being loaded wording for every token of ``doc`` (0 for non-candidates)."""
        return self._scores(doc, featurize(doc, self.lexicon))

    def _scores(self, doc: Doc, feats: DocFeatures) -> list[float]:
        scores = [0.0] * len(doc)
        w = self.weights
        for i, row in zip(feats.index, self.corpus.matrix(feats), strict=True):
            scores[i] = _sigmoid(sum(a * b for a, b in zip(w, row, strict=True)))
        return scores

    def doc_spans(self, doc: Doc) -> list[tuple[int, int, float]]:
        """Character spans ``(start, end, score)`` of loaded wording in ``doc``; score = max token score.

        1. score the tokens and flag those at or above the threshold;
        2. flag a matched multi-word entry whole when one of its words is flagged, and a hyphen
           between two flagged words;
        3. merge flagged runs (bridging up to ``gap`` tokens).
        """
        # 1. token scores
        feats = featurize(doc, self.lexicon)
        scores = self._scores(doc, feats)
        # 2.-3. flags to spans
        return spans_from_scores(doc, scores, feats.phrases, threshold=self.threshold, gap=self.gap)

    def spans(self, art: AnalyzedArticle) -> list[LoadedSpan]:
        """Loaded-wording spans of one analysed article, offsets into its cleaned text."""
        text = art.article.text
        return [
            LoadedSpan(article=art.id, text=text[s:e], start=s, end=e, score=score)
            for s, e, score in self.doc_spans(art.doc)
        ]

    def score_text(self, text: str) -> float:
        """How loaded ``text`` is: the mean token probability over its words (0 for no words).

        Comparable across texts of different lengths; used to prefer neutral wording.
        """
        if self._nlp is None:
            from parallax.nlp import load_pipeline

            self._nlp = load_pipeline()
        doc = self._nlp(text)
        scores = self.doc_scores(doc)
        words = [scores[t.i] for t in doc if is_word(t)]
        return sum(words) / len(words) if words else 0.0


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
