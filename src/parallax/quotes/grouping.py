"""The same quotation across articles: word keys, fidelity of each rendering, grouping."""

from __future__ import annotations

import difflib
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from parallax.errors import AnalysisError
from parallax.quotes.marks import _WORD_RE
from parallax.records import (
    DiffKind,
    DiffOp,
    Fidelity,
    Quote,
    QuoteRendering,
    QuoteSpan,
)

log = logging.getLogger(__name__)


# --- 3. words, fidelity and grouping ----------------------------------------------------------------

_SPELLING_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=\w{3})is(e|ed|es|ing|ation|ations|er|ers)$"), r"iz\1"),
    (re.compile(r"(?<=\w{2})ys(e|ed|es|ing)$"), r"yz\1"),
    (re.compile(r"(?<=\w{3})our(s|ed|ing|ite|ites|able)?$"), r"or\1"),
    (re.compile(r"(?<=\w{2})([^aeiou])re(s)?$"), r"\1er\2"),
    (re.compile(r"(?<=\w{2}[aeiou])ll(ed|ing|er|ers)$"), r"l\1"),
    (re.compile(r"(?<=\w{3})ence$"), r"ense"),
    (re.compile(r"ae"), r"e"),
)
_OUR_WORDS = frozenset({"four", "your", "hour", "tour", "pour", "flour", "sour", "detour", "devour", "amour"})
_NOT_RE_WORDS = frozenset({"genre", "acre", "acres", "massacre", "massacres", "mediocre", "ogre", "ogres"})
_NOT_ENCE = frozenset({"fence", "hence", "pence", "whence", "thence", "silence", "science", "sentence"})


@lru_cache(maxsize=65536)
def fold_word(word: str) -> str:
    """A word's comparison key: lower case, apostrophes and hyphens dropped, UK spelling -> US.

    The spelling rules are suffix rewrites (-ise/-ize, -yse/-yze, -our/-or, -tre/-ter,
    -lled/-led, -ence/-ense, ae/e), with short exception lists for common words they would break.
    """
    w = word.lower().replace("’", "").replace("'", "").replace("-", "")
    if w in _OUR_WORDS or w in _NOT_RE_WORDS or w in _NOT_ENCE:
        return w
    for pattern, repl in _SPELLING_RULES:
        w = pattern.sub(repl, w)
    return w


@dataclass(frozen=True, slots=True)
class _Word:
    surface: str  # as written, brackets included for insertions
    key: str  # fold_word of the surface (brackets removed)
    bracketed: bool


def _words(text: str) -> list[_Word]:
    out = []
    for m in _WORD_RE.finditer(text):
        raw = m.group(0)
        if raw.startswith("["):
            inner = raw[1:-1].strip()
            out.append(_Word(surface=raw, key=fold_word(inner) if inner else "", bracketed=True))
        else:
            out.append(_Word(surface=raw, key=fold_word(raw), bracketed=False))
    return out


def _keys(words: Sequence[_Word]) -> list[str]:
    """Keys used to *match* quotes across articles: bracketed insertions ignored."""
    return [w.key for w in words if not w.bracketed and w.key]


def _matched(a: Sequence[str], b: Sequence[str]) -> int:
    """Words of ``b`` found in order in ``a`` in runs of at least two words (or all of ``b``)."""
    if not a or not b:
        return 0
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    blocks = [blk.size for blk in sm.get_matching_blocks() if blk.size]
    if sum(blocks) == len(b):
        return len(b)
    return sum(size for size in blocks if size >= 2)


def _same_quote(
    ref: Sequence[str],
    other: Sequence[str],
    *,
    min_containment_words: int,
    same_speaker: bool,
    containment: float = 0.8,
    min_overlap_words: int = 6,
    overlap: float = 0.4,
) -> int:
    """How many words two renderings share when they count as one quotation, else 0.

    Containment of the shorter in the longer counts when the shorter is long enough (or short
    but the speakers agree); long partial overlaps count too.
    """
    short = min(len(ref), len(other))
    if short == 0:
        return 0
    # cheap rejection before difflib: too few shared words for either rule (an upper bound of m)
    other_words = set(other)
    shared = sum(1 for w in ref if w in other_words)
    if min(shared, short) < min(containment * short, max(min_overlap_words, overlap * short)) - 1e-9:
        return 0
    m = _matched(ref, other) if len(other) <= len(ref) else _matched(other, ref)
    if m >= containment * short and (short >= min_containment_words or same_speaker):
        return m
    if m >= min_overlap_words and m >= overlap * short:
        return m
    return 0


def render_against(reference: str, rendering: str) -> tuple[Fidelity, tuple[DiffOp, ...]]:
    """Fidelity class and word diff of ``rendering`` against the ``reference`` wording.

    Steps:

    1. Tokenise both into words (a bracketed insertion is one word) and align their comparison
       keys with difflib.
    2. The overlapping region runs from the first to the last aligned word on each side; words of
       the rendering beyond the reference are outside the comparison.
    3. Inside the region: a change whose rendering side is only bracketed insertions (standing in
       for at most three reference words) is ``bracketed``; any other change is ``altered``;
       aligned words written differently (case, apostrophe style, UK/US spelling) are
       ``spelling``. Otherwise a region shorter than the reference is ``trimmed``, else
       ``verbatim``. The worst class wins: altered > bracketed > spelling > trimmed > verbatim.
    4. The diff lists the edits from the reference region to the rendering region, with a
       spelling difference shown as a one-word ``replace``.
    """
    # 1. words and alignment
    ref = [w for w in _words(reference) if w.key or w.bracketed]
    ren = [w for w in _words(rendering) if w.key or w.bracketed]
    sm = difflib.SequenceMatcher(
        None, [w.key for w in ref], [w.key if not w.bracketed else "[" + w.key for w in ren], autojunk=False
    )
    blocks = [b for b in sm.get_matching_blocks() if b.size]
    if not blocks:
        ops = (DiffOp("replace", " ".join(w.surface for w in ref), " ".join(w.surface for w in ren)),)
        return "altered", ops
    # 2. overlapping region
    a_lo, b_lo = blocks[0].a, blocks[0].b
    a_hi, b_hi = blocks[-1].a + blocks[-1].size, blocks[-1].b + blocks[-1].size
    # the region may extend over leading/trailing bracketed insertions of the rendering
    while b_lo > 0 and ren[b_lo - 1].bracketed:
        b_lo -= 1
    while b_hi < len(ren) and ren[b_hi].bracketed:
        b_hi += 1
    ra, rb = ref[a_lo:a_hi], ren[b_lo:b_hi]
    region = difflib.SequenceMatcher(
        None, [w.key for w in ra], [w.key if not w.bracketed else "[" + w.key for w in rb], autojunk=False
    )
    # 3. classify, 4. diff
    altered = bracketed = spelling = False
    diff: list[DiffOp] = []
    for op, i1, i2, j1, j2 in region.get_opcodes():
        a_words, b_words = ra[i1:i2], rb[j1:j2]
        if op == "equal":
            run_a: list[str] = []
            run_b: list[str] = []
            for wa, wb in zip(a_words, b_words, strict=True):
                if wa.surface == wb.surface:
                    run_a.append(wa.surface)
                    run_b.append(wb.surface)
                    continue
                spelling = True
                if run_a:
                    diff.append(DiffOp("equal", " ".join(run_a), " ".join(run_b)))
                    run_a, run_b = [], []
                diff.append(DiffOp("replace", wa.surface, wb.surface))
            if run_a:
                diff.append(DiffOp("equal", " ".join(run_a), " ".join(run_b)))
            continue
        if b_words and all(w.bracketed for w in b_words) and len(a_words) <= 3:
            bracketed = True
        else:
            altered = True
        kind: DiffKind = "insert" if op == "insert" else "delete" if op == "delete" else "replace"
        diff.append(DiffOp(kind, " ".join(w.surface for w in a_words), " ".join(w.surface for w in b_words)))
    trimmed = a_lo > 0 or a_hi < len(ref)
    fidelity: Fidelity = (
        "altered"
        if altered
        else "bracketed"
        if bracketed
        else "spelling"
        if spelling
        else "trimmed"
        if trimmed
        else "verbatim"
    )
    return fidelity, tuple(diff)


def group_quotes(spans: Sequence[QuoteSpan], texts: Mapping[str, str] | None = None) -> list[Quote]:
    """Group quotation spans of several articles into :class:`Quote` records.

    ``texts`` (article id -> cleaned text), when given, fixes the article order and is used to
    check that every span's offsets index its text.

    Steps:

    1. Order spans fullest first (most words; ties by article order, then offset) so the result
       does not depend on the order of ``spans``.
    2. Each span joins the existing group whose reference (its fullest rendering) shares the most
       words with it (:func:`_same_quote`). A group holds at most one rendering per article: a span
       whose article is already in the group joins the next best group; when its words are
       contained in its own article's rendering there it is a repeat and is dropped. A span
       matching no group starts one.
    3. Each rendering is classed against the reference (:func:`render_against`); the quote's
       speaker is the majority speaker of its renderings (ties: the reference's).
    4. Quotes are numbered ``q1``, ``q2`` ... by their first rendering in article order, then
       offset; renderings are listed in article order.
    """
    order: dict[str, int] = {}
    for aid in texts or ():
        order.setdefault(aid, len(order))
    for span in spans:
        order.setdefault(span.article, len(order))
    if texts is not None:
        for span in spans:
            source = texts.get(span.article)
            if source is None or source[span.start : span.end] != span.text:
                raise AnalysisError(
                    f"quote at {span.start}-{span.end} of article {span.article!r} does not match the "
                    "article text; pass the cleaned texts the quotes were extracted from"
                )
    # 1. fullest first
    prepared = [(s, _keys(_words(s.text))) for s in spans]
    prepared.sort(key=lambda x: (-len(x[1]), order[x[0].article], x[0].start, x[0].end))
    # 2. assign to groups
    groups: list[list[tuple[QuoteSpan, list[str]]]] = []
    for span, keys in prepared:
        if not keys:
            continue
        scored = []
        for g_index, group in enumerate(groups):
            ref_span, ref_keys = group[0]
            same_speaker = span.speaker is not None and span.speaker == ref_span.speaker
            m = _same_quote(ref_keys, keys, min_containment_words=3, same_speaker=same_speaker)
            if m:
                scored.append((-m, g_index))
        placed = False
        for _, g_index in sorted(scored):
            group = groups[g_index]
            own = next((k for s, k in group if s.article == span.article), None)
            if own is None:
                group.append((span, keys))
                placed = True
                break
            if _matched(own, keys) == len(keys):
                placed = True  # a repeat of words its article already quotes in full
                log.debug("dropped repeated quote %r in %s", span.text[:40], span.article)
                break
        if not placed:
            groups.append([(span, keys)])
    # 3. renderings and speakers
    built: list[tuple[tuple[int, int], Quote]] = []
    for group in groups:
        ref = group[0][0]
        members = sorted((s for s, _ in group), key=lambda s: (order[s.article], s.start))
        renderings = []
        for s in members:
            if s is ref:
                fidelity: Fidelity = "bracketed" if any(w.bracketed for w in _words(s.text)) else "verbatim"
                diff: tuple[DiffOp, ...] = ()
            else:
                fidelity, diff = render_against(ref.text, s.text)
            renderings.append(
                QuoteRendering(
                    article=s.article,
                    text=s.text,
                    start=s.start,
                    end=s.end,
                    speaker=s.speaker,
                    cue=s.cue,
                    fidelity=fidelity,
                    diff=diff,
                    speaker_phrase=s.speaker_phrase,
                )
            )
        votes = Counter(s.speaker for s in members if s.speaker)
        speaker = None
        if votes:
            best = max(votes.values())
            tied = sorted(name for name, n in votes.items() if n == best)
            speaker = ref.speaker if ref.speaker in tied else tied[0]
        first = members[0]
        built.append(
            (
                (order[first.article], first.start),
                Quote(id="", speaker=speaker, text=ref.text, renderings=tuple(renderings)),
            )
        )
    # 4. ids and order
    built.sort(key=lambda x: x[0])
    return [
        Quote(id=f"q{n}", speaker=q.speaker, text=q.text, renderings=q.renderings)
        for n, (_, q) in enumerate(built, start=1)
    ]
