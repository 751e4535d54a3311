"""The embedded corpus store: one SQLite file holding articles, stories, their history and cached reports.

Why SQLite: it needs no server, a single file is easy to copy, and WAL mode lets the web server read
while ``parallax ingest`` writes. Every ingest batch is written in ONE transaction together with the
state of the near-duplicate index and the story clusterer (see :mod:`parallax.corpus`), so a crash
(even ``kill -9``) leaves the articles and that state consistent: a re-run resumes where the last
committed batch ended.

``synchronous=NORMAL``: in WAL mode it never corrupts the database; after a *power loss* the last
few committed batches may be rolled back, which a re-run of the (idempotent) ingest repairs. FULL
would fsync on every commit for no gain against process crashes, which is what ``kill -9`` is.

Schema changes are versioned migrations (:data:`MIGRATIONS`): migration ``n`` brings a database
from version ``n - 1`` to ``n`` and runs in its own transaction, so a database is never left between
two versions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from parallax.errors import NotFoundError, StoreBusyError, StoreError, safe_text
from parallax.records import Article, RemovedLine

if TYPE_CHECKING:  # the pipeline pulls in every stage and the models; load it only for reports
    import numpy as np

    from parallax.nlp import DocCache, MemoryDocCache
    from parallax.pipeline import Parallax
    from parallax.profiles import Coverage, Evidence
    from parallax.report import StoryReport

log = logging.getLogger(__name__)

StorySort = Literal["recent", "size"]

# --- schema migrations ------------------------------------------------------------------------

_V1 = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    source_path TEXT NOT NULL,
    record INTEGER,
    outlet TEXT NOT NULL,
    outlet_source TEXT NOT NULL,
    title TEXT,
    published TEXT,
    url TEXT,
    author TEXT,
    text TEXT NOT NULL,
    removed TEXT NOT NULL DEFAULT '[]',
    copy_of TEXT REFERENCES articles(id),
    story_id TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE
);
CREATE INDEX articles_story ON articles(story_id, seq);
CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_seq INTEGER NOT NULL,
    updated_seq INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE skipped (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    record TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (source, record, reason)
);
"""

_V2 = """
ALTER TABLE stories ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stories ADD COLUMN independent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stories ADD COLUMN outlets TEXT NOT NULL DEFAULT '[]';
ALTER TABLE stories ADD COLUMN first_published TEXT;
ALTER TABLE stories ADD COLUMN last_published TEXT;
CREATE INDEX stories_recent ON stories(last_published, updated_seq);
CREATE INDEX stories_size ON stories(size);
CREATE INDEX articles_outlet ON articles(outlet);
CREATE INDEX articles_copy ON articles(copy_of);
CREATE TABLE story_events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    story_id TEXT NOT NULL,
    others TEXT NOT NULL DEFAULT '[]',
    doc_id TEXT,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX story_events_story ON story_events(story_id);
CREATE TABLE reports (
    story_id TEXT PRIMARY KEY,
    story_version INTEGER NOT NULL,
    schema_version TEXT NOT NULL,
    json TEXT NOT NULL,
    computed_at TEXT NOT NULL
);
CREATE TABLE ingest_state (
    key TEXT PRIMARY KEY,
    value BLOB,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE ingest_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    paths TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    summary TEXT
);
"""


def _backfill_story_columns(conn: sqlite3.Connection) -> None:
    ids = [r[0] for r in conn.execute("SELECT id FROM stories")]
    for story_id in ids:
        _refresh_story_row(conn, story_id, seq=None)


#: Version 3: the title of a story (its first independent titled article) is an index seek, not a
#: scan of the story's articles, so that refreshing a story row costs the same at any story size.
_V3 = """
CREATE INDEX articles_story_title ON articles(story_id, (copy_of IS NOT NULL), seq)
    WHERE title IS NOT NULL AND title != '';
"""

#: Version 4: one name per outlet (:mod:`parallax.outlets`). ``outlet`` holds the canonical name and
#: ``outlet_raw`` the form the input gave ("fox", "foxnews.com"); stores written before are rewritten.
_V4 = """
ALTER TABLE articles ADD COLUMN outlet_raw TEXT;
"""


def _canonical_outlets(conn: sqlite3.Connection) -> None:
    """Data step of version 4: settle every stored outlet with the shipped table, keeping the raw form.

    1. a raw form the table knows by itself (a name or alias) is rewritten with one UPDATE;
    2. any other is settled per article, since its URL may name the outlet;
    3. the story rows' outlet lists are recomputed.
    """
    from parallax.outlets import default_table

    table = default_table()
    pairs = conn.execute("SELECT DISTINCT outlet, outlet_source FROM articles").fetchall()
    for raw, source in pairs:
        # 1. known by its name alone
        found = table.lookup(str(raw)) if source != "filename" else None
        if found is not None:
            conn.execute(
                "UPDATE articles SET outlet = ?, outlet_raw = CASE WHEN outlet = ? THEN NULL ELSE outlet END "
                "WHERE outlet = ? AND outlet_source = ?",
                (found.name, found.name, raw, source),
            )
            continue
        # 2. per article
        for aid, url in conn.execute(
            "SELECT id, url FROM articles WHERE outlet = ? AND outlet_source = ?", (raw, source)
        ).fetchall():
            name = table.resolve(str(raw), source=str(source), url=None if url is None else str(url)).name
            if name != raw:
                conn.execute("UPDATE articles SET outlet = ?, outlet_raw = ? WHERE id = ?", (name, raw, aid))
    # 3. story rows
    _backfill_story_columns(conn)


#: Version 5: sentence vectors by embedder and content hash, so that a story's report only
#: encodes the sentences it has not seen before (see :meth:`Store.get_vectors`).
_V5_SENTENCE_VECTORS = """
CREATE TABLE sentence_vectors (
    embedder TEXT NOT NULL,
    hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (embedder, hash)
) WITHOUT ROWID;
"""

#: Version 6: per story and outlet, the counts and evidence an outlet profile adds up
#: (:mod:`parallax.profiles`), saved with each computed report and keyed by the story version.
_V6_OUTLET_STATS = """
CREATE TABLE outlet_stats (
    story_id TEXT NOT NULL,
    story_version INTEGER NOT NULL,
    outlet TEXT NOT NULL,
    articles INTEGER NOT NULL DEFAULT 0,
    words INTEGER NOT NULL DEFAULT 0,
    multi_outlet INTEGER NOT NULL DEFAULT 0,
    facts INTEGER NOT NULL DEFAULT 0,
    unique_facts INTEGER NOT NULL DEFAULT 0,
    all_others_facts INTEGER NOT NULL DEFAULT 0,
    omitted INTEGER NOT NULL DEFAULT 0,
    loaded_spans INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0,
    fid_verbatim INTEGER NOT NULL DEFAULT 0,
    fid_spelling INTEGER NOT NULL DEFAULT 0,
    fid_bracketed INTEGER NOT NULL DEFAULT 0,
    fid_trimmed INTEGER NOT NULL DEFAULT 0,
    fid_altered INTEGER NOT NULL DEFAULT 0,
    evidence TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (story_id, outlet)
);
CREATE INDEX outlet_stats_outlet ON outlet_stats(outlet);
CREATE TABLE outlet_terms (
    story_id TEXT NOT NULL,
    outlet TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    sub TEXT NOT NULL DEFAULT '',
    a INTEGER NOT NULL DEFAULT 0,
    b INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outlet_terms_story ON outlet_terms(story_id);
"""

#: Version 7: parsed spaCy docs (``DocBin`` bytes) by parse key and text hash, so that a story's
#: report parses only the articles it has not seen before (see :meth:`Store.get_docs`). ``used``
#: (Unix time of the last read or write) orders the eviction past ``Settings.doc_cache_mb``; the
#: index on (used, size) lets the size sum and the eviction scan skip the blobs. A rowid table,
#: not WITHOUT ROWID: rows of ~12 KB are far past the size SQLite advises for the latter.
_V7_PARSED_DOCS = """
CREATE TABLE parsed_docs (
    parse_key TEXT NOT NULL,
    hash TEXT NOT NULL,
    doc BLOB NOT NULL,
    size INTEGER NOT NULL,
    used REAL NOT NULL,
    PRIMARY KEY (parse_key, hash)
);
CREATE INDEX parsed_docs_used ON parsed_docs(used, size);
"""

#: Migration ``i`` (0-based) brings the schema to version ``i + 1``. Append only; never edit a released one.
MIGRATIONS: tuple[tuple[str, Callable[[sqlite3.Connection], None] | None], ...] = (
    (_V1, None),
    (_V2, _backfill_story_columns),
    (_V3, None),
    (_V4, _canonical_outlets),
    (_V5_SENTENCE_VECTORS, None),
    (_V6_OUTLET_STATS, None),
    (_V7_PARSED_DOCS, None),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Apply the pending migrations up to ``target``, each in its own transaction; return the version.

    1. read the current version (0 for a new file);
    2. refuse a database written by a newer Parallax;
    3. apply each pending migration's SQL and data step, then record the version, in one transaction.
    """
    # 1. current version
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    current = int(row[0] or 0)
    # 2. a newer file
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the store was written by a newer Parallax (schema {current}, this one knows {SCHEMA_VERSION}); "
            "upgrade Parallax or use another --db"
        )
    # 3. pending migrations
    for version in range(current + 1, target + 1):
        sql, data_step = MIGRATIONS[version - 1]
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have applied this migration since step 1: the version read under
            # the write lock decides (two processes opening an old store at once both succeed).
            now = int(conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)
            if now >= version:
                conn.execute("COMMIT")
                current = now
                continue
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if data_step is not None:
                data_step(conn)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"cannot migrate the store to schema {version}: {exc}") from exc
        log.info("store migrated to schema %d", version)
        current = version
    return current


def _ensure_wal(conn: sqlite3.Connection, *, wait: float = 30.0) -> None:
    """Switch ``conn``'s database to WAL unless it already is, retrying while others hold it.

    Leaving a rollback journal needs the database to itself, and SQLite answers "database is
    locked" at once, without its busy handler, when another connection is reading it (an older
    store opened by several processes at once); so the switch is retried for up to ``wait``
    seconds. Stores created by this version are WAL from the start and never wait here.
    """
    deadline = time.monotonic() + wait
    pause = 0.01
    while True:
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            if str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower() == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked (could not switch to WAL)")
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


# --- race-free creation and one writer at a time ------------------------------------------------


def lock_path(path: Path) -> Path:
    """The sidecar file whose advisory lock marks the store's one writer: ``<db>.lock``."""
    return path.with_name(path.name + ".lock")


def create_store_file(path: Path) -> None:
    """Create a fully migrated, empty store at ``path`` atomically; a no-op when one appears first.

    1. build the store in a private temporary file next to ``path`` (same directory, same file
       system), migrated to the current schema and switched to WAL;
    2. hard-link it to ``path``: the link fails when the name exists, so of two processes creating
       the store at once exactly one wins and the other simply opens the winner's file; a reader
       never sees a half-created store, since the name appears only once the file is complete;
    3. remove the temporary name.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot create the store's folder ({exc.strerror or exc}); use another --db"
        ) from exc
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.creating")
    try:
        # 1. a complete store under a private name
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            migrate(conn)
        finally:
            conn.close()
        # 2. publish it under its name unless another process did first
        try:
            os.link(tmp, path)
        except FileExistsError:
            log.info("%s: created by another process meanwhile; using that one", path)
        except OSError:
            # a file system without hard links: take the name only if it is still free
            if not path.exists():
                os.replace(tmp, path)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot create the store ({exc}); use another --db") from exc
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot create the store ({exc.strerror or exc}); use another --db"
        ) from exc
    finally:
        # 3. drop the private name (and any journal SQLite left beside it)
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


#: Page cache of a writing connection, in KiB. SQLite's default (2 MiB) is outgrown by the article and
#: sentence indexes after ~150k articles, and every batch insert then reads index pages back from disk
#: (the corpus driver measured batch writes growing from 69 to 150-190 us/article). 64 MiB keeps the hot
#: index pages of a million-article store in memory at a fixed, small cost.
WRITER_CACHE_KIB = 65536


#: WAL frames (pages) above which a writer whose checkpoints run in the background waits for the
#: checkpointer to catch up (about 256 MiB of WAL at 4 KiB pages): the WAL stays bounded even when
#: the checkpointer falls behind.
BACKGROUND_WAL_LIMIT = 65536
#: Seconds a writer waits at most for that catch-up (a reader holding an old snapshot can stop
#: any checkpoint from finishing; the writer then goes on, as SQLite's own checkpoints would).
BACKGROUND_WAL_WAIT = 5.0
#: SQLite's default automatic checkpoint (pages), restored when background checkpoints end.
AUTOCHECKPOINT_PAGES = 1000


class WalCheckpointer:
    """Copies a store's write-ahead log into the database file on a thread of its own.

    Why: with SQLite's automatic checkpoints, the connection that commits copies the WAL back into
    the database after every large transaction and, with ``synchronous=NORMAL``, waits for two
    ``fsync`` calls. An ingest batch dirties index pages all over a large store (content hashes,
    article ids and story ids are random keys), so the pages to copy and sync grow with the store
    until each new article dirties its own page in every such index: the ``fsync`` calls, three
    per batch, took 10-16 ms each in the first 50,000 articles and 20-60 ms after 100,000. On this
    thread the copy and the waits overlap the ingest driver's work instead of stalling it (the
    ``sqlite3`` module releases the GIL while SQLite runs).

    1. the writer switches its automatic checkpoints off and calls :meth:`notify` after each commit;
    2. the thread runs a ``PASSIVE`` checkpoint (never blocks the writer or readers) on its own
       connection whenever notified, and records how far the WAL is copied;
    3. when the last checkpoint found more than ``limit`` frames in the WAL (the writer's next
       transaction did not restart it: the thread was still copying), :meth:`notify` waits (at
       most ``wait`` seconds) for a checkpoint begun after the commit to copy everything, so that
       the next transaction restarts the WAL from its beginning: the WAL stays bounded;
    4. :meth:`close` stops the thread; the writer then restores its automatic checkpoints.

    Durability is SQLite's: a checkpoint syncs the WAL before copying it, as before.
    """

    def __init__(
        self, path: Path, *, limit: int = BACKGROUND_WAL_LIMIT, wait: float = BACKGROUND_WAL_WAIT
    ) -> None:
        self.limit = limit
        self.wait = wait
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 1000")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        # a connection that has not read the file yet does not know it is in WAL mode, and its
        # checkpoints would do nothing (they answer -1 frames)
        self._conn.execute("PRAGMA journal_mode").fetchall()
        self._cond = threading.Condition()
        self._asked = 0  # commits notified so far
        self._served = 0  # the last of them a checkpoint began after
        self._copied = 0  # the last of them whose frames a completed checkpoint copied
        self._frames = 0  # frames in the WAL at the last checkpoint
        self._stop = False
        self.checkpoints = 0
        self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint {path.name}", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """A transaction was committed: checkpoint soon (3. and wait first when the WAL is long)."""
        with self._cond:
            self._asked += 1
            asked = self._asked
            self._cond.notify_all()
            if self._frames > self.limit:
                self._cond.wait_for(lambda: self._copied >= asked or self._stop, timeout=self.wait)

    def close(self) -> None:
        """Stop the thread once it has checkpointed every commit it was told of; close its connection."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._asked > self._served or self._stop)
                if self._asked == self._served:  # stopped, nothing committed since the last checkpoint
                    return
                serving = self._asked
            # 2. outside the condition's lock: the writer goes on meanwhile
            try:
                ((busy, frames, copied),) = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:  # e.g. the file went away; the writer's own checkpoints stay off
                log.warning("background WAL checkpoint failed: %s", exc)
                busy, frames, copied = 1, 0, -1
            with self._cond:
                self._served = serving
                self.checkpoints += 1
                self._frames = int(frames)
                if not busy and copied == frames:
                    self._copied = serving
                self._cond.notify_all()


class WriterLock:
    """One writer at a time: an exclusive advisory lock (``flock``) on the sidecar ``<db>.lock``.

    Why a sidecar lock and not only SQLite's: an ingest spans many transactions (one per batch)
    and keeps the near-duplicate index and story clusterer in memory between them; a second
    writer interleaving its batches would cluster against a stale state. The operating system
    releases the lock when its holder exits in any way (``kill -9`` included), so a crashed writer
    never leaves the store locked. The holder writes its pid and start time into the file, only
    for the message a waiting writer prints. Readers never take this lock.
    """

    #: Seconds between two attempts while waiting.
    POLL = 0.1

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.path = lock_path(store_path)
        self._thread_lock = threading.Lock()  # threads of one process, which share one flock

    def holder(self) -> str:
        """Who holds the lock, as written by the holder ("pid 123 since 10:42:01"), or ``"another process"``."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "another process"
        if not isinstance(info, dict) or "pid" not in info:
            return "another process"
        return f"pid {info['pid']} since {info.get('since', '?')}"

    @contextlib.contextmanager
    def hold(self, *, wait: float = 0.0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lock for the block; wait up to ``wait`` seconds, then raise :class:`StoreBusyError`."""
        deadline = time.monotonic() + max(0.0, wait)
        got = (
            self._thread_lock.acquire(timeout=wait) if wait > 0 else self._thread_lock.acquire(blocking=False)
        )
        if not got:
            raise self._busy(wait, "another thread of this process")
        try:
            fd = self._acquire(deadline, wait, on_wait)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        finally:
            self._thread_lock.release()

    def _acquire(self, deadline: float, wait: float, on_wait: Callable[[str], None] | None) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot open the store's lock file ({exc.strerror or exc}); "
                "the folder must be writable"
            ) from exc
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self.holder()
                    os.close(fd)
                    raise self._busy(wait, holder) from None
                if on_wait is not None and not told:
                    on_wait(
                        f"{self.store_path}: waiting up to {wait:g} s for the writer ({self.holder()}) to finish"
                    )
                    told = True
                time.sleep(self.POLL)
        info = {"pid": os.getpid(), "since": dt.datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        return fd

    def _busy(self, wait: float, holder: str) -> StoreBusyError:
        state = f"still holds this store after waiting {wait:g} s" if wait > 0 else "is writing to this store"
        return StoreBusyError(
            f"{safe_text(str(self.store_path))}: another writer ({holder}) {state}; "
            "run one ingest at a time, or pass --wait SECONDS to queue behind it"
        )


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StorySummary:
    """One story as listed by ``parallax stories`` and the API."""

    id: str
    title: str
    articles: tuple[str, ...]  # independent coverage first (by ingest order), then copies
    outlets: tuple[str, ...]
    first_published: str | None
    last_published: str | None
    copies: int = 0
    version: int = 1

    def to_json(self) -> dict[str, object]:
        """The JSON shape of ``parallax stories --format json``."""
        return {
            "id": self.id,
            "title": self.title,
            "articles": list(self.articles),
            "outlets": list(self.outlets),
            "first_published": self.first_published,
            "last_published": self.last_published,
        }


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article with its place in the corpus: story, copy link and ingest order."""

    article: Article
    content_hash: str
    story_id: str
    copy_of: str | None
    seq: int


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article to add: the ingest driver has decided its story and whether it is a copy."""

    article: Article
    content_hash: str
    story_id: str
    copy_of: str | None = None


@dataclass(frozen=True, slots=True)
class StoryEvent:
    """A change of story identity: ``merge`` (``others`` folded into ``story_id``) or ``split``."""

    kind: str
    story_id: str
    others: tuple[str, ...] = ()
    doc_id: str | None = None


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """An input record that was not stored, with a named reason."""

    source: str
    record: str
    reason: str
    message: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_ARTICLE_COLUMNS = (
    "id, source_path, text, outlet, outlet_source, title, published, url, author, removed, record, "
    "content_hash, story_id, copy_of, seq, outlet_raw"
)


def _row_to_stored(row: sqlite3.Row | tuple[object, ...]) -> StoredArticle:
    removed = tuple(RemovedLine(**item) for item in json.loads(str(row[9])))
    article = Article(
        id=str(row[0]),
        source_path=str(row[1]),
        text=str(row[2]),
        outlet=str(row[3]),
        outlet_source=str(row[4]),
        title=None if row[5] is None else str(row[5]),
        published=None if row[6] is None else str(row[6]),
        url=None if row[7] is None else str(row[7]),
        author=None if row[8] is None else str(row[8]),
        removed=removed,
        record=None if row[10] is None else int(str(row[10])),
        outlet_raw=None if row[15] is None else str(row[15]),
    )
    return StoredArticle(
        article=article,
        content_hash=str(row[11]),
        story_id=str(row[12]),
        copy_of=None if row[13] is None else str(row[13]),
        seq=int(str(row[14])),
    )


def _story_title(conn: sqlite3.Connection, story_id: str) -> str:
    row = conn.execute(
        "SELECT title FROM articles WHERE story_id = ? AND title IS NOT NULL AND title != '' "
        "ORDER BY copy_of IS NOT NULL, seq LIMIT 1",
        (story_id,),
    ).fetchone()
    if row:
        return str(row[0])
    row = conn.execute(
        "SELECT text FROM articles WHERE story_id = ? ORDER BY seq LIMIT 1", (story_id,)
    ).fetchone()
    words = str(row[0]).split() if row else []
    return " ".join(words[:14]) + (" ..." if len(words) > 14 else "") if words else "Untitled story"


def _refresh_story_row(conn: sqlite3.Connection, story_id: str, *, seq: int | None) -> None:
    """Recompute the summary columns of one story from its articles; drop it when it has none."""
    agg = conn.execute(
        "SELECT count(*), sum(copy_of IS NULL), min(published), max(published), min(seq), max(seq) "
        "FROM articles WHERE story_id = ?",
        (story_id,),
    ).fetchone()
    size = int(agg[0])
    if size == 0:
        conn.execute("DELETE FROM stories WHERE id = ?", (story_id,))
        conn.execute("DELETE FROM reports WHERE story_id = ?", (story_id,))
        return
    outlets = [
        r[0] for r in conn.execute("SELECT DISTINCT outlet FROM articles WHERE story_id = ?", (story_id,))
    ]
    title = _story_title(conn, story_id)
    updated = int(agg[5]) if seq is None else seq
    conn.execute(
        "INSERT INTO stories (id, title, created_seq, updated_seq, version, size, independent, outlets, "
        "first_published, last_published) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET title = excluded.title, updated_seq = excluded.updated_seq, "
        "version = stories.version + 1, size = excluded.size, independent = excluded.independent, "
        "outlets = excluded.outlets, first_published = excluded.first_published, "
        "last_published = excluded.last_published",
        (
            story_id,
            title,
            int(agg[4]),
            updated,
            size,
            int(agg[1] or 0),
            json.dumps(sorted(outlets)),
            agg[2],
            agg[3],
        ),
    )


def _grow_story_row(
    conn: sqlite3.Connection, story_id: str, added: Sequence[NewArticle], *, seq: int
) -> None:
    """Update the summary row of a story that only gained the ``added`` articles (in batch ``seq``).

    The same values as :func:`_refresh_story_row` computes, from the row and the new articles
    alone: a batch costs the same whatever the size of the stories it touches.
    """
    row = conn.execute(
        "SELECT size, independent, outlets, first_published, last_published FROM stories WHERE id = ?",
        (story_id,),
    ).fetchone()
    if row is None:  # a new story (or one without a row yet): compute it from its articles
        _refresh_story_row(conn, story_id, seq=seq)
        return
    size, independent, outlets_json, first, last = row
    outlets = set(json.loads(outlets_json))
    dates = [first, last] if first is not None else []
    for item in added:
        outlets.add(item.article.outlet)
        if item.article.published is not None:
            dates.append(item.article.published)
    conn.execute(
        "UPDATE stories SET title = ?, updated_seq = ?, version = version + 1, size = ?, independent = ?, "
        "outlets = ?, first_published = ?, last_published = ? WHERE id = ?",
        (
            _story_title(conn, story_id),
            seq,
            int(size) + len(added),
            int(independent) + sum(item.copy_of is None for item in added),
            json.dumps(sorted(outlets)),
            min(dates) if dates else None,
            max(dates) if dates else None,
            story_id,
        ),
    )


# --- the store --------------------------------------------------------------------------------


class Store:
    """The SQLite corpus store. Thread-safe: one connection guarded by a lock.

    ``Store(path)`` creates the file and migrates it to the current schema; ``readonly=True`` opens
    an existing store without writing (reports are then computed but not cached).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._parallax: Parallax | None = None
        self._memory_docs: MemoryDocCache | None = None  # the parse cache of a read-only store
        if readonly and not self.path.exists():
            raise StoreError(
                f"{self.path}: no store here; run `parallax ingest PATH... --db {self.path}` first"
            )
        try:
            if readonly:
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            else:
                if not self.path.exists():
                    create_store_file(self.path)
                self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 30000")
            self._conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                _ensure_wal(self._conn)
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
                migrate(self._conn)
            else:
                self._check_readonly_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable Parallax store ({exc}); use another --db") from exc
        self._writer = WriterLock(self.path)
        self._checkpointer: WalCheckpointer | None = None

    def _check_readonly_version(self) -> None:
        try:
            row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: not a Parallax store (no schema_version table)") from exc
        if int(row[0] or 0) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema {row[0]} differs from {SCHEMA_VERSION}; "
                "open it once read-write (e.g. `parallax ingest`) to migrate it"
            )

    # -- lifecycle

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    # -- reading articles

    def get_article(self, article_id: str) -> Article:
        """The article ``article_id``; :class:`NotFoundError` when absent."""
        return self.get_stored(article_id).article

    def get_stored(self, article_id: str) -> StoredArticle:
        """The article ``article_id`` with its story, copy link and ingest order."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no article with id {article_id!r} in this store; `parallax stories` lists them"
            )
        return _row_to_stored(row)

    def iter_articles(self, *, after_seq: int = 0, chunk: int = 1000) -> Iterator[StoredArticle]:
        """Every stored article with ``seq > after_seq`` in ingest order, read in chunks."""
        last = after_seq
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE seq > ? ORDER BY seq LIMIT ?",
                    (last, chunk),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                stored = _row_to_stored(row)
                last = stored.seq
                yield stored

    def count_articles(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    def known_hashes(self, hashes: Sequence[str]) -> set[str]:
        """The subset of ``hashes`` already stored (the idempotence check of ingest)."""
        found: set[str] = set()
        with self._lock:
            for i in range(0, len(hashes), 500):
                part = list(hashes[i : i + 500])
                marks = ",".join("?" * len(part))
                found.update(
                    r[0]
                    for r in self._conn.execute(
                        f"SELECT content_hash FROM articles WHERE content_hash IN ({marks})", part
                    )
                )
        return found

    def story_of(self, article_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """``{article id: (story id, copy_of)}`` for the stored ones among ``article_ids``."""
        out: dict[str, tuple[str, str | None]] = {}
        with self._lock:
            for i in range(0, len(article_ids), 500):
                part = list(article_ids[i : i + 500])
                marks = ",".join("?" * len(part))
                for aid, sid, copy_of in self._conn.execute(
                    f"SELECT id, story_id, copy_of FROM articles WHERE id IN ({marks})", part
                ):
                    out[aid] = (sid, copy_of)
        return out

    def story_article_ids(self, story_id: str) -> list[str]:
        """Ids of the stored articles of a story, in ingest order (no existence check)."""
        with self._lock:
            return [
                r[0]
                for r in self._conn.execute(
                    "SELECT id FROM articles WHERE story_id = ? ORDER BY seq", (story_id,)
                )
            ]

    def existing_ids(self, article_ids: Sequence[str]) -> set[str]:
        return set(self.story_of(article_ids))

    # -- reading stories

    def _summaries(self, rows: Sequence[tuple[object, ...]]) -> list[StorySummary]:
        if not rows:
            return []
        ids = [str(r[0]) for r in rows]
        members: dict[str, list[tuple[bool, int, str]]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for aid, sid, copy_of, seq in self._conn.execute(
            f"SELECT id, story_id, copy_of, seq FROM articles WHERE story_id IN ({marks})", ids
        ):
            members[sid].append((copy_of is not None, int(seq), str(aid)))
        out = []
        for sid, title, outlets, first, last, size, independent, version in rows:
            arts = tuple(a for _, _, a in sorted(members[str(sid)]))
            out.append(
                StorySummary(
                    id=str(sid),
                    title=str(title),
                    articles=arts,
                    outlets=tuple(json.loads(str(outlets))),
                    first_published=None if first is None else str(first),
                    last_published=None if last is None else str(last),
                    copies=int(str(size)) - int(str(independent)),
                    version=int(str(version)),
                )
            )
        return out

    def list_stories(
        self,
        *,
        query: str | None = None,
        outlet: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        sort: StorySort = "recent",
        limit: int | None = 50,
        offset: int = 0,
    ) -> tuple[list[StorySummary], int]:
        """One page of stories matching the filters (``limit=None``: all of them), and how many match in all.

        ``query`` matches the story title or any article title (case-insensitive substring);
        ``outlet`` keeps stories covered by that outlet; ``date_from``/``date_to`` (ISO dates) keep
        stories whose publication span overlaps the range. ``recent`` sorts by the latest
        publication date (unknown dates last), ``size`` by the number of articles.
        """
        where: list[str] = []
        params: list[object] = []
        if query:
            where.append(
                "(s.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id "
                "AND a.title LIKE ? ESCAPE '\\'))"
            )
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        if outlet:
            from parallax.outlets import default_table

            # stored names are canonical: "fox" finds "Fox News"
            where.append("EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id AND a.outlet IN (?, ?))")
            params += [outlet, default_table().canonical(outlet)]
        if date_from:
            where.append("s.last_published >= ?")
            params.append(date_from)
        if date_to:
            where.append("substr(s.first_published, 1, 10) <= ?")
            params.append(date_to)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        order = {
            "recent": "s.last_published IS NULL, s.last_published DESC, s.updated_seq DESC",
            "size": "s.size DESC, s.updated_seq DESC",
        }.get(sort)
        if order is None:
            raise StoreError(f"unknown story sort {sort!r}; use 'recent' or 'size'")
        with self._lock:
            total = int(self._conn.execute(f"SELECT count(*) FROM stories s {clause}", params).fetchone()[0])
            rows = self._conn.execute(
                "SELECT s.id, s.title, s.outlets, s.first_published, s.last_published, s.size, s.independent, "
                f"s.version FROM stories s {clause} ORDER BY {order}, s.id LIMIT ? OFFSET ?",
                [*params, -1 if limit is None else max(0, limit), max(0, offset)],
            ).fetchall()
            return self._summaries(rows), total

    def get_story(self, story_id: str) -> StorySummary:
        """The story ``story_id``; :class:`NotFoundError` when absent."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, title, outlets, first_published, last_published, size, independent, version "
                "FROM stories WHERE id = ?",
                (story_id,),
            ).fetchall()
            found = self._summaries(rows)
        if not found:
            raise NotFoundError(f"no story with id {story_id!r} in this store; `parallax stories` lists them")
        return found[0]

    def story_stored(self, story_id: str) -> list[StoredArticle]:
        """The stored articles of a story: independent coverage first, then copies, each in ingest order."""
        self.get_story(story_id)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE story_id = ? ORDER BY copy_of IS NOT NULL, seq",
                (story_id,),
            ).fetchall()
        return [_row_to_stored(r) for r in rows]

    def story_articles(self, story_id: str) -> list[Article]:
        """The articles of a story, independent coverage first (copies follow; see :meth:`story_copies`)."""
        return [s.article for s in self.story_stored(story_id)]

    def story_copies(self, story_id: str) -> dict[str, list[str]]:
        """``{canonical article id: [ids of its near-duplicate copies]}`` within the story."""
        groups: dict[str, list[str]] = {}
        for stored in self.story_stored(story_id):
            if stored.copy_of is not None:
                groups.setdefault(stored.copy_of, []).append(stored.article.id)
        return groups

    def story_events(self, story_id: str | None = None) -> list[StoryEvent]:
        """The merge/split log, oldest first (of one story when ``story_id`` is given)."""
        sql = "SELECT kind, story_id, others, doc_id FROM story_events"
        params: tuple[str, ...] = ()
        if story_id is not None:
            sql += " WHERE story_id = ? OR others LIKE ?"
            params = (story_id, f'%"{story_id}"%')
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", params).fetchall()
        return [StoryEvent(kind=k, story_id=s, others=tuple(json.loads(o)), doc_id=d) for k, s, o, d in rows]

    def skipped(self) -> list[SkippedRecord]:
        """Every input record ever skipped, with its reason."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT source, record, reason, message FROM skipped ORDER BY id"
            ).fetchall()
        return [SkippedRecord(*r) for r in rows]

    # -- ingest state

    def load_state(self) -> tuple[dict[str, bytes], int]:
        """The saved ingest state blobs and the ``seq`` of the last article they include."""
        with self._lock:
            rows = self._conn.execute("SELECT key, value, seq FROM ingest_state").fetchall()
        blobs = {str(k): bytes(v) for k, v, _ in rows if v is not None}
        seq = max((int(s) for _, _, s in rows), default=0)
        return blobs, seq

    def last_seq(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0])

    # -- one writer at a time

    @contextlib.contextmanager
    def writer(self, *, wait: float = 0.0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the store's writer lock for the duration of the block (see :class:`WriterLock`).

        Waits up to ``wait`` seconds for another writer (calling ``on_wait`` with a message once),
        then raises :class:`~parallax.errors.StoreBusyError`. On entry, ingest runs still marked
        ``running`` belong to writers that died (a live one would hold the lock): they are marked
        ``interrupted``.
        """
        self._require_writable()
        with self._writer.hold(wait=wait, on_wait=on_wait):
            self._mark_interrupted_runs()
            yield

    @contextlib.contextmanager
    def background_checkpoints(self) -> Iterator[WalCheckpointer]:
        """Run the WAL checkpoints of this writing connection on a thread of its own for the block
        (see :class:`WalCheckpointer`); on exit, a last checkpoint and SQLite's automatic ones again.

        For long runs of large transactions (``parallax ingest``): the ingest driver then never
        waits for the copy of the WAL into the database or for its ``fsync``.
        """
        self._require_writable()
        try:
            checkpointer = WalCheckpointer(self.path)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot open a second connection to checkpoint the WAL ({exc})"
            ) from exc
        with self._lock:
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = checkpointer
        try:
            yield checkpointer
        finally:
            with self._lock:
                self._checkpointer = None
                checkpointer.close()
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _mark_interrupted_runs(self) -> None:
        with self._lock:
            cur = self._conn.execute(
                "UPDATE ingest_runs SET status = 'interrupted' WHERE status = 'running' AND finished_at IS NULL"
            )
        if cur.rowcount:
            log.warning(
                "%s: %d earlier ingest run(s) ended without finishing; marked interrupted",
                self.path,
                cur.rowcount,
            )

    # -- writing

    def _require_writable(self) -> None:
        if self.readonly:
            raise StoreError(f"{self.path}: the store is open read-only")

    def add_articles(
        self,
        new: Sequence[NewArticle],
        *,
        events: Sequence[StoryEvent] = (),
        moves: Mapping[str, str] | None = None,
        skipped: Sequence[SkippedRecord] = (),
        state: Mapping[str, bytes | None] | None = None,
    ) -> list[int]:
        """Write one ingest batch atomically; return the ``seq`` given to each new article.

        1. insert the new articles with increasing ``seq``;
        2. apply story moves (``{article id: story id}``, from merges and splits), copies following
           their canonical article, and log the events;
        3. refresh the summary row (and version) of every story touched, dropping emptied ones;
        4. record skipped inputs;
        5. save the ingest ``state`` blobs stamped with the last ``seq`` (a ``None`` blob deletes its
           key) -- all in one transaction.
        """
        self._require_writable()
        moves = dict(moves or {})
        now = _now()
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                # 1. articles
                seq = self.last_seq()
                seqs: list[int] = []
                touched: set[str] = set()  # stories to recompute from their articles
                grown: dict[str, list[NewArticle]] = {}  # stories that only gained articles
                rows = []
                for item in new:
                    seq += 1
                    seqs.append(seq)
                    art = item.article
                    grown.setdefault(item.story_id, []).append(item)
                    rows.append(
                        (
                            art.id,
                            item.content_hash,
                            art.source_path,
                            art.record,
                            art.outlet,
                            art.outlet_source,
                            art.title,
                            art.published,
                            art.url,
                            art.author,
                            art.text,
                            json.dumps(
                                [{"text": r.text, "reason": r.reason, "line": r.line} for r in art.removed]
                            ),
                            item.copy_of,
                            item.story_id,
                            now,
                            seq,
                            art.outlet_raw,
                        )
                    )
                conn.executemany(
                    "INSERT INTO articles (id, content_hash, source_path, record, outlet, outlet_source, title, "
                    "published, url, author, text, removed, copy_of, story_id, ingested_at, seq, outlet_raw) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                # 2. moves and events
                if moves:
                    for aid, sid in moves.items():
                        old = conn.execute("SELECT story_id FROM articles WHERE id = ?", (aid,)).fetchone()
                        if old is None or old[0] == sid:
                            continue
                        touched.update((str(old[0]), sid))
                        conn.execute(
                            "UPDATE articles SET story_id = ? WHERE id = ? OR copy_of = ?", (sid, aid, aid)
                        )
                for event in events:
                    touched.add(event.story_id)
                    touched.update(event.others)
                    conn.execute(
                        "INSERT INTO story_events (kind, story_id, others, doc_id, seq, at) VALUES (?, ?, ?, ?, ?, ?)",
                        (event.kind, event.story_id, json.dumps(list(event.others)), event.doc_id, seq, now),
                    )
                # 3. story rows: recomputed when articles moved, else grown by the new articles
                for sid in sorted(touched):
                    _refresh_story_row(conn, sid, seq=seq)
                for sid, added in sorted(grown.items()):
                    if sid not in touched:
                        _grow_story_row(conn, sid, added, seq=seq)
                # 4. skipped
                conn.executemany(
                    "INSERT INTO skipped (source, record, reason, message, at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(source, record, reason) DO UPDATE SET message = excluded.message, at = excluded.at",
                    [(s.source, s.record, s.reason, s.message, now) for s in skipped],
                )
                # 5. state
                if state is not None:
                    conn.executemany(
                        "INSERT INTO ingest_state (key, value, seq) VALUES (?, ?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, seq = excluded.seq",
                        [(k, v, seq) for k, v in state.items() if v is not None],
                    )
                    conn.executemany(
                        "DELETE FROM ingest_state WHERE key = ?",
                        [(k,) for k, v in state.items() if v is None],
                    )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise StoreError(f"{self.path}: cannot write an ingest batch: {exc}") from exc
        checkpointer = self._checkpointer
        if checkpointer is not None:
            checkpointer.notify()
        return seqs

    def start_run(self, paths: Sequence[str]) -> int:
        """Log the start of an ingest run; return its id."""
        self._require_writable()
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO ingest_runs (started_at, paths) VALUES (?, ?)", (_now(), json.dumps(list(paths)))
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, *, status: str, summary: Mapping[str, object]) -> None:
        self._require_writable()
        with self._lock:
            self._conn.execute(
                "UPDATE ingest_runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (_now(), status, json.dumps(summary, default=str), run_id),
            )

    # -- reports

    def _parallax_instance(self) -> Parallax:
        if self._parallax is None:
            from parallax.pipeline import Parallax

            self._parallax = Parallax()
        return self._parallax

    def cached_report(self, story_id: str) -> StoryReport | None:
        """The cached report of a story when it is current (same story version and schema), else ``None``."""
        from parallax.report import SCHEMA_VERSION as REPORT_SCHEMA
        from parallax.report import StoryReport

        story = self.get_story(story_id)
        with self._lock:
            row = self._conn.execute(
                "SELECT json FROM reports WHERE story_id = ? AND story_version = ? AND schema_version = ?",
                (story_id, story.version, REPORT_SCHEMA),
            ).fetchone()
        return None if row is None else StoryReport.model_validate_json(row[0])

    def get_report(
        self, story_id: str, *, parallax: Parallax | None = None, max_articles: int = 12
    ) -> StoryReport:
        """The :class:`StoryReport` of a story, from the cache when current, else computed and cached.

        Only independent coverage is analysed (copies are listed in ``report.copies``, they do not
        count as more outlets agreeing). Very large stories are analysed over at most
        ``max_articles`` articles, one per outlet first, so a report stays interactive.
        """
        from parallax.report import SCHEMA_VERSION as REPORT_SCHEMA
        from parallax.report import CopyGroup

        cached = self.cached_report(story_id)
        if cached is not None:
            return cached
        story = self.get_story(story_id)
        stored = self.story_stored(story_id)
        independent = [s.article for s in stored if s.copy_of is None]
        chosen = _pick_articles(independent, max_articles=max_articles)
        engine = parallax or self._parallax_instance()
        report = self._compare_cached(engine, chosen, story_id=story_id)
        chosen_ids = {a.id for a in chosen}
        groups: dict[str, list[str]] = {}
        for s in stored:
            if s.copy_of is not None and s.copy_of in chosen_ids:
                groups.setdefault(s.copy_of, []).append(s.article.id)
        report.copies = [CopyGroup(article=a, copies=c) for a, c in groups.items()]
        if not self.readonly:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO reports (story_id, story_version, schema_version, json, computed_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(story_id) DO UPDATE SET story_version = "
                    "excluded.story_version, schema_version = excluded.schema_version, json = excluded.json, "
                    "computed_at = excluded.computed_at",
                    (story_id, story.version, REPORT_SCHEMA, report.to_json(indent=None), _now()),
                )
            self.save_outlet_stats(report, story_version=story.version)
        return report

    # -- sentence vector cache (an ``embed.VectorCache``)

    def _compare_cached(self, engine: Parallax, articles: Sequence[Article], *, story_id: str) -> StoryReport:
        """``engine.compare_articles`` with its embedder reading and filling this store's vector cache."""
        from parallax.embed import CachedEmbedder
        from parallax.pipeline import Parallax

        if not isinstance(engine, Parallax):  # a stand-in engine (tests) has no embedder to wrap
            return engine.compare_articles(articles, story_id=story_id)
        cached = CachedEmbedder(engine.embedder, cache=self)
        docs = self.doc_cache(
            max_mb=engine.settings.doc_cache_mb, memory_mb=engine.settings.doc_cache_memory_mb
        )
        return engine.compare_articles(articles, story_id=story_id, embedder=cached, docs=docs)

    def get_vectors(self, embedder: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached float32 vectors of ``embedder`` for those of ``hashes`` it has."""
        import numpy as np

        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for i in range(0, len(unique), 500):  # SQLite's bound-parameter limit
                chunk = unique[i : i + 500]
                rows = self._conn.execute(
                    f"SELECT hash, vector FROM sentence_vectors WHERE embedder = ? "
                    f"AND hash IN ({','.join('?' * len(chunk))})",
                    (embedder, *chunk),
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_vectors(self, embedder: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Cache ``vectors`` (content hash -> float32 vector) of ``embedder``; no-op when read-only."""
        if self.readonly or not vectors:
            return
        import numpy as np

        rows = [(embedder, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO sentence_vectors (embedder, hash, vector) VALUES (?, ?, ?)", rows
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(f"{self.path}: cannot cache sentence vectors: {exc}") from exc

    # -- parsed doc cache (a ``nlp.DocCache``, see :meth:`doc_cache`)

    def doc_cache(self, *, max_mb: float, memory_mb: float = 64.0) -> DocCache | None:
        """The parse cache of this store's reports, or ``None`` when ``max_mb`` is not positive.

        A writable store keeps parses in its ``parsed_docs`` table, at most ``max_mb`` MB (least
        recently used go first), shared by every process that reports on it. A read-only store
        cannot write: its parses are kept in this process's memory, at most ``memory_mb`` MB.
        """
        if max_mb <= 0:
            return None
        if not self.readonly:
            return _StoreDocCache(store=self, max_bytes=int(max_mb * 2**20))
        if memory_mb <= 0:
            return None
        from parallax.nlp import MemoryDocCache

        with self._lock:
            if self._memory_docs is None:
                self._memory_docs = MemoryDocCache(max_mb=memory_mb)
            return self._memory_docs

    def get_docs(self, parse_key: str, hashes: Sequence[str]) -> dict[str, bytes]:
        """The cached parses (``DocBin`` bytes) under ``parse_key`` of those of ``hashes`` it has.

        The entries read are marked used now (their own short transaction), so that eviction
        drops the parses no report has read for the longest time; a failed mark is only logged.
        """
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for i in range(0, len(unique), 500):  # SQLite's bound-parameter limit
                chunk = unique[i : i + 500]
                rows = self._conn.execute(
                    f"SELECT hash, doc FROM parsed_docs WHERE parse_key = ? AND hash IN ({','.join('?' * len(chunk))})",
                    (parse_key, *chunk),
                )
                found.update((str(h), bytes(blob)) for h, blob in rows)
            if found and not self.readonly:
                self._docs_write(
                    "mark cached parses used",
                    [
                        (
                            "UPDATE parsed_docs SET used = ? WHERE parse_key = ? AND hash = ?",
                            [(time.time(), parse_key, h) for h in found],
                        )
                    ],
                )
        return found

    def put_docs(self, parse_key: str, docs: Mapping[str, bytes], *, max_bytes: int) -> None:
        """Cache ``docs`` (text hash -> ``DocBin`` bytes) under ``parse_key``, then evict past ``max_bytes``.

        1. insert (or refresh) the rows, marked used now;
        2. when the table holds more than ``max_bytes``, delete the least recently used rows
           beyond that size (newest kept first);
        both in one transaction, so a crash leaves the cache as before or as after. A write that
        fails (locked past the busy timeout, disk full) is logged: the cache is an optimisation and
        never fails a report. No-op on a read-only store.
        """
        if self.readonly or not docs:
            return
        now = time.time()
        with self._lock:
            self._docs_write(
                "cache parsed docs",
                [
                    # 1. the new rows
                    (
                        "INSERT OR REPLACE INTO parsed_docs (parse_key, hash, doc, size, used) VALUES (?, ?, ?, ?, ?)",
                        [(parse_key, h, blob, len(blob), now) for h, blob in docs.items()],
                    ),
                    # 2. least recently used past the cap (the window runs over the (used, size) index)
                    (
                        "DELETE FROM parsed_docs WHERE rowid IN (SELECT rowid FROM (SELECT rowid, sum(size) "
                        "OVER (ORDER BY used DESC, rowid DESC) AS kept FROM parsed_docs) WHERE kept > ?)",
                        [(max_bytes,)],
                    ),
                ],
            )

    def _docs_write(self, what: str, steps: Sequence[tuple[str, Sequence[Sequence[object]]]]) -> None:
        """Run ``steps`` (SQL, parameter rows) in one transaction; log (not raise) a failure."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in steps:
                    self._conn.executemany(sql, rows)
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            log.warning(
                "%s: cannot %s (%s); the next report parses those articles again", self.path, what, exc
            )

    def doc_cache_stats(self) -> tuple[int, int]:
        """Rows and bytes of the ``parsed_docs`` table."""
        with self._lock:
            rows, size = self._conn.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM parsed_docs"
            ).fetchone()
        return int(rows), int(size)

    # -- outlet profiles (parallax.profiles)

    def save_outlet_stats(self, report: StoryReport, *, story_version: int) -> None:
        """Replace the per-outlet profile rows of ``report``'s story (computed from the report)."""
        from parallax.profiles import STAT_COLUMNS, stats_from_report

        story_id = report.story.id
        stats = stats_from_report(report)
        cols = ", ".join(STAT_COLUMNS)
        marks = ", ".join("?" * len(STAT_COLUMNS))
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("DELETE FROM outlet_stats WHERE story_id = ?", (story_id,))
                self._conn.execute("DELETE FROM outlet_terms WHERE story_id = ?", (story_id,))
                self._conn.executemany(
                    f"INSERT INTO outlet_stats (story_id, story_version, outlet, {cols}, evidence) "
                    f"VALUES (?, ?, ?, {marks}, ?)",
                    [
                        (
                            story_id,
                            story_version,
                            st.outlet,
                            *st.row().values(),
                            json.dumps([e.to_json() for e in st.evidence], ensure_ascii=False),
                        )
                        for st in stats
                    ],
                )
                self._conn.executemany(
                    "INSERT INTO outlet_terms (story_id, outlet, kind, key, sub, a, b) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(story_id, st.outlet, *term) for st in stats for term in st.terms()],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _stats_filter(
        since: dt.date | None, until: dt.date | None, outlets: Sequence[str] | None
    ) -> tuple[str, list[object]]:
        """``WHERE`` clause over ``outlet_stats o JOIN stories s``: current versions, date range, outlets."""
        where = ["s.version = o.story_version"]
        params: list[object] = []
        if since is not None or until is not None:
            where.append("s.first_published IS NOT NULL AND s.last_published IS NOT NULL")
        if since is not None:
            where.append("substr(s.last_published, 1, 10) >= ?")
            params.append(since.isoformat())
        if until is not None:
            where.append("substr(s.first_published, 1, 10) <= ?")
            params.append(until.isoformat())
        if outlets is not None:
            where.append(f"o.outlet IN ({','.join('?' * len(outlets)) or 'NULL'})")
            params += list(outlets)
        return " AND ".join(where), params

    def outlet_stat_sums(
        self,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        outlets: Sequence[str] | None = None,
    ) -> list[tuple[object, ...]]:
        """``(outlet, stories, *sums of STAT_COLUMNS)`` over the current profile rows."""
        from parallax.profiles import STAT_COLUMNS

        where, params = self._stats_filter(since, until, outlets)
        sums = ", ".join(f"sum(o.{c})" for c in STAT_COLUMNS)
        return self.execute(
            f"SELECT o.outlet, count(*), {sums} FROM outlet_stats o JOIN stories s ON s.id = o.story_id "
            f"WHERE {where} GROUP BY o.outlet",
            params,
        )

    def outlet_term_sums(
        self,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        outlets: Sequence[str] | None = None,
    ) -> list[tuple[object, ...]]:
        """``(outlet, kind, key, sub, sum(a), sum(b))``: verbs, voices and labels over current rows."""
        where, params = self._stats_filter(since, until, outlets)
        return self.execute(
            "SELECT o.outlet, t.kind, t.key, t.sub, sum(t.a), sum(t.b) FROM outlet_stats o "
            "JOIN stories s ON s.id = o.story_id "
            "JOIN outlet_terms t ON t.story_id = o.story_id AND t.outlet = o.outlet "
            f"WHERE {where} GROUP BY o.outlet, t.kind, t.key, t.sub",
            params,
        )

    def outlet_evidence(
        self, outlet: str, *, since: dt.date | None = None, until: dt.date | None = None, limit: int = 50
    ) -> list[Evidence]:
        """Up to ``limit`` evidence items per kind for ``outlet``, most recent stories first."""
        from parallax.profiles import Evidence

        where, params = self._stats_filter(since, until, [outlet])
        out: list[Evidence] = []
        per_kind: dict[str, int] = {}
        for chunk in self.iter_query(
            "SELECT o.evidence FROM outlet_stats o JOIN stories s ON s.id = o.story_id "
            f"WHERE {where} ORDER BY s.last_published DESC, s.updated_seq DESC",
            params,
        ):
            for (raw,) in chunk:
                for item in json.loads(str(raw)):
                    if per_kind.get(item["kind"], 0) < limit:
                        per_kind[item["kind"]] = per_kind.get(item["kind"], 0) + 1
                        out.append(Evidence.from_json(item))
        return out

    def story_coverage(self) -> list[Coverage]:
        """Who covered each story (independent articles only), with the story's publication span."""
        from parallax.profiles import coverage_from_rows

        rows = self.execute(
            "SELECT a.story_id, s.title, a.outlet, count(*), s.first_published, s.last_published "
            "FROM articles a JOIN stories s ON s.id = a.story_id WHERE a.copy_of IS NULL "
            "GROUP BY a.story_id, a.outlet"
        )
        return coverage_from_rows(rows)

    def outlet_activity(self) -> dict[str, set[dt.date] | None]:
        """Outlet -> the days it published on (``None`` for an outlet whose articles carry no dates)."""
        from parallax.profiles import activity_from_rows

        return activity_from_rows(
            self.execute(
                "SELECT DISTINCT outlet, substr(published, 1, 10) FROM articles WHERE copy_of IS NULL"
            )
        )

    def stories_without_stats(self) -> list[str]:
        """Stories whose current version has no profile rows yet (their report was never computed)."""
        return [
            str(r[0])
            for r in self.execute(
                "SELECT s.id FROM stories s WHERE NOT EXISTS (SELECT 1 FROM outlet_stats o "
                "WHERE o.story_id = s.id AND o.story_version = s.version) ORDER BY s.created_seq"
            )
        ]

    def story_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT id FROM stories ORDER BY created_seq")]

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a read query (for export and tests); returns all rows."""
        with self._lock:
            return [tuple(r) for r in self._conn.execute(sql, params).fetchall()]

    def iter_query(
        self, sql: str, params: Sequence[object] = (), *, chunk: int = 5000
    ) -> Iterator[list[tuple[object, ...]]]:
        """Run a read query and yield its rows in chunks (for streaming export)."""
        with self._lock:
            cur = self._conn.execute(sql, params)
            while True:
                rows = cur.fetchmany(chunk)
                if not rows:
                    return
                yield [tuple(r) for r in rows]


@dataclass(frozen=True)
class _StoreDocCache:
    """The :class:`~parallax.nlp.DocCache` of a writable store: its ``parsed_docs`` table, capped."""

    store: Store
    max_bytes: int

    def get_docs(self, key: str, hashes: Sequence[str]) -> dict[str, bytes]:
        return self.store.get_docs(key, hashes)

    def put_docs(self, key: str, docs: Mapping[str, bytes]) -> None:
        self.store.put_docs(key, docs, max_bytes=self.max_bytes)


def _pick_articles(articles: Sequence[Article], *, max_articles: int) -> list[Article]:
    """At most ``max_articles``: first one per outlet (ingest order), then the rest in order."""
    if len(articles) <= max_articles:
        return list(articles)
    seen: set[str] = set()
    first: list[Article] = []
    rest: list[Article] = []
    for art in articles:
        (rest if art.outlet in seen else first).append(art)
        seen.add(art.outlet)
    return (first + rest)[:max_articles]
