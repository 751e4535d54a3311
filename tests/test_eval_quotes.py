"""Tests of ``parallax eval quotes``: brat parsing, matching, and the quality gate on PolNeAR dev.

The gate runs on a fixed subset (the first 30 dev texts in sorted order, floors under ``subset``
in ``baselines/quotes.json``) to keep the suite fast; ``parallax eval quotes`` scores the full
split and its floors are the top-level ``floors``.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tests.conftest import shared_path

from parallax.errors import EvaluationError
from parallax.evaluation.gate import BASELINE_DIR, check_floors, load_floors
from parallax.evaluation.quotes import (
    GoldQuote,
    PredictedQuote,
    Tally,
    command,
    evaluate,
    parse_ann,
    speaker_correct,
)

TEXT = "“We will win,” Ann Lee said. Officials said the plan is “dead on arrival” now. Taxes rose."


def _at(part: str) -> str:
    start = TEXT.index(part)
    return f"{start} {start + len(part)}"


ANN = "\n".join(
    [
        f"T1\tContent {_at('We will win,')}\tWe will win,",
        f"T2\tSource {_at('Ann Lee')}\tAnn Lee",
        f"T3\tCue {_at('said')}\tsaid",
        "E1\tAttribution:T3 Content:T1 Cue:T3 Source:T2",
        f"T4\tSource {_at('Officials')}\tOfficials",
        f"T5\tContent {_at('the plan is “dead on arrival” now')}\tthe plan",
        "E2\tAttribution:T3 Content:T5 Source:T4",
        f"T6\tContent {_at('Taxes rose.')}\tTaxes rose.",
    ]
)
LEE = TEXT.index("Ann Lee")
DEAD = TEXT.index("dead on")
TAX = TEXT.index("Taxes")


def test_parse_ann_keeps_contents_with_quote_marks() -> None:
    golds = parse_ann(TEXT, ANN)
    assert [TEXT[g.content[0][0] : g.content[-1][1]] for g in golds] == [
        "We will win,",
        "the plan is “dead on arrival” now",
    ]
    assert golds[0].source_text == "Ann Lee"


def test_parse_ann_rejects_malformed_lines() -> None:
    with pytest.raises(EvaluationError, match=r"x\.ann:1"):
        parse_ann(TEXT, "T1\tContent one two\tx", path="x.ann")


def test_span_text_with_a_line_break_is_skipped() -> None:
    # brat writes a span's text verbatim: a text with a line break continues on the next line
    # (a continuation starting with "T" or "E" must not be read as an annotation line)
    ann = ANN + "\nT9\tContent 0 12;20 25\tWe will\nThe end of it"
    golds = parse_ann(TEXT, ann)
    assert len(golds) == 3


def test_discontinuous_content() -> None:
    text = "“A b,” he said, “c d.”"
    golds = parse_ann(text, "T1\tContent 16 22;0 6\tA b c d")
    assert golds[0].content == ((0, 6), (16, 22))


@pytest.mark.parametrize(
    ("pred", "right"),
    [
        (PredictedQuote(0, 5, "Lee", (15, 22)), True),
        (PredictedQuote(0, 5, "Dr. Ann Lee", None), True),
        (PredictedQuote(0, 5, "Bob Stone", (40, 49)), False),
        (PredictedQuote(0, 5, None, None), False),
    ],
)
def test_speaker_correct(pred: PredictedQuote, right: bool) -> None:
    gold = GoldQuote(content=((1, 13),), source=((15, 22),), source_text="Ann Lee")
    assert speaker_correct(pred, gold) is right


def test_tally_matches_one_to_one() -> None:
    golds = parse_ann(TEXT, ANN)
    tally = Tally()
    preds = [
        PredictedQuote(1, 13, "Ann Lee", (LEE, LEE + 7)),
        PredictedQuote(2, 6, "Ann Lee", None),  # a second prediction on the same gold quote
        PredictedQuote(DEAD, DEAD + 15, "Officials", None),
        PredictedQuote(TAX, TAX + 5, None, None),  # not a direct quote
    ]
    tally.add(preds, golds)
    figs = tally.figures()
    assert (figs["precision"], figs["recall"]) == (0.5, 1.0)
    assert figs["speaker_accuracy"] == 1.0
    assert figs["precision_any"] == 0.75


def test_missing_directory_is_an_evaluation_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EvaluationError, match="not a PolNeAR split"):
        evaluate(tmp_path)


def test_command_help() -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    assert "PolNeAR" in result.output


def test_full_floors_are_readable() -> None:
    floors = load_floors("quotes")
    assert {"precision", "recall", "f1", "speaker_accuracy", "speaker_accuracy_all"} <= set(floors)


@pytest.mark.slow
def test_quality_gate_on_dev_subset() -> None:
    directory = shared_path("polnear", "dev")
    subset = json.loads((BASELINE_DIR / "quotes.json").read_text(encoding="utf-8"))["subset"]
    result = evaluate(directory, limit=int(subset["limit"]), peers=False)
    assert result["documents"] == subset["limit"]
    failures = check_floors(result, subset["floors"])
    assert not failures, failures
