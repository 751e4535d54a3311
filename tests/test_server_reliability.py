"""The server under contention: the write path obeys the store's writer lock, report work is bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.test_server_api import AUTH, NEW_ARTICLE, TOKEN, _paging_store, assert_error

from parallax.report import StoryReport
from parallax.server import create_app
from parallax.settings import load_settings
from parallax.store import Store


def test_a_write_while_another_writer_holds_the_store_is_503(tmp_path: Path) -> None:
    with _paging_store(tmp_path / "p.db", 1) as store:
        client = TestClient(create_app(store=store, token=TOKEN, settings=load_settings(embedder="hashing")))
        with Store(tmp_path / "p.db") as cli_ingest, cli_ingest.writer():
            response = client.post("/api/articles", json=NEW_ARTICLE, headers=AUTH)
            error = assert_error(response, 503)
            assert response.headers["retry-after"] == "5"
            assert "another writer" in error["message"] and str(tmp_path) not in error["message"]
            assert client.get("/api/stories").status_code == 200  # readers are not blocked
        assert client.post("/api/articles", json=NEW_ARTICLE, headers=AUTH).status_code == 201


class _SlowEngine:
    """Counts report computations; each takes ``seconds`` unless released earlier."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: list[str | None] = []
        self.release = threading.Event()

    def compare_articles(self, articles: Any, **kwargs: Any) -> StoryReport:
        self.calls.append(kwargs.get("story_id"))
        self.release.wait(self.seconds)
        from parallax.pipeline import Parallax

        return Parallax(settings=load_settings(embedder="hashing")).compare_articles(articles, **kwargs)


def test_a_slow_report_answers_503_and_is_computed_once(tmp_path: Path) -> None:
    engine = _SlowEngine(seconds=30)
    with _paging_store(tmp_path / "p.db", 2) as store:
        app = create_app(store=store, engine=engine, report_timeout=0.5)  # type: ignore[arg-type]
        client = TestClient(app)
        answers: list[int] = []

        def ask() -> None:
            answers.append(client.get("/api/stories/s-00/report").status_code)

        askers = [threading.Thread(target=ask) for _ in range(4)]
        for thread in askers:
            thread.start()
        for thread in askers:
            thread.join(timeout=30)
        assert answers == [503] * 4
        assert engine.calls == ["s-00"]  # four requests, one computation
        # other requests are served meanwhile; a second uncomputed story waits for the one worker
        assert client.get("/api/stories").status_code == 200
        t0 = time.monotonic()
        error = assert_error(client.get("/api/stories/s-01/report"), 503)
        assert time.monotonic() - t0 < 10 and "retry" in error["message"]
        engine.release.set()
        deadline = time.monotonic() + 60
        while (response := client.get("/api/stories/s-00/report")).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert response.status_code == 200 and response.json()["story"]["id"] == "s-00"
        assert engine.calls.count("s-00") == 1


def test_not_found_messages_do_not_reveal_the_store_path(tmp_path: Path) -> None:
    with _paging_store(tmp_path / "p.db", 1) as store:
        client = TestClient(create_app(store=store))
        for url in ("/api/stories/nope", "/api/articles/nope", "/stories/nope", "/articles/nope"):
            response = client.get(url)
            assert response.status_code == 404
            assert str(tmp_path) not in response.text and "p.db" not in response.text


@pytest.mark.parametrize("article_id", ["../../x", "a/b?c#d", "100% sure"])
def test_an_article_id_with_path_characters_gets_a_working_link(tmp_path: Path, article_id: str) -> None:
    from urllib.parse import quote

    with _paging_store(tmp_path / "p.db", 1) as store:
        from parallax.records import Article
        from parallax.store import NewArticle

        art = Article(id=article_id, source_path="x.txt", text="A story about a bridge.", outlet="Outlet 0")
        store.add_articles([NewArticle(article=art, content_hash="h-odd", story_id="s-00")])
        client = TestClient(create_app(store=store))
        page = client.get("/stories/s-00").text
        href = f"/articles/{quote(article_id, safe='')}"
        assert f'href="{href}"' in page
        response = client.get(href)
        assert response.status_code == 200 and "A story about a bridge." in response.text
