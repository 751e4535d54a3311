"""One name per outlet: the shipped table, the resolve cascade, user files, and the shared data."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from parallax.clean import clean_document
from parallax.errors import ConfigError
from parallax.ingest import read_paths
from parallax.outlets import (
    Outlet,
    OutletTable,
    default_table,
    is_unknown,
    outlet_id,
    outlet_key,
    parse_table,
    table_for,
    unknown_outlet,
)
from parallax.records import RawDocument
from parallax.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_shipped_table_is_large_and_has_no_clashes() -> None:
    text = (Path(__file__).parents[1] / "src" / "parallax" / "data" / "outlets.tsv").read_text(
        encoding="utf-8"
    )
    rows = parse_table(text, path="outlets.tsv")
    assert len(rows) >= 300
    owners: defaultdict[str, set[str]] = defaultdict(set)
    for row in rows:
        for form in (row.name, *row.aliases, *row.domains):
            owners[outlet_key(form)].add(row.name)
    clashes = {k: v for k, v in owners.items() if len(v) > 1}
    assert clashes == {}, "one form may point at one outlet only"
    assert len({r.name for r in rows}) == len(rows), "one row per outlet"


@pytest.mark.parametrize(
    ("raw", "source", "url", "expected"),
    [
        ("fox", "input", None, "Fox News"),
        ("FOX", "input", None, "Fox News"),
        ("Fox News", "input", None, "Fox News"),
        ("foxnews.com", "url", None, "Fox News"),
        ("latino.foxnews.com", "url", None, "Fox News"),
        ("FoxNews.com", "html", None, "Fox News"),
        ("Fox News (Opinion)", "input", None, "Fox News"),
        ("hpo", "input", None, "HuffPost"),
        ("The Huffington Post", "input", None, "HuffPost"),
        ("nyt", "input", None, "The New York Times"),
        ("New York Times", "input", None, "The New York Times"),
        ("wash-post", "input", None, "The Washington Post"),
        ("usa-today", "input", None, "USA Today"),
        (None, None, "http://thecaucus.blogs.nytimes.com/2012/x", "The New York Times"),
        ("Daily Planet", "input", None, "Daily Planet"),  # unknown to the table: kept
        ("DAILY PLANET", "input", None, "Daily Planet"),  # shouting folded
        ("KQED", "input", None, "KQED"),
        ("planet.example", "url", None, "planet.example"),
        ("Reuters", "credit", None, "Reuters"),
        ("nyt", "filename", None, "The New York Times"),  # a file named after its outlet
    ],
)
def test_resolve(raw: str | None, source: str | None, url: str | None, expected: str) -> None:
    assert default_table().resolve(raw, source=source, url=url).name == expected


@pytest.mark.parametrize("raw", ["001_00d09475fcb2e337", "a3b39ae37085ce36", "story-7", None])
def test_unknown_outlets_never_show_the_raw_form(raw: str | None) -> None:
    settled = default_table().resolve(raw, source="filename" if raw else None)
    assert is_unknown(settled.name) and settled.name.startswith("Unknown outlet ")
    assert raw is None or raw not in settled.name
    assert settled == unknown_outlet(raw)


def test_opaque_input_ids_are_unknown_but_a_url_names_the_outlet() -> None:
    table = default_table()
    assert is_unknown(table.resolve("doc_1234", source="input").name)
    assert table.resolve("doc_1234", source="input", url="https://www.usatoday.com/x").name == "USA Today"


def test_unknown_tags_differ() -> None:
    assert unknown_outlet("a.txt").name != unknown_outlet("b.txt").name


def test_override_wins_and_is_looked_up() -> None:
    settled = default_table().resolve("nyt", source="input", override="fox")
    assert (settled.name, settled.raw) == ("Fox News", "nyt")
    assert default_table().resolve(None, override="My Blog").name == "My Blog"


def test_outlet_id_slug() -> None:
    assert outlet_id("The New York Times") == "the-new-york-times"
    assert outlet_id("Le Monde diplomatique") == "le-monde-diplomatique"


def test_user_file_extends_and_overrides(tmp_path: Path) -> None:
    tsv = tmp_path / "outlets.tsv"
    tsv.write_text(
        "name\taliases\tdomains\n# ours\nDaily Planet\tplanet|dp\tdailyplanet.example\nFOX NEWS CHANNEL\tfox\t\n",
        encoding="utf-8",
    )
    table = table_for(str(tsv))
    assert table.resolve("dp", source="input").name == "Daily Planet"
    assert table.resolve(None, url="https://news.dailyplanet.example/a").name == "Daily Planet"
    assert table.resolve("fox", source="input").name == "FOX NEWS CHANNEL"  # the user's row wins
    assert table.resolve("nyt", source="input").name == "The New York Times"  # the rest is kept
    js = tmp_path / "outlets.json"
    js.write_text(
        json.dumps([{"name": "Daily Planet", "aliases": ["planet"], "domains": []}]), encoding="utf-8"
    )
    assert table_for(str(js)).resolve("PLANET", source="input").name == "Daily Planet"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name\taliases\tdomains\n\tx\ty\n", "line 2"),
        ("a\tb\tc\td\n", "line 1"),
        ('[{"aliases": []}]', "outlet 1"),
        ("[{", "not valid JSON"),
    ],
)
def test_bad_user_file_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        table_for(str(path))
    assert str(path) in str(info.value)


def test_missing_user_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the outlets file"):
        table_for(str(tmp_path / "absent.tsv"))


def test_later_rows_override_earlier_ones() -> None:
    table = OutletTable([Outlet("A", ("x",)), Outlet("B", ("x",))])
    assert table.canonical("x") == "B"
    assert table.canonical("unlisted") == "unlisted"


def test_clean_keeps_the_raw_form() -> None:
    doc = RawDocument(
        source_path="in/a.jsonl", text="Body of the article.", id="a", outlet="FOX", outlet_source="input"
    )
    art = clean_document(doc)
    assert (art.outlet, art.outlet_raw, art.outlet_id) == ("Fox News", "FOX", "fox-news")
    same = clean_document(RawDocument(source_path="in/b.txt", text="Body.", id="b", outlet="Fox News"))
    assert (same.outlet, same.outlet_raw) == ("Fox News", None)
    forced = clean_document(doc, outlet_override="Daily Planet")
    assert (forced.outlet, forced.outlet_source, forced.outlet_raw) == ("Daily Planet", "user", "FOX")


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not available")
def test_shared_data_has_one_name_per_outlet() -> None:
    """After reading BASIL, NewsWCL50 and the seeds, no outlet appears under two names: no two
    names share a folded key or a web domain, and BASIL's fox/FOX/hpo/nyt are three outlets."""
    paths = [
        SHARED / "clustering" / "basil-2010-2015.jsonl",
        SHARED / "newswcl50" / "newswcl50-events-0-4.jsonl",
        SHARED / "seeds",
    ]
    settings = Settings()
    result = read_paths(paths, settings=settings)
    assert not result.errors
    names: defaultdict[str, set[str]] = defaultdict(set)  # name -> domains
    basil: set[str] = set()
    for doc in result.documents:
        art = clean_document(doc)
        assert art.outlet != art.source_path and Path(art.source_path).stem not in art.outlet
        names[art.outlet].add(_domain(art.url))
        if "basil" in art.source_path:
            basil.add(art.outlet)
    assert basil == {"Fox News", "HuffPost", "The New York Times"}
    keys = defaultdict(set)
    for name in names:
        keys[outlet_key(name)].add(name)
    assert all(len(v) == 1 for v in keys.values())
    owners: defaultdict[str, set[str]] = defaultdict(set)
    for name, domains in names.items():
        for d in domains - {""}:
            owners[d].add(name)
    assert {d: v for d, v in owners.items() if len(v) > 1} == {}


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not available")
def test_polnear_publishers_are_known() -> None:
    with (SHARED / "polnear" / "metadata.tsv").open(encoding="utf-8") as fh:
        publishers = {row["publisher"] for row in csv.DictReader(fh, delimiter="\t")} - {"parc"}
    table = default_table()
    assert {p: table.lookup(p) is not None for p in publishers} == dict.fromkeys(publishers, True)


def _domain(url: str | None) -> str:
    from parallax.outlets import host_of

    host = host_of(url) or ""
    return ".".join(host.split(".")[-2:])


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not available")
def test_ingesting_basil_and_the_seeds_gives_one_name_per_outlet(tmp_path: Path) -> None:
    """Corpus mode end to end: the store, the story list and the outlet filter use canonical names."""
    from click.testing import CliRunner

    from parallax.cli import cli
    from parallax.store import Store

    db = tmp_path / "p.db"
    paths = [str(SHARED / "clustering" / "basil-2010-2015.jsonl"), str(SHARED / "seeds")]
    result = CliRunner().invoke(cli, ["ingest", *paths, "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        stored = {str(r[0]) for r in store.execute("SELECT DISTINCT outlet FROM articles")}
        raw = {
            str(r[0])
            for r in store.execute("SELECT DISTINCT outlet_raw FROM articles WHERE outlet_raw IS NOT NULL")
        }
        stories, _ = store.list_stories(limit=1000)
        listed = {o for s in stories for o in s.outlets}
        by_alias, _ = store.list_stories(outlet="fox", limit=1000)
        by_name, _ = store.list_stories(outlet="Fox News", limit=1000)
    known = {"Fox News", "HuffPost", "The New York Times"}
    assert listed == stored
    assert stored - known == {n for n in stored if is_unknown(n)} and len(stored - known) == 2
    assert {"fox", "FOX", "hpo", "HPO", "nyt", "NYT"} <= raw  # the raw forms stay for tools
    assert len({outlet_key(n) for n in stored}) == len(stored)
    assert by_alias and [s.id for s in by_alias] == [s.id for s in by_name]


def test_ingest_outlet_flag_names_every_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from parallax.cli import cli
    from parallax.store import Store

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "story-1.txt").write_text(
        "The council approved the budget on Monday night.\n", encoding="utf-8"
    )
    db = tmp_path / "p.db"
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "in"), "--db", str(db), "--outlet", "FOX"])
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        rows = store.execute("SELECT outlet, outlet_source, outlet_raw FROM articles")
    assert rows == [("Fox News", "user", "story-1")]
