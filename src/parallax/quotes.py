"""Stage 5: direct quotations, their speakers, and how each outlet renders them.

Three steps, each a plain function:

* :func:`find_quote_marks` pairs double quotation marks in a text (no spaCy needed);
* :func:`extract_quotes` turns the pairs of one analysed article into :class:`QuoteSpan` records
  with a speaker and a cue verb read off the dependency parse;
* :func:`group_quotes` merges the same quotation across articles into one :class:`Quote` with
  one :class:`QuoteRendering` per article, each classed by its fidelity to the fullest wording.

:func:`find_quotes` is what :mod:`parallax.pipeline` calls.

Conventions chosen here (they matter to downstream readers):

* Only *double* marks delimit quotations (“ ” " « » „). Single marks inside a double quotation
  are part of it; single-quoted headline fragments are not quotations.
* A quotation running over paragraphs (the news convention: the paragraph does not close the
  quote and the next paragraph opens with a mark) is *one* span from the first quoted word to
  the last; its text therefore contains the paragraph break and the re-opening mark.
* ``QuoteSpan.cue`` is the cue verb's lemma plus its particle when it has one ("say",
  "tell", "point out"); the object ("told *the paper*") is not stored.
* ``QuoteSpan.speaker`` is the resolved speaker (a person's full name as first mentioned in the
  article, an organisation, or the subject noun phrase such as "a source");
  ``speaker_start``/``speaker_end`` locate the *local* mention that names it (the pronoun in
  "she said", the name in "Lappos told").
"""

from __future__ import annotations

import difflib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from parallax.errors import AnalysisError
from parallax.records import AnalyzedArticle, DiffKind, DiffOp, Fidelity, Quote, QuoteRendering, QuoteSpan

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

log = logging.getLogger(__name__)

__all__ = [
    "REPORTING_VERBS",
    "extract_quotes",
    "find_quote_marks",
    "find_quotes",
    "group_quotes",
    "render_against",
]

OPENING_MARKS = frozenset("“„«")
CLOSING_MARKS = frozenset("”»")
STRAIGHT_MARK = '"'
DOUBLE_MARKS = OPENING_MARKS | CLOSING_MARKS | {STRAIGHT_MARK}

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

_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj"})
_CLIMB_DEPS = frozenset({"advcl", "xcomp", "conj", "acl", "pcomp", "prep"})
_PERSON_PRONOUNS = {
    "he": "m",
    "him": "m",
    "his": "m",
    "himself": "m",
    "she": "f",
    "her": "f",
    "hers": "f",
    "herself": "f",
}
_OTHER_PRONOUNS = frozenset({"they", "them", "i", "we", "you", "it", "who", "that", "which"})
_HONORIFICS = {"mr": "m", "mr.": "m", "mrs": "f", "mrs.": "f", "ms": "f", "ms.": "f", "miss": "f"}
_NAME_TITLES = frozenset(
    [
        "mr",
        "mr.",
        "mrs",
        "mrs.",
        "ms",
        "ms.",
        "dr",
        "dr.",
        "sen",
        "sen.",
        "rep",
        "rep.",
        "gov",
        "gov.",
        "president",
        "vice",
        "former",
        "senator",
        "representative",
        "governor",
        "secretary",
        "judge",
        "justice",
        "the",
    ]
)
_WORD_RE = re.compile(r"\[[^\[\]]*\]|[^\W_]+(?:['’\-][^\W_]+)*")


# --- 1. pairing quotation marks -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkedQuote:
    """Offsets of the quoted words between a pair of marks (``start``/``end`` trimmed of spaces).

    ``closed`` is False when the quote was recovered at a paragraph end without a closing mark.
    """

    start: int
    end: int
    open_mark: int
    close_mark: int
    closed: bool = True


def _mark_role(text: str, i: int) -> str | None:
    """Whether the mark at ``i`` can open (``"open"``) or close (``"close"``) a quotation.

    Flanking decides, as in Markdown: a mark followed by a word and preceded by a space opens, one
    preceded by a word and followed by a space closes, whatever its shape (texts mix “ and ").
    Between two non-spaces, punctuation on either side decides; curly marks and guillemets fall
    back on their shape; a straight mark inside a word (``5"2``) or between spaces is ambiguous
    (``None``).
    """
    ch = text[i]
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    can_open = not nxt.isspace()
    can_close = not prev.isspace()
    if can_open and not can_close:
        return "open"
    if can_close and not can_open:
        return "close"
    if not can_open and not can_close:
        # French spacing (« mot ») or a mark standing alone: only the shape can tell
        return "open" if ch in OPENING_MARKS else "close" if ch in CLOSING_MARKS else None
    if prev in "([{—–-/:;" or prev in OPENING_MARKS:
        return "open"
    if nxt in ",.;:!?)]}—–-" or nxt in CLOSING_MARKS:
        return "close"
    if ch in OPENING_MARKS:
        return "open"
    if ch in CLOSING_MARKS:
        return "close"
    return None


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def find_quote_marks(text: str) -> list[MarkedQuote]:
    """Pair the double quotation marks of ``text`` into quotations; never raises.

    Steps:

    1. Split the text into paragraphs (lines) and classify every double mark by flanking
       (:func:`_mark_role`).
    2. Scan each paragraph with a small state machine: outside a quote an opening mark opens
       (a stray closing mark is ignored); inside, a closing mark closes. An opening mark inside a
       quote either starts a nested quotation (kept inside the outer one) or, when it follows a
       sentence end, means the closing mark was forgotten: the open quote ends there and a new
       one starts.
    3. At a paragraph end with a quote still open: when the next non-empty paragraph opens with
       a mark, the quote continues there (news convention); otherwise the quote is recovered as
       ending at the paragraph end, so an unbalanced mark never derails the following paragraphs.
    4. Drop quotations without a letter or digit.
    """
    out: list[MarkedQuote] = []
    # 1. paragraphs and mark roles
    paragraphs: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            paragraphs.append((pos, pos + len(line)))
        pos += len(line) + 1
    open_at: int | None = None  # offset of the opening mark of the current quote
    nested = False
    skip_mark: int | None = None  # the re-opening mark of a continued paragraph

    def emit(close_at: int, end: int, *, closed: bool) -> None:
        assert open_at is not None
        s, e = _trimmed(text, open_at + 1, end)
        # 4. only quotations with words
        if e > s and any(c.isalnum() for c in text[s:e]):
            out.append(MarkedQuote(start=s, end=e, open_mark=open_at, close_mark=close_at, closed=closed))

    for p_index, (p_start, p_end) in enumerate(paragraphs):
        # 2. scan the paragraph
        for i in range(p_start, p_end):
            if text[i] not in DOUBLE_MARKS or i == skip_mark:
                continue
            role = _mark_role(text, i)
            if role is None:
                continue
            if open_at is None:
                if role == "open":
                    open_at, nested = i, False
                continue
            if role == "close":
                if nested:
                    nested = False
                else:
                    emit(i, i, closed=True)
                    open_at = None
                continue
            before = text[open_at + 1 : i].rstrip()
            if before and before[-1] in ".?!" and not nested:
                emit(i, i, closed=False)
                open_at = i
            else:
                nested = True
        # 3. continue over the paragraph break, or recover
        if open_at is not None:
            nxt = paragraphs[p_index + 1] if p_index + 1 < len(paragraphs) else None
            if nxt is not None:
                first = nxt[0] + len(text[nxt[0] : nxt[1]]) - len(text[nxt[0] : nxt[1]].lstrip())
                if text[first] in DOUBLE_MARKS and _mark_role(text, first) == "open":
                    skip_mark = first
                    nested = False
                    continue
            emit(p_end, p_end, closed=False)
            open_at, nested = None, False
    return out


# --- 2. speakers and cues -------------------------------------------------------------------------


def _clean_name(text: str) -> str:
    name = re.sub(r"['’]s?$", "", text.strip())
    words = name.split()
    while len(words) > 1 and words[0].lower() in _NAME_TITLES:
        words = words[1:]
    return " ".join(words)


@dataclass
class _PersonIndex:
    """Per-article person names: surname -> full name as first mentioned, plus gender votes."""

    full: dict[str, str]
    gender: dict[str, str]

    def resolve(self, name: str) -> str:
        clean = _clean_name(name)
        words = clean.split()
        if not words:
            return name
        return self.full.get(words[-1].lower(), clean)

    def compatible(self, name: str, gender: str | None) -> bool:
        if gender is None:
            return True
        known = self.gender.get(self.resolve(name))
        return known is None or known == gender


def _build_person_index(doc: Doc, inside: list[bool]) -> _PersonIndex:
    """1. full names by surname (first multi-word mention wins); 2. gender from honorifics and the
    first gendered pronoun after a person mention (before any other person is named)."""
    full: dict[str, str] = {}
    persons = [e for e in doc.ents if e.label_ == "PERSON"]
    # 1. full names
    for ent in persons:
        words = _clean_name(ent.text).split()
        if len(words) >= 2:
            full.setdefault(words[-1].lower(), " ".join(words))
    for ent in persons:
        words = _clean_name(ent.text).split()
        if len(words) == 1:
            full.setdefault(words[0].lower(), words[0])
    index = _PersonIndex(full=full, gender={})
    # 2. gender votes: honorifics, and a subject person's next gendered pronoun
    votes: dict[str, Counter[str]] = {}
    starts = sorted((e.start, e.end) for e in persons)
    for k, ent in enumerate(persons):
        if inside[ent.start]:
            continue
        name = index.resolve(ent.text)
        box = votes.setdefault(name, Counter())
        if ent.start > 0 and doc[ent.start - 1].lower_ in _HONORIFICS:
            box[_HONORIFICS[doc[ent.start - 1].lower_]] += 3
        if not any(t.dep_ in _SUBJECT_DEPS for t in ent):
            continue
        stop = starts[k + 1][0] if k + 1 < len(starts) else len(doc)
        sent_end = ent.sent.end
        nxt_sent_end = doc[sent_end].sent.end if sent_end < len(doc) else sent_end
        for tok in doc[ent.end : min(stop, nxt_sent_end)]:
            g = _PERSON_PRONOUNS.get(tok.lower_)
            if g and not inside[tok.i]:
                box[g] += 1
                break
    for name, box in votes.items():
        if box:
            (g, n), *rest = box.most_common()
            if not rest or rest[0][1] < n:
                index.gender[name] = g
    return index


def _entity_of(tok: Token, labels: Iterable[str]) -> Span | None:
    """The entity covering ``tok`` when its label is one of ``labels``."""
    if not tok.ent_type_ or tok.ent_type_ not in set(labels):
        return None
    doc = tok.doc
    start = tok.i
    while start > 0 and doc[start].ent_iob_ == "I":
        start -= 1
    end = tok.i + 1
    while end < len(doc) and doc[end].ent_iob_ == "I":
        end += 1
    return doc[start:end]


class _Attributor:
    """Speaker finding over one document: subjects, pronoun resolution, names."""

    def __init__(self, doc: Doc, inside: list[bool]) -> None:
        self.doc = doc
        self.inside = inside
        self.persons = _build_person_index(doc, inside)
        self.person_ents = [e for e in doc.ents if e.label_ == "PERSON" and not inside[e.start]]
        self.sents = list(doc.sents)
        self.sent_of = [0] * len(doc)
        for k, sent in enumerate(self.sents):
            for i in range(sent.start, sent.end):
                self.sent_of[i] = k
        self._subjects: dict[int, list[tuple[str, int]]] = {}

    # --- names of noun phrases

    def person_at(self, tok: Token) -> tuple[str, int, int] | None:
        """The person token ``tok`` names: a PERSON entity, or a proper noun (often mislabelled
        ORG by small models) whose word is a surname of a person named elsewhere in the article."""
        ent = _entity_of(tok, ("PERSON",))
        if ent is not None:
            return self.persons.resolve(ent.text), ent.start_char, ent.end_char
        if tok.pos_ == "PROPN":
            key = _clean_name(tok.text).lower()
            if key in self.persons.full:
                ent = _entity_of(tok, ("ORG", "NORP", "GPE", "FAC", "PRODUCT", "WORK_OF_ART"))
                lo, hi = (ent.start_char, ent.end_char) if ent is not None else (tok.idx, tok.idx + len(tok))
                return self.persons.full[key], lo, hi
        return None

    def name_of(self, tok: Token) -> tuple[str | None, int, int]:
        """The speaker named by subject token ``tok``: (name, local start, local end)."""
        doc = self.doc
        if tok.lower_ in ("who", "that") and tok.head.head is not tok.head:
            tok = tok.head.head  # relative clause: "Milano, who said ..." -> Milano
        if tok.pos_ == "PRON" or tok.lower_ in _PERSON_PRONOUNS:
            span = (tok.idx, tok.idx + len(tok.text))
            gender = _PERSON_PRONOUNS.get(tok.lower_)
            if gender is None:
                return tok.text, *span
            return self.resolve_pronoun(tok, gender) or tok.text, *span
        found = self.person_at(tok)
        if found is None:
            # "Biden spokesman Bill Russo": a person named in compounds/appositions of the head
            for child in tok.children:
                e = _entity_of(child, ("PERSON",)) if child.dep_ in ("compound", "appos", "flat") else None
                if e is not None and (e.start > tok.i or child.dep_ == "appos" or e.end == tok.i):
                    found = self.persons.resolve(e.text), e.start_char, e.end_char
                    break
        if found is not None:
            return found
        ent = _entity_of(tok, ("ORG", "NORP", "GPE"))
        if ent is not None:
            return ent.text, ent.start_char, ent.end_char
        left = tok.left_edge.i
        for t in doc[tok.left_edge.i : tok.i]:
            if t.dep_ in ("prep", "punct", "cc", "relcl", "acl", "appos"):
                left = t.i + 1
        phrase = doc[left : tok.i + 1]
        return phrase.text, phrase.start_char, phrase.end_char

    # --- pronouns

    def subjects(self, k: int) -> list[tuple[str, int]]:
        """Named (resolved) subjects of sentence ``k`` outside quotes, as (name, token index)."""
        if k in self._subjects:
            return self._subjects[k]
        self._subjects[k] = []  # guards against cycles while resolving
        found: list[tuple[str, int]] = []
        sent = self.sents[k]
        for tok in sent:
            if tok.dep_ not in _SUBJECT_DEPS or self.inside[tok.i]:
                continue
            if tok.lower_ in _PERSON_PRONOUNS:
                name = self.resolve_pronoun(tok, _PERSON_PRONOUNS[tok.lower_])
                if name:
                    found.append((name, tok.i))
            elif person := self.person_at(tok):
                found.append((person[0], tok.i))
        root_first = sorted(found, key=lambda x: (self.doc[x[1]].head.dep_ != "ROOT", x[1]))
        self._subjects[k] = root_first
        return root_first

    def resolve_pronoun(self, tok: Token, gender: str) -> str | None:
        """The person a he/she pronoun refers to.

        Steps: 1. a person subject earlier in the same sentence, the closest first; 2. person
        subjects of the three previous sentences (the root's subject first); 3. the most recent
        person mentioned before the pronoun. Quoted words never provide antecedents, and every
        candidate must agree in gender when the person's gender is known.
        """
        k = self.sent_of[tok.i]
        # 1. same sentence
        for name, _ in sorted(self.subjects_before(k, tok.i), key=lambda x: -x[1]):
            if self.persons.compatible(name, gender):
                return self._learn(name, gender)
        # 2. previous sentences
        for j in range(k - 1, max(-1, k - 4), -1):
            for name, _ in self.subjects(j):
                if self.persons.compatible(name, gender):
                    return self._learn(name, gender)
        # 3. the latest compatible mention
        for ent in reversed(self.person_ents):
            if ent.end <= tok.i and self.persons.compatible(ent.text, gender):
                return self.persons.resolve(ent.text)
        return None

    def _learn(self, name: str, gender: str) -> str:
        """A subject antecedent of a gendered pronoun tells that person's gender for later ones."""
        self.persons.gender.setdefault(name, gender)
        return name

    def subjects_before(self, k: int, i: int) -> list[tuple[str, int]]:
        out = []
        for tok in self.sents[k]:
            if tok.i >= i:
                break
            person = self.person_at(tok) if tok.dep_ in _SUBJECT_DEPS and not self.inside[tok.i] else None
            if person is not None:
                out.append((person[0], tok.i))
        return out

    # --- cues

    def speaker_of_cue(self, verb: Token) -> tuple[str | None, int | None, int | None]:
        """Subject of ``verb``, climbing to governing verbs for participles and conjuncts."""
        node = verb
        for _ in range(4):
            for child in node.children:
                if child.dep_ in _SUBJECT_DEPS and not self.inside[child.i]:
                    return self.name_of(child)
                if child.dep_ == "agent":
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            return self.name_of(grand)
            if node.dep_ == "relcl" and node.head.pos_ in ("PROPN", "NOUN"):
                return self.name_of(node.head)
            if node.dep_ not in _CLIMB_DEPS or node.head is node:
                break
            node = node.head
        return None, None, None


def _cue_text(verb: Token) -> str:
    particles = [c.lower_ for c in verb.children if c.dep_ == "prt"]
    return " ".join([verb.lemma_.lower(), *particles])


def _window_tokens(doc: Doc, att: _Attributor, q_first: int, q_last: int) -> list[Token]:
    """Tokens of the sentences around a quote: the sentences holding its marks, and the
    neighbouring sentence on each side when the quote starts or ends a sentence."""
    k0, k1 = att.sent_of[q_first], att.sent_of[q_last]
    lo = k0 - 1 if att.sents[k0].start >= q_first - 1 and k0 > 0 else k0
    hi = k1 + 1 if att.sents[k1].end <= q_last + 2 and k1 + 1 < len(att.sents) else k1
    return [t for k in range(lo, hi + 1) for t in att.sents[k]]


def extract_quotes(art: AnalyzedArticle) -> list[QuoteSpan]:
    """Every direct quotation in one article, with speaker and cue; never raises on odd marks.

    Steps:

    1. Pair quotation marks (:func:`find_quote_marks`) and drop quotations in shouted lines
       (promo headlines in capitals are boilerplate, not reporting).
    2. Map each quotation to its tokens; tokens inside any quotation never act as cue or speaker.
    3. Cue: reporting verbs outside quotations in the surrounding sentences of the same paragraph,
       those syntactically linked to the quote first (the quote inside the verb's subtree, or the
       verb attached to a word of the quote), then by distance. "according to X" counts as a cue.
    4. Speaker: the cue's subject (climbing from participles and conjuncts to the governing verb;
       pronouns resolved, person names expanded to the full name); with no cue, "X: “...”" names X.
    5. Quotes still without a speaker take the speaker of the previous quote when it ends at most
       two sentences earlier (a quote continuing after "she said."), else the person subject of the
       previous sentence, else the speaker of the next quote in the same paragraph.
    """
    text = art.article.text
    doc = art.doc
    # 1. pair marks, drop shouted lines
    marked = [
        m for m in find_quote_marks(text) if not _shouted(text, m) and not _is_title(text[m.start : m.end])
    ]
    if not marked:
        return []
    # 2. tokens inside quotations
    inside = [False] * len(doc)
    tok_ranges: list[tuple[int, int]] = []
    for m in marked:
        span = doc.char_span(m.open_mark, m.close_mark + 1, alignment_mode="expand")
        if span is None or len(span) == 0:
            span = doc.char_span(m.start, m.end, alignment_mode="expand")
        first, last = (span.start, span.end - 1) if span is not None and len(span) else (0, 0)
        tok_ranges.append((first, last))
        for i in range(first, last + 1):
            inside[i] = True
    att = _Attributor(doc, inside)
    results: list[tuple[str | None, str | None, int | None, int | None]] = []
    for m, (first, last) in zip(marked, tok_ranges, strict=True):
        para_lo = text.rfind("\n", 0, m.open_mark) + 1
        para_hi = text.find("\n", m.close_mark)
        para_hi = len(text) if para_hi < 0 else para_hi
        window = [
            t for t in _window_tokens(doc, att, first, last) if not inside[t.i] and para_lo <= t.idx < para_hi
        ]
        speaker: str | None = None
        cue: str | None = None
        s_start: int | None = None
        s_end: int | None = None
        # 3. cue candidates
        candidates: list[tuple[int, int, Token]] = []
        for tok in window:
            if tok.lemma_.lower() in REPORTING_VERBS and tok.pos_ in ("VERB", "AUX"):
                dist = min(abs(tok.i - first), abs(tok.i - last))
                linked = any(first <= a.i <= last for a in tok.ancestors) or any(
                    tok in doc[i].ancestors for i in range(first, last + 1)
                )
                candidates.append((0 if linked else 1, dist, tok))
            elif tok.lower_ == "according" and (i := tok.i + 1) < len(doc) and doc[i].lower_ == "to":
                objs = [c for c in doc[i].children if c.dep_ == "pobj"]
                if objs:
                    dist = min(abs(tok.i - first), abs(tok.i - last))
                    candidates.append((0, dist, objs[0]))
        candidates.sort(key=lambda c: (c[0], c[1], c[2].i))
        # 4. speaker of the best cue that has one
        for _, _, tok in candidates:
            if tok.dep_ == "pobj":
                speaker, s_start, s_end = att.name_of(tok)
                cue = "according to"
                break
            name, ns, ne = att.speaker_of_cue(tok)
            if cue is None:
                cue = _cue_text(tok)
            if name:
                speaker, s_start, s_end, cue = name, ns, ne, _cue_text(tok)
                break
        if speaker is None:
            speaker, s_start, s_end = _colon_speaker(doc, att, m, first)
        results.append((speaker, cue, s_start, s_end))
    # 5. speakers from neighbouring quotes and sentences
    spans: list[QuoteSpan] = []
    for n, m in enumerate(marked):
        speaker, cue, s_start, s_end = results[n]
        if speaker is None:
            speaker = _inherited_speaker(att, results, tok_ranges, n, text, marked)
        spans.append(
            QuoteSpan(
                article=art.id,
                text=text[m.start : m.end],
                start=m.start,
                end=m.end,
                speaker=speaker,
                cue=cue,
                sentence=_sentence_index(art, m.start),
                speaker_start=s_start,
                speaker_end=s_end,
            )
        )
    return spans


def _inherited_speaker(
    att: _Attributor,
    results: Sequence[tuple[str | None, str | None, int | None, int | None]],
    tok_ranges: Sequence[tuple[int, int]],
    n: int,
    text: str,
    marked: Sequence[MarkedQuote],
) -> str | None:
    first, _ = tok_ranges[n]
    k = att.sent_of[first]
    if n > 0:
        prev_speaker = results[n - 1][0]
        prev_last = tok_ranges[n - 1][1]
        if prev_speaker and k - att.sent_of[prev_last] <= 2:
            return prev_speaker
    if k > 0:
        for name, _ in att.subjects(k - 1):
            return name
    if n + 1 < len(results):
        nxt_speaker = results[n + 1][0]
        gap = text[marked[n].close_mark : marked[n + 1].open_mark]
        if nxt_speaker and "\n" not in gap:
            return nxt_speaker
    return None


def _colon_speaker(
    doc: Doc, att: _Attributor, m: MarkedQuote, first: int
) -> tuple[str | None, int | None, int | None]:
    """'X: “...”' with no verb: the noun phrase right before the colon speaks."""
    before = doc.text[: m.open_mark].rstrip()
    if not before.endswith(":"):
        return None, None, None
    colon = doc.char_span(len(before) - 1, len(before), alignment_mode="expand")
    if colon is None or colon.start == 0:
        return None, None, None
    tok = doc[colon.start - 1]
    if att.inside[tok.i] or tok.pos_ not in ("PROPN", "NOUN", "PRON"):
        return None, None, None
    while tok.dep_ in ("compound", "flat") and tok.head.i > tok.i and tok.head.i < colon.start:
        tok = tok.head
    return att.name_of(tok)


_MINOR_WORDS = frozenset(
    ["a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"]
)


def _is_title(quoted: str) -> bool:
    """A quoted name of a show, group or work ("Dateline on Assignment"): every word capitalised
    (minor words aside), at most eight words, no sentence-final punctuation."""
    words = re.findall(r"[^\W_]+(?:['’][^\W_]+)*", quoted)
    if not words or len(words) > 8 or quoted.rstrip()[-1:] in ".?!":
        return False
    content = [w for w in words if w.lower() not in _MINOR_WORDS]
    return (
        bool(content)
        and all(w[0].isupper() or w[0].isdigit() for w in content)
        and (len(content) > 1 or not words[0].isupper() or len(words[0]) > 1)
    )


def _shouted(text: str, m: MarkedQuote) -> bool:
    """True when the line holding the quote is mostly capitals (a promo headline)."""
    lo = text.rfind("\n", 0, m.open_mark) + 1
    hi = text.find("\n", m.close_mark)
    line = text[lo : len(text) if hi < 0 else hi]
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _sentence_index(art: AnalyzedArticle, offset: int) -> int | None:
    for sent in art.sentences:
        if sent.start <= offset < sent.end:
            return sent.index
    return None


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


def find_quotes(analyzed: Sequence[AnalyzedArticle]) -> list[Quote]:
    """Extract the quotations of every article and group them across articles (stage 5)."""
    spans: list[QuoteSpan] = []
    for art in analyzed:
        found = extract_quotes(art)
        log.debug("%s: %d quotations", art.id, len(found))
        spans.extend(found)
    return group_quotes(spans, {a.id: a.article.text for a in analyzed})
