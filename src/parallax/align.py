"""Stage 4: align sentences across the articles of one story into facts, and list omissions.

A *fact* is a group of sentences, at most one per article, that report the same thing. Every
sentence of every article ends up in exactly one fact (a sentence nobody else reports forms a
``unique`` fact), so coverage is complete and omissions can be read off the partition.

Similarity of two sentences from different articles (the *combined score*)::

    score = w_dense * cos(embedding_a, embedding_b)
          + w_lexical * dice(content lemmas a, content lemmas b)
          + w_entity * jaccard(named entities a, named entities b)

with the weights summing to 1. ``cos`` comes from one batched ``Embedder.encode`` call over all
sentences of the story; content lemmas are lower-cased lemmas of alphabetic or numeric tokens that
are not stop words; entities are (label, lower-cased text) pairs of PERSON/ORG/GPE/NORP/DATE/
CARDINAL/MONEY/EVENT/LOC/FAC entities. When both sentences carry quoted words (inside double
quote marks) and at least one of them is mostly quotation, the score is raised to the
*quote score* ``0.4 + 0.6 * containment(quoted words)`` when that is higher and at least 70 %
of the shorter quotation (5 words or more) lies in the longer one: two outlets that
quote the same words report the same statement however they frame it. Sentences too short to
carry a fact on their own (fewer than ``min_content`` content lemmas, or a lone short quotation
fragment) never align.

The weights and threshold were tuned on ECB+ (same-event vs same-topic-other-event article
pairs; see ``benchmarks/align_tune.py``), not on the example story.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from parallax.embed import Embedder
from parallax.records import AnalyzedArticle, Fact, FactStatus, Mention

log = logging.getLogger(__name__)

ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "NORP", "DATE", "CARDINAL", "MONEY", "EVENT", "LOC", "FAC"}
)

# Double quotation marks only: single marks are too often apostrophes.
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]+)[\"“”„«»]")
_WORD = re.compile(r"[\w']+")

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


def sentence_features(analyzed: Sequence[AnalyzedArticle], *, min_content: int = 3) -> list[SentenceFeatures]:
    """Content lemmas, entities and quoted words of every sentence, in article then sentence order."""
    out: list[SentenceFeatures] = []
    for pos, art in enumerate(analyzed):
        doc = art.doc
        for sent in art.sentences:
            span = doc.char_span(sent.start, sent.end, alignment_mode="expand")
            tokens = list(span) if span is not None else []
            lemmas = frozenset(
                (t.lemma_ or t.text).lower()
                for t in tokens
                if (t.is_alpha or t.like_num) and not t.is_stop and len(t.text) > 1
            )
            ents = frozenset(
                f"{e.label}:{' '.join(_WORD.findall(e.text.lower()))}"
                for e in sent.entities
                if e.label in ENTITY_LABELS
            )
            quoted, qfrac = quoted_words(sent.text)
            lone_fragment = qfrac >= 0.8 and len(quoted) < 6
            out.append(
                SentenceFeatures(
                    article=art.id,
                    article_pos=pos,
                    index=sent.index,
                    start=sent.start,
                    end=sent.end,
                    text=sent.text,
                    lemmas=lemmas,
                    entities=ents,
                    quoted=quoted,
                    quote_fraction=qfrac,
                    alignable=len(lemmas) >= min_content and not lone_fragment,
                )
            )
    return out


def _binary_matrix(sets: Sequence[frozenset[str]]) -> sparse.csr_matrix:
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, items in enumerate(sets):
        for item in items:
            rows.append(i)
            cols.append(vocab.setdefault(item, len(vocab)))
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(sets), max(len(vocab), 1)))


def _overlaps(sets: Sequence[frozenset[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise intersection sizes and the set sizes, via one sparse product."""
    mat = _binary_matrix(sets)
    inter = np.asarray((mat @ mat.T).todense(), dtype=np.float32)
    sizes = np.array([len(s) for s in sets], dtype=np.float32)
    return inter, sizes


def similarity_matrix(
    feats: Sequence[SentenceFeatures],
    vectors: np.ndarray,
    *,
    w_dense: float = 0.6,
    w_lexical: float = 0.3,
    w_entity: float = 0.1,
    min_quote_words: int = 5,
    min_quote_share: float = 0.7,
) -> np.ndarray:
    """The combined score (module docstring) for every pair of sentences; 0 within an article.

    1. dense cosine from the embeddings;
    2. Dice overlap of content lemmas and Jaccard overlap of entities (sparse products);
    3. the quote score for pairs that quote the same words;
    4. zero out same-article pairs and pairs with an unalignable sentence.
    """
    n = len(feats)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    # 1. dense cosine
    dense = np.clip(vectors @ vectors.T, 0.0, 1.0)
    # 2. lexical and entity overlap
    inter, sizes = _overlaps([f.lemmas for f in feats])
    denom = sizes[:, None] + sizes[None, :]
    lexical = np.divide(2 * inter, denom, out=np.zeros_like(inter), where=denom > 0)
    e_inter, e_sizes = _overlaps([f.entities for f in feats])
    e_union = e_sizes[:, None] + e_sizes[None, :] - e_inter
    entity = np.divide(e_inter, e_union, out=np.zeros_like(e_inter), where=e_union > 0)
    score = w_dense * dense + w_lexical * lexical + w_entity * entity
    # 3. quote score: containment of the shorter quotation in the longer one
    q_inter, q_sizes = _overlaps([f.quoted for f in feats])
    q_min = np.minimum(q_sizes[:, None], q_sizes[None, :])
    containment = np.divide(q_inter, q_min, out=np.zeros_like(q_inter), where=q_min > 0)
    mostly = np.array([f.quote_fraction >= 0.5 for f in feats])
    quote_ok = (
        (q_min >= min_quote_words) & (mostly[:, None] | mostly[None, :]) & (containment >= min_quote_share)
    )
    quote_score = np.where(quote_ok, 0.4 + 0.6 * containment, 0.0)
    score = np.maximum(score, quote_score)
    # 4. only cross-article pairs of alignable sentences
    arts = np.array([f.article_pos for f in feats])
    ok = np.array([f.alignable for f in feats])
    mask = (arts[:, None] != arts[None, :]) & ok[:, None] & ok[None, :]
    out: np.ndarray = np.where(mask, score, 0.0).astype(np.float64)
    return np.round(out, 6)


def group_sentences(
    feats: Sequence[SentenceFeatures], sim: np.ndarray, *, threshold: float
) -> list[list[int]]:
    """Greedy constrained agglomeration of sentences into groups (indices into ``feats``).

    1. take every cross-article pair scoring at least ``threshold``;
    2. visit them by decreasing score (ties by article id and sentence index, so the result does
       not depend on the order the articles were given in);
    3. merge the two groups of a pair unless they share an article (one main mention per
       article per fact) and unless the merged group's mean pairwise score would fall below
       ``threshold`` (this stops chaining A~B~C when A and C have nothing in common);
    4. every sentence left alone is its own group.
    """
    n = len(feats)
    keys = [(f.article, f.index) for f in feats]
    # 1. candidate pairs
    rows, cols = np.nonzero(np.triu(sim >= threshold, k=1))
    pairs = [(float(sim[i, j]), int(i), int(j)) for i, j in zip(rows, cols, strict=True)]
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
        if len(merged) > 2:
            sub = sim[np.ix_(merged, merged)]
            m = len(merged)
            if (sub.sum() / (m * (m - 1))) < threshold:
                continue
        keep, drop = (gi, gj) if gi < gj else (gj, gi)
        members[keep] = merged
        for k in members.pop(drop):
            group_of[k] = keep
    # 4. every sentence in exactly one group
    return [sorted(g, key=lambda k: (feats[k].article_pos, feats[k].start)) for g in members.values()]


def _encode_alignable(embedder: Embedder, feats: Sequence[SentenceFeatures]) -> np.ndarray:
    """Embeddings of the alignable sentences; zero rows for the rest, whose pairs score 0 anyway."""
    todo = [k for k, f in enumerate(feats) if f.alignable]
    if not todo:
        return np.zeros((len(feats), 1), dtype=np.float32)
    encoded = embedder.encode([feats[k].text for k in todo])
    vectors = np.zeros((len(feats), encoded.shape[1]), dtype=np.float32)
    vectors[todo] = encoded
    return vectors


def align(
    analyzed: Sequence[AnalyzedArticle],
    *,
    embedder: Embedder,
    threshold: float = 0.48,
    w_dense: float = 0.6,
    w_lexical: float = 0.3,
    w_entity: float = 0.1,
    min_content: int = 3,
) -> Alignment:
    """Align the sentences of ``analyzed`` into facts and compute each article's omissions.

    1. features per sentence (content lemmas, entities, quoted words);
    2. one batched embedding of all sentences and the combined score matrix;
    3. greedy constrained grouping (:func:`group_sentences`);
    4. facts with status and mean pairwise score, ordered consensus, partial, unique, each by
       first appearance, and numbered ``f1``, ``f2``, ...;
    5. omissions: per article, the facts it does not carry.
    """
    # 1. features
    feats = sentence_features(analyzed, min_content=min_content)
    n_articles = len(analyzed)
    # 2. similarity
    vectors = _encode_alignable(embedder, feats)
    sim = similarity_matrix(feats, vectors, w_dense=w_dense, w_lexical=w_lexical, w_entity=w_entity)
    # 3. grouping
    groups = group_sentences(feats, sim, threshold=threshold)
    # 4. facts
    drafts: list[tuple[int, tuple[int, int], FactStatus, tuple[Mention, ...], tuple[str, ...], float]] = []
    for group in groups:
        arts = tuple(feats[k].article for k in group)
        status: FactStatus
        if len(arts) == 1:
            status = "unique"
        elif len(arts) == n_articles:
            status = "consensus"
        else:
            status = "partial"
        if len(group) > 1:
            sub = sim[np.ix_(group, group)]
            score = float(sub.sum() / (len(group) * (len(group) - 1)))
        else:
            score = 1.0
        mentions = tuple(
            Mention(
                article=feats[k].article,
                start=feats[k].start,
                end=feats[k].end,
                text=feats[k].text,
                sentence=feats[k].index,
            )
            for k in group
        )
        first = (feats[group[0]].article_pos, feats[group[0]].start)
        drafts.append((_STATUS_ORDER[status], first, status, mentions, arts, round(score, 4)))
    drafts.sort(key=lambda d: (d[0], d[1]))
    facts = [
        Fact(id=f"f{n}", status=status, mentions=mentions, articles=arts, score=score)
        for n, (_, _, status, mentions, arts, score) in enumerate(drafts, start=1)
    ]
    # 5. omissions
    omissions = [(art.id, tuple(f.id for f in facts if art.id not in f.articles)) for art in analyzed]
    log.debug(
        "aligned %d sentences of %d articles into %d facts (%d consensus)",
        len(feats),
        n_articles,
        len(facts),
        sum(f.status == "consensus" for f in facts),
    )
    return Alignment(facts=facts, omissions=omissions)
