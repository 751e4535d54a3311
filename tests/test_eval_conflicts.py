"""Tests of parallax.evaluation.conflicts: change proposals, matching, and a gated subset run."""

from __future__ import annotations

import dataclasses
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


@pytest.mark.parametrize(
    ("text", "amount", "expected_text", "expected_value"),
    [
        ("two", 2.0, "{word}", "{n}"),  # word counts stay words, scaled in the value's unit
        ("1.5 million", 1.5e6, "{x} million", "{big}"),
    ],
)
def test_propose_value_is_in_normalized_scale(
    text: str, amount: float, expected_text: str, expected_value: str
) -> None:
    v = Value(
        kind="count",
        text=text,
        start=0,
        end=len(text),
        normalized=str(amount),
        amount=amount,
        low=amount,
        high=amount,
        unit="woman",
    )
    new_text, new_value = _propose(v, random.Random(3)) or ("", "")
    number = float(new_value)
    assert number != amount and number / amount in (1.5, 2, 2.5, 3, 5)  # word +2..+4 on 2, or x2/x3/x5
    if expected_text == "{word}":
        assert new_text.isalpha() and new_text != text
    else:
        assert new_text.endswith(" million") and float(new_text.split()[0]) * 1e6 == pytest.approx(number)


def test_change_applies_to_every_mention() -> None:
    text = "The two senators; two senators"
    change = Change("a", "b", "count", 4, 7, "two", "six", "2", "6", others=((18, 21),))
    assert change.apply(text) == "The six senators; six senators"
    assert dataclasses.replace(change, others=()).apply(text) == "The six senators; two senators"


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


def test_linked_only_subset_against_floors() -> None:
    """The old test (--linked-only) on the first 10 BASIL stories, hashing embedder."""
    data = shared_path("clustering", "basil-2010-2015.jsonl")
    result = evaluate(data, limit=10, embedder="hashing")
    prefix = "linked_only_subset_"
    floors = {k.removeprefix(prefix): v for k, v in load_floors("conflicts").items() if k.startswith(prefix)}
    assert floors
    measured = {k: float(v) for k, v in result.items() if isinstance(v, int | float)}
    assert check_floors(measured, floors) == []
    ceilings = json.loads((BASELINE_DIR / "conflicts.json").read_text(encoding="utf-8"))["ceilings"]
    assert float(result["spurious_per_10_stories"]) <= ceilings[prefix + "spurious_per_10_stories"]


def test_independent_subset_against_floors() -> None:
    """The fair test on the first 10 BASIL stories (all of them, train and test: a smoke gate;
    the held-out figures are in the baseline file)."""
    from parallax.evaluation.conflicts import evaluate_independent

    data = shared_path("clustering", "basil-2010-2015.jsonl")
    result = evaluate_independent([data], split="all", limit=10)
    basil = result["basil"]
    assert isinstance(basil, dict)
    prefix = "subset_"
    floors = {k.removeprefix(prefix): v for k, v in load_floors("conflicts").items() if k.startswith(prefix)}
    assert floors
    assert check_floors({k: float(v) for k, v in basil.items()}, floors) == []
    ceilings = json.loads((BASELINE_DIR / "conflicts.json").read_text(encoding="utf-8"))["ceilings"]
    assert basil["spurious_per_story"] <= ceilings[prefix + "spurious_per_story"]
    assert len(result["spurious"]) == basil["spurious"]  # type: ignore[arg-type]


def test_cli_help() -> None:
    assert CliRunner().invoke(command, ["--help"]).exit_code == 0


def test_change_found_for_word_counts() -> None:
    """A count written as a word is compared by its value ("two" -> "six" is 2 against 6)."""
    change = Change("a", "b", "count", 0, 3, "two", "six", "2", "6")
    conflict = Conflict(
        id="c1",
        kind="count",
        about="number of women",
        values=(ConflictValue("six", "6", ("a",), ()), ConflictValue("two", "2", ("b",), ())),
        confidence=0.7,
    )
    assert change_found([conflict], change)
    assert not change_found([conflict], dataclasses.replace(change, new_value="18"))


# --- the fair test: independent changes --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The bomb killed 50 people and wounded 53 on Sunday.", ["50", "53"]),
        ("First Published: June 13, 2013 4: 59 PM EDT", ["13", "2013"]),
        ("UPDATED 05 / 03 / 2013 at 11: 00 AM EDT", []),
        ("It happened at 10:45 p.m. when two men arrived.", ["two"]),
        ("http: / / nypost. com / 2013 / 05 / 02 / lindsay - lohan", []),
        ("He earned $1,500,000 and 2.5 percent of the take.", ["1,500,000", "2.5"]),
    ],
)
def test_printed_numbers(text: str, expected: list[str]) -> None:
    from parallax.evaluation.conflicts import printed_numbers

    assert [p.literal for p in printed_numbers(text, 0, len(text), article="a", sentence=0)] == expected


@pytest.mark.parametrize(
    ("literal", "before", "check"),
    [
        ("2009", "in ", lambda new: new.isdigit() and abs(int(new) - 2009) in (2, 3, 10)),
        ("13", "June ", lambda new: 1 <= int(new) <= 28 and abs(int(new) - 13) >= 2),
        ("1,500,000", "$", lambda new: "," in new and float(new.replace(",", "")) / 1.5e6 in (2, 3, 5)),
        ("2.5", "", lambda new: float(new) - 2.5 in (2, 3, 5, 10) and new.endswith(".5")),
        ("36", "", lambda new: int(new) - 36 in (2, 3, 5, 10, -2, -3)),
        ("Two", "", lambda new: new[0].isupper() and new.isalpha() and new != "Two"),
    ],
)
def test_propose_literal(literal: str, before: str, check) -> None:  # type: ignore[no-untyped-def]
    from parallax.evaluation.conflicts import propose_literal

    for seed in range(5):
        new = propose_literal(literal, before, random.Random(seed))
        assert new is not None and new != literal and check(new)


def test_independent_candidates_need_shared_words(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    from parallax.evaluation.conflicts import independent_candidates

    analyzed = make_analyzed(
        ("a", "The car bomb in the Baquba market killed 50 people and wounded 53 on Sunday."),
        ("b", "A car bomb in the Baquba market on Sunday killed 50 people.\nThe mayor has 53 cousins."),
    )
    found = {
        (c.target.article, c.target.literal, c.witness.article) for c in independent_candidates(analyzed)
    }
    assert found == {("a", "50", "b"), ("b", "50", "a")}


def test_independent_found_needs_both_sides() -> None:
    from parallax.evaluation.conflicts import IndependentChange, independent_found
    from parallax.records import Mention

    change = IndependentChange("a", "b", 20, 22, "50", "150")
    a_sent = Mention("a", 0, 40, "The car bomb killed 150 people on Sunday")
    b_sent = Mention("b", 0, 39, "The car bomb killed 50 people on Sunday")
    conflict = Conflict(
        id="c1",
        kind="count",
        about="the number of people",
        values=(ConflictValue("150", "150", ("a",), (a_sent,)), ConflictValue("50", "50", ("b",), (b_sent,))),
        confidence=0.9,
    )
    assert independent_found([conflict], change) is conflict
    assert independent_found([conflict], IndependentChange("a", "c", 20, 22, "50", "150")) is None
    assert independent_found([conflict], IndependentChange("a", "b", 20, 22, "50", "250")) is None
