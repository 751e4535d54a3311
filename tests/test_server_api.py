"""The JSON API of ``parallax serve``: shapes, pagination, auth, the one error shape, and schemathesis.

The seed store is built once per module with the real ingest and pipeline; the ``hashing`` embedder
keeps report computation fast (these tests are about the server, not alignment quality).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from parallax.corpus import ingest
from parallax.pipeline import Parallax
from parallax.records import Article
from parallax.report import StoryReport
from parallax.server import ERROR_CODES, create_app
from parallax.settings import Settings, load_settings
from parallax.store import NewArticle, Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ERROR_KEYS = {"code", "status", "message", "details"}


@pytest.fixture(scope="module")
def app_settings() -> Settings:
    return load_settings(embedder="hashing")


@pytest.fixture(scope="module")
def engine(app_settings: Settings) -> Parallax:
    return Parallax(settings=app_settings)


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory: pytest.TempPathFactory, app_settings: Settings) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("api") / "seeds.db")
    summary = ingest([EXAMPLES], store=store, settings=app_settings)
    assert summary.added == 3
    yield store
    store.close()


@pytest.fixture(scope="module")
def app(seed_store: Store, app_settings: Settings, engine: Parallax) -> FastAPI:
    return create_app(store=seed_store, token=TOKEN, settings=app_settings, engine=engine)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def seed_story(client: TestClient) -> str:
    stories = client.get("/api/stories", params={"q": "Milano"}).json()["stories"]
    assert len(stories) == 1
    story_id: str = stories[0]["id"]
    assert client.get(f"/api/stories/{story_id}/report").status_code == 200  # warm the cache
    return story_id


def assert_error(response: Any, status: int) -> dict[str, Any]:
    """The pinned error shape: exactly ``{"error": {code, status, message, details}}``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == ERROR_KEYS
    assert error["status"] == status
    assert error["code"] == ERROR_CODES[status]
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    assert isinstance(error["details"], list)
    return error


# --- reads ----------------------------------------------------------------------------------------


def test_story_list_has_the_cli_shape_plus_pagination(client: TestClient, seed_story: str) -> None:
    body = client.get("/api/stories").json()
    assert {"stories", "total", "limit", "offset", "next_offset"} <= set(body)
    item = next(s for s in body["stories"] if s["id"] == seed_story)
    assert set(item) == {"id", "title", "articles", "outlets", "first_published", "last_published"}
    assert sorted(item["articles"]) == sorted(p.stem for p in EXAMPLES.glob("*.txt"))


def test_story_detail_lists_members_and_links_the_report(client: TestClient, seed_story: str) -> None:
    body = client.get(f"/api/stories/{seed_story}").json()
    assert body["id"] == seed_story
    assert [m["id"] for m in body["members"]] == body["articles"]
    assert body["report"] == f"/api/stories/{seed_story}/report"
    assert body["version"] >= 1


def test_report_is_the_stores_story_report_with_valid_evidence(
    client: TestClient, seed_story: str, seed_store: Store
) -> None:
    response = client.get(f"/api/stories/{seed_story}/report")
    assert response.headers["content-type"] == "application/json"
    report = StoryReport.model_validate_json(response.content)
    assert report.story.id == seed_story
    assert report == seed_store.get_report(seed_story)
    texts = {a.id: a.text for a in report.articles}
    assert report.summary, "the seed story has a summary"
    for entry in report.summary:
        for span in entry.evidence:
            assert texts[span.article][span.start : span.end] == span.text


def test_article_has_text_removed_lines_and_story(
    client: TestClient, seed_story: str, seed_store: Store
) -> None:
    for article in seed_store.story_articles(seed_story):
        body = client.get(f"/api/articles/{article.id}").json()
        assert body["text"] == article.text
        assert body["story_id"] == seed_story
        assert [r["text"] for r in body["removed"]] == [r.text for r in article.removed]


def _paging_store(path: Path, n: int) -> Store:
    store = Store(path)
    items = []
    for i in range(n):
        art = Article(
            id=f"a{i:02d}",
            source_path="x.txt",
            text=f"Story number {i} about topic {i}.",
            outlet=f"Outlet {i % 3}",
            title=f"Title {i}",
            published=f"2020-01-{i + 1:02d}",
        )
        items.append(NewArticle(article=art, content_hash=art.content_hash, story_id=f"s-{i:02d}"))
    store.add_articles(items)
    return store


@pytest.mark.parametrize(("n", "limit"), [(0, 5), (7, 3), (9, 3), (5, 200)])
def test_pagination_walks_every_story_once(tmp_path: Path, n: int, limit: int) -> None:
    with _paging_store(tmp_path / "p.db", n) as store:
        client = TestClient(create_app(store=store))
        seen: list[str] = []
        offset: int | None = 0
        while offset is not None:
            body = client.get("/api/stories", params={"limit": limit, "offset": offset}).json()
            assert body["total"] == n and body["limit"] == limit and body["offset"] == offset
            assert len(body["stories"]) <= limit
            seen += [s["id"] for s in body["stories"]]
            offset = body["next_offset"]
        assert sorted(seen) == [f"s-{i:02d}" for i in range(n)]
        assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sort": "recent", "limit": 2}, ["s-04", "s-03"]),
        ({"outlet": "Outlet 1"}, ["s-04", "s-01"]),
        ({"q": "Title 2"}, ["s-02"]),
        ({"date_from": "2020-01-04"}, ["s-04", "s-03"]),
        ({"date_to": "2020-01-01"}, ["s-00"]),
    ],
)
def test_filters(tmp_path: Path, params: dict[str, Any], expected: list[str]) -> None:
    with _paging_store(tmp_path / "p.db", 5) as store:
        body = TestClient(create_app(store=store)).get("/api/stories", params=params).json()
        assert [s["id"] for s in body["stories"]] == expected


# --- writes ---------------------------------------------------------------------------------------

NEW_ARTICLE = {
    "text": (
        "The city council of Springfield approved a new budget on Tuesday after a long debate.\n"
        "The budget adds 40 million dollars for schools, the mayor said."
    ),
    "title": "Springfield approves budget",
    "outlet": "Springfield Daily",
    "published": "2021-03-02",
}


def test_post_adds_an_article_into_a_story_and_is_idempotent(client: TestClient, seed_store: Store) -> None:
    first = client.post("/api/articles", json=NEW_ARTICLE, headers=AUTH)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["added"] == 1 and body["duplicates"] == 0
    result = body["results"][0]
    assert result["status"] == "added"
    stored = seed_store.get_stored(result["id"])
    assert stored.story_id == result["story_id"] and stored.article.outlet == "Springfield Daily"
    assert client.get(f"/api/stories/{result['story_id']}").status_code == 200
    again = client.post("/api/articles", json={"articles": [NEW_ARTICLE]}, headers=AUTH)
    assert again.status_code == 200
    assert again.json()["results"][0]["status"] == "duplicate"
    assert again.json()["results"][0]["id"] == result["id"]


def test_post_batch_reports_each_item(client: TestClient) -> None:
    batch = {
        "articles": [
            {"text": "A volcano erupted near the village of Lumo on Sunday, officials said.", "id": "volc-1"},
            {"text": "   \n  "},
            {"text": "A volcano erupted near the village of Lumo on Sunday, officials said.", "id": "volc-1"},
        ]
    }
    body = client.post("/api/articles", json=batch, headers=AUTH).json()
    assert [r["status"] for r in body["results"]] == ["added", "skipped", "duplicate"]
    assert body["results"][1]["message"]
    assert (body["added"], body["skipped"], body["duplicates"]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": f"Basic {TOKEN}"}, 401)],
)
def test_post_without_the_token_is_401(client: TestClient, headers: dict[str, str], status: int) -> None:
    error = assert_error(client.post("/api/articles", json=NEW_ARTICLE, headers=headers), status)
    assert "Bearer" in error["message"] or "token" in error["message"]


def test_writes_are_refused_when_no_token_is_configured(seed_store: Store, engine: Parallax) -> None:
    client = TestClient(create_app(store=seed_store, token=None, engine=engine))
    error = assert_error(client.post("/api/articles", json=NEW_ARTICLE, headers=AUTH), 403)
    assert "PARALLAX_API_TOKEN" in error["message"]
    assert client.get("/api/health").json()["writes_enabled"] is False


# --- the one error shape --------------------------------------------------------------------------


class _BrokenEngine:
    """An analysis engine that fails: the server must answer a clean 500."""

    def compare_articles(self, *args: object, **kwargs: object) -> StoryReport:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("get", "/api/stories/no-such-story", {}, 404),
        ("get", "/api/stories/no-such-story/report", {}, 404),
        ("get", "/api/articles/no-such-article", {}, 404),
        ("get", "/api/nothing-here", {}, 404),
        ("get", "/api/stories?limit=0", {}, 422),
        ("get", "/api/stories?sort=sideways", {}, 422),
        ("get", "/api/stories?date_from=yesterday", {}, 422),
        ("post", "/api/articles", {"json": {"text": ""}, "headers": AUTH}, 422),
        ("post", "/api/articles", {"json": {"body": "x"}, "headers": AUTH}, 422),
        ("post", "/api/articles", {"content": b"{not json", "headers": AUTH}, 422),
        ("post", "/api/articles", {"json": NEW_ARTICLE}, 401),
        ("delete", "/api/stories", {}, 405),
    ],
)
def test_every_error_has_the_one_shape(
    client: TestClient, method: str, url: str, kwargs: dict[str, Any], status: int
) -> None:
    assert_error(getattr(client, method)(url, **kwargs), status)


def test_validation_errors_name_the_field(client: TestClient) -> None:
    error = assert_error(client.get("/api/stories", params={"limit": 0}), 422)
    assert error["details"][0]["loc"] == ["query", "limit"]


def test_declared_and_streamed_bodies_over_the_limit_are_413(seed_store: Store) -> None:
    client = TestClient(create_app(store=seed_store, token=TOKEN, max_body_bytes=2_000))
    big = {"text": "word " * 1_000}
    assert_error(client.post("/api/articles", json=big, headers=AUTH), 413)

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"word " * 20
        yield b'"}'

    streamed = client.post(
        "/api/articles", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert_error(streamed, 413)


def test_an_unexpected_failure_is_a_clean_500(tmp_path: Path) -> None:
    with _paging_store(tmp_path / "p.db", 1) as store:
        client = TestClient(create_app(store=store, engine=_BrokenEngine()))  # type: ignore[arg-type]
        error = assert_error(client.get("/api/stories/s-00/report"), 500)
        assert "boom" not in error["message"] and "Traceback" not in error["message"]


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (
        client.get("/api/stories"),
        client.get("/api/stories/none"),
        client.get("/openapi.json"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/stories",
        "/api/stories/{story_id}",
        "/api/stories/{story_id}/report",
        "/api/articles/{article_id}",
        "/api/articles",
        "/api/health",
    } <= set(paths)


# --- schemathesis: no input the spec allows makes the server fail ---------------------------------
# Driven through schemathesis' operation strategies rather than its pytest plugin, whose lazy fixture
# loading does not work with pytest 9.

OPERATIONS = [
    "GET /api/health",
    "GET /api/stories",
    "GET /api/stories/{story_id}",
    "GET /api/stories/{story_id}/report",
    "GET /api/articles/{article_id}",
    "POST /api/articles",
    "GET /api/outlets",
    "GET /api/outlets/{name}",
]


@pytest.fixture(scope="module")
def api_schema(seed_store: Store, app_settings: Settings, engine: Parallax, seed_story: str) -> Any:
    schemathesis = pytest.importorskip("schemathesis")
    app = create_app(store=seed_store, token=TOKEN, settings=app_settings, engine=engine)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_fuzz_covers_every_documented_operation(api_schema: Any) -> None:
    assert sorted(op.ok().label for op in api_schema.get_all_operations()) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_openapi_fuzz_finds_no_server_error(api_schema: Any, label: str) -> None:
    operation = next(op.ok() for op in api_schema.get_all_operations() if op.ok().label == label)
    headers = AUTH if operation.method.upper() == "POST" else None

    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.path_parameters, case.query, response.text[:300])
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}
        case.validate_response(response)

    check()
