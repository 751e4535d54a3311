"""Render a :class:`~parallax.report.StoryReport` as one self-contained HTML page.

The page needs nothing from the network: CSS is inline, there is no script at all, the timeline is
inline SVG, and a Content-Security-Policy ``<meta>`` forbids every external load. All
article-derived text goes through Jinja2 with ``autoescape=True``; nothing from the data is ever
marked safe, and a URL becomes a link only when it starts with ``http://`` or ``https://``.

The pieces are reusable by a web server: :func:`story_fragment` (the body of one story),
:func:`article_fragment` (one article column) and :func:`stylesheet` (the CSS both need).

This module also holds the view helpers the Markdown renderer shares, so that both formats name
evidence with the same anchors (:func:`evidence_anchor`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from parallax.dates import calendar_start
from parallax.render import display
from parallax.render.display import article_title, readable_date
from parallax.render.display import shorten as shorten
from parallax.render.glance import build_glance
from parallax.report import ArticleModel, EvidenceSpan, FactModel, StoryReport, TimelineEntryModel

log = logging.getLogger(__name__)

#: Coverage statuses, strongest first: a sentence in several facts shows the strongest one.
STATUS_ORDER = ("consensus", "partial", "unique")

#: Timeline events listed before the rest are folded.
TIMELINE_SHOWN = 12

_SLUG_RE = re.compile(r"[^A-Za-z0-9_.:-]")
_PARTIAL_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:$|T)")


# --- anchors and labels shared with the Markdown renderer ----------------------------------------


def anchor_slug(article_id: str) -> str:
    """``article_id`` made safe for an HTML id (characters outside ``[A-Za-z0-9_.:-]`` become ``_``)."""
    return _SLUG_RE.sub("_", article_id) or "_"


def evidence_anchor(article_id: str, *, sentence: int | None, start: int) -> str:
    """The anchor of a piece of evidence: ``{article}-s{n}`` for sentence ``n``, else ``{article}-c{start}``."""
    slug = anchor_slug(article_id)
    return f"{slug}-s{sentence}" if sentence is not None else f"{slug}-c{start}"


def span_anchor(span: EvidenceSpan) -> str:
    """The anchor of an :class:`EvidenceSpan` (see :func:`evidence_anchor`)."""
    return evidence_anchor(span.article, sentence=span.sentence, start=span.start)


def outlet_labels(report: StoryReport) -> dict[str, str]:
    """Article id -> display name, unique in the story (see :func:`parallax.render.display.outlet_labels`)."""
    return display.outlet_labels(report)


def fact_text(fact: FactModel) -> str:
    """The wording that stands for a fact: its first (main) mention."""
    return fact.mentions[0].text if fact.mentions else ""


def strongest_status(statuses: Iterable[str]) -> str:
    """The strongest coverage status among ``statuses`` (consensus > partial > unique)."""
    present = set(statuses)
    return next((s for s in STATUS_ORDER if s in present), "unique")


def is_web_url(url: str | None) -> bool:
    """Whether ``url`` may be used as a link target (http or https only)."""
    return bool(url) and url is not None and url.lower().startswith(("http://", "https://"))


def _trim_left(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    return "…" + cut[cut.find(" ") + 1 :] if " " in cut else "…" + cut


def _trim_right(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + "…"


class EvidenceContext:
    """Shows an evidence span inside its sentence: ``ctx(span) -> (before, span text, after)``.

    Sentence bounds come from the fact mentions of the report; without them a window of
    ``width`` characters either side is used. A span whose offsets do not match its article's
    text is shown alone (it is never trusted to slice the text).
    """

    def __init__(self, report: StoryReport, *, width: int = 90) -> None:
        self.width = width
        self.texts = {a.id: a.text for a in report.articles}
        self.bounds: dict[str, tuple[int, int]] = {}
        for fact in report.facts:
            for m in fact.mentions:
                self.bounds.setdefault(span_anchor(m), (m.start, m.end))

    def __call__(self, span: EvidenceSpan) -> tuple[str, str, str]:
        text = self.texts.get(span.article)
        if text is None or text[span.start : span.end] != span.text or span.end <= span.start:
            return "", span.text, ""
        # Outside a known sentence, take a generous window; trimming then cuts it at a word boundary.
        window = (span.start - 4 * self.width, span.end + 4 * self.width)
        lo, hi = self.bounds.get(span_anchor(span), window)
        if not lo <= span.start <= span.end <= hi:
            lo, hi = window
        lo, hi = max(lo, 0), min(hi, len(text))
        raw_before, raw_after = text[lo : span.start], text[span.end : hi]
        before = " ".join(raw_before.split()) + (" " if raw_before[-1:].isspace() else "")
        after = (" " if raw_after[:1].isspace() else "") + " ".join(raw_after.split())
        before = "" if before == " " else before
        after = "" if after == " " else after
        return _trim_left(before, self.width), span.text, _trim_right(after, self.width)


# --- segmentation of an article text into sentences and marked pieces ----------------------------


@dataclass(frozen=True, slots=True)
class SentenceRegion:
    """A sentence to wrap in an element with ``id``; ``classes`` colour it (e.g. ``fact-partial``)."""

    start: int
    end: int
    id: str
    classes: tuple[str, ...] = ()
    title: str = ""


@dataclass(frozen=True, slots=True)
class Mark:
    """A highlighted span inside the text (``kind`` is a CSS class: ``loaded``, ``quote``, ``conflict``)."""

    start: int
    end: int
    kind: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text under one set of marks; ``anchors`` are ids of empty targets placed before it."""

    text: str
    kinds: tuple[str, ...] = ()
    title: str = ""
    anchors: tuple[str, ...] = ()

    @property
    def loaded(self) -> bool:
        return "loaded" in self.kinds

    @property
    def wrap(self) -> str:
        """CSS classes of the non-``loaded`` marks (rendered as a ``<span>``)."""
        return " ".join(k for k in self.kinds if k != "loaded")


@dataclass(frozen=True, slots=True)
class Block:
    """A sentence (``id`` set) or the text between sentences (``id`` None), cut into pieces."""

    start: int
    end: int
    id: str | None
    classes: tuple[str, ...]
    title: str
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


def _clip(start: int, end: int, n: int) -> tuple[int, int]:
    return max(0, min(start, n)), max(0, min(end, n))


def _sentence_blocks(
    n: int, sentences: Sequence[SentenceRegion]
) -> list[tuple[int, int, SentenceRegion | None]]:
    """Non-overlapping sentence regions in text order, with the gaps between them filled."""
    seen: set[str] = set()
    regions: list[SentenceRegion] = []
    for reg in sentences:
        start, end = _clip(reg.start, reg.end, n)
        if end <= start or reg.id in seen:
            continue
        seen.add(reg.id)
        regions.append(SentenceRegion(start, end, reg.id, reg.classes, reg.title))
    regions.sort(key=lambda r: (r.start, -r.end))
    out: list[tuple[int, int, SentenceRegion | None]] = []
    cursor = 0
    for reg in regions:
        # An overlapping region (inconsistent offsets) keeps only its part after the previous one.
        start = max(reg.start, cursor)
        if reg.end <= start:
            log.debug("sentence %s lies inside an earlier sentence; not wrapped", reg.id)
            continue
        if start > cursor:
            out.append((cursor, start, None))
        out.append((start, reg.end, reg))
        cursor = reg.end
    if cursor < n or not out:
        out.append((cursor, n, None))
    return out


def segment_text(
    text: str,
    *,
    sentences: Sequence[SentenceRegion] = (),
    marks: Sequence[Mark] = (),
    anchors: Sequence[tuple[int, str]] = (),
) -> list[Block]:
    """Cut ``text`` into sentence blocks and, inside them, pieces under a constant set of marks.

    Spans may overlap, nest, cross sentence boundaries or fall outside the text: every element
    the HTML needs stays well nested because the text is split at *all* span boundaries.

    1. Clip every span to the text; drop empty ones.
    2. Order the sentences and make them disjoint (a later overlapping sentence starts where the
       earlier one ends); fill the gaps with anonymous blocks.
    3. Sweep the sorted boundaries of blocks, marks and anchor points, keeping the set of active
       marks; each elementary interval becomes a piece of the block that contains it.
    4. Merge neighbouring pieces of one block with the same marks and no anchor between them.

    The concatenated piece texts always equal ``text``.
    """
    n = len(text)
    # 1. clip marks and anchor points
    clipped: list[Mark] = []
    for mark in marks:
        start, end = _clip(mark.start, mark.end, n)
        if end > start:
            clipped.append(Mark(start, end, mark.kind, mark.title))
    anchor_at: dict[int, list[str]] = defaultdict(list)
    for pos, name in anchors:
        p = max(0, min(pos, n))
        if name not in anchor_at[p]:
            anchor_at[p].append(name)
    # 2. disjoint sentence blocks covering the whole text
    spans = _sentence_blocks(n, sentences)
    # 3. sweep
    starts: dict[int, list[int]] = defaultdict(list)
    ends: dict[int, list[int]] = defaultdict(list)
    for i, mark in enumerate(clipped):
        starts[mark.start].append(i)
        ends[mark.end].append(i)
    cuts = sorted({0, n} | {s for s, _, _ in spans} | set(starts) | set(ends) | set(anchor_at))
    active: set[int] = set()
    pieces_of: list[list[Piece]] = [[] for _ in spans]
    block = 0
    for a, b in itertools.pairwise(cuts):
        active.difference_update(ends.get(a, ()))
        active.update(starts.get(a, ()))
        while spans[block][1] <= a:
            block += 1
        on = sorted(active, key=lambda i: (clipped[i].start, clipped[i].end, clipped[i].kind))
        kinds = tuple(sorted({clipped[i].kind for i in on}))
        title = "; ".join(dict.fromkeys(clipped[i].title for i in on if clipped[i].title))
        piece = Piece(text[a:b], kinds, title, tuple(anchor_at.get(a, ())))
        # 4. merge with the previous piece when nothing separates them
        bucket = pieces_of[block]
        if bucket and not piece.anchors and bucket[-1].kinds == kinds and bucket[-1].title == title:
            prev = bucket[-1]
            bucket[-1] = Piece(prev.text + piece.text, kinds, title, prev.anchors)
        else:
            bucket.append(piece)
    if anchor_at.get(n):  # targets at the very end of the text
        pieces_of[-1].append(Piece("", (), "", tuple(anchor_at[n])))
    blocks: list[Block] = []
    for (start, end, reg), pieces in zip(spans, pieces_of, strict=True):
        if reg is None:
            blocks.append(Block(start, end, None, (), "", tuple(pieces)))
        else:
            blocks.append(Block(start, end, reg.id, ("sent", *reg.classes), reg.title, tuple(pieces)))
    return blocks


def _all_evidence(report: StoryReport) -> list[EvidenceSpan]:
    """Evidence spans the report cites outside facts (summary, conflicts, timeline, verbs)."""
    spans: list[EvidenceSpan] = []
    for entry in report.summary:
        spans.extend(entry.evidence)
    for conflict in report.conflicts:
        for value in conflict.values:
            spans.extend(value.evidence)
    for event in report.timeline:
        spans.extend(event.evidence)
    for verb in report.framing.attribution_verbs:
        spans.extend(verb.mentions)
    return spans


def article_blocks(article: ArticleModel, report: StoryReport | None = None) -> list[Block]:
    """The blocks of one article column: sentences coloured by fact status, marks for framing.

    Sentences come from the fact mentions (and other cited evidence) of ``report``; without a
    report the text is one plain block.
    """
    sentences: list[SentenceRegion] = []
    marks: list[Mark] = []
    anchors: list[tuple[int, str]] = []
    if report is not None:
        by_anchor: dict[str, list[tuple[FactModel, EvidenceSpan]]] = defaultdict(list)
        for fact in report.facts:
            for m in fact.mentions:
                if m.article == article.id:
                    by_anchor[span_anchor(m)].append((fact, m))
        for anchor, items in by_anchor.items():
            status = strongest_status(f.status for f, _ in items)
            outlets = max(len(f.articles) for f, _ in items)
            title = f"{status}: reported by {outlets} outlet{'s' if outlets != 1 else ''}"
            first = items[0][1]
            sentences.append(SentenceRegion(first.start, first.end, anchor, (f"fact-{status}",), title))
        for span in _all_evidence(report):
            if span.article != article.id:
                continue
            if span.sentence is not None:
                sentences.append(SentenceRegion(span.start, span.end, span_anchor(span)))
            else:
                anchors.append((span.start, span_anchor(span)))
        for loaded in report.framing.loaded:
            if loaded.article == article.id:
                marks.append(
                    Mark(loaded.start, loaded.end, "loaded", f"loaded wording, score {loaded.score:.2f}")
                )
        for quote in report.quotes:
            for r in quote.renderings:
                if r.article == article.id:
                    marks.append(Mark(r.start, r.end, "quote", f"quote {quote.id}: {r.fidelity}"))
                    anchors.append((r.start, evidence_anchor(r.article, sentence=None, start=r.start)))
        for conflict in report.conflicts:
            for value in conflict.values:
                for ev in value.evidence:
                    if ev.article == article.id:
                        marks.append(Mark(ev.start, ev.end, "conflict", f"{conflict.id}: {conflict.about}"))
    return segment_text(article.text, sentences=sentences, marks=marks, anchors=anchors)


# --- timeline chart -------------------------------------------------------------------------------


def parse_partial_date(value: str) -> tuple[dt.date, str] | None:
    """``(date, precision)`` for an ISO date, partial (``2014``, ``2009-10``) or datetime; else None.

    Other calendar values (weeks, seasons, quarters, decades) sit at the first day they cover.
    """
    m = _PARTIAL_DATE_RE.match(value.strip())
    if not m:
        start = calendar_start(value.strip())
        return (start, "period") if start is not None else None
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if day is not None and month is not None:
            return dt.date(year, int(month), int(day)), "day"
        if month is not None:
            return dt.date(year, int(month), 1), "month"
        return dt.date(year, 1, 1), "year"
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One event of the timeline as shown: entries that quote the same sentence are one row.

    The analysis may date one sentence twice ("on the night of Feb. 24" gives a day and a night
    of that day; "in 2009 and again in 2014" gives two years): a reader should see the sentence
    once, with its dates. ``dates`` are written out (:func:`readable_date`); ``value`` is the
    first resolved TIMEX3 value (for the chart), or None.
    """

    dates: tuple[str, ...]
    value: str | None
    text: str
    articles: tuple[str, ...]
    evidence: tuple[EvidenceSpan, ...]
    conflict: str | None
    caption: bool


def _finest(values: list[str]) -> list[str]:
    """Drop a value that another value refines ("2015-02-24" beside "2015-02-24TNI")."""
    return [v for v in values if not any(o != v and o.startswith(v) for o in values)]


def timeline_rows(report: StoryReport) -> list[TimelineRow]:
    """The timeline entries merged by sentence, in the report's order (first occurrence wins).

    1. Group entries whose text is the same sentence (whitespace folded).
    2. Per group: resolved values first, a value refined by another dropped, then the unresolved
       phrases; articles, evidence and the first conflict id united.
    """
    groups: dict[str, list[TimelineEntryModel]] = {}
    for entry in report.timeline:
        groups.setdefault(" ".join(entry.text.split()), []).append(entry)
    rows: list[TimelineRow] = []
    for text, entries in groups.items():
        resolved = _finest(list(dict.fromkeys(e.date for e in entries if e.resolved)))
        relative = list(dict.fromkeys(e.date for e in entries if not e.resolved))
        dates = [readable_date(v) for v in resolved] + [readable_date(v, resolved=False) for v in relative]
        articles = tuple(dict.fromkeys(a for e in entries for a in e.articles))
        evidence: dict[str, EvidenceSpan] = {}
        for e in entries:
            for span in e.evidence:
                evidence.setdefault(span_anchor(span), span)
        rows.append(
            TimelineRow(
                dates=tuple(dates),
                value=resolved[0] if resolved else None,
                text=text,
                articles=articles,
                evidence=tuple(evidence.values()),
                conflict=next((e.conflict for e in entries if e.conflict), None),
                caption=all(e.source == "caption" for e in entries),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class ChartPoint:
    x: float
    label_x: float
    label_y: float
    anchor: str  # SVG text-anchor of the label: "start" or "end"
    date: str
    text: str
    conflict: bool
    outlets: str
    labelled: bool = True  # False: a dot only (no free label row left); the list below has it


@dataclass(frozen=True, slots=True)
class ChartTick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class TimelineChart:
    """Coordinates of the inline SVG timeline (all numbers; the template escapes the text)."""

    width: int
    height: int
    axis_y: float
    x0: float
    x1: float
    points: tuple[ChartPoint, ...] = ()
    ticks: tuple[ChartTick, ...] = ()
    compressed: bool = False


def _time_scale(days: Sequence[int], x0: float, x1: float) -> tuple[Callable[[int], float], bool]:
    """A monotone map from day ordinals to x: each gap between known dates gets width ~ log(1 + days).

    News timelines mix events years apart with events a day apart; a linear axis would pile the
    recent ones on top of each other. Returns the map and whether the axis is compressed.
    """
    known = sorted(set(days))
    if len(known) == 1:
        return (lambda _day: round((x0 + x1) / 2, 1)), False
    cum = [0.0]
    for prev, cur in itertools.pairwise(known):
        cum.append(cum[-1] + math.log1p(cur - prev))
    scale = (x1 - x0) / cum[-1]
    gaps = [b - a for a, b in itertools.pairwise(known)]
    compressed = max(gaps) > 3 * min(gaps)

    def xpos(day: int) -> float:
        i = min(max(bisect.bisect_right(known, day) - 1, 0), len(known) - 2)
        frac = (day - known[i]) / (known[i + 1] - known[i])
        frac = min(max(frac, 0.0), 1.0)
        return round(x0 + (cum[i] + frac * (cum[i + 1] - cum[i])) * scale, 1)

    return xpos, compressed


def timeline_chart(
    report: StoryReport,
    *,
    width: int = 1000,
    row_height: int = 34,
    char_width: float = 7.0,
    max_rows: int = 5,
) -> TimelineChart | None:
    """Lay out the dated timeline rows on a time axis; None when no row has a usable date.

    ``char_width`` is a generous average width of a 12-unit label character, so that estimated
    label boxes are never narrower than the drawn text (labels would overlap otherwise).

    1. Parse every row's first resolved date (a partial date sits at the start of its period).
    2. Map dates onto the axis with :func:`_time_scale` (long gaps shortened).
    3. Put each label in the lowest row where it does not overlap an earlier label; labels near
       the right end are drawn to the left of their point. Past ``max_rows`` rows a point is a
       dot without a label (its title still names it; the list under the chart has every event).
    4. Ticks: years, or months when the dates span under two years (about 12 labels at most).
    """
    labels = outlet_labels(report)
    # 1. parse
    dated: list[tuple[dt.date, TimelineRow]] = []
    for item in timeline_rows(report):
        parsed = parse_partial_date(item.value) if item.value else None
        if parsed is not None:
            dated.append((parsed[0], item))
    if not dated:
        return None
    dated.sort(key=lambda item: (item[0], item[1].value or ""))
    # 2. scale
    margin = 40.0
    x0, x1 = margin, width - margin
    xpos, compressed = _time_scale([d.toordinal() for d, _ in dated], x0, x1)
    # 3. label rows
    row_ends: list[float] = []
    placed: list[tuple[float, float, str, int, str, str, bool, str]] = []
    for day, event in dated:
        x = xpos(day.toordinal())
        text = shorten(event.text, 48)
        date = event.dates[0]
        w = char_width * max(len(date) + 11, len(text)) + 8
        if x + w <= width:
            left, anchor, label_x = x, "start", x + 4
        else:
            left, anchor, label_x = max(x - w, 0.0), "end", x - 4
        row = next((i for i, end in enumerate(row_ends) if end + 8 < left), len(row_ends))
        if row == len(row_ends) and row < max_rows:
            row_ends.append(left + w)
        elif row < max_rows:
            row_ends[row] = left + w
        outlets = ", ".join(labels.get(a, "another outlet") for a in event.articles)
        placed.append((x, label_x, anchor, row, date, text, event.conflict is not None, outlets))
    axis_y = 16 + max(len(row_ends), 1) * row_height + 8
    points = tuple(
        ChartPoint(
            x,
            label_x,
            axis_y - 16 - min(row, max_rows) * row_height,
            anchor,
            date,
            text,
            conflict,
            outlets,
            labelled=row < max_rows,
        )
        for x, label_x, anchor, row, date, text, conflict, outlets in placed
    )
    # 4. ticks
    first, last = dated[0][0], dated[-1][0]
    lo, hi = first.toordinal(), last.toordinal()
    ticks: list[ChartTick] = []

    def add_tick(x: float, label: str) -> None:
        # a tick label needs about 7 units per character; drop one that would touch the previous
        if not ticks or x - ticks[-1].x >= char_width * (len(label) + len(ticks[-1].label)) / 2 + 10:
            ticks.append(ChartTick(x, label))

    if hi - lo < 730:
        months = (last.year - first.year) * 12 + last.month - first.month
        step = max(1, (months + 11) // 12)
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            tick = dt.date(y, m, 1)
            add_tick(xpos(max(tick.toordinal(), lo)), tick.strftime("%b %Y"))
            m += step
            y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    else:
        step = max(1, (last.year - first.year + 11) // 12)
        for year in range(first.year, last.year + 1, step):
            add_tick(xpos(max(dt.date(year, 1, 1).toordinal(), lo)), str(year))
    return TimelineChart(width, int(axis_y + 30), axis_y, x0, x1, points, tuple(ticks), compressed)


# --- rendering ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("parallax", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        anchor=span_anchor,
        slug=anchor_slug,
        is_web_url=is_web_url,
        shorten=shorten,
        fact_text=fact_text,
        readable_date=readable_date,
        article_title=article_title,
    )
    return env


def stylesheet() -> str:
    """The CSS of the story views (for a server page that embeds :func:`story_fragment`)."""
    return _environment().get_template("story.css").render()


def _story_context(report: StoryReport) -> dict[str, Any]:
    labels = outlet_labels(report)
    facts = {f.id: f for f in report.facts}
    # Where each fact is told in each article: the first mention's anchor.
    cell: dict[tuple[str, str], str] = {}
    for fact in report.facts:
        for m in fact.mentions:
            cell.setdefault((fact.id, m.article), span_anchor(m))
    labels_by_entity: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for label in report.framing.labels:
        pair = (label.label, label.kind)
        if pair not in labels_by_entity[label.entity][label.article]:
            labels_by_entity[label.entity][label.article].append(pair)
    verbs: dict[str, dict[str, list[tuple[str, int]]]] = {
        a.id: {"neutral": [], "loaded": []} for a in report.articles
    }
    for verb in sorted(report.framing.attribution_verbs, key=lambda v: (-v.count, v.verb)):
        verbs.setdefault(verb.article, {"neutral": [], "loaded": []})[verb.group].append(
            (verb.verb, verb.count)
        )
    loaded_by_article: dict[str, list[Any]] = defaultdict(list)
    for span in sorted(report.framing.loaded, key=lambda s: s.start):
        loaded_by_article[span.article].append(span)
    density = {d.article: d for d in report.framing.density}
    fact_anchor = {f.id: span_anchor(f.mentions[0]) for f in report.facts if f.mentions}
    shared_quotes = [q for q in report.quotes if len({r.article for r in q.renderings}) > 1]
    rows = timeline_rows(report)
    dates = [a.published for a in report.articles]
    return {
        "report": report,
        "context": EvidenceContext(report),
        "labels": labels,
        "facts": facts,
        "cell": cell,
        "columns": [(a, article_blocks(a, report)) for a in report.articles],
        "labels_by_entity": {e: dict(v) for e, v in labels_by_entity.items()},
        "verbs": verbs,
        "loaded_by_article": dict(loaded_by_article),
        "density": density,
        "chart": timeline_chart(report),
        "status_counts": {s: sum(1 for f in report.facts if f.status == s) for s in STATUS_ORDER},
        "omissions": {o.article: o.facts for o in report.omissions},
        "glance": build_glance(report, anchors=fact_anchor),
        "shared_quotes": shared_quotes,
        "single_quotes": [q for q in report.quotes if q not in shared_quotes],
        "timeline_rows": rows,
        "timeline_shown": TIMELINE_SHOWN,
        "dated_rows": sum(1 for r in rows if r.value),
        "published": display.date_range(dates),
        "titles": {a.id: article_title(a) for a in report.articles},
        "also": {},
        "names": lambda text: display.with_names(text, report.articles, labels),
    }


def other_versions(
    report: StoryReport, article_id: str, *, href: Callable[[str], str]
) -> dict[str, list[tuple[str, str]]]:
    """Sentence anchor in ``article_id`` -> (outlet, link) of the same fact in each other outlet.

    ``href`` turns an evidence anchor into a URL (e.g. the story page with that fragment).
    """
    labels = outlet_labels(report)
    out: dict[str, list[tuple[str, str]]] = {}
    for fact in report.facts:
        own = [m for m in fact.mentions if m.article == article_id]
        if not own:
            continue
        others: dict[str, str] = {}
        for m in fact.mentions:
            if m.article != article_id:
                others.setdefault(m.article, span_anchor(m))
        for mine in own:
            links = out.setdefault(span_anchor(mine), [])
            for art, target in others.items():
                link = (labels.get(art, "another outlet"), href(target))
                if link not in links:
                    links.append(link)
    return {k: v for k, v in out.items() if v}


def story_fragment(report: StoryReport) -> str:
    """The body of one story (no ``<html>``/``<head>``), for embedding in a server page."""
    return _environment().get_template("story.html").render(**_story_context(report))


def article_fragment(
    article: ArticleModel,
    *,
    report: StoryReport | None = None,
    also: dict[str, list[tuple[str, str]]] | None = None,
) -> str:
    """One article column: header and cleaned text, sentences wrapped and coloured when ``report`` is given.

    ``also`` (see :func:`other_versions`) adds, after each sentence, links to the same fact in the
    other outlets.
    """
    labels = display.outlet_labels(report if report is not None else [article])
    return (
        _environment()
        .get_template("article.html")
        .render(article=article, blocks=article_blocks(article, report), labels=labels, also=also or {})
    )


def render_html(report: StoryReport, *, standalone: bool = True) -> str:
    """The report as HTML: a complete self-contained page, or (``standalone=False``) the story fragment."""
    if not standalone:
        return story_fragment(report)
    return _environment().get_template("page.html").render(**_story_context(report))
