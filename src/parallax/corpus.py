"""Corpus ingest: stream many files into the store, grouping copies and clustering stories online.

The work splits in two, so that a later engine can run the first half on Dask workers:

* **per-document, pure** -- :func:`clean_batch` (clean, hash, size checks) and
  :func:`featurize_batch` (MinHash signature, clustering features): functions of their inputs
  only, returning picklable :class:`Prepared` records;
* **sequential, on the driver** -- :class:`CorpusIndex.assign` (exact duplicate check, near-duplicate
  index, story clusterer) and :meth:`parallax.store.Store.add_articles` (one transaction per batch).

Crash safety: each batch's articles are committed in one transaction. The state of the
near-duplicate index and the clusterer is saved in that same transaction every
``checkpoint_seconds``, stamped with the last article ``seq`` it includes; on start, articles
stored after that stamp are replayed into the restored state. A checkpoint costs what is active,
not the corpus: the clusterer keeps only the active stories (the store holds every article's
story), and the near-duplicate index is saved as a journal, each checkpoint adding a chunk of the
entries indexed since the last one (see :meth:`parallax.dedup.NearDuplicateIndex.checkpoint`). A re-run after ``kill -9`` therefore skips every stored article (by content
hash), rebuilds exactly the state of the uninterrupted run, and continues: no duplicate, no loss,
the same stories.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parallax.errors import EmptyInputError, InputError, StoreError, TooLargeInputError
from parallax.records import Article, RawDocument
from parallax.settings import Settings
from parallax.store import NewArticle, SkippedRecord, Store, StoredArticle, StoryEvent

if TYPE_CHECKING:
    import numpy as np

    from parallax.cluster import StoryClusterer
    from parallax.dedup import NearDuplicateIndex
    from parallax.engine import Engine
    from parallax.features import DocFeatures

log = logging.getLogger(__name__)

#: Keys of the ingest state blobs in the store.
DEDUP_KEY, CLUSTER_KEY = "dedup", "clusterer"
#: Near-duplicate threshold (estimated Jaccard of 5-word shingles) at which an article is a copy.
COPY_THRESHOLD = 0.8
#: A copy at least this close to an indexed article is not indexed itself (it adds nothing to find).
REDUNDANT_COPY = 0.95


@dataclass(frozen=True, slots=True)
class Prepared:
    """One cleaned article with everything the sequential step needs; picklable."""

    article: Article
    content_hash: str
    signature: np.ndarray
    features: DocFeatures


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Counts so far, passed to the ``progress`` callback after every batch."""

    seen: int
    added: int
    duplicates: int
    copies: int
    skipped: int
    elapsed: float
    #: checkpoints saved so far and the seconds spent serialising them
    checkpoints: int = 0
    checkpoint_seconds: float = 0.0


@dataclass
class IngestSummary:
    """What one ingest run did. ``skipped`` counts records per named reason."""

    added: int = 0
    duplicates: int = 0
    copies: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    stories_created: int = 0
    merges: int = 0
    splits: int = 0
    replayed: int = 0
    seconds: float = 0.0
    #: checkpoints saved, the seconds spent serialising them and the bytes they wrote (not in
    #: :meth:`to_json`: they depend on timing, and the JSON summary does not, but for ``seconds``)
    checkpoints: int = 0
    checkpoint_seconds: float = 0.0
    checkpoint_bytes: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.added + self.duplicates + sum(self.skipped.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "copies": self.copies,
            "skipped": dict(sorted(self.skipped.items())),
            "stories_created": self.stories_created,
            "merges": self.merges,
            "splits": self.splits,
            "replayed": self.replayed,
            "seconds": round(self.seconds, 3),
        }


# --- pure per-document work -------------------------------------------------------------------


def clean_batch(raw_docs: Sequence[RawDocument], *, settings: Settings) -> list[Article | InputError]:
    """Clean each document; an unusable one becomes the :class:`InputError` naming why. Pure."""
    from parallax.clean import clean_document
    from parallax.outlets import table_for

    out: list[Article | InputError] = []
    for raw in raw_docs:
        record = None if raw.record is None else str(raw.record)
        if len(raw.text) > settings.max_article_chars:
            out.append(
                TooLargeInputError(
                    f"article of {len(raw.text):,} characters exceeds max_article_chars "
                    f"({settings.max_article_chars:,}); raise the setting to accept it",
                    path=raw.source_path,
                    record=record,
                )
            )
            continue
        try:
            article = clean_document(
                raw, outlets=table_for(settings.outlets_file), outlet_override=settings.outlet
            )
        except InputError as exc:
            out.append(exc)
            continue
        if not article.text.strip():
            out.append(EmptyInputError("no text left after cleaning", path=raw.source_path, record=record))
            continue
        out.append(article)
    return out


def featurize_batch(articles: Sequence[Article], *, num_perm: int = 128) -> list[Prepared]:
    """MinHash signature and clustering features of each article. Pure; safe to run on workers."""
    from parallax.dedup import minhash_signature
    from parallax.features import extract_features

    return [
        Prepared(
            article=art,
            content_hash=art.content_hash,
            signature=minhash_signature(art.text, num_perm=num_perm),
            features=extract_features(_cluster_doc(art)),
        )
        for art in articles
    ]


def prepare_batch(raw_docs: Sequence[RawDocument], *, settings: Settings) -> list[Prepared | InputError]:
    """:func:`clean_batch` then :func:`featurize_batch`, keeping input order. Pure."""
    cleaned = clean_batch(raw_docs, settings=settings)
    good = featurize_batch([c for c in cleaned if isinstance(c, Article)])
    it = iter(good)
    return [c if isinstance(c, InputError) else next(it) for c in cleaned]


def prepare_items(
    items: Sequence[RawDocument | InputError], *, settings: Settings
) -> list[Prepared | InputError]:
    """:func:`prepare_batch` over a batch as streamed by ``iter_documents`` (errors kept in place).

    Pure and picklable through ``functools.partial``: what an engine runs on its workers.
    """
    prepared = iter(prepare_batch([x for x in items if isinstance(x, RawDocument)], settings=settings))
    return [x if isinstance(x, InputError) else next(prepared) for x in items]


def _cluster_doc(art: Article) -> Any:
    from parallax.features import ClusterDoc

    return ClusterDoc(id=art.id, text=art.text, title=art.title, published=art.published, outlet=art.outlet)


# --- sequential assignment --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """Where one prepared article goes: its story, and its canonical article when it is a copy."""

    prepared: Prepared
    story_id: str
    copy_of: str | None
    created: bool


class CorpusIndex:
    """The driver-side state: near-duplicate index plus story clusterer, restored from the store.

    Not thread-safe; one ingest at a time owns it.
    """

    def __init__(
        self, *, dedup: NearDuplicateIndex, clusterer: StoryClusterer, stale: Iterable[str] = ()
    ) -> None:
        self.dedup = dedup
        self.clusterer = clusterer
        clusterer.drain_events()  # events restored with a saved state were logged when they happened
        # saved journal chunks of an index that was not restored: deleted at the next checkpoint
        self._stale = set(stale) - dedup.saved_keys(DEDUP_KEY)

    @classmethod
    def fresh(cls) -> CorpusIndex:
        from parallax.cluster import StoryClusterer
        from parallax.dedup import NearDuplicateIndex

        return cls(
            dedup=NearDuplicateIndex(threshold=COPY_THRESHOLD, redundant=REDUNDANT_COPY),
            clusterer=StoryClusterer(keep_assignments=False),
        )

    @classmethod
    def rebuilt(cls, blobs: Mapping[str, bytes]) -> CorpusIndex:
        """A fresh index that deletes the saved journal chunks in ``blobs`` at its first checkpoint."""
        fresh = cls.fresh()
        return cls(dedup=fresh.dedup, clusterer=fresh.clusterer, stale=_journal_keys(blobs))

    @classmethod
    def from_state(cls, blobs: Mapping[str, bytes]) -> CorpusIndex | None:
        """The index saved in ``blobs``; ``None`` when there is none or it cannot be used (a state
        written by an incompatible version): the caller then rebuilds it from every stored article.

        The clusterer keeps only the active stories (the store holds every assignment); a state
        saved with every assignment (format 3) is converted.
        """
        from parallax.cluster import StoryClusterer
        from parallax.dedup import NearDuplicateIndex

        if DEDUP_KEY not in blobs or CLUSTER_KEY not in blobs:
            return None
        try:
            return cls(
                dedup=NearDuplicateIndex.from_saved(blobs, DEDUP_KEY),
                clusterer=StoryClusterer.from_bytes(blobs[CLUSTER_KEY], keep_assignments=False),
                stale=_journal_keys(blobs),
            )
        except Exception as exc:  # a state written by an incompatible version: rebuild by replay
            log.warning("saved ingest state unusable (%s); rebuilding it from the stored articles", exc)
            return None

    def state(self) -> dict[str, bytes | None]:
        """The blobs of a checkpoint (``None``: delete the key), to write in one transaction.

        O(active state): the clusterer's active stories and the near-duplicate index's journal
        chunk of what it indexed since the last checkpoint.
        """
        out: dict[str, bytes | None] = dict.fromkeys(self._stale)
        self._stale = set()
        out.update(self.dedup.checkpoint(DEDUP_KEY))
        out[CLUSTER_KEY] = self.clusterer.to_bytes()
        return out

    def assign(self, prepared: Prepared, story_of: Callable[[str], str]) -> Decision:
        """1. near-duplicate index: a copy joins its canonical article's story (``story_of`` is
        asked only when the clusterer does not know the canonical article);
        2. otherwise the clusterer places the article in a story (maybe a new one)."""
        art_id = prepared.article.id
        # 1. copies
        canonical = self.dedup.insert(art_id, prepared.signature)
        if canonical is not None and canonical != art_id:
            story_id = self.clusterer.add_copy(art_id, canonical, fallback=story_of).story_id
            return Decision(prepared=prepared, story_id=story_id, copy_of=canonical, created=False)
        # 2. clustering
        assignment = self.clusterer.add(prepared.features)
        return Decision(
            prepared=prepared, story_id=assignment.story_id, copy_of=None, created=assignment.created
        )

    def new_events(self) -> list[Any]:
        """The clusterer's events since the last call (drained: the state does not keep them)."""
        return self.clusterer.drain_events()

    def drain_moves(self) -> dict[str, str]:
        """Articles moved to another story by clusterer splits since the last call (copies included)."""
        return self.clusterer.drain_moves()


# --- the driver -------------------------------------------------------------------------------


def _batches(
    items: Iterable[RawDocument | InputError], size: int
) -> Iterator[list[RawDocument | InputError]]:
    batch: list[RawDocument | InputError] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _journal_keys(blobs: Mapping[str, bytes]) -> set[str]:
    """The keys of saved near-duplicate journal chunks among ``blobs``."""
    return {k for k in blobs if k.startswith(DEDUP_KEY + ".")}


def _skip_record(err: InputError) -> SkippedRecord:
    record = err.record if err.record is not None else ("" if err.line is None else str(err.line))
    return SkippedRecord(source=err.path or "<input>", record=record, reason=err.reason, message=err.detail)


def _replay(store: Store, index: CorpusIndex, after_seq: int, summary: IngestSummary) -> None:
    """Feed the articles stored after the saved state back into it, in ingest order.

    Assignment is deterministic, so this rebuilds the exact state the interrupted run had when it
    committed its last batch (the store already holds the resulting stories and moves).
    """
    chunk: list[StoredArticle] = []

    def flush() -> None:
        for prep in featurize_batch([c.article for c in chunk]):
            index.assign(prep, lambda _canonical: "")
        chunk.clear()

    for stored in store.iter_articles(after_seq=after_seq):
        chunk.append(stored)
        summary.replayed += 1
        if len(chunk) >= 500:
            flush()
    if chunk:
        flush()
    index.new_events()
    index.drain_moves()  # the store already holds the moves of the replayed batches
    if summary.replayed:
        log.info("replayed %d stored articles into the ingest state", summary.replayed)
        store.add_articles([], state=index.state())


def _stored_story(store: Store, article_id: str) -> str:
    found = store.story_of([article_id])
    if article_id not in found:
        raise StoreError(f"{store.path}: near-duplicate index names {article_id!r}, which is not stored")
    return found[article_id][0]


def ingest(
    paths: Sequence[str | Path],
    *,
    store: Store,
    settings: Settings,
    batch_size: int = 500,
    progress: Callable[[IngestProgress], None] | None = None,
    strict: bool = False,
    checkpoint_seconds: float = 30.0,
    documents: Iterable[RawDocument | InputError] | None = None,
    engine: Engine | None = None,
    lock_wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Ingest the articles under ``paths`` into ``store``; idempotent and resumable.

    1. restore the near-duplicate index and the clusterer from the store; replay articles stored
       after their last checkpoint;
    2. stream documents (or ``documents`` when given) in batches; clean each batch and hash it;
    3. drop exact duplicates (content hash already stored, or earlier in this run);
    4. give an article whose id is taken by other content a derived id (``<id>~<hash8>``);
    5. sign and featurize the rest (pure, per document);
    6. assign in order: copies join their canonical's story, the rest go to the clusterer;
       translate clusterer merges/splits into story moves;
    7. write the batch, its story moves, events and skipped records in one transaction, with the
       index state when a checkpoint is due (and always after the last batch).

    With an ``engine`` (:mod:`parallax.engine`), steps 2 and 5 run on its workers for whole batches
    (already stored articles are then featurized too; the result is the same).
    With ``strict``, the first bad input raises its :class:`InputError` (batches before it stay stored).

    The whole run holds the store's writer lock (:meth:`Store.writer`): another writer makes it
    wait up to ``lock_wait`` seconds (``on_wait`` is told once), then raise
    :class:`~parallax.errors.StoreBusyError`.
    """
    t0 = time.perf_counter()
    summary = IngestSummary()
    writer = store.writer(wait=lock_wait, on_wait=on_wait)
    run_scope = contextlib.ExitStack()  # background WAL checkpoints and the frozen heap, closed last
    heap = _FrozenHeap()
    run_scope.callback(heap.release)
    writer.__enter__()
    try:
        run_id = store.start_run([str(p) for p in paths])
    except BaseException:
        writer.__exit__(None, None, None)
        raise
    status = "failed"
    try:
        # the WAL is copied into the database on a thread of its own: batches never wait for it
        run_scope.enter_context(store.background_checkpoints())
        # 1. restore and replay
        blobs, state_seq = store.load_state()
        index = CorpusIndex.from_state(blobs)
        if index is None:  # nothing saved, or saved by an incompatible version: replay everything
            index, state_seq = CorpusIndex.rebuilt(blobs), 0
        _replay(store, index, state_seq, summary)
        heap.freeze()
        last_checkpoint = time.perf_counter()
        checkpoint_cost = 0.0
        stream = documents if documents is not None else _iter_documents(paths, settings, engine)
        raw_batches = _batches(stream, batch_size)
        batch_iter: Iterator[Sequence[Article | Prepared | InputError]]
        if engine is None:
            batch_iter = (_clean_items(b, settings=settings) for b in raw_batches)
        else:
            # the engine runs cleaning, signatures and features (pure) on its workers, in order
            batch_iter = engine.map_batches(functools.partial(prepare_items, settings=settings), raw_batches)
        batch = next(batch_iter, None)
        while batch is not None:
            nxt = next(batch_iter, None)
            # 2. cleaned (locally) or prepared (by the engine)
            errors = [b for b in batch if isinstance(b, InputError)]
            if strict and errors:
                raise errors[0]
            items = [b for b in batch if not isinstance(b, InputError)]
            # 3. exact duplicates
            # hashed once per article (a Prepared item carries the hash its worker computed)
            digests = [x.content_hash for x in items]
            known = store.known_hashes(digests)
            fresh: list[Article | Prepared] = []
            fresh_digests: list[str] = []
            for item, digest in zip(items, digests, strict=True):
                if digest in known:
                    summary.duplicates += 1
                    continue
                known.add(digest)
                fresh.append(item)
                fresh_digests.append(digest)
            # 4. ids taken by other content
            taken = store.existing_ids([_article_of(x).id for x in fresh])
            batch_ids: set[str] = set()
            for i, item in enumerate(fresh):
                art = _article_of(item)
                if art.id in taken or art.id in batch_ids:
                    fresh[i] = _renamed(item, f"{art.id}~{fresh_digests[i][:8]}")
                batch_ids.add(_article_of(fresh[i]).id)
            # 5. signatures and features (locally, only for what is new)
            todo = featurize_batch([x for x in fresh if isinstance(x, Article)])
            done = iter(todo)
            prepared = [x if isinstance(x, Prepared) else next(done) for x in fresh]
            # 6. sequential assignment
            new, events, moves = _assign_batch(store, index, prepared, summary)
            # 7. one transaction
            for err in errors:
                summary.skipped[err.reason] += 1
                if len(summary.skipped_examples) < 20:
                    summary.skipped_examples.append(str(err))
                log.info("skipped %s", err)
            due = nxt is None or time.perf_counter() - last_checkpoint >= max(
                checkpoint_seconds, 3 * checkpoint_cost
            )
            state = None
            if due:
                c0 = time.perf_counter()
                state = index.state()
                checkpoint_cost = time.perf_counter() - c0
                last_checkpoint = time.perf_counter()
                summary.checkpoints += 1
                summary.checkpoint_seconds += checkpoint_cost
                summary.checkpoint_bytes += sum(len(v) for v in state.values() if v is not None)
                heap.freeze()
            store.add_articles(
                new, events=events, moves=moves, skipped=[_skip_record(e) for e in errors], state=state
            )
            if progress is not None:
                progress(
                    IngestProgress(
                        seen=summary.seen,
                        added=summary.added,
                        duplicates=summary.duplicates,
                        copies=summary.copies,
                        skipped=sum(summary.skipped.values()),
                        elapsed=time.perf_counter() - t0,
                        checkpoints=summary.checkpoints,
                        checkpoint_seconds=summary.checkpoint_seconds,
                    )
                )
            batch = nxt
        status = "done"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        summary.seconds = time.perf_counter() - t0
        try:
            store.finish_run(run_id, status=status, summary=summary.to_json())
        except StoreError:
            log.warning("could not record the end of ingest run %d", run_id)
        finally:
            run_scope.close()
            writer.__exit__(None, None, None)
    return summary


class _FrozenHeap:
    """Keeps the objects alive at each :meth:`freeze` out of the cyclic garbage collector's sight
    until :meth:`release`.

    Why: the driver keeps a large heap alive for the whole run (the near-duplicate index, the
    open stories and their postings) while every batch promotes thousands of short-lived objects
    to the oldest generation, so full collections kept re-scanning that heap: ~60 us of the
    driver's ~650 us per article (``benchmarks/corpus_driver.py``, stage ``gc2``). Frozen objects
    are still freed by reference counting; only a reference cycle that dies while frozen waits
    for :meth:`release`. A process that froze objects itself is left alone.
    """

    def __init__(self) -> None:
        self._active = gc.get_freeze_count() == 0
        self._frozen = False

    def freeze(self) -> None:
        if self._active:
            gc.freeze()
            self._frozen = True

    def release(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False


def _iter_documents(
    paths: Sequence[str | Path], settings: Settings, engine: Engine | None = None
) -> Iterator[RawDocument | InputError]:
    if engine is not None:  # HTML and text files are read (extracted) on the engine's workers
        from parallax.engine import iter_documents_on

        return iter_documents_on(engine, paths, settings=settings)
    from parallax.ingest import iter_documents

    return iter_documents(paths, settings=settings)


def _article_of(item: Article | Prepared) -> Article:
    return item.article if isinstance(item, Prepared) else item


def _renamed(item: Article | Prepared, new_id: str) -> Article | Prepared:
    """``item`` under another id (the features carry the id the clusterer files them under)."""
    if isinstance(item, Article):
        return dataclasses.replace(item, id=new_id)
    return Prepared(
        article=dataclasses.replace(item.article, id=new_id),
        content_hash=item.content_hash,
        signature=item.signature,
        features=dataclasses.replace(item.features, id=new_id),
    )


def _clean_items(
    items: Sequence[RawDocument | InputError], *, settings: Settings
) -> list[Article | InputError]:
    """:func:`clean_batch` over a mixed batch, errors kept in place."""
    cleaned = iter(clean_batch([x for x in items if isinstance(x, RawDocument)], settings=settings))
    return [x if isinstance(x, InputError) else next(cleaned) for x in items]


def _assign_batch(
    store: Store, index: CorpusIndex, prepared: Sequence[Prepared], summary: IngestSummary
) -> tuple[list[NewArticle], list[StoryEvent], dict[str, str]]:
    """Step 6 of :func:`ingest`: decisions in input order, then merges/splits as story moves."""
    pending: dict[str, str] = {}  # article id -> story id, for articles of this batch

    def story_of(article_id: str) -> str:
        return pending.get(article_id) or _stored_story(store, article_id)

    decisions: list[Decision] = []
    for prep in prepared:
        decision = index.assign(prep, story_of)
        pending[prep.article.id] = decision.story_id
        decisions.append(decision)
        summary.added += 1
        summary.copies += decision.copy_of is not None
        summary.stories_created += decision.created
    events: list[StoryEvent] = []
    moves: dict[str, str] = {}
    relabel: dict[str, str] = {}
    for ev in index.new_events():
        kind = str(ev.kind)
        if kind == "merge":
            summary.merges += 1
            for other in ev.others:
                relabel[str(other)] = str(ev.story_id)
        elif kind == "split":
            summary.splits += 1
        else:
            continue
        events.append(
            StoryEvent(
                kind=kind,
                story_id=str(ev.story_id),
                others=tuple(map(str, ev.others)),
                doc_id=None if ev.doc_id is None else str(ev.doc_id),
            )
        )
    split_moves = index.drain_moves()  # articles (and their copies) that splits moved, to their current story
    if relabel or split_moves:
        # Follow chains (a merged into b, b later merged into c) to the final story.
        def final(sid: str) -> str:
            seen = set()
            while sid in relabel and sid not in seen:
                seen.add(sid)
                sid = relabel[sid]
            return sid

        if relabel:
            for old in relabel:
                for aid in store.story_article_ids(old):
                    moves[aid] = final(old)
        moves.update(split_moves)
        moves = {aid: final(sid) for aid, sid in moves.items()}
        for aid, sid in list(pending.items()):
            pending[aid] = final(moves.pop(aid, sid))
    new = [
        NewArticle(
            article=d.prepared.article,
            content_hash=d.prepared.content_hash,
            story_id=pending[d.prepared.article.id],
            copy_of=d.copy_of,
        )
        for d in decisions
    ]
    return new, events, moves
