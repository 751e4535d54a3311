"""Corpus ingest: idempotence, copies, bad records with named reasons, replay after a lost checkpoint."""

from __future__ import annotations

import gc
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallax.corpus import IngestProgress, IngestSummary, ingest, prepare_batch
from parallax.errors import InputError
from parallax.records import RawDocument
from parallax.settings import Settings
from parallax.store import AUTOCHECKPOINT_PAGES, Store

SETTINGS = Settings()

# Hand-written articles on clearly different events, long enough to survive cleaning.
TOPICS = {
    "quake": "A magnitude {n} earthquake struck the coast of Chile on Tuesday, collapsing bridges near Valparaiso. "
    "Rescue teams searched the rubble through the night while aftershocks rattled the port city. "
    "Officials said hospitals in Valparaiso were treating hundreds of injured residents after the earthquake.",
    "budget": "The Senate approved a {n} billion dollar budget bill late on Friday after weeks of negotiation. "
    "Senators from both parties said the spending package avoids a government shutdown this winter. "
    "The House is expected to vote on the Senate budget bill early next week.",
    "final": "Brazil beat Germany {n} to 1 in the World Cup final in Rio de Janeiro on Sunday night. "
    "Fans filled the Maracana stadium and celebrated the goals late into the evening. "
    "The German coach praised the Brazilian team after the World Cup final.",
}


def record(rid: str, topic: str, n: int, outlet: str, *, day: int = 1, extra: str = "") -> dict[str, Any]:
    return {
        "id": rid,
        "outlet": outlet,
        "published": f"2015-03-{day:02d}",
        "title": f"{topic.title()} report {n}",
        "text": TOPICS[topic].format(n=n) + extra,
    }


def write_jsonl(path: Path, records: list[dict[str, Any]], *, raw_lines: list[str] = ()) -> Path:  # type: ignore[assignment]
    lines = [json.dumps(r) for r in records] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def corpus_records() -> list[dict[str, Any]]:
    out = []
    for i, topic in enumerate(TOPICS):
        for j, outlet in enumerate(["nyt", "fox", "hpo"]):
            out.append(
                record(
                    f"{topic}-{outlet}",
                    topic,
                    7 + j,
                    outlet,
                    day=i + 1,
                    extra=f" The {outlet} correspondent added a detail about {topic} number {j}.",
                )
            )
    return out


def snapshot(store: Store) -> tuple[list[tuple[object, ...]], list[dict[str, object]]]:
    arts = store.execute("SELECT id, content_hash, story_id, copy_of FROM articles ORDER BY id")
    stories, _ = store.list_stories(limit=1000)
    return arts, sorted((s.to_json() for s in stories), key=lambda d: str(d["id"]))


def test_ingest_is_idempotent(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", corpus_records())
    with Store(tmp_path / "p.db") as store:
        first = ingest([src], store=store, settings=SETTINGS)
        before = snapshot(store)
        second = ingest([src, src], store=store, settings=SETTINGS)
        assert snapshot(store) == before
    assert first.added == 9 and first.duplicates == 0
    assert second.added == 0 and second.duplicates == 9  # a file named twice is read once
    assert sum(first.skipped.values()) == second.skipped.total() == 0


def test_stories_group_the_same_event(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", corpus_records())
    with Store(tmp_path / "p.db") as store:
        ingest([src], store=store, settings=SETTINGS)
        stories, total = store.list_stories()
        groups = sorted(sorted(s.articles) for s in stories)
    assert total == 3
    assert groups == [sorted(f"{t}-{o}" for o in ("nyt", "fox", "hpo")) for t in sorted(TOPICS)]


def test_near_duplicate_is_a_copy_in_its_originals_story(tmp_path: Path) -> None:
    recs = corpus_records()
    original = recs[0]
    # a reprint with a dateline (the first shingle changes): estimated Jaccard well above 0.8
    copy = dict(original, id="syndicated", outlet="yahoo", text="SANTIAGO " + original["text"])
    src = write_jsonl(tmp_path / "a.jsonl", [*recs, copy])
    with Store(tmp_path / "p.db") as store:
        summary = ingest([src], store=store, settings=SETTINGS)
        stored = store.get_stored("syndicated")
        assert stored.copy_of == original["id"]
        assert stored.story_id == store.get_stored(original["id"]).story_id
        assert store.story_copies(stored.story_id) == {original["id"]: ["syndicated"]}
        assert store.get_story(stored.story_id).articles[-1] == "syndicated"  # copies listed last
    assert summary.copies == 1 and summary.added == 10


def test_same_id_with_other_content_gets_a_derived_id(tmp_path: Path) -> None:
    recs = corpus_records()
    with Store(tmp_path / "p.db") as store:
        ingest([write_jsonl(tmp_path / "a.jsonl", recs[:1])], store=store, settings=SETTINGS)
        clash = dict(recs[3], id=recs[0]["id"])
        ingest([write_jsonl(tmp_path / "b.jsonl", [clash])], store=store, settings=SETTINGS)
        ids = [r[0] for r in store.execute("SELECT id FROM articles ORDER BY seq")]
    assert ids[0] == recs[0]["id"]
    assert ids[1].startswith(recs[0]["id"] + "~") and len(ids) == 2


def _tiny_warc(path: Path) -> Path:
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=False)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.0")
        rec = writer.create_warc_record(
            "http://example.com/logo.png", "response", payload=BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
            http_headers=headers,
        )  # fmt: skip
        writer.write_record(rec)
    return path


def test_bad_records_are_skipped_with_named_reasons_and_nothing_is_lost(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", corpus_records())
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    recs = corpus_records()
    write_jsonl(
        bad_dir / "mixed.jsonl",
        [record("new-1", "quake", 3, "bbc"), {"id": "blank", "text": "   "}],
        raw_lines=['{"id": "broken", "text": "unterminated'],
    )
    (bad_dir / "latin.txt").write_bytes(b"Caf\x81 \x8d\x8f\x90 \x9d" * 50)
    huge = json.dumps({"id": "huge", "text": "word " * 10_000_000})  # a 50 MB 'article'
    (bad_dir / "huge.jsonl").write_text(huge + "\n" + json.dumps(record("new-2", "final", 4, "bbc")) + "\n")
    _tiny_warc(bad_dir / "crawl.warc")
    with Store(tmp_path / "p.db") as store:
        ingest([good], store=store, settings=SETTINGS)
        kept = snapshot(store)[0]
        summary = ingest([bad_dir, good], store=store, settings=SETTINGS)
        after = {r[0]: r for r in snapshot(store)[0]}
        skipped = store.skipped()
    assert all(after[r[0]][:2] == r[:2] for r in kept)  # nothing already stored lost or changed
    assert summary.added == 2 and summary.duplicates == len(recs)
    assert set(summary.skipped) >= {"broken record", "empty", "encoding", "too large", "unsupported"}
    assert sum(summary.skipped.values()) == 5
    assert {s.reason for s in skipped} == set(summary.skipped)
    assert all(s.source and s.message for s in skipped)


def test_strict_stops_at_the_first_bad_record(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", corpus_records(), raw_lines=["{not json"])
    with Store(tmp_path / "p.db") as store, pytest.raises(InputError, match=r"a\.jsonl"):
        ingest([src], store=store, settings=SETTINGS, strict=True)


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM ingest_state",  # a crash after a batch was committed, before its checkpoint
        "UPDATE ingest_state SET value = X'5058534332' WHERE key = 'clusterer'",  # an older version's format
        "DELETE FROM ingest_state WHERE key = (SELECT min(key) FROM ingest_state WHERE key LIKE 'dedup.%')",
    ],
    ids=["lost-checkpoint", "older-format", "lost-journal-chunk"],
)
def test_missing_or_unreadable_state_is_rebuilt_by_replaying_every_stored_article(
    tmp_path: Path, damage: str
) -> None:
    """Without a usable saved state, the stored articles are replayed: the same end result."""
    recs = corpus_records()
    first, rest = write_jsonl(tmp_path / "a.jsonl", recs[::2]), write_jsonl(tmp_path / "b.jsonl", recs[1::2])
    with Store(tmp_path / "ref.db") as ref:
        ingest([first], store=ref, settings=SETTINGS, batch_size=2)
        ingest([rest], store=ref, settings=SETTINGS, batch_size=2)
        expected = snapshot(ref)
    with Store(tmp_path / "crash.db") as store:
        ingest([first], store=store, settings=SETTINGS, batch_size=2)
        store._conn.execute(damage)
        summary = ingest([first, rest], store=store, settings=SETTINGS, batch_size=2)
        assert snapshot(store) == expected
        # the chunks of the state that could not be used are gone: every saved key is in use
        blobs, _ = store.load_state()
        chunks = json.loads(blobs["dedup"].removeprefix(b"PXND4"))["chunks"]
        assert set(blobs) == {"clusterer", "dedup", *(name for name, _, _ in chunks)}
    assert summary.replayed == len(recs[::2]) and summary.duplicates == len(recs[::2])
    assert summary.added == len(recs[1::2])


def test_progress_is_reported_per_batch(tmp_path: Path) -> None:
    seen: list[IngestProgress] = []
    src = write_jsonl(tmp_path / "a.jsonl", corpus_records())
    with Store(tmp_path / "p.db") as store:
        ingest([src], store=store, settings=SETTINGS, batch_size=4, progress=seen.append)
    assert [p.seen for p in seen] == [4, 8, 9]
    assert seen[-1].added == 9


def test_prepare_batch_keeps_order_and_errors() -> None:
    docs = [
        RawDocument(source_path="a.txt", id="a", text=TOPICS["quake"].format(n=5)),
        RawDocument(source_path="b.txt", id="b", text="x" * 5000, record=2),
    ]
    out = prepare_batch(docs, settings=Settings(max_article_chars=1000))
    assert out[0].article.id == "a"  # type: ignore[union-attr]
    assert isinstance(out[1], InputError) and out[1].reason == "too large" and "b.txt" in str(out[1])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(list(range(9))), cut=st.integers(0, 9))
def test_every_article_is_stored_once_whatever_the_order(tmp_path: Path, order: list[int], cut: int) -> None:
    recs = [corpus_records()[i] for i in order]
    db = tmp_path / f"h-{'-'.join(map(str, order))}-{cut}.db"
    with Store(db) as store:
        ingest([write_jsonl(tmp_path / "x.jsonl", recs[:cut])], store=store, settings=SETTINGS)
        summary: IngestSummary = ingest(
            [write_jsonl(tmp_path / "y.jsonl", recs)], store=store, settings=SETTINGS
        )
        rows = store.execute("SELECT count(*), count(DISTINCT content_hash) FROM articles")
        stories, _ = store.list_stories(limit=100)
    assert rows == [(9, 9)]
    assert summary.duplicates == cut and summary.added == 9 - cut
    assert sorted(a for s in stories for a in s.articles) == sorted(r["id"] for r in recs)


def test_engine_path_stores_the_same_as_the_inline_path(tmp_path: Path) -> None:
    """Cleaning and features on an engine (in-process, or two worker processes) change nothing stored."""
    from parallax.engine.local import LocalEngine
    from parallax.engine.processes import ProcessEngine

    recs = corpus_records()
    # other content under a taken id exercises the renaming of prepared features
    clash = dict(
        recs[4], id=recs[0]["id"], text=recs[4]["text"] + " Witnesses described long queues at the scene."
    )
    src = write_jsonl(tmp_path / "a.jsonl", [*recs, clash], raw_lines=["{broken"])
    snaps = []
    pool = ProcessEngine(workers=2)
    for name, engine in (("inline", None), ("engine", LocalEngine()), ("processes", pool)):
        with Store(tmp_path / f"{name}.db") as store:
            summary = ingest([src, src], store=store, settings=SETTINGS, batch_size=3, engine=engine)
            snaps.append((snapshot(store), summary.added, summary.duplicates, dict(summary.skipped)))
    assert pool.started
    pool.close()
    assert snaps[0] == snaps[1] == snaps[2]
    assert snaps[0][1:] == (10, 0, {"broken record": 1})  # the file named twice is read once
    assert any(str(row[0]).startswith(recs[0]["id"] + "~") for row in snaps[0][0][0])


def test_story_rows_grown_batch_by_batch_equal_rows_computed_from_the_articles(tmp_path: Path) -> None:
    """Story rows are updated incrementally per batch; they must equal a recomputation from scratch."""
    from parallax.store import _refresh_story_row

    recs = corpus_records()
    recs += [
        dict(r, id=r["id"] + "-late", outlet=r["outlet"] + "2", published="2015-03-04", title="")
        for r in recs[:4]
    ]
    recs.append(dict(recs[0], id="dup-title", text="SANTIAGO " + recs[0]["text"], title="A copy's own title"))
    src = write_jsonl(tmp_path / "a.jsonl", recs)
    cols = "id, title, created_seq, size, independent, outlets, first_published, last_published"
    with Store(tmp_path / "g.db") as store:
        ingest([src], store=store, settings=SETTINGS, batch_size=2)
        grown = store.execute(f"SELECT {cols} FROM stories ORDER BY id")
        for (sid,) in store.execute("SELECT id FROM stories"):
            _refresh_story_row(store._conn, str(sid), seq=None)
        recomputed = store.execute(f"SELECT {cols} FROM stories ORDER BY id")
    assert grown == recomputed
    assert any(row[3] > 3 for row in grown)  # some story did grow over several batches


def test_split_moves_stored_articles_and_their_copies(tmp_path: Path) -> None:
    """A story that drifts into two events is split during ingest: the store follows the clusterer."""
    import random

    from parallax.cluster import StoryClusterer
    from parallax.corpus import CLUSTER_KEY
    from parallax.features import STOP_WORDS
    from test_cluster_splits import drift_stream

    # the drift stream is one template: stop words in a different order per article (invisible to
    # the clustering features) keep its reports from being near-duplicates of each other
    rng, filler = random.Random(7), sorted(STOP_WORDS)
    docs = drift_stream(6, 12)
    recs = [
        {
            "id": d.id,
            "outlet": f"o{i % 4}",
            "published": d.published,
            "title": d.title,
            "text": d.text + "\n" + " ".join(rng.choices(filler, k=150)),
        }
        for i, d in enumerate(docs)
    ]
    recs.insert(3, dict(recs[1], id="a1-copy", outlet="wire", text="DATELINE " + recs[1]["text"]))
    src = write_jsonl(tmp_path / "drift.jsonl", recs)
    with Store(tmp_path / "s.db") as store:
        summary = ingest([src], store=store, settings=SETTINGS, batch_size=4)
        stored = {r[0]: r[1] for r in store.execute("SELECT id, story_id FROM articles")}
        events = store.story_events()
        blobs, _ = store.load_state()
        sizes = dict(store.execute("SELECT id, size FROM stories"))
    assert summary.splits >= 1 and any(e.kind == "split" for e in events)
    clusterer = StoryClusterer.from_bytes(blobs[CLUSTER_KEY])
    assert stored == {doc: clusterer.story_of(doc) for doc in stored}  # store == clusterer, copies too
    assert stored["a1-copy"] == stored["a1"] and len(set(stored.values())) >= 2
    assert sizes == dict(Counter(stored.values()))


def test_saved_state_holds_the_open_stories_only_and_copies_of_closed_ones_find_their_story(
    tmp_path: Path,
) -> None:
    """A checkpoint costs the active state: articles of stories closed by the time window are not in
    the saved clusterer (the store has their story), and a late copy of one still joins that story."""
    from parallax.corpus import CLUSTER_KEY, CorpusIndex

    early = [
        record(f"quake-{o}", "quake", 7, o, day=1, extra=f" The {o} desk reports.") for o in ("nyt", "fox")
    ]
    late = [
        record(f"budget-{o}", "budget", 9, o, day=28, extra=f" The {o} desk reports.") for o in ("nyt", "fox")
    ]
    reprint = dict(early[0], id="quake-reprint", outlet="wire", published="2015-03-28")
    reprint["text"] += " Reprinted by the wire."  # a near-duplicate, not the same content
    with Store(tmp_path / "s.db") as store:
        ingest(
            [write_jsonl(tmp_path / "a.jsonl", early + late)], store=store, settings=SETTINGS, batch_size=1
        )
        blobs, _ = store.load_state()
        index = CorpusIndex.from_state(blobs)
        assert index is not None and len(index.clusterer) == 4
        assert set(index.clusterer._doc_story) == {"budget-nyt", "budget-fox"}  # the quake story closed
        assert b"quake-nyt" not in blobs[CLUSTER_KEY]
        ingest([write_jsonl(tmp_path / "b.jsonl", [reprint])], store=store, settings=SETTINGS)
        found = store.story_of(["quake-reprint", "quake-nyt"])
    assert found["quake-reprint"] == (found["quake-nyt"][0], "quake-nyt")


def test_ingest_releases_the_frozen_heap_and_leaves_a_callers_freeze_alone(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", corpus_records())
    frozen: list[int] = []

    def during(_p: IngestProgress) -> None:
        frozen.append(gc.get_freeze_count())

    with Store(tmp_path / "p.db") as store:
        ingest([src], store=store, settings=SETTINGS, batch_size=3, progress=during)
        assert frozen and min(frozen) > 0  # the heap of the run is out of the collector's sight
        assert gc.get_freeze_count() == 0  # and back in it afterwards
        assert store.execute("PRAGMA wal_autocheckpoint")[0][0] == AUTOCHECKPOINT_PAGES
        gc.freeze()
        try:
            before = gc.get_freeze_count()
            ingest([write_jsonl(tmp_path / "b.jsonl", corpus_records()[:2])], store=store, settings=SETTINGS)
            assert gc.get_freeze_count() == before
        finally:
            gc.unfreeze()
