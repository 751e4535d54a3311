"""Outlet profiles (parallax.profiles): per-story stats, blindspots, groups, the store, CLI and API."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import shared_path

from parallax.clean import clean_documents
from parallax.cli import cli
from parallax.ingest import read_paths
from parallax.pipeline import Parallax
from parallax.profiles import (
    FIDELITIES,
    Coverage,
    build_profiles,
    find_blindspots,
    stats_from_report,
)
from parallax.report import StoryReport
from parallax.settings import Settings, load_settings
from parallax.store import NewArticle, Store

FIXTURE = Path(__file__).parent / "data" / "report_fixture.json"
PROFILE_KEYS = {
    "name",
    "articles",
    "stories",
    "blindspots",
    "unique_facts_rate",
    "omission_rate",
    "loaded_per_1000_words",
    "attribution_verbs",
    "quote_fidelity",
    "voices",
    "labels",
    "conflicts",
}


def _fixture() -> StoryReport:
    return StoryReport.model_validate_json(FIXTURE.read_text(encoding="utf-8"))


# --- per story ---------------------------------------------------------------------------------


def test_stats_from_report_partition_facts() -> None:
    report = _fixture()
    stats = {s.outlet: s for s in stats_from_report(report)}
    assert set(stats) == {a.outlet for a in report.articles}
    outlet_of = {a.id: a.outlet for a in report.articles}
    for outlet, s in stats.items():
        carried = [f for f in report.facts if outlet in {outlet_of[a] for a in f.articles}]
        assert s.facts == len(carried)
        unique = [f for f in carried if {outlet_of[a] for a in f.articles} == {outlet}]
        assert s.unique_facts == (len(unique) if len(stats) > 1 else 0)
        assert s.omitted <= s.all_others_facts
        assert sum(s.fidelity.values()) <= sum(len(q.renderings) for q in report.quotes)
        for item in s.evidence:
            assert item.story == report.story.id
            if item.article is not None and item.start is not None:
                text = report.article(item.article).text
                if item.kind not in ("label", "conflict"):
                    assert text[item.start : item.end] == item.text


def test_omission_counts_what_every_other_outlet_carries() -> None:
    report = _fixture()
    outlet_of = {a.id: a.outlet for a in report.articles}
    outlets = set(outlet_of.values())
    for s in stats_from_report(report):
        others = outlets - {s.outlet}
        expected = [
            f
            for f in report.facts
            if others <= {outlet_of[a] for a in f.articles}
            and s.outlet not in {outlet_of[a] for a in f.articles}
        ]
        assert s.omitted == len(expected)


# --- blindspots --------------------------------------------------------------------------------


def _cov(story: str, outlets: str, day: str | None = "2020-01-10") -> Coverage:
    d = dt.date.fromisoformat(day) if day else None
    names = tuple(sorted(outlets.split()))
    return Coverage(
        story=story, title=story.upper(), outlets=names, articles=dict.fromkeys(names, 1), first=d, last=d
    )


def _active(*names: str, day: str = "2020-01-10") -> dict[str, set[dt.date] | None]:
    return {n: {dt.date.fromisoformat(day)} for n in names}


@pytest.mark.parametrize(
    ("coverage", "activity", "expected"),
    [
        # three of four cover it: the fourth, publishing that day, has a blindspot
        ([_cov("s1", "A B C")], _active("A", "B", "C", "D"), {"D": ["s1"]}),
        # only one other outlet covered it: not a blindspot
        ([_cov("s1", "A")], _active("A", "B"), {}),
        # two of five is not "most outlets publishing then"
        ([_cov("s1", "A B")], _active("A", "B", "C", "D", "E"), {}),
        # D published nothing near the story's dates: not a blindspot
        ([_cov("s1", "A B C")], {**_active("A", "B", "C"), **_active("D", day="2020-03-01")}, {}),
        # an outlet that never dates its articles is not known to publish then: no blindspot
        ([_cov("s1", "A B C")], {**_active("A", "B", "C"), "D": None}, {}),
        # an undated story: every outlet counts as publishing
        ([_cov("s1", "A B C", day=None)], _active("A", "B", "C", "D"), {"D": ["s1"]}),
    ],
)
def test_find_blindspots(
    coverage: list[Coverage], activity: dict[str, set[dt.date] | None], expected: dict[str, list[str]]
) -> None:
    found = find_blindspots(coverage, activity)
    assert {o: [b.story for b in spots] for o, spots in found.items()} == expected
    for spots in found.values():
        for spot in spots:
            assert len(spot.covered_by) >= 2


# --- a store with gold stories -----------------------------------------------------------------


def _gold_store(path: Path, jsonl: Path, *, withhold: set[str] = frozenset()) -> Store:  # type: ignore[assignment]
    """A store whose stories are the gold stories of ``jsonl`` (the clustering is not under test here)."""
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = [r for r in records if r["id"] not in withhold]
    gold = {r["id"]: r["gold_story"] for r in keep}
    filtered = path.parent / f"{path.stem}-input.jsonl"
    filtered.write_text("\n".join(json.dumps(r) for r in keep) + "\n", encoding="utf-8")
    result = read_paths([filtered], settings=load_settings())
    articles, errors = clean_documents(result.documents)
    assert not errors and not result.errors
    store = Store(path)
    store.add_articles(
        [NewArticle(article=a, content_hash=a.content_hash, story_id=f"s-{gold[a.id]}") for a in articles]
    )
    return store


@pytest.fixture(scope="module")
def engine() -> Parallax:
    return Parallax(settings=Settings(embedder="hashing"))


@pytest.mark.slow
def test_newswcl50_withheld_article_is_the_only_blindspot(tmp_path: Path, engine: Parallax) -> None:
    data = shared_path("newswcl50", "newswcl50-events-0-4.jsonl")
    records = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    victim = next(r for r in records if r["gold_story"] == "wcl-2" and r["leaning"] == "R")
    with _gold_store(tmp_path / "w.db", data, withhold={victim["id"]}) as store:
        for story_id in store.story_ids():
            store.get_report(story_id, parallax=engine)
        profiles = {p.name: p for p in build_profiles(store)}
        stored_outlet = {
            r["id"]: store.get_article(r["id"]).outlet for r in records if r["id"] != victim["id"]
        }
        # the victim's outlet, as stored (its other articles)
        victim_outlet = next(
            stored_outlet[r["id"]]
            for r in records
            if r["leaning"] == victim["leaning"] and r["id"] != victim["id"]
        )
        assert len(profiles) == len(set(stored_outlet.values())) == 5
        for _name, profile in profiles.items():
            data_json = profile.to_json()
            assert set(data_json) >= PROFILE_KEYS
            assert set(data_json["quote_fidelity"]) >= set(FIDELITIES)
            assert profile.stories_analysed == profile.stories
            assert profile.words > 0 and profile.facts > 0
        # the outlet whose article was withheld has exactly that story as a blindspot
        fox = profiles[victim_outlet]
        assert fox.articles == 4 and fox.stories == 4
        assert [b.story for b in fox.blindspots] == ["s-wcl-2"]
        assert len(fox.blindspots[0].covered_by) == 4
        others = [p for p in profiles.values() if p is not fox]
        assert all(not p.blindspots for p in others)


@pytest.mark.slow
def test_basil_profiles_and_groups(tmp_path: Path, engine: Parallax) -> None:
    data = shared_path("clustering", "basil-2010-2015.jsonl")
    with _gold_store(tmp_path / "b.db", data) as store:
        stories = store.story_ids()[:6]
        for story_id in stories:
            store.get_report(story_id, parallax=engine)
        names = sorted({str(r[0]) for r in store.execute("SELECT DISTINCT outlet FROM articles")})
        profiles = build_profiles(
            store, groups={"first": [names[0]], "rest": names[1:], "none": ["No Such Outlet"]}
        )
        by_name = {p.name: p for p in profiles}
        for name in names:
            p = by_name[name]
            assert p.stories == 60 and not p.blindspots  # every BASIL story has all three outlets
            assert p.stories_analysed == 6
            assert set(p.to_json()) >= PROFILE_KEYS
        assert by_name["first"].members == [names[0]]
        assert by_name["rest"].stories == 60
        assert by_name["rest"].words == sum(by_name[n].words for n in names[1:])
        assert by_name["none"].members == [] and by_name["none"].stories == 0
        # one outlet with its evidence: every item points at a stored story and a real span
        one = build_profiles(store, outlet=names[1].upper())
        assert [p.name for p in one] == [names[1]]
        ev = one[0].to_json(evidence=True)["evidence"]
        assert ev
        for items in ev.values():
            for item in items:
                assert item["story"] in stories
                if item["kind"] in ("unique_fact", "loaded", "omission") and "start" in item:
                    text = store.get_article(item["article"]).text
                    assert text[item["start"] : item["end"]] == item["text"]
        # a date range that excludes everything
        assert all(p.stories == 0 for p in build_profiles(store, until=dt.date(1990, 1, 1)))


def test_stale_rows_are_ignored(tmp_path: Path) -> None:
    """A story that grew after its report was computed does not count until recomputed."""
    report = _fixture()
    with Store(tmp_path / "s.db") as store:
        arts = [
            NewArticle(article=a, content_hash=f"h{i}", story_id=report.story.id)  # type: ignore[arg-type]
            for i, a in enumerate(_articles(report))
        ]
        store.add_articles(arts[:-1])
        version = store.get_story(report.story.id).version
        store.save_outlet_stats(report, story_version=version)
        assert len(store.outlet_stat_sums()) == len({a.outlet for a in report.articles})
        assert store.stories_without_stats() == []
        store.add_articles(arts[-1:])
        assert store.outlet_stat_sums() == [] and store.outlet_term_sums() == []
        assert store.stories_without_stats() == [report.story.id]


def _articles(report: StoryReport) -> list[object]:
    from parallax.records import Article

    return [
        Article(
            id=a.id,
            source_path=a.source_path,
            text=a.text,
            outlet=a.outlet,
            outlet_source=a.outlet_source,
            title=a.title,
            published=a.published,
            url=a.url,
        )
        for a in report.articles
    ]


# --- CLI ---------------------------------------------------------------------------------------


def test_outlets_cli(tmp_path: Path) -> None:
    report = _fixture()
    db = tmp_path / "c.db"
    with Store(db) as store:
        store.add_articles(
            [
                NewArticle(article=a, content_hash=f"h{i}", story_id=report.story.id)  # type: ignore[arg-type]
                for i, a in enumerate(_articles(report))
            ]
        )
        store.save_outlet_stats(report, story_version=store.get_story(report.story.id).version)
    runner = CliRunner()
    out = runner.invoke(cli, ["outlets", "--db", str(db), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["stories"] == 1 and data["stories_analysed"] == 1
    assert {o["name"] for o in data["outlets"]} == {a.outlet for a in report.articles}
    table = runner.invoke(cli, ["outlets", "--db", str(db)])
    assert table.exit_code == 0 and "OUTLET" in table.output
    csv_out = runner.invoke(cli, ["outlets", "--db", str(db), "--format", "csv"])
    assert csv_out.exit_code == 0 and csv_out.output.startswith("name,articles,stories")
    bad = runner.invoke(cli, ["outlets", "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since" in str(bad.exception)
    missing = runner.invoke(cli, ["outlets", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code != 0 and "no store here" in str(missing.exception)
    assert not (tmp_path / "none.db").exists()


# --- API and pages -----------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> object:
    from fastapi.testclient import TestClient

    from parallax.server.app import create_app

    report = _fixture()
    store = Store(tmp_path / "api.db")
    store.add_articles(
        [
            NewArticle(article=a, content_hash=f"h{i}", story_id=report.story.id)  # type: ignore[arg-type]
            for i, a in enumerate(_articles(report))
        ]
    )
    store.save_outlet_stats(report, story_version=store.get_story(report.story.id).version)
    outlets = sorted({a.outlet for a in report.articles})
    settings = Settings(embedder="hashing", outlet_groups={"mine": outlets[:1], "empty": ["Nobody"]})
    with TestClient(create_app(store=store, settings=settings)) as c:
        yield c
    store.close()


def test_api_outlets(client: object) -> None:
    report = _fixture()
    r = client.get("/api/outlets")  # type: ignore[attr-defined]
    assert r.status_code == 200
    data = r.json()
    assert {o["name"] for o in data["outlets"]} == {a.outlet for a in report.articles}
    assert {g["name"] for g in data["groups"]} == {"mine", "empty"}
    assert data["stories"] == data["stories_analysed"] == 1
    for o in data["outlets"]:
        assert (set(o) >= PROFILE_KEYS and "evidence" not in o) or o["evidence"] == {}
    name = data["outlets"][0]["name"]
    one = client.get(f"/api/outlets/{name.upper()}").json()  # type: ignore[attr-defined]
    assert one["name"] == name and isinstance(one["evidence"], dict)
    for items in one["evidence"].values():
        assert all(item["story"] == report.story.id for item in items)
    missing = client.get("/api/outlets/No%20Such%20Outlet")  # type: ignore[attr-defined]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = client.get("/api/outlets?since=yesterday")  # type: ignore[attr-defined]
    assert bad.status_code == 422 and "error" in bad.json()
    assert client.get("/api/outlets?since=2030-01-01").json()["outlets"][0]["stories"] == 0  # type: ignore[attr-defined]


def test_outlet_pages(client: object) -> None:
    report = _fixture()
    page = client.get("/outlets", headers={"accept": "text/html"})  # type: ignore[attr-defined]
    assert page.status_code == 200 and '<table class="outlets">' in page.text
    for outlet in {a.outlet for a in report.articles}:
        assert f">{outlet}</a>" in page.text
    for key in ("loaded", "blindspots", "name", "altered"):
        assert client.get(f"/outlets?sort={key}").status_code == 200  # type: ignore[attr-defined]
    assert client.get("/outlets?sort=evil").status_code == 422  # type: ignore[attr-defined]
    name = report.articles[0].outlet
    profile = client.get(f"/outlets/{name}", headers={"accept": "text/html"})  # type: ignore[attr-defined]
    assert profile.status_code == 200 and f"<h1>{name}</h1>" in profile.text
    assert 'id="blindspots"' in profile.text and f"/stories/{report.story.id}" in profile.text
    group = client.get("/outlets/mine")  # type: ignore[attr-defined]
    assert group.status_code == 200 and "A group of your outlets" in group.text
