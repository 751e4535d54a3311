"""Attributions of one article: direct, indirect and mixed."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from parallax.quotes.cues import CueCandidate, CueTable, cue_candidates, load_cue_table
from parallax.quotes.direct import _extract, _prepare, _sentence_finder
from parallax.quotes.marks import _WORD_RE
from parallax.quotes.speakers import SpeakerContext, _cue_text, _named_speaker
from parallax.records import (
    AnalyzedArticle,
    Attribution,
    AttributionKind,
    NonQuote,
    QuoteSpan,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc


def join_quote_fragments(
    spans: Sequence[QuoteSpan], text: str, *, max_gap_words: int = 6
) -> list[list[QuoteSpan]]:
    """Group an article's quotations into the statements they are fragments of.

    "“A,” she said, “B.”" is one statement cut by its cue: two quotations in one paragraph join
    when the words between them are at most ``max_gap_words`` (the cue and speaker only), the
    later one has no speaker or the same one, and it is not a new cue's quotation: "“A,” Lee
    says. “B,” he notes." are two statements, the later one naming its speaker with a mention of
    its own.
    """
    groups: list[list[QuoteSpan]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if groups:
            prev = groups[-1][-1]
            gap = text[prev.end : span.start]
            words = len(_WORD_RE.findall(gap))
            same = span.speaker is None or span.speaker == prev.speaker
            attributed = prev.speaker is not None or prev.speaker_phrase is not None
            own = span.speaker_start is not None and span.speaker_start != prev.speaker_start
            if "\n" not in gap and 0 < words <= max_gap_words and same and attributed and not own:
                groups[-1].append(span)
                continue
        groups.append([span])
    return groups


def _direct_attribution(art: AnalyzedArticle, group: Sequence[QuoteSpan]) -> Attribution:
    first, last = group[0], group[-1]
    text = art.article.text
    lead = next((s for s in group if s.speaker is not None or s.speaker_phrase is not None), first)
    return Attribution(
        article=art.id,
        kind="direct",
        content=text[first.start : last.end],
        start=first.start,
        end=last.end,
        speaker=lead.speaker,
        cue=lead.cue,
        speaker_start=lead.speaker_start,
        speaker_end=lead.speaker_end,
        speaker_phrase=lead.speaker_phrase,
        sentence=first.sentence,
    )


def _in_paragraph(doc: Doc, text: str, cand: CueCandidate) -> CueCandidate | None:
    """``cand`` with its content clipped to the paragraph of its cue (None when nothing is left)."""
    at = doc[cand.cue].idx
    p_lo = text.rfind("\n", 0, at) + 1
    p_hi = text.find("\n", at)
    p_hi = len(text) if p_hi < 0 else p_hi
    lo, hi = cand.content
    if doc[lo].idx >= p_lo and doc[hi - 1].idx < p_hi:
        return cand
    while lo < hi and (doc[lo].idx < p_lo or doc[lo].is_space):
        lo += 1
    while hi > lo and (doc[hi - 1].idx >= p_hi or doc[hi - 1].is_space):
        hi -= 1
    return replace(cand, content=(lo, hi)) if hi > lo else None


def extract_attributions(
    art: AnalyzedArticle,
    *,
    story: SpeakerContext | None = None,
    table: CueTable | None = None,
    max_gap_words: int = 6,
) -> tuple[list[QuoteSpan], list[Attribution], list[NonQuote]]:
    """Direct quotations, all attributions (direct, indirect, mixed) and non-quotations of one
    article.

    Steps:

    1. Direct quotations as in :func:`extract_quotes`; fragments of one statement around their
       cue join into one direct attribution (:func:`join_quote_fragments`).
    2. Cue candidates (:func:`cue_candidates`) outside quotations are scored by the learned cue
       table; those at or above its threshold are kept, their content clipped to the cue's
       paragraph (the parser may run a sentence over a paragraph break), except a candidate whose cue lies inside
       the content of a better one (PolNeAR's attributions do not nest).
    3. A kept candidate whose content words are all quoted is the cue of a direct quotation
       (already found); one whose content is partly quoted is ``mixed`` and absorbs the direct
       attributions inside it; otherwise it is ``indirect``.
    4. The speaker is the cue's subject, resolved as for quotations (pronouns, descriptions,
       surnames); the object of "according to" for that frame.
    5. Quoted words that are not quotations are returned apart (found in step 1 and by
       :func:`_non_quote_kind`): titles, nicknames and named terms, and scare quotes (one or two
       words no cue governs).
    """
    prep = _prepare(art, story)
    doc, att, inside = art.doc, prep.att, prep.inside
    text = art.article.text
    table = table if table is not None else load_cue_table()
    # 1. direct quotations and their statements
    quotes = _extract(prep)
    directs = [
        _direct_attribution(art, g) for g in join_quote_fragments(quotes, text, max_gap_words=max_gap_words)
    ]
    # 2. scored cue candidates, outermost first among equals
    scored = []
    for cand in cue_candidates(doc):
        if inside[cand.cue]:
            continue
        w = table.weight(cand.key(doc))
        if w >= table.threshold:
            clipped = _in_paragraph(doc, text, cand)
            if clipped is not None:
                scored.append((w, clipped))
    scored.sort(key=lambda x: (-x[0], x[1].content[0] - x[1].content[1], x[1].cue))
    # candidates nest only within a sentence: the check stays local (no pass over all pairs)
    kept_in: dict[int, list[CueCandidate]] = {}
    for _, cand in scored:
        box = kept_in.setdefault(att.sent_of[cand.cue], [])
        if any(k.content[0] <= cand.cue < k.content[1] for k in box):
            continue
        box[:] = [k for k in box if not cand.content[0] <= k.cue < cand.content[1]] + [cand]
    kept = [c for box in kept_in.values() for c in box]
    # 3. kinds, 4. speakers
    out: list[Attribution] = []
    direct_starts = [d.start for d in directs]
    absorbed: set[int] = set()
    sentence_of = _sentence_finder(art)
    for cand in sorted(kept, key=lambda c: c.content[0]):
        lo, hi = cand.content
        words = [i for i in range(lo, hi) if not doc[i].is_punct]
        n_in = sum(inside[i] for i in words)
        if not words or n_in == len(words):
            continue
        kind: AttributionKind = "mixed" if n_in else "indirect"
        tok = doc[cand.cue]
        if cand.frame == "according":
            objs = [c for c in doc[cand.cue + 1].children if c.dep_ == "pobj"]
            name, s_start, s_end = att.name_of(objs[0]) if objs else (None, None, None)
            cue_end = doc[cand.cue + 1].idx + len(doc[cand.cue + 1])
            cue = "according to"
        else:
            name, s_start, s_end = att.speaker_of_cue(tok)
            cue_end = tok.idx + len(tok)
            cue = _cue_text(tok)
        speaker, phrase = _named_speaker(doc, name, s_start, s_end)
        start, end = doc[lo].idx, doc[hi - 1].idx + len(doc[hi - 1])
        if kind == "mixed":
            lo_d, hi_d = bisect.bisect_left(direct_starts, start), bisect.bisect_left(direct_starts, end)
            held = directs[lo_d:hi_d]
            absorbed.update(range(lo_d, hi_d))
            # the content runs to the end of the quotations it holds (their closing words)
            end = max([end, *(d.end for d in held)])
            if speaker is None and phrase is None and held:
                # no subject for the cue: the speaker found for the quotation it holds
                speaker, phrase = held[0].speaker, held[0].speaker_phrase
                s_start, s_end = held[0].speaker_start, held[0].speaker_end
        out.append(
            Attribution(
                article=art.id,
                kind=kind,
                content=text[start:end],
                start=start,
                end=end,
                speaker=speaker,
                cue=cue,
                cue_start=tok.idx,
                cue_end=cue_end,
                speaker_start=s_start,
                speaker_end=s_end,
                speaker_phrase=phrase,
                sentence=sentence_of(start),
            )
        )
    out += [d for n, d in enumerate(directs) if n not in absorbed]
    out.sort(key=lambda a: (a.start, a.end))
    # 5. the quoted words that are not quotations
    return quotes, out, list(prep.non_quotes)
