"""Tests of parallax.evaluation.timex: TimeML reading, scoring, and the floor gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import shared_path
from parallax.errors import EvaluationError
from parallax.evaluation.gate import check_floors, load_floors
from parallax.evaluation.timex import (
    GoldTimex,
    Prediction,
    Score,
    TimeMLDoc,
    command,
    evaluate,
    read_timeml,
    score_document,
    values_agree_relaxed,
)

TML = """<?xml version="1.0" ?>
<TimeML>
<DOCID>X</DOCID>
<DCT><TIMEX3 tid="t0" type="DATE" value="1998-01-08" temporalFunction="false" functionInDocument="CREATION_TIME">19980108</TIMEX3></DCT>
<TEXT>
Stocks <EVENT eid="e1">fell</EVENT> <TIMEX3 tid="t1" type="DATE" value="1998-01-07">yesterday</TIMEX3> after a <TIMEX3 tid="t2" type="DURATION" value="P1W">week</TIMEX3> of gains.
</TEXT>
</TimeML>
"""


def test_read_timeml(tmp_path: Path) -> None:
    path = tmp_path / "x.tml"
    path.write_text(TML, encoding="utf-8")
    doc = read_timeml(path)
    assert doc.dct == dt.date(1998, 1, 8)
    assert [(t.text, t.value) for t in doc.timexes] == [("yesterday", "1998-01-07"), ("week", "P1W")]
    for t in doc.timexes:
        assert doc.text[t.start : t.end] == t.text


def test_bad_timeml_is_an_evaluation_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.tml"
    path.write_text("<TimeML><TEXT>no creation time</TEXT></TimeML>", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"bad\.tml"):
        read_timeml(path)


def test_scoring_counts() -> None:
    doc = TimeMLDoc(
        name="d",
        text="x" * 40,
        dct=dt.date(2000, 1, 1),
        timexes=(GoldTimex(0, 5, "xxxxx", "DATE", "1999-12-31"), GoldTimex(10, 15, "xxxxx", "DATE", "1999")),
    )
    score = Score()
    score_document(
        doc, [Prediction(1, 4, "1999-12-31"), Prediction(11, 14, "1999-05"), Prediction(30, 33, None)], score
    )
    figures = score.as_dict()
    assert (score.matched, score.exact, score.relaxed) == (2, 1, 2)
    assert figures["precision"] == pytest.approx(2 / 3, abs=1e-3) and figures["recall"] == 1.0


@pytest.mark.parametrize(
    ("gold", "pred", "ok"),
    [
        ("1998", "1998-08", True),
        ("1998-08-07", "1998-08", True),
        ("1998", "1999", False),
        ("PAST_REF", "1998", False),
    ],
)
def test_relaxed(gold: str, pred: str, ok: bool) -> None:
    assert values_agree_relaxed(gold, pred) is ok


def test_floors_on_timebank_rules_only() -> None:
    """The whole corpus with rules over plain text (fast); spaCy entities are measured by the CLI."""
    directory = shared_path("timebank")
    result = evaluate(directory, peer=False, use_spacy=False)
    floors = {k.removeprefix("rules_"): v for k, v in load_floors("timex").items() if k.startswith("rules_")}
    assert floors
    measured = {k: float(v) for k, v in result.items() if isinstance(v, int | float)}
    assert check_floors(measured, floors) == []


def test_cli_help() -> None:
    assert CliRunner().invoke(command, ["--help"]).exit_code == 0
