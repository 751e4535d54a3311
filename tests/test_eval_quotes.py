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
    GoldDocument,
    GoldQuote,
    PredictedQuote,
    Tally,
    baseline_indirect,
    command,
    cue_examples,
    evaluate,
    flat_figures,
    learn_cue_table,
    parse_ann,
    parse_attributions,
    score,
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
    assert {"indirect.precision", "indirect.recall", "peers.cue_ccomp.recall"} <= set(floors)


def test_parse_attributions_keeps_every_kind_with_its_cue() -> None:
    golds = parse_attributions(TEXT, ANN)
    assert [(TEXT[g.content[0][0] : g.content[-1][1]], g.direct) for g in golds] == [
        ("We will win,", True),
        ("the plan is “dead on arrival” now", True),
        ("Taxes rose.", False),
    ]
    assert TEXT[golds[0].cue[0][0] : golds[0].cue[0][1]] == "said"
    assert golds[2].source == () and golds[2].cue == ()


@pytest.mark.parametrize(
    ("pred", "right"),
    [
        (PredictedQuote(0, 5, "Hillary Clinton", None), True),  # the Source "Clinton’s": head "Clinton"
        (PredictedQuote(0, 5, "Bob Stone", None), False),
    ],
)
def test_speaker_head_ignores_possessive(pred: PredictedQuote, right: bool) -> None:
    gold = GoldQuote(content=((1, 13),), source=((15, 24),), source_text="Clinton’s")
    assert speaker_correct(pred, gold) is right


IND_TEXT = "Ann Lee said that the plan will fail in May. Tom Hill ate an apple. “We will win,” Hill said."


def _ind_ann() -> str:
    def at(part: str, start: int | None = None) -> str:
        start = IND_TEXT.index(part) if start is None else start
        return f"{start} {start + len(part)}"

    hill = IND_TEXT.index("Hill said")
    return "\n".join(
        [
            f"T1\tSource {at('Ann Lee')}\tAnn Lee",
            f"T2\tCue {at('said')}\tsaid",
            f"T3\tContent {at('the plan will fail in May')}\tthe plan",
            "E1\tAttribution:T2 Content:T3 Cue:T2 Source:T1",
            f"T4\tContent {at('We will win,')}\tWe will win,",
            f"T5\tSource {at('Hill', hill)}\tHill",
            f"T6\tCue {at('said', hill + 5)}\tsaid",
            "E2\tAttribution:T6 Content:T4 Cue:T6 Source:T5",
        ]
    )


def test_score_reports_direct_indirect_all_and_peers(nlp) -> None:  # type: ignore[no-untyped-def]
    golds = parse_attributions(IND_TEXT, _ind_ann())
    gold = GoldDocument(
        name="t",
        text=IND_TEXT,
        quotes=tuple(GoldQuote(g.content, g.source, g.source_text) for g in golds if g.direct),
        attributions=golds,
    )
    doc = nlp(IND_TEXT)
    result = score([gold], [doc], peers=False)
    assert result["indirect"]["gold"] == 1 and result["indirect"]["recall"] == 1.0
    assert result["indirect"]["speaker_accuracy"] == 1.0
    assert result["direct"]["gold"] == 1 and result["direct"]["recall"] == 1.0
    assert result["all"]["gold"] == 2
    assert result["f1"] == result["direct"]["f1"]  # the top-level figures stay the direct ones
    (base,) = baseline_indirect(doc)
    assert IND_TEXT[base.start : base.end].startswith("that the plan") and base.speaker == "Ann Lee"
    flat = flat_figures(result)
    assert flat["indirect.recall"] == 1.0 and "direct.f1" in flat


def test_cue_examples_label_gold_cues(nlp) -> None:  # type: ignore[no-untyped-def]
    golds = parse_attributions(IND_TEXT, _ind_ann())
    gold = GoldDocument(name="t", text=IND_TEXT, quotes=(), attributions=golds)
    examples = {key: label for key, label, _ in cue_examples(gold, nlp(IND_TEXT))}
    assert examples["say|ccomp|agent"] is True
    assert examples["eat|dobj|agent"] is False
    table = learn_cue_table([gold, gold], [nlp(IND_TEXT), nlp(IND_TEXT)])
    assert table["counts"]["say|ccomp|agent"] == [2, 2]
    assert "eat|dobj|agent" not in table["counts"]  # a lemma never seen as a cue weighs 0 anyway


@pytest.mark.slow
def test_quality_gate_on_dev_subset() -> None:
    directory = shared_path("polnear", "dev")
    subset = json.loads((BASELINE_DIR / "quotes.json").read_text(encoding="utf-8"))["subset"]
    result = evaluate(directory, limit=int(subset["limit"]), peers=False)
    assert result["documents"] == subset["limit"]
    failures = check_floors(flat_figures(result), subset["floors"])
    assert not failures, failures
