"""kill -9 in the middle of ``parallax ingest``, then a re-run: no duplicate, no loss, the same stories.

The articles are generated from the shared clustering corpora with varied copies (see
``benchmarks/corpus.py``), so dedup and clustering do real work. ``PARALLAX_CRASH_N`` sets how many
(default 1000; the issue's "few thousand" runs with ``PARALLAX_CRASH_N=3000``).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import ROOT, shared_path

N = int(os.environ.get("PARALLAX_CRASH_N", "1000"))
pytestmark = pytest.mark.slow


def _bench_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "benchmarks" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ingest_cmd(data: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "parallax.cli", "ingest", str(data), "--db", str(db), "--batch-size", "50",
            "--checkpoint-seconds", "1"]  # fmt: skip


def _rows(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _snapshot(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        arts = conn.execute("SELECT id, content_hash, story_id, copy_of FROM articles ORDER BY id").fetchall()
        stories = conn.execute("SELECT id, size, independent, outlets FROM stories ORDER BY id").fetchall()
    finally:
        conn.close()
    return arts, stories


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared_path("clustering", "basil-2010-2015.jsonl")
    path = tmp_path_factory.mktemp("crash") / "articles.jsonl"
    _bench_module().write_jsonl(path, N, seed=7)
    return path


def test_kill_9_mid_ingest_then_rerun_loses_and_duplicates_nothing(data: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    # 1. reference: one uninterrupted ingest
    ref = tmp_path / "ref.db"
    subprocess.run(_ingest_cmd(data, ref), check=True, env=env, capture_output=True, timeout=900)
    expected = _snapshot(ref)
    assert len(expected[0]) > N * 0.9
    # 2. the same ingest, killed with SIGKILL once a good part is stored
    db = tmp_path / "crash.db"
    proc = subprocess.Popen(
        _ingest_cmd(data, db), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 600
        while _rows(db) < len(expected[0]) // 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "ingest finished before it could be killed; raise PARALLAX_CRASH_N"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    partial = _rows(db)
    assert 0 < partial < len(expected[0])
    # 3. the re-run completes the store
    rerun = subprocess.run(
        [*_ingest_cmd(data, db)[:-2], "--json"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    import json

    summary = json.loads(rerun.stdout)
    assert summary["duplicates"] >= partial  # everything stored before the kill was recognised
    # 4. no duplicate, no loss, the same stories as the uninterrupted run
    arts, stories = _snapshot(db)
    assert arts == expected[0]
    assert stories == expected[1]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) - count(DISTINCT content_hash) FROM articles").fetchone()[0] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
