"""Near-duplicate detection: syndicated and lightly edited copies of one article.

Wire stories are reprinted by many outlets with a new headline, a byline or a trimmed last
paragraph. Such copies are not independent coverage, so corpus mode groups them under the
first copy seen (the *canonical* article). Detection is MinHash over word shingles of the
normalised text with locality-sensitive hashing (the banding of datasketch's ``MinHashLSH``) to
find candidates in constant time, then a check of the estimated Jaccard similarity against the
threshold. Signatures equal datasketch's ``MinHash`` (seed 1, scheme ``affine32``, with
:func:`shingle_hash` as hash function) but are computed in one vectorised step per document,
and the index stores them compactly, so that ingest stays fast and bounded in memory on a
million articles.

:func:`minhash_signature` is a pure function of the text (it can run on worker processes);
:class:`NearDuplicateIndex` holds the sequential state.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from parallax.errors import StoreError

_TOKEN = re.compile(r"\w+", re.UNICODE)
_MAGIC = b"PXND3"
#: The saved index as a journal (:meth:`NearDuplicateIndex.checkpoint`): a header, and chunks.
_JOURNAL_MAGIC, _CHUNK_MAGIC = b"PXND4", b"PXNC1"
#: Formats 1 and 2 hold signatures of CRC-32 shingle hashes, which new signatures cannot match.
_OLD_MAGICS = (b"PXND1", b"PXND2")
_SEED = 1
#: MurmurHash3's 32-bit finaliser constants, datasketch's pre-mix of the ``affine32`` scheme.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
_EMPTY = np.uint32(0xFFFFFFFF)
_U32 = np.uint64(0xFFFFFFFF)
#: Band keys of the LSH tables buffered in a dict before they are merged into sorted arrays.
_BUFFER_KEYS = 1 << 17


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters (``a``, ``b`` as ``uint32``) of the fixed seed, once per ``num_perm``.

    Taken from datasketch (scheme ``affine32``: ``h -> a * fmix32(h) + b mod 2**32``), so that the
    signatures are exactly those of ``datasketch.MinHash(seed=1, hashfunc=shingle_hash)``.
    """
    a, b = MinHash(num_perm=num_perm, seed=_SEED, scheme="affine32").permutations
    return np.ascontiguousarray(a, dtype=np.uint32), np.ascontiguousarray(b, dtype=np.uint32)


@lru_cache(maxsize=16)
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows per band of the LSH tables: datasketch ``MinHashLSH``'s optimum (equal weights)."""
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


@lru_cache(maxsize=16)
def _band_multipliers(rows: int) -> np.ndarray:
    """Fixed odd 64-bit multipliers of the linear hash of one band's ``rows`` values."""
    gen = np.random.default_rng(20_240_611)
    out: np.ndarray = gen.integers(0, 1 << 63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return out


def _fmix32(hv: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX32
    hv = hv ^ (hv >> np.uint32(s1))
    hv = hv * np.uint32(m1)
    hv = hv ^ (hv >> np.uint32(s2))
    hv = hv * np.uint32(m2)
    out: np.ndarray = hv ^ (hv >> np.uint32(s3))
    return out


def shingles(text: str, *, shingle: int = 5) -> set[str]:
    """Word ``shingle``-grams of ``text`` after normalisation (lower case, punctuation dropped)."""
    tokens = _TOKEN.findall(text.lower())
    if len(tokens) <= shingle:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + shingle]) for i in range(len(tokens) - shingle + 1)}


#: Fixed odd multipliers of the shingle hash, one per position in the shingle (see :func:`shingle_hash`).
_SHINGLE_MULT = tuple(
    int(m) | 1 for m in np.random.default_rng(20_261_123).integers(1 << 16, 1 << 32, size=16, dtype=np.uint64)
)


def shingle_hash(gram: str) -> int:
    """The 32-bit hash of one shingle as :func:`shingles` spells it (words joined by one space).

    ``sum(crc32(word_j) * m_j) mod 2**32`` over the shingle's words, with one fixed odd multiplier
    per position: words are hashed once each, and every shingle hash of a document is then a few
    vectorised multiply-adds (:func:`shingle_hashes`) instead of one CRC over each shingle's text.
    MinHash mixes the value (``fmix32``) before permuting it, as datasketch does.
    """
    total = 0
    for word, mult in zip(gram.split(" "), _SHINGLE_MULT, strict=False):
        total += zlib.crc32(word.encode("utf-8")) * mult
    return total & 0xFFFFFFFF


def shingle_hashes(text: str, *, shingle: int = 5) -> np.ndarray:
    """:func:`shingle_hash` of each word ``shingle``-gram of ``text`` (as :func:`shingles`), ``uint32``.

    The shingles are never built as strings: each normalised word is hashed once (CRC-32 of its
    UTF-8 bytes) and the shingle hashes are weighted sums of ``shingle`` consecutive word hashes,
    computed for all positions at once. Duplicates are kept (a min-hash ignores them).
    """
    tokens = _TOKEN.findall(text.lower())
    if not tokens:
        return np.zeros(0, dtype=np.uint32)
    if shingle > len(_SHINGLE_MULT):
        raise ValueError(f"shingles of at most {len(_SHINGLE_MULT)} words are supported, not {shingle}")
    words = np.fromiter(map(zlib.crc32, map(str.encode, tokens)), dtype=np.uint64, count=len(tokens))
    width = min(shingle, len(tokens))
    n = len(tokens) - width + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(width):
        acc += words[j : j + n] * np.uint64(_SHINGLE_MULT[j])
    out: np.ndarray = (acc & _U32).astype(np.uint32)
    return out


def minhash_signature(text: str, *, num_perm: int = 128, shingle: int = 5) -> np.ndarray:
    """MinHash signature (``uint64`` array of ``num_perm`` values) of the word shingles of ``text``.

    Pure and deterministic (fixed seed), so signatures computed anywhere can be compared. The
    values are those of datasketch's ``MinHash(seed=1, hashfunc=shingle_hash, scheme="affine32")``
    updated with every shingle, computed in one vectorised step: all shingle hashes are
    pre-mixed, permuted by every ``(a, b)`` pair at once (``uint32`` arithmetic wraps, which is
    the scheme's modulo ``2**32``) and reduced by a column minimum. They fit in 32 bits.
    """
    hv = shingle_hashes(text, shingle=shingle)
    if hv.size == 0:
        return np.full(num_perm, _EMPTY, dtype=np.uint64)
    a, b = _permutations(num_perm)
    hv = _fmix32(np.unique(hv))[:, None]
    out: np.ndarray = (hv * a + b).min(axis=0).astype(np.uint64)
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity estimated from two signatures of equal length."""
    if a.shape != b.shape:
        raise ValueError(f"signatures differ in length: {a.shape[0]} and {b.shape[0]}")
    return float(np.count_nonzero(a == b)) / float(a.shape[0])


class NearDuplicateIndex:
    """Groups near-duplicate articles under the first one inserted.

    ``threshold`` is the estimated Jaccard similarity of shingle sets at or above which two
    articles are copies. ``capacity`` bounds memory on a large corpus: beyond it the oldest
    entries are forgotten (copies are reprinted within days, not years); ``None`` keeps all.
    ``redundant``: a copy whose estimated Jaccard with an indexed article reaches it is not
    indexed itself (``None``: every article is). A wire story reprinted by hundreds of outlets
    would otherwise fill its LSH buckets with near-identical entries that every further reprint
    must check; the indexed sibling already finds whatever the copy would have found, up to the
    gap between the two thresholds.

    Storage is compact so that ``capacity`` articles fit in about 200 MB: the index keeps the low
    16 bits of each min-hash value, rows of one ``uint16`` matrix (slots reused after removal).
    Two unequal values then agree by chance once in 65,536 times, which moves an estimated
    Jaccard by less than 0.0001: nothing at the precision of 128 permutations. The LSH tables
    (the banding of datasketch's ``MinHashLSH`` for the same threshold) map a 64-bit hash of
    each band to the packed ``(insertion number, slot)`` of its article, in sorted ``numpy`` arrays plus a small
    dict of recent keys merged into them in bulk. An entry whose slot has since been reused or
    freed is recognised by its insertion number and skipped (and dropped at the next merge).
    """

    def __init__(
        self,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        capacity: int | None = 500_000,
        redundant: float | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {threshold}")
        if redundant is not None and not threshold <= redundant <= 1.0:
            raise ValueError(f"redundant must be in [threshold, 1], not {redundant}")
        self.redundant = redundant
        self.threshold = threshold
        self.num_perm = num_perm
        self.capacity = capacity
        self._b, self._r = _bands(threshold, num_perm)
        self._mult = _band_multipliers(self._r)
        self._slots: OrderedDict[str, int] = OrderedDict()  # id -> slot, in insertion order
        self._sigs = np.zeros((0, num_perm), dtype=np.uint16)
        self._seq_of = np.zeros(0, dtype=np.int64)  # insertion number held by each slot, -1 if free
        self._slot_id: list[str | None] = []  # id held by each slot
        self._free: list[int] = []
        self._used = 0  # slots ever handed out
        self._seq = 0
        self._keys = np.zeros(0, dtype=np.uint64)  # band keys, sorted
        self._vals = np.zeros(0, dtype=np.int64)  # packed (seq << 32 | slot), aligned with _keys
        self._buffer: dict[int, list[int]] = {}
        self._buffered = 0
        self._canonical: dict[str, str] = {}  # copy id -> canonical id
        # The journal of :meth:`checkpoint`: insertion numbers from _journal_from on are not saved
        # yet, nor the removals of older entries listed in _unsaved_removals; the saved chunks
        # as (name, first insertion number, end), oldest first.
        self._journal_from = 0
        self._unsaved_removals: list[int] = []
        self._chunks: list[tuple[str, int, int]] = []
        self._next_chunk = 0

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slots

    def canonical_of(self, doc_id: str) -> str:
        """The canonical article of indexed ``doc_id`` (itself when it is not a copy, or not indexed:
        a redundant copy's canonical is what :meth:`insert` returned for it)."""
        return self._canonical.get(doc_id, doc_id)

    def query(self, signature: np.ndarray) -> list[str]:
        """Ids of indexed articles whose estimated Jaccard with ``signature`` reaches the threshold.

        Oldest first.
        """
        sig = self._check(signature)
        return [self._id_of(slot) for _, slot, _ in self._hits(sig, self._band_keys(sig[None, :])[0])]

    def insert(self, doc_id: str, signature: np.ndarray) -> str | None:
        """Index ``doc_id``; return its canonical article's id when it is a copy, else ``None``.

        1. An id already indexed returns what it returned the first time (idempotent).
        2. Find indexed copies; the canonical is the canonical of the oldest of them.
        3. Index the article (copies too, so that a chain of light edits still matches), unless
           it is a ``redundant`` copy of an indexed one.
        4. Forget the oldest entries beyond ``capacity``.
        """
        # 1. Idempotent.
        if doc_id in self._slots:
            return self._canonical.get(doc_id)
        sig = self._check(signature)
        # 2. Oldest copy's canonical.
        keys = self._band_keys(sig[None, :])[0]
        hits = self._hits(sig, keys)
        canonical = self.canonical_of(self._id_of(hits[0][1])) if hits else None
        # 3. Index.
        redundant = self.redundant
        if redundant is not None and hits and max(n for _, _, n in hits) / float(self.num_perm) >= redundant:
            return canonical
        self._add(doc_id, sig, keys)
        if canonical is not None:
            self._canonical[doc_id] = canonical
        # 4. Bounded memory.
        while self.capacity is not None and len(self._slots) > self.capacity:
            self.remove(next(iter(self._slots)))
        return canonical

    def remove(self, doc_id: str) -> None:
        """Forget ``doc_id``; copies of it keep naming it as their canonical. Unknown ids are ignored."""
        slot = self._slots.pop(doc_id, None)
        if slot is None:
            return
        seq = int(self._seq_of[slot])
        if seq < self._journal_from:  # saved by a checkpoint: the next one records the removal
            self._unsaved_removals.append(seq)
        self._seq_of[slot] = -1
        self._slot_id[slot] = None
        self._free.append(slot)
        self._canonical.pop(doc_id, None)

    def to_bytes(self) -> bytes:
        """The index as bytes (no pickle): parameters, ids in order, copy links and signatures.

        The header (JSON) is compressed; the signatures are raw little-endian ``uint16`` rows:
        min-hash values are random, compressing them would cost seconds at a checkpoint and gain
        nothing.
        """
        ids = list(self._slots)
        header = json.dumps(
            {
                "threshold": self.threshold,
                "num_perm": self.num_perm,
                "capacity": self.capacity,
                "redundant": self.redundant,
                "ids": ids,
                "canonical": [self._canonical.get(i) for i in ids],
            },
            separators=(",", ":"),
        ).encode("utf-8")
        head = zlib.compress(header, 6)
        rows = np.fromiter(self._slots.values(), dtype=np.int64, count=len(ids))
        # without removals the rows are the first slots in order: a view, no copy of the matrix
        in_order = np.array_equal(rows, np.arange(len(ids)))
        sigs = self._sigs[: len(ids)] if in_order else self._sigs[rows]
        sigs = sigs.astype("<u2", copy=False)
        return b"".join([_MAGIC, struct.pack("<I", len(head)), head, np.ascontiguousarray(sigs).data])

    @classmethod
    def from_bytes(cls, data: bytes) -> NearDuplicateIndex:
        """Restore an index saved by :meth:`to_bytes`.

        Raises :class:`StoreError` for anything else, including the formats of older versions
        (their signatures are not comparable); ingest then rebuilds the index from the stored articles.
        """
        try:
            if data.startswith(_MAGIC):
                (size,) = struct.unpack("<I", data[5:9])
                header = json.loads(zlib.decompress(data[9 : 9 + size]))
                sigs = np.frombuffer(data, dtype="<u2", offset=9 + size)
            elif data.startswith(_OLD_MAGICS):
                raise ValueError(
                    f"saved by an older version (format {data[4:5].decode()}), whose signatures hash "
                    "shingles differently"
                )
            else:
                raise ValueError("not a near-duplicate index")
            index = cls(
                threshold=header["threshold"],
                num_perm=header["num_perm"],
                capacity=header["capacity"],
                redundant=header.get("redundant"),
            )
            ids, canonical = header["ids"], header["canonical"]
            if sigs.size != len(ids) * index.num_perm or len(canonical) != len(ids):
                raise ValueError("signature count does not match the ids")
            index._bulk_load(ids, sigs.astype(np.uint16).reshape(len(ids), index.num_perm))
            index._canonical = {d: c for d, c in zip(ids, canonical, strict=True) if c is not None}
        except (ValueError, KeyError, TypeError, struct.error, zlib.error) as exc:
            raise StoreError(
                f"near-duplicate index cannot be read ({exc}); re-run the ingest to rebuild it"
            ) from exc
        return index

    def checkpoint(self, key: str) -> dict[str, bytes | None]:
        """What to write (``None``: delete) under ``key`` so that :meth:`from_saved` restores this index.

        The index is saved as a journal, so that a checkpoint costs what changed since the last
        one, not the size of the index:

        1. a new chunk ``key.NNNNNNNNN`` with the entries added since the last checkpoint that
           are still indexed (ids, canonical links, insertion numbers, 16-bit signatures) and the
           insertion numbers of older entries removed since (capacity evictions);
        2. ``None`` for the oldest chunks all of whose entries are gone (removals only name older
           entries, so dropping a prefix of chunks loses nothing still indexed);
        3. the header under ``key``: parameters, the insertion counter and the chunks in order.

        The caller must write all of it in one transaction (a checkpoint not written leaves the
        index's journal ahead of the store: restore from the store after a failed write).
        """
        out: dict[str, bytes | None] = {}
        # 1. new chunk
        start = self._journal_from
        fresh: list[tuple[str, int]] = []
        for doc_id, slot in reversed(self._slots.items()):
            if self._seq_of[slot] < start:
                break
            fresh.append((doc_id, slot))
        fresh.reverse()
        if fresh or self._unsaved_removals:
            name = f"{key}.{self._next_chunk:09d}"
            out[name] = self._chunk_bytes(fresh, self._unsaved_removals)
            self._chunks.append((name, start, self._seq))
            self._next_chunk += 1
        self._journal_from, self._unsaved_removals = self._seq, []
        # 2. chunks whose entries are all gone
        oldest = int(self._seq_of[next(iter(self._slots.values()))]) if self._slots else self._seq
        while self._chunks and self._chunks[0][2] <= oldest:
            out[self._chunks.pop(0)[0]] = None
        # 3. header
        header = {
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "capacity": self.capacity,
            "redundant": self.redundant,
            "seq": self._seq,
            "next_chunk": self._next_chunk,
            "chunks": self._chunks,
        }
        out[key] = _JOURNAL_MAGIC + json.dumps(header, separators=(",", ":")).encode("utf-8")
        return out

    def saved_keys(self, key: str) -> set[str]:
        """The keys the last :meth:`checkpoint` under ``key`` left in use (header and chunks)."""
        return {key, *(name for name, _, _ in self._chunks)}

    @classmethod
    def from_saved(cls, blobs: Mapping[str, bytes], key: str) -> NearDuplicateIndex:
        """Restore the index saved by :meth:`checkpoint` under ``key`` (or by :meth:`to_bytes`).

        Raises :class:`StoreError` when the header or a chunk it names is missing or unreadable.
        A :meth:`to_bytes` snapshot is accepted: its next checkpoint writes every entry as one chunk.
        """
        data = blobs.get(key)
        if data is None:
            raise StoreError(f"near-duplicate index {key!r} is not saved; re-run the ingest to rebuild it")
        if not data.startswith(_JOURNAL_MAGIC):
            return cls.from_bytes(data)
        try:
            header = json.loads(data[len(_JOURNAL_MAGIC) :])
            index = cls(
                threshold=header["threshold"],
                num_perm=header["num_perm"],
                capacity=header["capacity"],
                redundant=header["redundant"],
            )
            ids: list[str] = []
            canonical: list[str | None] = []
            seqs, sigs, removed = [], [], set()
            for name, _, _ in header["chunks"]:
                if name not in blobs:
                    raise ValueError(f"chunk {name!r} is missing")
                c_ids, c_canonical, c_seqs, c_removed, c_sigs = index._read_chunk(blobs[name])
                ids += c_ids
                canonical += c_canonical
                seqs.append(c_seqs)
                sigs.append(c_sigs)
                removed.update(c_removed.tolist())
            all_seqs = np.concatenate([np.zeros(0, np.int64), *seqs])
            keep = ~np.isin(all_seqs, np.fromiter(removed, dtype=np.int64, count=len(removed)))
            rows = np.flatnonzero(keep)
            all_sigs = np.concatenate([np.zeros((0, index.num_perm), np.uint16), *sigs])[rows]
            kept_ids = [ids[i] for i in rows.tolist()]
            index._bulk_load(kept_ids, all_sigs, seqs=all_seqs[rows], next_seq=int(header["seq"]))
            index._canonical = {ids[i]: c for i in rows.tolist() if (c := canonical[i]) is not None}
            index._journal_from = int(header["seq"])
            index._chunks = [(str(n), int(a), int(b)) for n, a, b in header["chunks"]]
            index._next_chunk = int(header["next_chunk"])
        except (ValueError, KeyError, TypeError, struct.error, zlib.error) as exc:
            raise StoreError(
                f"near-duplicate index cannot be read ({exc}); re-run the ingest to rebuild it"
            ) from exc
        return index

    # --- internals ----------------------------------------------------------------------------

    def _chunk_bytes(self, entries: list[tuple[str, int]], removed: list[int]) -> bytes:
        """One journal chunk: the ids and canonical links (compressed JSON), then raw arrays of the
        insertion numbers, the removed insertion numbers and the 16-bit signatures."""
        ids = [doc_id for doc_id, _ in entries]
        head = zlib.compress(
            json.dumps(
                {"ids": ids, "canonical": [self._canonical.get(i) for i in ids], "removed": len(removed)},
                separators=(",", ":"),
            ).encode("utf-8"),
            1,
        )
        slots = np.fromiter((slot for _, slot in entries), dtype=np.int64, count=len(entries))
        return b"".join(
            [
                _CHUNK_MAGIC,
                struct.pack("<I", len(head)),
                head,
                self._seq_of[slots].astype("<i8").tobytes(),
                np.asarray(removed, dtype="<i8").tobytes(),
                np.ascontiguousarray(self._sigs[slots].astype("<u2")).tobytes(),
            ]
        )

    def _read_chunk(
        self, data: bytes
    ) -> tuple[list[str], list[str | None], np.ndarray, np.ndarray, np.ndarray]:
        """The parts of a chunk written by :meth:`_chunk_bytes` (``ValueError`` if malformed)."""
        if not data.startswith(_CHUNK_MAGIC):
            raise ValueError("not a near-duplicate index chunk")
        (size,) = struct.unpack("<I", data[5:9])
        head = json.loads(zlib.decompress(data[9 : 9 + size]))
        ids, canonical, n_removed = head["ids"], head["canonical"], int(head["removed"])
        n, at = len(ids), 9 + size
        if len(data) != at + 8 * n + 8 * n_removed + 2 * n * self.num_perm or len(canonical) != n:
            raise ValueError("chunk sizes do not match the data")
        seqs = np.frombuffer(data, dtype="<i8", count=n, offset=at).astype(np.int64)
        removed = np.frombuffer(data, dtype="<i8", count=n_removed, offset=at + 8 * n).astype(np.int64)
        sigs = np.frombuffer(data, dtype="<u2", count=n * self.num_perm, offset=at + 8 * (n + n_removed))
        return ids, canonical, seqs, removed, sigs.astype(np.uint16).reshape(n, self.num_perm)

    def _check(self, signature: np.ndarray) -> np.ndarray:
        sig = np.asarray(signature)
        if sig.shape != (self.num_perm,):
            raise ValueError(f"signature has shape {sig.shape}, expected ({self.num_perm},)")
        if sig.dtype != np.uint32:
            if sig.size and (int(sig.max()) > 0xFFFFFFFF or int(sig.min()) < 0):
                raise ValueError("signature values exceed 32 bits; compute them with minhash_signature")
            sig = sig.astype(np.uint32)
        out: np.ndarray = (sig & np.uint32(0xFFFF)).astype(np.uint16)
        return out

    def _band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """64-bit key of each band of each signature row: ``(rows, bands)`` ``uint64``.

        A linear hash of the band's values with fixed odd multipliers, plus the band number, so
        equal bands always share a key; an accidental equal key only adds a candidate that the
        Jaccard check then rejects.
        """
        b, r = self._b, self._r
        bands = sigs[:, : b * r].reshape(len(sigs), b, r).astype(np.uint64)
        keys: np.ndarray = (bands * self._mult).sum(axis=2, dtype=np.uint64)
        keys += np.arange(b, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        return keys

    def _hits(self, sig: np.ndarray, keys: np.ndarray) -> list[tuple[int, int, int]]:
        """``(insertion number, slot, equal values)`` of live articles sharing a band with ``sig``
        and reaching the threshold, oldest first."""
        packed: set[int] = set()
        if self._keys.size:
            lo = np.searchsorted(self._keys, keys, side="left")
            hi = np.searchsorted(self._keys, keys, side="right")
            for i, j in zip(lo.tolist(), hi.tolist(), strict=True):
                if j > i:
                    packed.update(self._vals[i:j].tolist())
        if self._buffer:
            for key in keys.tolist():
                found = self._buffer.get(key)
                if found:
                    packed.update(found)
        if not packed:
            return []
        live = [(v >> 32, v & 0xFFFFFFFF) for v in packed if self._seq_of[v & 0xFFFFFFFF] == v >> 32]
        if not live:
            return []
        slots = np.fromiter((s for _, s in live), dtype=np.int64, count=len(live))
        same = np.count_nonzero(self._sigs[slots] == sig, axis=1).tolist()
        # the comparison of :func:`jaccard`, in the same floating point
        n_perm = float(self.num_perm)
        return sorted((q, s, n) for (q, s), n in zip(live, same, strict=True) if n / n_perm >= self.threshold)

    def _id_of(self, slot: int) -> str:
        doc_id = self._slot_id[slot]
        assert doc_id is not None
        return doc_id

    def _take_slot(self) -> int:
        if self._free:
            return self._free.pop()
        if self._used == len(self._sigs):
            grow = max(1024, len(self._sigs))
            if self.capacity is not None:
                grow = max(1, min(grow, self.capacity + 1 - len(self._sigs)))
            self._sigs = np.concatenate([self._sigs, np.zeros((grow, self.num_perm), dtype=np.uint16)])
            self._seq_of = np.concatenate([self._seq_of, np.full(grow, -1, dtype=np.int64)])
        self._used += 1
        return self._used - 1

    def _add(self, doc_id: str, sig: np.ndarray, keys: np.ndarray) -> None:
        slot = self._take_slot()
        self._sigs[slot] = sig
        self._seq_of[slot] = self._seq
        value = (self._seq << 32) | slot
        self._seq += 1
        self._slots[doc_id] = slot
        if slot == len(self._slot_id):
            self._slot_id.append(doc_id)
        else:
            self._slot_id[slot] = doc_id
        for key in keys.tolist():
            self._buffer.setdefault(key, []).append(value)
        self._buffered += len(keys)
        if self._buffered >= _BUFFER_KEYS:
            self._flush()

    def _flush(self) -> None:
        """Merge the buffered band keys into the sorted arrays, dropping entries of freed slots.

        Only the buffer is sorted; it is then inserted into the (sorted) arrays, after the equal
        keys already there: the same arrays as a stable sort of both, in linear time instead of
        a sort of the whole index at every flush (the index holds up to ``capacity`` articles).
        """
        n = self._buffered
        new_keys = np.empty(n, dtype=np.uint64)
        new_vals = np.empty(n, dtype=np.int64)
        i = 0
        for key, values in self._buffer.items():
            new_keys[i : i + len(values)] = key
            new_vals[i : i + len(values)] = values
            i += len(values)
        keys, vals = self._live(self._keys, self._vals)
        new_keys, new_vals = self._live(new_keys, new_vals)
        order = np.argsort(new_keys, kind="stable")
        new_keys, new_vals = new_keys[order], new_vals[order]
        at = np.searchsorted(keys, new_keys, side="right")
        self._keys, self._vals = np.insert(keys, at, new_keys), np.insert(vals, at, new_vals)
        self._buffer = {}
        self._buffered = 0

    def _live(self, keys: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band entries (key, packed value) whose slot still holds the article they name."""
        live = self._seq_of[vals & 0xFFFFFFFF] == (vals >> 32)
        return keys[live], vals[live]

    def _bulk_load(
        self, ids: list[str], sigs: np.ndarray, *, seqs: np.ndarray | None = None, next_seq: int | None = None
    ) -> None:
        """Index ``ids`` (oldest first) with their signatures at once (restoring a saved index).

        ``seqs`` are their insertion numbers (increasing; default ``0..n-1``) and ``next_seq`` the
        number of the next insertion: a journal's numbers are kept, so that its removals still apply.
        """
        n = len(ids)
        self._sigs = np.ascontiguousarray(sigs, dtype=np.uint16).reshape(n, self.num_perm)
        self._seq_of = np.arange(n, dtype=np.int64) if seqs is None else np.asarray(seqs, dtype=np.int64)
        self._used = n
        self._seq = n if next_seq is None else next_seq
        self._slots = OrderedDict((d, i) for i, d in enumerate(ids))
        self._slot_id = list(ids)
        if len(self._slots) != n:
            raise ValueError("the saved index repeats an id")
        keys = self._band_keys(self._sigs).reshape(-1)
        vals = np.repeat((self._seq_of << 32) | np.arange(n, dtype=np.int64), self._b)
        order = np.argsort(keys, kind="stable")
        self._keys, self._vals = keys[order], vals[order]


def group_copies(
    ids_and_signatures: list[tuple[str, np.ndarray]], *, threshold: float = 0.8
) -> dict[str, str]:
    """Batch helper: each copy's id mapped to its canonical (the first of its group in the list)."""
    num_perm = ids_and_signatures[0][1].shape[0] if ids_and_signatures else 128
    index = NearDuplicateIndex(threshold=threshold, num_perm=num_perm, capacity=None)
    out = {}
    for doc_id, sig in ids_and_signatures:
        canonical = index.insert(doc_id, sig)
        if canonical is not None:
            out[doc_id] = canonical
    return out
