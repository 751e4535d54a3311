"""The process-pool engine: input order, bounded work ahead, errors, a dead worker, no pool for one batch."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.engine_tasks import fail_on, pid_of, square_all

from parallax.engine import ENGINES, Engine, ProcessEngine, make_engine
from parallax.errors import AnalysisError


def _die_on(bad: int, batch: list[int]) -> list[int]:
    if bad in batch:
        os.kill(os.getpid(), signal.SIGKILL)
    return batch


def _slow_square(batch: list[int]) -> list[int]:
    time.sleep(0.002 * (batch[0] % 3 if batch else 0))  # later batches may finish first
    return square_all(batch)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessEngine]:
    with ProcessEngine(workers=2) as engine:
        yield engine


def test_follows_the_protocol_and_is_made_by_name() -> None:
    engine = make_engine("processes", workers=3)
    assert isinstance(engine, Engine) and isinstance(engine, ProcessEngine)
    assert engine.name in ENGINES and engine.workers == 3 and not engine.started
    assert make_engine("processes").workers >= 1


@pytest.mark.parametrize("batches", [[], [[1]], [[1, 2], [], [3]], [[i] for i in range(40)]])
def test_maps_in_input_order(pool: ProcessEngine, batches: list[list[int]]) -> None:
    assert list(pool.map_batches(_slow_square, batches)) == [square_all(b) for b in batches]


def test_one_batch_or_one_worker_runs_here_without_a_pool() -> None:
    with ProcessEngine(workers=2) as engine:
        assert list(engine.map_batches(pid_of, [[1]])) == [os.getpid()]
        assert not engine.started
    with ProcessEngine(workers=1) as engine:
        assert set(engine.map_batches(pid_of, [[i] for i in range(5)])) == {os.getpid()}
        assert not engine.started


def test_runs_on_worker_processes(pool: ProcessEngine) -> None:
    pids = set(pool.map_batches(pid_of, [[i] for i in range(20)]))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2 and pool.started


def test_reads_a_bounded_number_of_batches_ahead() -> None:
    pulled: list[int] = []

    def source() -> Iterator[list[int]]:
        for i in range(100):
            pulled.append(i)
            yield [i]

    with ProcessEngine(workers=2, in_flight=3) as engine:
        results = engine.map_batches(square_all, source())
        assert next(results) == [0]
        assert len(pulled) <= 4  # the first result plus at most in_flight batches ahead
        assert list(results) == [[i * i] for i in range(1, 100)]


def test_task_error_reaches_the_caller(pool: ProcessEngine) -> None:
    with pytest.raises(ValueError, match="bad value 3"):
        list(pool.map_batches(functools.partial(fail_on, 3), [[i] for i in range(6)]))


def test_a_dead_worker_stops_the_run_with_a_clear_error() -> None:
    with ProcessEngine(workers=2) as engine:
        out: list[list[int]] = []
        with pytest.raises(AnalysisError, match=r"worker process died.*re-run"):
            for result in engine.map_batches(functools.partial(_die_on, 5), [[i] for i in range(10)]):
                out.append(result)
        assert out == [[i] for i in range(len(out))] and len(out) < 10  # what came back is in order


def test_workers_exit_when_the_driver_is_killed(tmp_path: Path) -> None:
    """kill -9 of the process owning a pool leaves no worker (nor fork server) behind."""
    script = (
        "from parallax.engine import ProcessEngine\n"
        "from tests.engine_tasks import pid_of\n"
        "engine = ProcessEngine(workers=2)\n"
        "print(sorted(set(engine.map_batches(pid_of, [[i] for i in range(8)]))), flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        workers = json.loads(proc.stdout.readline())
        assert workers and proc.pid not in workers
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
