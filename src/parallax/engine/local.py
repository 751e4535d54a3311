"""The in-process engine, and the per-process resource cache shared by every engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_RESOURCES: dict[str, Any] = {}
_LOCK = threading.Lock()


def per_process(key: str, factory: Callable[[], T]) -> T:
    """The resource cached under ``key`` in this process, built by ``factory`` on first use.

    Heavy things a task needs (a spaCy pipeline, an embedder, compiled tables) are loaded once
    per worker process, not once per batch or per article: a task calls
    ``per_process("spacy", load_spacy)`` and gets the already loaded object after the first call.
    """
    with _LOCK:
        if key not in _RESOURCES:
            _RESOURCES[key] = factory()
        value: T = _RESOURCES[key]
        return value


def warm_ingest_tables() -> None:
    """Import the ingest modules and build their tables (MinHash permutations, feature caches),
    so that a worker's first batch pays nothing extra. Every engine with workers runs it once
    per worker process."""
    from parallax.dedup import minhash_signature
    from parallax.features import ClusterDoc, extract_features

    minhash_signature("warm up the permutation tables", num_perm=128)
    extract_features(ClusterDoc(id="warm-up", text="Warm up the feature tables.", title="Warm up"))


class LocalEngine:
    """Runs each batch in this process, lazily, when the consumer asks for its result.

    The reference engine: one batch in memory at a time and no serialisation.
    """

    name = "local"

    @property
    def workers(self) -> int:
        return 1

    def map_batches(self, func: Callable[[T], R], batches: Iterable[T]) -> Iterator[R]:
        """``func(batch)`` for each batch, computed when requested, in input order."""
        return (func(batch) for batch in batches)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "LocalEngine()"
