"""The versioned, typed ``StoryReport``: the one object the CLI, the API and the web pages render.

Its JSON Schema is published at ``src/parallax/schema/story_report.schema.json`` (regenerate
with ``parallax schema -o ...``; a test checks the file is current). ``SCHEMA_VERSION`` follows
semantic versioning: a new optional field bumps the minor version, a removed or retyped field
the major version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parallax.records import Conflict, StoryAnalysis

SCHEMA_VERSION = "1.1.0"

SCHEMA_PATH = Path(__file__).parent / "schema" / "story_report.schema.json"


class _Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class EvidenceSpan(_Model):
    """A span of one article's cleaned text: ``text == article.text[start:end]``."""

    article: str
    text: str
    start: int
    end: int
    sentence: int | None = None


class RemovedLineModel(_Model):
    text: str
    reason: str
    line: int


class ArticleModel(_Model):
    id: str
    source_path: str
    outlet: str
    outlet_source: str = Field(
        description="where the outlet name came from: user, input, html, credit, url, filename"
    )
    outlet_raw: str | None = Field(
        default=None,
        description="the outlet as the input gave it (e.g. 'fox', 'foxnews.com', a file name) when it "
        "differs from the canonical `outlet`; `outlet` is 'Unknown outlet XXXX' when no outlet is known",
    )
    outlet_id: str | None = Field(default=None, description="a stable slug of the canonical outlet name")
    title: str | None
    published: str | None = Field(description="ISO 8601 date or datetime; null when unknown")
    url: str | None
    author: str | None = None
    text: str = Field(description="the cleaned text; every offset in the report indexes into it")
    removed: list[RemovedLineModel]


class StoryInfo(_Model):
    id: str
    title: str


class FactModel(_Model):
    id: str
    status: Literal["consensus", "partial", "unique"]
    articles: list[str]
    mentions: list[EvidenceSpan]
    score: float = 1.0


class OmissionItem(_Model):
    """One fact an article leaves out, with the outlets that carry it and a span of one of them."""

    fact: str
    carried_by: list[str] = Field(description="ids of the articles that carry the fact")
    evidence: EvidenceSpan = Field(description="the fact's first mention in a carrying article")


class Omission(_Model):
    """What one article leaves out, ranked: facts carried by the most other outlets first."""

    article: str
    facts: list[str] = Field(description="ids of the facts left out, most widely carried first")
    items: list[OmissionItem] = []


class DiffOpModel(_Model):
    op: Literal["equal", "insert", "delete", "replace"]
    a: str
    b: str


class RenderingModel(_Model):
    article: str
    text: str
    start: int
    end: int
    speaker: str | None
    cue: str | None
    fidelity: Literal["verbatim", "spelling", "bracketed", "trimmed", "altered"]
    diff: list[DiffOpModel]
    speaker_phrase: str | None = Field(
        default=None, description="the local words naming an unresolved speaker; speaker is then null"
    )


class QuoteModel(_Model):
    id: str
    speaker: str | None
    text: str
    renderings: list[RenderingModel]


class AttributionModel(_Model):
    """One attribution in one article; offsets index the article's cleaned text."""

    article: str
    kind: Literal["direct", "indirect", "mixed"] = Field(
        description="direct: quoted; indirect: reported without quotation marks; mixed: reported, partly quoted"
    )
    content: str
    start: int
    end: int
    speaker: str | None = Field(description="a named person or group of the story; null when unresolved")
    cue: str | None
    cue_start: int | None = None
    cue_end: int | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    speaker_phrase: str | None = Field(
        default=None, description="the local words naming an unresolved speaker (a pronoun, 'a source')"
    )
    sentence: int | None = None


class StatementModel(_Model):
    """One statement as the articles attribute it: quoted by some, paraphrased by others."""

    id: str
    speaker: str | None
    text: str
    attributions: list[AttributionModel]
    quote: str | None = Field(default=None, description="id of the quote holding its direct renderings")


class VoiceModel(_Model):
    """Attributions to one speaker in one article (speaker null: unnamed sources)."""

    article: str
    outlet: str
    speaker: str | None
    direct: int = Field(description="quotations, mixed attributions included")
    indirect: int


class NonQuoteModel(_Model):
    """Words in quotation marks that are not a quotation (kept out of the quote comparison)."""

    article: str
    kind: Literal["title", "scare", "term"]
    text: str
    start: int
    end: int


class SummaryEntryModel(_Model):
    text: str
    kind: Literal["fact", "dispute"]
    articles: list[str]
    facts: list[str]
    conflicts: list[str] = []
    evidence: list[EvidenceSpan] = []


class ConflictValueModel(_Model):
    value: str
    normalized: str
    articles: list[str]
    evidence: list[EvidenceSpan]


class ConflictQuantityModel(_Model):
    """What a disputed value measures: attribute ("year", "amount"), the word it attaches to,
    its unit or counted noun, and the person or organisation it belongs to."""

    kind: str
    attribute: str
    head: str = ""
    head_pos: str = ""
    unit: str = ""
    owner: str = ""


class ConflictModel(_Model):
    id: str
    kind: str
    about: str
    values: list[ConflictValueModel]
    confidence: float
    facts: list[str] = []
    #: shared entities and content words of the paired sentences (why the values were paired)
    shared: list[str] = []
    quantity: ConflictQuantityModel | None = None
    reason: str = ""
    #: the dispute sentence ("Outlets disagree on ...: 2009 (Fox News); 2019 (Outlet C).")
    statement: str = ""


class LabelModel(_Model):
    entity: str
    article: str
    label: str
    kind: str
    start: int
    end: int


class EntityModel(_Model):
    """One person of the story under one canonical name, with the other names articles use."""

    id: str
    name: str
    kind: Literal["person", "group"] = "person"
    aliases: list[str] = []
    mentions: dict[str, int] = Field(default_factory=dict, description="mentions per article id")


class AttributionVerbModel(_Model):
    article: str
    verb: str
    group: Literal["neutral", "loaded"]
    count: int
    mentions: list[EvidenceSpan] = []


class LoadedSpanModel(_Model):
    article: str
    text: str
    start: int
    end: int
    score: float


class LoadedDensityModel(_Model):
    article: str
    spans: int
    words: int
    per_1000_words: float


class FramingModel(_Model):
    labels: list[LabelModel] = []
    attribution_verbs: list[AttributionVerbModel] = []
    loaded: list[LoadedSpanModel] = []
    density: list[LoadedDensityModel] = []


class TimelineEntryModel(_Model):
    date: str
    text: str
    articles: list[str]
    evidence: list[EvidenceSpan]
    resolved: bool = True
    conflict: str | None = None
    source: Literal["text", "caption"] = Field(
        default="text",
        description="caption: dated by a removed photo caption (see the article's removed lines); no evidence span",
    )


class CopyGroup(_Model):
    """Articles that are near-duplicate copies of ``article`` (not independent coverage)."""

    article: str
    copies: list[str]


class StoryReport(_Model):
    """Everything Parallax says about one story, each statement pointing at its evidence."""

    schema_version: str = SCHEMA_VERSION
    generator: str = "parallax"
    story: StoryInfo
    articles: list[ArticleModel]
    facts: list[FactModel]
    omissions: list[Omission]
    quotes: list[QuoteModel]
    summary: list[SummaryEntryModel]
    conflicts: list[ConflictModel] = []
    framing: FramingModel = FramingModel()
    timeline: list[TimelineEntryModel] = []
    copies: list[CopyGroup] = []
    entities: list[EntityModel] = Field(
        default_factory=list, description="the people of the story, one canonical name each"
    )
    statements: list[StatementModel] = []
    voices: list[VoiceModel] = []
    non_quotes: list[NonQuoteModel] = []
    timings: dict[str, float] = Field(
        default_factory=dict, description="seconds per stage; not part of golden files"
    )

    def article(self, article_id: str) -> ArticleModel:
        """The article with id ``article_id`` (KeyError when absent)."""
        for art in self.articles:
            if art.id == article_id:
                return art
        raise KeyError(article_id)

    def to_json(self, *, indent: int | None = 2, timings: bool = True) -> str:
        data = self.model_dump(mode="json")
        if not timings:
            data["timings"] = {}
        return json.dumps(data, ensure_ascii=False, indent=indent)


def _conflict_model(conflict: Conflict, analysis: StoryAnalysis) -> ConflictModel:
    """A conflict with its dispute sentence (outlets named as the articles give them)."""
    from parallax.conflicts import describe_conflict

    outlets = {a.id: (a.outlet.strip() or a.id) for a in analysis.articles}
    model = ConflictModel.model_validate(conflict)
    return model.model_copy(update={"statement": describe_conflict(conflict, outlets)})


def build_report(analysis: StoryAnalysis) -> StoryReport:
    """Convert the frozen records of one story into the outgoing ``StoryReport``."""
    return StoryReport(
        story=StoryInfo(id=analysis.story_id, title=analysis.title),
        articles=[ArticleModel.model_validate(a) for a in analysis.articles],
        facts=[FactModel.model_validate(f) for f in analysis.facts],
        omissions=[_omission(a, f, analysis) for a, f in analysis.omissions],
        quotes=[QuoteModel.model_validate(q) for q in analysis.quotes],
        summary=[SummaryEntryModel.model_validate(s) for s in analysis.summary],
        conflicts=[_conflict_model(c, analysis) for c in analysis.conflicts],
        framing=FramingModel.model_validate(analysis.framing),
        timeline=[TimelineEntryModel.model_validate(t) for t in analysis.timeline],
        copies=[CopyGroup(article=a, copies=list(c)) for a, c in analysis.copies],
        entities=[
            EntityModel(id=e.id, name=e.name, kind=e.kind, aliases=list(e.aliases), mentions=dict(e.mentions))
            for e in analysis.entities
        ],
        statements=[StatementModel.model_validate(s) for s in analysis.statements],
        voices=[VoiceModel.model_validate(v) for v in analysis.voices],
        non_quotes=[NonQuoteModel.model_validate(n) for n in analysis.non_quotes],
        timings=dict(analysis.timings),
    )


def _omission(article: str, fact_ids: Sequence[str], analysis: StoryAnalysis) -> Omission:
    """The ranked omissions of ``article``: by how many other articles carry the fact, then fact order."""
    by_id = {f.id: (n, f) for n, f in enumerate(analysis.facts)}
    known = sorted((by_id[i] for i in fact_ids if i in by_id), key=lambda nf: (-len(nf[1].articles), nf[0]))
    items = [
        OmissionItem(
            fact=fact.id,
            carried_by=list(fact.articles),
            evidence=EvidenceSpan.model_validate(fact.mentions[0]),
        )
        for _, fact in known
        if fact.mentions
    ]
    rest = [i for i in fact_ids if i not in by_id]
    return Omission(article=article, facts=[f.id for _, f in known] + rest, items=items)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`StoryReport`."""
    schema = StoryReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://parallax.invalid/schema/story_report/{SCHEMA_VERSION}"
    schema["title"] = "StoryReport"
    return schema
