"""The story: quotations and statements across outlets, and whose voice each outlet carries."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from parallax.quotes.attributions import extract_attributions
from parallax.quotes.cues import CueTable
from parallax.quotes.direct import extract_quotes
from parallax.quotes.grouping import fold_word, group_quotes
from parallax.quotes.marks import _WORD_RE
from parallax.quotes.speakers import speaker_context
from parallax.records import (
    AnalyzedArticle,
    Attribution,
    Attributions,
    NonQuote,
    Quote,
    QuoteSpan,
    Statement,
    Voice,
)

log = logging.getLogger(__name__)


def find_quotes(
    analyzed: Sequence[AnalyzedArticle], *, canonical: Callable[[str], str] | None = None
) -> list[Quote]:
    """Extract the quotations of every article and group them across articles (stage 5).

    ``canonical`` (see :func:`find_attributions`) maps each speaker to the story's canonical name.
    """
    spans: list[QuoteSpan] = []
    story = speaker_context(analyzed)
    for art in analyzed:
        found = extract_quotes(art, story=story)
        log.debug("%s: %d quotations", art.id, len(found))
        spans.extend(_canonical_speakers(found, canonical))
    return group_quotes(spans, {a.id: a.article.text for a in analyzed})


# --- 4. attributions: direct, indirect and mixed ----------------------------------------------------


def _content_keys(text: str) -> set[str]:
    from parallax.features import STOP_WORDS

    return {k for k in (fold_word(w) for w in _WORD_RE.findall(text)) if len(k) > 2 and k not in STOP_WORDS}


def group_statements(
    attributions: Sequence[Attribution],
    quotes: Sequence[Quote] = (),
    *,
    order: Mapping[str, int] | None = None,
    min_shared: float = 0.4,
    min_shared_unknown: float = 0.6,
    min_words: int = 3,
    max_df: float = 0.25,
) -> list[Statement]:
    """Group the attributions of several articles into statements.

    Steps:

    1. Fullest contents first (ties: article order, offset), so the result does not depend on the
       input order.
    2. Content words (stop words dropped, spelling folded) are indexed; an attribution joins the
       group sharing the largest fraction of its words through the index (no pass over all
       pairs): at least ``min_words`` words and ``min_shared`` of the shorter content when the
       speakers agree, ``min_shared_unknown`` when either is unknown, never when both are named
       and differ. Words found in more than ``max_df`` of the attributions are not counted. A
       group takes one attribution per article.
    3. A statement's speaker is the majority named speaker; ``quote`` links it to the grouped
       :class:`Quote` holding one of its direct renderings.
    """
    rank = dict(order or {})
    for a in attributions:
        rank.setdefault(a.article, len(rank))
    # 1. fullest first; words in more than ``max_df`` of the story's attributions (the story's
    # protagonists) say nothing about which statement it is
    keyed = [(a, _content_keys(a.content)) for a in attributions]
    df = Counter(k for _, keys in keyed for k in keys)
    limit = max(3.0, max_df * len(keyed))
    items = sorted(
        ((a, {k for k in keys if df[k] <= limit}) for a, keys in keyed),
        key=lambda x: (-len(x[1]), rank[x[0].article], x[0].start),
    )
    # 2. indexed grouping
    groups: list[list[tuple[Attribution, set[str]]]] = []
    index: dict[str, list[int]] = {}
    for att, keys in items:
        shared: Counter[int] = Counter()
        for k in keys:
            shared.update(index.get(k, ()))
        best: int | None = None
        best_frac = 0.0
        for g, n in shared.items():
            ref, ref_keys = groups[g][0]
            frac = n / max(1, min(len(keys), len(ref_keys)))
            if n < min_words or (ref.speaker and att.speaker and ref.speaker != att.speaker):
                continue
            need = min_shared if ref.speaker and att.speaker else min_shared_unknown
            if frac >= need and frac > best_frac and all(a.article != att.article for a, _ in groups[g]):
                best, best_frac = g, frac
        if best is None:
            best = len(groups)
            groups.append([])
            for k in keys:
                index.setdefault(k, []).append(best)
        groups[best].append((att, keys))
    # 3. speakers and quote links
    quote_of: dict[tuple[str, int], str] = {}
    for q in quotes:
        for r in q.renderings:
            quote_of[(r.article, r.start)] = q.id
    built = []
    for group in groups:
        members = sorted((a for a, _ in group), key=lambda a: (rank[a.article], a.start))
        votes = Counter(a.speaker for a in members if a.speaker)
        speaker = max(sorted(votes), key=lambda s: votes[s]) if votes else None
        quote = next(
            (quote_of[(a.article, a.start)] for a in members if (a.article, a.start) in quote_of), None
        )
        built.append(
            ((rank[members[0].article], members[0].start), members, group[0][0].content, speaker, quote)
        )
    built.sort(key=lambda b: b[0])
    return [
        Statement(id=f"s{n}", speaker=speaker, text=text, attributions=tuple(members), quote=quote)
        for n, (_, members, text, speaker, quote) in enumerate(built, start=1)
    ]


def count_voices(attributions: Sequence[Attribution], outlets: Mapping[str, str]) -> list[Voice]:
    """Attributions per speaker per article: ``direct`` counts quotations (mixed ones included:
    they quote words), ``indirect`` paraphrases; unnamed sources are counted under None."""
    counts: dict[tuple[str, str | None], list[int]] = {}
    for a in attributions:
        box = counts.setdefault((a.article, a.speaker), [0, 0])
        box[a.kind == "indirect"] += 1
    order = {aid: n for n, aid in enumerate(outlets)}
    return [
        Voice(article=aid, outlet=outlets.get(aid, aid), speaker=speaker, direct=d, indirect=i)
        for (aid, speaker), (d, i) in sorted(
            counts.items(), key=lambda x: (order.get(x[0][0], len(order)), x[0][1] is None, x[0][1] or "")
        )
    ]


def _canonical_speakers(
    items: Sequence[QuoteSpan] | Sequence[Attribution], canonical: Callable[[str], str] | None
) -> list[Any]:
    if canonical is None:
        return list(items)
    return [replace(x, speaker=canonical(x.speaker)) if x.speaker else x for x in items]


def find_attributions(
    analyzed: Sequence[AnalyzedArticle],
    *,
    canonical: Callable[[str], str] | None = None,
    table: CueTable | None = None,
) -> Attributions:
    """The quotes stage: quotations grouped across articles, every attribution, statements across
    outlets, voices per outlet and the quoted words that are not quotations.

    ``canonical`` maps a speaker name to the story's canonical name for that person ("Rice" ->
    "Susan E. Rice"); it is applied to every speaker before grouping and counting.
    """
    story = speaker_context(analyzed)
    spans: list[QuoteSpan] = []
    attributions: list[Attribution] = []
    non_quotes: list[NonQuote] = []
    for art in analyzed:
        q, a, nq = extract_attributions(art, story=story, table=table)
        log.debug("%s: %d quotations, %d attributions", art.id, len(q), len(a))
        spans += _canonical_speakers(q, canonical)
        attributions += _canonical_speakers(a, canonical)
        non_quotes += nq
    texts = {a.id: a.article.text for a in analyzed}
    quotes = group_quotes(spans, texts)
    order = {aid: n for n, aid in enumerate(texts)}
    return Attributions(
        quotes=tuple(quotes),
        attributions=tuple(attributions),
        statements=tuple(group_statements(attributions, quotes, order=order)),
        voices=tuple(count_voices(attributions, {a.id: a.article.outlet for a in analyzed})),
        non_quotes=tuple(non_quotes),
    )
