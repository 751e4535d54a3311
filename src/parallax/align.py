"""Stage 4: align sentences across the articles of one story into facts, and list omissions.

A *fact* is a group of sentences, at most one per article, that report the same thing. Every
sentence of every article is the main mention of exactly one fact (a sentence nobody else reports
forms a ``unique`` fact). Coverage asks "does this article carry the claim": a sentence that says
in one sentence what another article says in two is also recorded as a mention of the second fact
it carries (many-to-one), so a sentence may appear in more than one fact.

**Pair score.** Two sentences from different articles get the probability, under a logistic
regression learned on MSRP train (news sentence pairs from different outlets, labelled
equivalent or not; see ``parallax eval align`` and ``docs/evaluation.md``), that they report the
same thing. Its features (:data:`FEATURES`) are computed for candidate pairs only:

* ``dense``: cosine of the two ``Embedder.encode`` vectors;
* ``lemma_dice``, ``lemma_containment``, ``unmatched``: overlap of content lemmas (Dice, share of
  the smaller set found in the other, log count of lemmas found in only one);
* ``bigram_dice``: Dice overlap of lemma bigrams (word order);
* ``entity_jaccard``, ``entity_clash``: named entities shared, and entities of one label that
  differ (two people, two places);
* ``number_clash``, ``number_one_side``: numbers that disagree, numbers only one sentence has;
* ``negation_mismatch``: one sentence negated and the other not;
* ``agent_match``, ``agent_clash``, ``patient_match``, ``patient_clash``, ``role_swap``: who does
  what to whom (subjects and passive agents vs objects and passive subjects);
* ``length_ratio``: shorter over longer, in words;
* ``word_dice``, ``word_unmatched``: overlap of all lower-cased words, stop words included;
* ``word_bigram_dice``, ``word_trigram_dice``, ``char3_dice``, ``char4_dice``: overlap of word
  n-grams and character n-grams of the lower-cased words (wording kept, as in MT metrics);
* ``word_containment_min``, ``word_containment_max``: the share of each sentence's words found
  in the other, the smaller and the larger;
* ``quote``: the *quote score* ``0.4 + 0.6 * containment(quoted words)`` when at least 70 % of
  the shorter quotation (5 words or more) lies in the longer one and one of the two sentences is
  mostly quotation (two outlets quoting the same words report the same statement), else 0.

The quote score is a learned feature, not an override: on MSRP, forcing "same" for such pairs
cost accuracy and ROC-AUC (81 % of them are equivalent; the model does better). Sentences too
short to carry a fact on their own (fewer than ``min_content`` content lemmas, or a lone short
quotation fragment) never align.

Only pairs that share at least one content lemma that is not frequent in the story are scored
(a sparse product), so the cost grows with the number of plausible pairs, not with the square
of the number of sentences. The shipped coefficients are in ``data/align_model.json``.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from parallax.embed import Embedder, cascade_of
from parallax.errors import ConfigError
from parallax.records import AnalyzedArticle, Fact, FactStatus, Mention

if TYPE_CHECKING:
    from spacy.tokens import Doc

log = logging.getLogger(__name__)

ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "NORP", "DATE", "CARDINAL", "MONEY", "EVENT", "LOC", "FAC"}
)
#: Labels whose entities name who or where: two different ones in a pair is a clash.
_CLASH_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})

MODEL_PATH = Path(__file__).parent / "data" / "align_model.json"
STATIC_MODEL_PATH = Path(__file__).parent / "data" / "align_model_static.json"

FEATURES: tuple[str, ...] = (
    "dense",
    "lemma_dice",
    "lemma_containment",
    "unmatched",
    "bigram_dice",
    "entity_jaccard",
    "entity_clash",
    "number_clash",
    "number_one_side",
    "negation_mismatch",
    "agent_match",
    "agent_clash",
    "patient_match",
    "patient_clash",
    "role_swap",
    "length_ratio",
    "word_dice",
    "word_unmatched",
    "quote",
    "word_bigram_dice",
    "word_trigram_dice",
    "char3_dice",
    "char4_dice",
    "word_containment_min",
    "word_containment_max",
)

# Double quotation marks only: single marks are too often apostrophes.
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]+)[\"“”„«»]")
_WORD = re.compile(r"[\w']+")
_NEGATIONS = frozenset({"not", "n't", "no", "never", "nobody", "nothing", "none", "neither", "nor"})
_NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}
_AGENT_DEPS = frozenset({"nsubj", "csubj"})
_PATIENT_DEPS = frozenset({"dobj", "nsubjpass", "dative", "attr"})

#: No two sentences of one fact score below this with each other unless one contains the other
#: (:func:`group_sentences`). On MSRP train (``python scripts/align_group_floor.py``), 90.7% of
#: the pairs the shipped model scores below 0.15 are labelled not equivalent, and they hold
#: 0.6% of the equivalent pairs.
GROUP_FLOOR = 0.15

_STATUS_ORDER: dict[FactStatus, int] = {"consensus": 0, "partial": 1, "unique": 2}


@dataclass(frozen=True)
class Alignment:
    """The facts of a story and, per article, the ids of the facts it does not carry."""

    facts: list[Fact]
    omissions: list[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class SentenceFeatures:
    """What the aligner knows about one sentence besides its embedding."""

    article: str
    article_pos: int
    index: int
    start: int
    end: int
    text: str
    lemmas: frozenset[str]
    entities: frozenset[str]
    quoted: frozenset[str]
    quote_fraction: float
    alignable: bool
    bigrams: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    negated: bool = False
    agents: frozenset[str] = frozenset()
    patients: frozenset[str] = frozenset()
    words: int = 0
    tokens: frozenset[str] = frozenset()
    ngrams: frozenset[str] = frozenset()  # word bigrams ("2:...") and trigrams ("3:...")
    chars: frozenset[str] = frozenset()  # character 3-grams ("3:...") and 4-grams ("4:...")


@dataclass(frozen=True)
class PairModel:
    """A logistic regression over :data:`FEATURES` (standardised) and its decision threshold."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(equivalent) for each row of the raw feature matrix ``x``."""
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, object], *, source: str = "pair model") -> PairModel:
        try:
            feats = tuple(str(f) for f in data["features"])  # type: ignore[attr-defined]
            model = cls(
                features=feats,
                mean=np.asarray(data["mean"], dtype=np.float64),
                scale=np.asarray(data["scale"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64),
                intercept=float(data["intercept"]),  # type: ignore[arg-type]
                threshold=float(data["threshold"]),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: malformed alignment model: {exc}") from exc
        if feats != FEATURES or not (len(model.mean) == len(model.scale) == len(model.coef) == len(feats)):
            raise ConfigError(f"{source}: alignment model features do not match this version of Parallax")
        return model


@lru_cache(maxsize=1)
def static_model() -> tuple[PairModel, float]:
    """The pair model fitted on the static (``minilm-static``) vectors and the cascade margin
    (logit units around its threshold) chosen by MSRP cross-validation: see :func:`align`."""
    try:
        data = json.loads(STATIC_MODEL_PATH.read_text(encoding="utf-8"))
        margin = float(data["cascade_margin"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{STATIC_MODEL_PATH}: cannot read the static alignment model: {exc}") from exc
    return PairModel.from_json(data, source=str(STATIC_MODEL_PATH)), margin


@lru_cache(maxsize=1)
def default_model() -> PairModel:
    """The shipped pair model (coefficients learned on MSRP train; see the file's ``licence``)."""
    try:
        data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{MODEL_PATH}: cannot read the alignment model: {exc}") from exc
    return PairModel.from_json(data, source=str(MODEL_PATH))


def quoted_words(text: str) -> tuple[frozenset[str], float]:
    """Lower-cased words inside double quote marks, and the share of the text's words they make up."""
    inner = [m.group(1) for m in _QUOTED.finditer(text)]
    # An unclosed opening mark (a quotation running on past the sentence end) counts from the mark.
    if not inner:
        opened = re.search(r"[“„«\"]", text)
        if opened and not re.search(r"[”»\"]", text[opened.end() :]):
            inner = [text[opened.end() :]]
    words = [w.lower() for part in inner for w in _WORD.findall(part)]
    total = len(_WORD.findall(text))
    return frozenset(words), (len(words) / total if total else 0.0)


def _number_key(text: str) -> str | None:
    low = text.lower().replace(",", "")
    if low in _NUMBER_WORDS:
        return _NUMBER_WORDS[low]
    digits = re.sub(r"[^\d.]", "", low).strip(".")
    return digits or None


@dataclass(frozen=True)
class _Entities:
    """A document's entities of :data:`ENTITY_LABELS` as sorted character spans, read once:
    ``Doc.ents`` rebuilds every entity of the document on each access, so asking it once per
    sentence made long articles quadratic."""

    starts: list[int]
    items: list[tuple[int, str]]  # (end_char, feature key), in start order

    @classmethod
    def of(cls, doc: Doc) -> _Entities:
        found = sorted(
            (e.start_char, e.end_char, f"{e.label_}:{' '.join(_WORD.findall(e.text.lower()))}")
            for e in doc.ents
            if e.label_ in ENTITY_LABELS
        )
        return cls(starts=[a for a, _, _ in found], items=[(b, key) for _, b, key in found])

    def within(self, start: int, end: int) -> frozenset[str]:
        """The keys of the entities inside ``[start, end)`` of the text."""
        out = set()
        for k in range(bisect_left(self.starts, start), bisect_left(self.starts, end)):
            stop, key = self.items[k]
            if stop <= end:
                out.add(key)
        return frozenset(out)


def _span_features(
    art: AnalyzedArticle,
    pos: int,
    index: int,
    start: int,
    end: int,
    min_content: int,
    entities: _Entities | None = None,
) -> SentenceFeatures:
    """The features of the text ``art.article.text[start:end]`` (a sentence or a piece of one);
    ``entities`` are the document's (:class:`_Entities`), read here when not given."""
    doc = art.doc
    text = art.article.text[start:end]
    span = doc.char_span(start, end, alignment_mode="expand")
    tokens = list(span) if span is not None else []
    lemmas = frozenset(
        (t.lemma_ or t.text).lower()
        for t in tokens
        if (t.is_alpha or t.like_num) and not t.is_stop and len(t.text) > 1
    )
    seq = [(t.lemma_ or t.text).lower() for t in tokens if t.is_alpha or t.like_num]
    numbers = frozenset(k for t in tokens if t.like_num and (k := _number_key(t.text)) is not None)
    agents: set[str] = set()
    patients: set[str] = set()
    for t in tokens:
        key = (t.lemma_ or t.text).lower() if t.pos_ != "PRON" else t.text.lower()
        if t.dep_ in _AGENT_DEPS or (t.dep_ == "pobj" and t.head.dep_ == "agent"):
            agents.add(key)
        elif t.dep_ in _PATIENT_DEPS:
            patients.add(key)
    ents = (entities or _Entities.of(doc)).within(start, end)
    quoted, qfrac = quoted_words(text)
    lone_fragment = qfrac >= 0.8 and len(quoted) < 6
    words = [w.lower() for w in _WORD.findall(text)]
    joined = " ".join(words)
    ngrams = {f"{n}:{' '.join(words[k : k + n])}" for n in (2, 3) for k in range(len(words) - n + 1)}
    chars = {f"{n}:{joined[k : k + n]}" for n in (3, 4) for k in range(len(joined) - n + 1)}
    return SentenceFeatures(
        article=art.id,
        article_pos=pos,
        index=index,
        start=start,
        end=end,
        text=text,
        lemmas=lemmas,
        entities=ents,
        quoted=quoted,
        quote_fraction=qfrac,
        alignable=len(lemmas) >= min_content and not lone_fragment,
        bigrams=frozenset(f"{a} {b}" for a, b in itertools.pairwise(seq)),
        numbers=numbers,
        negated=any(t.dep_ == "neg" or t.lower_ in _NEGATIONS for t in tokens),
        agents=frozenset(agents),
        patients=frozenset(patients),
        words=len(seq),
        tokens=frozenset(words),
        ngrams=frozenset(ngrams),
        chars=frozenset(chars),
    )


def sentence_features(analyzed: Sequence[AnalyzedArticle], *, min_content: int = 3) -> list[SentenceFeatures]:
    """Lemmas, entities, numbers, roles and quoted words of every sentence, in article then sentence order."""
    out: list[SentenceFeatures] = []
    for pos, art in enumerate(analyzed):
        entities = _Entities.of(art.doc)
        out.extend(
            _span_features(art, pos, sent.index, sent.start, sent.end, min_content, entities)
            for sent in art.sentences
        )
    return out


def piece_features(
    analyzed: Sequence[AnalyzedArticle], *, min_content: int = 3
) -> tuple[list[SentenceFeatures], list[int]]:
    """Features of the spaCy sentences inside claim units made of several, and the unit of each.

    A claim unit keeps a quotation that spans sentences whole (:func:`parallax.nlp.sentence_ranges`);
    its pieces let one outlet's single sentence match one sentence of another outlet's longer unit.
    """
    pieces: list[SentenceFeatures] = []
    owner: list[int] = []
    unit = 0
    for pos, art in enumerate(analyzed):
        bounds = [(s.start_char, s.end_char) for s in art.doc.sents]
        ends = [b for _, b in bounds]
        entities = _Entities.of(art.doc)
        for sent in art.sentences:
            inner = []
            # only the spaCy sentences that end after the unit starts can overlap it
            for a, b in itertools.islice(bounds, bisect_right(ends, sent.start), None):
                if a >= sent.end:
                    break
                lo, hi = max(a, sent.start), min(b, sent.end)
                chunk = art.article.text[lo:hi] if hi > lo else ""
                if chunk.strip():
                    lead = len(chunk) - len(chunk.lstrip())
                    inner.append((lo + lead, lo + len(chunk.rstrip())))
            if len(inner) > 1:
                for lo, hi in inner:
                    pieces.append(_span_features(art, pos, sent.index, lo, hi, min_content, entities))
                    owner.append(unit)
            unit += 1
    return pieces, owner


class _Sets:
    """Binary sentence-by-item matrix of one kind of set, for overlaps of many pairs at once."""

    def __init__(self, sets: Sequence[Iterable[str]], vocab: dict[str, int] | None = None) -> None:
        self.vocab: dict[str, int] = {} if vocab is None else vocab
        rows: list[int] = []
        cols: list[int] = []
        sizes: list[int] = []
        for i, items in enumerate(sets):
            n = 0
            for item in items:
                rows.append(i)
                cols.append(self.vocab.setdefault(item, len(self.vocab)))
                n += 1
            sizes.append(n)
        data = np.ones(len(rows), dtype=np.float32)
        self.matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(sets), max(len(self.vocab), 1)))
        self.matrix.sum_duplicates()
        self.matrix.data[:] = 1.0
        self.sizes = np.asarray(self.matrix.getnnz(axis=1), dtype=np.float64)

    def inter(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Intersection size for each pair ``(i[k], j[k])``."""
        if len(i) == 0:
            return np.zeros(0, dtype=np.float64)
        prod = self.matrix[i].multiply(self.matrix[j])
        return np.asarray(prod.sum(axis=1), dtype=np.float64).ravel()


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)
    return out


def pair_features(
    feats: Sequence[SentenceFeatures], vectors: np.ndarray, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """The raw feature matrix (one row per pair ``(i[k], j[k])``, columns :data:`FEATURES`)."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    cols: dict[str, np.ndarray] = {}
    cols["dense"] = np.einsum("ij,ij->i", vectors[i], vectors[j]).astype(np.float64)
    lem = _Sets([f.lemmas for f in feats])
    inter = lem.inter(i, j)
    si, sj = lem.sizes[i], lem.sizes[j]
    cols["lemma_dice"] = _safe_div(2 * inter, si + sj)
    cols["lemma_containment"] = _safe_div(inter, np.minimum(si, sj))
    cols["unmatched"] = np.log1p(si + sj - 2 * inter)
    big = _Sets([f.bigrams for f in feats])
    cols["bigram_dice"] = _safe_div(2 * big.inter(i, j), big.sizes[i] + big.sizes[j])
    ent = _Sets([f.entities for f in feats])
    e_inter = ent.inter(i, j)
    cols["entity_jaccard"] = _safe_div(e_inter, ent.sizes[i] + ent.sizes[j] - e_inter)
    # a clash: for some label both name something, and share nothing of that label
    labels = sorted({e.split(":", 1)[0] for f in feats for e in f.entities} & _CLASH_LABELS)
    clash = np.zeros(len(i), dtype=np.float64)
    for label in labels:
        sub = _Sets([[e for e in f.entities if e.startswith(label + ":")] for f in feats])
        both = (sub.sizes[i] > 0) & (sub.sizes[j] > 0)
        clash += both & (sub.inter(i, j) == 0)
    cols["entity_clash"] = clash
    num = _Sets([f.numbers for f in feats])
    n_inter = num.inter(i, j)
    ni, nj = num.sizes[i], num.sizes[j]
    cols["number_clash"] = ((ni > 0) & (nj > 0) & (n_inter < np.minimum(ni, nj))).astype(np.float64)
    cols["number_one_side"] = ((ni > 0) != (nj > 0)).astype(np.float64)
    neg = np.array([f.negated for f in feats], dtype=bool)
    cols["negation_mismatch"] = (neg[i] != neg[j]).astype(np.float64)
    roles: dict[str, int] = {}  # one vocabulary for both roles, so a role swap is a product
    for f in feats:
        for word in (*f.agents, *f.patients):
            roles.setdefault(word, len(roles))
    ag = _Sets([f.agents for f in feats], roles)
    pa = _Sets([f.patients for f in feats], roles)
    for name, m in (("agent", ag), ("patient", pa)):
        hit = m.inter(i, j)
        both = (m.sizes[i] > 0) & (m.sizes[j] > 0)
        cols[f"{name}_match"] = (hit > 0).astype(np.float64)
        cols[f"{name}_clash"] = (both & (hit == 0)).astype(np.float64)
    swap = ag.matrix[i].multiply(pa.matrix[j]).sum(axis=1) + pa.matrix[i].multiply(ag.matrix[j]).sum(axis=1)
    cols["role_swap"] = (np.asarray(swap).ravel() > 0).astype(np.float64) if len(i) else np.zeros(0)
    words = np.array([max(f.words, 1) for f in feats], dtype=np.float64)
    cols["length_ratio"] = np.minimum(words[i], words[j]) / np.maximum(words[i], words[j])
    tok = _Sets([f.tokens for f in feats])
    t_inter = tok.inter(i, j)
    cols["word_dice"] = _safe_div(2 * t_inter, tok.sizes[i] + tok.sizes[j])
    cols["word_unmatched"] = np.log1p(tok.sizes[i] + tok.sizes[j] - 2 * t_inter)
    cols["quote"] = quote_scores(feats, i, j)
    for name, attr, n in (
        ("word_bigram_dice", "ngrams", "2:"),
        ("word_trigram_dice", "ngrams", "3:"),
        ("char3_dice", "chars", "3:"),
        ("char4_dice", "chars", "4:"),
    ):
        grams = _Sets([[g for g in getattr(f, attr) if g.startswith(n)] for f in feats])
        cols[name] = _safe_div(2 * grams.inter(i, j), grams.sizes[i] + grams.sizes[j])
    share_i = _safe_div(t_inter, tok.sizes[i])
    share_j = _safe_div(t_inter, tok.sizes[j])
    cols["word_containment_min"] = np.minimum(share_i, share_j)
    cols["word_containment_max"] = np.maximum(share_i, share_j)
    return np.column_stack([cols[name] for name in FEATURES]) if len(i) else np.zeros((0, len(FEATURES)))


def quote_scores(
    feats: Sequence[SentenceFeatures],
    i: np.ndarray,
    j: np.ndarray,
    *,
    min_quote_words: int = 5,
    min_quote_share: float = 0.7,
) -> np.ndarray:
    """The quote score of each pair (0 where the two do not quote the same words)."""
    q = _Sets([f.quoted for f in feats])
    q_min = np.minimum(q.sizes[i], q.sizes[j])
    containment = _safe_div(q.inter(i, j), q_min)
    mostly = np.array([f.quote_fraction >= 0.5 for f in feats], dtype=bool)
    ok = (q_min >= min_quote_words) & (mostly[i] | mostly[j]) & (containment >= min_quote_share)
    out: np.ndarray = np.where(ok, 0.4 + 0.6 * containment, 0.0)
    return out


def pair_scores(
    feats: Sequence[SentenceFeatures],
    vectors: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    *,
    model: PairModel | None = None,
) -> np.ndarray:
    """The pipeline's pair score: the learned probability that the two report the same thing."""
    model = model or default_model()
    return model.probability(pair_features(feats, vectors, i, j))


def candidate_pairs(
    feats: Sequence[SentenceFeatures], *, max_share: float = 0.2, min_shared: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-article pairs ``i < j`` of alignable sentences sharing ``min_shared`` content lemmas.

    A lemma found in more than ``max_share`` of the story's sentences (and more than 10) does
    not count: this keeps the number of pairs near-linear in the number of sentences on long
    articles. Pairs sharing fewer lemmas are not scored (their score would be far below any
    threshold: every equivalent MSRP pair shares two or more content lemmas).
    """
    n = len(feats)
    ok = np.array([f.alignable for f in feats], dtype=bool)
    if n < 2 or ok.sum() < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lem = _Sets([f.lemmas if f.alignable else () for f in feats])
    df = np.asarray(lem.matrix.getnnz(axis=0))
    keep = df <= max(10.0, max_share * ok.sum())
    mat = lem.matrix[:, np.flatnonzero(keep)]
    co = sparse.triu(mat @ mat.T, k=1).tocoo()
    arts = np.array([f.article_pos for f in feats])
    chosen = (arts[co.row] != arts[co.col]) & (co.data >= min_shared)
    return co.row[chosen].astype(np.int64), co.col[chosen].astype(np.int64)


def containment_links(
    feats: Sequence[SentenceFeatures],
    vectors: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    *,
    min_containment: float = 0.8,
    min_dense: float = 0.6,
    min_lemmas: int = 5,
    min_quoted: int = 8,
    x: np.ndarray | None = None,
) -> np.ndarray:
    """Whether one sentence of each pair carries the other's claim (contains it).

    The learned pair score asks "do the two say the same thing" (MSRP equivalence) and so
    marks down a sentence that says more than the other. Carrying is one-directional: at
    least ``min_containment`` of the smaller sentence's content lemmas (``min_lemmas`` or
    more) are in the larger one, their embeddings agree (cosine ``min_dense`` or more, unless
    every content lemma of the smaller one is in the larger, or the smaller one is mostly a
    quotation of ``min_quoted`` or more words all quoted by the larger), and no number or
    negation disagrees. These cut-offs are set by hand, not learned. ``x``: the pairs'
    :func:`pair_features` when the caller has them already (they are not computed twice).
    """
    if x is None:
        x = pair_features(feats, vectors, i, j)
    col = {name: x[:, k] for k, name in enumerate(FEATURES)}
    lem = _Sets([f.lemmas for f in feats])
    small = np.minimum(lem.sizes[i], lem.sizes[j])
    lexical = (
        (col["lemma_containment"] >= min_containment)
        & (small >= min_lemmas)
        & (col["number_clash"] == 0)
        & (col["negation_mismatch"] == 0)
    )
    # The embeddings need not agree when every content lemma of the smaller one is in the larger
    # or the larger quotes every word the smaller quotes (the same quotation, attributed with
    # another verb): a sentence that adds a second claim moves its vector away from the first's.
    same_words = col["lemma_containment"] >= 1.0 - 1e-9
    for k in np.flatnonzero(lexical & ~same_words & (col["dense"] < min_dense)):
        a, b = feats[int(i[k])], feats[int(j[k])]
        short, long_ = (a, b) if len(a.lemmas) <= len(b.lemmas) else (b, a)
        if len(short.quoted) >= min_quoted and short.quote_fraction >= 0.5 and short.quoted <= long_.quoted:
            same_words[k] = True
    out: np.ndarray = lexical & ((col["dense"] >= min_dense) | same_words)
    return out


def group_sentences(
    feats: Sequence[SentenceFeatures],
    edges: dict[tuple[int, int], float],
    *,
    threshold: float,
    floor: float = 0.0,
    contains: frozenset[tuple[int, int]] = frozenset(),
) -> list[list[int]]:
    """Greedy constrained agglomeration of sentences into groups (indices into ``feats``).

    ``edges`` maps scored pairs ``(i, j)`` with ``i < j`` to their score (unscored pairs count 0);
    ``contains`` holds the pairs ``(i, j)``, ``i < j``, where one sentence contains the other.

    1. take every pair scoring at least ``threshold``;
    2. visit them by decreasing score (ties by article id and sentence index, so the result does
       not depend on the order the articles were given in);
    3. merge the two groups of a pair unless they share an article (one main mention per
       article per fact), unless the merged group's mean pairwise score would fall below
       ``threshold`` (this stops chaining A~B~C when A and C have nothing in common) and unless
       a sentence of one group scores below ``floor`` with a sentence of the other without
       either containing the other (two short claims that a long sentence of a third outlet
       both holds are not one claim);
    4. every sentence left alone is its own group.
    """
    n = len(feats)
    keys = [(f.article, f.index) for f in feats]
    # 1. candidate pairs
    pairs = [(s, i, j) for (i, j), s in edges.items() if s >= threshold]
    # 2. deterministic, order-free visiting order
    pairs.sort(key=lambda p: (-p[0], min(keys[p[1]], keys[p[2]]), max(keys[p[1]], keys[p[2]])))
    group_of = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _, i, j in pairs:
        gi, gj = group_of[i], group_of[j]
        if gi == gj:
            continue
        # 3. constraints
        arts_i = {feats[k].article for k in members[gi]}
        if any(feats[k].article in arts_i for k in members[gj]):
            continue
        merged = members[gi] + members[gj]
        if len(merged) > 2 and mean_pairwise(merged, edges) < threshold:
            continue
        if floor > 0 and any(
            edges.get(key, 0.0) < floor and key not in contains
            for key in ((min(a, b), max(a, b)) for a in members[gi] for b in members[gj])
        ):
            continue
        keep, drop = (gi, gj) if gi < gj else (gj, gi)
        members[keep] = merged
        for k in members.pop(drop):
            group_of[k] = keep
    # 4. every sentence in exactly one group
    return [sorted(g, key=lambda k: (feats[k].article_pos, feats[k].start)) for g in members.values()]


def mean_pairwise(group: Sequence[int], edges: dict[tuple[int, int], float]) -> float:
    """Mean score over all pairs of ``group`` (pairs never scored count 0)."""
    m = len(group)
    if m < 2:
        return 1.0
    total = sum(edges.get((min(a, b), max(a, b)), 0.0) for x, a in enumerate(group) for b in group[x + 1 :])
    return total / (m * (m - 1) / 2)


def carried(
    feats: Sequence[SentenceFeatures],
    groups: Sequence[Sequence[int]],
    links: dict[tuple[int, int], float],
    *,
    threshold: float,
    floor: float = 0.0,
) -> list[list[int]]:
    """Extra mentions per group: sentences of other articles that carry the group's claim.

    ``links`` maps ``(carrier, held)`` to how well ``carrier`` carries ``held``'s claim: the
    pair score (both directions), or 1 when ``carrier`` contains ``held``
    (:func:`containment_links`; one direction only). A sentence ``t`` of an article absent from
    a group carries the group when it carries every member of the group at or above
    ``threshold``, or contains one member whole and scores at least ``floor`` with the others
    (it is clearly different from none of them): it stayed out only because it is already the
    main mention of another fact (one outlet says in one sentence what another says in two). A
    sentence that holds only part of a member (the member contains it) does not carry the
    group. Of several such sentences of one article the best linked one is taken.
    """
    carriers_of: dict[int, list[int]] = {}
    for (carrier, held), s in links.items():
        if s >= threshold:
            carriers_of.setdefault(held, []).append(carrier)
    extra: list[list[int]] = []
    for group in groups:
        arts = {feats[k].article for k in group}
        best: dict[str, tuple[float, int]] = {}
        for t in sorted({t for k in group for t in carriers_of.get(k, [])}):
            art = feats[t].article
            if art in arts:
                continue
            scores = [links.get((t, k), 0.0) for k in group]
            # linked to every member, or containing one whole and clearly different from none
            if min(scores) >= threshold or (max(scores) >= 1.0 and min(scores) >= floor > 0):
                mean = sum(scores) / len(scores)
                if art not in best or (mean, -t) > (best[art][0], -best[art][1]):
                    best[art] = (mean, t)
        extra.append(sorted(t for _, t in best.values()))
    return extra


def _drop_distributed(
    feats: Sequence[SentenceFeatures],
    groups: Sequence[list[int]],
    extras: Sequence[list[int]],
    *,
    min_covered: float = 0.8,
) -> tuple[list[list[int]], list[list[int]]]:
    """Drop the fact of a lone sentence whose claims are other facts it carries.

    A long sentence that says what another outlet says in two sentences carries both of their
    facts (:func:`carried`); left alone in its own group it would also show as a fact unique to
    its outlet, repeating them. Its group is dropped when it has no other member and the facts
    it carries hold at least ``min_covered`` of its content lemmas (the share
    :func:`containment_links` asks of a contained sentence); the sentence stays a mention of
    those facts.
    """
    held: dict[int, set[str]] = {}
    for group, extra in zip(groups, extras, strict=True):
        for t in extra:
            held.setdefault(t, set()).update(lemma for k in group for lemma in feats[k].lemmas)
    keep = []
    for n, (group, extra) in enumerate(zip(groups, extras, strict=True)):
        if len(group) == 1 and not extra and group[0] in held:
            own = set(feats[group[0]].lemmas)
            if own and len(own & held[group[0]]) >= min_covered * len(own):
                continue
        keep.append(n)
    return [list(groups[n]) for n in keep], [list(extras[n]) for n in keep]


def _embed(
    every: Sequence[SentenceFeatures],
    unit_of: np.ndarray,
    n_units: int,
    needed: np.ndarray,
    embedder: Embedder,
) -> np.ndarray:
    """Vectors of the ``needed`` rows of ``every`` (units, then pieces of multi-sentence units).

    Each text is encoded once: a unit made of several pieces gets the normalised mean of its
    pieces' vectors instead of a second, longer encoding (the cost of the encoder grows with the
    number of tokens, and a quotation kept whole can be long).
    """
    pieces = np.arange(n_units, len(every))
    split_units = set(unit_of[pieces].tolist())
    wanted = set(needed.tolist())
    direct = [k for k in wanted if k >= n_units or k not in split_units]
    want_pieces = sorted({*direct, *(p for p in pieces.tolist() if unit_of[p] in wanted)})
    encoded = embedder.encode([every[k].text for k in want_pieces]) if want_pieces else None
    dim = encoded.shape[1] if encoded is not None else 1
    vectors = np.zeros((len(every), dim), dtype=np.float32)
    if encoded is not None:
        vectors[want_pieces] = encoded
    for unit in sorted(split_units & wanted):
        mean = vectors[pieces[unit_of[pieces] == unit]].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        vectors[unit] = mean / norm if norm else mean
    return vectors


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    out: np.ndarray = np.log(q / (1 - q))
    return out


def _cascade_scores(
    every: Sequence[SentenceFeatures],
    unit_of: np.ndarray,
    n_units: int,
    i: np.ndarray,
    j: np.ndarray,
    cascade: tuple[Embedder, Embedder],
    *,
    model: PairModel,
    margin: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pair scores and containment links of a cascade embedder (:class:`parallax.embed.CascadeEmbedder`).

    Every pair is scored with the fast (static) vectors and :func:`static_model`; its score is
    moved onto ``model``'s scale by shifting its logit so both thresholds coincide. Pairs whose
    static logit lies within the static model's ``cascade_margin`` of its threshold are
    re-scored with the slow embedder's vectors and ``model`` (only the dense cosine changes, so
    the other features are reused); only their sentences are encoded by the slow embedder.
    ``margin`` overrides the shipped margin (0: never re-score; ``inf``: always).
    """
    fast, slow = cascade
    static, shipped_margin = static_model()
    margin = shipped_margin if margin is None else margin
    needed = np.unique(np.concatenate([i, j]))
    quick = _embed(every, unit_of, n_units, needed, fast)
    x = pair_features(every, quick, i, j)
    z = _logit(static.probability(x)) - _logit(static.threshold)
    scores: np.ndarray = 1.0 / (1.0 + np.exp(-(z + _logit(model.threshold))))
    contained = containment_links(every, quick, i, j, x=x)
    near = np.abs(z) < margin
    slow_rows = np.zeros(0, dtype=np.int64)
    if near.any():
        ni, nj = i[near], j[near]
        slow_rows = np.unique(np.concatenate([ni, nj]))
        vectors = _embed(every, unit_of, n_units, slow_rows, slow)
        x_near = x[near]
        x_near[:, FEATURES.index("dense")] = np.einsum("ij,ij->i", vectors[ni], vectors[nj])
        scores[near] = model.probability(x_near)
        contained[near] = containment_links(every, vectors, ni, nj, x=x_near)
    log.debug(
        "cascade: %d of %d pairs re-scored by %s (%d of %d sentences and pieces)",
        int(near.sum()),
        len(i),
        slow.name,
        len(slow_rows),
        len(needed),
    )
    return scores, contained


def align(
    analyzed: Sequence[AnalyzedArticle],
    *,
    embedder: Embedder,
    threshold: float | None = None,
    min_content: int = 3,
    model: PairModel | None = None,
    cascade_margin: float | None = None,
    group_floor: float = GROUP_FLOOR,
) -> Alignment:
    """Align the sentences of ``analyzed`` into facts and compute each article's omissions.

    ``threshold`` defaults to the learned model's own threshold. With a cascade embedder
    (``minilm-cascade``, :class:`parallax.embed.CascadeEmbedder`) pairs are scored with static
    vectors first and only those within ``cascade_margin`` (logit units; default: the shipped
    margin, chosen by MSRP cross-validation) of the threshold are re-scored with MiniLM
    (:func:`_cascade_scores`).

    1. features per sentence (content lemmas, entities, numbers, roles, quoted words);
    2. candidate pairs from sparse lemma overlap among the sentences and the pieces of
       multi-sentence units (:func:`piece_features`), one batched embedding, the pair score;
       a pair of units scores the best of its own score and its pieces' scores;
    3. greedy constrained grouping (:func:`group_sentences`), then the sentences that carry a
       group's claim though they are the main mention of another (:func:`carried`); a lone
       sentence whose claims are facts it carries is not a fact of its own
       (:func:`_drop_distributed`);
    4. facts with status and mean pairwise score, ordered consensus, partial, unique, each by
       first appearance, and numbered ``f1``, ``f2``, ...;
    5. omissions: per article, the facts it does not carry, those carried by the most other
       articles first.
    """
    model = model or default_model()
    limit = model.threshold if threshold is None else threshold
    # 1. features
    feats = sentence_features(analyzed, min_content=min_content)
    n_articles = len(analyzed)
    # 2. candidate pairs among units and their pieces, scored; a unit pair keeps its best score
    pieces, owner = piece_features(analyzed, min_content=min_content)
    every = [*feats, *pieces]
    unit_of = np.array([*range(len(feats)), *owner], dtype=np.int64)
    i, j = candidate_pairs(every)
    unit_ok = np.array([f.alignable for f in feats], dtype=bool)
    keep = unit_ok[unit_of[i]] & unit_ok[unit_of[j]]
    i, j = i[keep], j[keep]
    if len(i):
        # only the sentences of some candidate pair are embedded
        cascade = cascade_of(embedder)
        if cascade is None:
            needed = np.unique(np.concatenate([i, j]))
            vectors = _embed(every, unit_of, len(feats), needed, embedder)
            x = pair_features(every, vectors, i, j)
            scores = model.probability(x)
            contained = containment_links(every, vectors, i, j, x=x)
        else:
            scores, contained = _cascade_scores(
                every, unit_of, len(feats), i, j, cascade, model=model, margin=cascade_margin
            )
    else:
        scores = np.zeros(0)
        contained = np.zeros(0, dtype=bool)
    edges: dict[tuple[int, int], float] = {}
    links: dict[tuple[int, int], float] = {}
    inside: set[tuple[int, int]] = set()
    sizes = np.array([len(f.lemmas) for f in every], dtype=np.int64)
    for pi, pj, a, b, score, contains, larger_first in zip(
        i, j, unit_of[i], unit_of[j], scores, contained, sizes[i] >= sizes[j], strict=True
    ):
        key = (int(min(a, b)), int(max(a, b)))
        if feats[key[0]].alignable and feats[key[1]].alignable:
            edges[key] = max(edges.get(key, 0.0), round(float(score), 6))
            # carrying is directional: the larger sentence carries the smaller one's claim, not
            # the other way round (a sentence holding half of a longer one does not carry it)
            carrier, held = (int(a), int(b)) if larger_first else (int(b), int(a))
            for pair in ((carrier, held), (held, carrier)):
                links[pair] = max(links.get(pair, 0.0), edges[key])
            # containing one piece of a unit made of several is holding part of it, not carrying it
            if contains and (int(pj) if larger_first else int(pi)) < len(feats):
                links[(carrier, held)] = 1.0
                inside.add(key)
    # 3. grouping, then many-to-one carriage
    groups = group_sentences(feats, edges, threshold=limit, floor=group_floor, contains=frozenset(inside))
    extras = carried(feats, groups, links, threshold=limit, floor=group_floor)
    groups, extras = _drop_distributed(feats, groups, extras)
    # 4. facts
    drafts: list[tuple[int, tuple[int, int], FactStatus, tuple[Mention, ...], tuple[str, ...], float]] = []
    seen: set[tuple[int, ...]] = set()
    for group, extra in zip(groups, extras, strict=True):
        members = sorted([*group, *extra], key=lambda k: (feats[k].article_pos, feats[k].start))
        if len(members) > 1 and tuple(members) in seen:
            continue  # two sentences that carry each other's claim: one fact, not two
        seen.add(tuple(members))
        arts = tuple(feats[k].article for k in members)
        status: FactStatus
        if len(arts) == 1:
            status = "unique"
        elif len(arts) == n_articles:
            status = "consensus"
        else:
            status = "partial"
        score = mean_pairwise(members, edges)
        mentions = tuple(
            Mention(
                article=feats[k].article,
                start=feats[k].start,
                end=feats[k].end,
                text=feats[k].text,
                sentence=feats[k].index,
            )
            for k in members
        )
        first = (feats[group[0]].article_pos, feats[group[0]].start)
        drafts.append((_STATUS_ORDER[status], first, status, mentions, arts, round(score, 4)))
    drafts.sort(key=lambda d: (d[0], d[1]))
    facts = [
        Fact(id=f"f{n}", status=status, mentions=mentions, articles=arts, score=score)
        for n, (_, _, status, mentions, arts, score) in enumerate(drafts, start=1)
    ]
    # 5. omissions, what most other outlets carry first (the fact order breaks ties)
    ranked = sorted(facts, key=lambda f: -len(f.articles))
    omissions = [(art.id, tuple(f.id for f in ranked if art.id not in f.articles)) for art in analyzed]
    log.debug(
        "aligned %d sentences of %d articles into %d facts (%d consensus, %d scored pairs)",
        len(feats),
        n_articles,
        len(facts),
        sum(f.status == "consensus" for f in facts),
        len(edges),
    )
    return Alignment(facts=facts, omissions=omissions)
