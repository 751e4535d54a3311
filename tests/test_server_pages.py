"""The server-rendered pages of ``parallax serve`` and its click command."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from parallax.cli import cli
from parallax.corpus import ingest
from parallax.pipeline import Parallax
from parallax.records import Article
from parallax.report import StoryInfo, StoryReport
from parallax.server import create_app
from parallax.server.cli import is_loopback
from parallax.settings import load_settings
from parallax.store import NewArticle, Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    settings = load_settings(embedder="hashing")
    store = Store(tmp_path_factory.mktemp("pages") / "seeds.db")
    ingest([EXAMPLES], store=store, settings=settings)
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(seed_store: Store) -> TestClient:
    engine = Parallax(settings=load_settings(embedder="hashing"))
    return TestClient(create_app(store=seed_store, engine=engine))


@pytest.fixture(scope="module")
def story_id(seed_store: Store) -> str:
    (story,) = seed_store.list_stories()[0]
    return story.id


@pytest.fixture(scope="module")
def story_html(client: TestClient, story_id: str) -> str:
    response = client.get(f"/stories/{story_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_home_lists_the_story_with_a_link(client: TestClient, story_id: str, seed_store: Store) -> None:
    page = client.get("/").text
    assert f'href="/stories/{story_id}"' in page
    assert html.escape(seed_store.get_story(story_id).title, quote=False) in page
    assert "1 story" in page


@pytest.mark.parametrize(
    ("params", "listed"),
    [
        ({"q": "Milano"}, True),
        ({"q": "no-such-word-anywhere"}, False),
        ({"outlet": "Fox News"}, True),
        ({"outlet": "Nobody"}, False),
        ({"sort": "size"}, True),
        ({"from": "", "to": "", "q": ""}, True),  # an empty form
    ],
)
def test_home_filters(client: TestClient, story_id: str, params: dict[str, str], listed: bool) -> None:
    response = client.get("/", params=params)
    assert response.status_code == 200
    assert (f'href="/stories/{story_id}"' in response.text) is listed


def test_home_bad_date_is_a_message_not_an_error(client: TestClient) -> None:
    response = client.get("/", params={"from": "last tuesday"})
    assert response.status_code == 200
    assert "is not a date" in response.text


def test_home_paginates_and_keeps_filters(tmp_path: Path) -> None:
    with Store(tmp_path / "p.db") as store:
        arts = [
            Article(
                id=f"a{i:02d}", source_path="x", text=f"Story {i}.", outlet="Wire", title=f"Wire story {i}"
            )
            for i in range(45)
        ]
        store.add_articles(
            [NewArticle(article=a, content_hash=a.content_hash, story_id=f"s-{a.id}") for a in arts]
        )
        client = TestClient(create_app(store=store))
        first = client.get("/", params={"q": "Wire"}).text
        assert "page 1 of 3" in first
        assert 'href="/?q=Wire&amp;page=2"' in first
        last = client.get("/", params={"q": "Wire", "page": 3}).text
        assert len(re.findall(r'class="story-link"', last)) == 5
        assert 'href="/?q=Wire&amp;page=2"' in last and 'rel="next"' not in last


def test_story_page_has_every_panel(story_html: str) -> None:
    for section in (
        "summary",
        "articles",
        "coverage",
        "conflicts",
        "quotes",
        "timeline",
        "framing",
        "members",
    ):
        assert f'id="{section}"' in story_html
    assert 'class="matrix"' in story_html  # the coverage heatmap
    assert "<svg" in story_html or "No dated events" in story_html


def test_every_in_page_link_has_a_target(story_html: str) -> None:
    ids = set(re.findall(r'\bid="([^"]+)"', story_html))
    targets = set(re.findall(r'href="#([^"]+)"', story_html))
    assert targets, "the story page links evidence"
    assert targets <= ids, sorted(targets - ids)[:5]


def test_summary_citations_point_at_their_sentences(
    client: TestClient, story_id: str, story_html: str
) -> None:
    report = client.get(f"/api/stories/{story_id}/report").json()
    from parallax.render.html import evidence_anchor

    for entry in report["summary"]:
        for span in entry["evidence"]:
            anchor = evidence_anchor(span["article"], sentence=span["sentence"], start=span["start"])
            assert f'href="#{anchor}"' in story_html
            assert f'id="{anchor}"' in story_html


def test_story_page_links_each_article(story_html: str, seed_store: Store, story_id: str) -> None:
    for article in seed_store.story_articles(story_id):
        assert f'href="/articles/{article.id}"' in story_html


def test_article_page_shows_text_and_what_was_removed(
    client: TestClient, seed_store: Store, story_id: str
) -> None:
    articles = seed_store.story_articles(story_id)
    assert any(a.removed for a in articles), "the seed articles carry boilerplate"
    for article in articles:
        page = html.unescape(client.get(f"/articles/{article.id}").text)
        # the text is split by highlight and sentence tags: compare the visible text
        visible = re.sub(r"<[^>]+>", "", page)
        assert article.text.split("\n", 1)[0][:60] in visible
        for line in article.removed:
            assert line.text in page
        if not article.removed:
            assert "removed nothing" in page


def test_browsers_get_an_html_error_page(client: TestClient) -> None:
    response = client.get("/stories/no-such-story", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no story with id" in response.text
    assert client.get("/stories/no-such-story").json()["error"]["code"] == "not_found"


def test_api_page_documents_the_endpoints(client: TestClient) -> None:
    page = client.get("/api").text
    for endpoint in ("GET /api/stories", "GET /api/stories/{story_id}/report", "POST /api/articles"):
        assert html.escape(endpoint) in page
    assert "<script" not in page


def test_swagger_ui_is_not_served(client: TestClient) -> None:
    # It would load scripts from a CDN; /api documents the API instead.
    assert client.get("/docs").status_code == 404


# --- the click command ----------------------------------------------------------------------------


def test_serve_has_help() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "PARALLAX_API_TOKEN" in result.output


def test_serve_refuses_a_public_address_without_public(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["serve", "--db", str(tmp_path / "x.db"), "--host", "0.0.0.0", "--no-warm"]
    )
    assert result.exit_code == 2
    assert "--public" in result.output
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
        ("example.org", False),
        ("::", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- at a glance, names not ids, story list badges, article links -----------------------------


def _visible(page: str) -> str:
    """The text a reader sees: tags (and their attributes) removed, entities decoded."""
    body = page.split("<body>", 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_story_page_opens_at_a_glance_naming_every_outlet(
    client: TestClient, story_id: str, story_html: str
) -> None:
    from parallax.render.display import outlet_labels

    report = StoryReport.model_validate(client.get(f"/api/stories/{story_id}/report").json())
    start = story_html.index('id="at-a-glance"')
    assert start < story_html.index('id="summary"') < story_html.index('id="articles"')
    glance = _visible(story_html[start : story_html.index('id="summary"')])
    for name in outlet_labels(report).values():
        assert name in glance
    # the long sections are folded, the glance block links into them
    assert story_html.count('<details class="fold panel">') >= 5
    assert re.search(
        r'<details class="fold panel">\s*<summary>.*?</summary>\s*<div class="fold-body" id="articles"',
        story_html,
        re.S,
    )


def test_story_and_article_pages_show_names_not_ids(
    client: TestClient, story_html: str, seed_store: Store, story_id: str
) -> None:
    articles = seed_store.story_articles(story_id)
    visible = _visible(story_html)
    for article in articles:
        assert article.id not in visible
        assert article.source_path not in visible
    assert story_id not in visible
    assert "Unknown outlet A" in visible  # the seed files name no outlet: lettered, not hashed
    for article in articles:
        page = client.get(f"/articles/{article.id}").text
        source = re.search(r'<p class="source">(.*?)</p>', page, re.S)
        assert source is not None and article.id in source.group(1)
        outside = _visible(page.replace(source.group(0), ""))
        assert article.id not in outside
        assert str(Path(article.source_path).parent) not in _visible(page)  # a file name at most


def test_article_page_links_each_fact_to_the_other_outlets(
    client: TestClient, seed_store: Store, story_id: str, story_html: str
) -> None:
    ids = set(re.findall(r'\bid="([^"]+)"', story_html))
    article = seed_store.story_articles(story_id)[0]
    page = client.get(f"/articles/{article.id}").text
    assert 'class="sent fact-consensus"' in page  # coloured as on the story page
    links = re.findall(r'<span class="also"[^>]*>(.*?)</span>', page, re.S)
    assert links, "a consensus fact links to the other outlets' versions"
    targets = [h for block in links for h in re.findall(r'href="([^"]+)"', block)]
    for href in targets:
        path, anchor = href.split("#", 1)
        assert path == f"/stories/{story_id}"
        assert anchor in ids and not anchor.startswith(article.id)


def test_home_clamps_a_page_past_the_end(tmp_path: Path) -> None:
    with Store(tmp_path / "p.db") as store:
        arts = [
            Article(
                id=f"a{i:02d}", source_path="x", text=f"Story {i}.", outlet="Wire", title=f"Wire story {i}"
            )
            for i in range(25)
        ]
        store.add_articles(
            [NewArticle(article=a, content_hash=a.content_hash, story_id=f"s-{a.id}") for a in arts]
        )
        client = TestClient(create_app(store=store))
        page = client.get("/", params={"page": 99})
        assert page.status_code == 200
        assert "page 2 of 2" in page.text and "page 99 of" not in page.text
        assert "There is no page 99" in page.text
        assert len(re.findall(r'class="story-link"', page.text)) == 5
        assert 'rel="next"' not in page.text
        # every story of one outlet only says so
        assert page.text.count("one outlet only") == 5


class _FakeEngine:
    """Stands in for the analysis: a report with ``conflicts[story]`` conflicts for each story."""

    def __init__(self, report: StoryReport, conflicts: dict[str, int]) -> None:
        self.report = report
        self.conflicts = conflicts

    def compare_articles(self, articles: list[Article], *, story_id: str) -> StoryReport:
        n = self.conflicts[story_id]
        return self.report.model_copy(
            update={
                "story": StoryInfo(id=story_id, title=story_id),
                "conflicts": self.report.conflicts[:1] * n,
            }
        )


def test_home_counts_conflicts_from_cached_reports_and_sorts_by_them(tmp_path: Path) -> None:
    fixture = StoryReport.model_validate_json((ROOT / "tests" / "data" / "report_fixture.json").read_text())
    outlets = ["Left Daily", "Left Times", "Right Post"]
    with Store(tmp_path / "c.db") as store:
        arts = [
            Article(
                id=f"a{i}",
                source_path="x",
                text=f"Story {i // 2} text {i}.",
                outlet=outlets[i % 2 + (i // 4)],
                title=f"Title {i}",
            )
            for i in range(6)
        ]
        store.add_articles(
            [
                NewArticle(article=a, content_hash=a.content_hash, story_id=f"s{int(a.id[1:]) // 2}")
                for a in arts
            ]
        )
        engine = _FakeEngine(fixture, {"s0": 0, "s1": 2, "s2": 1})
        for sid in ("s0", "s1"):  # s2 has no report yet: its count is unknown, not zero
            store.get_report(sid, parallax=cast(Any, engine))
        settings = load_settings(
            outlet_groups={"left": ["Left Daily", "left times"], "right": ["Right Post"]}
        )
        client = TestClient(create_app(store=store, settings=settings))
        page = client.get("/", params={"sort": "conflicts"}).text
        order = re.findall(r'href="/stories/(s\d)"', page)
        assert order[0] == "s1" and set(order) == {"s0", "s1", "s2"}
        assert "2 conflicts" in page and "0 conflicts" in page and "1 conflict<" not in page
        assert page.count("mostly left") == 2  # s0 and s1: two left outlets; s2 mixes both sides
        assert 'Right Post <span class="group">right</span>' in page  # the strip names each group
        assert 'value="conflicts" selected' in page
