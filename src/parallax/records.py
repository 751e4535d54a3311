"""Typed records that cross stage boundaries.

Data flows one way: ingest -> clean -> analyze (spaCy) -> align/quotes/conflicts/framing/
timeline/summary -> report. Each stage takes and returns these frozen dataclasses; pydantic
models (:mod:`parallax.report`) are used only where data leaves the process.

Offsets (``start``/``end``) are character offsets into the *cleaned* article text
(:attr:`Article.text`), end exclusive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # spaCy is heavy; only type checkers need the class here.
    from spacy.tokens import Doc


# --- ingest / clean ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One article as read from an input file, before cleaning.

    ``text`` is the article body as extracted (for HTML: trafilatura's main text), with
    boilerplate still in it. ``record`` is the 1-based line of a JSONL record or the index of a
    record in a multi-record container (WARC, feed), ``None`` for single-article files.
    """

    source_path: str
    text: str
    id: str | None = None
    record: int | None = None
    outlet: str | None = None
    outlet_source: str | None = None  # "input" | "html" | "credit" | "url" | "filename"
    url: str | None = None
    title: str | None = None
    published: str | None = None  # ISO 8601 date or datetime, never invented
    author: str | None = None
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RemovedLine:
    """A line (or sentence) cleaning removed from an article, with why.

    ``line`` is the 1-based line number in the raw text.
    """

    text: str
    reason: str
    line: int


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article; everything downstream reads ``text``."""

    id: str
    source_path: str
    text: str
    outlet: str
    outlet_source: str = "filename"
    title: str | None = None
    published: str | None = None
    url: str | None = None
    author: str | None = None
    removed: tuple[RemovedLine, ...] = ()
    record: int | None = None
    #: The outlet as the input named it ("fox", "foxnews.com", the file name) before
    #: :mod:`parallax.outlets` settled ``outlet``; ``None`` when the two are the same.
    outlet_raw: str | None = None

    @property
    def outlet_id(self) -> str:
        """A stable slug of the canonical outlet name ("fox-news") for tools and URLs."""
        from parallax.outlets import outlet_id

        return outlet_id(self.outlet)

    @property
    def published_date(self) -> dt.date | None:
        """The publication date, if known and parseable (time part dropped)."""
        if not self.published:
            return None
        try:
            return dt.date.fromisoformat(self.published[:10])
        except ValueError:
            return None

    @property
    def content_hash(self) -> str:
        """Hash of the cleaned text with whitespace folded: identical content, identical hash."""
        folded = " ".join(self.text.split()).lower()
        return hashlib.sha1(folded.encode("utf-8")).hexdigest()


# --- analysis ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity found by spaCy, offsets into the cleaned text."""

    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a cleaned article."""

    article: str
    index: int
    start: int
    end: int
    text: str
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True, eq=False)
class AnalyzedArticle:
    """An article with its spaCy ``Doc`` (parsed cleaned text) and sentences.

    ``doc.text == article.text``, so token ``idx`` values are offsets into the cleaned text.
    """

    article: Article
    doc: Doc
    sentences: tuple[Sentence, ...]

    @property
    def id(self) -> str:
        return self.article.id


@dataclass(frozen=True, slots=True)
class Mention:
    """A piece of evidence: a span of one article's cleaned text."""

    article: str
    start: int
    end: int
    text: str
    sentence: int | None = None  # index of the sentence it lies in, when known


FactStatus = Literal["consensus", "partial", "unique"]


@dataclass(frozen=True, slots=True)
class Fact:
    """Sentences from one or more articles that report the same thing.

    At most one mention per article carries the fact as its *main* mention; an article
    may add more mentions when several of its sentences align to the same fact.
    """

    id: str
    status: FactStatus
    mentions: tuple[Mention, ...]
    articles: tuple[str, ...]
    score: float = 1.0  # mean pairwise similarity of the aligned sentences (1.0 for unique)


# --- quotes -----------------------------------------------------------------------------------

Fidelity = Literal["verbatim", "spelling", "bracketed", "trimmed", "altered"]
DiffKind = Literal["equal", "insert", "delete", "replace"]


@dataclass(frozen=True, slots=True)
class DiffOp:
    """One word-level edit from the reference wording (``a``) to a rendering (``b``)."""

    op: DiffKind
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class QuoteSpan:
    """A direct quotation found in one article, before cross-article grouping."""

    article: str
    text: str  # the quoted words, without the quote marks
    start: int  # offsets of the quoted words (inside the marks)
    end: int
    speaker: str | None
    cue: str | None
    sentence: int | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    #: the local words naming the speaker when they could not be resolved to a named person or
    #: group ("the spokesman", "a source", "they"); ``speaker`` is then None
    speaker_phrase: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteRendering:
    """How one article renders a quotation shared across articles."""

    article: str
    text: str
    start: int
    end: int
    speaker: str | None
    cue: str | None
    fidelity: Fidelity
    diff: tuple[DiffOp, ...] = ()
    speaker_phrase: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """A quotation with its speaker and one rendering per article that carries it."""

    id: str
    speaker: str | None
    text: str  # the reference wording (the fullest rendering)
    renderings: tuple[QuoteRendering, ...]


AttributionKind = Literal["direct", "indirect", "mixed"]
NonQuoteKind = Literal["title", "scare", "term"]


@dataclass(frozen=True, slots=True)
class Attribution:
    """One attribution in one article: a source (speaker), a cue and the content attributed.

    ``direct``: the content is a quotation (or several quotation fragments around one cue, "“A,”
    she said, “B.”": ``start``/``end`` then run from the first fragment to the last);
    ``indirect``: reported speech without quotation marks ("Russo said that ...", "according to
    Russo, ..."); ``mixed``: reported speech quoting some of its words ("Russo said the plan was
    “dead on arrival”"). Offsets index the article's cleaned text; ``speaker`` is a named person
    or group of the story, or None with the local words kept in ``speaker_phrase``.
    """

    article: str
    kind: AttributionKind
    content: str
    start: int
    end: int
    speaker: str | None
    cue: str | None
    cue_start: int | None = None
    cue_end: int | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    speaker_phrase: str | None = None
    sentence: int | None = None


@dataclass(frozen=True, slots=True)
class NonQuote:
    """Words between quotation marks that are not a quotation: a title of a show, book or article,
    a scare quote (one or two words set off by the writer), or a term or nickname."""

    article: str
    kind: NonQuoteKind
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Statement:
    """The attributions of one statement across articles: one outlet may quote it, another
    paraphrase it (each attribution's ``kind`` tells which)."""

    id: str
    speaker: str | None
    text: str  # the fullest content
    attributions: tuple[Attribution, ...]
    quote: str | None = None  # id of the grouped Quote of its direct renderings, if any


@dataclass(frozen=True, slots=True)
class Voice:
    """How often one outlet's article gives ``speaker`` a voice (None: unnamed sources)."""

    article: str
    outlet: str
    speaker: str | None
    direct: int
    indirect: int


@dataclass(frozen=True, slots=True)
class Attributions:
    """Everything the quotes stage found in a story."""

    quotes: tuple[Quote, ...] = ()
    attributions: tuple[Attribution, ...] = ()
    statements: tuple[Statement, ...] = ()
    voices: tuple[Voice, ...] = ()
    non_quotes: tuple[NonQuote, ...] = ()


# --- discrepancies (issue: conflicts, framing, timeline) --------------------------------------


@dataclass(frozen=True, slots=True)
class ConflictValue:
    value: str
    normalized: str
    articles: tuple[str, ...]
    evidence: tuple[Mention, ...]


@dataclass(frozen=True, slots=True)
class ConflictQuantity:
    """What the disputed value measures, in typed parts (for the reason and the dispute sentence).

    ``attribute`` is "year", "amount", "number", ...; ``head`` the word the value attaches to as
    written ("fundraiser", "women", "earned"); ``head_pos`` its part of speech; ``unit`` the
    counted noun, currency or base unit; ``owner`` the person or organisation the value belongs
    to, when the sentences name one.
    """

    kind: str
    attribute: str
    head: str = ""
    head_pos: str = ""
    unit: str = ""
    owner: str = ""


@dataclass(frozen=True, slots=True)
class Conflict:
    id: str
    kind: str  # "date" | "number" | "money" | "percent" | "count" | "place" | "speaker"
    about: str
    values: tuple[ConflictValue, ...]
    confidence: float
    facts: tuple[str, ...] = ()
    #: why the values were paired: shared words and entities of their sentences
    shared: tuple[str, ...] = ()
    quantity: ConflictQuantity | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Label:
    """A label an outlet applies to an entity (apposition, premodifier or role noun)."""

    entity: str
    article: str
    label: str
    kind: str  # "apposition" | "premodifier" | "role"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class StoryEntity:
    """One person (or named group) of a story under one canonical name (:mod:`parallax.entities`).

    ``aliases`` are the other surface forms articles use ("Susan E. Rice", "Ambassador Rice");
    ``mentions`` counts the mentions per article id.
    """

    id: str
    name: str
    kind: Literal["person", "group"]
    aliases: tuple[str, ...] = ()
    mentions: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class AttributionVerb:
    article: str
    verb: str  # lemma
    group: Literal["neutral", "loaded"]
    count: int
    mentions: tuple[Mention, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadedSpan:
    article: str
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class LoadedDensity:
    article: str
    spans: int
    words: int
    per_1000_words: float


@dataclass(frozen=True, slots=True)
class Framing:
    labels: tuple[Label, ...] = ()
    attribution_verbs: tuple[AttributionVerb, ...] = ()
    loaded: tuple[LoadedSpan, ...] = ()
    density: tuple[LoadedDensity, ...] = ()


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    date: str  # ISO 8601, partial allowed ("2009-10", "2014"), or a relative phrase when unresolved
    text: str
    articles: tuple[str, ...]
    evidence: tuple[Mention, ...]
    resolved: bool = True
    conflict: str | None = None  # id of the conflict this date is part of
    #: "text" (evidence spans index the cleaned text) or "caption": the date comes from a photo
    #: caption that cleaning removed from the text; ``text`` is the caption without its credit
    #: and ``evidence`` is empty (the caption is listed in the article's ``removed`` lines).
    source: str = "text"


# --- summary ----------------------------------------------------------------------------------

SummaryKind = Literal["fact", "dispute"]


@dataclass(frozen=True, slots=True)
class SummaryEntry:
    text: str
    kind: SummaryKind
    articles: tuple[str, ...]
    facts: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    evidence: tuple[Mention, ...] = ()


# --- the whole analysis of one story ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoryAnalysis:
    """Everything the per-story stages produced; :mod:`parallax.report` turns it into JSON."""

    story_id: str
    title: str
    articles: tuple[Article, ...]
    facts: tuple[Fact, ...] = ()
    omissions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    quotes: tuple[Quote, ...] = ()
    summary: tuple[SummaryEntry, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    framing: Framing = field(default_factory=Framing)
    timeline: tuple[TimelineEntry, ...] = ()
    copies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    timings: tuple[tuple[str, float], ...] = ()
    entities: tuple[StoryEntity, ...] = ()
    statements: tuple[Statement, ...] = ()
    voices: tuple[Voice, ...] = ()
    non_quotes: tuple[NonQuote, ...] = ()
