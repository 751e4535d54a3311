"""Module-level task functions for the engine tests: picklable by name, so worker processes
(Dask's, the process pool's, a subprocess's) can run them."""

from __future__ import annotations

import os


def square_all(batch: list[int]) -> list[int]:
    return [x * x for x in batch]


def fail_on(bad: int, batch: list[int]) -> list[int]:
    if bad in batch:
        raise ValueError(f"bad value {bad}")
    return batch


def pid_of(batch: list[int]) -> int:
    """The process that ran the batch."""
    return os.getpid()
