"""The corpus commands end to end through click: ingest, stories, report, export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.test_corpus import corpus_records, write_jsonl

from parallax.cli import cli


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def db(tmp_path: Path, runner: CliRunner) -> Path:
    src = write_jsonl(tmp_path / "a.jsonl", corpus_records(), raw_lines=["{broken"])
    path = tmp_path / "p.db"
    result = runner.invoke(cli, ["ingest", str(src), "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "added 9 articles" in result.output
    assert "skipped 1 x broken record" in result.output
    return path


@pytest.mark.parametrize("command", ["ingest", "stories", "report", "export"])
def test_every_command_has_help(runner: CliRunner, command: str) -> None:
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "--db" in result.output


def test_ingest_twice_reports_duplicates(db: Path, tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["ingest", str(tmp_path / "a.jsonl"), "--db", str(db), "--json"])
    summary = json.loads(result.stdout)
    assert summary["added"] == 0 and summary["duplicates"] == 9 and summary["articles_in_store"] == 9


def test_db_comes_from_the_environment(db: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["stories", "--format", "json"], env={"PARALLAX_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["stories"]) == 3


def test_stories_json_shape(db: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["stories", "--db", str(db), "--format", "json", "--limit", "2"])
    data = json.loads(result.stdout)
    assert len(data["stories"]) == 2 and data["total"] == 3
    for story in data["stories"]:
        assert set(story) == {"id", "title", "articles", "outlets", "first_published", "last_published"}
        assert len(story["articles"]) == 3 and story["outlets"] == ["fox", "hpo", "nyt"]


def test_stories_table(db: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["stories", "--db", str(db), "--query", "quake"])
    assert result.exit_code == 0
    assert "Quake report" in result.output and "(1 of 1 stories)" in result.output


@pytest.mark.parametrize("args", [["stories"], ["report", "s-1"], ["export", "out"]])
def test_missing_store_is_a_clear_error(tmp_path: Path, runner: CliRunner, args: list[str]) -> None:
    missing = tmp_path / "none.db"
    result = runner.invoke(cli, [*args, "--db", str(missing)])
    assert result.exit_code != 0
    assert "parallax ingest" in str(result.exception)
    assert not missing.exists()


def test_report_of_unknown_story_is_not_found(db: Path, runner: CliRunner) -> None:
    from parallax.errors import NotFoundError

    result = runner.invoke(cli, ["report", "s-nope", "--db", str(db)])
    assert isinstance(result.exception, NotFoundError)


@pytest.mark.slow
def test_report_and_export(db: Path, tmp_path: Path, runner: CliRunner) -> None:
    """Real pipeline: a cached report, then csv and parquet exports of the six tables."""
    stories = json.loads(runner.invoke(cli, ["stories", "--db", str(db), "--format", "json"]).stdout)[
        "stories"
    ]
    sid = stories[0]["id"]
    first = runner.invoke(cli, ["report", sid, "--db", str(db), "--format", "json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["story"]["id"] == sid
    assert {a["id"] for a in report["articles"]} == set(stories[0]["articles"])
    again = json.loads(runner.invoke(cli, ["report", sid, "--db", str(db)]).stdout)
    assert (
        again["facts"] == report["facts"] and again["timings"] == report["timings"]
    )  # served from the cache
    out = tmp_path / "csv"
    result = runner.invoke(cli, ["export", str(out), "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    with (out / "articles.csv").open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 9
    with (out / "facts.csv").open(encoding="utf-8") as fh:
        facts = list(csv.DictReader(fh))
    assert {f["story_id"] for f in facts} <= {s["id"] for s in stories} and facts
    import pyarrow.parquet as pq

    pq_out = tmp_path / "pq"
    assert runner.invoke(cli, ["export", str(pq_out), "--db", str(db)]).exit_code == 0
    for name in ("articles", "stories", "facts", "quotes", "conflicts", "outlets"):
        assert (pq_out / f"{name}.parquet").exists()
    with (out / "outlets.csv").open(encoding="utf-8") as fh:
        outlets = list(csv.DictReader(fh))
    stored_outlets = {o for s in stories for o in s["outlets"]}
    assert {o["name"] for o in outlets} == stored_outlets
    assert pq.read_table(pq_out / "outlets.parquet").num_rows == len(outlets)
    # every story's report is computed by the export, so every story counts in the profiles
    assert all(int(o["n_stories_analysed"]) == int(o["n_stories"]) for o in outlets)
    assert pq.read_table(pq_out / "stories.parquet").num_rows == 3
    assert pq.read_table(pq_out / "facts.parquet").num_rows == len(facts)
