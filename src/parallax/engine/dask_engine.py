"""The Dask engine: batches run on the worker processes of a ``dask.distributed`` cluster.

What runs where (see ``docs/dask.md``):

* the driver reads the input stream, cuts it into batches and submits each batch as one task;
  the batch travels *inside* the task (not ``scatter``-ed), so the scheduler can re-run it on
  another worker when the one holding it dies;
* workers run the task function (for ingest: clean, hash, MinHash signature, clustering
  features) with their resources loaded once per process (:class:`WarmUp`,
  :func:`parallax.engine.per_process`);
* the driver takes the results back **in input order** and does the sequential part.

At most ``in_flight`` batches are submitted ahead of the consumer (backpressure): memory stays
bounded on any stream, and workers stay busy while the driver commits.

Worker loss: the scheduler re-runs the tasks of a lost worker elsewhere (up to Dask's
``distributed.scheduler.allowed-failures`` times). Results are only consumed in input order
and the task function is pure, so a re-run batch yields the same result, in the same place of
the sequence: nothing is lost or duplicated. A batch that kills worker after worker raises
:class:`~parallax.errors.AnalysisError` naming it; everything committed before it stays.
"""

from __future__ import annotations

import copyreg
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from distributed import Client, Future, KilledWorker, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from parallax.errors import AnalysisError, ConfigError, InputError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Seconds to wait for a scheduler (and its first worker) before giving up.
CONNECT_TIMEOUT = 30.0


def warm_worker() -> str:
    """Import the ingest modules and build their tables, so the first batch pays nothing extra.

    Returns the Parallax version of the process (the driver checks it matches its own).
    """
    import parallax
    from parallax.engine.local import warm_ingest_tables

    warm_ingest_tables()
    return parallax.__version__


class WarmUp(WorkerPlugin):
    """Runs :func:`warm_worker` on every worker, including the ones that join (or restart) later."""

    name = "parallax-warm-up"

    def setup(self, worker: Any) -> None:
        warm_worker()


class DaskEngine:
    """Runs batches on a ``dask.distributed`` cluster; results come back in input order.

    ``scheduler`` joins an existing cluster; otherwise a local cluster of ``workers`` (default:
    one per core) single-threaded worker processes is started for the engine's lifetime (the
    per-document work is pure Python: threads would share one interpreter lock). ``in_flight``
    bounds the batches submitted ahead of the consumer (default: twice the workers, at least 2).
    ``retries`` re-runs a batch whose task raised (a transient error); a lost worker is handled
    by the scheduler regardless. ``timeout`` bounds the wait for the scheduler and a first worker.
    """

    name = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int | None = None,
        in_flight: int | None = None,
        retries: int = 1,
        timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        if scheduler is not None and workers is not None:
            raise ConfigError(
                "give either --scheduler (join a cluster) or --workers (start a local one), not both"
            )
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers must be at least 1, not {workers}")
        self.scheduler = scheduler
        self.retries = retries
        self.timeout = timeout
        self._in_flight = in_flight
        self._cluster: LocalCluster | None = None
        if scheduler is None:
            n = workers or os.cpu_count() or 1
            self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: never clash with another cluster
                silence_logs=logging.WARNING,
            )
            self.address: str = self._cluster.scheduler_address
            self.client = Client(self._cluster, set_as_default=False)  # type: ignore[no-untyped-call]
        else:
            self.address = scheduler
            try:
                self.client = Client(  # type: ignore[no-untyped-call]
                    scheduler, timeout=timeout, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address, "
                    "or start one with `dask scheduler` and `dask worker ADDRESS`"
                ) from exc
        try:
            self._prepare_workers()
        except BaseException:
            self.close()
            raise
        log.info("dask engine ready: %d workers (%s)", self.workers, self.address)

    def _prepare_workers(self) -> None:
        """Wait for a first worker, install :class:`WarmUp`, check every worker's Parallax."""
        try:
            self.client.wait_for_workers(1, timeout=self.timeout)
        except TimeoutError as exc:
            raise ConfigError(
                f"the Dask cluster at {self.address} has no worker after "
                f"{self.timeout:.0f} s; start some with `dask worker ADDRESS`"
            ) from exc
        import parallax

        self.client.register_plugin(WarmUp(), name=WarmUp.name)
        try:
            versions = self.client.run(warm_worker)
        except ImportError as exc:
            raise ConfigError(
                f"Dask workers cannot import Parallax ({exc}); install the same version "
                f"({parallax.__version__}) in every worker's environment"
            ) from exc
        wrong = {addr: v for addr, v in versions.items() if v != parallax.__version__}
        if wrong:
            raise ConfigError(
                f"Dask workers run other Parallax versions than the driver ({parallax.__version__}): "
                f"{wrong}; install the same version everywhere"
            )

    @property
    def workers(self) -> int:
        """Workers connected now."""
        return len(self.client.scheduler_info().get("workers", {}))

    def worker_pids(self) -> dict[str, int]:
        """``{worker address: process id}`` (used to kill a worker in the fault tests)."""
        pids: dict[str, int] = self.client.run(os.getpid)
        return pids

    def map_batches(self, func: Callable[[T], R], batches: Iterable[T]) -> Generator[R, None, None]:
        """``func(batch)`` for each batch on the workers, yielded in input order.

        1. Submit batches until ``in_flight`` are pending (each one task carrying its batch).
        2. Wait for the *oldest* pending task, yield its result, submit the next batch.
        3. When the consumer stops early (or fails), cancel what is still pending.
        """
        name = getattr(getattr(func, "func", func), "__name__", "task")  # a partial names its function
        prefix = f"parallax-{name}-{uuid.uuid4().hex[:8]}"
        limit = self._in_flight or max(2, 2 * self.workers)
        pending: deque[tuple[int, Future[R]]] = deque()
        try:
            for i, batch in enumerate(batches):
                # 1. submit, bounded
                future = self.client.submit(
                    func, batch, key=f"{prefix}-{i}", pure=False, retries=self.retries
                )
                pending.append((i, future))
                # 2. in order
                if len(pending) >= limit:
                    yield self._result(*pending.popleft())
            while pending:
                yield self._result(*pending.popleft())
        finally:
            # 3. cancel leftovers
            if pending:
                self.client.cancel([f for _, f in pending])  # type: ignore[no-untyped-call]

    def _result(self, index: int, future: Future[R]) -> R:
        try:
            return future.result()
        except KilledWorker as exc:
            raise AnalysisError(
                f"batch {index} (task {future.key}) killed every worker that ran it ({exc}); "
                "it probably holds an article too large for a worker's memory: lower "
                "max_article_chars or the batch size, then re-run (stored batches are kept)"
            ) from exc

    def close(self) -> None:
        """Close the client, and the local cluster when this engine started it."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.scheduler or f"local cluster of {len(self._cluster.workers) if self._cluster else 0}"
        return f"DaskEngine({where})"


# --- input errors cross process boundaries ---------------------------------------------------
# ``InputError.__init__`` takes keyword arguments and builds its message from them; pickle's
# default ``Exception`` reduction replays only ``args`` (the finished message), which prefixes
# the location a second time. Reduce to the constructor's own arguments instead.


def _rebuild_input_error(
    cls: type[InputError], detail: str, path: str | None, line: int | None, record: str | None
) -> InputError:
    return cls(detail, path=path, line=line, record=record)


def _reduce_input_error(err: InputError) -> tuple[Any, ...]:
    return (_rebuild_input_error, (type(err), err.detail, err.path, err.line, err.record))


def _register_input_errors() -> None:
    todo: list[type[InputError]] = [InputError]
    while todo:
        cls = todo.pop()
        copyreg.pickle(cls, _reduce_input_error)
        todo.extend(cls.__subclasses__())


_register_input_errors()
