"""Corpus-mode commands: ``parallax ingest``, ``stories``, ``report`` and ``export``.

Thin click wrappers over :mod:`parallax.corpus`, :mod:`parallax.store` and :mod:`parallax.export`;
only this module prints.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import click

from parallax.cli import db_option, emit, exit_codes_help, format_option, outlet_option, output_option
from parallax.corpus import IngestProgress, IngestSummary, ingest
from parallax.engine import engine_options, make_engine
from parallax.errors import NoUsableInputError, StoreError, safe_text
from parallax.settings import load_settings
from parallax.store import Store, StorySummary


class _Progress:
    """Periodic one-line progress on stderr (every ``every`` seconds), for long ingests."""

    def __init__(self, *, every: float = 2.0) -> None:
        self.every = every
        self._last = time.perf_counter()

    def __call__(self, p: IngestProgress) -> None:
        now = time.perf_counter()
        if now - self._last < self.every:
            return
        self._last = now
        rate = p.seen / p.elapsed if p.elapsed > 0 else 0.0
        click.echo(
            f"... {p.seen:,} read: {p.added:,} added ({p.copies:,} copies), {p.duplicates:,} already stored, "
            f"{p.skipped:,} skipped - {rate:,.0f}/s",
            err=True,
        )


@click.command("ingest", epilog=exit_codes_help(writes_store=True))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@click.option("--strict", is_flag=True, help="Stop at the first bad input (exit 4) instead of skipping it.")
@click.option(
    "--wait",
    "wait",
    type=click.FloatRange(0.0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another writer of the store to finish (0: refuse at once, exit 5).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Articles per transaction.",
)
@click.option(
    "--checkpoint-seconds",
    type=click.FloatRange(0.0),
    default=30.0,
    show_default=True,
    help="How often the dedup/clustering state is saved (a crash replays at most this much).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@outlet_option
@engine_options
def ingest_cmd(
    paths: tuple[Path, ...],
    db: Path,
    strict: bool,
    wait: float,
    batch_size: int,
    checkpoint_seconds: float,
    as_json: bool,
    outlet: str | None,
    engine: str,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Add the articles in PATHS (files, directories, globs; JSON/JSONL, HTML, text, WARC, RSS/Atom) to the store.

    Idempotent (an article already stored is skipped by content hash) and resumable after a crash.
    Near-duplicate copies are grouped under their original; articles are clustered into stories.
    One writer at a time: a second ingest (or the server adding articles) refuses or waits (--wait).
    Bad files and records are skipped with their reason (listed below the summary and kept in the
    store's `skipped` table); see docs/guarantees.md.
    """
    settings = load_settings(db=str(db), outlet=outlet)
    # The inline path (no engine) featurizes only articles not yet stored; an engine does whole batches.
    runner = (
        None
        if (engine, scheduler, workers) == ("local", None, None)
        else make_engine(engine, scheduler=scheduler, workers=workers)
    )
    with Store(db) as store, contextlib.ExitStack() as stack:
        if runner is not None:
            stack.enter_context(runner)
        summary = ingest(
            list(paths),
            store=store,
            settings=settings,
            batch_size=batch_size,
            strict=strict,
            checkpoint_seconds=checkpoint_seconds,
            progress=_Progress() if sys.stderr.isatty() or summary_wanted() else None,
            engine=runner,
            lock_wait=wait,
            on_wait=lambda message: click.echo(message, err=True),
        )
        total = store.count_articles()
    if as_json:
        click.echo(json.dumps({**summary.to_json(), "articles_in_store": total}, indent=2))
    else:
        _print_summary(db, summary, total)
    if summary.added + summary.duplicates == 0:
        raise NoUsableInputError(
            f"nothing usable was ingested: {sum(summary.skipped.values()):,} input(s) skipped, none stored",
            path=db,
        )


def _print_summary(db: Path, summary: IngestSummary, total: int) -> None:
    click.echo(
        f"{safe_text(str(db))}: added {summary.added:,} articles ({summary.copies:,} near-duplicate copies), "
        f"{summary.duplicates:,} already stored, {sum(summary.skipped.values()):,} skipped; "
        f"{summary.stories_created:,} new stories, {summary.merges:,} merges; "
        f"{total:,} articles in the store ({summary.seconds:.1f} s)"
    )
    for reason, count in sorted(summary.skipped.items()):
        click.echo(f"  skipped {count:,} x {reason}")
    for example in summary.skipped_examples[:10]:
        click.echo(f"    e.g. {example}", err=True)


def summary_wanted() -> bool:
    """Progress lines also go to a non-terminal stderr when PARALLAX_PROGRESS=1 (CI logs)."""
    import os

    return os.environ.get("PARALLAX_PROGRESS") == "1"


def _existing_store(db: Path) -> Store:
    """A writable store that must already exist (report/export cache into it but never create it)."""
    if not db.exists():
        raise StoreError(f"{db}: no store here; run `parallax ingest PATH... --db {db}` first")
    return Store(db)


def _table(stories: list[StorySummary], total: int) -> str:
    lines = [f"{'STORY':<16} {'ARTS':>5} {'COPIES':>6} {'FIRST':<10} {'LAST':<10} {'OUTLETS':<28} TITLE"]
    for s in stories:
        outlets = ", ".join(s.outlets)
        outlets = outlets if len(outlets) <= 28 else outlets[:25] + "..."
        lines.append(
            f"{s.id:<16} {len(s.articles):>5} {s.copies:>6} {(s.first_published or '')[:10]:<10} "
            f"{(s.last_published or '')[:10]:<10} {outlets:<28} {s.title[:70]}"
        )
    lines.append(f"({len(stories)} of {total} stories)")
    return "\n".join(lines)


@click.command("stories")
@db_option
@format_option("table", "json", default="table")
@click.option(
    "--limit", type=click.IntRange(0), default=50, show_default=True, help="Stories to list (0: all of them)."
)
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many stories first.")
@click.option("--query", default=None, help="Keep stories whose (article) titles contain this text.")
@click.option("--outlet", default=None, help="Keep stories this outlet covered.")
@click.option("--sort", type=click.Choice(["recent", "size"]), default="recent", show_default=True)
@output_option
def stories_cmd(
    db: Path,
    fmt: str,
    limit: int,
    offset: int,
    query: str | None,
    outlet: str | None,
    sort: str,
    output: Path | None,
) -> None:
    """List the stories in the store."""
    with Store(db, readonly=True) as store:
        stories, total = store.list_stories(
            query=query,
            outlet=outlet,
            sort="size" if sort == "size" else "recent",
            limit=limit or None,
            offset=offset,
        )
    if fmt == "json":
        emit(
            json.dumps(
                {"stories": [s.to_json() for s in stories], "total": total}, indent=2, ensure_ascii=False
            ),
            output,
        )
    else:
        emit(_table(stories, total), output)


@click.command("report")
@click.argument("story_id")
@db_option
@format_option("json", "md", "html")
@output_option
def report_cmd(story_id: str, db: Path, fmt: str, output: Path | None) -> None:
    """Print the StoryReport of STORY_ID (cached in the store; recomputed when the story changed)."""
    from parallax.render import render

    with _existing_store(db) as store:
        report = store.get_report(story_id)
    emit(render(report, fmt), output)


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@db_option
@format_option("parquet", "csv", default="parquet")
@click.option("--no-compute", is_flag=True, help="Export facts/quotes/conflicts only from cached reports.")
def export_cmd(directory: Path, db: Path, fmt: str, no_compute: bool) -> None:
    """Write articles, stories, facts, quotes, conflicts and outlets tables to DIRECTORY (parquet or csv)."""
    from parallax.export import export
    from parallax.settings import load_settings

    with _existing_store(db) as store:
        written = export(
            store,
            directory,
            fmt="csv" if fmt == "csv" else "parquet",
            compute_missing=not no_compute,
            outlet_groups=load_settings().outlet_groups,
        )
    for table, (path, rows) in written.items():
        click.echo(f"{table}: {rows:,} rows -> {path}")
