"""Stage 1, ingest: read input files into :class:`~parallax.records.RawDocument` records.

Paths may be files, directories (read recursively in sorted order; hidden files and folders and
licence/read-me files skipped) or glob patterns. The format is chosen by extension:

========================  ==========================================================
``.txt`` (or none)        plain article text; id = file stem
``.html`` / ``.htm``      trafilatura main text and metadata (title, date, site, author)
``.json``                 one article object or a list of them
``.jsonl``                one article object per line (streamed)
``.warc`` / ``.warc.gz``  HTML response records (streamed with warcio)
``.xml/.rss/.atom``       feed entries (feedparser); entry content or summary as text
``<any>.gz``              the same formats gzipped (``.jsonl.gz``, ``.html.gz``, ...)
========================  ==========================================================

One bad file or record never stops the others: :func:`iter_documents` yields an
:class:`~parallax.errors.InputError` in its place, and :func:`read_paths` collects them (or raises
the first one when ``strict``). Whole-file formats are refused above ``Settings.max_input_bytes``
before anything is read; streamed formats (JSONL, WARC) are read record by record and each record
is held to ``Settings.max_article_chars``.

The outlet is taken, in order, from the input record (``outlet_source="input"``), the HTML
metadata site name (``"html"``) or the URL's host (``"url"``); otherwise it stays ``None`` and
:mod:`parallax.clean` infers it from a credit line or falls back to the file name.
"""

from __future__ import annotations

import calendar
import datetime as dt
import email.utils
import gzip
import html
import json
import logging
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, cast

from parallax.errors import (
    BinaryInputError,
    EmptyInputError,
    EncodingInputError,
    InputError,
    NoArticleBodyError,
    RecordInputError,
    TooLargeInputError,
    TruncatedInputError,
    UnsupportedInputError,
    safe_text,
)
from parallax.records import RawDocument
from parallax.settings import Settings

log = logging.getLogger(__name__)

#: Field names accepted for each article field of a JSON/JSONL record, in order of preference.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "text": ("text", "body", "content", "articleBody"),
    "outlet": ("outlet", "source", "site_name", "sitename", "publisher"),
    "url": ("url", "link"),
    "published": ("published", "date", "published_at", "publish_date", "datePublished"),
    "title": ("title", "headline"),
    "author": ("author", "authors", "byline"),
}

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom"})
TEXT_SUFFIXES = frozenset({".txt", ".text", ""})
#: Share of control characters (other than tab/newline/CR/FF) above which bytes count as binary.
BINARY_CONTROL_RATIO = 0.30
_BINARY_SAMPLE = 8192
_GLOB_CHARS = frozenset("*?[")
#: Licence and read-me files met while walking a directory are documentation, not articles.
_DOC_FILE = re.compile(r"(?:^|[-_])(?:LICEN[CS]E|README|COPYING|NOTICE)$", re.IGNORECASE)
#: trafilatura/htmldate settings: no "extensive" date search, which may fall back on weak clues
#: such as a copyright year; the publication date is the original one, never a guess.
DATE_PARAMS: dict[str, Any] = {"extensive_search": False, "original_date": True}
#: An HTML "body" shorter than this many words is navigation residue, not an article.
MIN_HTML_BODY_WORDS = 8
#: trafilatura body options, chosen on the extraction benchmark (``parallax eval extraction``):
#: precision-leaning extraction with tables and cleaning gave F1 0.972 against 0.966 without
#: tables and 0.968 with default precision; reader comments are never part of the article.
EXTRACTION_OPTIONS: dict[str, Any] = {
    "favor_precision": True,
    "include_tables": True,
    "include_comments": False,
}


@dataclass(frozen=True)
class IngestResult:
    """The documents read and the inputs that could not be used, in input order."""

    documents: list[RawDocument]
    errors: list[InputError]


# --- public API -----------------------------------------------------------------------------------


def read_paths(paths: Sequence[str | Path], *, settings: Settings, strict: bool = False) -> IngestResult:
    """Read every document under ``paths``; with ``strict``, raise the first input error instead."""
    documents: list[RawDocument] = []
    errors: list[InputError] = []
    for item in iter_documents(paths, settings=settings):
        if isinstance(item, InputError):
            if strict:
                raise item
            log.warning("skipped %s", item)
            errors.append(item)
        else:
            documents.append(item)
    return IngestResult(documents=documents, errors=errors)


def iter_documents(paths: Iterable[str | Path], *, settings: Settings) -> Iterator[RawDocument | InputError]:
    """Stream documents (or the error standing for a bad file or record) from ``paths``.

    1. Expand each path: a file, a directory (recursive, sorted, hidden entries skipped) or a glob.
    2. Read each file with the reader for its format; readers stream multi-record files.
    3. Make ids unique within this read: a repeated id gets ``~2``, ``~3``, ... in input order.
    """
    seen: set[str] = set()
    for path in _expand(paths):
        if isinstance(path, InputError):
            yield path
            continue
        # 2. one reader per format; a reader yields documents and per-record errors
        try:
            for item in _read_file(path, settings):
                if isinstance(item, RawDocument):
                    # 3. unique ids, deterministic given the input order
                    item = _unique(item, seen)
                yield item
        except InputError as exc:
            yield exc
        except OSError as exc:
            yield InputError(
                f"cannot read the file ({exc.strerror or exc}); check its permissions", path=path
            )


def normalize_published(value: object) -> str | None:
    """An ISO 8601 date (``2019-04-01``) or datetime for ``value``, or ``None`` if it is unusable.

    Accepts ISO strings, RFC 2822 strings (feeds, e-mail), Unix timestamps and absolute dates in
    words ("April 1, 2019"). Relative phrases ("2 hours ago") and dates lacking a day, month or
    year give ``None``: a publication date is never completed from today's date.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = float(value) / 1000 if value > 1e11 else float(value)
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    has_time = re.search(r"\d:\d\d", text) is not None
    try:
        if not has_time:
            return dt.date.fromisoformat(text[:10]).isoformat() if len(text) <= 10 else _iso_datetime(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    import dateparser  # slow to import; only free-form dates need it

    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "PARSERS": ["custom-formats", "absolute-time"],
            "REQUIRE_PARTS": ["day", "month", "year"],
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if not isinstance(parsed, dt.datetime):
        return None
    return parsed.isoformat() if has_time else parsed.date().isoformat()


def outlet_from_url(url: str | None) -> str | None:
    """A readable outlet name from a URL's host: ``https://www.foxnews.com/x`` -> ``foxnews.com``
    (:mod:`parallax.clean` then settles the canonical name with :mod:`parallax.outlets`)."""
    from parallax.outlets import host_of

    return host_of(url)


def decode_bytes(data: bytes, *, path: str | Path, line: int | None = None, record: str | None = None) -> str:
    """Decode ``data`` as text, or raise the input error that says why it is not text.

    1. A UTF-16 or UTF-8 byte order mark decides the encoding.
    2. NUL bytes, or more than 30% control characters, mean binary data.
    3. UTF-8; then cp1252 only if it decodes cleanly and the result looks like text.
    """
    # 1. byte order marks
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _newlines(data.decode("utf-16"))
        except UnicodeDecodeError as exc:
            raise EncodingInputError(
                f"UTF-16 text with invalid bytes at offset {exc.start}; re-save it as UTF-8",
                path=path,
                line=line,
                record=record,
            ) from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # 2. binary data
    check_not_binary(data, path=path, line=line, record=record)
    # 3. UTF-8, then a clean cp1252
    try:
        return _newlines(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if text and _looks_like_text(text):
        log.info("%s: not UTF-8, read as cp1252", safe_text(str(path)))
        return _newlines(text)
    raise EncodingInputError(
        f"the bytes are not UTF-8 (invalid byte at offset {utf8_error.start}) nor clean cp1252; "
        "re-save the file as UTF-8",
        path=path,
        line=line,
        record=record,
    )


#: Every byte except the control bytes (below 32 other than tab, newline, form feed and
#: carriage return, and DEL): what :func:`check_not_binary` deletes before counting.
_NOT_CONTROL = bytes(b for b in range(256) if not ((b < 32 and b not in (9, 10, 12, 13)) or b == 127))


def check_not_binary(
    data: bytes, *, path: str | Path, line: int | None = None, record: str | None = None
) -> None:
    """Raise :class:`BinaryInputError` when the start of ``data`` has NUL bytes or is mostly control bytes."""
    sample = data[:_BINARY_SAMPLE]
    if not sample:
        return
    # count the control bytes in C: delete every other byte, measure what is left
    controls = len(sample.translate(None, _NOT_CONTROL))
    if b"\x00" in sample or controls / len(sample) > BINARY_CONTROL_RATIO:
        raise BinaryInputError(
            "the file is binary, not text; give a text, HTML, JSON, JSONL, WARC or feed file",
            path=path,
            line=line,
            record=record,
        )


# --- expansion -----------------------------------------------------------------------------------


def _expand(paths: Iterable[str | Path]) -> Iterator[Path | InputError]:
    """The files under ``paths`` in order, each real file once, whatever the links between them.

    A directory is walked recursively in sorted order (hidden entries and licence/read-me files
    skipped); a glob (``*``, ``?``, ``[...]``, recursive ``**``) is matched by the same walk. The
    walk follows symbolic links to directories but enters each real directory once, so a link
    loop cannot make it run for ever, and a file met twice (by two names, links, or two
    arguments) is read once: files and directories are known by ``(st_dev, st_ino)``.
    """
    seen: set[tuple[int, int]] = set()

    def first_time(path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:
            return True  # let the reader report why it cannot be read
        key = (st.st_dev, st.st_ino)
        if key in seen:
            log.info("%s: already read under another name; skipped", safe_text(str(path)))
            return False
        seen.add(key)
        return True

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = (p for p in _walk(path) if not _DOC_FILE.search(p.name.split(".")[0]))
            yield from (p for p in files if first_time(p))
        elif path.is_file():
            if first_time(path):
                yield path
        elif _GLOB_CHARS & set(str(raw)):
            matches = _glob(str(raw))
            if not matches:
                yield InputError("no file matches this pattern; check the pattern and quoting", path=raw)
            yield from (p for p in matches if first_time(p))
        else:
            yield InputError("no such file or directory; check the path", path=raw)


def _walk(root: Path, *, max_depth: int | None = None) -> list[Path]:
    """The non-hidden files under ``root``, sorted, each real directory entered once (no link loops).

    ``max_depth`` bounds how many directory levels below ``root`` are read (``None``: all).
    """
    found: list[Path] = []
    entered: set[tuple[int, int]] = set()

    def visit(folder: Path, depth: int) -> None:
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in entered:
                return  # a link back to a directory already walked
            entered.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            log.warning(
                "%s: cannot list the folder (%s); skipped", safe_text(str(folder)), exc.strerror or exc
            )
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = folder / entry.name
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow links
            except OSError:
                continue
            if is_dir:
                if max_depth is None or depth < max_depth:
                    visit(child, depth + 1)
            elif is_file:
                found.append(child)

    visit(root, 0)
    return sorted(found)


def _glob(pattern: str) -> list[Path]:
    """The files matching a glob ``pattern`` (``**`` spans any number of folders), sorted.

    1. The folders before the first component with a wildcard are the root of the walk.
    2. The walk goes as deep as the pattern has components (any depth when it holds ``**``).
    3. Each file's path below the root is matched against the pattern, translated to a regular
       expression in which ``*`` and ``?`` never cross a ``/`` and ``**/`` matches zero or more folders.
    """
    parts = Path(pattern).parts
    # 1. root
    fixed = next((i for i, part in enumerate(parts) if _GLOB_CHARS & set(part)), len(parts))
    root = Path(*parts[:fixed]) if fixed else Path(".")
    rest = parts[fixed:]
    if not rest or not root.is_dir():
        return []
    # 2. walk
    depth = None if "**" in rest else len(rest) - 1
    # 3. match
    regex = re.compile(_glob_regex(rest))
    return [p for p in _walk(root, max_depth=depth) if regex.fullmatch(p.relative_to(root).as_posix())]


def _glob_regex(parts: Sequence[str]) -> str:
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_segment_regex(part))
        if not last:
            out.append("/")
    return "".join(out)


def _segment_regex(part: str) -> str:
    """One glob path component as a regular expression that never matches ``/``."""
    out, i = [], 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := part.find("]", i + 2)) != -1:
            body = part[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append(("[^/" if negate else "[") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _unique(doc: RawDocument, seen: set[str]) -> RawDocument:
    base = doc.id or Path(doc.source_path).stem
    new_id, n = base, 1
    while new_id in seen:
        n += 1
        new_id = f"{base}~{n}"
    seen.add(new_id)
    if new_id == doc.id:
        return doc
    return _replace(doc, id=new_id)


def _replace(doc: RawDocument, **changes: Any) -> RawDocument:
    fields = {name: getattr(doc, name) for name in RawDocument.__slots__}
    fields.update(changes)
    return RawDocument(**fields)


# --- dispatch ------------------------------------------------------------------------------------


def _format_of(path: Path) -> tuple[str, bool]:
    """The format name and whether the file is gzipped, from the file name."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    inner = suffixes[-2] if gz and len(suffixes) == 2 else ("" if gz else (suffixes[-1] if suffixes else ""))
    if inner == ".warc":
        return "warc", gz
    if inner in HTML_SUFFIXES:
        return "html", gz
    if inner in FEED_SUFFIXES:
        return "feed", gz
    if inner == ".jsonl" or inner == ".ndjson":
        return "jsonl", gz
    if inner == ".json":
        return "json", gz
    if inner in TEXT_SUFFIXES or not re.fullmatch(r"\.[a-z][a-z0-9]{0,5}", inner):
        # no extension, or a "suffix" that is part of the name (e.g. "report.2019"): read as text
        return "text", gz
    return "unknown", gz


def _read_file(path: Path, settings: Settings) -> Iterator[RawDocument | InputError]:
    fmt, gz = _format_of(path)
    if fmt == "unknown":
        raise UnsupportedInputError(
            f"unsupported file type {path.suffix!r}; use .txt, .html, .json, .jsonl, .warc(.gz), .rss/.atom/.xml",
            path=path,
        )
    if fmt == "warc":
        yield from _read_warc(path, settings)
        return
    if fmt == "jsonl":
        yield from _read_jsonl(path, settings, gz=gz)
        return
    data = _read_whole(path, settings, gz=gz)
    if not data.strip():
        raise EmptyInputError("the file is empty; remove it or add the article text", path=path)
    if fmt == "html":
        yield _html_document(data, path=path, settings=settings)
    elif fmt == "feed":
        yield from _read_feed(data, path, settings)
    elif fmt == "json":
        yield from _read_json(decode_bytes(data, path=path), path, settings)
    else:
        text = decode_bytes(data, path=path)
        if suffix_less_html(path, text):
            yield _html_document(data, path=path, settings=settings)
        else:
            yield _text_document(text, path=path, settings=settings)


def suffix_less_html(path: Path, text: str) -> bool:
    """Whether a file without a known extension holds an HTML page rather than plain text."""
    head = text[:1024].lstrip().lower()
    return path.suffix == "" and head.startswith(("<!doctype html", "<html"))


def _read_whole(path: Path, settings: Settings, *, gz: bool) -> bytes:
    limit = settings.max_input_bytes
    size = path.stat().st_size
    if size > limit:
        raise TooLargeInputError(
            f"the file has {size} bytes, more than the limit of {limit}; split it or raise max_input_bytes",
            path=path,
        )
    if not gz:
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except EOFError as exc:
        raise TruncatedInputError(
            "truncated: the gzip data ends early; nothing of it is used, download the file again", path=path
        ) from exc
    except (OSError, zlib.error) as exc:
        raise BinaryInputError(f"not a readable gzip file ({exc}); check the file", path=path) from exc
    if len(data) > limit:
        raise TooLargeInputError(
            f"the file unpacks to more than the limit of {limit} bytes; split it or raise max_input_bytes",
            path=path,
        )
    return data


def _file_stem(path: Path | str) -> str:
    """The file name without its format suffixes, escaped (:func:`~parallax.errors.safe_text`): an id."""
    name = Path(path).name
    for suffix in (".gz", ".warc"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return safe_text(Path(name).stem if "." in name else name)


def _check_length(text: str, settings: Settings, *, path: Path, line: int | None, record: str | None) -> None:
    if len(text) > settings.max_article_chars:
        raise TooLargeInputError(
            f"the article has {len(text)} characters, more than the limit of {settings.max_article_chars}; "
            "split it or raise max_article_chars",
            path=path,
            line=line,
            record=record,
        )


# --- plain text ----------------------------------------------------------------------------------


def _text_document(text: str, *, path: Path, settings: Settings) -> RawDocument:
    if not text.strip():
        raise EmptyInputError("the file has no text; remove it or add the article text", path=path)
    _check_length(text, settings, path=path, line=None, record=None)
    return RawDocument(source_path=safe_text(str(path)), text=text, id=_file_stem(path))


# --- HTML ----------------------------------------------------------------------------------------


def extract_html(
    content: bytes | str,
    *,
    path: str | Path,
    url: str | None = None,
    record: str | None = None,
    doc_id: str | None = None,
    settings: Settings,
) -> RawDocument:
    """The article of one HTML page: trafilatura's main text plus title, date, site and author.

    The date comes from the page itself (markup, URL) and is ``None`` when the page has none.
    """
    import trafilatura

    if _paragraph_count(content) > LONG_PAGE_PARAGRAPHS:
        result: Any = _extract_long_page(content, url=url)
    else:
        result = trafilatura.bare_extraction(
            content,
            url=url,
            with_metadata=True,
            date_extraction_params=dict(DATE_PARAMS),
            **EXTRACTION_OPTIONS,
        )
    text = getattr(result, "text", None) if result is not None else None
    if not text or len(text.split()) < MIN_HTML_BODY_WORDS:
        raise NoArticleBodyError(
            "no article body could be extracted from this HTML page; give the article text as .txt instead",
            path=path,
            record=record,
        )
    _check_length(text, settings, path=Path(path), line=None, record=record)
    meta_url = getattr(result, "url", None) or url
    sitename = getattr(result, "sitename", None)
    if sitename and "." in sitename and " " not in sitename:
        # trafilatura falls back on the host name when the page names no site: that is URL evidence
        sitename = None
    outlet, outlet_source = (sitename, "html") if sitename else (outlet_from_url(meta_url), "url")
    return RawDocument(
        source_path=safe_text(str(path)),
        text=_newlines(text),
        id=doc_id or _file_stem(path),
        record=int(record) if record is not None and record.isdigit() else None,
        outlet=outlet,
        outlet_source=outlet_source if outlet else None,
        url=meta_url,
        title=getattr(result, "title", None) or None,
        published=normalize_published(getattr(result, "date", None)),
        author=getattr(result, "author", None) or None,
    )


#: Pages with more paragraphs than this take the linear extraction path (:func:`_extract_long_page`).
#: trafilatura's main-content pass grows with the square of the paragraph count (3 s for 10k
#: paragraphs, 58 s for 100k); every page of the extraction benchmark has at most 251 paragraph
#: tags, so ordinary articles never take the long path.
LONG_PAGE_PARAGRAPHS = 5_000
_P_TAG = re.compile(rb"<p[\s>]", re.IGNORECASE)
#: Elements whose text is a paragraph of the long-page path; and elements that are never article text.
_LONG_PAGE_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "th", "dd")
_LONG_PAGE_DROP = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "template",
    "svg",
)


def _paragraph_count(content: bytes | str) -> int:
    data = content.encode("utf-8", "replace") if isinstance(content, str) else content
    return len(_P_TAG.findall(data))


@dataclass(frozen=True)
class _LongPage:
    """What :func:`_extract_long_page` finds, with the attribute names of trafilatura's result."""

    text: str
    title: str | None
    date: str | None
    sitename: str | None
    author: str | None
    url: str | None


def _extract_long_page(content: bytes | str, *, url: str | None) -> _LongPage | None:
    """Main text and metadata of a page too long for trafilatura's main-content pass, in linear time.

    1. Parse with lxml; drop scripts, styles, navigation, headers, footers, asides and forms.
    2. Take the first ``<article>``, else ``<main>``, else ``<body>``.
    3. One paragraph per outermost block element (p, headings, list items, quotes, cells), in order.
    4. Metadata (title, date, site, author) from trafilatura's metadata pass, which is linear.
    """
    import lxml.html
    from lxml import etree
    from trafilatura import extract_metadata

    # 1. parse and prune
    try:
        tree = lxml.html.fromstring(content)
    except (etree.ParserError, ValueError):
        return None
    for element in list(tree.iter(*_LONG_PAGE_DROP)):
        element.drop_tree()
    # 2. main container
    root = next(iter(tree.iter("article")), None)
    if root is None:
        root = next(iter(tree.iter("main")), tree)
    # 3. outermost blocks
    blocks = set(_LONG_PAGE_BLOCKS)
    paragraphs = []
    for element in root.iter(*_LONG_PAGE_BLOCKS):
        if any(parent.tag in blocks for parent in element.iterancestors()):
            continue
        text = " ".join(element.text_content().split())
        if text:
            paragraphs.append(text)
    # 4. metadata
    meta = extract_metadata(content, default_url=url, date_config=dict(DATE_PARAMS))
    return _LongPage(
        text="\n".join(paragraphs),
        title=getattr(meta, "title", None),
        date=getattr(meta, "date", None),
        sitename=getattr(meta, "sitename", None),
        author=getattr(meta, "author", None),
        url=getattr(meta, "url", None) or url,
    )


def _html_document(data: bytes, *, path: Path, settings: Settings) -> RawDocument:
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        check_not_binary(data, path=path)
    return extract_html(data, path=path, settings=settings)


# --- JSON and JSONL ------------------------------------------------------------------------------


def _read_json(text: str, path: Path, settings: Settings) -> Iterator[RawDocument | InputError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordInputError(
            f"invalid JSON ({_json_problem(exc)}); fix the file", path=path, line=exc.lineno
        ) from exc
    if isinstance(data, dict):
        yield _record_document(data, path=path, settings=settings, line=None, record=None)
    elif isinstance(data, list):
        if not data:
            raise EmptyInputError("the JSON list holds no articles; remove the file", path=path)
        for i, obj in enumerate(data, start=1):
            try:
                yield _record_document(obj, path=path, settings=settings, line=None, record=str(i))
            except InputError as exc:
                yield exc
    else:
        raise RecordInputError(
            f"expected a JSON object or a list of objects, found {type(data).__name__}", path=path
        )


def _json_problem(exc: json.JSONDecodeError) -> str:
    """``"Unterminated string starting at column 9"``: the decoder's message ends in "at" for some errors."""
    return f"{exc.msg.removesuffix(' at')} at column {exc.colno}"


def _read_jsonl(path: Path, settings: Settings, *, gz: bool) -> Iterator[RawDocument | InputError]:
    """The records of a JSONL file, one per line, each bad line its own error.

    A binary file is one error for the file, not one per "line"; a gzip stream that ends early
    keeps the lines before the cut and reports the cut once.
    """
    any_line = False
    lineno = 0
    with _open_binary(path, gz=gz) as fh:
        try:
            head = fh.read(_BINARY_SAMPLE)
            if not head.startswith((b"\xff\xfe", b"\xfe\xff")):
                check_not_binary(head, path=path)
            fh.seek(0)
            for lineno, raw in enumerate(_bounded_lines(fh, settings.max_input_bytes), start=1):
                if raw is None:
                    yield TooLargeInputError(
                        f"the line is longer than the limit of {settings.max_input_bytes} bytes; split it",
                        path=path,
                        line=lineno,
                    )
                    continue
                if not raw.strip():
                    continue
                any_line = True
                try:
                    line = decode_bytes(raw, path=path, line=lineno)
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise RecordInputError(
                            f"invalid JSON ({_json_problem(exc)}); fix or remove this line",
                            path=path,
                            line=lineno,
                        ) from exc
                    yield _record_document(obj, path=path, settings=settings, line=lineno, record=None)
                except InputError as exc:
                    yield exc
        except (OSError, EOFError, zlib.error) as exc:
            if gz and any_line:
                yield TruncatedInputError(
                    f"truncated: the gzip data ends early after line {lineno}; the complete lines "
                    "before it were read, download the file again for the rest",
                    path=path,
                )
                return
            raise BinaryInputError(
                f"the file cannot be read to its end ({exc}); check it", path=path
            ) from exc
    if not any_line:
        raise EmptyInputError("the file has no records; remove it or add one JSON object per line", path=path)


def _open_binary(path: Path, *, gz: bool) -> IO[bytes]:
    """``path`` opened for binary reading, gunzipped on the fly when ``gz``."""
    if gz:
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _bounded_lines(fh: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """The lines of ``fh``; ``None`` stands for a line over ``limit`` bytes (skipped, not held)."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = fh.readline(limit + 1)
            yield None
            continue
        yield line


def _field(obj: dict[str, Any], name: str) -> tuple[str | None, Any]:
    for key in FIELD_ALIASES[name]:
        if key in obj and obj[key] not in (None, ""):
            return key, obj[key]
    return None, None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("name") or value.get("title")
    if isinstance(value, list):
        parts = [_as_text(v) for v in value]
        value = ", ".join(p for p in parts if p)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _record_document(
    obj: Any, *, path: Path, settings: Settings, line: int | None, record: str | None
) -> RawDocument:
    if not isinstance(obj, dict):
        raise RecordInputError(
            f"expected a JSON object, found {type(obj).__name__}; give one article object per record",
            path=path,
            line=line,
            record=record,
        )
    text_key, text = _field(obj, "text")
    if text_key is None:
        raise RecordInputError(
            "the record has no text field (expected one of "
            + ", ".join(repr(k) for k in FIELD_ALIASES["text"])
            + "); add the article text",
            path=path,
            line=line,
            record=record,
        )
    if not isinstance(text, str):
        raise RecordInputError(
            f"field {text_key!r} must be a string, found {type(text).__name__}",
            path=path,
            line=line,
            record=record,
        )
    if not text.strip():
        raise EmptyInputError(
            f"field {text_key!r} is empty; remove the record", path=path, line=line, record=record
        )
    _check_length(text, settings, path=path, line=line, record=record)
    used = {k for name in FIELD_ALIASES for k in FIELD_ALIASES[name]}
    url = _as_text(_field(obj, "url")[1])
    outlet = _as_text(_field(obj, "outlet")[1])
    outlet_source = "input" if outlet else None
    if not outlet:
        outlet = outlet_from_url(url)
        outlet_source = "url" if outlet else None
    number = line if line is not None else (int(record) if record is not None else None)
    raw_id = _as_text(_field(obj, "id")[1])
    if raw_id is None:
        raw_id = _file_stem(path) + (f"#{number}" if number is not None else "")
    return RawDocument(
        source_path=safe_text(str(path)),
        text=_newlines(text),
        id=raw_id,
        record=number,
        outlet=outlet,
        outlet_source=outlet_source,
        url=url,
        title=_as_text(_field(obj, "title")[1]),
        published=normalize_published(_field(obj, "published")[1]),
        author=_as_text(_field(obj, "author")[1]),
        extra=tuple(
            (str(k), str(v))
            for k, v in obj.items()
            if k not in used and isinstance(v, str | int | float) and not isinstance(v, bool)
        ),
    )


# --- WARC ----------------------------------------------------------------------------------------


def _read_warc(path: Path, settings: Settings) -> Iterator[RawDocument | InputError]:
    """The HTML response records of a WARC file (gzipped or not), streamed.

    A file cut short (an interrupted download) keeps its complete records; the record that ends
    early becomes one :class:`TruncatedInputError` ("truncated: record N ends early") and is never
    stored in part: a record counts as complete only when all the bytes its ``Content-Length``
    announces were read.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    stem = _file_stem(path)
    found = False
    index = 0
    with path.open("rb") as fh:
        archive = ArchiveIterator(fh)
        records = iter(archive)
        while True:
            try:
                rec = next(records)
            except StopIteration:
                # warcio ends quietly on a record whose headers are cut: bytes after the start of
                # the record it could not read mean a cut file (a few are the CRLF trailer)
                if os.fstat(fh.fileno()).st_size - int(archive.offset) > 4:
                    yield _truncated(path, index + 1)
                    found = True
                break
            except ArchiveLoadFailed as exc:
                if index == 0:
                    raise UnsupportedInputError(
                        f"not a readable WARC file ({exc}); check the file", path=path
                    ) from exc
                yield _truncated(path, index + 1, exc)
                found = True  # the cut is the one error of this file
                break
            except Exception as exc:  # warcio raises assorted errors on a cut stream
                yield _truncated(path, index + 1, exc)
                found = True  # the cut is the one error of this file
                break
            index += 1
            if rec.rec_headers.get_header("Content-Length") is None:
                # every WARC record has one: a record whose headers are cut short
                yield _truncated(path, index)
                found = True
                break
            if rec.rec_type not in ("response", "resource"):
                continue
            found = True
            try:
                yield _warc_document(rec, path=path, index=index, stem=stem, settings=settings)
            except InputError as exc:
                yield exc
            except (OSError, EOFError, zlib.error) as exc:
                yield _truncated(path, index, exc)
                break
    if not found:
        raise EmptyInputError("the WARC file holds no response records; nothing to read", path=path)


def _truncated(path: Path, record: int, exc: BaseException | None = None) -> TruncatedInputError:
    if exc is not None:
        log.debug("%s: record %d: %r", safe_text(str(path)), record, exc)
    return TruncatedInputError(
        f"truncated: record {record} ends early; the complete records before it were read, "
        "download the file again for the rest",
        path=path,
        record=str(record),
    )


def _warc_document(rec: Any, *, path: Path, index: int, stem: str, settings: Settings) -> RawDocument:
    uri = rec.rec_headers.get_header("WARC-Target-URI") or "<no target URI>"
    record = str(index)
    if rec.http_headers is not None:
        status = rec.http_headers.get_statuscode() or ""
        ctype = rec.http_headers.get_header("Content-Type") or ""
    else:
        status, ctype = "200", rec.rec_headers.get_header("Content-Type") or ""
    if status and not status.startswith("2"):
        raise UnsupportedInputError(
            f"HTTP status {status} for {uri}; only successful page responses hold articles",
            path=path,
            record=record,
        )
    if "html" not in ctype.lower():
        raise UnsupportedInputError(
            f"{uri} is {ctype.split(';')[0].strip() or 'of unknown type'}, not HTML; only HTML pages are read",
            path=path,
            record=record,
        )
    data = rec.content_stream().read(settings.max_input_bytes + 1)
    if len(data) <= settings.max_input_bytes and getattr(rec.raw_stream, "limit", 0) > 0:
        # the stream ended before the record's Content-Length: a cut file, never stored in part
        raise _truncated(path, index)
    if len(data) > settings.max_input_bytes:
        raise TooLargeInputError(
            f"the page {uri} is larger than the limit of {settings.max_input_bytes} bytes",
            path=path,
            record=record,
        )
    if not data.strip():
        raise EmptyInputError(f"the response for {uri} is empty", path=path, record=record)
    return extract_html(data, path=path, url=uri, record=record, doc_id=f"{stem}#{index}", settings=settings)


# --- feeds ---------------------------------------------------------------------------------------


class _TextOfHTML(HTMLParser):
    """Text of an HTML fragment with block elements as line breaks (scripts and styles dropped)."""

    BLOCKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(fragment: str) -> str:
    """Plain text of an HTML fragment: one line per block element, entities decoded."""
    if "<" not in fragment:
        return html.unescape(fragment).strip()
    parser = _TextOfHTML()
    parser.feed(fragment)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _read_feed(data: bytes, path: Path, settings: Settings) -> Iterator[RawDocument | InputError]:
    import feedparser

    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        check_not_binary(data, path=path)
    feed = feedparser.parse(data)
    if not feed.entries:
        if not feed.get("version"):
            raise UnsupportedInputError(
                "not an RSS or Atom feed; only feeds are read from .xml/.rss/.atom files", path=path
            )
        if feed.get("bozo"):
            raise RecordInputError(
                f"not a readable RSS/Atom feed ({feed.get('bozo_exception')}); check the file", path=path
            )
        raise EmptyInputError("the feed has no entries; nothing to read", path=path)
    feed_title = _as_text(feed.feed.get("title"))
    stem = _file_stem(path)
    for index, entry in enumerate(feed.entries, start=1):
        try:
            yield _feed_document(entry, feed_title, path=path, index=index, stem=stem, settings=settings)
        except InputError as exc:
            yield exc


def _feed_document(
    entry: Any, feed_title: str | None, *, path: Path, index: int, stem: str, settings: Settings
) -> RawDocument:
    record = str(index)
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    raw = max(contents, key=len) if contents else entry.get("summary", "")
    text = strip_html(raw or "")
    title = _as_text(entry.get("title"))
    if not text:
        raise EmptyInputError(
            f"the entry {title or entry.get('link') or ''!r} has no content or summary text",
            path=path,
            record=record,
        )
    _check_length(text, settings, path=path, line=None, record=record)
    link = _as_text(entry.get("link"))
    source = entry.get("source") or {}
    outlet = _as_text(source.get("title")) or feed_title
    outlet_source = "input" if outlet else None
    if not outlet:
        outlet = outlet_from_url(link)
        outlet_source = "url" if outlet else None
    published = None
    for key in ("published_parsed", "updated_parsed"):
        stamp = entry.get(key)
        if stamp:
            published = dt.datetime.fromtimestamp(calendar.timegm(stamp), tz=dt.UTC).isoformat()
            break
    if published is None:
        published = normalize_published(entry.get("published") or entry.get("updated"))
    guid = _as_text(entry.get("id"))
    return RawDocument(
        source_path=safe_text(str(path)),
        text=text,
        id=f"{stem}#{index}",
        record=index,
        outlet=outlet,
        outlet_source=outlet_source,
        url=link,
        title=title,
        published=published,
        author=_as_text(entry.get("author")),
        extra=(("guid", guid),) if guid else (),
    )


# --- helpers -------------------------------------------------------------------------------------


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _iso_datetime(text: str) -> str:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()


def _looks_like_text(text: str) -> bool:
    """Whether decoded text is mostly letters, digits, punctuation and spaces (not mojibake or data)."""
    if not text:
        return False
    odd = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0x7F <= ord(ch) < 0xA0)
    return odd / len(text) < 0.01
