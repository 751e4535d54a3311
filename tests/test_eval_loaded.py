"""``parallax eval loaded``: BASIL reading, scoring and the floor gate."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import shared_path
from parallax.evaluation.gate import check_floors, load_floors
from parallax.evaluation.loaded import command, evaluate, flat_metrics, load_basil, score


def test_basil_gold_spans_match_text() -> None:
    docs = load_basil(shared_path("basil"), years=[2014])
    assert len(docs) == 30
    assert sum(len(d.gold) for d in docs) > 10
    for d in docs:
        for s, e in d.gold:
            assert 0 <= s < e <= len(d.text)


def test_score_perfect_and_empty(nlp) -> None:  # type: ignore[no-untyped-def]
    doc = nlp("He slammed the awful bill.")
    gold = [(3, 10)]
    assert score([(doc, gold, gold)])["token"]["f1"] == 1.0
    assert score([(doc, gold, [])])["span"]["recall"] == 0.0


def test_eval_loaded_meets_floors(nlp) -> None:  # type: ignore[no-untyped-def]
    """A deterministic subset (held-out year 2015) to keep the suite fast; the CLI scores 2014-2015."""
    result = evaluate(shared_path("basil"), years=[2015], nlp=nlp)
    assert set(result["peers"]) == {"lexicon"}
    for level in ("token", "span"):
        assert result[level]["f1"] > result["peers"]["lexicon"][level]["f1"]
    failures = check_floors(flat_metrics(result), load_floors("loaded"))
    assert not failures, failures


def test_cli_help() -> None:
    res = CliRunner().invoke(command, ["--help"])
    assert res.exit_code == 0 and "BASIL" in res.output
