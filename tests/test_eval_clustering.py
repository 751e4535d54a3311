"""``parallax eval clustering``: metrics, data loading, CLI and the quality gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import shared_path

from parallax.errors import EvaluationError
from parallax.evaluation.clustering import bcubed, command, evaluate, load_jsonl, score
from parallax.evaluation.gate import check_floors, load_floors


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        (["a", "a", "b"], ["x", "x", "y"], (1.0, 1.0, 1.0)),
        (["a", "a", "a"], ["x", "x", "y"], (5 / 9, 1.0, 2 * (5 / 9) / (5 / 9 + 1))),
        (["a", "b", "c"], ["x", "x", "y"], (1.0, 2 / 3, 0.8)),
        ([], [], (0.0, 0.0, 0.0)),
    ],
)
def test_bcubed(pred: list[str], gold: list[str], expected: tuple[float, float, float]) -> None:
    assert bcubed(pred, gold) == pytest.approx(expected)


def test_score_requires_every_article() -> None:
    assert score({"1": "a", "2": "a"}, {"1": "x", "2": "x"})["ari"] == 1.0
    with pytest.raises(EvaluationError, match="not clustered"):
        score({"1": "a"}, {"1": "x", "2": "x"})


def test_load_jsonl_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "1", "text": "t", "gold_story": "s"}\n{"id": "2", "text": "t"}\n', encoding="utf-8"
    )
    with pytest.raises(EvaluationError, match=r"bad\.jsonl:2"):
        load_jsonl(path)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_cli_pools_files_and_reports_peer(tmp_path: Path) -> None:
    quake = "A strong earthquake struck Chios on Sunday killing 14 people in Kardamyla, officials said."
    vote = "The Dutch parliament voted on the new pension law on Tuesday after a long debate in The Hague."
    a = _write(
        tmp_path / "a.jsonl",
        [
            {"id": "1", "text": quake, "title": "Chios earthquake", "gold_story": "q"},
            {"id": "2", "text": quake + " Rescue went on.", "title": "Quake on Chios", "gold_story": "q"},
            {"id": "3", "text": vote, "title": "Pension vote", "gold_story": "v"},
        ],
    )
    b = _write(
        tmp_path / "b.jsonl",
        [
            {"id": "1", "text": vote, "title": "Pension law passes", "gold_story": "v"},
            {"id": "2", "text": vote + " It passed.", "title": "Dutch pension vote", "gold_story": "v"},
        ],
    )
    result = CliRunner().invoke(command, [str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("bcubed_precision", "bcubed_recall", "bcubed_f1", "ari", "ami"):
        assert 0.0 <= data[key] <= 1.0
        assert key in data["peers"]["tfidf_agglomerative"]
    assert data["articles"] == 5 and set(data["files"]) == {str(a), str(b)}
    assert data["files"][str(a)]["bcubed_f1"] == 1.0
    table = CliRunner().invoke(command, [str(a), "--format", "table"])
    assert table.exit_code == 0 and "tfidf_agglomerative" in table.output


def test_pooled_shared_sets_meet_the_floors() -> None:
    directory = shared_path("clustering")
    paths = sorted(directory.glob("*.jsonl"))
    pooled = [item for p in paths for item in load_jsonl(p, prefix=f"{p.stem}/")]
    assert len(pooled) == 952
    result = evaluate(pooled)
    peer = result["peers"]["tfidf_agglomerative"]
    measured = {
        "bcubed_f1": result["bcubed_f1"],
        "ari": result["ari"],
        "ami": result["ami"],
        "bcubed_f1_margin_over_peer": result["bcubed_f1"] - peer["bcubed_f1"],
    }
    assert check_floors(measured, load_floors("clustering")) == []


def test_cross_corpus_validation_meets_the_floors() -> None:
    """Leave one corpus out (settings chosen on the other files): held-out floors per file."""
    from parallax.evaluation.clustering import CV_GRID, WINDOW_KEYS, cross_validate

    paths = [
        shared_path("clustering", "basil-2010-2015.jsonl"),
        shared_path("clustering", "ecbplus-topics-1-35.jsonl"),
        shared_path("newswcl50", "newswcl50-events-0-4.jsonl"),
    ]
    result = cross_validate(paths)
    from parallax.evaluation.gate import BASELINE_DIR

    floors = json.loads((BASELINE_DIR / "clustering.json").read_text(encoding="utf-8"))["cv_floors"]
    for name, figures in result["held_out"].items():
        assert set(figures["setting"]) == {*CV_GRID, *WINDOW_KEYS}
        key = f"cv_{name.split('-')[0]}_bcubed_f1"
        assert figures["bcubed_f1"] >= floors[key], (name, figures["bcubed_f1"], figures["setting"])
    from parallax.cluster import StoryClusterer

    defaults = StoryClusterer().params
    assert result["setting_on_all_files"] == {k: defaults[k] for k in (*CV_GRID, *WINDOW_KEYS)}


def test_story_days_groups_dated_articles_by_gold_story(tmp_path: Path) -> None:
    from parallax.evaluation.clustering import story_days

    path = _write(
        tmp_path / "d.jsonl",
        [
            {"id": "1", "text": "t", "gold_story": "a", "published": "2020-01-01"},
            {"id": "2", "text": "t", "gold_story": "a", "published": "2020-01-03T10:00:00"},
            {"id": "3", "text": "t", "gold_story": "b", "published": "2020-01-02"},
            {"id": "4", "text": "t", "gold_story": "b"},
        ],
    )
    assert story_days(load_jsonl(path)) == [[18262, 18264], [18263]]


@pytest.mark.parametrize("select", ["mean", "min"])
def test_cv_cli_learns_the_window_on_the_other_files(tmp_path: Path, select: str) -> None:
    """Each held-out file gets the window learned from the other file's dates (none if undated)."""
    quake = "A strong earthquake struck Chios killing 14 people in Kardamyla, officials said."
    vote = "The Dutch parliament voted on the new pension law after a long debate in The Hague."
    dated = _write(
        tmp_path / "dated.jsonl",
        [
            {"id": "1", "text": quake, "gold_story": "q", "published": "2021-03-01"},
            {"id": "2", "text": quake + " Rescue went on.", "gold_story": "q", "published": "2021-03-02"},
            {"id": "3", "text": vote, "gold_story": "v", "published": "2021-03-02"},
        ],
    )
    undated = _write(
        tmp_path / "undated.jsonl",
        [
            {"id": "1", "text": vote, "gold_story": "v"},
            {"id": "2", "text": vote + " It passed.", "gold_story": "v"},
        ],
    )
    args = [str(dated), str(undated), "--cv", "--select", select, "--format", "json"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["select"] == select
    # the dated file is held out: the undated one teaches no window
    assert data["held_out"]["dated.jsonl"]["setting"]["day_decay"] is None
    # one gap of a day: too few to bound the quantile, so a day beyond it
    assert data["held_out"]["undated.jsonl"]["setting"]["day_grace"] == 2
    assert data["held_out"]["undated.jsonl"]["bcubed_f1"] == 1.0


def test_cv_refuses_an_unknown_selection_rule(tmp_path: Path) -> None:
    from parallax.evaluation.clustering import cross_validate

    with pytest.raises(EvaluationError, match="selection rule"):
        cross_validate([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], select="median")


@pytest.mark.parametrize("outlet", ["hpo", "fox", "nyt"])
def test_an_undated_outlet_keeps_its_stories(outlet: str) -> None:
    """BASIL with one outlet's dates removed (as NewsWCL50's HuffPost articles come): its reports
    must still find their stories, which the window has closed by the end of the five years."""
    import dataclasses

    from parallax.evaluation.gate import BASELINE_DIR

    items = load_jsonl(shared_path("clustering", "basil-2010-2015.jsonl"))
    undated = [
        dataclasses.replace(i, doc=dataclasses.replace(i.doc, published=None))
        if (i.doc.outlet or "").lower() == outlet
        else i
        for i in items
    ]
    assert sum(i.doc.published is None for i in undated) == 60
    result = evaluate(undated)
    floors = json.loads((BASELINE_DIR / "clustering.json").read_text(encoding="utf-8"))
    assert result["bcubed_f1"] >= floors["undated_outlet_floors"]["basil_bcubed_f1"], result
