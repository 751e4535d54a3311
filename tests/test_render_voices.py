"""Tests of parallax.render.voices: the speaker x article table and statements cited differently."""

from __future__ import annotations

from typing import Literal

from parallax.render.voices import cited_differently, voice_table
from parallax.report import AttributionModel, StatementModel, StoryInfo, StoryReport, VoiceModel


def _article(aid: str) -> dict[str, object]:
    return {
        "id": aid,
        "source_path": f"{aid}.txt",
        "outlet": aid.upper(),
        "outlet_source": "input",
        "title": None,
        "published": None,
        "url": None,
        "text": "x",
        "removed": [],
    }


def _att(article: str, kind: Literal["direct", "indirect", "mixed"]) -> AttributionModel:
    return AttributionModel(
        article=article, kind=kind, content="words " * 3, start=0, end=1, speaker="Lee", cue="say"
    )


def _report(voices: list[VoiceModel], statements: list[StatementModel] | None = None) -> StoryReport:
    return StoryReport.model_validate(
        {
            "story": StoryInfo(id="s", title="t"),
            "articles": [_article("a"), _article("b"), _article("c")],
            "facts": [],
            "omissions": [],
            "quotes": [],
            "summary": [],
            "voices": voices,
            "statements": statements or [],
        }
    )


def test_voice_table_rows_and_absent_outlets() -> None:
    report = _report(
        [
            VoiceModel(article="a", outlet="A", speaker="Lee", direct=2, indirect=1),
            VoiceModel(article="b", outlet="B", speaker="Lee", direct=0, indirect=1),
            VoiceModel(article="a", outlet="A", speaker="Hill", direct=1, indirect=0),
            VoiceModel(article="c", outlet="C", speaker=None, direct=0, indirect=4),
        ]
    )
    table = voice_table(report)
    assert table.articles == ("a", "b", "c")
    assert [(r.speaker, r.cells) for r in table.rows] == [
        ("Lee", ((2, 1), (0, 1), None)),  # most cited first; outlet c never cites Lee
        ("Hill", ((1, 0), None, None)),
        (None, (None, None, (0, 4))),  # unnamed sources last
    ]
    assert voice_table(report, limit=1).more == 1


def test_cited_differently_needs_a_quote_and_a_paraphrase_in_two_outlets() -> None:
    mixed = StatementModel(
        id="s1", speaker="Lee", text="t", attributions=[_att("a", "direct"), _att("b", "indirect")]
    )
    same = StatementModel(
        id="s2", speaker="Lee", text="t", attributions=[_att("a", "direct"), _att("b", "mixed")]
    )
    one = StatementModel(id="s3", speaker="Lee", text="t", attributions=[_att("a", "indirect")])
    report = _report([], [mixed, same, one])
    assert [s.id for s in cited_differently(report)] == ["s1"]
