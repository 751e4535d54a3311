"""Whose voice each outlet carries: the speaker x article table and the statements one outlet
quotes while another paraphrases, shared by the Markdown and HTML renderers."""

from __future__ import annotations

from dataclasses import dataclass

from parallax.report import StatementModel, StoryReport

__all__ = ["VoiceRow", "VoiceTable", "cited_differently", "voice_table"]


@dataclass(frozen=True, slots=True)
class VoiceRow:
    """One speaker (None: unnamed sources) with ``(direct, indirect)`` counts per article, in
    the report's article order; ``None`` where the article never cites the speaker."""

    speaker: str | None
    cells: tuple[tuple[int, int] | None, ...]

    @property
    def total(self) -> int:
        return sum(d + i for d, i in (c for c in self.cells if c is not None))


@dataclass(frozen=True, slots=True)
class VoiceTable:
    articles: tuple[str, ...]
    rows: tuple[VoiceRow, ...]
    more: int  # named speakers left out of ``rows``


def voice_table(report: StoryReport, *, limit: int = 12) -> VoiceTable:
    """The ``limit`` most cited named speakers (most attributions first, ties by name), then the
    unnamed sources; each row counts the speaker's attributions in every article."""
    articles = tuple(a.id for a in report.articles)
    column = {aid: n for n, aid in enumerate(articles)}
    cells: dict[str | None, list[tuple[int, int] | None]] = {}
    for v in report.voices:
        if v.article not in column:
            continue
        row = cells.setdefault(v.speaker, [None] * len(articles))
        d, i = row[column[v.article]] or (0, 0)
        row[column[v.article]] = (d + v.direct, i + v.indirect)
    rows = [VoiceRow(speaker, tuple(c)) for speaker, c in cells.items()]
    named = sorted((r for r in rows if r.speaker is not None), key=lambda r: (-r.total, r.speaker or ""))
    unnamed = [r for r in rows if r.speaker is None]
    return VoiceTable(articles, tuple(named[:limit] + unnamed), max(0, len(named) - limit))


def cited_differently(report: StoryReport, *, limit: int = 10) -> list[StatementModel]:
    """Statements carried by several articles where at least one quotes and another paraphrases,
    fullest first."""
    out = [
        s
        for s in report.statements
        if len({a.article for a in s.attributions}) > 1
        and {a.kind == "indirect" for a in s.attributions} == {True, False}
    ]
    return sorted(out, key=lambda s: -len(s.text))[:limit]
