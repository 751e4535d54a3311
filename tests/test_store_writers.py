"""One writer at a time, race-free store creation and migration, with real processes.

Two ``parallax ingest`` processes race on a store that does not exist yet, over and over
(``RACE_TRIES``); every try must end exactly as one writer alone would have left the store.
The racing processes are spawned once and run the CLI's ``main`` in a loop, meeting at a
barrier before each try, so that 20 tries cost two interpreter start-ups, not forty.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import shared_path

from parallax.cli import ExitCode, main
from parallax.store import Store, migrate

RACE_TRIES = 20
ARTICLES = 24  # eight BASIL stories of three outlets each


def _snapshot(db: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        arts = conn.execute("SELECT id, content_hash, story_id, copy_of FROM articles ORDER BY id").fetchall()
        stories = conn.execute("SELECT id, size, independent, outlets FROM stories ORDER BY id").fetchall()
    finally:
        conn.close()
    return arts, stories


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two JSONL files: 12 articles each, plus near-duplicate copies of two articles of the first."""
    lines = shared_path("clustering", "basil-2010-2015.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines[:ARTICLES]]
    for original in records[:2]:
        copy = dict(original, id=original["id"] + "-copy", outlet="wire")
        copy["text"] = original["text"].replace(" the ", " a ", 2) + "\nAdditional reporting by the wire."
        records.append(copy)
    folder = tmp_path_factory.mktemp("writers")
    first, second = folder / "first.jsonl", folder / "second.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records[:12] + records[ARTICLES:]))
    second.write_text("".join(json.dumps(r) + "\n" for r in records[12:ARTICLES]))
    return first, second


def _ingest(paths: list[str], db: Path, *extra: str) -> int:
    try:
        main(["ingest", *paths, "--db", str(db), "--batch-size", "4", "--json", *extra])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _racer(paths: list[str], dbs: list[str], barrier: Any, results: Any) -> None:
    """One racing process: for each store, meet the other racer, then ingest ``paths`` into it."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the JSON summaries are not needed
    for db in dbs:
        barrier.wait(timeout=300)
        results.put((db, _ingest(paths, Path(db), "--wait", "120")))


def _race(paths_a: list[str], paths_b: list[str], dbs: list[Path]) -> dict[str, list[int]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    names = [str(d) for d in dbs]
    racers = [ctx.Process(target=_racer, args=(p, names, barrier, results)) for p in (paths_a, paths_b)]
    for proc in racers:
        proc.start()
    codes: dict[str, list[int]] = {name: [] for name in names}
    for _ in range(2 * len(dbs)):
        db, code = results.get(timeout=600)
        codes[db].append(code)
    for proc in racers:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    return codes


def test_two_writers_racing_on_a_new_store_end_as_one_writer(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """The issue's case: two ingests of the same files into one (new) store, 20 times."""
    paths = [str(p) for p in inputs]
    reference = tmp_path / "reference.db"
    assert _ingest(paths, reference) == 0
    expected = _snapshot(reference)
    assert len(expected[0]) == ARTICLES + 2 and any(row[3] for row in expected[0])  # copies were found
    dbs = [tmp_path / f"race-{i}.db" for i in range(RACE_TRIES)]
    codes = _race(paths, paths, dbs)
    for db in dbs:
        assert codes[str(db)] == [0, 0], db
        assert _snapshot(db) == expected, db
        runs = sqlite3.connect(db).execute("SELECT status FROM ingest_runs").fetchall()
        assert runs == [("done",), ("done",)]


def test_writers_of_different_files_end_as_one_writer_after_the_other(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = str(inputs[0]), str(inputs[1])
    orders = []
    for name, order in (("ab", [first, second]), ("ba", [second, first])):
        db = tmp_path / f"sequential-{name}.db"
        for path in order:
            assert _ingest([path], db) == 0
        orders.append(_snapshot(db))
    dbs = [tmp_path / f"mixed-{i}.db" for i in range(RACE_TRIES // 2)]
    codes = _race([first], [second], dbs)
    for db in dbs:
        assert codes[str(db)] == [0, 0], db
        assert _snapshot(db) in orders, db


def _open_store(db: str, barrier: Any, results: Any) -> None:
    barrier.wait(timeout=120)
    try:
        with Store(db) as store:
            results.put(store.schema_version)
    except Exception as exc:  # reported to the test, which fails on it
        results.put(repr(exc))


@pytest.mark.parametrize("start", [0, 1])
def test_concurrent_openers_create_or_migrate_once(tmp_path: Path, start: int) -> None:
    """Four processes open a store that is missing (``start=0``) or at schema 1: all succeed."""
    db = tmp_path / "store.db"
    if start:
        conn = sqlite3.connect(db, isolation_level=None)
        migrate(conn, target=start)
        conn.close()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_open_store, args=(str(db), barrier, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    with Store(db) as store:
        assert outcomes == [store.schema_version] * 4
        versions = store.execute("SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, len(versions) + 1))
    assert not list(tmp_path.glob(".*.creating*"))  # no temporary file left behind


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parallax.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_second_writer_refuses_at_once_or_after_waiting(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    with Store(db) as holder, holder.writer():
        refused = _cli("ingest", str(inputs[1]), "--db", str(db))
        assert refused.returncode == ExitCode.BUSY
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pid {os.getpid()}" in lines[0] and "--wait" in lines[0], refused.stderr
        t0 = time.monotonic()
        waited = _cli("ingest", str(inputs[1]), "--db", str(db), "--wait", "1")
        assert waited.returncode == ExitCode.BUSY and time.monotonic() - t0 >= 1
        assert "waiting up to 1 s" in waited.stderr and "after waiting 1 s" in waited.stderr
        # readers never wait for the writer
        listed = _cli("stories", "--db", str(db), "--format", "json")
        assert listed.returncode == 0 and json.loads(listed.stdout)["total"] == 0
    assert _cli("ingest", str(inputs[1]), "--db", str(db)).returncode == 0


def test_a_killed_writer_frees_the_store_and_its_run_is_marked_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from parallax.store import Store\n"
         f"s = Store({str(db)!r}); w = s.writer(); w.__enter__(); s.start_run(['x'])\n"
         "print('held', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert _cli("ingest", str(tmp_path), "--db", str(db)).returncode == ExitCode.BUSY
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    (tmp_path / "a.txt").write_text(
        "A short article about the harbour bridge reopening after repairs on Monday."
    )
    done = _cli("ingest", str(tmp_path / "a.txt"), "--db", str(db))
    assert done.returncode == 0, done.stderr
    runs = sqlite3.connect(db).execute("SELECT status FROM ingest_runs ORDER BY id").fetchall()
    assert runs == [("interrupted",), ("done",)]


def test_a_reader_never_sees_a_half_created_store(tmp_path: Path) -> None:
    """While stores are being created, a reader finds either no store or a complete one."""
    from parallax.errors import StoreError

    dbs = [tmp_path / f"new-{i}.db" for i in range(20)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    creator = ctx.Process(target=_create_all, args=([str(d) for d in dbs], barrier, results))
    creator.start()
    barrier.wait(timeout=120)
    seen: dict[str, int] = {}
    while creator.is_alive() or len(seen) < len(dbs):
        for db in dbs:
            try:
                with Store(db, readonly=True) as reader:
                    seen[str(db)] = reader.schema_version
            except StoreError as exc:
                assert "no store here" in str(exc), exc  # never "not a Parallax store" or "differs"
        if not creator.is_alive() and len(seen) < len(dbs):
            creator.join()
            break
    assert results.get(timeout=60) == "done"
    with Store(dbs[0]) as store:
        assert len(seen) == len(dbs) and set(seen.values()) == {store.schema_version}


def _create_all(dbs: list[str], barrier: Any, results: Any) -> None:
    barrier.wait(timeout=120)
    for db in dbs:
        Store(db).close()
    results.put("done")


DOC_CAP = 40_000  # bytes: the writers put far more, so eviction runs under contention
DOC_PUTS = 60


def _doc_writer(db: str, name: str, barrier: Any, results: Any) -> None:
    """Put ``DOC_PUTS`` batches of parses whose key is the SHA-1 of their bytes, with eviction."""
    import hashlib

    try:
        with Store(db) as store:
            barrier.wait(timeout=120)
            for n in range(DOC_PUTS):
                blobs = [f"{name}-{n}-{i}".encode() * (50 + 40 * i) for i in range(3)]
                store.put_docs("k", {hashlib.sha1(b).hexdigest(): b for b in blobs}, max_bytes=DOC_CAP)
        results.put("done")
    except Exception as exc:  # reported to the test, which fails on it
        results.put(repr(exc))


def test_parse_cache_readers_stay_consistent_under_two_writers(tmp_path: Path) -> None:
    """Two processes fill and evict the parse cache while a third reads: every read is whole."""
    import hashlib

    db = tmp_path / "docs.db"
    Store(db).close()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    writers = [ctx.Process(target=_doc_writer, args=(str(db), w, barrier, results)) for w in ("a", "b")]
    for proc in writers:
        proc.start()
    reads = 0
    with Store(db, readonly=True) as reader:
        barrier.wait(timeout=120)
        while any(p.is_alive() for p in writers):
            # eviction commits with the insert: no reader ever sees the cache over its cap
            assert reader.doc_cache_stats()[1] <= DOC_CAP
            hashes = [str(h) for (h,) in reader.execute("SELECT hash FROM parsed_docs")]
            for key, blob in reader.get_docs("k", hashes).items():
                assert hashlib.sha1(blob).hexdigest() == key  # a whole row or none
                reads += 1
    outcomes = [results.get(timeout=120) for _ in writers]
    for proc in writers:
        proc.join(timeout=60)
    assert outcomes == ["done", "done"]
    with Store(db) as store:
        assert store.doc_cache_stats()[1] <= DOC_CAP
    assert reads > 0
