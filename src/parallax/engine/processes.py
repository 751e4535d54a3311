"""The process-pool engine: batches run on worker processes of this machine.

Corpus ingest on one machine is bound by the pure per-document work (cleaning, hashing, MinHash
signatures, clustering features: about two thirds of the CPU time), while the driver's
sequential part (duplicate checks, near-duplicate index, clusterer, SQLite writes) needs one core.
This engine runs the pure part on ``workers`` processes (one per core by default) and hands the
results back **in input order**, so the stories are exactly those of the in-process engine.

* Workers are started from a fork server that has already imported the ingest modules, so a
  pool costs a fraction of a second; it is only started when a second batch arrives (an input
  of one batch is processed in this process, with no pool at all).
* At most ``in_flight`` batches are submitted ahead of the consumer: memory stays bounded on a
  stream of any length, and the workers stay busy while the driver assigns and commits.
* A worker that dies (killed, out of memory) breaks the pool; the run stops with an
  :class:`~parallax.errors.AnalysisError` and everything committed before stays stored. A re-run
  resumes (ingest is idempotent). A driver that dies takes its workers with it: each worker
  watches it and exits, so a ``kill -9`` of ``parallax ingest`` leaves no process behind.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice
from typing import TypeVar

from parallax.engine.local import warm_ingest_tables
from parallax.errors import AnalysisError, ConfigError

T = TypeVar("T")
R = TypeVar("R")

#: Modules the fork server imports once, so that every worker starts warm.
PRELOAD = ["parallax.corpus", "parallax.clean", "parallax.dedup", "parallax.features", "parallax.ingest"]


def default_workers() -> int:
    """Worker processes by default: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _exit_with_driver() -> None:
    """End this worker when the process that started the pool dies (``kill -9`` included).

    A pool's workers wait for work on a queue the driver feeds; if the driver is killed they
    would wait forever (and keep the fork server alive). A daemon thread waits on the driver's
    sentinel (``multiprocessing.parent_process()``, a pipe closed when it dies) and exits.
    """
    driver = multiprocessing.parent_process()
    if driver is None:
        return

    def watch() -> None:
        driver.join()
        os._exit(0)

    threading.Thread(target=watch, name="parallax-driver-watch", daemon=True).start()


def _warm_worker() -> None:
    """Watch the driver, and build the tables the ingest functions use, once per worker process."""
    _exit_with_driver()
    warm_ingest_tables()


class ProcessEngine:
    """Runs batches on a pool of ``workers`` local processes; results in input order.

    ``workers=1`` runs everything in this process (no pool). ``in_flight`` bounds the batches
    submitted ahead of the consumer (default: two per worker).
    """

    name = "processes"

    def __init__(self, workers: int | None = None, *, in_flight: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers must be at least 1, not {workers}")
        self._workers = workers if workers is not None else default_workers()
        self._in_flight = max(1, in_flight if in_flight is not None else 2 * self._workers)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def started(self) -> bool:
        """Whether the pool of worker processes has been started."""
        return self._pool is not None

    def map_batches(self, func: Callable[[T], R], batches: Iterable[T]) -> Iterator[R]:
        """``func(batch)`` for each batch, in input order; a pool from the second batch on."""
        it = iter(batches)
        head = list(islice(it, 2 if self._workers > 1 else 1))
        if len(head) < 2:  # one batch, or one worker: no pool
            for batch in chain(head, it):
                yield func(batch)
            return
        pool = self._ensure_pool()
        pending: deque[Future[R]] = deque()
        for batch in chain(head, it):
            pending.append(self._submit(pool, func, batch))
            if len(pending) >= self._in_flight:
                yield self._result(pending.popleft())
        while pending:
            yield self._result(pending.popleft())

    def close(self) -> None:
        """Stop the worker processes (idempotent); batches not yet taken are cancelled."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ProcessEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProcessEngine(workers={self._workers})"

    # --- internals ----------------------------------------------------------------------------

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=ctx, initializer=_warm_worker
            )
        return self._pool

    @staticmethod
    def _submit(pool: ProcessPoolExecutor, func: Callable[[T], R], batch: T) -> Future[R]:
        try:
            return pool.submit(func, batch)
        except BrokenProcessPool as exc:
            raise _broken(exc) from exc

    @staticmethod
    def _result(future: Future[R]) -> R:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise _broken(exc) from exc


def _broken(exc: BaseException) -> AnalysisError:
    return AnalysisError(
        f"a worker process died ({exc}); batches already committed stay stored, "
        "re-run the same command to resume"
    )
