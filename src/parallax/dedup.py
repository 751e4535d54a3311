"""Near-duplicate detection: syndicated and lightly edited copies of one article.

Wire stories are reprinted by many outlets with a new headline, a byline or a trimmed last
paragraph. Such copies are not independent coverage, so corpus mode groups them under the
first copy seen (the *canonical* article). Detection is MinHash over word shingles of the
normalised text with locality-sensitive hashing (datasketch ``MinHashLSH``) to find candidates
in constant time, then a check of the estimated Jaccard similarity against the threshold.

:func:`minhash_signature` is a pure function of the text (it can run on worker processes);
:class:`NearDuplicateIndex` holds the sequential state.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections import OrderedDict
from functools import lru_cache

import numpy as np
from datasketch import MinHash, MinHashLSH

from parallax.errors import StoreError

_TOKEN = re.compile(r"\w+", re.UNICODE)
_MAGIC = b"PXND1"
_SEED = 1
_SCHEME = "affine32"


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters of the fixed seed, generated once per ``num_perm``."""
    perms: tuple[np.ndarray, np.ndarray] = MinHash(num_perm=num_perm, seed=_SEED).permutations
    return perms


def _minhash(num_perm: int, hashvalues: np.ndarray | None = None) -> MinHash:
    # CRC-32 hashes shingles several times faster than the default SHA-1 and is as stable.
    return MinHash(
        num_perm=num_perm,
        seed=_SEED,
        hashfunc=zlib.crc32,
        hashvalues=hashvalues,
        permutations=_permutations(num_perm),
        scheme=_SCHEME,
    )


def shingles(text: str, *, shingle: int = 5) -> set[str]:
    """Word ``shingle``-grams of ``text`` after normalisation (lower case, punctuation dropped)."""
    tokens = _TOKEN.findall(text.lower())
    if len(tokens) <= shingle:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + shingle]) for i in range(len(tokens) - shingle + 1)}


def minhash_signature(text: str, *, num_perm: int = 128, shingle: int = 5) -> np.ndarray:
    """MinHash signature (``uint64`` array of ``num_perm`` values) of the word shingles of ``text``.

    Pure and deterministic (fixed seed), so signatures computed anywhere can be compared.
    """
    mh = _minhash(num_perm)
    grams = shingles(text, shingle=shingle)
    if grams:
        mh.update_batch([g.encode("utf-8") for g in grams])  # min-hashing ignores order
    out: np.ndarray = mh.hashvalues.astype(np.uint64, copy=True)
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
    """

    def __init__(
        self, *, threshold: float = 0.8, num_perm: int = 128, capacity: int | None = 500_000
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.capacity = capacity
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._signatures: OrderedDict[str, np.ndarray] = OrderedDict()  # insertion order
        self._canonical: dict[str, str] = {}  # copy id -> canonical id

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._signatures

    def canonical_of(self, doc_id: str) -> str:
        """The canonical article of ``doc_id`` (itself when it is not a copy)."""
        return self._canonical.get(doc_id, doc_id)

    def query(self, signature: np.ndarray) -> list[str]:
        """Ids of indexed articles whose estimated Jaccard with ``signature`` reaches the threshold.

        Oldest first.
        """
        sig = self._check(signature)
        found = self._lsh.query(_minhash(self.num_perm, sig))
        order = {doc: i for i, doc in enumerate(self._signatures)} if len(found) > 1 else {}
        hits = [doc for doc in found if jaccard(self._signatures[doc], sig) >= self.threshold]
        return sorted(hits, key=lambda d: order.get(d, 0))

    def insert(self, doc_id: str, signature: np.ndarray) -> str | None:
        """Index ``doc_id``; return its canonical article's id when it is a copy, else ``None``.

        1. An id already indexed returns what it returned the first time (idempotent).
        2. Find indexed copies; the canonical is the canonical of the oldest of them.
        3. Index the article (copies too, so that a chain of light edits still matches).
        4. Forget the oldest entries beyond ``capacity``.
        """
        # 1. Idempotent.
        if doc_id in self._signatures:
            canonical = self._canonical.get(doc_id)
            return canonical
        sig = self._check(signature)
        # 2. Oldest copy's canonical.
        hits = self.query(sig)
        canonical = self.canonical_of(hits[0]) if hits else None
        # 3. Index.
        self._lsh.insert(doc_id, _minhash(self.num_perm, sig), check_duplication=False)
        self._signatures[doc_id] = sig
        if canonical is not None:
            self._canonical[doc_id] = canonical
        # 4. Bounded memory.
        while self.capacity is not None and len(self._signatures) > self.capacity:
            self.remove(next(iter(self._signatures)))
        return canonical

    def remove(self, doc_id: str) -> None:
        """Forget ``doc_id``; copies of it keep naming it as their canonical. Unknown ids are ignored."""
        if doc_id not in self._signatures:
            return
        self._lsh.remove(doc_id)
        del self._signatures[doc_id]
        self._canonical.pop(doc_id, None)

    def to_bytes(self) -> bytes:
        """The index as bytes (no pickle): parameters, ids in order, copy links and signatures."""
        ids = list(self._signatures)
        header = json.dumps(
            {
                "threshold": self.threshold,
                "num_perm": self.num_perm,
                "capacity": self.capacity,
                "ids": ids,
                "canonical": [self._canonical.get(i) for i in ids],
            },
            separators=(",", ":"),
        ).encode("utf-8")
        sigs = np.stack(list(self._signatures.values())) if ids else np.zeros((0, self.num_perm), np.uint64)
        body = struct.pack("<I", len(header)) + header + sigs.astype("<u8").tobytes()
        return _MAGIC + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> NearDuplicateIndex:
        """Restore an index saved by :meth:`to_bytes`."""
        try:
            if not data.startswith(_MAGIC):
                raise ValueError("not a near-duplicate index")
            body = zlib.decompress(data[len(_MAGIC) :])
            (size,) = struct.unpack("<I", body[:4])
            header = json.loads(body[4 : 4 + size])
            index = cls(
                threshold=header["threshold"], num_perm=header["num_perm"], capacity=header["capacity"]
            )
            sigs = np.frombuffer(body[4 + size :], dtype="<u8").reshape(-1, index.num_perm)
            if len(sigs) != len(header["ids"]):
                raise ValueError("signature count does not match the ids")
            for doc_id, canonical, sig in zip(header["ids"], header["canonical"], sigs, strict=True):
                sig = sig.astype(np.uint64)
                index._lsh.insert(doc_id, _minhash(index.num_perm, sig), check_duplication=False)
                index._signatures[doc_id] = sig
                if canonical is not None:
                    index._canonical[doc_id] = canonical
        except (ValueError, KeyError, TypeError, struct.error, zlib.error) as exc:
            raise StoreError(
                f"near-duplicate index cannot be read ({exc}); re-run the ingest to rebuild it"
            ) from exc
        return index

    def _check(self, signature: np.ndarray) -> np.ndarray:
        sig = np.asarray(signature, dtype=np.uint64)
        if sig.shape != (self.num_perm,):
            raise ValueError(f"signature has shape {sig.shape}, expected ({self.num_perm},)")
        return sig


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
