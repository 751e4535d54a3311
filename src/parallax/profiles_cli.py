"""``parallax outlets``: outlet profiles over the stories in the store (see :mod:`parallax.profiles`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from parallax.cli import db_option, emit, format_option, output_option
from parallax.errors import StoreError
from parallax.store import Store


def _fmt_rate(value: float | None, *, percent: bool = True) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if percent else f"{value:.1f}"


def _table(rows: list[dict[str, object]], analysed: tuple[int, int]) -> str:
    head = f"{'OUTLET':<28} {'ARTS':>6} {'STORIES':>7} {'BLIND':>5} {'UNIQUE':>7} {'OMITS':>6} {'LOADED/1k':>9} {'ALTERED':>7} {'CONFL':>5}"
    lines = [head]
    for r in rows:
        lines.append(
            f"{str(r['name'])[:28]:<28} {r['articles']:>6} {r['stories']:>7} {r['blindspots']:>5} "
            f"{_fmt_rate(r['unique_facts_rate']):>7} {_fmt_rate(r['omission_rate']):>6} "  # type: ignore[arg-type]
            f"{_fmt_rate(r['loaded_per_1000_words'], percent=False):>9} {r['quotes_altered']:>7} {r['conflicts']:>5}"  # type: ignore[arg-type]
        )
    done, total = analysed
    lines.append(
        f"({len(rows)} outlets; rates over {done} of {total} stories with a computed report"
        + ("; `parallax outlets --analyse` computes the rest)" if done < total else ")")
    )
    return "\n".join(lines)


@click.command("outlets")
@db_option
@format_option("table", "json", "csv", default="table")
@click.option("--since", default=None, help="Keep stories published on or after this date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Keep stories published on or before this date (YYYY-MM-DD).")
@click.option("--outlet", "name", default=None, help="Only this outlet, with its evidence (json).")
@click.option(
    "--analyse",
    "analyse",
    type=click.IntRange(0),
    default=None,
    is_flag=False,
    flag_value=-1,
    help="First compute the reports of stories not analysed yet (optionally at most N of them).",
)
@output_option
def outlets_cmd(
    db: Path,
    fmt: str,
    since: str | None,
    until: str | None,
    name: str | None,
    analyse: int | None,
    output: Path | None,
) -> None:
    """Profile each outlet across the stored stories: blindspots, omissions, loaded wording, quotes, voices.

    Coverage and blindspots use every stored story; the rates use the stories whose report has
    been computed (by `parallax report`, the web UI, `parallax export` or `--analyse`).
    Outlet groups (settings `outlet_groups`) get a profile each, after the outlets.
    """
    from parallax.profiles import analyse_missing, build_profiles, parse_day
    from parallax.settings import load_settings

    settings = load_settings()
    since_day = parse_day(since, option="--since")
    until_day = parse_day(until, option="--until")
    if not db.exists():
        raise StoreError(f"{db}: no store here; run `parallax ingest PATH... --db {db}` first")
    with Store(db, readonly=analyse is None) as store:
        if analyse is not None:

            def progress(done: int, total: int) -> None:
                click.echo(f"\ranalysed {done}/{total} stories", nl=done == total, err=True)

            analyse_missing(store, limit=None if analyse < 0 else analyse, progress=progress)
        profiles = build_profiles(
            store, since=since_day, until=until_day, groups=settings.outlet_groups, outlet=name
        )
        total = len(store.story_ids())
        done = total - len(store.stories_without_stats())
    if name is not None and not profiles:
        raise StoreError(f"no outlet named {name!r} in {db}; `parallax outlets` lists them")
    if fmt == "json":
        data = {
            "outlets": [p.to_json(evidence=name is not None) for p in profiles],
            "stories": total,
            "stories_analysed": done,
        }
        emit(json.dumps(data, indent=2, ensure_ascii=False), output)
        return
    rows = [p.table_row() for p in profiles]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["name"])
        writer.writeheader()
        writer.writerows(rows)
        emit(buf.getvalue(), output)
        return
    emit(_table(rows, (done, total)), output)
