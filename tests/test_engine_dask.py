"""Engines: ordered batch mapping, and corpus ingest on a real two-worker Dask cluster (no mocks).

The cluster tests start one ``LocalCluster`` (two single-threaded worker processes) per module
and join it through ``DaskEngine(scheduler=...)``, the path of ``--scheduler``.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import shared_path
from tests.engine_tasks import fail_on, square_all

from parallax.corpus import IngestProgress, Prepared, ingest, prepare_items
from parallax.engine import (
    ENGINES,
    Engine,
    LocalEngine,
    iter_documents_on,
    make_engine,
    per_process,
    read_files,
)
from parallax.errors import ConfigError, EmptyInputError, InputError, RecordInputError
from parallax.ingest import iter_documents
from parallax.records import RawDocument
from parallax.settings import Settings
from parallax.store import Store

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
cloudpickle = pytest.importorskip("cloudpickle")

from distributed import LocalCluster  # noqa: E402

from parallax.engine.dask_engine import DaskEngine  # noqa: E402

# Workers cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

CLUSTERING = ("basil-2010-2015.jsonl", "ecbplus-topics-1-35.jsonl")


# --- helpers run on workers ---------------------------------------------------------------------


def _slow_sum(batch: tuple[int, float]) -> int:
    """Later batches finish first (shorter sleeps), to test the ordering."""
    value, delay = batch
    time.sleep(delay)
    return value


def _load_counting() -> str:
    """Build a counted "model" through :func:`per_process`; returns how often it was built here."""

    def load() -> int:
        os.environ["PARALLAX_TEST_LOADS"] = str(int(os.environ.get("PARALLAX_TEST_LOADS", "0")) + 1)
        return os.getpid()

    per_process("test-model", load)
    return os.environ["PARALLAX_TEST_LOADS"]


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as lc:
        yield lc


@pytest.fixture(scope="module")
def dask_engine(cluster: LocalCluster) -> Iterator[DaskEngine]:
    with DaskEngine(scheduler=cluster.scheduler_address, in_flight=4) as engine:
        yield engine


def _snapshot(db: Path) -> dict[str, tuple[str, str | None, str]]:
    """``{article id: (story id, copy of, content hash)}`` of everything stored."""
    with Store(db, readonly=True) as store:
        rows = list(store.iter_articles())
    snap = {r.article.id: (r.story_id, r.copy_of, r.content_hash) for r in rows}
    assert len(snap) == len(rows), "an article id is stored twice"
    return snap


def _ingest(
    db: Path, paths: list[Path], *, engine: Engine | None, batch_size: int = 100, **kw: object
) -> int:
    with Store(db) as store:
        summary = ingest(paths, store=store, settings=Settings(), batch_size=batch_size, engine=engine, **kw)  # type: ignore[arg-type]
    return summary.added


def _records() -> list[dict[str, object]]:
    """Hand-built input that exercises every driver-side rule the engine path must keep."""
    quake = (
        "A strong earthquake struck the coast of {place} on Monday, killing {n} people and leaving "
        "thousands without power, officials said. Rescue teams searched collapsed buildings through "
        "the night while aftershocks shook the region and frightened residents slept in the streets."
    )
    vote = "The senate passed the budget bill after a long night of debate in Washington on Friday."
    return [
        {"id": "a", "outlet": "x", "published": "2020-01-01", "title": "Quake", "text": quake.format(place="Chile", n=12)},
        {"id": "a", "outlet": "y", "published": "2020-01-01", "title": "Quake hits", "text": quake.format(place="Peru", n=3)},
        {"id": "b", "outlet": "z", "published": "2020-01-02", "title": "Copy", "text": quake.format(place="Chile", n=12) + " More soon."},
        {"id": "c", "outlet": "x", "published": "2020-01-02", "title": "Empty", "text": "   "},
        {"id": "d", "outlet": "x", "published": "2020-03-01", "title": "Vote", "text": vote},
        {"id": "e", "outlet": "w", "published": "2020-03-01", "title": "Vote again", "text": vote},
    ]  # fmt: skip


def _write_jsonl(path: Path, records: list[dict[str, object]], *, broken: bool = True) -> Path:
    lines = [json.dumps(r) for r in records] + (["{broken"] if broken else [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the local engine and the protocol --------------------------------------------------------------


@pytest.mark.parametrize("batches", [[], [[1]], [[1, 2], [], [3]], [[i] for i in range(50)]])
def test_local_engine_maps_in_order(batches: list[list[int]]) -> None:
    with LocalEngine() as engine:
        assert list(engine.map_batches(square_all, batches)) == [square_all(b) for b in batches]


def test_local_engine_is_lazy() -> None:
    pulled: list[int] = []

    def source() -> Iterator[list[int]]:
        for i in range(10):
            pulled.append(i)
            yield [i]

    results = LocalEngine().map_batches(square_all, source())
    assert pulled == []
    next(results)
    assert pulled == [0]


@pytest.mark.parametrize("engine", [LocalEngine()])
def test_engines_follow_the_protocol(engine: Engine) -> None:
    assert isinstance(engine, Engine) and engine.name in ENGINES and engine.workers >= 1


def test_per_process_builds_once() -> None:
    calls: list[str] = []

    def load(name: str) -> str:
        calls.append(name)
        return name

    first = per_process("test-once", lambda: load("model"))
    again = per_process("test-once", lambda: load("other"))
    assert first == again == "model" and calls == ["model"]


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("spark", {}, "unknown engine 'spark'"),
        ("local", {"workers": 2}, "do not apply to the local engine"),
        ("local", {"scheduler": "tcp://127.0.0.1:8786"}, "do not apply to the local engine"),
        ("processes", {"scheduler": "tcp://127.0.0.1:8786"}, "dask engine only"),
        ("processes", {"workers": 0}, "at least 1"),
        ("dask", {"scheduler": "tcp://127.0.0.1:8786", "workers": 2}, "not both"),
    ],
)
def test_make_engine_rejects_bad_options(name: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_engine(name, **kwargs)  # type: ignore[arg-type]


def test_unreachable_scheduler_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        DaskEngine(scheduler="tcp://127.0.0.1:9", timeout=1.0)


@pytest.mark.parametrize(
    "err",
    [
        RecordInputError("invalid JSON", path="a.jsonl", line=3),
        EmptyInputError("no text left after cleaning", path="b.txt", record="r7"),
        InputError("cannot read", path=None),
    ],
)
def test_input_errors_survive_pickling(err: InputError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == str(err)
    assert (back.path, back.line, back.record, back.detail) == (err.path, err.line, err.record, err.detail)


# --- the dask engine ------------------------------------------------------------------------------


def test_dask_engine_joins_the_cluster(dask_engine: DaskEngine) -> None:
    assert isinstance(dask_engine, Engine)
    assert dask_engine.workers == 2 and len(set(dask_engine.worker_pids().values())) == 2


@settings(max_examples=5, deadline=None)
@given(st.lists(st.lists(st.integers(-1000, 1000), max_size=5), max_size=12))
def test_dask_engine_matches_local_engine(dask_engine: DaskEngine, batches: list[list[int]]) -> None:
    assert list(dask_engine.map_batches(square_all, batches)) == list(
        LocalEngine().map_batches(square_all, batches)
    )


def test_dask_engine_keeps_input_order_and_bounds_work_ahead(dask_engine: DaskEngine) -> None:
    n, pulled = 12, [0]

    def source() -> Iterator[tuple[int, float]]:
        for i in range(n):
            pulled[0] += 1
            yield (i, 0.02 * (n - i))  # the first batches are the slowest

    out = []
    for result in dask_engine.map_batches(_slow_sum, source()):
        out.append(result)
        # never more than ``in_flight`` batches submitted beyond what was consumed
        assert pulled[0] - len(out) <= 4 - 1
    assert out == list(range(n))


def test_dask_engine_raises_the_task_error(dask_engine: DaskEngine) -> None:
    batches = [[1], [2], [3], [4]]
    with pytest.raises(ValueError, match="bad value 3"):
        list(dask_engine.map_batches(functools.partial(fail_on, 3), batches))


def test_dask_engine_stops_cleanly_when_the_consumer_stops(dask_engine: DaskEngine) -> None:
    results = dask_engine.map_batches(square_all, ([i] for i in range(100)))
    assert next(results) == [0]
    results.close()  # pending tasks are cancelled
    assert list(dask_engine.map_batches(square_all, [[5]])) == [[25]]


def test_workers_are_warmed_and_keep_resources(dask_engine: DaskEngine) -> None:
    plugins = dask_engine.client.run(lambda dask_worker: sorted(dask_worker.plugins))
    assert all("parallax-warm-up" in names for names in plugins.values())
    for _ in range(3):
        loads = dask_engine.client.run(_load_counting)
    assert set(loads.values()) == {"1"} and len(loads) == 2


def test_prepare_items_on_workers_keeps_errors_in_place(dask_engine: DaskEngine) -> None:
    items: list[RawDocument | InputError] = [
        RawDocument(
            id="x", source_path="a.txt", text="Officials said the storm closed every road in the valley."
        ),
        RecordInputError("invalid JSON", path="a.jsonl", line=2),
        RawDocument(id="y", source_path="b.txt", text="   "),
    ]
    fn = functools.partial(prepare_items, settings=Settings())
    [remote] = list(dask_engine.map_batches(fn, [items]))
    local = fn(items)
    assert [type(r).__name__ for r in remote] == ["Prepared", "RecordInputError", "EmptyInputError"]
    assert str(remote[1]) == str(local[1]) and str(remote[2]) == str(local[2])
    assert isinstance(remote[0], Prepared) and isinstance(local[0], Prepared)
    assert remote[0].article == local[0].article and remote[0].features == local[0].features
    assert remote[0].signature.tolist() == local[0].signature.tolist()


# --- reading on workers ---------------------------------------------------------------------------


def _input_tree(root: Path) -> list[str | Path]:
    """Files of every kind, with ids that clash across and within files, and bad inputs."""
    page = "<html><head><title>{t}</title></head><body><article><p>{b}</p></article></body></html>"
    body = "Firefighters battled a large blaze in the hills above the city for a third straight day. " * 3
    for i, sub in enumerate(["a", "b", "c"]):
        (root / sub).mkdir()
        (root / sub / "story.html").write_text(page.format(t=f"Fire {i}", b=body + sub), encoding="utf-8")
        (root / sub / "story.txt").write_text(f"{body} Report {i}.", encoding="utf-8")
    _write_jsonl(root / "b" / "story.jsonl", _records())
    (root / "c" / "list.json").write_text(json.dumps(_records()[:2]), encoding="utf-8")
    (root / "c" / "empty.txt").write_text("", encoding="utf-8")
    (root / "c" / "data.bin").write_bytes(b"\x00\x01")
    return [root, root / "missing.html", str(root / "*" / "story.txt")]


def _described(items: list[RawDocument | InputError]) -> list[str]:
    return [repr(i) if isinstance(i, RawDocument) else f"{type(i).__name__}: {i}" for i in items]


@pytest.mark.parametrize("use_dask", [False, True], ids=["local-engine", "dask-engine"])
@pytest.mark.parametrize("files_per_task", [1, 2, 16])
def test_reading_on_an_engine_equals_reading_here(
    tmp_path: Path, dask_engine: DaskEngine, use_dask: bool, files_per_task: int
) -> None:
    paths = _input_tree(tmp_path)
    engine: Engine = dask_engine if use_dask else LocalEngine()
    here = list(iter_documents(paths, settings=Settings()))
    there = list(iter_documents_on(engine, paths, settings=Settings(), files_per_task=files_per_task))
    assert _described(there) == _described(here)
    ids = [d.id for d in there if isinstance(d, RawDocument)]
    assert len(ids) == len(set(ids)) and "story~2" in ids


def test_a_file_a_worker_cannot_see_is_read_by_the_driver(tmp_path: Path) -> None:
    real = tmp_path / "x.txt"
    real.write_text("Text of the article.", encoding="utf-8")
    [seen, unseen] = read_files([real, tmp_path / "gone.txt"], settings=Settings())
    assert unseen is None and seen is not None and isinstance(seen[0], RawDocument)


# --- corpus ingest through engines ------------------------------------------------------------------


@pytest.mark.parametrize("use_dask", [False, True], ids=["local-engine", "dask-engine"])
def test_engine_ingest_keeps_driver_rules(tmp_path: Path, dask_engine: DaskEngine, use_dask: bool) -> None:
    """Renamed ids, exact duplicates, copies and skipped records are the same as without an engine."""
    src = _write_jsonl(tmp_path / "in.jsonl", _records())
    engine: Engine = dask_engine if use_dask else LocalEngine()
    for db, eng in ((tmp_path / "plain.db", None), (tmp_path / "engine.db", engine)):
        _ingest(db, [src], engine=eng, batch_size=2)
        _ingest(db, [src], engine=eng, batch_size=2)  # a re-run adds nothing
    plain, other = _snapshot(tmp_path / "plain.db"), _snapshot(tmp_path / "engine.db")
    assert other == plain
    assert set(plain) == {"a", "a~2", "b", "d"} and plain["b"][1] == "a"
    with Store(tmp_path / "engine.db", readonly=True) as a, Store(tmp_path / "plain.db", readonly=True) as b:
        assert [(s.reason, s.record) for s in a.skipped()] == [(s.reason, s.record) for s in b.skipped()]


def test_dask_stories_equal_single_process_stories(tmp_path: Path, dask_engine: DaskEngine) -> None:
    """Acceptance: the shared clustering corpora give identical stores with and without Dask."""
    paths = [shared_path("clustering", name) for name in CLUSTERING]
    added = _ingest(tmp_path / "plain.db", paths, engine=None, batch_size=100)
    assert _ingest(tmp_path / "dask.db", paths, engine=dask_engine, batch_size=100) == added > 900
    plain, dask = _snapshot(tmp_path / "plain.db"), _snapshot(tmp_path / "dask.db")
    assert dask == plain
    assert len({story for story, _, _ in plain.values()}) > 50


def test_killed_worker_loses_and_duplicates_nothing(
    tmp_path: Path, dask_engine: DaskEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Acceptance: SIGKILL one of two workers mid-run; the store equals a single-process run."""
    path = shared_path("clustering", CLUSTERING[0])
    victims: list[int] = []

    def kill_once(progress: IngestProgress) -> None:
        if not victims:
            pid = next(iter(dask_engine.worker_pids().values()))
            victims.append(pid)
            os.kill(pid, signal.SIGKILL)

    with caplog.at_level("INFO", logger="distributed.scheduler"):
        added = _ingest(tmp_path / "dask.db", [path], engine=dask_engine, batch_size=10, progress=kill_once)
    assert victims, "no worker was killed"
    assert "Remove worker" in caplog.text, "the scheduler did not see the worker die during the run"
    with pytest.raises(ProcessLookupError):
        os.kill(victims[0], 0)
    assert _ingest(tmp_path / "plain.db", [path], engine=None, batch_size=10) == added == 180
    assert _snapshot(tmp_path / "dask.db") == _snapshot(tmp_path / "plain.db")
    dask_engine.client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker


def test_cli_ingest_joins_a_cluster(tmp_path: Path, cluster: LocalCluster) -> None:
    from parallax.cli import cli

    src = _write_jsonl(tmp_path / "in.jsonl", _records())
    runner = CliRunner()
    args = ["ingest", str(src), "--json", "--db"]
    plain = runner.invoke(cli, [*args, str(tmp_path / "plain.db")])
    dask = runner.invoke(
        cli, [*args, str(tmp_path / "d.db"), "--engine", "dask", "--scheduler", cluster.scheduler_address]
    )
    assert plain.exit_code == 0 and dask.exit_code == 0, dask.output

    def strip(out: str) -> dict[str, object]:
        return {k: v for k, v in json.loads(out).items() if k != "seconds"}

    assert strip(dask.stdout) == strip(plain.stdout)
    assert _snapshot(tmp_path / "d.db") == _snapshot(tmp_path / "plain.db")


def test_cli_rejects_dask_options_for_the_local_engine(tmp_path: Path) -> None:
    from parallax.cli import cli

    src = _write_jsonl(tmp_path / "in.jsonl", _records(), broken=False)
    db = str(tmp_path / "x.db")
    result = CliRunner().invoke(cli, ["ingest", str(src), "--db", db, "--engine", "local", "--workers", "2"])
    assert isinstance(result.exception, ConfigError) and "local engine" in str(result.exception)
    result = CliRunner().invoke(cli, ["ingest", str(src), "--db", db, "--scheduler", "tcp://127.0.0.1:9"])
    assert isinstance(result.exception, ConfigError) and "dask engine only" in str(result.exception)
