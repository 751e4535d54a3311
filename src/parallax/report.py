"""The versioned, typed ``StoryReport``: the one object the CLI, the API and the web pages render.

Its JSON Schema is published at ``src/parallax/schema/story_report.schema.json`` (regenerate
with ``parallax schema -o ...``; a test checks the file is current). ``SCHEMA_VERSION`` follows
semantic versioning: a new optional field bumps the minor version, a removed or retyped field
the major version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from parallax.records import Conflict, StoryAnalysis

SCHEMA_VERSION = "1.0.0"

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
        description="where the outlet name came from: input, html, credit, url, filename"
    )
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


class Omission(_Model):
    article: str
    facts: list[str]


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


class QuoteModel(_Model):
    id: str
    speaker: str | None
    text: str
    renderings: list[RenderingModel]


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
        omissions=[Omission(article=a, facts=list(f)) for a, f in analysis.omissions],
        quotes=[QuoteModel.model_validate(q) for q in analysis.quotes],
        summary=[SummaryEntryModel.model_validate(s) for s in analysis.summary],
        conflicts=[_conflict_model(c, analysis) for c in analysis.conflicts],
        framing=FramingModel.model_validate(analysis.framing),
        timeline=[TimelineEntryModel.model_validate(t) for t in analysis.timeline],
        copies=[CopyGroup(article=a, copies=list(c)) for a, c in analysis.copies],
        timings=dict(analysis.timings),
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`StoryReport`."""
    schema = StoryReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://parallax.invalid/schema/story_report/{SCHEMA_VERSION}"
    schema["title"] = "StoryReport"
    return schema
