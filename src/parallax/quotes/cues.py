"""Attribution cues: the reporting verbs, the cue table learned on PolNeAR train and the
syntactic frames in which a word can introduce reported content."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from parallax.errors import AnalysisError
from parallax.quotes.lexicon import _NAME_ENTS, _SUBJECT_DEPS

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


#: Lemmas of verbs that introduce reported speech or writing (the "cue" of an attribution).
REPORTING_VERBS = frozenset(
    [
        "say",
        "tell",
        "write",
        "tweet",
        "claim",
        "note",
        "add",
        "state",
        "explain",
        "ask",
        "reply",
        "respond",
        "declare",
        "insist",
        "argue",
        "continue",
        "warn",
        "announce",
        "acknowledge",
        "admit",
        "recall",
        "post",
        "describe",
        "call",
        "urge",
        "suggest",
        "confirm",
        "deny",
        "report",
        "remark",
        "observe",
        "comment",
        "predict",
        "promise",
        "pledge",
        "vow",
        "boast",
        "complain",
        "contend",
        "assert",
        "maintain",
        "concede",
        "quip",
        "joke",
        "shout",
        "yell",
        "scream",
        "mutter",
        "whisper",
        "testify",
        "allege",
        "charge",
        "point",
        "repeat",
        "recount",
        "conclude",
        "emphasize",
        "emphasise",
        "stress",
        "caution",
        "counter",
        "retort",
        "proclaim",
        "tout",
        "praise",
        "blast",
        "slam",
        "accuse",
        "read",
        "agree",
        "disagree",
        "demand",
        "lament",
        "muse",
        "reiterate",
        "reveal",
        "speculate",
        "summarize",
        "surmise",
        "theorize",
        "swear",
        "thunder",
        "rail",
        "chide",
        "scoff",
        "sneer",
        "exclaim",
        "wonder",
        "answer",
        "inform",
        "advise",
        "concur",
        "opine",
        "posit",
        "estimate",
        "caution",
        "chant",
        "sing",
        "recite",
        "text",
        "email",
        "message",
        "interrupt",
        "interject",
        "begin",
        "finish",
        "conclude",
        "mock",
        "jab",
        "cry",
        "plead",
        "beg",
    ]
)


#: Learned cue table: per "lemma|frame", how often a word in that frame was an attribution cue in
#: the PolNeAR training split (counts computed by Parallax; see ``parallax eval quotes --learn``).
CUE_TABLE_PATH = Path(__file__).parent.parent / "data" / "attribution_cues.json"

#: Frames in which a word can introduce reported content (what the content is, syntactically).
CUE_FRAMES = ("ccomp", "xcomp", "dobj", "parataxis", "according")


@dataclass(frozen=True, slots=True)
class CueCandidate:
    """A word that may introduce reported content: ``frame`` names the syntactic pattern,
    ``subject`` the kind of its subject (``agent``: a person, group or personal pronoun; ``noun``:
    another noun phrase; ``none``), and ``content`` the token range ``[lo, hi)`` it would attribute."""

    cue: int
    frame: str
    content: tuple[int, int]
    subject: str = "none"

    def key(self, doc: Doc) -> str:
        """The cue table key "lemma|frame|subject"."""
        lemma = "according" if self.frame == "according" else doc[self.cue].lemma_.lower()
        return f"{lemma}|{self.frame}|{self.subject}"


@dataclass(frozen=True)
class CueTable:
    """Cue counts by "lemma|frame|subject" (``[cues, occurrences]``) and the acceptance threshold.

    :meth:`weight` is P(cue | key) smoothed towards P(cue | lemma, frame), itself smoothed
    towards the frame's rate among reporting verbs (0 for other unseen lemmas).
    """

    counts: Mapping[str, Sequence[int]]
    threshold: float
    frame_prior: Mapping[str, float]
    smoothing: float = 2.0
    _base: dict[str, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _cache: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key, (pos, n) in self.counts.items():
            box = self._base.setdefault(key.rpartition("|")[0], [0, 0])
            box[0] += pos
            box[1] += n

    def speech_lemmas(self, *, min_weight: float = 0.3) -> frozenset[str]:
        """Lemmas that introduce a person's words as often as not ("beam", "quip"): those whose
        clause-taking frames with a person subject weigh at least ``min_weight``."""
        return frozenset(
            k.split("|")[0]
            for k in self.counts
            if k.endswith(("|ccomp|agent", "|parataxis|agent")) and self.weight(k) >= min_weight
        )

    def weight(self, key: str) -> float:
        """Smoothed P(cue | lemma, frame, subject) (see the class docstring)."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        base_key = key.rpartition("|")[0]
        lemma, _, frame = base_key.partition("|")
        s = self.smoothing
        prior = self.frame_prior.get(frame, 0.0) if lemma in REPORTING_VERBS else 0.0
        pos, n = self._base.get(base_key, (0, 0))
        base = (pos + s * prior) / (n + s)
        pos, n = self.counts.get(key, (0, 0))
        w = (pos + s * base) / (n + s)
        self._cache[key] = w
        return w


@lru_cache(maxsize=4)
def load_cue_table(path: Path = CUE_TABLE_PATH) -> CueTable:
    """Read the cue table (written by :func:`parallax.evaluation.quotes.learn_cue_table`)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return CueTable(
            counts={str(k): (int(v[0]), int(v[1])) for k, v in data["counts"].items()},
            threshold=float(data["threshold"]),
            frame_prior={str(k): float(v) for k, v in data["frame_prior"].items()},
            smoothing=float(data["smoothing"]),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise AnalysisError(f"{path}: unreadable attribution cue table: {exc}") from exc


@lru_cache(maxsize=1)
def _speech_lemmas() -> frozenset[str]:
    return load_cue_table().speech_lemmas()


_AGENT_PRONOUNS = frozenset({"he", "she", "they", "we", "i", "you", "who"})


def _subject_kind(tok: Token) -> str:
    """``agent``/``noun``/``none`` for the subject of verb ``tok`` (climbing from conjuncts and
    participles to the governing verb, as speaker finding does)."""
    node = tok
    for _ in range(3):
        subj = next((c for c in node.children if c.dep_ in _SUBJECT_DEPS or c.dep_ == "agent"), None)
        if subj is not None:
            if subj.dep_ == "agent":
                subj = next((c for c in subj.children if c.dep_ == "pobj"), subj)
            if subj.lower_ in _AGENT_PRONOUNS or subj.ent_type_ in _NAME_ENTS or subj.pos_ == "PROPN":
                return "agent"
            return "noun"
        if node.dep_ not in ("conj", "advcl", "xcomp", "acl") or node.head is node:
            break
        node = node.head
    return "none"


_CONTENT_TRIM = frozenset({"that", "whether", "if", ",", ":", ";", "—", "–", "-", "."})


def _trim_content(doc: Doc, lo: int, hi: int) -> tuple[int, int]:
    """Drop a leading complementiser or punctuation and trailing punctuation from ``[lo, hi)``."""
    while lo < hi and (doc[lo].lower_ in _CONTENT_TRIM or (doc[lo].is_punct and not doc[lo].is_quote)):
        lo += 1
    while hi > lo and doc[hi - 1].is_punct and not doc[hi - 1].is_quote:
        hi -= 1
    return lo, hi


def cue_candidates(doc: Doc, *, sent_bounds: Sequence[tuple[int, int]] | None = None) -> list[CueCandidate]:
    """Every word of ``doc`` in a frame that can introduce reported content, with that content.

    Frames: 1. ``ccomp``/``xcomp``: a verb with a clausal complement ("said (that) X", "urged them
    to X"), the complement is the content; 2. ``dobj``: a verb with a direct object ("denied the
    report"), the object is the content; 3. ``parataxis``: a verb set beside its clause ("X, he
    said"), the clause is the content; 4. ``according``: "according to S, X", the clause the
    phrase modifies is the content. Each verb yields its first frame in that order. One linear
    pass over the tokens; subtrees are read by their left and right edges.
    """
    out: list[CueCandidate] = []
    for tok in doc:
        if tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            head = tok.head
            if head is tok:
                continue
            lo, hi = head.left_edge.i, head.right_edge.i + 1
            pp_lo, pp_hi = tok.left_edge.i, tok.right_edge.i + 1
            # the content is the side of the clause without the "according to" phrase
            left, right = (lo, pp_lo), (pp_hi, hi)
            a, b = _trim_content(doc, *(right if right[1] - right[0] >= left[1] - left[0] else left))
            if b > a:
                out.append(CueCandidate(tok.i, "according", (a, b), "agent"))
            continue
        if tok.pos_ not in ("VERB", "AUX") and tok.tag_ not in ("VBD", "VBZ", "VBP", "VBG", "VBN", "VB"):
            continue
        found: CueCandidate | None = None
        for frame in ("ccomp", "xcomp", "dobj"):
            comp = next((c for c in tok.children if c.dep_ == frame), None)
            if comp is not None:
                a, b = _trim_content(doc, comp.left_edge.i, comp.right_edge.i + 1)
                if b > a:
                    found = CueCandidate(tok.i, frame, (a, b), _subject_kind(tok))
                    break
        if found is None and tok.dep_ == "parataxis" and tok.head is not tok:
            head = tok.head
            lo, hi = head.left_edge.i, head.right_edge.i + 1
            v_lo = tok.left_edge.i
            a, b = _trim_content(doc, lo, min(v_lo, hi) if v_lo > lo else hi)
            if v_lo > lo and b > a:
                found = CueCandidate(tok.i, "parataxis", (a, b), _subject_kind(tok))
        if found is not None:
            out.append(found)
    return out
