"""Stage 8: a timeline of dated events across the articles of a story.

Cascade of :func:`build_timeline`:

1. Per article, the date and time expressions (:func:`parallax.dates.find_timexes`) resolved
   against the article's publication date; vague references ("now", "recently"), durations and
   sets are not events, nor is a year that modifies a candidacy noun ("the 2020 contender").
   Without a publication date, relative dates ("Friday", "last week") stay
   relative: the entry's ``date`` is the phrase and ``resolved`` is false.
2. Each expression becomes an item: its sentence (the event's text and evidence), the word the
   date attaches to (the event noun or verb), the sentence's aligned facts and its entity context.
3. Items from different articles merge into one entry when their dates agree (same day, or one
   containing the other: "2014" and "2014-11" merge as "2014-11") and they describe the same
   event: the same aligned fact, or a shared named entity that is rare in the story (see
   :func:`parallax.conflicts.story_context`) in the paragraphs that carry them.
4. An entry whose date is one side of a date conflict gets that conflict's id.
5. Photo captions: cleaning removes captions from the text, but a caption's absolute date is
   still a story event (a hearing, a rally photographed that day). Each such date becomes an
   entry with ``source="caption"``, the caption (credit stripped) as its text and no evidence
   span; it never merges with text entries and never takes part in conflicts.
6. Order: resolved entries by the start of their period (partial dates sort at their period
   start, coarser first on ties), then unresolved entries in article and text order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from parallax.conflicts import _fact_index, _sentence_of, story_context
from parallax.dates import Timex, calendar_start, dates_agree, find_timexes, granularity_of
from parallax.records import AnalyzedArticle, Conflict, Fact, Mention, Sentence, TimelineEntry
from parallax.values import attachment

log = logging.getLogger(__name__)

EVENT_GRANULARITIES = ("decade", "year", "season", "quarter", "month", "week", "day", "time")
_ORDER = {g: n for n, g in enumerate(EVENT_GRANULARITIES)}
#: Person-role nouns a year can modify without dating an event ("the 2020 contender").
CANDIDACY_NOUNS = frozenset(
    {"candidate", "contender", "hopeful", "nominee", "frontrunner", "front-runner", "challenger", "rival"}
)


@dataclass
class _Item:
    """One dated sentence (step 2), or several merged (step 3)."""

    date: str
    resolved: bool
    article_order: int
    position: int
    sentence: Sentence
    head: str | None
    facts: set[str]
    entities: set[str]
    articles: list[str] = field(default_factory=list)
    evidence: list[Mention] = field(default_factory=list)


def _is_event_timex(t: Timex) -> bool:
    if t.kind not in ("DATE", "TIME"):
        return False
    if t.resolved:
        return t.value is not None and t.granularity in EVENT_GRANULARITIES
    return t.granularity in EVENT_GRANULARITIES  # a relative date a rule understood, no anchor


def _items(analyzed: Sequence[AnalyzedArticle], facts: Sequence[Fact]) -> list[_Item]:
    """Steps 1-2."""
    fact_index = _fact_index(facts, analyzed)
    story = story_context(analyzed)
    items: list[_Item] = []
    for order, art in enumerate(analyzed):
        seen: set[tuple[int, str]] = set()
        for t in find_timexes(art.doc, anchor=art.article.published_date):
            if not _is_event_timex(t):
                continue
            sent = _sentence_of(art.sentences, t.start)
            if sent is None:
                continue
            date = t.value if t.resolved and t.value else t.text
            if (sent.index, date) in seen:
                continue
            seen.add((sent.index, date))
            span = art.doc.char_span(t.start, t.end, alignment_mode="expand")
            head = attachment(span.root, {tok.i for tok in span}) if span is not None and len(span) else None
            if head is not None and head.lemma_.lower() in CANDIDACY_NOUNS:
                # "a possible 2020 candidate": the year describes a candidacy, not an event date
                continue
            mention = Mention(
                article=art.id, start=sent.start, end=sent.end, text=sent.text, sentence=sent.index
            )
            items.append(
                _Item(
                    date=date,
                    resolved=t.resolved,
                    article_order=order,
                    position=t.start,
                    sentence=sent,
                    head=head.lemma_.lower() if head is not None else None,
                    facts=set(fact_index.get((art.id, sent.index), ())),
                    entities=set(story.contexts.get((art.id, sent.index), frozenset()) & story.rare),
                    articles=[art.id],
                    evidence=[mention],
                )
            )
    return items


def _same_event(a: _Item, b: _Item) -> bool:
    if not (a.resolved and b.resolved) or dates_agree(a.date, b.date) is not True:
        return False
    if a.facts & b.facts:
        return True
    return bool(a.entities & b.entities)


def _finer(a: str, b: str) -> str:
    return a if _ORDER.get(granularity_of(a), 0) >= _ORDER.get(granularity_of(b), 0) else b


def build_timeline(
    analyzed: Sequence[AnalyzedArticle], facts: Sequence[Fact], conflicts: Sequence[Conflict]
) -> list[TimelineEntry]:
    """Dated events of the story, merged across articles and ordered (see the module docstring)."""
    # 1-2. items
    items = _items(analyzed, facts)

    # 3. merge the same event across articles
    merged: list[_Item] = []
    for item in items:
        target = next(
            (m for m in merged if item.articles[0] not in m.articles and _same_event(m, item)),
            None,
        )
        if target is None:
            merged.append(item)
            continue
        target.date = _finer(target.date, item.date)
        target.articles.append(item.articles[0])
        target.evidence.extend(item.evidence)
        target.facts |= item.facts
        target.entities |= item.entities

    # 4. conflicts
    date_conflicts = [c for c in conflicts if c.kind == "date"]
    entries: list[tuple[tuple[int, str, int, int, int], TimelineEntry]] = []
    for m in merged:
        conflict_id = None
        for c in date_conflicts:
            for v in c.values:
                spans = {(e.article, e.sentence) for e in v.evidence}
                if any((e.article, e.sentence) in spans for e in m.evidence) and (
                    m.resolved and dates_agree(m.date, v.normalized)
                ):
                    conflict_id = c.id
        # 5. ordering key
        start = calendar_start(m.date) if m.resolved else None
        if start is not None:
            key = (0, start.isoformat(), _ORDER.get(granularity_of(m.date), 0), 0, 0)
        else:
            key = (1, "", 0, m.article_order, m.position)
        text = m.sentence.text
        entries.append(
            (
                key,
                TimelineEntry(
                    date=m.date,
                    text=text,
                    articles=tuple(sorted(m.articles)),
                    evidence=tuple(m.evidence),
                    resolved=m.resolved and start is not None,
                    conflict=conflict_id,
                ),
            )
        )
    # 5. dates in removed photo captions
    entries.extend(_caption_entries(analyzed))

    # 6. order
    entries.sort(key=lambda e: e[0])
    return [e for _, e in entries]


_CREDIT = re.compile(r"\s*\([^()]*(?:/|\bphoto\b|\bimages?\b|\bgetty\b|\breuters\b|\bap\b)[^()]*\)\s*$", re.I)


def _caption_entries(
    analyzed: Sequence[AnalyzedArticle],
) -> list[tuple[tuple[int, str, int, int, int], TimelineEntry]]:
    """Step 5: one entry per absolute date found in a removed photo caption."""
    out: list[tuple[tuple[int, str, int, int, int], TimelineEntry]] = []
    for art in analyzed:
        for removed in art.article.removed:
            if "caption" not in removed.reason:
                continue
            caption = _CREDIT.sub("", removed.text).strip()
            for timex in find_timexes(caption, anchor=art.article.published_date):
                if not (timex.resolved and timex.value and timex.kind == "DATE"):
                    continue
                if timex.granularity not in ("day", "month", "year"):
                    continue
                start = calendar_start(timex.value)
                if start is None:
                    continue
                key = (0, start.isoformat(), _ORDER.get(granularity_of(timex.value), 0), 1, 0)
                entry = TimelineEntry(
                    date=timex.value,
                    text=caption,
                    articles=(art.id,),
                    evidence=(),
                    resolved=True,
                    source="caption",
                )
                out.append((key, entry))
    return out
