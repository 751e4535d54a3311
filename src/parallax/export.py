"""Export the corpus store as flat tables (parquet or csv) for pandas, DuckDB or R.

Tables, one file each:

* ``articles``  -- one row per stored article, with its story and the article it copies;
* ``stories``   -- one row per story with sizes, outlets and publication span;
* ``facts``     -- one row per fact *mention* (story, fact, status, article, offsets, text);
* ``quotes``    -- one row per quote *rendering* (story, quote, speaker, article, fidelity, offsets);
* ``conflicts`` -- one row per conflicting *value* (story, conflict, kind, about, value, articles);
* ``outlets``   -- one row per outlet (and per user-defined outlet group): its profile figures
  (:mod:`parallax.profiles`: blindspots, unique-fact and omission rates, loaded wording, quote fidelity).

Facts, quotes and conflicts come from the reports cached in the store; missing or stale ones are
computed first unless ``compute_missing=False``. Lists (article ids, outlets) are joined with ``;``
so that every column is a scalar in both formats.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from parallax.errors import ConfigError, StoreError
from parallax.store import Store

log = logging.getLogger(__name__)

ExportFormat = Literal["parquet", "csv"]

ARTICLE_COLUMNS = (
    "id",
    "story_id",
    "copy_of",
    "outlet",
    "outlet_source",
    "outlet_raw",
    "title",
    "published",
    "url",
    "author",
    "source_path",
    "record",
    "content_hash",
    "seq",
    "ingested_at",
    "text",
)
STORY_COLUMNS = (
    "id",
    "title",
    "n_articles",
    "independent",
    "copies",
    "outlets",
    "first_published",
    "last_published",
    "version",
)
FACT_COLUMNS = (
    "story_id",
    "fact_id",
    "status",
    "score",
    "n_articles",
    "article",
    "start",
    "end",
    "sentence",
    "text",
)
QUOTE_COLUMNS = (
    "story_id",
    "quote_id",
    "speaker",
    "quote",
    "article",
    "fidelity",
    "start",
    "end",
    "rendering_speaker",
    "cue",
    "text",
)
CONFLICT_COLUMNS = (
    "story_id",
    "conflict_id",
    "kind",
    "about",
    "confidence",
    "value",
    "normalized",
    "articles",
)

#: Outlet profile figures (:meth:`parallax.profiles.OutletProfile.table_row` keys) -> column names.
OUTLET_FIELDS = {
    "name": "name",
    "articles": "n_articles",
    "stories": "n_stories",
    "stories_analysed": "n_stories_analysed",
    "blindspots": "n_blindspots",
    "unique_facts_rate": "unique_facts_rate",
    "omission_rate": "omission_rate",
    "loaded_per_1000_words": "loaded_per_1000_words",
    "verbs_neutral": "verbs_neutral",
    "verbs_loaded": "verbs_loaded",
    "quotes_verbatim": "quotes_verbatim",
    "quotes_spelling": "quotes_spelling",
    "quotes_bracketed": "quotes_bracketed",
    "quotes_trimmed": "quotes_trimmed",
    "quotes_altered": "quotes_altered",
    "voices": "n_voices",
    "conflicts": "n_conflicts",
    "groups": "groups",
}
OUTLET_COLUMNS = tuple(OUTLET_FIELDS.values())

Row = tuple[Any, ...]

_INT_COLUMNS = frozenset(
    {"record", "seq", "start", "end", "sentence", "n_articles", "independent", "copies", "version"}
    | {c for c in OUTLET_COLUMNS if c.startswith(("n_", "verbs_", "quotes_"))}
)
_FLOAT_COLUMNS = frozenset(
    {"score", "confidence", "unique_facts_rate", "omission_rate", "loaded_per_1000_words"}
)


def _article_rows(store: Store) -> Iterator[list[Row]]:
    sql = f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles ORDER BY seq"
    yield from store.iter_query(sql)


def _story_rows(store: Store) -> Iterator[list[Row]]:
    sql = (
        "SELECT id, title, size, independent, size - independent, outlets, first_published, last_published, "
        "version FROM stories ORDER BY created_seq"
    )
    for chunk in store.iter_query(sql):
        yield [(*r[:5], ";".join(json.loads(str(r[5]))), *r[6:]) for r in chunk]


def _report_rows(store: Store, *, compute_missing: bool) -> tuple[list[Row], list[Row], list[Row]]:
    """Facts, quotes and conflicts rows of every story with a (current or computed) report."""
    facts: list[Row] = []
    quotes: list[Row] = []
    conflicts: list[Row] = []
    for story_id in store.story_ids():
        report = store.get_report(story_id) if compute_missing else store.cached_report(story_id)
        if report is None:
            continue
        for f in report.facts:
            for m in f.mentions:
                facts.append(
                    (
                        story_id,
                        f.id,
                        f.status,
                        f.score,
                        len(f.articles),
                        m.article,
                        m.start,
                        m.end,
                        m.sentence,
                        m.text,
                    )
                )
        for q in report.quotes:
            for r in q.renderings:
                quotes.append(
                    (
                        story_id,
                        q.id,
                        q.speaker,
                        q.text,
                        r.article,
                        r.fidelity,
                        r.start,
                        r.end,
                        r.speaker,
                        r.cue,
                        r.text,
                    )
                )
        for c in report.conflicts:
            for v in c.values:
                conflicts.append(
                    (
                        story_id,
                        c.id,
                        c.kind,
                        c.about,
                        c.confidence,
                        v.value,
                        v.normalized,
                        ";".join(v.articles),
                    )
                )
    return facts, quotes, conflicts


def _outlet_rows(store: Store, groups: Mapping[str, Sequence[str]]) -> Iterator[list[Row]]:
    """Outlet profiles (from the profile rows saved with each computed report)."""
    from parallax.profiles import build_profiles

    profiles = build_profiles(store, groups=groups)
    yield [tuple(p.table_row()[key] for key in OUTLET_FIELDS) for p in profiles]


def _write_csv(path: Path, columns: Sequence[str], chunks: Iterator[list[Row]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for chunk in chunks:
            writer.writerows(chunk)
            n += len(chunk)
    return n


def _write_parquet(path: Path, columns: Sequence[str], chunks: Iterator[list[Row]]) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "parquet export needs pyarrow: pip install 'news-parallax[export]', or use --format csv"
        ) from exc
    schema = pa.schema(
        [
            (
                name,
                pa.int64()
                if name in _INT_COLUMNS
                else pa.float64()
                if name in _FLOAT_COLUMNS
                else pa.string(),
            )
            for name in columns
        ]
    )
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in chunks:
            cols = list(zip(*chunk, strict=True)) if chunk else [() for _ in columns]
            arrays = [pa.array(list(values), type=schema.field(i).type) for i, values in enumerate(cols)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(chunk)
    return n


def export(
    store: Store,
    directory: str | Path,
    *,
    fmt: ExportFormat = "parquet",
    compute_missing: bool = True,
    outlet_groups: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, tuple[Path, int]]:
    """Write the six tables to ``directory``; return ``{table: (file, rows)}``.

    1. articles and stories stream straight from the store;
    2. facts, quotes and conflicts are flattened from each story's report (computed when missing
       and ``compute_missing``);
    3. each table goes to ``<directory>/<table>.<fmt>``.
    """
    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"unknown export format {fmt!r}; use parquet or csv")
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{out}: cannot create the export directory ({exc})") from exc
    write = _write_csv if fmt == "csv" else _write_parquet
    # 2. report tables first: computing reports writes the cache, which the store tables do not read
    facts, quotes, conflicts = _report_rows(store, compute_missing=compute_missing)
    tables: list[tuple[str, Sequence[str], Iterator[list[Row]]]] = [
        # 1. store tables
        ("articles", ARTICLE_COLUMNS, _article_rows(store)),
        ("stories", STORY_COLUMNS, _story_rows(store)),
        ("facts", FACT_COLUMNS, iter([facts])),
        ("quotes", QUOTE_COLUMNS, iter([quotes])),
        ("conflicts", CONFLICT_COLUMNS, iter([conflicts])),
        ("outlets", OUTLET_COLUMNS, _outlet_rows(store, outlet_groups or {})),
    ]
    written: dict[str, tuple[Path, int]] = {}
    for name, columns, chunks in tables:
        # 3. one file per table
        path = out / f"{name}.{fmt}"
        written[name] = (path, write(path, columns, chunks))
        log.info("exported %d %s rows to %s", written[name][1], name, path)
    return written
