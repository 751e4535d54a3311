"""Quality gates: floors per evaluation, kept in ``baselines/<name>.json`` at the repository root.

A baseline file maps metric names to floors::

    {"floors": {"f1": 0.61, "speaker_accuracy": 0.70}, "command": "parallax eval quotes ..."}

``check_floors`` compares measured figures against the floors. Floors are raised by hand when
the code gets better and never lowered silently (a lowered floor shows in review as a diff of
this file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from parallax.errors import EvaluationError

BASELINE_DIR = Path(__file__).resolve().parents[3] / "baselines"


def load_floors(name: str, *, directory: Path | None = None) -> dict[str, float]:
    """The floors of evaluation ``name``."""
    path = (directory or BASELINE_DIR) / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvaluationError(f"{path}: cannot read baseline: {exc}") from exc
    floors = data.get("floors")
    if not isinstance(floors, dict):
        raise EvaluationError(f"{path}: no 'floors' object")
    return {str(k): float(v) for k, v in floors.items()}


def check_floors(measured: Mapping[str, float], floors: Mapping[str, float]) -> list[str]:
    """One message per metric below its floor (or missing); empty when all pass."""
    failures = []
    for key, floor in floors.items():
        value = measured.get(key)
        if value is None:
            failures.append(f"{key}: not measured (floor {floor})")
        elif value + 1e-9 < floor:
            failures.append(f"{key}: {value:.4f} below floor {floor:.4f}")
    return failures
