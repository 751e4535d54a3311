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
  are compared with every active story. An undated story has no day to age by, so it closes
  when ``undated_horizon`` articles have arrived since its most recent recorded one: the index
  and the open stories then follow the recent stream, not the whole corpus.
* When an article matches two stories strongly, the younger story is merged into the older
  one; the merge is recorded in :attr:`StoryClusterer.events`.
* A story can drift: articles chain into it one by one until it tells two events. Each active
  story keeps a compact record of its most recent members (doc id and the heaviest
  ``member_terms`` entries of the article's vector, at most ``member_cap`` members); when its
  size reaches a checkpoint (8, 16, 32, ..., 256, then every 256 articles) the members are
  split in two by spherical 2-means, and the story is split when both groups are large and
  clearly dissimilar (see :meth:`StoryClusterer._split_groups`). The group with the oldest
  recorded member keeps the story id; the other group becomes a new story. The split is recorded in
  :attr:`StoryClusterer.events` and the moved articles are reported by
  :meth:`StoryClusterer.drain_moves`. Member records are dropped when a story closes, so memory
  stays bounded by the active stories.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import math
import struct
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, pairwise
from typing import Any, Literal

import numpy as np

from parallax.errors import StoreError
from parallax.features import HASH_BITS, ClusterDoc, DocFeatures, extract_features, publication_day

log = logging.getLogger(__name__)

_FORMAT = "parallax-story-clusterer/4"
_MAGIC = b"PXSC4"
#: Format 3 (the article -> story map of every article added) is read and converted.
_FORMAT_3, _MAGIC_3 = "parallax-story-clusterer/3", b"PXSC3"
_OLD_MAGIC = b"PXSC"  # followed by an older version digit
_OLD_FORMAT = "parallax-story-clusterer/"
#: ``day`` of an undated member in the compact member record.
_NO_DAY = -(2**31)
#: Story sizes at which a split is considered: 8, 16, ..., 256, then every 256 articles.
_FIRST_CHECK, _CHECK_STEP = 8, 256
#: A split needs both groups to hold at least this many members and this share of them.
_SPLIT_MIN_MEMBERS, _SPLIT_MIN_SHARE = 3, 0.2
_KMEANS_ROUNDS = 10


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
    into ``story_id`` (the oldest) because ``doc_id`` bridged them. ``split``: ``story_id`` told
    two events, and the articles of the younger one were moved to the new story ``others[0]``
    (``story_id`` keeps the group holding its oldest recorded member); ``doc_id`` is the
    article whose arrival triggered the check. Which articles moved: see
    :meth:`StoryClusterer.drain_moves`.
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
    members: _Members
    keys: set[int] = field(default_factory=set)  # posting keys this story is indexed under
    next_check: int = _FIRST_CHECK  # size at which a split is next considered


_NO_KEYS = np.zeros(0, dtype=np.int32)
_NO_VALS = np.zeros(0, dtype=np.float64)
#: An article's vector: feature ids (sorted, distinct) and weights.
_Vec = tuple[np.ndarray, np.ndarray]


def _next_check(size: int) -> int:
    """The first split checkpoint above ``size``: 8, 16, 32, ..., 256, then every 256."""
    if size < _FIRST_CHECK:
        return _FIRST_CHECK
    if size < _CHECK_STEP:
        return 1 << size.bit_length()
    return (size // _CHECK_STEP + 1) * _CHECK_STEP


class _Members:
    """The compact record of the most recent members (not copies) of an active story (internal).

    One row a member: its doc id, its order of addition (the index of the article among all
    added, so the smallest is the oldest), its day (``_NO_DAY`` if undated) and its truncated
    vector: the ``width`` heaviest entries of the article's vector (``int32`` ids and
    ``float32`` weights, padded with id 0 and weight 0). A ring of at most ``cap`` rows: the
    arrays grow by doubling up to ``cap``, then the oldest row is overwritten, so a story costs
    at most about ``cap * (8 * width + 12)`` bytes. Rows are used in order of addition
    (:meth:`ordered`), never in slot order, so the layout does not affect any result.
    """

    __slots__ = ("cap", "days", "head", "ids", "keys", "order", "vals")

    def __init__(self, width: int, cap: int, alloc: int = 1) -> None:
        self.cap = cap
        self.ids: list[str] = []
        self.order = np.zeros(alloc, dtype=np.int64)
        self.days = np.zeros(alloc, dtype=np.int32)
        self.keys = np.zeros((alloc, width), dtype=np.int32)
        self.vals = np.zeros((alloc, width), dtype=np.float32)
        self.head = 0  # the slot overwritten next once the ring is full

    def __len__(self) -> int:
        return len(self.ids)

    def append(
        self, doc_id: str, order: int, day: int | None, keys: np.ndarray, vals: np.ndarray
    ) -> str | None:
        """Record a member; return the id of the member it displaced (the oldest) if the ring was full."""
        n = len(self.ids)
        evicted = None
        if n < self.cap:
            if n == len(self.order):
                self._grow(min(self.cap, max(1, 2 * n)))
            slot = n
            self.ids.append(doc_id)
        else:
            slot = self.head
            self.head = (slot + 1) % self.cap
            evicted = self.ids[slot]
            self.ids[slot] = doc_id
        self.order[slot] = order
        self.days[slot] = _NO_DAY if day is None else day
        self.keys[slot] = 0
        self.vals[slot] = 0.0
        self.keys[slot, : len(keys)] = keys
        self.vals[slot, : len(vals)] = vals
        return evicted

    def _grow(self, alloc: int) -> None:
        n = len(self.ids)
        for name in ("order", "days", "keys", "vals"):
            old = getattr(self, name)
            new = np.zeros((alloc, *old.shape[1:]), dtype=old.dtype)
            new[:n] = old[:n]
            setattr(self, name, new)

    def ordered(self) -> np.ndarray:
        """Slots of the members in order of addition (oldest first)."""
        n = len(self.ids)
        if n < self.cap or self.head == 0:
            return np.arange(n)
        return np.concatenate([np.arange(self.head, n), np.arange(self.head)])

    @classmethod
    def from_rows(
        cls,
        width: int,
        cap: int,
        ids: list[str],
        order: np.ndarray,
        days: np.ndarray,
        keys: np.ndarray,
        vals: np.ndarray,
    ) -> _Members:
        """A record holding the given rows (in order of addition; at most ``cap``)."""
        n = len(ids)
        alloc = 1
        while alloc < n:
            alloc *= 2
        m = cls(width, cap, min(alloc, cap))
        m.ids = list(ids)
        m.order[:n] = order
        m.days[:n] = days
        m.keys[:n] = keys
        m.vals[:n] = vals
        return m


def _sum_vectors(keys: Sequence[np.ndarray], vals: Sequence[np.ndarray]) -> _Vec:
    """The sum of sparse vectors given as aligned id/weight arrays; ids sorted and distinct."""
    all_keys = np.concatenate(keys)
    all_vals = np.concatenate(vals)
    uniq, inverse = np.unique(all_keys, return_inverse=True)
    if len(uniq) == len(all_keys):
        order = np.argsort(all_keys, kind="stable")
        return all_keys[order].astype(np.int32), all_vals[order]
    return uniq.astype(np.int32), np.bincount(inverse, weights=all_vals, minlength=len(uniq))


@lru_cache(maxsize=4)
def _prior_table() -> tuple[np.ndarray, np.ndarray, int]:
    from importlib.resources import files

    with files("parallax").joinpath("data/df_prior.npz").open("rb") as fh:
        data = np.load(fh)
        return data["keys"].astype(np.int64), data["counts"].astype(np.float32), int(data["docs"][0])


def load_df_prior(weight: float) -> tuple[np.ndarray | None, float]:
    """Background document frequencies scaled to ``weight`` pseudo-documents, as a dense array.

    The shipped table (``data/df_prior.npz``, built by ``scripts/build_df_prior.py`` from news
    text that no clustering evaluation uses) counts, for each hashed feature, the background
    documents it occurs in. ``weight`` 0 disables the prior.
    """
    if weight <= 0:
        return None, 0.0
    keys, counts, docs = _prior_table()
    dense = np.zeros(1 << HASH_BITS, dtype=np.float32)
    dense[keys] = counts * np.float32(weight / docs)
    return dense, float(weight)


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
    ``undated_horizon``: an undated story (no dated member) closes once this many articles
    (copies included) have been added since its most recent recorded member, the article-count
    analogue of ``window_days``; without it, undated stories stayed open until ``max_stories``,
    so candidate lists, the checkpoint and memory grew with the corpus (``None`` disables).
    ``split_ratio``: a story is split when the mean similarity between its two halves is at
    most this share of the mean similarity within the less coherent half (``None`` disables
    splits); ``member_terms`` and ``member_cap`` size the per-story member record splits work on
    (entries kept per article, most recent articles kept per story).
    ``prior_weight``: background document frequencies (``data/df_prior.npz``) counted as this many
    documents, so that a young corpus already knows which words every article uses (0 disables).
    ``linkage``: 1 scores an article by its cosine with a story's centroid, 0 by its mean
    similarity to the story's articles (average linkage); values between blend the two.
    ``day_decay`` and ``day_grace``: an event is reported within a few days, so a dated article's
    score with a story last updated more than ``day_grace`` days away is multiplied by
    ``exp(-(gap - day_grace) / day_decay)`` (``None`` disables).
    The defaults of ``threshold``, ``prior_weight`` and ``linkage`` are the setting that
    leave-one-corpus-out cross-validation selects (``parallax eval clustering --cv``; see
    docs/evaluation.md); those of ``day_decay`` and ``day_grace`` are the window
    :func:`learn_day_window` learns from the dates of the labelled stories.
    ``keep_assignments``: keep the story of every article added (:meth:`assignments`). With
    ``False`` (the corpus ingest, whose store holds every assignment) only the articles whose story
    can still change are kept -- the recorded members of the active stories and the copies that
    follow them -- so memory and the saved state are bounded by the active stories, not the
    corpus. The stories are the same either way; :meth:`add` is then idempotent only for articles
    still kept, and :meth:`add_copy` asks its ``fallback`` for the story of a canonical article
    no longer kept.
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
        max_candidates: int = 24,
        index_terms: int = 24,
        centroid_terms: int = 300,
        max_posting: int = 5000,
        max_stories: int = 50_000,
        split_ratio: float | None = 0.5,
        member_terms: int = 32,
        member_cap: int = 256,
        prior_weight: float = 2000.0,
        linkage: float = 0.75,
        day_decay: float | None = 1.0,
        day_grace: int = 2,
        keep_assignments: bool = True,
        undated_horizon: int | None = 50_000,
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
            "split_ratio": split_ratio,
            "member_terms": member_terms,
            "member_cap": member_cap,
            "prior_weight": prior_weight,
            "linkage": linkage,
            "day_decay": day_decay,
            "day_grace": day_grace,
            "undated_horizon": undated_horizon,
        }
        self.day_decay = day_decay
        self.day_grace = day_grace
        self.linkage = linkage
        self.threshold = threshold
        self.merge_threshold = merge_threshold
        self.window_days = window_days
        self.max_candidates = max_candidates
        self.index_terms = index_terms
        self.centroid_terms = centroid_terms
        self.max_posting = max_posting
        self.max_stories = max_stories
        self.split_ratio = split_ratio
        self.member_terms = member_terms
        self.member_cap = member_cap
        self.keep_assignments = keep_assignments
        self.undated_horizon = undated_horizon
        if member_terms < 1 or member_cap < 1:
            raise ValueError("member_terms and member_cap must be at least 1")
        self._w_body = body_weight
        self._w_ent = entity_weight
        self._w_title = title_weight
        self._w_num = number_weight
        self._entity_decay = entity_decay
        self.events: list[ClusterEvent] = []
        self._df = np.zeros(1 << HASH_BITS, dtype=np.int32)
        self._n_docs = 0
        # Background document frequencies (pseudo-counts worth ``prior_weight`` documents) so that
        # a young corpus already knows which words every article uses (see load_df_prior).
        self._df_prior, self._n_prior = load_df_prior(prior_weight)
        self._seq = 0
        self._added = 0  # articles added (copies included): the order of the next one
        # doc id -> story id, resolved through _alias for merges; a split rewrites the entries
        # of the articles it moves (and of their copies), so reading it needs no other lookup.
        # Without keep_assignments, only recorded members and the copies that follow them.
        self._doc_story: dict[str, str] = {}
        # Copies whose canonical is a recorded member of an active story (only those can move):
        # canonical -> [(copy id, index of the copy in _doc_story)], and copy -> canonical.
        # Dropped with the canonical's member record, so bounded like the records; a copy
        # whose canonical left the records keeps its story, as its canonical does.
        self._copies: dict[str, list[tuple[str, int]]] = {}
        self._copy_root: dict[str, str] = {}
        self._moves: dict[str, str] = {}  # doc id -> story id it was moved to by a split
        self._alias: dict[str, str] = {}  # merged story id -> story it was merged into
        self._active: OrderedDict[str, _Story] = OrderedDict()  # least recently updated first
        self._postings: dict[int, set[str]] = {}
        self._expiry: list[tuple[int, str]] = []  # (last day, story id), lazily validated
        # (order of the most recent recorded member, story id) of undated stories, lazily validated
        self._quiet: list[tuple[int, str]] = []
        self._dense = np.zeros(1 << HASH_BITS, dtype=np.float64)  # scratch: the article being scored

    # --- public API ---------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of articles added (copies included)."""
        return self._added

    def add(self, features: DocFeatures) -> Assignment:
        """Assign one article to a story (an existing one or a new one) and return where it went.

        1. An article already added keeps its story (adding is idempotent).
        2. Update document frequencies and build the article's weighted vector.
        3. Close stories whose last article is older than the window (dated articles only), and
           undated stories whose last article is more than ``undated_horizon`` articles back.
        4. Collect candidate stories from the inverted index and score them by cosine.
        5. Join the best story at or above the threshold, or start a new story.
        6. Merge into the oldest story any other candidate the article matches strongly.
        7. Update the story's centroid, its index entries and its member record.
        8. At a size checkpoint, split the story if it tells two events (the returned story is
           where the article is after that).
        """
        # 1. Idempotent.
        if features.id in self._doc_story:
            return Assignment(features.id, self.story_of(features.id), created=False)
        # 2. Document frequencies, then the vector.
        self._count(features)
        vec = self._vector(features)
        heaviest = np.argsort(-vec[1], kind="stable")  # ties by feature id (keys are sorted)
        # 3. Close old stories.
        if features.day is not None:
            self._expire(features.day)
        self._retire_quiet()
        # 4. Candidates.
        doc_keys = self._index_keys(vec, features, heaviest)
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
        order = self._added
        self._added += 1
        self._doc_story[features.id] = story.id
        # 7. Centroid, index and member record.
        self._update(story, vec, features.day, doc_keys)
        top = np.sort(heaviest[: self.member_terms])
        self._remember(story, features.id, order, features.day, vec[0][top], vec[1][top])
        # 8. Splits.
        if story.size >= story.next_check:
            self._check_split(story, features.id)
            self._moves.pop(features.id, None)  # the caller learns its story from the return
        return Assignment(features.id, self._doc_story[features.id], created=created)

    def add_many(self, feats: Iterable[DocFeatures]) -> list[Assignment]:
        """:meth:`add` each of ``feats`` in order."""
        return [self.add(f) for f in feats]

    def add_copy(
        self, doc_id: str, canonical_id: str, *, fallback: Callable[[str], str] | None = None
    ) -> Assignment:
        """Put near-duplicate ``doc_id`` in the story of ``canonical_id`` without counting it.

        Syndicated copies are not independent coverage, so they do not move the centroid or the
        document frequencies, and they are not members a split looks at. A copy follows its
        canonical article (or, if ``canonical_id`` is itself a copy, that copy's canonical)
        when a split moves it; it is then reported by :meth:`drain_moves` too.

        A canonical article this clusterer does not keep (see ``keep_assignments``) has left the
        member records, so no split can move it or its copy: its story is the one a split moved
        it to since the last :meth:`drain_moves`, else ``fallback(canonical_id)`` (the stored
        story), followed through merges. Without ``fallback`` an unknown canonical raises ``KeyError``.
        """
        if doc_id in self._doc_story:
            return Assignment(doc_id, self.story_of(doc_id), created=False)
        if canonical_id not in self._doc_story:
            if fallback is None:
                raise KeyError(f"canonical article {canonical_id!r} was never added")
            story_id = self._resolve(self._moves.get(canonical_id) or fallback(canonical_id))
            self._added += 1
            return Assignment(doc_id, story_id, created=False)
        story_id = self.story_of(canonical_id)
        root = self._copy_root.get(canonical_id, canonical_id)
        copies = self._copies.get(root)
        if copies is None and self._is_recorded(root, story_id):
            copies = self._copies[root] = []
        if copies is not None:
            copies.append((doc_id, self._added))
            self._copy_root[doc_id] = root
        if copies is not None or self.keep_assignments:
            self._doc_story[doc_id] = story_id
        self._added += 1
        return Assignment(doc_id, story_id, created=False)

    def story_of(self, doc_id: str) -> str:
        """The current story of ``doc_id`` (after merges and splits). Raises ``KeyError`` if unknown."""
        return self._resolve(self._doc_story[doc_id])

    def assignments(self) -> dict[str, str]:
        """Every article added so far mapped to its current story id, in order of addition.

        Raises ``ValueError`` without ``keep_assignments`` (the clusterer then forgets them).
        """
        if not self.keep_assignments:
            raise ValueError("assignments are not kept (keep_assignments=False): read them from the store")
        return {doc: self._resolve(story) for doc, story in self._doc_story.items()}

    def drain_moves(self) -> dict[str, str]:
        """Articles moved by splits since the last call, mapped to their current story id.

        A split (a ``"split"`` event in :attr:`events`) moves the articles of the split-off
        group, and the near-duplicate copies filed with them (:meth:`add_copy`), out of the
        story they had been returned in; this reports each such article once, with the story it
        is in now (after any later merge), and forgets them. The article whose :meth:`add`
        triggered a split is not included: its :class:`Assignment` already names its story.
        Whoever stores assignments (the corpus ingest) moves these articles after each batch.
        """
        moves = {doc: self._resolve(story) for doc, story in self._moves.items()}
        self._moves.clear()
        return moves

    def drain_events(self) -> list[ClusterEvent]:
        """The events recorded since the last call, oldest first; they are then forgotten.

        :attr:`events` keeps every event of a batch run (evaluation, tests); a long-running
        consumer (the corpus ingest, which logs merges and splits in its store) drains them
        after each batch instead, so that neither memory nor the saved state grows with them.
        """
        events, self.events = self.events, []
        return events

    def to_bytes(self) -> bytes:
        """The state, compressed; :meth:`from_bytes` restores it and continues identically.

        A JSON header (parameters, counters, merges, expiry queue, events, story metadata, the
        distinct doc and story ids kept, undrained moves) followed by binary arrays: document
        frequencies, the story index of every article kept, the centroids, the posting keys, the
        member records of the active stories (rows in order of addition, ids as indexes into
        the doc ids) and the copies that follow a recorded member. No per-assignment JSON pairs:
        an article costs its id and four bytes. Without ``keep_assignments`` only the active
        stories' articles are kept, so the size is bounded by the active stories, not the corpus.
        """
        stories = list(self._active.values())
        docs = list(self._doc_story)
        position = {d: i for i, d in enumerate(docs)}
        story_ids: dict[str, int] = {}
        doc_story = np.fromiter(
            (story_ids.setdefault(sid, len(story_ids)) for sid in self._doc_story.values()),
            dtype=np.int32,
            count=len(docs),
        )
        index_keys = [np.array(sorted(st.keys), dtype=np.int32) for st in stories]
        rows = [st.members.ordered() for st in stories]
        member_ids = [
            position[st.members.ids[j]] for st, r in zip(stories, rows, strict=True) for j in r.tolist()
        ]
        copies = [(position[root], position[copy]) for root, cs in self._copies.items() for copy, _ in cs]
        width = self.member_terms
        arrays = [
            self._df.astype("<i4"),
            doc_story.astype("<i4"),
            np.concatenate([_NO_KEYS, *(st.vec_keys for st in stories)]).astype("<i4"),
            np.concatenate([_NO_VALS, *(st.vec_vals for st in stories)]).astype("<f8"),
            np.concatenate([_NO_KEYS, *index_keys]).astype("<i4"),
            np.concatenate(
                [np.zeros(0, np.int64), *(st.members.order[r] for st, r in zip(stories, rows, strict=True))]
            ).astype("<i8"),
            np.array(member_ids, dtype="<i4"),
            np.concatenate(
                [_NO_KEYS, *(st.members.days[r] for st, r in zip(stories, rows, strict=True))]
            ).astype("<i4"),
            np.concatenate(
                [
                    np.zeros((0, width), np.int32),
                    *(st.members.keys[r] for st, r in zip(stories, rows, strict=True)),
                ]
            ).astype("<i4"),
            np.concatenate(
                [
                    np.zeros((0, width), np.float32),
                    *(st.members.vals[r] for st, r in zip(stories, rows, strict=True)),
                ]
            ).astype("<f4"),
            np.array(copies, dtype="<i8").reshape(-1, 2),
        ]
        header = {
            "format": _FORMAT,
            "params": self.params,
            "keep_assignments": self.keep_assignments,
            "added": self._added,
            "n_docs": self._n_docs,
            "seq": self._seq,
            "docs": docs,
            "story_ids": list(story_ids),
            "alias": list(self._alias.items()),
            "stories": [
                [
                    st.id,
                    st.seq,
                    st.norm,
                    st.size,
                    st.last_day,
                    len(st.vec_keys),
                    len(k),
                    st.next_check,
                    len(r),
                ]
                for st, k, r in zip(stories, index_keys, rows, strict=True)
            ],
            "expiry": self._expiry,
            "events": [[e.kind, e.story_id, list(e.others), e.doc_id] for e in self.events],
            "moves": list(self._moves.items()),
            "arrays": [a.nbytes for a in arrays],
        }
        # the header is compressed; the arrays (mostly weights and hashed ids, which compress
        # poorly) are written raw: compressing them was most of the cost of a checkpoint
        head = zlib.compress(json.dumps(header, separators=(",", ":")).encode("utf-8"), 1)
        return b"".join([_MAGIC, struct.pack("<I", len(head)), head, *(a.tobytes() for a in arrays)])

    @classmethod
    def from_bytes(cls, data: bytes, *, keep_assignments: bool | None = None) -> StoryClusterer:
        """Restore a clusterer saved by :meth:`to_bytes` of this version or of format 3.

        ``keep_assignments`` overrides the saved setting; restoring a state that kept every
        assignment without them drops all but the active stories' articles (as if it had run so).
        Format 3 (member records named by order of addition, every assignment kept) is converted.
        The state of an older version (format 1, JSON; format 2, without member records) is
        refused with :class:`~parallax.errors.StoreError`: it lacks what splits need, and the
        ingest rebuilds the state by replaying the stored articles.
        """
        # df, doc stories, centroid keys and weights, posting keys, member orders, (format 4:
        # member doc indexes), member days, keys and weights, copies
        dtypes: tuple[str, ...] = ("<i4", "<i4", "<i4", "<f8", "<i4", "<i8", "<i4", "<i4", "<f4", "<i8")
        if data.startswith(_MAGIC):
            fmt, dtypes = _FORMAT, (*dtypes[:6], "<i4", *dtypes[6:])
        elif data.startswith(_MAGIC_3):
            fmt = _FORMAT_3
        else:
            raise StoreError(cls._unreadable(data))
        try:
            if fmt == _FORMAT:
                body = memoryview(data)[len(_MAGIC) :]
                (size,) = struct.unpack("<I", body[:4])
                state = json.loads(zlib.decompress(body[4 : 4 + size]))
            else:  # format 3: all compressed
                body = memoryview(zlib.decompress(data[len(_MAGIC) :]))
                (size,) = struct.unpack("<I", body[:4])
                state = json.loads(bytes(body[4 : 4 + size]))
            if state.get("format") != fmt:
                raise ValueError(f"unknown format {state.get('format')!r}")
            arrays, offset = [], 4 + size
            for nbytes, dtype in zip(state["arrays"], dtypes, strict=True):
                arrays.append(np.frombuffer(body[offset : offset + nbytes], dtype=dtype))
                offset += nbytes
            if offset != len(body):
                raise ValueError("array sizes do not match the data")
            if fmt == _FORMAT_3:  # every article kept: the order of addition is the index among the docs
                arrays.insert(6, arrays[5])
            df, doc_story, vec_keys, vec_vals, index_keys, m_order, m_doc, m_days, m_keys, m_vals, copies = (
                arrays
            )
            saved_keep = bool(state.get("keep_assignments", True))
            keep = saved_keep if keep_assignments is None else keep_assignments
            self = cls(**state["params"], keep_assignments=keep)
            self._restore_counters(state)
            self._df = df.astype(np.int32)
            docs: list[str] = state["docs"]
            self._added = int(state.get("added", len(docs)))
            story_ids = state["story_ids"]
            self._doc_story = {d: story_ids[i] for d, i in zip(docs, doc_story.tolist(), strict=True)}
            width, cap = self.member_terms, self.member_cap
            m_keys, m_vals = m_keys.reshape(-1, width), m_vals.reshape(-1, width)
            at_vec = at_key = at_member = 0
            for sid, seq, norm, n_docs, last_day, n_vec, n_keys, next_check, n_members in state["stories"]:
                rows = slice(at_member, at_member + n_members)
                members = _Members.from_rows(
                    width,
                    cap,
                    [docs[i] for i in m_doc[rows].tolist()],
                    m_order[rows],
                    m_days[rows],
                    m_keys[rows],
                    m_vals[rows],
                )
                story = _Story(
                    sid,
                    seq,
                    vec_keys[at_vec : at_vec + n_vec].astype(np.int32),
                    vec_vals[at_vec : at_vec + n_vec].astype(np.float64),
                    norm,
                    n_docs,
                    last_day,
                    members,
                    next_check=next_check,
                )
                story.keys = set(index_keys[at_key : at_key + n_keys].tolist())
                at_vec, at_key, at_member = at_vec + n_vec, at_key + n_keys, at_member + n_members
                self._add_restored(story)
            for root, copy in copies.reshape(-1, 2).tolist():
                self._copies.setdefault(docs[root], []).append((docs[copy], copy))
                self._copy_root[docs[copy]] = docs[root]
            self._moves = {str(d): str(s) for d, s in state["moves"]}
            if saved_keep and not keep:
                kept = set(self._copy_root).union(*(st.members.ids for st in self._active.values()))
                self._doc_story = {d: s for d, s in self._doc_story.items() if d in kept}
        except (ValueError, KeyError, TypeError, IndexError, struct.error, zlib.error) as exc:
            raise StoreError(
                f"story clusterer state cannot be read ({exc}); re-run the ingest to rebuild it"
            ) from exc
        return self

    @staticmethod
    def _unreadable(data: bytes) -> str:
        """Why ``data`` (not in this format) cannot be restored."""
        older = (
            "story clusterer state was written by an older version of parallax ({}); "
            "it is rebuilt by replaying the stored articles"
        )
        version = data[len(_OLD_MAGIC) : len(_OLD_MAGIC) + 1]
        if data.startswith(_OLD_MAGIC) and version.isdigit():
            if version < _MAGIC[len(_OLD_MAGIC) :]:
                return older.format(f"format {version.decode()}")
            return f"story clusterer state has format {version.decode()}, which this version cannot read"
        try:  # format 1: compressed JSON
            fmt = json.loads(zlib.decompress(data)).get("format")
        except (ValueError, AttributeError, zlib.error):
            fmt = None
        if isinstance(fmt, str) and fmt.startswith(_OLD_FORMAT):
            return older.format(f"format {fmt.removeprefix(_OLD_FORMAT)}")
        return "story clusterer state cannot be read (not a saved clusterer); re-run the ingest to rebuild it"

    def _restore_counters(self, state: dict[str, Any]) -> None:
        self._n_docs = int(state["n_docs"])
        self._seq = int(state["seq"])
        self._alias = dict(state["alias"])
        self._expiry = [(int(d), str(s)) for d, s in state["expiry"]]
        self.events = [ClusterEvent(k, s, tuple(o), d) for k, s, o, d in state["events"]]

    def _add_restored(self, story: _Story) -> None:
        self._active[story.id] = story
        self._watch_quiet(story)  # the queue is not saved: it holds one valid entry per undated story
        for key in story.keys:
            self._postings.setdefault(key, set()).add(story.id)

    # --- internals ----------------------------------------------------------------------------

    def _resolve(self, story_id: str) -> str:
        while story_id in self._alias:
            story_id = self._alias[story_id]
        return story_id

    def _count(self, f: DocFeatures) -> None:
        keys = set(f.term_keys.tolist())
        keys.update(f.entities)
        keys.update(f.title_terms)
        keys.update(f.numbers)
        if keys:
            self._df[np.fromiter(keys, dtype=np.int64, count=len(keys))] += 1
        self._n_docs += 1

    def _idf(self, keys: np.ndarray) -> np.ndarray:
        idx = np.asarray(keys, dtype=np.int64)
        df = self._df[idx]
        if self._df_prior is not None:
            df = df + self._df_prior[idx]
        out: np.ndarray = np.log((self._n_docs + self._n_prior + 1.0) / (df + 1.0)) + 1.0
        return out

    def _vector(self, f: DocFeatures) -> _Vec:
        """The block-weighted, L2-normalised vector of an article (see the module docstring)."""
        blocks: list[tuple[np.ndarray, np.ndarray, float]] = []
        if len(f.term_keys):
            keys = f.term_keys
            blocks.append((keys, f.term_weights * self._idf(keys), self._w_body))
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

    def _index_keys(
        self, vec: _Vec, f: DocFeatures | None = None, heaviest: np.ndarray | None = None
    ) -> set[int]:
        """Keys a vector is found under: its heaviest entries (entities and title terms weigh most).

        ``heaviest`` is the vector's positions by decreasing weight, if already known.
        """
        keys, vals = vec
        if len(keys) > self.index_terms:
            if heaviest is None:
                # heaviest first, ties by feature id (keys are sorted, the sort is stable)
                heaviest = np.argsort(-vals, kind="stable")
            keys = keys[heaviest[: self.index_terms]]
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
        k = self.max_candidates
        if len(hits) <= k:
            return sorted(hits)
        # the k best by (count desc, id): cut at the k-th largest count (a sort of plain ints, in
        # C) instead of sorting every hit with a key function
        cut = sorted(hits.values(), reverse=True)[k - 1]
        chosen = [sid for sid, n in hits.items() if n > cut]
        chosen += sorted(sid for sid, n in hits.items() if n == cut)[: k - len(chosen)]
        return sorted(chosen, key=lambda sid: (-hits[sid], sid))

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
        # linkage 1: cosine with the centroid; 0: mean similarity to the members (average linkage)
        a = self.linkage
        out = [
            (dot / (s.norm**a * s.size ** (1.0 - a)) if s.norm else 0.0, s.id, s.seq)
            for dot, s in zip(dots, stories, strict=True)
        ]
        if self.day_decay and day is not None:
            # an event is reported within a day or so: a story last updated days ago scores less
            tau = self.day_decay
            out = [
                (
                    score * math.exp(-max(0, abs(day - s.last_day) - self.day_grace) / tau)
                    if s.last_day is not None
                    else score,
                    sid,
                    seq,
                )
                for (score, sid, seq), s in zip(out, stories, strict=True)
            ]
        out.sort(key=lambda t: (-t[0], t[2]))
        return out

    def _next_story_id(self, doc_id: str) -> str:
        """The id of a story started by ``doc_id`` (a new story or a split-off group); counts it in
        ``self._seq``. Another id hashing alike, or a merged story's id, is avoided (extremely rare)."""
        sid = story_id_for(doc_id)
        if sid in self._active or sid in self._alias:
            sid = story_id_for(f"{doc_id}#{self._seq}")
        self._seq += 1
        return sid

    def _new_story(self, f: DocFeatures) -> _Story:
        sid = self._next_story_id(f.id)
        story = _Story(
            sid, self._seq, _NO_KEYS, _NO_VALS, 0.0, 0, f.day, _Members(self.member_terms, self.member_cap)
        )
        self._active[sid] = story
        self.events.append(ClusterEvent("create", sid, (), f.id))
        self._evict()
        return story

    def _evict(self) -> None:
        """Close the least recently updated stories beyond ``max_stories``."""
        while len(self._active) > self.max_stories:
            _, oldest = next(iter(self._active.items()))
            self._close(oldest)

    def _merge(self, story_ids: list[str], doc_id: str) -> _Story:
        """Merge the given active stories into the oldest of them; return the survivor."""
        stories = sorted((self._active[s] for s in story_ids), key=lambda s: s.seq)
        keep, rest = stories[0], stories[1:]
        keep.vec_keys, keep.vec_vals = _sum_vectors(
            [keep.vec_keys, *(o.vec_keys for o in rest)], [keep.vec_vals, *(o.vec_vals for o in rest)]
        )
        keep.members = self._joined_members([s.members for s in stories])
        for other in rest:
            other.members = _Members(self.member_terms, self.member_cap, 0)  # now in keep's record
            keep.size += other.size
            if other.last_day is not None:
                keep.last_day = (
                    other.last_day if keep.last_day is None else max(keep.last_day, other.last_day)
                )
            self._close(other)
            self._alias[other.id] = keep.id
        keep.next_check = _next_check(keep.size)  # a merge does not count as passing a checkpoint
        self.events.append(ClusterEvent("merge", keep.id, tuple(s.id for s in rest), doc_id))
        log.debug("merged %s into %s (bridged by %s)", [s.id for s in rest], keep.id, doc_id)
        return keep

    def _update(self, story: _Story, vec: _Vec, day: int | None, doc_keys: set[int]) -> None:
        keys, vals = self._pruned(*_sum_vectors([story.vec_keys, vec[0]], [story.vec_vals, vec[1]]))
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

    # --- member records and splits -------------------------------------------------------------

    def _remember(
        self, story: _Story, doc_id: str, order: int, day: int | None, keys: np.ndarray, vals: np.ndarray
    ) -> None:
        """Add an article to its story's member record (the oldest member leaves a full record)."""
        evicted = story.members.append(doc_id, order, day, keys, vals)
        if evicted is not None:
            self._forget(evicted)
        if story.last_day is None and self.undated_horizon is not None:
            heapq.heappush(self._quiet, (order, story.id))

    def _is_recorded(self, doc_id: str, story_id: str) -> bool:
        story = self._active.get(story_id)
        return story is not None and doc_id in story.members.ids

    def _forget(self, doc_id: str) -> None:
        """``doc_id`` left the member records: it and its copies can no longer move, so stop
        tracking the copies (and, without ``keep_assignments``, forget the story of both)."""
        keep = self.keep_assignments
        if self._copies:
            for copy, _ in self._copies.pop(doc_id, ()):
                self._copy_root.pop(copy, None)
                if not keep:
                    self._doc_story.pop(copy, None)
        if not keep:
            self._doc_story.pop(doc_id, None)

    def _joined_members(self, records: Sequence[_Members]) -> _Members:
        """One record of the members of ``records`` (a merge): the most recent ``member_cap``."""
        slots = [m.ordered() for m in records]
        order = np.concatenate([m.order[r] for m, r in zip(records, slots, strict=True)])
        ids = [m.ids[j] for m, r in zip(records, slots, strict=True) for j in r.tolist()]
        pick = np.argsort(order, kind="stable")
        if len(pick) > self.member_cap:
            if self._copies or not self.keep_assignments:
                for j in pick[: -self.member_cap].tolist():
                    self._forget(ids[j])
            pick = pick[-self.member_cap :]

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(m, name)[r] for m, r in zip(records, slots, strict=True)])[pick]

        return _Members.from_rows(
            self.member_terms,
            self.member_cap,
            [ids[j] for j in pick.tolist()],
            order[pick],
            cat("days"),
            cat("keys"),
            cat("vals"),
        )

    def _check_split(self, story: _Story, doc_id: str) -> None:
        """At a size checkpoint: split ``story`` if its members tell two events; set the next checkpoint."""
        groups = None if self.split_ratio is None else self._split_groups(story.members)
        if groups is not None:
            self._split(story, groups, doc_id)
        else:
            story.next_check = _next_check(story.size)

    def _split_groups(self, members: _Members) -> np.ndarray | None:
        """Which members (in order of addition) should leave the story, or ``None`` to keep it whole.

        Works on the members' truncated vectors, each L2-normalised (``x_i``); the sum of a
        group's vectors gives its mean pairwise similarity without forming the pairs.

        1. Seeds: the member least similar to the story as a whole, and the member least similar
           to that one.
        2. Spherical 2-means: every member goes to the nearer of the two group centroids, until
           no member changes group (at most ``_KMEANS_ROUNDS`` rounds).
        3. Evidence: both groups hold at least ``_SPLIT_MIN_MEMBERS`` members and
           ``_SPLIT_MIN_SHARE`` of the record, and the mean similarity between the groups is at
           most ``split_ratio`` times the mean similarity within the less coherent group. A
           story telling one event always divides somewhere, but its halves stay about as
           similar to each other as within themselves.

        The group holding the oldest recorded member stays (the returned mask is ``False`` there).
        """
        ratio = self.split_ratio
        n = len(members)
        least = max(_SPLIT_MIN_MEMBERS, math.ceil(_SPLIT_MIN_SHARE * n))
        if ratio is None or n < 2 * least:
            return None
        slots = members.ordered()
        keys = members.keys[slots]
        vals = members.vals[slots].astype(np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", vals, vals))
        live = norms > 0
        x = vals / np.where(live, norms, 1.0)[:, None]
        uniq, inverse = np.unique(keys, return_inverse=True)
        cols = inverse.reshape(keys.shape)
        width = len(uniq)

        def total(mask: np.ndarray) -> np.ndarray:
            return np.bincount(cols[mask].ravel(), weights=x[mask].ravel(), minlength=width)

        def dots(centre: np.ndarray) -> np.ndarray:
            out: np.ndarray = np.einsum("ij,ij->i", centre[cols], x)
            return out

        # 1. Seeds (dead rows, empty vectors, never seed).
        everyone = np.ones(n, dtype=bool)
        typical = np.where(live, dots(total(everyone)), np.inf)
        a = int(np.argmin(typical))
        seed_a = np.bincount(cols[a], weights=x[a], minlength=width)
        to_a = dots(seed_a)
        b = int(np.argmin(np.where(live, to_a, np.inf)))
        seed_b = np.bincount(cols[b], weights=x[b], minlength=width)
        group = dots(seed_b) > to_a
        # 2. Spherical 2-means.
        for _ in range(_KMEANS_ROUNDS):
            if group.all() or not group.any():
                return None
            sum_a, sum_b = total(~group), total(group)
            norm_a, norm_b = math.sqrt(float(sum_a @ sum_a)), math.sqrt(float(sum_b @ sum_b))
            if not norm_a or not norm_b:
                return None
            moved = dots(sum_b) * norm_a > dots(sum_a) * norm_b
            if np.array_equal(moved, group):
                break
            group = moved
        # 3. Evidence.
        n_b = int(group.sum())
        n_a = n - n_b
        if min(n_a, n_b) < least:
            return None
        sum_a, sum_b = total(~group), total(group)
        live_a, live_b = int(live[~group].sum()), int(live[group].sum())
        within_a = (float(sum_a @ sum_a) - live_a) / (n_a * (n_a - 1))
        within_b = (float(sum_b @ sum_b) - live_b) / (n_b * (n_b - 1))
        between = float(sum_a @ sum_b) / (n_a * n_b)
        if between > ratio * min(within_a, within_b):
            return None
        return ~group if group[0] else group

    def _split(self, story: _Story, leaving: np.ndarray, doc_id: str) -> None:
        """Move the members marked in ``leaving`` (order of addition) to a new story.

        Both centroids are rebuilt from the members' truncated vectors (so members older than
        the record, which stay, no longer weigh in the kept centroid); sizes, last days, index
        entries and the member records follow. Copies of moved members move with them.
        """
        members = story.members
        slots = members.ordered()
        ids = [members.ids[j] for j in slots.tolist()]

        def part(mask: np.ndarray) -> _Members:
            rows = slots[mask]
            return _Members.from_rows(
                self.member_terms,
                self.member_cap,
                [i for i, m in zip(ids, mask.tolist(), strict=True) if m],
                members.order[rows],
                members.days[rows],
                members.keys[rows],
                members.vals[rows],
            )

        staying, going = part(~leaving), part(leaving)
        sid = self._next_story_id(going.ids[0])
        new = _Story(sid, self._seq, _NO_KEYS, _NO_VALS, 0.0, len(going), None, going)
        story.members = staying
        story.size -= len(going)
        for part_story in (story, new):
            self._rebuild(part_story)
        self._active[sid] = new
        self.events.append(ClusterEvent("split", story.id, (sid,), doc_id))
        log.debug("split %s off %s (%d articles, at %s)", sid, story.id, len(going), doc_id)
        for moved in going.ids:
            self._doc_story[moved] = sid
            self._moves[moved] = sid
            for copy, _ in self._copies.get(moved, ()):
                self._doc_story[copy] = sid
                self._moves[copy] = sid
        self._evict()

    def _rebuild(self, story: _Story) -> None:
        """Centroid, last day, index entries and next checkpoint of a story from its member record."""
        m = story.members
        slots = m.ordered()
        member_keys, member_vals = m.keys[slots], m.vals[slots]
        live = member_vals > 0  # not padding
        keys, vals = _sum_vectors(
            [_NO_KEYS, member_keys[live]], [_NO_VALS, member_vals[live].astype(np.float64)]
        )
        story.vec_keys, story.vec_vals = self._pruned(keys, vals)
        story.norm = math.sqrt(max(float(story.vec_vals @ story.vec_vals), 0.0))
        days = m.days[slots]
        days = days[days != _NO_DAY]
        if len(days):
            story.last_day = int(days.max())
            heapq.heappush(self._expiry, (story.last_day, story.id))
        self._watch_quiet(story)
        story.next_check = _next_check(story.size)
        self._unindex(story)
        self._index(story)

    def _pruned(self, keys: np.ndarray, vals: np.ndarray) -> _Vec:
        """A centroid cut to its ``centroid_terms`` heaviest entries once it has half as many more."""
        if len(keys) > self.centroid_terms * 3 // 2:
            top = np.sort(np.argsort(-vals, kind="stable")[: self.centroid_terms])
            keys, vals = keys[top], vals[top]
        return keys, vals

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
        if self._copies or not self.keep_assignments:
            for doc in story.members.ids:
                self._forget(doc)
        story.members = _Members(self.member_terms, self.member_cap, 0)  # freed

    def _watch_quiet(self, story: _Story) -> None:
        """Queue an undated story for closing ``undated_horizon`` articles after its last member."""
        if story.last_day is None and self.undated_horizon is not None and len(story.members):
            heapq.heappush(self._quiet, (_last_order(story.members), story.id))

    def _retire_quiet(self) -> None:
        """Close the undated stories whose most recent recorded member is more than
        ``undated_horizon`` articles back (an entry is valid while it names that member's order)."""
        if self.undated_horizon is None:
            return
        horizon = self._added - self.undated_horizon
        while self._quiet and self._quiet[0][0] < horizon:
            order, sid = heapq.heappop(self._quiet)
            story = self._active.get(sid)
            if story is not None and story.last_day is None and _last_order(story.members) == order:
                self._close(story)

    def _expire(self, day: int) -> None:
        horizon = day - self.window_days
        while self._expiry and self._expiry[0][0] < horizon:
            last_day, sid = heapq.heappop(self._expiry)
            story = self._active.get(sid)
            if story is not None and story.last_day == last_day:
                self._close(story)


def _last_order(members: _Members) -> int:
    """The order of addition of the most recent recorded member (``-1`` for an empty record)."""
    n = len(members)
    return int(members.order[:n].max()) if n else -1


def _order_key(doc: ClusterDoc) -> tuple[int, int, str]:
    day = publication_day(doc.published)
    if day is None:
        return (1, 0, doc.id)
    return (0, day, f"{doc.published}\x00{doc.id}")


def order_for_clustering(docs: Sequence[ClusterDoc]) -> list[ClusterDoc]:
    """``docs`` in publication order, undated ones last; ties broken by id (deterministic)."""
    return sorted(docs, key=_order_key)


def place_undated(feats: Sequence[DocFeatures], *, window_days: int) -> list[DocFeatures]:
    """A batch order in which an undated article comes while the dated stories it resembles are open.

    Why: in publication order the undated articles come last, and by then the window has closed
    every story more than ``window_days`` older than the newest article, so an undated report of
    an event from weeks before starts a story of its own. A batch knows its articles in advance,
    so an undated one can wait only as long as its likeliest story stays open.

    1. Dated articles keep their order; undated ones (``day`` ``None``) keep theirs among themselves.
    2. Similarity: cosine over body terms and entities, IDF-weighted with document frequencies
       of this batch.
    3. An undated article more similar to some other undated article than to every dated one
       stays at the end, with the undated ones (they may tell an event no dated article tells:
       a set of undated reports keeps its order).
    4. Otherwise, with ``D`` the day of its nearest dated article, it goes after the last dated
       article of day ``D + window_days`` or earlier: the stories open at ``D`` are still open
       then, and it has seen every dated report of those days.
    """
    import bisect

    from scipy import sparse

    dated = [f for f in feats if f.day is not None]
    undated = [f for f in feats if f.day is None]
    if not dated or not undated:
        return [*dated, *undated]
    # 2. Sparse rows over body terms and entities, IDF over the batch, L2-normalised.
    every = [*dated, *undated]
    cols = [np.concatenate([f.term_keys, np.asarray(f.entities, dtype=np.int32)]) for f in every]
    vals = [np.concatenate([f.term_weights, np.ones(len(f.entities))]) for f in every]
    rows = np.repeat(np.arange(len(every)), [len(c) for c in cols])
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (rows, np.concatenate(cols))), shape=(len(every), 1 << HASH_BITS)
    )
    matrix.sum_duplicates()
    df = np.bincount(matrix.indices, minlength=1 << HASH_BITS)
    matrix.data *= np.log((len(every) + 1.0) / (df[matrix.indices] + 1.0)) + 1.0
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = (sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix).tocsr()
    known, unknown = matrix[: len(dated)].T.tocsc(), matrix[len(dated) :]
    others = unknown.T.tocsc()
    days = [f.day for f in dated if f.day is not None]
    slots: dict[int, list[DocFeatures]] = {}
    chunk = max(1, 2_000_000 // len(every))  # bounds the dense similarity blocks (16 MB each)
    for start in range(0, len(undated), chunk):
        rows_u = unknown[start : start + chunk]
        to_dated = (rows_u @ known).toarray()
        to_undated = (rows_u @ others).toarray()
        to_undated[np.arange(len(to_undated)), np.arange(start, start + len(to_undated))] = -1.0
        for i, row in enumerate(to_dated):
            best = int(np.argmax(row))  # ties: the earliest dated article
            # 3. Closer to an undated article (or to nothing): stays at the end.
            at = len(dated)
            if row[best] > 0 and row[best] >= to_undated[i].max(initial=-1.0):
                # 4. After the last dated article within the window of the nearest one's day.
                at = bisect.bisect_right(days, days[best] + window_days)
            slots.setdefault(at, []).append(undated[start + i])
    out: list[DocFeatures] = []
    for position in range(len(dated) + 1):
        out.extend(slots.get(position, ()))
        if position < len(dated):
            out.append(dated[position])
    return out


def cluster_documents(docs: Sequence[ClusterDoc], **kwargs: Any) -> dict[str, str]:
    """Batch convenience: order ``docs``, extract features, add them; article id -> story id.

    Undated articles are placed by :func:`place_undated`. ``kwargs`` are
    :class:`StoryClusterer` tunables.
    """
    clusterer = StoryClusterer(**kwargs)
    feats = [extract_features(d) for d in order_for_clustering(docs)]
    clusterer.add_many(place_undated(feats, window_days=clusterer.window_days))
    return clusterer.assignments()


@dataclass(frozen=True, slots=True)
class DayWindow:
    """The event-time window of :class:`StoryClusterer` (``day_grace``, ``day_decay``), learned
    from publication dates; ``gaps`` is the number of within-story gaps it was learned from."""

    grace: int
    decay: float
    gaps: int

    def params(self) -> dict[str, Any]:
        """The window as :class:`StoryClusterer` tunables."""
        return {"day_grace": self.grace, "day_decay": self.decay}


def learn_day_window(
    stories: Iterable[Iterable[int]], *, quantile: float = 0.95, confidence: float = 0.95
) -> DayWindow | None:
    """How long a story goes on, learned from the publication days of known stories.

    Why: the day decay of :class:`StoryClusterer` separates two look-alike events a few days
    apart, and costs the late articles of one event. Its best size depends on how news is
    reported, not on which stories happen to be in a file, so it is estimated from the dates
    of labelled stories rather than chosen by the F1 of files whose stories are months apart
    (where the decay can only cost, never help).

    1. Gaps: for each story (an iterable of day numbers), the days between consecutive
       articles in date order; undated articles are left out by the caller.
    2. No gap at all (no story with two dated articles): ``None``, no window.
    3. Grace: an upper confidence bound on the ``quantile`` of the gaps (distribution-free:
       the smallest order statistic that is at least the true quantile with probability
       ``confidence``), so that a few dates do not give a window shorter than the news
       runs. Too few gaps for such a bound (fewer than 59 at the defaults): one day more than
       the largest gap seen.
    4. Decay: the mean excess over the grace of the gaps beyond it (the scale of an exponential
       tail), or one day (the resolution of publication dates) when no gap is beyond it.
    """
    from scipy.stats import binom

    if not 0.0 < quantile < 1.0 or not 0.0 < confidence < 1.0:
        raise ValueError("quantile and confidence must be between 0 and 1")
    # 1. Gaps.
    gaps: list[int] = []
    for days in stories:
        ordered = sorted(days)
        gaps.extend(b - a for a, b in pairwise(ordered))
    # 2. Any at all.
    if not gaps:
        return None
    # 3. Grace: the k-th smallest gap (k = rank + 1) bounds the quantile from above with
    #    probability P(Binomial(n, quantile) <= rank).
    gaps.sort()
    rank = int(binom.ppf(confidence, len(gaps), quantile))
    grace = gaps[rank] if rank < len(gaps) else gaps[-1] + 1
    # 4. Decay.
    beyond = [g - grace for g in gaps if g > grace]
    decay = sum(beyond) / len(beyond) if beyond else 1.0
    return DayWindow(grace=grace, decay=round(decay, 3), gaps=len(gaps))
