"""Parallax: how different news outlets cover the same event, claim by claim, with evidence.

The public API is small; everything else lives in private-by-convention stage modules::

    from parallax import compare
    result = compare(["examples/"])
    print(result.report.summary[0].text)
"""

from __future__ import annotations

__version__ = "0.1.0"

from parallax.errors import (
    AnalysisError,
    ConfigError,
    EvaluationError,
    InputError,
    NotFoundError,
    ParallaxError,
    StoreError,
)
from parallax.report import SCHEMA_VERSION, StoryReport, json_schema
from parallax.settings import Settings, load_settings

_LAZY = {"CompareResult", "Parallax", "compare"}


def __getattr__(name: str) -> object:
    # The pipeline pulls in every stage; import it on first use so ``import parallax`` stays light.
    if name in _LAZY:
        from parallax import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'parallax' has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "AnalysisError",
    "CompareResult",
    "ConfigError",
    "EvaluationError",
    "InputError",
    "NotFoundError",
    "Parallax",
    "ParallaxError",
    "Settings",
    "StoreError",
    "StoryReport",
    "__version__",
    "compare",
    "json_schema",
    "load_settings",
]
