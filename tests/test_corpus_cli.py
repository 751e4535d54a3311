"""The corpus commands end to end through click: ingest, stories, report, export."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.test_corpus import corpus_records, write_jsonl

from parallax.cli import ExitCode, cli, main
from parallax.store import Store


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
        assert len(story["articles"]) == 3 and story["outlets"] == [
            "Fox News",
            "HuffPost",
            "The New York Times",
        ]


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


# --- exit codes, file names, --db paths ---------------------------------------------------------


def _main(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize(
    ("files", "strict", "expected"),
    [
        ({}, False, ExitCode.NOTHING_USABLE),  # a missing path only
        ({"bin.txt": b"\x00\x01" * 500, "empty.txt": b"", "blank.jsonl": b"\n\n"}, False, ExitCode.NOTHING_USABLE),
        ({"ok.txt": b"The council approved the new park on Tuesday, the mayor said.", "empty.txt": b""}, False, ExitCode.OK),
        ({"ok.txt": b"The council approved the new park on Tuesday, the mayor said.", "empty.txt": b""}, True, ExitCode.STRICT_SKIP),
    ],
    ids=["missing", "all-bad", "some-bad", "some-bad-strict"],
)  # fmt: skip
def test_ingest_exit_codes(
    tmp_path: Path, files: dict[str, bytes], strict: bool, expected: int, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    paths = [str(folder)] if files else [str(tmp_path / "nonexistent.txt")]
    assert (
        _main(["ingest", *paths, "--db", str(tmp_path / "s.db"), *(["--strict"] if strict else [])])
        == expected
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if expected == ExitCode.NOTHING_USABLE:
        assert "nothing usable was ingested" in err


def test_ingest_help_documents_the_exit_codes(runner: CliRunner) -> None:
    text = runner.invoke(cli, ["ingest", "--help"]).output
    for code in ("0 all inputs used", "3 nothing usable", "4 --strict", "5 another writer", "--wait"):
        assert code in text


@pytest.mark.parametrize("bad", ["/proc/nope/x.db", "/dev/null/x.db"])
def test_a_bad_db_path_is_one_line(tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_text("The council approved the new park on Tuesday, the mayor said.")
    assert _main(["ingest", str(tmp_path / "a.txt"), "--db", bad]) == ExitCode.ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and bad in lines[0] and "use another --db" in lines[0]


def test_file_names_that_are_not_utf8_go_through_ingest_and_compare(tmp_path: Path) -> None:
    folder = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"d\xe9p\xeache\nnew")))
    folder.mkdir()
    texts = [
        "The council approved the new harbour park on Tuesday after a long debate, the mayor said.",
        "Councillors voted on Tuesday to approve a new park by the harbour, officials announced.",
    ]
    for name, text in zip((b"caf\xe9.txt", b"tab\there.txt"), texts, strict=True):
        Path(os.fsdecode(os.path.join(os.fsencode(folder), name))).write_text(text)
    db = tmp_path / "s.db"
    proc = subprocess.run(
        [sys.executable, "-m", "parallax.cli", "ingest", os.fsencode(folder), "--db", str(db), "--json"],
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    ids = sorted(str(r[0]) for r in sqlite3.connect(db).execute("SELECT id FROM articles"))
    assert ids == ["caf\\xe9", "tab\\there"]
    out = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"out\xff.json")))
    proc = subprocess.run(
        [sys.executable, "-m", "parallax.cli", "compare", os.fsencode(folder), "--embedder", "hashing",
         "-o", os.fsencode(out)],
        capture_output=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {a["source_path"].rsplit("/", 1)[-1] for a in report["articles"]} == {
        "caf\\xe9.txt",
        "tab\\there.txt",
    }
    assert b"Traceback" not in proc.stderr and b"out\\xff.json" in proc.stderr


def test_stories_limit_zero_lists_all(db: Path, runner: CliRunner) -> None:
    every = json.loads(
        runner.invoke(cli, ["stories", "--db", str(db), "--format", "json", "--limit", "0"]).output
    )
    one = json.loads(
        runner.invoke(cli, ["stories", "--db", str(db), "--format", "json", "--limit", "1"]).output
    )
    assert len(every["stories"]) == every["total"] > 1 and len(one["stories"]) == 1


def test_a_killed_ingest_run_is_marked_interrupted(db: Path, tmp_path: Path, runner: CliRunner) -> None:
    with Store(db) as store:
        store.start_run(["crashed"])  # as a writer killed with -9 leaves it
    src = write_jsonl(tmp_path / "b.jsonl", corpus_records()[:1])
    assert runner.invoke(cli, ["ingest", str(src), "--db", str(db)]).exit_code == 0
    statuses = [r[0] for r in sqlite3.connect(db).execute("SELECT status FROM ingest_runs ORDER BY id")]
    assert statuses == ["done", "interrupted", "done"]
