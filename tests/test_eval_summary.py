"""Tests of ``parallax eval summary``: parsing, LexRank, arousal, and the floors on a fixed subset.

The gate runs the first 60 NeuS val stories with the hashing embedder to keep the suite fast; the
full set (307 stories, the default embedder and hashing) is run by the CLI commands recorded in
``baselines/summary.json`` and docs/evaluation.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import shared_path

from parallax.errors import EvaluationError
from parallax.evaluation.gate import check_floors, load_floors
from parallax.evaluation.summary import (
    WORDS,
    arousal,
    command,
    evaluate_summary,
    fill,
    lexrank,
    load_neus,
    oracle,
    truncate,
)


def write_neus(tmp: Path, source: str, target: str) -> Path:
    (tmp / "val.source").write_text(source + "\n", encoding="utf-8")
    (tmp / "val.target").write_text(target + "\n", encoding="utf-8")
    return tmp


def test_load_neus_fields(tmp_path: Path) -> None:
    d = write_neus(
        tmp_path,
        "TITLE=> One. ARTICLE=> Lead one. [SEP] TITLE=> Two. ARTICLE=> Lead two.",
        "TITLE=> Neutral. ARTICLE=> The neutral summary.",
    )
    (story,) = load_neus(d)
    assert story.sources == (("One.", "Lead one."), ("Two.", "Lead two."))
    assert story.target == "The neutral summary."


def test_load_neus_mismatch(tmp_path: Path) -> None:
    (tmp_path / "val.source").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "val.target").write_text("a\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"val\.source"):
        load_neus(tmp_path)


def test_missing_dir_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="not found"):
        load_neus(tmp_path)


def test_lexrank_prefers_central_sentence() -> None:
    sents = [
        "The storm hit the coast and flooded the town.",
        "Officials said the storm flooded the coastal town overnight.",
        "A local cat show was postponed.",
        "The flooded town began cleaning up after the storm.",
    ]
    picked = lexrank(sents, 2)
    assert 2 not in picked and len(picked) == 2
    assert lexrank([], 3) == [] and lexrank(["the and of", "a an"], 1) == [0]


@pytest.mark.parametrize(
    ("text", "expected"), [("calm calm", (0.2, 2)), ("rage and calm", (1.1, 3)), ("", (0.0, 0))]
)
def test_arousal(text: str, expected: tuple[float, int]) -> None:
    total, words = arousal(text, {"calm": 0.1, "rage": 1.0})
    assert total == pytest.approx(expected[0]) and words == expected[1]


def test_matched_length_helpers() -> None:
    sents = ["One two three.", "Four five.", "Six seven eight nine."]
    assert truncate(sents, 4) == "One two three. Four"
    assert truncate(sents, 50) == "One two three. Four five. Six seven eight nine."
    assert fill(sents, 4) == sents[:2] and fill(sents, 3) == sents[:1] and fill(sents, 99) == sents


def test_oracle_picks_the_sentences_of_the_target() -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    sents = ["A cat show was postponed.", "The storm flooded the town.", "Officials closed the coast road."]
    target = "The storm flooded the town and officials closed the coast road."
    assert oracle(sents, target, 20, scorer) == [sents[1], sents[2]]
    assert oracle(sents, target, 3, scorer) == [sents[1]]


def test_floors_on_val_subset() -> None:
    neus = shared_path("neus")
    shared_path("lexicons", "NRC-VAD-Lexicon-Aug2018Release")
    result = evaluate_summary(neus, split="val", limit=60, embedder="hashing")
    assert result["stories"] == 60
    assert set(result["peers"]) == {"lead", "lexrank", "oracle"}
    assert result["words_budget"] == WORDS
    # matched length: every output is cut at WORDS whitespace-separated words ("words" counts the
    # arousal lexicon's [a-z]+ tokens, so "U.S." or "Biden's" count twice: a little over WORDS)
    assert all(fig["words"] <= WORDS * 1.05 for fig in (result, *result["peers"].values()))
    assert check_floors(result, load_floors("summary")) == []
    # the neutral summary is no more arousing than the classic peer at the same length
    assert result["arousal_per_100w"] <= result["peers"]["lexrank"]["arousal_per_100w"]


def test_cli_table(tmp_path: Path) -> None:
    shared_path("lexicons", "NRC-VAD-Lexicon-Aug2018Release")
    src = (
        "TITLE=> Council passes school budget. ARTICLE=> The city council approved the school budget on Tuesday. "
        "[SEP] TITLE=> School budget approved. ARTICLE=> On Tuesday the council approved a budget for schools."
    )
    d = write_neus(
        tmp_path, src, "TITLE=> Budget. ARTICLE=> The council approved the school budget on Tuesday."
    )
    vad = shared_path("lexicons", "NRC-VAD-Lexicon-Aug2018Release", "NRC-VAD-Lexicon.txt")
    res = CliRunner().invoke(
        command, [str(d), "--embedder", "hashing", "--vad", str(vad), "--format", "table"]
    )
    assert res.exit_code == 0, res.output
    assert "lexrank" in res.output and "1 stories" in res.output


def test_default_embedder_is_the_pipelines(tmp_path: Path) -> None:
    """Without ``--embedder`` the eval aligns as the pipeline does (``Settings().embedder``)."""
    from parallax.settings import Settings

    vad = shared_path("lexicons", "NRC-VAD-Lexicon-Aug2018Release", "NRC-VAD-Lexicon.txt")
    src = (
        "TITLE=> Council passes budget. ARTICLE=> The council approved the budget on Tuesday. "
        "[SEP] TITLE=> Budget approved. ARTICLE=> On Tuesday the council approved a budget."
    )
    d = write_neus(tmp_path, src, "TITLE=> Budget. ARTICLE=> The council approved the budget on Tuesday.")
    res = CliRunner().invoke(command, [str(d), "--vad", str(vad), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["embedder"] == Settings().embedder
