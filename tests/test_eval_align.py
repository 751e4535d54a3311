"""Tests of ``parallax eval align``: MSRP parsing, the threshold search, and the floors on a subset.

The gate cross-validates the learned pair score on the first 400 MSRP train pairs with the MiniLM
embedder; the full figures come from the command recorded in ``baselines/align.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tests.conftest import shared_path

from parallax.errors import EvaluationError
from parallax.evaluation.align import best_threshold, command, evaluate_align, load_msrp
from parallax.evaluation.gate import check_floors, load_floors

HEADER = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def test_load_msrp(tmp_path: Path) -> None:
    (tmp_path / "msr_paraphrase_test.txt").write_text(
        HEADER + "1\t1\t2\tThe cat sat.\tA cat sat.\n0\t3\t4\tRain fell.\tThe sun shone.\n", encoding="utf-8"
    )
    pairs = load_msrp(tmp_path, "test")
    assert [p.label for p in pairs] == [1, 0] and pairs[0].text2 == "A cat sat."


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "msr_paraphrase_train.txt").write_text(
        HEADER + "1\t1\t2\tonly four fields\n", encoding="utf-8"
    )
    with pytest.raises(EvaluationError, match=r"msr_paraphrase_train\.txt:2:"):
        load_msrp(tmp_path, "train")


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(command, [str(tmp_path), "--split", "test"])
    assert result.exit_code != 0 and "msr_paraphrase_test.txt" in str(result.exception or result.output)


@pytest.mark.parametrize(
    ("scores", "labels", "lo", "hi"),
    [
        ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 0.2, 0.8),
        ([0.1, 0.2, 0.3], [1, 1, 1], -1.0, 0.1),
        ([0.1, 0.2, 0.3], [0, 0, 0], 0.3, 2.0),
    ],
)
def test_best_threshold(scores: list[float], labels: list[int], lo: float, hi: float) -> None:
    t = best_threshold(np.array(scores), np.array(labels))
    assert lo <= t <= hi
    assert ((np.array(scores) >= t) == np.array(labels)).all()


@pytest.mark.slow
def test_floors_on_subset() -> None:
    data = shared_path("msrp")
    result = evaluate_align(data, split="train", limit=400, embedder="minilm")
    assert result["cross_validated"] and result["pairs"] == 400
    peers = result["peers"].values()
    measured = {
        "subset_accuracy": result["accuracy"],
        "subset_roc_auc": result["roc_auc"],
        "subset_accuracy_margin_over_peers": result["accuracy"] - max(p["accuracy"] for p in peers),
        "subset_roc_auc_margin_over_peers": result["roc_auc"] - max(p["roc_auc"] for p in peers),
    }
    floors = {k: v for k, v in load_floors("align").items() if k.startswith("subset_")}
    assert not check_floors(measured, floors)


def _synthetic(n: int) -> str:
    rows = []
    for k in range(n):
        a = f"The council of town {k} approved a budget of {k + 3} million dollars on Tuesday."
        if k % 2:
            b = f"On Tuesday, town {k}'s council approved a {k + 3} million dollar budget."
        else:
            b = f"Fans of team {k} celebrated a late goal in the stadium on Sunday night."
        rows.append(f"{k % 2}\t{k}\t{k + 1000}\t{a}\t{b}\n")
    return HEADER + "".join(rows)


def test_held_out_split_uses_the_shipped_model(tmp_path: Path) -> None:
    (tmp_path / "msr_paraphrase_train.txt").write_text(_synthetic(20), encoding="utf-8")
    (tmp_path / "msr_paraphrase_dev.txt").write_text(_synthetic(12), encoding="utf-8")
    result = evaluate_align(tmp_path, split="dev", embedder="hashing")
    assert not result["cross_validated"] and result["pairs"] == 12
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "peers"} <= set(result)
    assert set(result["peers"]) == {"tfidf_cosine", "hashing_cosine"}
    assert result["roc_auc"] > 0.9  # the equivalent pairs are plain rewordings
    table = CliRunner().invoke(
        command, [str(tmp_path), "--split", "dev", "--embedder", "hashing", "--format", "table"]
    )
    assert table.exit_code == 0 and "parallax" in table.output and "shipped model" in table.output
