"""Incremental story clustering: each new article joins the most similar recent story or starts one.

Articles arrive in publication order (undated ones last) and are assigned one at a time, so a
corpus can grow by daily ingests without re-clustering what is there; a story id, once given,
is never renamed. The per-document work (:func:`parallax.features.extract_features`) is pure and
can run elsewhere; this module holds the sequential part and its state.

How an article is compared with a story (see :meth:`StoryClusterer.add`):

* The article's vector has three blocks, each L2-normalised and scaled by its weight: stemmed
  body terms (sublinear tf times IDF), entities (capitalised phrases, IDF-weighted, the most
  salient counting more) and title terms (IDF-weighted). The cosine with a story's centroid is
  then a weighted mean of the three block similarities: shared rare names and headline words
  separate two different earthquakes that share the vocabulary of earthquakes.
* Document frequencies are learned online, over everything added so far.
* Candidates come from an inverted index over entities, title terms and the heaviest body
  terms of each story's centroid; only stories updated within ``window_days`` of a dated
  article are candidates, which bounds memory and time on a large corpus. Undated articles
  are compared with every active story.
* When an article matches two stories strongly, the younger story is merged into the older
  one; the merge is recorded in :attr:`StoryClusterer.events`.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import logging
import math
import struct
import zlib
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Literal

import numpy as np

from parallax.errors import StoreError
from parallax.features import HASH_BITS, ClusterDoc, DocFeatures, extract_features, publication_day

log = logging.getLogger(__name__)

_FORMAT = "parallax-story-clusterer/2"
_FORMAT_V1 = "parallax-story-clusterer/1"
_MAGIC = b"PXSC2"


@dataclass(frozen=True, slots=True)
class Assignment:
    """The story an article was put in; ``created`` when the article started that story."""

    doc_id: str
    story_id: str
    created: bool


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """A change to the set of stories.

    ``create``: ``doc_id`` started ``story_id``. ``merge``: the stories in ``others`` were merged
    into ``story_id`` (the oldest) because ``doc_id`` bridged them. ``split`` is reserved for a
    later re-clustering pass and not produced yet.
    """

    kind: Literal["create", "merge", "split"]
    story_id: str
    others: tuple[str, ...]
    doc_id: str | None


@dataclass(slots=True)
class _Story:
    """Mutable state of one active story (internal).

    The centroid is two aligned arrays (``int32`` feature ids, sorted, and ``float64`` weights):
    about 12 bytes a term instead of about 100 in a dict, which is what bounds memory when many
    stories are open.
    """

    id: str
    seq: int  # creation order: smaller is older
    vec_keys: np.ndarray  # feature ids of the summed member vectors, sorted (pruned to the heaviest)
    vec_vals: np.ndarray  # their summed weights
    norm: float
    size: int
    last_day: int | None
    keys: set[int] = field(default_factory=set)  # posting keys this story is indexed under


_NO_KEYS = np.zeros(0, dtype=np.int32)
_NO_VALS = np.zeros(0, dtype=np.float64)
#: An article's vector: feature ids (sorted, distinct) and weights.
_Vec = tuple[np.ndarray, np.ndarray]


def _sum_vectors(keys: Sequence[np.ndarray], vals: Sequence[np.ndarray]) -> _Vec:
    """The sum of sparse vectors given as aligned id/weight arrays; ids sorted and distinct."""
    all_keys = np.concatenate(keys)
    all_vals = np.concatenate(vals)
    uniq, inverse = np.unique(all_keys, return_inverse=True)
    if len(uniq) == len(all_keys):
        order = np.argsort(all_keys, kind="stable")
        return all_keys[order].astype(np.int32), all_vals[order]
    return uniq.astype(np.int32), np.bincount(inverse, weights=all_vals, minlength=len(uniq))


def story_id_for(doc_id: str) -> str:
    """The id of a story started by article ``doc_id``: stable and deterministic."""
    return "s-" + hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:12]


class StoryClusterer:
    """Assigns articles, one at a time, to stories; deterministic for a given input order.

    ``threshold`` is the cosine (of the block-weighted vectors, see the module docstring) an
    article needs with a story's centroid to join it. ``merge_threshold`` is the similarity an
    article must have with a *second* story for the two to be merged (``None`` disables merges).
    ``window_days`` bounds how long a dated story stays open after its last article.
    ``max_stories`` bounds the active stories kept in memory (least recently updated go first).
    """

    def __init__(
        self,
        *,
        threshold: float = 0.20,
        merge_threshold: float | None = 0.45,
        window_days: int = 7,
        body_weight: float = 1.0,
        entity_weight: float = 1.2,
        title_weight: float = 0.7,
        number_weight: float = 0.8,
        entity_decay: float = 0.05,
        max_candidates: int = 48,
        index_terms: int = 24,
        centroid_terms: int = 600,
        max_posting: int = 5000,
        max_stories: int = 50_000,
    ) -> None:
        self.params: dict[str, Any] = {
            "threshold": threshold,
            "merge_threshold": merge_threshold,
            "window_days": window_days,
            "body_weight": body_weight,
            "entity_weight": entity_weight,
            "title_weight": title_weight,
            "number_weight": number_weight,
            "entity_decay": entity_decay,
            "max_candidates": max_candidates,
            "index_terms": index_terms,
            "centroid_terms": centroid_terms,
            "max_posting": max_posting,
            "max_stories": max_stories,
        }
        self.threshold = threshold
        self.merge_threshold = merge_threshold
        self.window_days = window_days
        self.max_candidates = max_candidates
        self.index_terms = index_terms
        self.centroid_terms = centroid_terms
        self.max_posting = max_posting
        self.max_stories = max_stories
        self._w_body = body_weight
        self._w_ent = entity_weight
        self._w_title = title_weight
        self._w_num = number_weight
        self._entity_decay = entity_decay
        self.events: list[ClusterEvent] = []
        self._df = np.zeros(1 << HASH_BITS, dtype=np.int32)
        self._n_docs = 0
        self._seq = 0
        self._doc_story: dict[str, str] = {}  # doc id -> story id it was assigned (before merges)
        self._alias: dict[str, str] = {}  # merged story id -> story it was merged into
        self._active: OrderedDict[str, _Story] = OrderedDict()  # least recently updated first
        self._postings: dict[int, set[str]] = {}
        self._expiry: list[tuple[int, str]] = []  # (last day, story id), lazily validated
        self._dense = np.zeros(1 << HASH_BITS, dtype=np.float64)  # scratch: the article being scored

    # --- public API ---------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of articles added."""
        return len(self._doc_story)

    def add(self, features: DocFeatures) -> Assignment:
        """Assign one article to a story (an existing one or a new one) and return where it went.

        1. An article already added keeps its story (adding is idempotent).
        2. Update document frequencies and build the article's weighted vector.
        3. Close stories whose last article is older than the window (dated articles only).
        4. Collect candidate stories from the inverted index and score them by cosine.
        5. Join the best story at or above the threshold, or start a new story.
        6. Merge into the oldest story any other candidate the article matches strongly.
        7. Update the story's centroid and its index entries.
        """
        # 1. Idempotent.
        if features.id in self._doc_story:
            return Assignment(features.id, self.story_of(features.id), created=False)
        # 2. Document frequencies, then the vector.
        self._count(features)
        vec = self._vector(features)
        # 3. Close old stories.
        if features.day is not None:
            self._expire(features.day)
        # 4. Candidates.
        doc_keys = self._index_keys(vec, features)
        scored = self._score(vec, self._candidates(doc_keys), features.day)
        # 5. Join or create.
        created = not scored or scored[0][0] < self.threshold
        if created:
            story = self._new_story(features)
        else:
            story = self._active[scored[0][1]]
            # 6. Merges.
            if self.merge_threshold is not None:
                bridged = [sid for score, sid, _ in scored[1:] if score >= self.merge_threshold]
                if bridged and scored[0][0] >= self.merge_threshold:
                    story = self._merge([story.id, *bridged], features.id)
        self._doc_story[features.id] = story.id
        # 7. Centroid and index.
        self._update(story, vec, features.day, doc_keys)
        return Assignment(features.id, story.id, created=created)

    def add_many(self, feats: Iterable[DocFeatures]) -> list[Assignment]:
        """:meth:`add` each of ``feats`` in order."""
        return [self.add(f) for f in feats]

    def add_copy(self, doc_id: str, canonical_id: str) -> Assignment:
        """Put near-duplicate ``doc_id`` in the story of ``canonical_id`` without counting it.

        Syndicated copies are not independent coverage, so they do not move the centroid or the
        document frequencies.
        """
        if doc_id in self._doc_story:
            return Assignment(doc_id, self.story_of(doc_id), created=False)
        if canonical_id not in self._doc_story:
            raise KeyError(f"canonical article {canonical_id!r} was never added")
        story_id = self.story_of(canonical_id)
        self._doc_story[doc_id] = story_id
        return Assignment(doc_id, story_id, created=False)

    def story_of(self, doc_id: str) -> str:
        """The current story of ``doc_id`` (after merges). Raises ``KeyError`` if unknown."""
        return self._resolve(self._doc_story[doc_id])

    def assignments(self) -> dict[str, str]:
        """Every article added so far mapped to its current story id, in order of addition."""
        return {doc: self._resolve(story) for doc, story in self._doc_story.items()}

    def to_bytes(self) -> bytes:
        """The whole state, compressed; :meth:`from_bytes` restores it and continues identically.

        A JSON header (parameters, counters, merges, expiry queue, events, story metadata, the
        distinct doc and story ids) followed by binary arrays: document frequencies, the story
        index of every article, the centroids and the posting keys. No per-assignment JSON
        pairs: an article costs its id and four bytes.
        """
        stories = list(self._active.values())
        story_ids: dict[str, int] = {}
        doc_story = np.fromiter(
            (story_ids.setdefault(sid, len(story_ids)) for sid in self._doc_story.values()),
            dtype=np.int32,
            count=len(self._doc_story),
        )
        index_keys = [np.array(sorted(st.keys), dtype=np.int32) for st in stories]
        arrays = [
            self._df.astype("<i4"),
            doc_story.astype("<i4"),
            np.concatenate([_NO_KEYS, *(st.vec_keys for st in stories)]).astype("<i4"),
            np.concatenate([_NO_VALS, *(st.vec_vals for st in stories)]).astype("<f8"),
            np.concatenate([_NO_KEYS, *index_keys]).astype("<i4"),
        ]
        header = {
            "format": _FORMAT,
            "params": self.params,
            "n_docs": self._n_docs,
            "seq": self._seq,
            "docs": list(self._doc_story),
            "story_ids": list(story_ids),
            "alias": list(self._alias.items()),
            "stories": [
                [st.id, st.seq, st.norm, st.size, st.last_day, len(st.vec_keys), len(k)]
                for st, k in zip(stories, index_keys, strict=True)
            ],
            "expiry": self._expiry,
            "events": [[e.kind, e.story_id, list(e.others), e.doc_id] for e in self.events],
            "arrays": [a.nbytes for a in arrays],
        }
        head = json.dumps(header, separators=(",", ":")).encode("utf-8")
        body = b"".join([struct.pack("<I", len(head)), head, *(a.tobytes() for a in arrays)])
        return _MAGIC + zlib.compress(body, 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> StoryClusterer:
        """Restore a clusterer saved by :meth:`to_bytes` (or by the JSON format of version 1)."""
        try:
            if not data.startswith(_MAGIC):
                return cls._from_v1(data)
            body = zlib.decompress(data[len(_MAGIC) :])
            (size,) = struct.unpack("<I", body[:4])
            state = json.loads(body[4 : 4 + size])
            if state.get("format") != _FORMAT:
                raise ValueError(f"unknown format {state.get('format')!r}")
            arrays, offset = [], 4 + size
            for nbytes, dtype in zip(state["arrays"], ("<i4", "<i4", "<i4", "<f8", "<i4"), strict=True):
                arrays.append(np.frombuffer(body[offset : offset + nbytes], dtype=dtype))
                offset += nbytes
            if offset != len(body):
                raise ValueError("array sizes do not match the data")
            df, doc_story, vec_keys, vec_vals, index_keys = arrays
            self = cls(**state["params"])
            self._restore_counters(state)
            self._df = df.astype(np.int32)
            story_ids = state["story_ids"]
            self._doc_story = {
                d: story_ids[i] for d, i in zip(state["docs"], doc_story.tolist(), strict=True)
            }
            at_vec = at_key = 0
            for sid, seq, norm, n_docs, last_day, n_vec, n_keys in state["stories"]:
                story = _Story(
                    sid,
                    seq,
                    vec_keys[at_vec : at_vec + n_vec].astype(np.int32),
                    vec_vals[at_vec : at_vec + n_vec].astype(np.float64),
                    norm,
                    n_docs,
                    last_day,
                )
                story.keys = set(index_keys[at_key : at_key + n_keys].tolist())
                at_vec, at_key = at_vec + n_vec, at_key + n_keys
                self._add_restored(story)
        except (ValueError, KeyError, TypeError, IndexError, struct.error, zlib.error) as exc:
            raise StoreError(
                f"story clusterer state cannot be read ({exc}); re-run the ingest to rebuild it"
            ) from exc
        return self

    @classmethod
    def _from_v1(cls, data: bytes) -> StoryClusterer:
        """Restore the JSON state of format version 1 (centroids as id/weight lists)."""
        state = json.loads(zlib.decompress(data))
        if state.get("format") != _FORMAT_V1:
            raise ValueError(f"unknown format {state.get('format')!r}")
        self = cls(**state["params"])
        self._restore_counters(state)
        self._doc_story = dict(state["doc_story"])
        df = zlib.decompress(base64.b64decode(state["df"]))
        self._df = np.frombuffer(df, dtype=np.int32).copy()
        for sid, seq, keys, values, norm, size, last_day, index_keys in state["stories"]:
            vec_keys, vec_vals = _sum_vectors(
                [np.asarray(keys, dtype=np.int64)], [np.asarray(values, dtype=np.float64)]
            )
            story = _Story(sid, seq, vec_keys, vec_vals, norm, size, last_day)
            story.keys = set(index_keys)
            self._add_restored(story)
        return self

    def _restore_counters(self, state: dict[str, Any]) -> None:
        self._n_docs = int(state["n_docs"])
        self._seq = int(state["seq"])
        self._alias = dict(state["alias"])
        self._expiry = [(int(d), str(s)) for d, s in state["expiry"]]
        self.events = [ClusterEvent(k, s, tuple(o), d) for k, s, o, d in state["events"]]

    def _add_restored(self, story: _Story) -> None:
        self._active[story.id] = story
        for key in story.keys:
            self._postings.setdefault(key, set()).add(story.id)

    # --- internals ----------------------------------------------------------------------------

    def _resolve(self, story_id: str) -> str:
        while story_id in self._alias:
            story_id = self._alias[story_id]
        return story_id

    def _count(self, f: DocFeatures) -> None:
        keys = {k for k, _ in f.terms}
        keys.update(f.entities)
        keys.update(f.title_terms)
        keys.update(f.numbers)
        if keys:
            self._df[np.fromiter(keys, dtype=np.int64, count=len(keys))] += 1
        self._n_docs += 1

    def _idf(self, keys: np.ndarray) -> np.ndarray:
        df = self._df[np.asarray(keys, dtype=np.int64)]
        out: np.ndarray = np.log((self._n_docs + 1.0) / (df + 1.0)) + 1.0
        return out

    def _vector(self, f: DocFeatures) -> _Vec:
        """The block-weighted, L2-normalised vector of an article (see the module docstring)."""
        blocks: list[tuple[np.ndarray, np.ndarray, float]] = []
        if f.terms:
            keys = np.fromiter((k for k, _ in f.terms), dtype=np.int64, count=len(f.terms))
            tf = np.fromiter((w for _, w in f.terms), dtype=np.float64, count=len(f.terms))
            blocks.append((keys, tf * self._idf(keys), self._w_body))
        if f.entities:
            keys = np.asarray(f.entities, dtype=np.int64)
            rank = 1.0 / (1.0 + self._entity_decay * np.arange(len(keys)))
            blocks.append((keys, rank * self._idf(keys), self._w_ent))
        if f.title_terms:
            keys = np.asarray(f.title_terms, dtype=np.int64)
            blocks.append((keys, self._idf(keys), self._w_title))
        if f.numbers:
            keys = np.asarray(f.numbers, dtype=np.int64)
            blocks.append((keys, self._idf(keys), self._w_num))
        if not blocks:
            return _NO_KEYS, _NO_VALS
        total = math.sqrt(sum(w * w for _, _, w in blocks)) or 1.0
        scaled = []
        for _, weights, w in blocks:
            norm = float(np.sqrt(weights @ weights)) or 1.0
            scaled.append(weights * (w / (norm * total)))
        return _sum_vectors([k for k, _, _ in blocks], scaled)

    def _index_keys(self, vec: _Vec, f: DocFeatures | None = None) -> set[int]:
        """Keys a vector is found under: its heaviest entries (entities and title terms weigh most)."""
        keys, vals = vec
        if len(keys) > self.index_terms:
            # heaviest first, ties by feature id (keys are sorted, the sort is stable)
            keys = keys[np.argsort(-vals, kind="stable")[: self.index_terms]]
        out = set(keys.tolist())
        if f is not None:
            out.update(f.entities[: self.index_terms // 2])
        return out

    def _candidates(self, keys: set[int]) -> list[str]:
        """Stories sharing the most index keys with an article (at most ``max_candidates``).

        Counted by :class:`collections.Counter` over the chained posting sets, in C: posting
        lists grow with the number of open stories, so a Python loop over them is what made
        per-article cost grow with the corpus.
        """
        postings = self._postings
        limit = self.max_posting
        found = [p for p in map(postings.get, keys) if p and len(p) <= limit]
        hits = Counter(chain.from_iterable(found))
        if len(hits) <= self.max_candidates:
            return sorted(hits)
        ranked = sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))
        return [sid for sid, _ in ranked[: self.max_candidates]]

    def _score(self, vec: _Vec, candidates: list[str], day: int | None) -> list[tuple[float, str, int]]:
        """``(cosine, story id, seq)`` of each eligible candidate, best first (ties: older first).

        The article is spread into a dense scratch vector once; the centroids of all candidates
        are then gathered and multiplied in one step and summed per candidate.
        """
        stories = [self._active[sid] for sid in candidates]
        if day is not None:
            window = self.window_days
            stories = [s for s in stories if s.last_day is None or day - s.last_day <= window]
        if not stories:
            return []
        keys, vals = vec
        dense = self._dense
        dense[keys] = vals
        try:
            sizes = [len(s.vec_keys) for s in stories]
            products = dense[np.concatenate([s.vec_keys for s in stories])]
            products *= np.concatenate([s.vec_vals for s in stories])
        finally:
            dense[keys] = 0.0
        owner = np.repeat(np.arange(len(stories)), sizes)
        dots = np.bincount(owner, weights=products, minlength=len(stories)).tolist()
        out = [(dot / s.norm if s.norm else 0.0, s.id, s.seq) for dot, s in zip(dots, stories, strict=True)]
        out.sort(key=lambda t: (-t[0], t[2]))
        return out

    def _new_story(self, f: DocFeatures) -> _Story:
        sid = story_id_for(f.id)
        if sid in self._active or sid in self._alias:  # another id hashing alike: extremely rare
            sid = story_id_for(f"{f.id}#{self._seq}")
        self._seq += 1
        story = _Story(sid, self._seq, _NO_KEYS, _NO_VALS, 0.0, 0, f.day)
        self._active[sid] = story
        self.events.append(ClusterEvent("create", sid, (), f.id))
        while len(self._active) > self.max_stories:
            _, oldest = next(iter(self._active.items()))
            self._close(oldest)
        return story

    def _merge(self, story_ids: list[str], doc_id: str) -> _Story:
        """Merge the given active stories into the oldest of them; return the survivor."""
        stories = sorted((self._active[s] for s in story_ids), key=lambda s: s.seq)
        keep, rest = stories[0], stories[1:]
        keep.vec_keys, keep.vec_vals = _sum_vectors(
            [keep.vec_keys, *(o.vec_keys for o in rest)], [keep.vec_vals, *(o.vec_vals for o in rest)]
        )
        for other in rest:
            keep.size += other.size
            if other.last_day is not None:
                keep.last_day = (
                    other.last_day if keep.last_day is None else max(keep.last_day, other.last_day)
                )
            self._close(other)
            self._alias[other.id] = keep.id
        self.events.append(ClusterEvent("merge", keep.id, tuple(s.id for s in rest), doc_id))
        log.debug("merged %s into %s (bridged by %s)", [s.id for s in rest], keep.id, doc_id)
        return keep

    def _update(self, story: _Story, vec: _Vec, day: int | None, doc_keys: set[int]) -> None:
        keys, vals = _sum_vectors([story.vec_keys, vec[0]], [story.vec_vals, vec[1]])
        if len(keys) > self.centroid_terms * 3 // 2:
            top = np.sort(np.argsort(-vals, kind="stable")[: self.centroid_terms])
            keys, vals = keys[top], vals[top]
        story.vec_keys, story.vec_vals = keys, vals
        story.norm = math.sqrt(max(float(vals @ vals), 0.0))
        story.size += 1
        if day is not None:
            story.last_day = day if story.last_day is None else max(story.last_day, day)
            heapq.heappush(self._expiry, (story.last_day, story.id))
        self._active.move_to_end(story.id)
        # The story is found under the keys of its members; recomputed from the centroid when
        # that set grows too large, so that index memory stays bounded.
        new_keys = doc_keys - story.keys
        if len(story.keys) + len(new_keys) > 3 * self.index_terms:
            self._unindex(story)
            self._index(story)
        else:
            story.keys |= new_keys
            for key in new_keys:
                self._postings.setdefault(key, set()).add(story.id)

    def _index(self, story: _Story) -> None:
        story.keys = self._index_keys((story.vec_keys, story.vec_vals))
        for key in story.keys:
            self._postings.setdefault(key, set()).add(story.id)

    def _unindex(self, story: _Story) -> None:
        for key in story.keys:
            posting = self._postings.get(key)
            if posting is not None:
                posting.discard(story.id)
                if not posting:
                    del self._postings[key]
        story.keys = set()

    def _close(self, story: _Story) -> None:
        """Drop an active story from memory and the index; its assignments stay."""
        self._unindex(story)
        self._active.pop(story.id, None)

    def _expire(self, day: int) -> None:
        horizon = day - self.window_days
        while self._expiry and self._expiry[0][0] < horizon:
            last_day, sid = heapq.heappop(self._expiry)
            story = self._active.get(sid)
            if story is not None and story.last_day == last_day:
                self._close(story)


def _order_key(doc: ClusterDoc) -> tuple[int, int, str]:
    day = publication_day(doc.published)
    if day is None:
        return (1, 0, doc.id)
    return (0, day, f"{doc.published}\x00{doc.id}")


def order_for_clustering(docs: Sequence[ClusterDoc]) -> list[ClusterDoc]:
    """``docs`` in publication order, undated ones last; ties broken by id (deterministic)."""
    return sorted(docs, key=_order_key)


def cluster_documents(docs: Sequence[ClusterDoc], **kwargs: Any) -> dict[str, str]:
    """Batch convenience: order ``docs``, extract features, add them; article id -> story id.

    ``kwargs`` are :class:`StoryClusterer` tunables.
    """
    clusterer = StoryClusterer(**kwargs)
    clusterer.add_many(extract_features(d) for d in order_for_clustering(docs))
    return clusterer.assignments()
