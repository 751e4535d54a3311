"""Security of ``parallax serve``: hostile articles are escaped everywhere, CSP, auth, limits, paths."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.pipeline import Parallax
from parallax.records import Article, RemovedLine
from parallax.server import create_app
from parallax.server.app import CONTENT_SECURITY_POLICY
from parallax.settings import load_settings
from parallax.store import NewArticle, Store

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SCRIPT = "<script>alert(1)</script>"
HOSTILE = [
    {
        "title": f"{SCRIPT}Mayor resigns <img src=x onerror=alert(2)>",
        "outlet": '"><svg onload=alert(3)>Evil Daily',
        "url": "javascript:alert(4)",
        "author": "<b onmouseover=alert(5)>Reporter</b>",
        "published": "2022-05-01",
        "text": (
            f"The mayor of Riverton resigned on Monday {SCRIPT} after a vote of the council.\n"
            'Council members said "<a href=\\"javascript:alert(6)\\" onclick=\\"alert(7)\\">we had no choice</a>" '
            "in a statement.\n"
            "</span></mark></div><iframe src=https://evil.example/></iframe> The vote was 7 to 2, officials said.\n"
            "Share this article <style>body{display:none}</style>"
        ),
    },
    {
        "title": "Riverton mayor quits <script src=https://evil.example/x.js></script>",
        "outlet": "Other <Outlet> & Co",
        "url": 'https://evil.example/"onmouseover="alert(8)',
        "published": "2022-05-02",
        "text": (
            "The mayor of Riverton resigned on Monday after a council vote of 6 to 3, <em>officials</em> said.\n"
            'Council members said "we had no choice" in a statement <img src=x onerror=alert(9)>.\n'
            "The mayor said he would leave office on June 1."
        ),
    },
]


class _Elements(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_inert(page: str) -> None:
    """No script, frame or embed element, no event-handler attribute, no javascript: link, no external load."""
    parser = _Elements()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in {"script", "iframe", "object", "embed", "img", "link", "base", "meta"} or (
            tag == "meta" and {k for k, _ in attrs} <= {"charset", "name", "content"}
        ), (tag, attrs)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name in {"href", "src", "action", "xlink:href", "formaction"} and value:
                target = value.strip().lower()
                assert not target.startswith(("javascript:", "data:", "vbscript:")), (tag, name, value)
                if tag != "a":
                    assert not target.startswith(("http:", "https:", "//")), (tag, name, value)
    assert SCRIPT not in page


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store(tmp_path_factory.mktemp("sec") / "hostile.db") as store:
        yield store


@pytest.fixture(scope="module")
def client(store: Store) -> TestClient:
    settings = load_settings(embedder="hashing")
    app = create_app(store=store, token=TOKEN, settings=settings, engine=Parallax(settings=settings))
    return TestClient(app)


@pytest.fixture(scope="module")
def hostile(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/articles", json={"articles": HOSTILE}, headers=AUTH)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["added"] == 2
    return body


def test_hostile_articles_are_inert_on_every_page(client: TestClient, hostile: dict[str, Any]) -> None:
    pages = ["/", "/?q=mayor", "/?outlet=" + HOSTILE[0]["outlet"], "/api"]
    pages += [f"/stories/{sid}" for sid in hostile["stories"]]
    pages += [f"/articles/{r['id']}" for r in hostile["results"]]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        assert_inert(response.text)


def test_hostile_text_is_shown_not_dropped(client: TestClient, hostile: dict[str, Any]) -> None:
    page = client.get(f"/articles/{hostile['results'][0]['id']}").text
    assert html.escape(SCRIPT) in page  # visible as text, escaped
    assert HOSTILE[0]["outlet"] in html.unescape(page)


def test_javascript_urls_never_become_links(client: TestClient, hostile: dict[str, Any]) -> None:
    page = client.get(f"/articles/{hostile['results'][0]['id']}").text
    assert 'href="javascript' not in page.lower()
    assert "javascript:alert(4)" in page  # shown as plain text


def test_hostile_path_in_an_error_page_is_escaped(client: TestClient) -> None:
    response = client.get(f"/stories/{SCRIPT}x", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert_inert(response.text)


@pytest.mark.parametrize(
    "url",
    [
        "/articles/..%2F..%2F..%2Fetc%2Fpasswd",
        "/articles/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/api/articles/..%2F..%2Fpyproject.toml",
        "/stories/..%2F..%2Fpyproject.toml",
        "/static/../../pyproject.toml",
        "/templates/base.html",
        "/api/stories/%2e%2e%2fschema",
    ],
)
def test_no_request_path_reaches_the_file_system(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "root:" not in response.text and "[project]" not in response.text and "{%" not in response.text


@pytest.mark.parametrize(
    "url", ["/", "/api", "/api/stories", "/openapi.json", "/nowhere", "/api/stories/x/report"]
)
def test_csp_and_hardening_headers_everywhere(client: TestClient, url: str) -> None:
    headers = client.get(url).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("token", ["", "s3cret", TOKEN + "x", TOKEN.upper(), TOKEN[:-1], TOKEN + TOKEN])
def test_only_the_exact_token_writes(client: TestClient, token: str) -> None:
    response = client.post(
        "/api/articles", json={"text": "Some text."}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("unauthorized", "forbidden")


def test_oversized_content_length_is_refused_before_reading(client: TestClient) -> None:
    response = client.post("/api/articles", content=b"{}", headers={**AUTH, "Content-Length": "999999999"})
    assert response.status_code == 413


# --- property: any article text is escaped ------------------------------------------------------

markup = st.text(
    alphabet=st.sampled_from(list("<>\"'&=/ abcscriptonerrorjavascript:()\n")), min_size=1, max_size=120
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=markup, title=markup, outlet=markup, removed=markup)
def test_any_article_renders_inert(
    tmp_path_factory: pytest.TempPathFactory, text: str, title: str, outlet: str, removed: str
) -> None:
    if not text.strip():
        text = "x"
    with Store(tmp_path_factory.mktemp("prop") / "p.db") as store:
        article = Article(
            id="a1",
            source_path="<x>.txt",
            text=text,
            outlet=outlet,
            title=title,
            url=text[:40],
            removed=(RemovedLine(text=removed, reason="<b>", line=1),),
        )
        store.add_articles([NewArticle(article=article, content_hash=article.content_hash, story_id="s-1")])
        client = TestClient(create_app(store=store))
        for url in ("/", "/articles/a1"):
            page = client.get(url).text
            assert_inert(page)
        page = client.get("/articles/a1").text
        # sentences are wrapped in coloured spans: compare the visible text
        visible = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert text.strip()[:20] in visible or not text.strip()
