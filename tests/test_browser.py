"""The web UI in real headless Chromium (Debian's ``chromium``, driven by Playwright).

The server runs with uvicorn on an ephemeral loopback port in a thread. Screenshots go to the test's
temporary directory; with ``--update-golden`` they are also copied to ``docs/screenshots`` (linked
from ``docs/web.md``).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parallax.corpus import ingest
from parallax.pipeline import Parallax
from parallax.server import create_app
from parallax.settings import load_settings
from parallax.store import Store

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    settings = load_settings(embedder="hashing")
    store = Store(tmp_path_factory.mktemp("browser") / "seeds.db")
    ingest([EXAMPLES], store=store, settings=settings)
    app = create_app(store=store, settings=settings, engine=Parallax(settings=settings))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    url = f"http://127.0.0.1:{port}"
    # Warm the report so that page loads measure rendering, not model loading.
    story_id = store.list_stories()[0][0].id
    store.get_report(story_id, parallax=app.state.service.engine)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


@pytest.fixture(scope="module")
def page(base_url: str) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium (browser tests need it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("request", lambda req: None if req.url.startswith(base_url) else errors.append(req.url))
        page.errors = errors
        yield page
        context.close()
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("screenshots")
    yield out
    if request.config.getoption("--update-golden"):
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        for png in sorted(out.glob("*.png")):
            shutil.copy(png, target / png.name)


def _in_viewport(page: Any, selector: str) -> bool:
    return bool(
        page.evaluate(
            """(sel) => { const el = document.querySelector(sel); if (!el) return false;
                const r = el.getBoundingClientRect();
                return r.bottom >= 0 && r.top <= window.innerHeight; }""",
            selector,
        )
    )


def test_home_then_story(page: Any, base_url: str, shots: Path) -> None:
    page.goto(base_url + "/")
    assert page.title().startswith("Stories")
    link = page.locator("a.story-link").first
    title = link.inner_text()
    page.screenshot(path=str(shots / "home.png"), full_page=True)
    link.click()
    page.wait_for_load_state()
    assert "/stories/" in page.url
    assert page.title().startswith(title[:30])
    assert page.locator("h1").count() == 1
    assert page.locator("#coverage table.matrix").count() == 1
    page.screenshot(path=str(shots / "story.png"))
    assert page.errors == [], page.errors  # no console error (e.g. a CSP violation), no external request


def test_summary_citation_jumps_to_its_sentence(page: Any, base_url: str, shots: Path) -> None:
    page.goto(base_url + "/")
    page.locator("a.story-link").first.click()
    page.wait_for_load_state()
    cite = page.locator("#summary a.cite").first
    anchor = cite.get_attribute("href")
    assert anchor and anchor.startswith("#")
    cited = cite.get_attribute("title") or ""
    cite.click()
    page.wait_for_function("(h) => location.hash === h", arg=anchor)
    target = page.locator(f"[id='{anchor[1:]}']")
    assert target.count() == 1
    assert _in_viewport(page, f"[id='{anchor[1:]}']")
    # The cited sentence is the one the summary quotes (the title holds its text, maybe shortened).
    words = cited.rstrip("…").split()[:6]
    assert " ".join(words) in " ".join(target.inner_text().split())
    assert page.evaluate("() => document.querySelector(':target') !== null")
    page.screenshot(path=str(shots / "citation.png"))


def test_quote_renderings_open_at_their_place(page: Any, base_url: str, shots: Path) -> None:
    page.goto(base_url + "/")
    page.locator("a.story-link").first.click()
    page.wait_for_load_state()
    card = page.locator("#quotes .quote-card").first
    card.scroll_into_view_if_needed()
    rows = card.locator("table.renderings tbody tr")
    assert rows.count() >= 1
    page.screenshot(path=str(shots / "quotes.png"))
    link = rows.first.locator("a").first
    anchor = link.get_attribute("href")
    assert anchor and anchor.startswith("#")
    link.click()
    page.wait_for_function("(h) => location.hash === h", arg=anchor)
    assert _in_viewport(page, f"[id='{anchor[1:]}']")
    # The anchor sits right before the quoted words in the article column.
    marked = page.evaluate(
        """(id) => { const a = document.getElementById(id); let n = a.nextElementSibling;
            return n ? n.textContent : a.parentElement.textContent; }""",
        anchor[1:],
    )
    assert marked.strip()
    page.screenshot(path=str(shots / "quote-in-article.png"))


def test_article_page_shows_removed_lines(page: Any, base_url: str, shots: Path) -> None:
    page.goto(base_url + "/")
    page.locator("a.story-link").first.click()
    page.wait_for_load_state()
    page.locator("#members a").first.click()
    page.wait_for_load_state()
    assert "/articles/" in page.url
    assert page.locator("#removed").count() == 1
    page.screenshot(path=str(shots / "article.png"), full_page=True)
