"""The per-story pipeline: articles in, one :class:`~parallax.report.StoryReport` out.

Stages, in order (each a function from typed records to typed records):

1. ingest   - read files into :class:`RawDocument` (``parallax.ingest``)
2. clean    - strip boilerplate, infer the outlet (``parallax.clean``)
3. analyze  - spaCy sentences and entities (``parallax.nlp``)
4. align    - sentences across articles into facts; omissions (``parallax.align``)
5. quotes   - quotations and attributions (direct, indirect, mixed), speakers, voices (``parallax.quotes``)
6. conflicts- disagreements on checkable values (``parallax.conflicts``)
7. framing  - labels, attribution verbs, loaded wording (``parallax.framing``)
8. timeline - dated events (``parallax.timeline``)
9. summary  - extractive neutral summary with citations (``parallax.summary``)
10. report  - the versioned ``StoryReport`` (``parallax.report``)
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from parallax import align as align_stage
from parallax import clean as clean_stage
from parallax import conflicts as conflicts_stage
from parallax import framing as framing_stage
from parallax import ingest as ingest_stage
from parallax import quotes as quotes_stage
from parallax import summary as summary_stage
from parallax import timeline as timeline_stage
from parallax.embed import Embedder, get_embedder
from parallax.entities import PeopleIndex, group_entities
from parallax.errors import AnalysisError, InputError, NoUsableInputError
from parallax.nlp import DocCache, analyze, load_pipeline
from parallax.outlets import table_for
from parallax.records import Article, RawDocument, StoryAnalysis
from parallax.report import StoryReport, build_report
from parallax.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class StageTimer:
    """Wall-clock seconds per stage, in the order the stages ran."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0


@dataclass(frozen=True)
class CompareResult:
    """A report plus the inputs that could not be used (each with its one-line reason)."""

    report: StoryReport
    errors: tuple[InputError, ...] = ()


def story_id_for(articles: Sequence[Article]) -> str:
    """A stable id for the set of articles, independent of their order."""
    digest = hashlib.sha1("\n".join(sorted(a.content_hash for a in articles)).encode()).hexdigest()
    return f"story-{digest[:12]}"


def story_title_for(articles: Sequence[Article], first_fact: str | None) -> str:
    """The first article title, else the lead consensus sentence shortened, else a placeholder."""
    for art in articles:
        if art.title:
            return art.title
    if first_fact:
        words = first_fact.split()
        return " ".join(words[:14]) + (" ..." if len(words) > 14 else "")
    return "Untitled story"


class Parallax:
    """Holds loaded models so that many stories can be compared without reloading them."""

    def __init__(self, *, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or load_settings()
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.embedder)
        return self._embedder

    def warm_up(self) -> None:
        """Load the spaCy pipeline and the embedder now rather than on first use."""
        load_pipeline(self.settings.spacy_model)
        self.embedder.encode(["warm up"])

    def compare_paths(self, paths: Sequence[str | Path], *, strict: bool = False) -> CompareResult:
        """Read, clean and compare the articles under ``paths`` (files or directories)."""
        timer = StageTimer()
        with timer.stage("ingest"):
            result = ingest_stage.read_paths(paths, settings=self.settings, strict=strict)
        with timer.stage("clean"):
            articles, clean_errors = clean_stage.clean_documents(
                result.documents,
                outlets=table_for(self.settings.outlets_file),
                outlet_override=self.settings.outlet,
            )
        errors = (*result.errors, *clean_errors)
        if strict and errors:
            raise errors[0]
        if not articles:
            first = f"; first: {errors[0]}" if errors else ""
            raise NoUsableInputError(f"no usable article in the {len(errors)} input(s) given{first}")
        report = self.compare_articles(articles, timer=timer)
        return CompareResult(report=report, errors=errors)

    def compare_documents(self, documents: Sequence[RawDocument]) -> StoryReport:
        """Clean and compare already-read documents."""
        timer = StageTimer()
        with timer.stage("clean"):
            articles, errors = clean_stage.clean_documents(
                documents, outlets=table_for(self.settings.outlets_file), outlet_override=self.settings.outlet
            )
        if not articles and errors:
            raise errors[0]
        return self.compare_articles(articles, timer=timer)

    def compare_articles(
        self,
        articles: Sequence[Article],
        *,
        timer: StageTimer | None = None,
        story_id: str | None = None,
        embedder: Embedder | None = None,
        docs: DocCache | None = None,
    ) -> StoryReport:
        """Run stages 3-10 over cleaned articles.

        ``embedder`` overrides this instance's (e.g. one reading a vector cache); ``docs`` is a
        cache of parses that stage 3 reads and fills (e.g. the store's, :meth:`Store.doc_cache`).
        """
        timer = timer or StageTimer()
        if not articles:
            raise AnalysisError("no usable articles to compare")
        ids = [a.id for a in articles]
        if len(set(ids)) != len(ids):
            raise AnalysisError(f"article ids are not unique: {sorted({i for i in ids if ids.count(i) > 1})}")
        with timer.stage("analyze"):
            analyzed = analyze(articles, model=self.settings.spacy_model, cache=docs)
        with timer.stage("align"):
            alignment = align_stage.align(
                analyzed, embedder=embedder or self.embedder, threshold=self.settings.align_threshold
            )
        with timer.stage("quotes"):
            people = PeopleIndex.build(analyzed)
            found = quotes_stage.find_attributions(analyzed, canonical=people.canonical)
            quotes = list(found.quotes)  # speakers already canonical through the hook
        with timer.stage("conflicts"):
            conflicts = conflicts_stage.find_conflicts(
                analyzed, alignment.facts, quotes, person_name=people.canonical
            )
        with timer.stage("framing"):
            framing = framing_stage.analyze_framing(
                analyzed, quotes, people=people, attributions=found.attributions
            )
        with timer.stage("timeline"):
            timeline = timeline_stage.build_timeline(analyzed, alignment.facts, conflicts)
        with timer.stage("summary"):
            summary = summary_stage.summarize(
                analyzed,
                alignment.facts,
                conflicts,
                sentences=self.settings.summary_sentences,
                framing=framing,
            )
        with timer.stage("report"):
            first_fact = next((s.text for s in summary if s.kind == "fact"), None)
            analysis = StoryAnalysis(
                story_id=story_id or story_id_for(articles),
                title=story_title_for(articles, first_fact),
                articles=tuple(articles),
                facts=tuple(alignment.facts),
                omissions=tuple(alignment.omissions),
                quotes=tuple(quotes),
                summary=tuple(summary),
                conflicts=tuple(conflicts),
                framing=framing,
                timeline=tuple(timeline),
                entities=people.entities() + group_entities(framing.labels),
                statements=found.statements,
                voices=found.voices,
                non_quotes=found.non_quotes,
            )
            report = build_report(analysis)
        report.timings = {k: round(v, 4) for k, v in timer.seconds.items()}
        return report


def compare(
    paths: Sequence[str | Path], *, settings: Settings | None = None, strict: bool = False
) -> CompareResult:
    """Compare the articles under ``paths``: the library form of ``parallax compare``."""
    return Parallax(settings=settings).compare_paths(paths, strict=strict)
