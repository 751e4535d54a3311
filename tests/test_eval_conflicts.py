"""Tests of parallax.evaluation.conflicts: change proposals, matching, and a gated subset run."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from conftest import shared_path
from parallax.evaluation.conflicts import Change, _propose, change_found, command, evaluate
from parallax.evaluation.gate import BASELINE_DIR, check_floors, load_floors
from parallax.records import Conflict, ConflictValue
from parallax.values import Value


@pytest.mark.parametrize(
    ("value", "changed"),
    [
        (Value(kind="date", text="October 2009", start=0, end=12, normalized="2009-10"), "October "),
        (
            Value(
                kind="count",
                text="two",
                start=0,
                end=3,
                normalized="2",
                amount=2,
                low=2,
                high=2,
                unit="woman",
            ),
            "",
        ),
        (
            Value(
                kind="percent",
                text="12 percent",
                start=0,
                end=10,
                normalized="12%",
                amount=12,
                low=11.5,
                high=12.5,
                unit="%",
            ),
            "",
        ),
    ],
)
def test_propose_changes_the_value(value: Value, changed: str) -> None:
    new_text, new_value = _propose(value, random.Random(1)) or ("", "")
    assert new_text != value.text and new_text.startswith(changed) and new_value


def test_open_ended_values_are_not_changed() -> None:
    v = Value(
        kind="count",
        text="more than 100",
        start=0,
        end=13,
        normalized="100",
        amount=100,
        low=100,
        high=float("inf"),
    )
    assert _propose(v, random.Random(1)) is None


def test_change_found() -> None:
    change = Change("a", "b", "date", 0, 4, "2009", "2019", "2009", "2019")
    conflict = Conflict(
        id="c1",
        kind="date",
        about="year",
        values=(ConflictValue("2019", "2019", ("a",), ()), ConflictValue("2009", "2009", ("b", "c"), ())),
        confidence=0.7,
    )
    assert change_found([conflict], change)
    assert not change_found([], change)
    swapped = Change("b", "a", "date", 0, 4, "2009", "2019", "2009", "2019")
    assert not change_found([conflict], swapped)


def test_subset_against_floors() -> None:
    """First 10 BASIL stories, hashing embedder; the full 60-story figures are in the baseline file."""
    data = shared_path("clustering", "basil-2010-2015.jsonl")
    result = evaluate(data, limit=10, embedder="hashing")
    floors = {
        k.removeprefix("subset_"): v for k, v in load_floors("conflicts").items() if k.startswith("subset_")
    }
    assert floors
    measured = {k: float(v) for k, v in result.items() if isinstance(v, int | float)}
    assert check_floors(measured, floors) == []
    ceilings = json.loads((BASELINE_DIR / "conflicts.json").read_text(encoding="utf-8"))["ceilings"]
    assert float(result["spurious_per_10_stories"]) <= ceilings["subset_spurious_per_10_stories"]


def test_cli_help() -> None:
    assert CliRunner().invoke(command, ["--help"]).exit_code == 0
