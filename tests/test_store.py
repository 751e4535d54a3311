"""The SQLite store: migrations, round trips, story queries, atomic batches and the report cache."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.errors import NotFoundError, StoreError
from parallax.records import Article, RemovedLine
from parallax.report import StoryInfo, StoryReport
from parallax.store import (
    AUTOCHECKPOINT_PAGES,
    SCHEMA_VERSION,
    NewArticle,
    SkippedRecord,
    Store,
    StoryEvent,
    migrate,
)


def art(aid: str, text: str | None = None, **kw: Any) -> Article:
    kw.setdefault("outlet", "Outlet A")
    return Article(id=aid, source_path=f"{aid}.txt", text=text or f"Text of article {aid}.", **kw)


def new(a: Article, story: str, copy_of: str | None = None) -> NewArticle:
    return NewArticle(article=a, content_hash=a.content_hash, story_id=story, copy_of=copy_of)


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "p.db")


def test_new_store_is_wal_with_current_schema(store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION
    assert store.execute("PRAGMA journal_mode")[0][0] == "wal"
    assert store.execute("PRAGMA foreign_keys")[0][0] == 1


def test_v1_database_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == 1
    conn.execute(
        "INSERT INTO articles (id, content_hash, source_path, outlet, outlet_source, title, published, text, "
        "story_id, ingested_at, seq) VALUES ('a1', 'h1', 'a1.txt', 'Fox', 'input', 'Old title', '2015-03-02', "
        "'Body.', 's-1', '2020-01-01', 1)"
    )
    conn.execute(
        "INSERT INTO stories (id, title, created_seq, updated_seq) VALUES ('s-1', 'Old title', 1, 1)"
    )
    conn.close()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.get_article("a1").title == "Old title"
        story = store.get_story("s-1")
        assert story.articles == ("a1",)
        assert story.outlets == ("Fox News",)  # version 4 settles outlet names, keeping the raw form
        assert store.get_article("a1").outlet_raw == "Fox"
        assert story.first_published == "2015-03-02"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    conn.close()
    with pytest.raises(StoreError, match="newer Parallax"):
        Store(path)


def test_readonly_needs_an_existing_store_and_refuses_writes(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="parallax ingest"):
        Store(tmp_path / "missing.db", readonly=True)
    Store(tmp_path / "p.db").close()
    with Store(tmp_path / "p.db", readonly=True) as ro, pytest.raises(StoreError, match="read-only"):
        ro.add_articles([new(art("a"), "s")])


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"bad\.db"):
        Store(bad)


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200).filter(str.strip)
_opt = st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    return Article(
        id=draw(st.text("abcdef0123456789-~", min_size=1, max_size=20)),
        source_path=draw(st.text(min_size=1, max_size=30).filter(lambda s: "\x00" not in s)),
        text=draw(_text),
        outlet=draw(st.text(min_size=1, max_size=20)),
        outlet_source=draw(st.sampled_from(["input", "html", "credit", "url", "filename"])),
        title=draw(_opt),
        published=draw(st.none() | st.dates().map(str)),
        url=draw(_opt),
        author=draw(_opt),
        removed=tuple(
            draw(
                st.lists(
                    st.builds(
                        RemovedLine,
                        text=_text,
                        reason=st.sampled_from(["ad", "nav"]),
                        line=st.integers(1, 999),
                    ),
                    max_size=3,
                )
            )
        ),
        record=draw(st.none() | st.integers(0, 10**6)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=articles())
def test_article_round_trips(tmp_path: Path, a: Article) -> None:
    with Store(tmp_path / f"rt-{abs(hash(a.id)) % 10**8}-{abs(hash(a.text)) % 10**8}.db") as store:
        if a.id in store.existing_ids([a.id]) or store.known_hashes([a.content_hash]):
            return
        store.add_articles([new(a, "s-1")])
        assert store.get_article(a.id) == a
        assert store.story_articles("s-1")[-1] == a


def _seed(store: Store) -> None:
    store.add_articles(
        [
            new(
                art(
                    "a1",
                    "Senate passes the budget.",
                    title="Budget passes",
                    outlet="NYT",
                    published="2015-01-02",
                ),
                "s-1",
            ),
            new(art("a2", "The budget passed the Senate.", outlet="Fox", published="2015-01-03"), "s-1"),
            new(
                art("a3", "Storm hits the coast.", title="Storm", outlet="NYT", published="2014-05-01"), "s-2"
            ),
            new(
                art("a4", "Senate passes the budget!", outlet="HuffPost", published="2015-01-04"), "s-1", "a1"
            ),
            new(art("a5", "Undated rumour.", outlet="Blog"), "s-3"),
        ]
    )


def test_story_summary_orders_independent_coverage_first(store: Store) -> None:
    _seed(store)
    s = store.get_story("s-1")
    assert s.articles == ("a1", "a2", "a4")
    assert s.copies == 1
    assert s.outlets == ("Fox", "HuffPost", "NYT")
    assert (s.first_published, s.last_published) == ("2015-01-02", "2015-01-04")
    assert s.title == "Budget passes"
    assert s.to_json()["articles"] == ["a1", "a2", "a4"]
    assert store.story_copies("s-1") == {"a1": ["a4"]}
    assert [a.id for a in store.story_articles("s-1")] == ["a1", "a2", "a4"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ["s-1", "s-2", "s-3"]),
        ({"sort": "size"}, ["s-1", "s-2", "s-3"]),
        ({"query": "storm"}, ["s-2"]),
        ({"query": "budget"}, ["s-1"]),
        ({"query": "100%"}, []),
        ({"outlet": "NYT"}, ["s-1", "s-2"]),
        ({"date_from": "2015-01-03"}, ["s-1"]),
        ({"date_to": "2014-12-31"}, ["s-2"]),
        ({"limit": 1, "offset": 1}, ["s-2"]),
    ],
)
def test_list_stories_filters(store: Store, kwargs: dict[str, Any], expected: list[str]) -> None:
    _seed(store)
    page, total = store.list_stories(**kwargs)
    assert [s.id for s in page] == expected
    if "limit" not in kwargs:
        assert total == len(expected)
    else:
        assert total == 3


@pytest.mark.parametrize("call", ["get_article", "get_story", "story_articles", "get_report"])
def test_unknown_ids_raise_not_found(store: Store, call: str) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        getattr(store, call)("nope")


def test_batch_is_atomic(store: Store) -> None:
    _seed(store)
    before = store.count_articles()
    dup = art("zz", "Senate passes the budget.")  # same content hash as a1
    with pytest.raises(StoreError, match="ingest batch"):
        store.add_articles(
            [new(art("b1", "Fresh text."), "s-9"), new(dup, "s-9")],
            skipped=[SkippedRecord("f.jsonl", "3", "empty", "no text")],
            state={"dedup": b"x"},
        )
    assert store.count_articles() == before
    assert store.load_state() == ({}, 0)
    assert store.skipped() == []
    with pytest.raises(NotFoundError):
        store.get_story("s-9")


def test_moves_and_events_refresh_stories(store: Store) -> None:
    _seed(store)
    v = store.get_story("s-1").version
    store.add_articles(
        [new(art("a6", "Budget follow-up."), "s-1")],
        moves={"a3": "s-1"},
        events=[StoryEvent("merge", "s-1", ("s-2",), "a6")],
        state={"clusterer": b"state"},
    )
    with pytest.raises(NotFoundError):
        store.get_story("s-2")
    s1 = store.get_story("s-1")
    assert set(s1.articles) == {"a1", "a2", "a3", "a4", "a6"}
    assert s1.version > v
    assert store.story_events("s-2") == [StoryEvent("merge", "s-1", ("s-2",), "a6")]
    blobs, seq = store.load_state()
    assert blobs == {"clusterer": b"state"} and seq == store.last_seq() == 6


def test_copies_follow_their_canonical_when_moved(store: Store) -> None:
    _seed(store)
    store.add_articles([], moves={"a1": "s-7"})
    assert store.get_stored("a4").story_id == "s-7"
    assert store.get_story("s-7").articles == ("a1", "a4")


def test_skipped_records_are_kept_once(store: Store) -> None:
    rec = SkippedRecord("f.jsonl", "3", "broken record", "bad JSON")
    store.add_articles([], skipped=[rec])
    store.add_articles([], skipped=[rec])
    assert store.skipped() == [rec]


class FakeEngine:
    """Stands in for ``Parallax``: records the article ids it was asked to compare."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def compare_articles(self, articles: Sequence[Article], *, story_id: str | None = None) -> StoryReport:
        self.calls.append([a.id for a in articles])
        return StoryReport(
            story=StoryInfo(id=story_id or "?", title="t"),
            articles=[],
            facts=[],
            omissions=[],
            quotes=[],
            summary=[],
        )


def test_report_is_cached_until_the_story_changes(store: Store) -> None:
    _seed(store)
    engine = FakeEngine()
    first = store.get_report("s-1", parallax=engine)  # type: ignore[arg-type]
    assert engine.calls == [["a1", "a2"]]  # the copy a4 is not independent coverage
    assert [(g.article, g.copies) for g in first.copies] == [("a1", ["a4"])]
    again = store.get_report("s-1", parallax=engine)  # type: ignore[arg-type]
    assert engine.calls == [["a1", "a2"]]
    assert again.model_dump() == first.model_dump()
    store.add_articles([new(art("a7", "A later budget article."), "s-1")])
    store.get_report("s-1", parallax=engine)  # type: ignore[arg-type]
    assert engine.calls[-1] == ["a1", "a2", "a7"]


def test_large_story_reports_over_one_article_per_outlet_first(store: Store) -> None:
    store.add_articles(
        [new(art(f"x{i}", f"Article number {i}.", outlet=f"O{i % 3}"), "s-big") for i in range(9)]
    )
    engine = FakeEngine()
    store.get_report("s-big", parallax=engine, max_articles=4)  # type: ignore[arg-type]
    assert engine.calls == [["x0", "x1", "x2", "x3"]]


# --- sentence vector cache ------------------------------------------------------------------------


def test_sentence_vectors_round_trip(store: Store, tmp_path: Path) -> None:
    import numpy as np

    vecs = {"h1": np.array([0.5, -1.0, 2.0], dtype=np.float32), "h2": np.zeros(3, dtype=np.float32)}
    store.put_vectors("minilm-numpy", vecs)
    store.put_vectors("minilm-numpy", {"h1": np.ones(3, dtype=np.float32)})  # first write wins
    got = store.get_vectors("minilm-numpy", ["h1", "h2", "h3", "h1"])
    assert set(got) == {"h1", "h2"}
    assert np.array_equal(got["h1"], vecs["h1"])
    assert store.get_vectors("hashing", ["h1"]) == {}  # keyed by embedder too
    store.close()
    with Store(tmp_path / "p.db", readonly=True) as ro:
        ro.put_vectors("minilm-numpy", {"h9": np.ones(3, dtype=np.float32)})  # read-only: ignored
        assert set(ro.get_vectors("minilm-numpy", ["h1", "h9"])) == {"h1"}


def test_a_story_report_encodes_only_sentences_the_store_has_not_seen(store: Store) -> None:
    """The second report of a grown story encodes the new article's sentences and no others."""
    from parallax.embed import HashingEmbedder
    from parallax.pipeline import Parallax

    class Counting(HashingEmbedder):
        def __init__(self) -> None:
            super().__init__(dim=512)
            self.name = "counting"
            self.encoded: list[str] = []

        def encode(self, texts: Sequence[str]) -> Any:
            self.encoded.extend(texts)
            return super().encode(texts)

    texts = [
        "The city council approved the new budget on Tuesday by a vote of seven to two.",
        "On Tuesday the council passed the budget, seven votes to two, after a long debate.",
        "Council members voted seven to two on Tuesday to approve next year's budget plan.",
    ]
    store.add_articles([new(art(f"b{i}", t, outlet=f"O{i}"), "s-b") for i, t in enumerate(texts[:2])])
    embedder = Counting()
    engine = Parallax(embedder=embedder)
    store.get_report("s-b", parallax=engine)
    assert sorted(embedder.encoded) == sorted(texts[:2])
    store.add_articles([new(art("b2", texts[2], outlet="O2"), "s-b")])
    store.get_report("s-b", parallax=engine)
    assert sorted(embedder.encoded) == sorted(texts)  # only the new sentence was encoded again


# --- parsed doc cache ---------------------------------------------------------------------------


def test_v6_store_is_migrated_to_the_parse_cache_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=6) == 6
    conn.execute("INSERT INTO sentence_vectors (embedder, hash, vector) VALUES ('e', 'h1', x'0000803f')")
    conn.close()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert set(store.get_vectors("e", ["h1"])) == {"h1"}
        assert store.doc_cache_stats() == (0, 0)
        store.put_docs("k", {"h1": b"doc"}, max_bytes=1000)
        assert store.get_docs("k", ["h1"]) == {"h1": b"doc"}


def test_parsed_docs_round_trip_by_parse_key(store: Store, tmp_path: Path) -> None:
    from parallax.nlp import MemoryDocCache

    store.put_docs("k1", {"h1": b"one", "h2": b"two"}, max_bytes=10_000)
    store.put_docs("k1", {"h1": b"uno"}, max_bytes=10_000)  # a new parse replaces the old one
    assert store.get_docs("k1", ["h1", "h2", "h3", "h1"]) == {"h1": b"uno", "h2": b"two"}
    assert store.get_docs("k2", ["h1"]) == {}  # another pipeline or setting: another key
    assert store.doc_cache(max_mb=0) is None  # 0 turns the cache off
    store.close()
    with Store(tmp_path / "p.db", readonly=True) as ro:
        ro.put_docs("k1", {"h9": b"nine"}, max_bytes=10_000)  # read-only: ignored
        assert set(ro.get_docs("k1", ["h1", "h9"])) == {"h1"}
        cache = ro.doc_cache(max_mb=1, memory_mb=1)
        assert isinstance(cache, MemoryDocCache) and ro.doc_cache(max_mb=1, memory_mb=1) is cache


def test_parsed_docs_past_the_cap_drop_the_least_recently_used(store: Store) -> None:
    blob = b"x" * 1000
    store.put_docs("k", {"a": blob, "b": blob}, max_bytes=3500)
    store.execute("UPDATE parsed_docs SET used = used - 10")  # a and b read long ago
    assert set(store.get_docs("k", ["a"])) == {"a"}  # reading a makes it recent again
    store.put_docs("k", {"c": blob, "d": blob}, max_bytes=3500)
    assert set(store.get_docs("k", ["a", "b", "c", "d"])) == {"a", "c", "d"}
    assert store.doc_cache_stats() == (3, 3000)
    store.put_docs("k", {"e": blob}, max_bytes=1500)  # a smaller cap keeps only the newest
    assert store.doc_cache_stats() == (1, 1000)


def test_a_parse_cache_write_that_fails_is_logged_not_raised(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    store.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the store
    try:
        with caplog.at_level(logging.WARNING, logger="parallax.store"):
            store.put_docs("k", {"h": b"doc"}, max_bytes=10_000)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "cannot cache parsed docs" in caplog.text
    assert store.get_docs("k", ["h"]) == {}
    store.put_docs("k", {"h": b"doc"}, max_bytes=10_000)  # the connection is usable again
    assert store.get_docs("k", ["h"]) == {"h": b"doc"}


def test_a_grown_story_parses_only_its_new_article_and_reports_as_if_parsed_afresh(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Corpus reports from cached parses equal, byte for byte, a report from fresh parses."""
    from tests.conftest import EXAMPLES

    import parallax.nlp
    from parallax.embed import HashingEmbedder
    from parallax.pipeline import Parallax
    from parallax.settings import load_settings

    parsed: list[str] = []
    real_parse = parallax.nlp.parse_texts

    def counting(nlp: Any, texts: Sequence[str], **kw: Any) -> Any:
        parsed.extend(texts)
        return real_parse(nlp, texts, **kw)

    monkeypatch.setattr(parallax.nlp, "parse_texts", counting)
    seeds = [
        art(p.stem, p.read_text(encoding="utf-8").strip(), outlet=f"Outlet {i}")
        for i, p in enumerate(sorted(EXAMPLES.glob("*.txt")))
    ]
    engine = Parallax(embedder=HashingEmbedder())
    store.add_articles([new(a, "s-seed") for a in seeds[:2]])
    store.get_report("s-seed", parallax=engine)
    assert parsed == [a.text for a in seeds[:2]]
    store.add_articles([new(seeds[2], "s-seed")])
    grown = store.get_report("s-seed", parallax=engine)
    assert parsed[2:] == [seeds[2].text]  # the two earlier articles came from the cache
    store.execute("DELETE FROM reports")
    cached_only = store.get_report("s-seed", parallax=engine)
    assert len(parsed) == 3  # nothing parsed at all
    fresh = Parallax(embedder=HashingEmbedder()).compare_articles(
        store.story_articles("s-seed"), story_id="s-seed"
    )
    assert len(parsed) == 6
    assert grown.to_json(timings=False) == fresh.to_json(timings=False)
    assert cached_only.to_json(timings=False) == fresh.to_json(timings=False)
    store.execute("DELETE FROM reports")
    off = Parallax(settings=load_settings(doc_cache_mb=0), embedder=HashingEmbedder())
    store.get_report("s-seed", parallax=off)
    assert len(parsed) == 9  # doc_cache_mb=0 turns the cache off: every article parsed


def _batch(start: int, n: int) -> list[NewArticle]:
    return [
        new(art(f"a{i}", f"Text of article {i}. " + "Words to fill a page. " * 40), f"s-{i % 7}")
        for i in range(start, start + n)
    ]


def test_background_checkpoints_copy_the_wal_and_restore_automatic_ones(store: Store) -> None:
    with store.background_checkpoints() as checkpointer:
        assert store.execute("PRAGMA wal_autocheckpoint")[0][0] == 0
        for k in range(5):
            store.add_articles(_batch(50 * k, 50))
    assert checkpointer.checkpoints >= 1
    assert store.execute("PRAGMA wal_autocheckpoint")[0][0] == AUTOCHECKPOINT_PAGES
    # everything committed is in the database file: a checkpoint now has nothing left to copy
    busy, frames, copied = store.execute("PRAGMA wal_checkpoint(PASSIVE)")[0]
    assert (busy, frames) == (0, copied)
    assert store.count_articles() == 250
    with Store(store.path, readonly=True) as reader:
        assert reader.get_story("s-3").articles[:2] == ("a3", "a10")


def test_background_checkpoints_keep_the_wal_bounded(store: Store) -> None:
    wal = Path(str(store.path) + "-wal")
    with store.background_checkpoints() as checkpointer:
        checkpointer.limit = 1  # from the first checkpoint on, wait for the copy after every batch
        store.add_articles(_batch(0, 50))
        deadline = time.monotonic() + 30
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        one_batch = wal.stat().st_size
        for k in range(1, 30):
            store.add_articles(_batch(50 * k, 50))
    # without checkpoints the WAL would hold all 30 batches; copied, it starts over
    assert wal.stat().st_size < 5 * one_batch
    assert store.count_articles() == 1500
