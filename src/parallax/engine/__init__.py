"""Engines: where the pure per-batch work of corpus ingest runs.

Corpus ingest splits into a pure, per-document half (clean, hash, MinHash signature, clustering
features) and a sequential half on the driver (duplicate checks, near-duplicate index, story
clusterer, store writes). An :class:`Engine` runs the first half; it has one verb,
:meth:`Engine.map_batches`, which applies a picklable function to each batch and yields the
results **in input order**. Because the driver consumes them in that order, the sequential half
sees exactly the same sequence whatever the engine and the number of workers, so the stories are
identical.

* :class:`LocalEngine` -- in this process, lazily, one batch at a time (the library default);
* :class:`ProcessEngine` -- on a pool of worker processes of this machine, one per core (what
  ``parallax ingest`` uses by default);
* :class:`DaskEngine` -- on a ``dask.distributed`` cluster: a local one started for the run
  (``workers=N``) or an existing one (``scheduler="tcp://host:8786"``). Needs the ``dask`` extra.

:func:`make_engine` builds one from CLI-style options and :func:`engine_options` is the reusable
click decorator adding ``--engine/--scheduler/--workers`` to a command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import click

from parallax.engine.local import LocalEngine, per_process
from parallax.engine.processes import ProcessEngine
from parallax.errors import ConfigError, InputError
from parallax.records import RawDocument
from parallax.settings import Settings

if TYPE_CHECKING:
    from parallax.engine.dask_engine import DaskEngine

__all__ = [
    "ENGINES",
    "Engine",
    "LocalEngine",
    "ProcessEngine",
    "engine_options",
    "iter_documents_on",
    "make_engine",
    "per_process",
    "read_file",
    "read_files",
]

T = TypeVar("T")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

#: Engine names accepted by :func:`make_engine` and ``--engine``.
ENGINES = ("local", "processes", "dask")


@runtime_checkable
class Engine(Protocol):
    """Runs a pure function over batches, possibly elsewhere, yielding results in input order.

    ``func`` must be picklable (a module-level function or a ``functools.partial`` of one) and
    free of side effects: an engine may run it more than once for one batch (a lost worker).
    ``batches`` is consumed lazily, at most a bounded number of batches ahead of the consumer,
    so a stream of any length runs in bounded memory.
    """

    name: str

    @property
    def workers(self) -> int:
        """How many batches can run at once."""
        ...

    def map_batches(self, func: Callable[[T], R], batches: Iterable[T]) -> Iterator[R]:
        """``func(batch)`` for each batch, in input order."""
        ...

    def close(self) -> None:
        """Release workers and connections (idempotent)."""
        ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...


#: Formats read on workers by :func:`iter_documents_on`: one document per file, costly to parse.
REMOTE_FORMATS = frozenset({"html", "text"})
#: Files per reading task.
FILES_PER_TASK = 16


def read_file(path: Path, *, settings: Settings) -> Iterator[RawDocument | InputError]:
    """The documents of one file (ids not yet made unique), or the error standing for it; streamed."""
    from parallax.ingest import _read_file

    try:
        yield from _read_file(path, settings)
    except InputError as exc:
        yield exc
    except OSError as exc:
        yield InputError(f"cannot read the file ({exc.strerror or exc}); check its permissions", path=path)


def read_files(paths: Sequence[Path], *, settings: Settings) -> list[list[RawDocument | InputError] | None]:
    """:func:`read_file` of each of ``paths``; ``None`` for a file this process cannot see. Pure.

    Runs on workers: on a cluster without a shared file system the driver reads the ``None`` ones.
    """
    return [list(read_file(p, settings=settings)) if p.is_file() else None for p in paths]


def iter_documents_on(
    engine: Engine, paths: Iterable[str | Path], *, settings: Settings, files_per_task: int = FILES_PER_TASK
) -> Iterator[RawDocument | InputError]:
    """:func:`parallax.ingest.iter_documents`, with whole-file HTML and text reading on ``engine``.

    The same documents, ids and errors in the same order as reading here: HTML extraction
    (trafilatura) dominates reading a directory of pages, so those files are read on workers,
    ``files_per_task`` per task; streamed formats (JSONL, WARC) and multi-document files
    (JSON, feeds) are read here, in their turn, as is a file a worker cannot see.

    1. Expand the paths; group consecutive HTML/text files into tasks, others stand alone.
    2. Map :func:`read_files` over the tasks, in input order (a stand-alone file is read here).
    3. Make ids unique, in input order.
    """
    from parallax.ingest import _expand, _format_of, _unique

    # 1. segments: (files for a worker, None) or ([], the item to handle here)
    def segments() -> Iterator[tuple[list[Path], Path | InputError | None]]:
        group: list[Path] = []
        for item in _expand(paths):
            if isinstance(item, Path) and _format_of(item)[0] in REMOTE_FORMATS:
                group.append(item)
                if len(group) >= files_per_task:
                    yield group, None
                    group = []
                continue
            if group:
                yield group, None
                group = []
            yield [], item
        if group:
            yield group, None

    seen: set[str] = set()
    task = functools.partial(_read_segment, settings=settings)
    # 2. in input order; each task carries its segment back
    for (files, here), per_file in engine.map_batches(task, segments()):
        if isinstance(here, InputError):
            yield here
            continue
        docs: Iterable[RawDocument | InputError]
        for path, read in zip([here] if here is not None else files, per_file, strict=True):
            docs = read if read is not None else read_file(path, settings=settings)
            # 3. unique ids
            for doc in docs:
                yield _unique(doc, seen) if isinstance(doc, RawDocument) else doc


def _read_segment(
    segment: tuple[list[Path], Path | InputError | None], *, settings: Settings
) -> tuple[tuple[list[Path], Path | InputError | None], list[list[RawDocument | InputError] | None]]:
    files, here = segment
    return segment, read_files(files, settings=settings) if files else [None] * (here is not None)


def make_engine(name: str = "local", *, scheduler: str | None = None, workers: int | None = None) -> Engine:
    """The engine called ``name``.

    ``workers`` applies to ``"processes"`` (default: one per core) and ``"dask"``; ``scheduler``
    to ``"dask"`` only. Raises :class:`ConfigError` for an unknown name, for options the engine
    does not take, and when Dask is not installed or the scheduler cannot be reached.
    """
    if name == "local":
        if scheduler is not None or workers not in (None, 1):
            raise ConfigError(
                "--scheduler and --workers do not apply to the local engine; "
                "use --engine processes or --engine dask, or drop them"
            )
        return LocalEngine()
    if name == "processes":
        if scheduler is not None:
            raise ConfigError("--scheduler applies to the dask engine only; add --engine dask or drop it")
        return ProcessEngine(workers=workers)
    if name == "dask":
        return _dask_engine(scheduler=scheduler, workers=workers)
    raise ConfigError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


def _dask_engine(*, scheduler: str | None, workers: int | None) -> DaskEngine:
    try:
        from parallax.engine.dask_engine import DaskEngine
    except ImportError as exc:  # the optional extra is missing
        raise ConfigError(
            f"the dask engine needs dask.distributed ({exc}); install it with `pip install 'news-parallax[dask]'`"
        ) from exc
    return DaskEngine(scheduler=scheduler, workers=workers)


def engine_options(func: F) -> F:
    """Click options ``--engine``, ``--scheduler`` and ``--workers`` (passed as keyword arguments)."""
    func = click.option(
        "--workers",
        type=click.IntRange(1, 1024),
        default=None,
        help="Worker processes of the processes engine, or of the local Dask cluster started by the "
        "dask engine (default: one per core).",
    )(func)
    func = click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask engine: join the existing cluster whose scheduler is at ADDRESS (tcp://host:8786).",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="processes",
        show_default=True,
        help="Where HTML/text reading, cleaning, signatures and features run: this process (local), "
        "worker processes of this machine (processes), or a Dask cluster (dask).",
    )(func)
