"""The FastAPI application behind ``parallax serve``: server-rendered pages and a JSON API over one store.

Pages (no JavaScript at all; citations are plain anchors):

* ``/`` lists stories: search by word, filter by outlet and date range, sort, paginate;
* ``/stories/{id}`` shows the story report (the renderer's :func:`~parallax.render.story_fragment`);
* ``/articles/{id}`` shows one cleaned article and the lines cleaning removed from it;
* ``/api`` documents the JSON API from its own OpenAPI spec (``/openapi.json``).

JSON API: ``GET /api/stories``, ``GET /api/stories/{id}``, ``GET /api/stories/{id}/report`` (the
:class:`~parallax.report.StoryReport`), ``GET /api/articles/{id}``, ``POST /api/articles`` and
``GET /api/health``. Every error, of pages and API alike, has one JSON shape (:func:`error_body`)::

    {"error": {"code": "not_found", "status": 404, "message": "...", "details": []}}

Browsers asking for HTML get the same fields rendered as a page.

Security, in one place (:class:`_Guard`, an ASGI middleware around everything):

* a Content-Security-Policy that allows no script and no external resource, plus ``nosniff``,
  ``no-referrer`` and frame denial, on every response (errors included);
* request bodies above ``max_body_bytes`` are refused with 413, whether declared or streamed;
* an unexpected exception becomes a logged 500 with the error shape, never a traceback.

Writes need ``Authorization: Bearer <token>`` matching the configured token (401 otherwise); with no
token configured, writes are refused (403) and the message says how to enable them. Every piece of
article-derived text reaches HTML through Jinja2 autoescaping; the only strings marked safe are our
own CSS and fragments the renderer produced with autoescaping. No request value is ever used as a
file system path: templates have fixed names and request values only reach SQL as bound parameters.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from parallax import __version__
from parallax.errors import (
    AnalysisError,
    InputError,
    NotFoundError,
    ParallaxError,
    ReportPendingError,
    StoreBusyError,
    StoreError,
)
from parallax.records import Article, RawDocument
from parallax.report import ArticleModel, StoryReport
from parallax.settings import Settings, load_settings
from parallax.store import Store, StorySummary

if TYPE_CHECKING:
    from parallax.pipeline import Parallax

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Default limit on a request body (bytes): room for a batch of long articles, not for abuse.
DEFAULT_MAX_BODY_BYTES = 5_000_000
#: Stories per page of ``/``.
PAGE_SIZE = 20
#: Sorting ``/`` by conflicts ranks at most this many matching stories (the most recent ones).
CONFLICT_SORT_SCAN = 2000
#: Seconds a client is told to wait (``Retry-After``) when the store is busy or a report is pending.
RETRY_AFTER_SECONDS = 5
#: Report computations running at once (spaCy and torch gain nothing from running stories concurrently).
REPORT_WORKERS = 1
#: Seconds a request waits for a report being computed before it is answered 503 (the work goes on).
REPORT_TIMEOUT_SECONDS = 30.0
#: Report computations waiting for a worker beyond which a new one is refused at once (503).
REPORT_QUEUE = 16
#: No script, no external load; inline styles only (the renderer's column layout uses a style attribute).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
)
#: The ``error.code`` of each HTTP status Parallax answers with.
ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "unavailable",
}

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:~@+#-]{0,199}$"
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


# --- the error shape ------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """One problem of a request (validation errors list one per bad field)."""

    loc: list[str | int] = []
    msg: str
    type: str = ""


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_found, validation_error")
    status: int
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    """The one error shape of every Parallax HTTP error."""

    error: ErrorBody


def error_body(status: int, message: str, *, details: Sequence[ErrorDetail] = ()) -> dict[str, Any]:
    """The JSON error shape for ``status`` (see the module docstring)."""
    return ErrorResponse(
        error=ErrorBody(
            code=ERROR_CODES.get(status, "error"), status=status, message=message, details=list(details)
        )
    ).model_dump(mode="json")


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": code.replace("_", " ")}
    for status, code in ERROR_CODES.items()
    if status in (404, 413, 422, 500)
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERROR_RESPONSES,
    401: {"model": ErrorResponse, "description": "missing or wrong bearer token"},
    403: {"model": ErrorResponse, "description": "writes are disabled (no token configured)"},
    503: {"model": ErrorResponse, "description": "another writer holds the store; retry after Retry-After"},
}
_REPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERROR_RESPONSES,
    503: {
        "model": ErrorResponse,
        "description": "the report is still being computed; retry after Retry-After",
    },
}


# --- API models -----------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoryItem(_Out):
    """A story as ``parallax stories --format json`` lists it."""

    id: str
    title: str
    articles: list[str] = Field(description="article ids: independent coverage first, then copies")
    outlets: list[str]
    first_published: str | None
    last_published: str | None


class StoryList(_Out):
    stories: list[StoryItem]
    total: int = Field(description="stories matching the filters, over all pages")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class StoryMember(_Out):
    id: str
    outlet: str
    title: str | None
    published: str | None
    url: str | None
    copy_of: str | None = Field(description="the article this one is a near-duplicate copy of")


class StoryDetail(StoryItem):
    copies: int
    version: int = Field(description="increases whenever the story's articles change")
    members: list[StoryMember]
    report: str = Field(description="URL of the story's report")


class StoredArticleOut(ArticleModel):
    """An article with its place in the corpus."""

    story_id: str
    copy_of: str | None


class ArticleIn(BaseModel):
    """One article to add. Only ``text`` is required; the outlet falls back to the URL's host."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1_000_000)
    id: str | None = Field(
        default=None, pattern=_ID_PATTERN, description="default: derived from the text's hash"
    )
    title: str | None = Field(default=None, max_length=1000)
    outlet: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    published: str | None = Field(default=None, max_length=100, description="ISO 8601 or a full date")
    author: str | None = Field(default=None, max_length=300)


class ArticleBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    articles: list[ArticleIn] = Field(min_length=1, max_length=500)


class AddedArticle(_Out):
    index: int = Field(description="position of the article in the request")
    status: Literal["added", "copy", "duplicate", "skipped"]
    id: str | None
    story_id: str | None
    copy_of: str | None = None
    message: str | None = None


class AddResult(_Out):
    results: list[AddedArticle]
    added: int
    duplicates: int
    skipped: int
    stories: list[str] = Field(description="ids of the stories the added articles are in")


class Health(_Out):
    status: Literal["ok"]
    version: str
    articles: int
    stories: int
    writes_enabled: bool


# --- the guard middleware -------------------------------------------------------------------------


class _BodyTooLarge(StarletteHTTPException):
    """Raised while reading a body that exceeds the limit (an HTTPException so FastAPI passes it on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"request body exceeds the limit of {limit:,} bytes; send fewer articles per request"
        )


class _Guard:
    """ASGI middleware: security headers, body size limit and last-resort 500s (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS:
                    if key not in headers:
                        headers[key] = value
            await send(message)

        async def refuse(status: int, message: str) -> None:
            await JSONResponse(error_body(status, message), status_code=status)(
                scope, receive, send_with_headers
            )

        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await refuse(400, "the Content-Length header is not a number")
                return
            if int(declared) > self.max_body_bytes:
                await refuse(413, str(_BodyTooLarge(self.max_body_bytes).detail))
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        try:
            await self.app(scope, counting_receive, send_with_headers)
        except _BodyTooLarge as exc:
            if not started:
                await refuse(413, str(exc.detail))
        except Exception:
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await refuse(500, "internal error; the server log has the details")


# --- the service: store access, caches and ingest ------------------------------------------------


class _LRU:
    """A small thread-safe LRU of rendered strings/bytes keyed by (story id, story version)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[str, int], value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass
class _Service:
    """What the routes share: the store, the analysis engine, locks and render caches."""

    store: Store
    settings: Settings
    token: str | None
    engine: Parallax | None = None

    report_workers: int = REPORT_WORKERS
    report_timeout: float = REPORT_TIMEOUT_SECONDS
    report_queue: int = REPORT_QUEUE

    def __post_init__(self) -> None:
        self._write_lock = threading.Lock()
        self._reports = _LRU(64)
        self._report_json = _LRU(64)
        self._pages = _LRU(64)
        self._outlets: tuple[int, list[tuple[str, int]]] | None = None
        self._conflicts: dict[tuple[str, int], int] = {}
        # bounded report computation: a small pool, one computation per story version in flight
        self._pool = ThreadPoolExecutor(max_workers=self.report_workers, thread_name_prefix="parallax-report")
        self._pending: dict[tuple[str, int], Future[StoryReport]] = {}
        # re-entrant: a computation that ends before add_done_callback runs its callback right there
        self._pending_lock = threading.RLock()

    def close(self) -> None:
        """Stop taking report work; computations already started finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def report(self, story: StorySummary) -> StoryReport:
        """The story's report: memory, then the store's cache, then computed on the bounded pool.

        1. A report in memory or current in the store's cache is returned at once.
        2. Otherwise the computation of this story version is looked up among those in flight, so
           that concurrent requests for one story compute it once; a new one is queued on a pool of
           ``report_workers`` threads, or refused (503) when ``report_queue`` are already waiting.
        3. The request waits at most ``report_timeout`` seconds; past that it is answered 503
           with Retry-After while the computation goes on and lands in the cache. One slow story
           thus holds one worker, never every reader.
        """
        key = (story.id, story.version)
        # 1. caches
        found: StoryReport | None = self._reports.get(key)
        if found is not None:
            return found
        report = self.store.cached_report(story.id)
        if report is not None:
            self._reports.put(key, report)
            return report
        # 2. one computation per story version
        with self._pending_lock:
            future = self._pending.get(key)
            if future is None:
                if len(self._pending) >= self.report_workers + self.report_queue:
                    raise ReportPendingError(
                        f"{len(self._pending)} reports are being computed; retry in a few seconds"
                    )
                future = self._pool.submit(self.store.get_report, story.id, parallax=self.engine)
                self._pending[key] = future
                future.add_done_callback(functools.partial(self._finished, key))
        # 3. a bounded wait
        try:
            return future.result(timeout=self.report_timeout)
        except FutureTimeout:
            raise ReportPendingError(
                f"the report of story {story.id!r} is being computed; retry in a few seconds"
            ) from None

    def _finished(self, key: tuple[str, int], future: Future[StoryReport]) -> None:
        with self._pending_lock:
            self._pending.pop(key, None)
        if not future.cancelled() and future.exception() is None:
            self._reports.put(key, future.result())

    def report_json(self, story: StorySummary) -> bytes:
        key = (story.id, story.version)
        data: bytes | None = self._report_json.get(key)
        if data is None:
            data = self.report(story).to_json(indent=None).encode("utf-8")
            self._report_json.put(key, data)
        return data

    def story_page(self, story: StorySummary) -> str:
        key = (story.id, story.version)
        page: str | None = self._pages.get(key)
        if page is None:
            from parallax.render import story_fragment
            from parallax.render.display import article_title, outlet_labels

            report = self.report(story)
            members = self.store.story_stored(story.id)
            page = _render(
                "story.html",
                title=story.title,
                story=story,
                members=members,
                fragment=story_fragment(report),
                analysed={a.id for a in report.articles},
                names=outlet_labels(report),
                article_title=article_title,
            )
            self._pages.put(key, page)
        return page

    def conflict_counts(self, stories: Sequence[StorySummary]) -> dict[str, int]:
        """Story id -> number of conflicts, for the stories whose current report is already known.

        Cheap on purpose: reports in memory, then one query over the store's cached reports
        (SQLite counts the ``conflicts`` array without building the report); never computed.
        """
        from parallax.report import SCHEMA_VERSION as REPORT_SCHEMA

        counts: dict[str, int] = {}
        missing: dict[str, StorySummary] = {}
        for story in stories:
            key = (story.id, story.version)
            found = self._conflicts.get(key)
            report: StoryReport | None = self._reports.get(key)
            if found is None and report is not None:
                found = self._conflicts[key] = len(report.conflicts)
            if found is None:
                missing[story.id] = story
            else:
                counts[story.id] = found
        ids = list(missing)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.store.execute(
                "SELECT story_id, story_version, json_array_length(json, '$.conflicts') FROM reports "
                f"WHERE schema_version = ? AND story_id IN ({','.join('?' * len(part))})",
                [REPORT_SCHEMA, *part],
            )
            for sid, version, n in rows:
                story = missing[str(sid)]
                if int(str(version)) == story.version and n is not None:
                    counts[story.id] = self._conflicts[(story.id, story.version)] = int(str(n))
        return counts

    def outlets(self) -> list[tuple[str, int]]:
        """Outlets with their article counts (most articles first), refreshed when the store grows."""
        seq = self.store.last_seq()
        if self._outlets is None or self._outlets[0] != seq:
            rows = self.store.execute(
                "SELECT outlet, count(*) FROM articles GROUP BY outlet ORDER BY count(*) DESC, outlet LIMIT 500"
            )
            self._outlets = (seq, [(str(o), int(str(n))) for o, n in rows])
        return self._outlets[1]

    def add(self, items: Sequence[ArticleIn]) -> AddResult:
        """Add articles through the corpus ingest (copies grouped, stories clustered).

        1. Turn each item into a :class:`RawDocument` (never touching the file system).
        2. Clean them once here to learn their content hashes (ingest cleans again; it is cheap).
        3. Under the write lock: note which hashes are already stored, run the ingest, then read
           back where each hash landed.
        4. Report one result per item, in request order.
        """
        from parallax.corpus import clean_batch, ingest

        # 1. raw documents
        raws = [_raw_document(i, item) for i, item in enumerate(items)]
        # 2. hashes
        cleaned = clean_batch(raws, settings=self.settings)
        hashes = [c.content_hash for c in cleaned if isinstance(c, Article)]
        # 3. ingest
        with self._write_lock:
            before = self.store.known_hashes(hashes)
            ingest([], store=self.store, settings=self.settings, documents=raws)
            placed: dict[str, tuple[str, str, str | None]] = {}
            for i in range(0, len(hashes), 500):
                part = hashes[i : i + 500]
                rows = self.store.execute(
                    "SELECT content_hash, id, story_id, copy_of FROM articles "
                    f"WHERE content_hash IN ({','.join('?' * len(part))})",
                    part,
                )
                for h, aid, sid, copy_of in rows:
                    placed[str(h)] = (str(aid), str(sid), None if copy_of is None else str(copy_of))
        # 4. results
        results: list[AddedArticle] = []
        seen: set[str] = set()
        for index, (item, outcome) in enumerate(zip(items, cleaned, strict=True)):
            if isinstance(outcome, InputError):
                results.append(
                    AddedArticle(
                        index=index, status="skipped", id=None, story_id=None, message=outcome.detail
                    )
                )
                continue
            where = placed.get(outcome.content_hash)
            if where is None:  # ingest refused it for a reason clean_batch did not see
                results.append(
                    AddedArticle(
                        index=index, status="skipped", id=None, story_id=None, message="not stored by ingest"
                    )
                )
                continue
            aid, sid, copy_of = where
            duplicate = outcome.content_hash in before or outcome.content_hash in seen
            seen.add(outcome.content_hash)
            status: Literal["added", "copy", "duplicate"] = (
                "duplicate" if duplicate else ("copy" if copy_of else "added")
            )
            note = None
            if item.published and not outcome.published:
                note = f"published {item.published!r} is not a full date; stored without a date"
            elif status == "duplicate":
                note = "the same text is already stored"
            results.append(
                AddedArticle(index=index, status=status, id=aid, story_id=sid, copy_of=copy_of, message=note)
            )
        added = [r for r in results if r.status in ("added", "copy")]
        return AddResult(
            results=results,
            added=len(added),
            duplicates=sum(r.status == "duplicate" for r in results),
            skipped=sum(r.status == "skipped" for r in results),
            stories=sorted({r.story_id for r in added if r.story_id}),
        )


def _raw_document(index: int, item: ArticleIn) -> RawDocument:
    """Step 1 of :meth:`_Service.add`: an API item as a raw document (``source_path`` is a label, not a file)."""
    from parallax.ingest import normalize_published, outlet_from_url

    outlet, outlet_source = item.outlet, "input" if item.outlet else None
    if not outlet:
        outlet = outlet_from_url(item.url)
        outlet_source = "url" if outlet else None
    article_id = item.id or "api-" + hashlib.sha1(item.text.encode("utf-8", "replace")).hexdigest()[:16]
    return RawDocument(
        source_path="api-submission",
        text=item.text.replace("\r\n", "\n").replace("\r", "\n"),
        id=article_id,
        record=index + 1,
        outlet=outlet,
        outlet_source=outlet_source,
        url=item.url,
        title=item.title,
        published=normalize_published(item.published) if item.published else None,
        author=item.author,
    )


# --- templates ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("parallax.server", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["urlencode"] = url_segment
    return env


def url_segment(value: Any) -> str:
    """``value`` quoted as ONE path segment (templates' ``urlencode``): ``/`` becomes ``%2F``.

    Jinja's own filter keeps ``/``, so an article id like ``../../x`` made ``/articles/../../x``,
    which a browser resolves to ``/x``. Mappings and pairs are query strings, as in Jinja.
    """
    if isinstance(value, str):
        return quote(value, safe="")
    if isinstance(value, dict | list | tuple):
        return jinja2.filters.do_urlencode(value)
    return quote(str(value), safe="")


@lru_cache(maxsize=1)
def _css() -> str:
    from parallax.render import stylesheet

    return stylesheet() + "\n" + _environment().get_template("site.css").render()


def _outlet_name(name: str) -> str:
    from parallax.render.display import UNKNOWN_OUTLET, looks_raw

    return UNKNOWN_OUTLET if looks_raw(name) else name


def _render(template: str, **context: Any) -> str:
    from parallax.render.html import is_web_url, shorten

    return (
        _environment()
        .get_template(template)
        .render(
            css=_css(),
            is_web_url=is_web_url,
            shorten=shorten,
            outlet_name=_outlet_name,
            version=__version__,
            **context,
        )
    )


@dataclass(frozen=True, slots=True)
class _StoryCard:
    """What the story list shows about one story beside its title."""

    dates: str
    strip: list[tuple[str, str | None]]  # (outlet, its group in the reader's outlet groups)
    unknown: set[str]
    one_outlet: bool
    side: str | None
    conflicts: int | None


def _story_card(story: StorySummary, conflicts: int | None, settings: Settings) -> _StoryCard:
    """Dates, outlet strip and badges of one story in the list (see ``index.html``)."""
    from parallax.render.display import date_range, looks_raw, one_side, outlet_strip

    strip = outlet_strip(story.outlets)
    nameless = [o for o in story.outlets if looks_raw(o)]
    group_of = {o.casefold(): g for g, names in settings.outlet_groups.items() for o in names}
    return _StoryCard(
        dates=date_range([story.first_published, story.last_published]),
        strip=[(name, group_of.get(name.casefold())) for name in strip],
        unknown={name for name in strip if name not in story.outlets},
        one_outlet=len(set(story.outlets)) == 1 and not nameless,
        side=one_side(story.outlets, settings.outlet_groups),
        conflicts=conflicts,
    )


def _wants_html(request: Request) -> bool:

    path = request.url.path
    return (
        not path.startswith("/api")
        and path != "/openapi.json"
        and "text/html" in request.headers.get("accept", "")
    )


def _error_response(
    request: Request,
    status: int,
    message: str,
    details: Sequence[ErrorDetail] = (),
    *,
    retry_after: int | None = None,
) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    if _wants_html(request):
        page = _render(
            "error.html",
            title=f"{status} {ERROR_CODES.get(status, 'error')}",
            status=status,
            code=ERROR_CODES.get(status, "error"),
            message=message,
            details=details,
        )
        return HTMLResponse(page, status_code=status, headers=headers)
    return JSONResponse(error_body(status, message, details=details), status_code=status, headers=headers)


def _clean_optional(value: str | None) -> str | None:
    """HTML forms send empty fields as ``""``: treat them as absent."""
    if value is None:
        return None
    value = value.strip()
    return value or None


# --- the application ------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="the server's PARALLAX_API_TOKEN")
# Module-level aliases: FastAPI resolves (postponed) annotations in the module's namespace.
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
StoryId = Annotated[str, PathParam(max_length=200, description="a story id from /api/stories")]
ArticleId = Annotated[str, PathParam(max_length=400, description="an article id")]


def create_app(
    *,
    store: Store | None = None,
    db_path: str | Path | None = None,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    settings: Settings | None = None,
    engine: Parallax | None = None,
    report_workers: int = REPORT_WORKERS,
    report_timeout: float = REPORT_TIMEOUT_SECONDS,
) -> FastAPI:
    """The Parallax web application over ``store`` (or the store at ``db_path``, opened read-write).

    ``token`` enables writes (``POST /api/articles``) for clients sending it as a bearer token;
    ``None`` disables writes. ``engine`` is the :class:`~parallax.pipeline.Parallax` used to compute
    reports that are not cached yet (default: the store's own). The caller owns ``store`` and closes
    it; a store opened from ``db_path`` is closed on shutdown. Reports not cached yet are computed
    by at most ``report_workers`` threads; a request waits for one at most ``report_timeout``
    seconds, then gets 503 with Retry-After while the computation goes on.
    """
    settings = settings or load_settings()
    own_store = store is None
    if store is None:
        store = Store(Path(db_path or settings.db))
    service = _Service(
        store=store,
        settings=settings,
        token=token or None,
        engine=engine,
        report_workers=report_workers,
        report_timeout=report_timeout,
    )

    app = FastAPI(
        title="Parallax",
        version=__version__,
        description="How different news outlets cover the same event, every statement pointing at evidence.",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN, which the CSP forbids; see /api
        redoc_url=None,
    )
    app.add_middleware(_Guard, max_body_bytes=max_body_bytes)
    app.state.service = service
    app.router.on_shutdown.append(service.close)
    if own_store:
        app.router.on_shutdown.append(store.close)

    # -- errors: one shape everywhere

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else ERROR_CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = f"no page or endpoint at {request.url.path}; the story list is at /"
        return _error_response(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            ErrorDetail(
                loc=[p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                msg=str(err.get("msg", "")),
                type=str(err.get("type", "")),
            )
            for err in exc.errors()
        ]
        fields = ", ".join(".".join(str(p) for p in d.loc) for d in details[:5])
        return _error_response(request, 422, f"the request is not valid ({fields}); see details", details)

    @app.exception_handler(ParallaxError)
    async def _parallax_error(request: Request, exc: ParallaxError) -> Response:
        if isinstance(exc, NotFoundError):
            return _error_response(request, 404, str(exc))
        if isinstance(exc, StoreBusyError):
            # a CLI ingest (or another request's write) holds the store: a client should retry
            message = "another writer is adding to the store; retry in a few seconds"
            return _error_response(request, 503, message, retry_after=RETRY_AFTER_SECONDS)
        if isinstance(exc, ReportPendingError):
            return _error_response(request, 503, str(exc), retry_after=RETRY_AFTER_SECONDS)
        if isinstance(exc, InputError):
            return _error_response(request, 422, str(exc))
        if isinstance(exc, StoreError) and service.store.readonly:
            return _error_response(request, 403, str(exc))
        log.error("%s %s failed: [%s] %s", request.method, request.url.path, exc.code, exc)
        kind = "analysis" if isinstance(exc, AnalysisError) else "server"
        return _error_response(request, 500, f"{kind} error [{exc.code}]: {exc}")

    # -- auth

    def require_writer(credentials: BearerCredentials) -> None:
        if service.token is None:
            raise StarletteHTTPException(
                403,
                "writes are disabled: the server has no API token; restart it with PARALLAX_API_TOKEN set "
                "and send that token as 'Authorization: Bearer <token>'",
            )
        if credentials is None:
            raise StarletteHTTPException(401, "this endpoint needs 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(credentials.credentials.encode(), service.token.encode()):
            raise StarletteHTTPException(401, "the bearer token is not the server's API token")
        if service.store.readonly:
            raise StarletteHTTPException(403, "the store is open read-only; writes are disabled")

    # -- JSON API

    @app.get("/api/health", response_model=Health, tags=["api"], summary="Liveness and store size")
    def health() -> Health:
        stories = int(str(service.store.execute("SELECT count(*) FROM stories")[0][0]))
        return Health(
            status="ok",
            version=__version__,
            articles=service.store.count_articles(),
            stories=stories,
            writes_enabled=service.token is not None and not service.store.readonly,
        )

    @app.get(
        "/api/stories",
        response_model=StoryList,
        responses=_ERROR_RESPONSES,
        tags=["api"],
        summary="List stories",
    )
    def list_stories(
        q: Annotated[str | None, Query(max_length=200, description="word(s) in a title")] = None,
        outlet: Annotated[str | None, Query(max_length=200)] = None,
        date_from: Annotated[str | None, Query(pattern=_DATE_PATTERN, description="YYYY-MM-DD")] = None,
        date_to: Annotated[str | None, Query(pattern=_DATE_PATTERN, description="YYYY-MM-DD")] = None,
        sort: Literal["recent", "size"] = "recent",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> StoryList:
        stories, total = service.store.list_stories(
            query=_clean_optional(q),
            outlet=_clean_optional(outlet),
            date_from=date_from,
            date_to=date_to,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        return StoryList(
            stories=[StoryItem.model_validate(s.to_json()) for s in stories],
            total=total,
            limit=limit,
            offset=offset,
            next_offset=offset + limit if offset + limit < total else None,
        )

    @app.get(
        "/api/stories/{story_id}",
        response_model=StoryDetail,
        responses=_ERROR_RESPONSES,
        tags=["api"],
        summary="One story and its articles",
    )
    def get_story(story_id: StoryId) -> StoryDetail:
        story = service.store.get_story(story_id)
        members = [
            StoryMember(
                id=s.article.id,
                outlet=s.article.outlet,
                title=s.article.title,
                published=s.article.published,
                url=s.article.url,
                copy_of=s.copy_of,
            )
            for s in service.store.story_stored(story_id)
        ]
        return StoryDetail(
            **StoryItem.model_validate(story.to_json()).model_dump(),
            copies=story.copies,
            version=story.version,
            members=members,
            report=f"/api/stories/{story.id}/report",
        )

    @app.get(
        "/api/stories/{story_id}/report",
        response_model=StoryReport,
        responses=_REPORT_ERRORS,
        tags=["api"],
        summary="The story's StoryReport (computed on first request, then cached)",
    )
    def get_report(story_id: StoryId) -> Response:
        story = service.store.get_story(story_id)
        return Response(service.report_json(story), media_type="application/json")

    @app.get(
        "/api/articles/{article_id:path}",
        response_model=StoredArticleOut,
        responses=_ERROR_RESPONSES,
        tags=["api"],
        summary="One cleaned article, with what cleaning removed",
    )
    def get_article(article_id: ArticleId) -> StoredArticleOut:
        stored = service.store.get_stored(article_id)
        return StoredArticleOut.model_validate(
            {
                **ArticleModel.model_validate(stored.article).model_dump(),
                "story_id": stored.story_id,
                "copy_of": stored.copy_of,
            }
        )

    @app.post(
        "/api/articles",
        response_model=AddResult,
        responses={**_WRITE_ERRORS, 200: {"model": AddResult, "description": "nothing new was stored"}},
        status_code=201,
        tags=["api"],
        summary="Add one article or a batch; they are de-duplicated and clustered into stories",
        dependencies=[Depends(require_writer)],
    )
    def post_articles(body: ArticleBatch | ArticleIn) -> JSONResponse:
        items = body.articles if isinstance(body, ArticleBatch) else [body]
        result = service.add(items)
        return JSONResponse(result.model_dump(mode="json"), status_code=201 if result.added else 200)

    # -- outlet profiles (API and pages)

    from parallax.server import outlets as outlet_routes

    outlet_routes.register(
        app, store=store, settings=settings, render=_render, error_responses=_ERROR_RESPONSES
    )

    # -- pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(
        q: str | None = None,
        outlet: str | None = None,
        date_from: Annotated[str | None, Query(alias="from")] = None,
        date_to: Annotated[str | None, Query(alias="to")] = None,
        sort: str = "recent",
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ) -> HTMLResponse:
        filters = {
            "q": (_clean_optional(q) or "")[:200],
            "outlet": (_clean_optional(outlet) or "")[:200],
            "from": _clean_optional(date_from) or "",
            "to": _clean_optional(date_to) or "",
            "sort": sort if sort in ("recent", "size", "conflicts") else "recent",
        }
        problems = []
        for key in ("from", "to"):
            if filters[key] and not re.match(_DATE_PATTERN, filters[key]):
                problems.append(
                    f"'{filters[key]}' is not a date like 2019-04-01; the {key} filter is ignored"
                )
                filters[key] = ""
        query: dict[str, Any] = {
            "query": filters["q"] or None,
            "outlet": filters["outlet"] or None,
            "date_from": filters["from"] or None,
            "date_to": filters["to"] or None,
        }
        by_conflicts = filters["sort"] == "conflicts"
        sort_key: Literal["recent", "size"] = "size" if filters["sort"] == "size" else "recent"

        def fetch(n: int) -> tuple[list[StorySummary], int, dict[str, int]]:
            """Page ``n``: its stories, the total and their conflict counts (when known)."""
            offset = (n - 1) * PAGE_SIZE
            if not by_conflicts:
                found, matching = service.store.list_stories(
                    **query, sort=sort_key, limit=PAGE_SIZE, offset=offset
                )
                return found, matching, service.conflict_counts(found)
            # ranks the most recent matching stories by their known conflict counts
            scanned, matching = service.store.list_stories(
                **query, sort="recent", limit=CONFLICT_SORT_SCAN, offset=0
            )
            known = service.conflict_counts(scanned)
            ranked = sorted(enumerate(scanned), key=lambda item: (-known.get(item[1].id, 0), item[0]))
            return [st for _, st in ranked[offset : offset + PAGE_SIZE]], matching, known

        stories, total, counts = fetch(page)
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:  # past the end: the last page, and say so
            problems.append(
                f"There is no page {page}: {pages} page{'s' if pages != 1 else ''} of stories; showing the last"
            )
            page = pages
            stories, total, counts = fetch(page)
        kept = {k: v for k, v in filters.items() if v and not (k == "sort" and v == "recent")}

        def page_url(n: int) -> str:
            return "/?" + urlencode({**kept, "page": n}) if n > 1 or kept else "/"

        return HTMLResponse(
            _render(
                "index.html",
                title="Stories",
                stories=stories,
                cards={st.id: _story_card(st, counts.get(st.id), service.settings) for st in stories},
                total=total,
                page=page,
                pages=pages,
                filters=filters,
                problems=problems,
                outlets=service.outlets(),
                prev_url=page_url(page - 1) if page > 1 else None,
                next_url=page_url(page + 1) if page < pages else None,
                scan_capped=by_conflicts and total > CONFLICT_SORT_SCAN,
                scan_limit=CONFLICT_SORT_SCAN,
            )
        )

    @app.get("/stories/{story_id}", response_class=HTMLResponse, include_in_schema=False)
    def story_page(story_id: StoryId) -> HTMLResponse:
        return HTMLResponse(service.story_page(service.store.get_story(story_id)))

    @app.get("/articles/{article_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def article_page(article_id: ArticleId) -> HTMLResponse:
        from parallax.render import article_fragment
        from parallax.render.display import article_title
        from parallax.render.html import other_versions

        stored = service.store.get_stored(article_id)
        model = ArticleModel.model_validate(stored.article)
        story = service.store.get_story(stored.story_id)
        # The story's report colours the sentences; a copy or an article left out of a large
        # story's analysis is shown plain.
        report: StoryReport | None = service.report(story)
        if report is not None and not any(a.id == model.id for a in report.articles):
            report = None
        story_url = f"/stories/{quote(story.id, safe='')}"
        also = other_versions(report, model.id, href=lambda a: f"{story_url}#{a}") if report else None
        return HTMLResponse(
            _render(
                "article.html",
                title=article_title(model),
                article=model,
                stored=stored,
                story=story,
                coloured=report is not None,
                source_name=PurePath(model.source_path).name if model.source_path else "",
                fragment=article_fragment(model, report=report, also=also),
            )
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # browsers ask for it; an empty answer keeps the console clean

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(_render("api.html", title="HTTP API", spec=app.openapi()))

    return app
