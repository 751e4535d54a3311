"""``parallax eval labels``: NewsWCL50 reading, the descriptive-mention rule, scoring and the floor gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import shared_path
from parallax.errors import EvaluationError
from parallax.evaluation.gate import check_floors, load_floors
from parallax.evaluation.labels import command, evaluate, flat_metrics, is_descriptive, load_newswcl

NAMES = {"president", "leader", "dictator", "north", "us"}  # words seen in lower case


@pytest.mark.parametrize(
    ("text", "descriptive"),
    [
        ("President Trump", True),
        ("the North Korean dictator", True),
        ("the US leader", True),
        ("Trump", False),
        ("Mr. Trump", False),
        ("he", False),
        ("Kim Jong-un's", False),
    ],
)
def test_descriptive_mentions(text: str, descriptive: bool) -> None:
    assert is_descriptive(text, NAMES) is descriptive


def test_bad_lines_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "wcl.jsonl"
    path.write_text('{"id": "a", "text": "x", "gold_story": "e"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"wcl.jsonl: line 2"):
        load_newswcl(path)
    path.write_text(
        json.dumps(
            {
                "id": "a",
                "text": "abc",
                "gold_story": "e",
                "gold_mentions": [{"chain": "c", "type": "ACTOR", "start": 2, "end": 9, "text": "c"}],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(EvaluationError, match="outside the text"):
        load_newswcl(path)


def test_eval_labels_meets_floors(nlp) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(shared_path("newswcl50", "newswcl50-events-0-4.jsonl"), nlp=nlp)
    assert result["events"] == 5 and result["descriptive_mentions"] > 150
    failures = check_floors(flat_metrics(result), load_floors("labels"))
    assert not failures, failures


def test_cli_help() -> None:
    res = CliRunner().invoke(command, ["--help"])
    assert res.exit_code == 0 and "NewsWCL50" in res.output
