"""Cheap sparse features of one article for story clustering in corpus mode.

Corpus ingest must run at hundreds of articles per second on two cores, so nothing here loads
spaCy or torch: words come from a regular expression, a small suffix-stripping stemmer folds
inflections, and named entities are guessed from runs of capitalised words. Every feature is
hashed (CRC-32, stable across processes and machines, unlike :func:`hash`) into one integer
space; a namespace prefix keeps body terms, entities and title terms apart.

:func:`extract_features` is a pure function of one :class:`ClusterDoc` and returns a small,
picklable :class:`DocFeatures`, so it can run on worker processes (Dask) while the sequential
assignment (:mod:`parallax.cluster`) stays in one place. Document frequencies are *not* known
here; the clusterer keeps them online and applies IDF when it compares.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from typing import TypeVar

import numpy as np

#: Width of the hashed feature space (bits). 2**20 keeps collisions rare for news vocabularies
#: while a document-frequency table over it stays at 4 MB.
HASH_BITS = 20
HASH_MASK = (1 << HASH_BITS) - 1

#: Namespaces of hashed features.
TERM, ENTITY, TITLE, NUMBER = "t", "e", "h", "n"

_EPOCH = dt.date(1970, 1, 1)

# Function words and news boilerplate; they carry no information about which event is told.
_STOP_TEXT = """
    a about above after again against all almost also although am among an and another any are
    around as at back be became because been before being below between both but by can cannot could
    did do does doing done down during each either else even ever every few for from further get
    gets got had has have having he her here hers herself him himself his how however i if in into
    is it its itself just last least less like made make many may me might more most much must my
    myself near need neither never new no nor not now of off often on once one only or other others
    our ours ourselves out over own per perhaps put rather really said same say says see seen
    several shall she should since so some still such than that the their theirs them themselves
    then there these they this those though through thus to too two under until up upon us use used
    very via was way we well were what whatever when where whether which while who whom whose why
    will with within without would yet you your yours yourself yourselves mr mrs ms dr told tell
    according year years time times day days week weeks today yesterday tomorrow monday tuesday
    wednesday thursday friday saturday sunday don didn doesn isn wasn aren weren won wouldn couldn
    shouldn ll ve re http https www com html htm
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# Capitalised words that begin sentences or name months and days, not entities.
_NOT_ENTITY_TEXT = """
    january february march april may june july august september october november december jan feb
    mar apr jun jul aug sep sept oct nov dec president senator governor gov sen rep
"""
_NOT_ENTITY = STOP_WORDS | frozenset(_NOT_ENTITY_TEXT.split())

_NUMBER = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)(?:st|nd|rd|th)?(?![\w])")
MAX_NUMBERS = 40
_WORD = re.compile(r"[a-z][a-z'’]*[a-z]|\d+(?:[.,]\d+)*")
# A run of capitalised words, optionally joined by a few lower-case particles ("Bank of America").
_CAPS = re.compile(
    r"(?<![\w'’])(?:[A-Z][a-zA-Z'’\-]*[a-zA-Z]|[A-Z]\.)"
    r"(?:\s+(?:(?:of|de|la|van|von|bin|al|the)\s+)?(?:[A-Z][a-zA-Z'’\-]*[a-zA-Z]|[A-Z]\.))*"
)

#: Body terms kept per document (highest weight first): bounds the size of a ``DocFeatures``.
MAX_TERMS = 400
MAX_ENTITIES = 40
MAX_TITLE_TERMS = 24
#: Body characters read: the lead of an article says what event it is about.
MAX_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class ClusterDoc:
    """What story clustering needs to know about one article."""

    id: str
    text: str
    title: str | None = None
    published: str | None = None  # ISO 8601 date or datetime
    outlet: str | None = None


_NO_TERM_KEYS = np.zeros(0, dtype=np.int32)
_NO_TERM_WEIGHTS = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class DocFeatures:
    """Hashed features of one article; small and picklable.

    ``term_keys`` and ``term_weights`` are an L2-normalised sparse vector of sublinear term
    frequencies over stemmed body words: hashes (``int32``, sorted, distinct) and their weights
    (``float64``), as arrays because an article has hundreds of terms and arrays cost 12 bytes a
    term to hold and to send between processes, a tuple of pairs about 100. ``entities`` are
    hashed capitalised phrases (and
    their last word) in order of salience (most frequent first). ``title_terms`` are the
    stemmed title words, sorted. ``day`` counts days since 1970-01-01 of ``published``.
    ``numbers`` are the hashed numbers of title and body (years, counts, scores, amounts), sorted:
    two reports of one event share them, two similar events rarely do.
    """

    id: str
    term_keys: np.ndarray
    term_weights: np.ndarray
    entities: tuple[int, ...]
    title_terms: tuple[int, ...]
    day: int | None
    numbers: tuple[int, ...] = ()

    @property
    def terms(self) -> tuple[tuple[int, float], ...]:
        """The body terms as ``(hash, weight)`` pairs sorted by hash."""
        return tuple(zip(self.term_keys.tolist(), self.term_weights.tolist(), strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DocFeatures):
            return NotImplemented
        return (
            (self.id, self.entities, self.title_terms, self.day, self.numbers)
            == (other.id, other.entities, other.title_terms, other.day, other.numbers)
            and np.array_equal(self.term_keys, other.term_keys)
            and np.array_equal(self.term_weights, other.term_weights)
        )

    __hash__ = None  # type: ignore[assignment]


@lru_cache(maxsize=100_000)
def feature_hash(namespace: str, token: str) -> int:
    """Stable hash of ``token`` in ``namespace``, in ``[0, 2**HASH_BITS)``."""
    return zlib.crc32(f"{namespace}:{token}".encode()) & HASH_MASK


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """A cheap English stemmer: strips common inflectional and derivational suffixes.

    Far cruder than Porter's, but it folds the variants that matter for matching news on one
    event ("protests"/"protested"/"protesting", "arrested"/"arrest") at dictionary-lookup speed
    once cached.
    """
    w = word
    if len(w) <= 3:
        return w
    if w.endswith("'s") or w.endswith("’s"):
        w = w[:-2]
    for suffix, repl, min_len in (
        ("ies", "y", 4),
        ("sses", "ss", 4),
        ("ness", "", 5),
        ("ments", "", 6),
        ("ment", "", 6),
        ("ings", "", 5),
        ("ing", "", 5),
        ("edly", "", 6),
        ("ed", "", 5),
        ("ers", "", 5),
        ("er", "", 5),
        ("ly", "", 5),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) + len(repl) >= min_len - 1:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                break
            w = w[: len(w) - len(suffix)] + repl
            break
    # Undouble a final consonant left by "-ing"/"-ed" ("stopped" -> "stopp" -> "stop").
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


_V = TypeVar("_V")


class _Cache(dict[str, _V]):
    """A dict that computes missing values with ``fn`` and forgets everything past ``limit`` entries.

    Looked up through ``map(cache.__getitem__, tokens)``, a hit costs no Python-level call; the
    limit bounds memory on a corpus with an open vocabulary (the cache then refills from scratch).
    The limits of this module's caches (about 100,000 words, 50,000 phrases) keep them to a few
    tens of MB together while news vocabulary still hits them almost always.
    """

    def __init__(self, fn: Callable[[str], _V], limit: int) -> None:
        super().__init__()
        self._fn = fn
        self._limit = limit

    def __missing__(self, key: str) -> _V:
        if len(self) >= self._limit:
            self.clear()
        value = self[key] = self._fn(key)
        return value


def _content_stem(token: str) -> str:
    """The stem of a lower-cased token, or ``""`` for a stop word or a one-character token."""
    if token in STOP_WORDS or len(token) < 2:
        return ""
    return stem(token.replace("’", "'"))


_STEMS: _Cache[str] = _Cache(_content_stem, 100_000)
_TERM_HASHES: _Cache[int] = _Cache(lambda term: feature_hash.__wrapped__(TERM, term), 100_000)
#: ``1 + log(tf)`` for small term frequencies (the same floats as :func:`math.log` gives).
_SUBLINEAR = [0.0] + [1.0 + math.log(tf) for tf in range(1, 4096)]


def term_counts(text: str) -> Counter[str]:
    """Stemmed content words of ``text`` (lower-cased, no stop words) with their counts.

    Keys are in order of first occurrence.
    """
    out = Counter(map(_STEMS.__getitem__, _WORD.findall(text.lower())))
    out.pop("", None)
    return out


def words(text: str) -> list[str]:
    """Distinct stemmed content words of ``text``, in order of first occurrence."""
    return list(term_counts(text))


@lru_cache(maxsize=50_000)
def _entity_word(word: str) -> str:
    """A capitalised word folded for matching: lower case, no possessive, no stray dots."""
    w = word.lower().replace("’", "'").strip(".'")
    if w.endswith("'s"):
        w = w[:-2]
    return "" if w.startswith("i'") else w


def _starts_sentence(text: str, start: int) -> bool:
    """Whether position ``start`` of ``text`` begins a sentence (or a line, or a quotation)."""
    j = start - 1
    while j >= 0 and text[j] in " \t":
        j -= 1
    return j < 0 or text[j] in ".!?:;\"“”‘'\n—-(["


def _phrase_parts(phrase: str) -> tuple[str, ...]:
    """The folded words of a capitalised phrase, without leading or trailing non-entity words."""
    parts = [p for p in map(_entity_word, phrase.split()) if p]
    start, end = 0, len(parts)
    while start < end and parts[start] in _NOT_ENTITY:
        start += 1
    while end > start and parts[end - 1] in _NOT_ENTITY:
        end -= 1
    return tuple(parts[start:end])


_ENTITY_PARTS: _Cache[tuple[str, ...]] = _Cache(_phrase_parts, 50_000)


def entities(text: str) -> Counter[str]:
    """Capitalised phrases of ``text`` (lower-cased), with the last word of each multi-word one.

    A single capitalised word at the start of a sentence is kept only when it is not a stop
    word: "The" and "However" begin sentences, "Obama" names someone.
    """
    found: Counter[str] = Counter()
    at_start: Counter[str] = Counter()
    for match in _CAPS.finditer(text):
        parts = _ENTITY_PARTS[match.group()]
        if not parts:
            continue
        if len(parts) == 1:
            word = parts[0]
            if len(word) < 2:
                continue
            if _starts_sentence(text, match.start()):
                at_start[word] += 1
            else:
                found[word] += 1
            continue
        found[" ".join(parts)] += 1
        if len(parts[-1]) > 2:
            found[parts[-1]] += 1
    for word, n in at_start.items():
        if word in found:
            found[word] += n
    return found


def _sublinear(tf: int) -> float:
    return 1.0 + math.log(tf)


def is_title_case(title: str) -> bool:
    """Whether most longer words of ``title`` are capitalised ("Senate Passes Health Bill")."""
    long_words = [w for w in title.split() if len(w) > 3 and w[0].isalpha()]
    if len(long_words) < 3:
        return False
    return sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words)


def publication_day(published: str | None) -> int | None:
    """Days since 1970-01-01 of an ISO 8601 date or datetime, ``None`` when absent or unparseable."""
    if not published:
        return None
    try:
        return (dt.date.fromisoformat(published[:10]) - _EPOCH).days
    except ValueError:
        return None


def extract_features(doc: ClusterDoc) -> DocFeatures:
    """Hashed term, entity and title features of ``doc``; pure and cheap.

    1. Tokenise the lead of the body (``MAX_CHARS``) into stemmed content words.
    2. Weight terms by sublinear frequency (1 + log tf), keep the ``MAX_TERMS`` heaviest,
       L2-normalise.
    3. Collect capitalised phrases from body and title (unless title-cased) as entities, most
       frequent first.
    4. Stem the title words.
    5. Collect the numbers.
    6. Convert the publication date to a day number.
    """
    body = doc.text[:MAX_CHARS]
    title = doc.title or ""
    # 1. Body words.
    counts = term_counts(body)
    # 2. Sublinear weights; features hashed in the term namespace (collisions add up).
    term_keys, term_weights = _NO_TERM_KEYS, _NO_TERM_WEIGHTS
    if counts:
        n = len(counts)
        keys = np.fromiter(map(_TERM_HASHES.__getitem__, counts), dtype=np.int64, count=n)
        tfs = list(counts.values())
        subl = map(_SUBLINEAR.__getitem__, tfs) if max(tfs) < len(_SUBLINEAR) else map(_sublinear, tfs)
        weights = np.fromiter(subl, dtype=np.float64, count=n)
        if len(np.unique(keys)) < n:  # a hash collision: add up in order, as a dict would
            summed: dict[int, float] = {}
            for key, w in zip(keys.tolist(), weights.tolist(), strict=True):
                summed[key] = summed.get(key, 0.0) + w
            keys = np.fromiter(summed, dtype=np.int64, count=len(summed))
            weights = np.fromiter(summed.values(), dtype=np.float64, count=len(summed))
        # heaviest first, ties by hash
        top = np.lexsort((keys, -weights))[:MAX_TERMS]
        top_w = weights[top].tolist()
        norm = math.sqrt(sum(map(mul, top_w, top_w))) or 1.0
        by_key = top[np.argsort(keys[top])]
        term_keys = keys[by_key].astype(np.int32)
        term_weights = weights[by_key] / norm
    # 3. Entities: the title counts double, it names the event's protagonists.
    ents = entities(body)
    if not is_title_case(title):
        for name, n in entities(title).items():
            ents[name] += 2 * n
    ranked = sorted(ents.items(), key=lambda kv: (-kv[1], kv[0]))
    ent_hashes: list[int] = []
    seen: set[int] = set()
    for name, _ in ranked:
        key = feature_hash(ENTITY, name)
        if key not in seen:
            seen.add(key)
            ent_hashes.append(key)
        if len(ent_hashes) >= MAX_ENTITIES:
            break
    # 4. Title words.
    title_terms = tuple(sorted({feature_hash(TITLE, w) for w in words(title)}))[:MAX_TITLE_TERMS]
    # 5. Numbers of two or more digits (single digits are everywhere), title first.
    nums: dict[int, None] = {}
    for match in _NUMBER.finditer(f"{title}\n{body}"):
        value = match.group(1).replace(",", "")
        if len(value) > 1 and len(nums) < MAX_NUMBERS:
            nums[feature_hash(NUMBER, value)] = None
    # 6. Day number.
    return DocFeatures(
        id=doc.id,
        term_keys=term_keys,
        term_weights=term_weights,
        entities=tuple(ent_hashes),
        title_terms=title_terms,
        day=publication_day(doc.published),
        numbers=tuple(sorted(nums)),
    )
