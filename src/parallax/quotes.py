"""Stage 5: direct quotations, their speakers, and how each outlet renders them.

Three steps, each a plain function:

* :func:`find_quote_marks` pairs double quotation marks in a text (no spaCy needed);
* :func:`extract_quotes` turns the pairs of one analysed article into :class:`QuoteSpan` records
  with a speaker and a cue verb read off the dependency parse;
* :func:`group_quotes` merges the same quotation across articles into one :class:`Quote` with
  one :class:`QuoteRendering` per article, each classed by its fidelity to the fullest wording.

:func:`find_quotes` groups the quotations of a story; :func:`find_attributions` (what
:mod:`parallax.pipeline` calls) adds every attribution, direct, indirect ("X said that ...",
"according to X") or mixed, found by :func:`extract_attributions` with a cue table learned on
PolNeAR train (:func:`load_cue_table`), groups them into statements across outlets
(:func:`group_statements`), counts whose voice each article carries (:func:`count_voices`), and
lists the quoted words that are not quotations (titles, scare quotes, terms and nicknames).

Conventions chosen here (they matter to downstream readers):

* Only *double* marks delimit quotations (“ ” " « » „). Single marks inside a double quotation
  are part of it; single-quoted headline fragments are not quotations.
* A quotation running over paragraphs (the news convention: the paragraph does not close the
  quote and the next paragraph opens with a mark) is *one* span from the first quoted word to
  the last; its text therefore contains the paragraph break and the re-opening mark.
* ``QuoteSpan.cue`` is the cue verb's lemma plus its particle when it has one ("say",
  "tell", "point out"); the object ("told *the paper*") is not stored.
* ``QuoteSpan.speaker`` is the resolved speaker (a person's full name as first mentioned in the
  article, or a named organisation or group); a speaker that cannot be resolved to a name (a
  pronoun, "a source", "Her comments") is None, its words kept in ``speaker_phrase``;
  ``speaker_start``/``speaker_end`` locate the *local* mention that names it (the pronoun in
  "she said", the name in "Lappos told").
"""

from __future__ import annotations

import bisect
import difflib
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parallax.errors import AnalysisError
from parallax.framing import PERSON_ROLE_NOUNS
from parallax.records import (
    AnalyzedArticle,
    Attribution,
    AttributionKind,
    Attributions,
    DiffKind,
    DiffOp,
    Fidelity,
    NonQuote,
    NonQuoteKind,
    Quote,
    QuoteRendering,
    QuoteSpan,
    Statement,
    Voice,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

log = logging.getLogger(__name__)

__all__ = [
    "REPORTING_VERBS",
    "CueTable",
    "SpeakerContext",
    "count_voices",
    "cue_candidates",
    "extract_attributions",
    "extract_quotes",
    "find_attributions",
    "find_quote_marks",
    "find_quotes",
    "group_quotes",
    "group_statements",
    "join_quote_fragments",
    "load_cue_table",
    "render_against",
    "speaker_context",
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


#: Frequent English given names by sex, written for Parallax from general knowledge (no list was
#: copied). Names commonly given to both sexes (Chris, Jordan, Lindsey, Pat ...) are left out.
_FEMALE_NAMES = frozenset(
    [
        "abigail",
        "alice",
        "alicia",
        "alyssa",
        "amanda",
        "amber",
        "amy",
        "andrea",
        "angela",
        "ann",
        "anna",
        "anne",
        "ashley",
        "barbara",
        "betty",
        "beverly",
        "brenda",
        "brittany",
        "carly",
        "carol",
        "caroline",
        "carolyn",
        "catherine",
        "charlotte",
        "chelsea",
        "cheryl",
        "christina",
        "christine",
        "claire",
        "cynthia",
        "danielle",
        "deborah",
        "debbie",
        "debra",
        "denise",
        "diana",
        "diane",
        "donna",
        "doris",
        "dorothy",
        "elizabeth",
        "ellen",
        "emily",
        "emma",
        "evelyn",
        "frances",
        "gloria",
        "grace",
        "hannah",
        "heather",
        "helen",
        "hillary",
        "hilary",
        "ivanka",
        "jacqueline",
        "jane",
        "janet",
        "janice",
        "jean",
        "jennifer",
        "jessica",
        "jill",
        "joan",
        "joyce",
        "judith",
        "judy",
        "julia",
        "julie",
        "karen",
        "kate",
        "katherine",
        "kathleen",
        "kathryn",
        "katie",
        "kayla",
        "kelly",
        "kimberly",
        "kirsten",
        "laura",
        "lauren",
        "linda",
        "lisa",
        "lori",
        "lucy",
        "madison",
        "margaret",
        "maria",
        "marie",
        "marilyn",
        "martha",
        "mary",
        "maxine",
        "megan",
        "meghan",
        "megyn",
        "melania",
        "melissa",
        "michelle",
        "nancy",
        "natalie",
        "nicole",
        "nikki",
        "olivia",
        "pamela",
        "patricia",
        "rachel",
        "rebecca",
        "ruth",
        "samantha",
        "sandra",
        "sara",
        "sarah",
        "sharon",
        "shirley",
        "sophia",
        "stephanie",
        "susan",
        "tammy",
        "teresa",
        "theresa",
        "valerie",
        "victoria",
        "virginia",
        "wendy",
    ]
)
_MALE_NAMES = frozenset(
    [
        "aaron",
        "adam",
        "al",
        "alan",
        "albert",
        "alexander",
        "andrew",
        "anthony",
        "arthur",
        "barack",
        "ben",
        "benjamin",
        "bernie",
        "bill",
        "billy",
        "bob",
        "bobby",
        "brandon",
        "brian",
        "bruce",
        "bryan",
        "carl",
        "charles",
        "chuck",
        "dan",
        "daniel",
        "dave",
        "david",
        "dennis",
        "dick",
        "donald",
        "douglas",
        "dylan",
        "edward",
        "eric",
        "ethan",
        "eugene",
        "frank",
        "fred",
        "gary",
        "george",
        "gerald",
        "greg",
        "gregory",
        "harold",
        "harry",
        "henry",
        "jack",
        "jacob",
        "james",
        "jason",
        "jeb",
        "jeff",
        "jeffrey",
        "jeremy",
        "jerry",
        "jim",
        "jimmy",
        "joe",
        "john",
        "jonathan",
        "joseph",
        "joshua",
        "juan",
        "justin",
        "keith",
        "ken",
        "kenneth",
        "kevin",
        "kyle",
        "larry",
        "lawrence",
        "louis",
        "marco",
        "mark",
        "matthew",
        "michael",
        "mike",
        "mitch",
        "mitt",
        "nathan",
        "newt",
        "nicholas",
        "noah",
        "patrick",
        "paul",
        "peter",
        "philip",
        "ralph",
        "randy",
        "raymond",
        "richard",
        "rick",
        "robert",
        "roger",
        "ron",
        "ronald",
        "roy",
        "rudy",
        "russell",
        "ryan",
        "sam",
        "samuel",
        "scott",
        "sean",
        "stephen",
        "steve",
        "steven",
        "ted",
        "terry",
        "thomas",
        "tim",
        "timothy",
        "tom",
        "tony",
        "tyler",
        "vincent",
        "walter",
        "wayne",
        "william",
    ]
)
#: Role nouns that tell a person's sex ("actress Ann Lee", "Tom Hill, a spokesman").
_ROLE_GENDER = {
    **dict.fromkeys(
        [
            "actress",
            "congresswoman",
            "spokeswoman",
            "chairwoman",
            "businesswoman",
            "councilwoman",
            "queen",
            "princess",
            "woman",
            "mother",
            "wife",
            "daughter",
            "sister",
            "girl",
            "grandmother",
            "widow",
            "girlfriend",
            "lady",
            "aunt",
            "niece",
        ],
        "f",
    ),
    **dict.fromkeys(
        [
            "congressman",
            "spokesman",
            "businessman",
            "councilman",
            "king",
            "prince",
            "man",
            "father",
            "husband",
            "son",
            "brother",
            "boy",
            "grandfather",
            "widower",
            "boyfriend",
            "uncle",
            "nephew",
        ],
        "m",
    ),
}
_MAIN_DEPS = frozenset({"ROOT", "conj", "parataxis"})


def _role_weight(tok: Token) -> tuple[int, bool, bool]:
    """Salience weight of a mention by its grammatical role, and whether it is a (main) subject.

    Subjects of a main clause weigh most, then subjects of embedded clauses, passive agents and
    objects, possessors, and objects of prepositions least (after Lappin and Leass, 1994). An
    apposition takes the role of the noun it describes ("Ann Lee, an aide, said"). One misparse
    is repaired: in "Following Flores' story, Ann Lee, an aide, told ..." the small model makes
    the participle the subject and hangs the name as an apposition on the fronted phrase's
    object; a name set off that way before a root verb with no nominal subject is the subject.
    """
    orig = tok
    while tok.dep_ in ("appos", "flat") and tok.head is not tok:
        tok = tok.head
    if orig is not tok and tok.dep_ == "pobj":
        root = tok
        while root.dep_ != "ROOT" and root.head is not root:
            root = root.head
        nominal_subject = any(
            c.dep_ in _SUBJECT_DEPS and c.pos_ in ("NOUN", "PROPN", "PRON") for c in root.children
        )
        if orig.i < root.i and root.pos_ in ("VERB", "AUX") and not nominal_subject:
            return 80, True, True
    dep = tok.dep_
    if dep in _SUBJECT_DEPS:
        main = tok.head.dep_ in _MAIN_DEPS
        return (80 if main else 60), True, main
    if dep == "pobj" and tok.head.dep_ == "agent":
        return 55, False, False
    if dep in ("dobj", "dative", "attr", "oprd"):
        return 50, False, False
    if dep == "poss":
        return 30, False, False
    if dep == "pobj":
        return 20, False, False
    return 25, False, False


@dataclass(frozen=True, slots=True)
class _Mention:
    """One mention of a person outside quotations: a name, a description or a resolved pronoun."""

    start: int  # token index where the mention starts
    head: int  # its head token
    name: str
    sent: int
    weight: int
    subject: bool
    main: bool


@dataclass
class SpeakerContext:
    """What a whole story tells about its persons, shared by the speaker finding of its articles.

    ``full`` maps a surname to the full name first used for it in the story (so "said Russo" in one
    article is "Bill Russo" when another article names him in full); ``gender`` holds each person's
    sex ("m"/"f") as voted by the story's honorifics, given names, gendered role nouns and pronouns;
    ``mentions`` counts a person's mentions (story-level salience); ``label_words`` holds the words
    of the labels the story gives a person ("former vice president"), used to resolve descriptions.
    """

    full: dict[str, str] = field(default_factory=dict)
    gender: dict[str, str] = field(default_factory=dict)
    mentions: Counter[str] = field(default_factory=Counter)
    label_words: dict[str, set[str]] = field(default_factory=dict)
    label_heads: set[str] = field(default_factory=set)
    local: dict[str, dict[str, str]] = field(default_factory=dict)

    def resolve(self, name: str, local: Mapping[str, str] | None = None) -> str:
        """Full name of a person mention: multi-word names stand for themselves (titles removed);
        a single word is looked up as a surname in ``local`` (the article's names), then the story."""
        clean = _clean_name(name)
        words = clean.split()
        if len(words) != 1:
            return clean or name
        key = words[0].lower()
        if local is not None and key in local:
            return local[key]
        return self.full.get(key, clean)


def _full_names(doc: Doc) -> dict[str, str]:
    """Surname -> full name as first mentioned in ``doc`` (a single-word name maps to itself)."""
    full: dict[str, str] = {}
    persons = [e for e in doc.ents if e.label_ == "PERSON"]
    for ent in persons:
        words = _clean_name(ent.text).split()
        if len(words) >= 2:
            full.setdefault(words[-1].lower(), " ".join(words))
    for ent in persons:
        words = _clean_name(ent.text).split()
        if len(words) == 1:
            full.setdefault(words[0].lower(), words[0])
    return full


def speaker_context(analyzed: Sequence[AnalyzedArticle]) -> SpeakerContext:
    """Collect the story-level facts about persons that speaker resolution uses.

    Steps:

    1. Full names by surname, first multi-word mention in the story wins.
    2. Gender votes per person: an honorific before a mention ("Ms. Lee", 3 votes), a gendered role
       noun beside a name ("actress Ann Lee", "Tom Hill, a spokesman", 2 votes), the first
       gendered pronoun after a subject mention before anyone else is named (1 vote), and the
       given name of the full name (2 votes). Titles such as "Rep." or "Sen." give no gender.
    3. Mention counts per person (story salience).
    4. Label words per person, from the premodifier and apposition labels of
       :mod:`parallax.framing` ("former vice president Joe Biden" -> former, vice, president).
    """
    from parallax.framing import apposition_labels, collect_people, person_mentions, premodifier_labels

    ctx = SpeakerContext()
    local = ctx.local
    # 1. full names
    for art in analyzed:
        local[art.id] = _full_names(art.doc)
        for surname, name in local[art.id].items():
            known = ctx.full.get(surname)
            if known is None or len(known.split()) < 2 <= len(name.split()):
                ctx.full[surname] = name
    # 2. gender votes, 3. mention counts
    votes: dict[str, Counter[str]] = {}
    for art in analyzed:
        doc = art.doc
        persons = [e for e in doc.ents if e.label_ == "PERSON"]
        starts = [e.start for e in persons]
        for k, ent in enumerate(persons):
            name = ctx.resolve(ent.text, local[art.id])
            ctx.mentions[name] += 1
            box = votes.setdefault(name, Counter())
            if ent.start > 0 and doc[ent.start - 1].lower_ in _HONORIFICS:
                box[_HONORIFICS[doc[ent.start - 1].lower_]] += 3
            root = ent.root
            beside = [c for c in root.children if c.dep_ in ("compound", "appos") and c.i < ent.start]
            beside += [c for c in root.children if c.dep_ == "appos" and c.i >= ent.end]
            if root.dep_ == "appos":
                beside.append(root.head)
            for tok in beside:
                g = _ROLE_GENDER.get(tok.lemma_.lower())
                if g:
                    box[g] += 2
            if root.dep_ not in _SUBJECT_DEPS:
                continue
            stop = starts[k + 1] if k + 1 < len(starts) else len(doc)
            nxt_sent_end = doc[ent.sent.end].sent.end if ent.sent.end < len(doc) else ent.sent.end
            for tok in doc[ent.end : min(stop, nxt_sent_end)]:
                if tok.lower_ in _PERSON_PRONOUNS and tok.dep_ in _SUBJECT_DEPS:
                    box[_PERSON_PRONOUNS[tok.lower_]] += 1
                    break
    for name, box in votes.items():
        words = name.split()
        if len(words) >= 2:
            first = words[0].lower()
            if first in _FEMALE_NAMES:
                box["f"] += 2
            elif first in _MALE_NAMES:
                box["m"] += 2
        if box:
            (g, n), *rest = box.most_common()
            if not rest or rest[0][1] < n:
                ctx.gender[name] = g
    # 4. label words
    people = collect_people(analyzed)
    for art in analyzed:
        mentions = person_mentions(art.doc, people)
        tokens = {i for m in mentions for i in range(m.start, m.end)}
        for m in mentions:
            name = ctx.resolve(m.person, local[art.id])
            box_words = ctx.label_words.setdefault(name, set())
            for lab in premodifier_labels(art, m, tokens) + apposition_labels(art, m, tokens):
                span = art.doc.char_span(lab.start, lab.end, alignment_mode="expand")
                if span is not None:
                    box_words.update(t.lemma_.lower() for t in span if t.pos_ in ("NOUN", "PROPN", "ADJ"))
                    ctx.label_heads.add(span.root.lemma_.lower())
    return ctx


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
    """Speaker finding over one article: subjects, names, descriptions and pronoun resolution."""

    def __init__(
        self,
        art: AnalyzedArticle,
        inside: list[bool],
        story: SpeakerContext,
        *,
        window: int = 3,
        decay: float = 0.5,
        story_weight: float = 10.0,
        named_in_quote: float = 0.3,
        matrix_bonus: float = 150.0,
    ) -> None:
        doc = art.doc
        self.doc = doc
        self.text = art.article.text  # == doc.text, which joins every token on each access
        self.inside = inside
        self.story = story
        self.local = story.local.get(art.id) or _full_names(doc)
        self.gender = dict(story.gender)
        self.window, self.decay = window, decay
        self.story_weight, self.named_in_quote = story_weight, named_in_quote
        self.matrix_bonus = matrix_bonus
        # sentences: the article's repaired ranges (never across a paragraph), as token spans
        self.sents: list[Span] = []
        for s in art.sentences:
            span = doc.char_span(s.start, s.end, alignment_mode="expand")
            if span is not None and len(span) and (not self.sents or span.start >= self.sents[-1].end):
                self.sents.append(span)
        if not self.sents:
            self.sents = list(doc.sents)
        self.sent_of = [0] * len(doc)
        k = 0
        for i in range(len(doc)):
            while k + 1 < len(self.sents) and self.sents[k + 1].start <= i:
                k += 1
            self.sent_of[i] = k
        self._person_ents = sorted((e.start, self.resolve(e.text)) for e in doc.ents if e.label_ == "PERSON")
        self.mentions = self._collect_mentions()
        self._starts = [m.start for m in self.mentions]
        self._mention_sents = [m.sent for m in self.mentions]

    # --- names of noun phrases

    def resolve(self, name: str) -> str:
        return self.story.resolve(name, self.local)

    def compatible(self, name: str, gender: str | None) -> bool:
        known = self.gender.get(name)
        return gender is None or known is None or known == gender

    def person_at(self, tok: Token) -> tuple[str, int, int] | None:
        """The person token ``tok`` names: a PERSON entity, or a proper noun (often mislabelled
        ORG by small models) whose word is a surname of a person named in the article or story."""
        ent = _entity_of(tok, ("PERSON",))
        if ent is not None:
            # the small model sometimes swallows a fronted participle: "Following Flores"
            first = ent.start
            while first < ent.end - 1 and ent.doc[first].pos_ in ("VERB", "ADP", "DET", "SCONJ"):
                first += 1
            ent = ent.doc[first : ent.end]
            return self.resolve(ent.text), ent.start_char, ent.end_char
        if tok.pos_ == "PROPN":
            key = _clean_name(tok.text).lower()
            if key in self.local or key in self.story.full:
                ent = _entity_of(tok, ("ORG", "NORP", "GPE", "FAC", "PRODUCT", "WORK_OF_ART"))
                lo, hi = (ent.start_char, ent.end_char) if ent is not None else (tok.idx, tok.idx + len(tok))
                return self.resolve(tok.text), lo, hi
        return None

    def describe(self, tok: Token) -> str | None:
        """The person a definite description headed by ``tok`` refers to ("the former vice
        president", "the actress"), when the story labels someone with its head noun.

        Candidates are the persons whose label words contain the head noun; the one sharing most
        words with the description wins, then the one mentioned last before it, then the most
        mentioned in the story.
        """
        if tok.pos_ not in ("NOUN", "PROPN") or tok.tag_ in ("NNS", "NNPS") or tok.ent_type_ == "PERSON":
            return None
        dets = [c for c in tok.children if c.dep_ == "det"]
        if not dets or dets[0].lower_ != "the" or any(c.dep_ == "poss" for c in tok.children):
            return None
        lemma = tok.lemma_.lower()
        if (
            lemma not in PERSON_ROLE_NOUNS
            and lemma not in _ROLE_GENDER
            and lemma not in self.story.label_heads
        ):
            return None
        words = {t.lemma_.lower() for t in tok.lefts if t.dep_ in ("amod", "compound")} | {lemma}
        last: dict[str, int] = {}
        for m in self.mentions:
            if m.start >= tok.i:
                break
            last[m.name] = m.start
        scored = [
            (len(words & label), last.get(name, -1), self.story.mentions[name], name)
            for name, label in self.story.label_words.items()
            if lemma in label
        ]
        return max(scored)[3] if scored else None

    def name_of(self, tok: Token, *, avoid: frozenset[str] = frozenset()) -> tuple[str | None, int, int]:
        """The speaker named by subject token ``tok``: (name, local start, local end).

        ``avoid`` holds persons named inside the quotation: a pronoun seldom refers to them.
        """
        doc = self.doc
        if (
            tok.lower_ in ("who", "that", "which")
            and tok.head.dep_ == "relcl"
            and tok.head.head is not tok.head
        ):
            # relative clause: "Milano, who said ..." -> Milano, located at the local "who"
            name, start, end = self.name_of(tok.head.head, avoid=avoid)
            if _named_speaker(doc, name, start, end)[0] is None:
                return name, start, end
            return name, tok.idx, tok.idx + len(tok.text)
        if tok.pos_ == "PRON" or tok.lower_ in _PERSON_PRONOUNS:
            span = (tok.idx, tok.idx + len(tok.text))
            gender = _PERSON_PRONOUNS.get(tok.lower_)
            if gender is None:
                return tok.text, *span
            return self.resolve_pronoun(tok.i, gender, avoid=avoid) or tok.text, *span
        found = self.person_at(tok)
        if found is None:
            # "Biden spokesman Bill Russo": a person named in compounds/appositions of the head
            for child in tok.children:
                e = _entity_of(child, ("PERSON",)) if child.dep_ in ("compound", "appos", "flat") else None
                if e is not None and (e.start > tok.i or child.dep_ == "appos" or e.end == tok.i):
                    found = self.resolve(e.text), e.start_char, e.end_char
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
        return self.describe(tok) or phrase.text, phrase.start_char, phrase.end_char

    # --- salience and pronouns

    def _collect_mentions(self) -> list[_Mention]:
        """Mentions of persons outside quotations in text order, gendered pronouns resolved on the
        way (each against the mentions before it, so a chain "Lee ... she ... she" stays on Lee)."""
        from spacy.attrs import DEP, LOWER, POS
        from spacy.parts_of_speech import NOUN, PROPN

        doc, inside = self.doc, self.inside
        names: dict[int, tuple[str, Token]] = {}
        for ent in doc.ents:
            if ent.label_ == "PERSON" and not inside[ent.start]:
                # the small model sometimes swallows a fronted participle: "Following Flores"
                first = ent.start
                while first < ent.end - 1 and doc[first].pos_ in ("VERB", "ADP", "DET", "SCONJ"):
                    first += 1
                span = doc[first : ent.end]
                names[first] = (self.resolve(span.text), span.root)
        # token attributes as arrays: iterating a long Doc token by token is slow
        strings = doc.vocab.strings
        pronouns = {strings.add(p) for p in _PERSON_PRONOUNS if not p.endswith("self")}
        subject_deps = {strings.add(d) for d in _SUBJECT_DEPS}
        attrs = doc.to_array([LOWER, POS, DEP]).tolist() if len(doc) else []
        wanted: list[int] = []
        for i, (lower, pos, dep) in enumerate(attrs):
            if inside[i]:
                continue
            if pos == PROPN and i not in names:
                tok = doc[i]
                key = _clean_name(tok.text).lower()
                known = key in self.local or key in self.story.full
                # a surname inside a longer proper name ("Biden Foundation") is not a mention
                inner = tok.dep_ in ("compound", "flat") and tok.head.pos_ == "PROPN"
                if tok.ent_type_ != "PERSON" and known and not inner:
                    names[i] = (self.resolve(tok.text), tok)
            elif lower in pronouns or (pos == NOUN and dep in subject_deps):
                wanted.append(i)
        order = sorted(set(wanted) | set(names))
        out: list[_Mention] = []
        self.mentions = out
        self._starts = []
        for i in order:
            tok = doc[i]
            name: str | None = None
            head = tok
            if i in names:
                name, head = names[i]
            elif tok.lower_ in _PERSON_PRONOUNS and not tok.lower_.endswith("self"):
                name = self._rank(i, _PERSON_PRONOUNS[tok.lower_], frozenset())
                if name is not None:
                    self.gender.setdefault(name, _PERSON_PRONOUNS[tok.lower_])
            elif tok.dep_ in _SUBJECT_DEPS and tok.pos_ == "NOUN":
                name = self.describe(tok)
            if name is None:
                continue
            weight, subject, main = _role_weight(head)
            out.append(_Mention(i, head.i, name, self.sent_of[i], weight, subject, main))
            self._starts.append(i)
        return out

    def _rank(self, i: int, gender: str, avoid: frozenset[str]) -> str | None:
        """The most salient compatible person before token ``i``.

        Steps: 1. every mention in the pronoun's sentence (before it) and the ``window`` sentences
        before adds ``(100 + role weight) * decay ** distance`` to its person, and the main-clause
        subject of the pronoun's own sentence ``matrix_bonus`` more ("Lee told the paper that
        Biden had touched her": the matrix subject is the preferred antecedent, and a person
        mentioned often in earlier sentences must not outweigh it); 2. persons of known
        other gender are out; 3. story salience adds ``story_weight * log2(1 + mentions)``, persons
        named inside the quotation being attributed are damped; 4. with no candidate in the window,
        the person mentioned most often before ``i`` (compatible) is taken.
        """
        k = self.sent_of[i]
        hi = bisect.bisect_left(self._starts, i)
        scores: dict[str, float] = {}
        # 1. recency-weighted salience in the window, 2. gender filter
        j = hi - 1
        while j >= 0 and self.mentions[j].sent >= k - self.window:
            m = self.mentions[j]
            j -= 1
            if m.sent > k or not self.compatible(m.name, gender):
                continue
            bonus = self.matrix_bonus if (m.sent == k and m.main and m.subject) else 0.0
            scores[m.name] = scores.get(m.name, 0.0) + (100 + m.weight + bonus) * self.decay ** (k - m.sent)
        # 3. story salience and names inside the quotation
        for name in scores:
            scores[name] += self.story_weight * math.log2(1 + self.story.mentions[name])
            if name in avoid:
                scores[name] *= self.named_in_quote
        if scores:
            return max(scores.items(), key=lambda x: (x[1], -len(x[0])))[0]
        # 4. the most frequent earlier person
        counts = Counter(m.name for m in self.mentions[:hi] if self.compatible(m.name, gender))
        return counts.most_common(1)[0][0] if counts else None

    def resolve_pronoun(self, i: int, gender: str, *, avoid: frozenset[str] = frozenset()) -> str | None:
        """The person the he/she pronoun at token ``i`` refers to (see :meth:`_rank`)."""
        return self._rank(i, gender, avoid)

    def subjects(self, k: int) -> list[tuple[str, int, int]]:
        """Person subjects of sentence ``k`` outside quotes, main-clause subjects first:
        (name, first token, head token). Mentions are in text order, so a bisection finds them."""
        lo = bisect.bisect_left(self._mention_sents, k)
        hi = bisect.bisect_right(self._mention_sents, k)
        found = [m for m in self.mentions[lo:hi] if m.subject]
        return [(m.name, m.start, m.head) for m in sorted(found, key=lambda m: (not m.main, m.start))]

    def named_in(self, first: int, last: int) -> frozenset[str]:
        """Persons named between tokens ``first`` and ``last`` (a quotation), by a PERSON entity or
        by the surname of a person named elsewhere."""
        lo = bisect.bisect_left(self._person_ents, (first, ""))
        hi = bisect.bisect_right(self._person_ents, (last, "\uffff"))
        out = {name for _, name in self._person_ents[lo:hi]}
        for tok in self.doc[first : last + 1]:
            if tok.text[:1].isupper() and tok.pos_ in ("PROPN", "NOUN"):
                key = _clean_name(tok.text).lower()
                if key in self.local or key in self.story.full:
                    out.add(self.resolve(tok.text))
        return frozenset(out)

    # --- cues

    def speaker_of_cue(
        self, verb: Token, *, avoid: frozenset[str] = frozenset()
    ) -> tuple[str | None, int | None, int | None]:
        """Subject of ``verb``, climbing to governing verbs for participles and conjuncts.

        When a verb has two subjects (a misparse of "Following the report, spokesman Ann Lee
        said"), a person subject is preferred, then the one nearest the verb.
        """
        node = verb
        for _ in range(4):
            subjects = [c for c in node.children if c.dep_ in _SUBJECT_DEPS and not self.inside[c.i]]
            if subjects:
                best = min(
                    subjects,
                    key=lambda c: (
                        self.person_at(c) is None and c.lower_ not in _PERSON_PRONOUNS,
                        abs(c.i - node.i),
                    ),
                )
                return self.name_of(best, avoid=avoid)
            for child in node.children:
                if child.dep_ == "agent":
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            return self.name_of(grand, avoid=avoid)
            if node.dep_ == "relcl" and node.head.pos_ in ("PROPN", "NOUN"):
                return self.name_of(node.head, avoid=avoid)
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


def extract_quotes(art: AnalyzedArticle, *, story: SpeakerContext | None = None) -> list[QuoteSpan]:
    """Every direct quotation in one article, with speaker and cue; never raises on odd marks.

    Steps:

    1. Pair quotation marks (:func:`find_quote_marks`) and drop quotations in shouted lines
       (promo headlines in capitals are boilerplate, not reporting).
    2. Map each quotation to its tokens; tokens inside any quotation never act as cue or speaker.
    3. Cue: reporting verbs outside quotations in the surrounding sentences of the same paragraph,
       those syntactically linked to the quote first (the quote inside the verb's subtree, or the
       verb attached to a word of the quote), then by distance. "according to X" counts as a cue.
    4. Speaker: the cue's subject (climbing from participles and conjuncts to the governing verb);
       a he/she pronoun goes to the most salient compatible person (:meth:`_Attributor._rank`:
       grammatical role, recency, story frequency, gender; persons named inside the quotation
       damped); a definite description ("said the former governor") to the person the story
       labels with its head noun; a surname to the full name used in the article or the story
       (``story``, from :func:`speaker_context`). With no cue, "X: “...”" names X.
    5. Quotes still without a speaker take the speaker of the previous quote when it ends at most
       two sentences earlier (a quote continuing after "she said."), else the person subject of the
       previous sentence, else the speaker of the next quote in the same paragraph.
    """
    return _extract(_prepare(art, story))


@dataclass
class _Prepared:
    """One article's quotation marks mapped to tokens, and its speaker finder."""

    art: AnalyzedArticle
    marked: list[MarkedQuote]
    tok_ranges: list[tuple[int, int]]
    inside: list[bool]
    att: _Attributor
    non_quotes: list[NonQuote]
    cue_lemmas: frozenset[str] = frozenset()


def _prepare(art: AnalyzedArticle, story: SpeakerContext | None) -> _Prepared:
    """Steps 1-2 of :func:`extract_quotes`, shared with :func:`extract_attributions`."""
    text = art.article.text
    doc = art.doc
    # 1. pair marks, drop shouted lines, set titles apart
    marked: list[MarkedQuote] = []
    non_quotes: list[NonQuote] = []
    for m in find_quote_marks(text):
        if _shouted(text, m):
            continue
        if _is_nickname(text, m):
            non_quotes.append(NonQuote(art.id, "term", text[m.start : m.end], m.start, m.end))
            continue
        if _is_title(text[m.start : m.end]):
            non_quotes.append(NonQuote(art.id, "title", text[m.start : m.end], m.start, m.end))
            continue
        marked.append(m)
    # 2. tokens inside quotations (titles included: they never act as cue or speaker)
    inside = [False] * len(doc)
    tok_ranges: list[tuple[int, int]] = []
    for m in marked:
        first, last = _token_range(doc, m)
        tok_ranges.append((first, last))
        for i in range(first, last + 1):
            inside[i] = True
    for nq in non_quotes:
        span = doc.char_span(nq.start, nq.end, alignment_mode="expand")
        if span is not None:
            for i in range(span.start, span.end):
                inside[i] = True
    att = _Attributor(art, inside, story if story is not None else speaker_context([art]))
    return _Prepared(art, marked, tok_ranges, inside, att, non_quotes, _speech_lemmas())


def _token_range(doc: Doc, m: MarkedQuote) -> tuple[int, int]:
    span = doc.char_span(m.open_mark, m.close_mark + 1, alignment_mode="expand")
    if span is None or len(span) == 0:
        span = doc.char_span(m.start, m.end, alignment_mode="expand")
    return (span.start, span.end - 1) if span is not None and len(span) else (0, 0)


def _extract(prep: _Prepared) -> list[QuoteSpan]:
    """Steps 3-5 of :func:`extract_quotes`."""
    art, marked, tok_ranges, inside, att = prep.art, prep.marked, prep.tok_ranges, prep.inside, prep.att
    text = art.article.text
    doc = art.doc
    if not marked:
        return []
    results: list[tuple[str | None, str | None, int | None, int | None]] = []
    governed: list[bool] = []
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
            if tok.pos_ in ("VERB", "AUX") and (
                tok.lemma_.lower() in REPORTING_VERBS or tok.lemma_.lower() in prep.cue_lemmas
            ):
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
        governed.append(bool(candidates) and candidates[0][0] == 0)
        # 4. speaker of the best cue that has one
        avoid = att.named_in(first, last)
        for _, _, tok in candidates:
            if tok.dep_ == "pobj":
                speaker, s_start, s_end = att.name_of(tok, avoid=avoid)
                cue = "according to"
                break
            name, ns, ne = att.speaker_of_cue(tok, avoid=avoid)
            if cue is None:
                cue = _cue_text(tok)
            if name:
                speaker, s_start, s_end, cue = name, ns, ne, _cue_text(tok)
                break
        if speaker is None:
            speaker, s_start, s_end = _colon_speaker(doc, text, att, m, first)
            governed[-1] = governed[-1] or speaker is not None
        if speaker is None:
            speaker, s_start, s_end = _trailing_speaker(doc, att, last)
            governed[-1] = governed[-1] or speaker is not None
        results.append((speaker, cue, s_start, s_end))
    # 5. speakers from neighbouring quotes and sentences; unresolved phrases are not names
    named: list[tuple[str | None, str | None, int | None, int | None]] = []
    phrases: list[str | None] = []
    for speaker, cue, s_start, s_end in results:
        name, phrase = _named_speaker(doc, speaker, s_start, s_end)
        named.append((name, cue, s_start, s_end))
        phrases.append(phrase)
    spans: list[QuoteSpan] = []
    sentence_of = _sentence_finder(art)
    for n, m in enumerate(marked):
        speaker, cue, s_start, s_end = named[n]
        # words set off by the writer, not reported: no cue governs them (step 1 of the module)
        kind = _non_quote_kind(text, m, linked=governed[n])
        if kind is not None:
            prep.non_quotes.append(NonQuote(art.id, kind, text[m.start : m.end], m.start, m.end))
            continue
        if speaker is None and phrases[n] is None:
            speaker, s_start, s_end = _inherited_speaker(att, named, tok_ranges, n, text, marked)
        spans.append(
            QuoteSpan(
                article=art.id,
                text=text[m.start : m.end],
                start=m.start,
                end=m.end,
                speaker=speaker,
                cue=cue,
                sentence=sentence_of(m.start),
                speaker_start=s_start,
                speaker_end=s_end,
                speaker_phrase=phrases[n],
            )
        )
    return spans


#: Words before a quoted term that name it as a term or nickname, not as someone's words.
_TERM_CUES = (
    "so-called",
    "so called",
    "dubbed",
    "nicknamed",
    "known as",
    "the term",
    "the word",
    "the phrase",
    "the slogan",
    "the hashtag",
    "branded",
    "labeled",
    "labelled",
)


def _non_quote_kind(text: str, m: MarkedQuote, *, linked: bool) -> NonQuoteKind | None:
    """``term`` for a quoted nickname or named term ("Donald “The Donald” Trump", "the so-called
    “deal”"), ``scare`` for one or two quoted words no cue governs, else None (a quotation)."""
    quoted = text[m.start : m.end]
    n_words = len(_WORD_RE.findall(quoted))
    if n_words > 4 or quoted.rstrip()[-1:] in ".?!":
        return None
    before = text[max(0, m.open_mark - 14) : m.open_mark].lower().rstrip()
    if _is_nickname(text, m) or before.endswith(_TERM_CUES):
        return "term"
    if n_words <= 2 and not linked:
        return "scare"
    return None


def _is_nickname(text: str, m: MarkedQuote) -> bool:
    """A quoted nickname inside a name: a capitalised word right before the opening mark and
    right after the closing one ("Dwayne “The Rock” Johnson")."""
    before = text[max(0, m.open_mark - 30) : m.open_mark]
    after = text[m.close_mark + 1 : m.close_mark + 3]
    prev_word = re.findall(r"[^\W_]+$", before.rstrip()) if before.endswith(" ") else []
    return bool(prev_word) and prev_word[0][:1].isupper() and after[:1] == " " and after[1:2].isupper()


_POSSESSIVES = frozenset({"his", "her", "their", "its", "our", "my", "your"})
_NAME_ENTS = ("PERSON", "ORG", "NORP", "GPE")


def _named_speaker(
    doc: Doc, speaker: str | None, start: int | None, end: int | None
) -> tuple[str | None, str | None]:
    """(speaker name, speaker phrase): a speaker is a name only when it was resolved (a pronoun or
    description to a person, a surname to a full name) or its local words are headed by a named
    person or group; anything else ("they", "Her comments", "a source", "many others", "a White
    House official") is kept as a phrase.
    """
    if speaker is None or start is None or end is None:
        return speaker, None
    # the local words from their tokens (``doc.text`` would join the whole document every call)
    span = doc.char_span(start, end) or doc.char_span(start, end, alignment_mode="expand")
    if span is None or not len(span):
        return speaker, None
    local = span.text
    if speaker != local:
        return speaker, None  # resolved to a name written elsewhere
    first = span[0].lower_
    if first in _POSSESSIVES or any(
        t.lower_ in _PERSON_PRONOUNS or t.lower_ in _OTHER_PRONOUNS for t in span
    ):
        return None, local
    # the head word must be the name: "a White House official", "Clinton’s aides" and "a Fox News
    # poll" hold a name but describe someone (or something) else
    root = span.root
    if root.ent_type_ in _NAME_ENTS:
        return speaker, None
    if root.pos_ == "PROPN" and not root.ent_type_:
        return speaker, None  # a proper name the model did not label ("Rourke")
    return None, local


def _inherited_speaker(
    att: _Attributor,
    results: Sequence[tuple[str | None, str | None, int | None, int | None]],
    tok_ranges: Sequence[tuple[int, int]],
    n: int,
    text: str,
    marked: Sequence[MarkedQuote],
) -> tuple[str | None, int | None, int | None]:
    """Step 5 of :func:`extract_quotes`: (speaker, start, end of the mention it is taken from)."""
    first, _ = tok_ranges[n]
    k = att.sent_of[first]
    if n > 0:
        prev_speaker, _, p_start, p_end = results[n - 1]
        prev_last = tok_ranges[n - 1][1]
        if prev_speaker and k - att.sent_of[prev_last] <= 2:
            return prev_speaker, p_start, p_end
    if k > 0:
        for name, start, head in att.subjects(k - 1):
            doc = att.doc
            lo, hi = min(start, head), max(start, head)
            return name, doc[lo].idx, doc[hi].idx + len(doc[hi])
    if n + 1 < len(results):
        nxt_speaker, _, n_start, n_end = results[n + 1]
        gap = text[marked[n].close_mark : marked[n + 1].open_mark]
        if nxt_speaker and "\n" not in gap:
            return nxt_speaker, n_start, n_end
    return None, None, None


_NP_START = frozenset({"DET", "PROPN", "NOUN", "PRON", "ADJ", "NUM"})


def _trailing_speaker(
    doc: Doc, att: _Attributor, last: int, *, reach: int = 6
) -> tuple[str | None, int | None, int | None]:
    """'“...,” beamed Ann Lee' or '“...,” the crowd chanted' with a verb the model does not
    take as a cue: right after a quotation ending in , ? or !, a verb next to a noun phrase
    (either order, within ``reach`` tokens of the closing mark) makes the noun phrase the speaker."""
    if last < 1 or doc[last - 1].text not in (",", "?", "!", "…"):
        return None, None, None
    window = [t for t in doc[last + 1 : last + 1 + reach] if not att.inside[t.i]]
    if not window or window[0].is_sent_start:
        return None, None, None
    first = window[0]
    if first.pos_ == "VERB":
        # inverted: the noun phrase after the verb, up to its head
        for tok in window[1:]:
            if tok.pos_ in ("PROPN", "NOUN", "PRON"):
                while tok.dep_ in ("compound", "flat") and tok.head.i > tok.i:
                    tok = tok.head
                return att.name_of(tok)
            if tok.pos_ not in _NP_START:
                break
        return None, None, None
    if first.pos_ in _NP_START:
        for tok in window[1:]:
            if tok.pos_ == "VERB":
                head = doc[tok.i - 1]
                if head.pos_ in ("PROPN", "NOUN", "PRON"):
                    return att.name_of(head)
                return None, None, None
    return None, None, None


def _colon_speaker(
    doc: Doc, text: str, att: _Attributor, m: MarkedQuote, first: int
) -> tuple[str | None, int | None, int | None]:
    """'X: “...”' with no verb: the noun phrase right before the colon speaks."""
    before = text[: m.open_mark].rstrip()
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


def _sentence_finder(art: AnalyzedArticle) -> Callable[[int], int | None]:
    """A lookup of the sentence index holding a character offset (a bisection, not a scan)."""
    sents = sorted(art.sentences, key=lambda s: s.start)
    starts = [s.start for s in sents]

    def find(offset: int) -> int | None:
        k = bisect.bisect_right(starts, offset) - 1
        return sents[k].index if k >= 0 and offset < sents[k].end else None

    return find


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


def find_quotes(
    analyzed: Sequence[AnalyzedArticle], *, canonical: Callable[[str], str] | None = None
) -> list[Quote]:
    """Extract the quotations of every article and group them across articles (stage 5).

    ``canonical`` (see :func:`find_attributions`) maps each speaker to the story's canonical name.
    """
    spans: list[QuoteSpan] = []
    story = speaker_context(analyzed)
    for art in analyzed:
        found = extract_quotes(art, story=story)
        log.debug("%s: %d quotations", art.id, len(found))
        spans.extend(_canonical_speakers(found, canonical))
    return group_quotes(spans, {a.id: a.article.text for a in analyzed})


# --- 4. attributions: direct, indirect and mixed ----------------------------------------------------

#: Learned cue table: per "lemma|frame", how often a word in that frame was an attribution cue in
#: the PolNeAR training split (counts computed by Parallax; see ``parallax eval quotes --learn``).
CUE_TABLE_PATH = Path(__file__).parent / "data" / "attribution_cues.json"

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


def join_quote_fragments(
    spans: Sequence[QuoteSpan], text: str, *, max_gap_words: int = 6
) -> list[list[QuoteSpan]]:
    """Group an article's quotations into the statements they are fragments of.

    "“A,” she said, “B.”" is one statement cut by its cue: two quotations in one paragraph join
    when the words between them are at most ``max_gap_words`` (the cue and speaker only), the
    later one has no speaker of its own or the same one, and it is not a new cue's quotation.
    """
    groups: list[list[QuoteSpan]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if groups:
            prev = groups[-1][-1]
            gap = text[prev.end : span.start]
            words = len(_WORD_RE.findall(gap))
            same = span.speaker is None or span.speaker == prev.speaker
            attributed = prev.speaker is not None or prev.speaker_phrase is not None
            if "\n" not in gap and 0 < words <= max_gap_words and same and attributed:
                groups[-1].append(span)
                continue
        groups.append([span])
    return groups


def _direct_attribution(art: AnalyzedArticle, group: Sequence[QuoteSpan]) -> Attribution:
    first, last = group[0], group[-1]
    text = art.article.text
    lead = next((s for s in group if s.speaker is not None or s.speaker_phrase is not None), first)
    return Attribution(
        article=art.id,
        kind="direct",
        content=text[first.start : last.end],
        start=first.start,
        end=last.end,
        speaker=lead.speaker,
        cue=lead.cue,
        speaker_start=lead.speaker_start,
        speaker_end=lead.speaker_end,
        speaker_phrase=lead.speaker_phrase,
        sentence=first.sentence,
    )


def extract_attributions(
    art: AnalyzedArticle,
    *,
    story: SpeakerContext | None = None,
    table: CueTable | None = None,
    max_gap_words: int = 6,
) -> tuple[list[QuoteSpan], list[Attribution], list[NonQuote]]:
    """Direct quotations, all attributions (direct, indirect, mixed) and non-quotations of one
    article.

    Steps:

    1. Direct quotations as in :func:`extract_quotes`; fragments of one statement around their
       cue join into one direct attribution (:func:`join_quote_fragments`).
    2. Cue candidates (:func:`cue_candidates`) outside quotations are scored by the learned cue
       table; those at or above its threshold are kept, except a candidate whose cue lies inside
       the content of a better one (PolNeAR's attributions do not nest).
    3. A kept candidate whose content words are all quoted is the cue of a direct quotation
       (already found); one whose content is partly quoted is ``mixed`` and absorbs the direct
       attributions inside it; otherwise it is ``indirect``.
    4. The speaker is the cue's subject, resolved as for quotations (pronouns, descriptions,
       surnames); the object of "according to" for that frame.
    5. Quoted words that are not quotations are returned apart (found in step 1 and by
       :func:`_non_quote_kind`): titles, nicknames and named terms, and scare quotes (one or two
       words no cue governs).
    """
    prep = _prepare(art, story)
    doc, att, inside = art.doc, prep.att, prep.inside
    text = art.article.text
    table = table if table is not None else load_cue_table()
    # 1. direct quotations and their statements
    quotes = _extract(prep)
    directs = [
        _direct_attribution(art, g) for g in join_quote_fragments(quotes, text, max_gap_words=max_gap_words)
    ]
    # 2. scored cue candidates, outermost first among equals
    scored = []
    for cand in cue_candidates(doc):
        if inside[cand.cue]:
            continue
        w = table.weight(cand.key(doc))
        if w >= table.threshold:
            scored.append((w, cand))
    scored.sort(key=lambda x: (-x[0], x[1].content[0] - x[1].content[1], x[1].cue))
    # candidates nest only within a sentence: the check stays local (no pass over all pairs)
    kept_in: dict[int, list[CueCandidate]] = {}
    for _, cand in scored:
        box = kept_in.setdefault(att.sent_of[cand.cue], [])
        if any(k.content[0] <= cand.cue < k.content[1] for k in box):
            continue
        box[:] = [k for k in box if not cand.content[0] <= k.cue < cand.content[1]] + [cand]
    kept = [c for box in kept_in.values() for c in box]
    # 3. kinds, 4. speakers
    out: list[Attribution] = []
    direct_starts = [d.start for d in directs]
    absorbed: set[int] = set()
    sentence_of = _sentence_finder(art)
    for cand in sorted(kept, key=lambda c: c.content[0]):
        lo, hi = cand.content
        words = [i for i in range(lo, hi) if not doc[i].is_punct]
        n_in = sum(inside[i] for i in words)
        if not words or n_in == len(words):
            continue
        kind: AttributionKind = "mixed" if n_in else "indirect"
        tok = doc[cand.cue]
        if cand.frame == "according":
            objs = [c for c in doc[cand.cue + 1].children if c.dep_ == "pobj"]
            name, s_start, s_end = att.name_of(objs[0]) if objs else (None, None, None)
            cue_end = doc[cand.cue + 1].idx + len(doc[cand.cue + 1])
            cue = "according to"
        else:
            name, s_start, s_end = att.speaker_of_cue(tok)
            cue_end = tok.idx + len(tok)
            cue = _cue_text(tok)
        speaker, phrase = _named_speaker(doc, name, s_start, s_end)
        start, end = doc[lo].idx, doc[hi - 1].idx + len(doc[hi - 1])
        if kind == "mixed":
            lo_d, hi_d = bisect.bisect_left(direct_starts, start), bisect.bisect_left(direct_starts, end)
            held = directs[lo_d:hi_d]
            absorbed.update(range(lo_d, hi_d))
            # the content runs to the end of the quotations it holds (their closing words)
            end = max([end, *(d.end for d in held)])
            if speaker is None and phrase is None and held:
                # no subject for the cue: the speaker found for the quotation it holds
                speaker, phrase = held[0].speaker, held[0].speaker_phrase
                s_start, s_end = held[0].speaker_start, held[0].speaker_end
        out.append(
            Attribution(
                article=art.id,
                kind=kind,
                content=text[start:end],
                start=start,
                end=end,
                speaker=speaker,
                cue=cue,
                cue_start=tok.idx,
                cue_end=cue_end,
                speaker_start=s_start,
                speaker_end=s_end,
                speaker_phrase=phrase,
                sentence=sentence_of(start),
            )
        )
    out += [d for n, d in enumerate(directs) if n not in absorbed]
    out.sort(key=lambda a: (a.start, a.end))
    # 5. the quoted words that are not quotations
    return quotes, out, list(prep.non_quotes)


def quoted_token_mask(doc: Doc) -> list[bool]:
    """For each token of ``doc``, whether it lies inside a quotation (:func:`find_quote_marks`)."""
    inside = [False] * len(doc)
    for m in find_quote_marks(doc.text):
        first, last = _token_range(doc, m)
        for i in range(first, last + 1):
            inside[i] = True
    return inside


# --- 5. the story: statements across outlets, and whose voice each outlet carries ----------------------


def _content_keys(text: str) -> set[str]:
    from parallax.features import STOP_WORDS

    return {k for k in (fold_word(w) for w in _WORD_RE.findall(text)) if len(k) > 2 and k not in STOP_WORDS}


def group_statements(
    attributions: Sequence[Attribution],
    quotes: Sequence[Quote] = (),
    *,
    order: Mapping[str, int] | None = None,
    min_shared: float = 0.4,
    min_shared_unknown: float = 0.6,
    min_words: int = 3,
    max_df: float = 0.25,
) -> list[Statement]:
    """Group the attributions of several articles into statements.

    Steps:

    1. Fullest contents first (ties: article order, offset), so the result does not depend on the
       input order.
    2. Content words (stop words dropped, spelling folded) are indexed; an attribution joins the
       group sharing the largest fraction of its words through the index (no pass over all
       pairs): at least ``min_words`` words and ``min_shared`` of the shorter content when the
       speakers agree, ``min_shared_unknown`` when either is unknown, never when both are named
       and differ. Words found in more than ``max_df`` of the attributions are not counted. A
       group takes one attribution per article.
    3. A statement's speaker is the majority named speaker; ``quote`` links it to the grouped
       :class:`Quote` holding one of its direct renderings.
    """
    rank = dict(order or {})
    for a in attributions:
        rank.setdefault(a.article, len(rank))
    # 1. fullest first; words in more than ``max_df`` of the story's attributions (the story's
    # protagonists) say nothing about which statement it is
    keyed = [(a, _content_keys(a.content)) for a in attributions]
    df = Counter(k for _, keys in keyed for k in keys)
    limit = max(3.0, max_df * len(keyed))
    items = sorted(
        ((a, {k for k in keys if df[k] <= limit}) for a, keys in keyed),
        key=lambda x: (-len(x[1]), rank[x[0].article], x[0].start),
    )
    # 2. indexed grouping
    groups: list[list[tuple[Attribution, set[str]]]] = []
    index: dict[str, list[int]] = {}
    for att, keys in items:
        shared: Counter[int] = Counter()
        for k in keys:
            shared.update(index.get(k, ()))
        best: int | None = None
        best_frac = 0.0
        for g, n in shared.items():
            ref, ref_keys = groups[g][0]
            frac = n / max(1, min(len(keys), len(ref_keys)))
            if n < min_words or (ref.speaker and att.speaker and ref.speaker != att.speaker):
                continue
            need = min_shared if ref.speaker and att.speaker else min_shared_unknown
            if frac >= need and frac > best_frac and all(a.article != att.article for a, _ in groups[g]):
                best, best_frac = g, frac
        if best is None:
            best = len(groups)
            groups.append([])
            for k in keys:
                index.setdefault(k, []).append(best)
        groups[best].append((att, keys))
    # 3. speakers and quote links
    quote_of: dict[tuple[str, int], str] = {}
    for q in quotes:
        for r in q.renderings:
            quote_of[(r.article, r.start)] = q.id
    built = []
    for group in groups:
        members = sorted((a for a, _ in group), key=lambda a: (rank[a.article], a.start))
        votes = Counter(a.speaker for a in members if a.speaker)
        speaker = max(sorted(votes), key=lambda s: votes[s]) if votes else None
        quote = next(
            (quote_of[(a.article, a.start)] for a in members if (a.article, a.start) in quote_of), None
        )
        built.append(
            ((rank[members[0].article], members[0].start), members, group[0][0].content, speaker, quote)
        )
    built.sort(key=lambda b: b[0])
    return [
        Statement(id=f"s{n}", speaker=speaker, text=text, attributions=tuple(members), quote=quote)
        for n, (_, members, text, speaker, quote) in enumerate(built, start=1)
    ]


def count_voices(attributions: Sequence[Attribution], outlets: Mapping[str, str]) -> list[Voice]:
    """Attributions per speaker per article: ``direct`` counts quotations (mixed ones included:
    they quote words), ``indirect`` paraphrases; unnamed sources are counted under None."""
    counts: dict[tuple[str, str | None], list[int]] = {}
    for a in attributions:
        box = counts.setdefault((a.article, a.speaker), [0, 0])
        box[a.kind == "indirect"] += 1
    order = {aid: n for n, aid in enumerate(outlets)}
    return [
        Voice(article=aid, outlet=outlets.get(aid, aid), speaker=speaker, direct=d, indirect=i)
        for (aid, speaker), (d, i) in sorted(
            counts.items(), key=lambda x: (order.get(x[0][0], len(order)), x[0][1] is None, x[0][1] or "")
        )
    ]


def _canonical_speakers(
    items: Sequence[QuoteSpan] | Sequence[Attribution], canonical: Callable[[str], str] | None
) -> list[Any]:
    if canonical is None:
        return list(items)
    return [replace(x, speaker=canonical(x.speaker)) if x.speaker else x for x in items]


def find_attributions(
    analyzed: Sequence[AnalyzedArticle],
    *,
    canonical: Callable[[str], str] | None = None,
    table: CueTable | None = None,
) -> Attributions:
    """The quotes stage: quotations grouped across articles, every attribution, statements across
    outlets, voices per outlet and the quoted words that are not quotations.

    ``canonical`` maps a speaker name to the story's canonical name for that person ("Rice" ->
    "Susan E. Rice"); it is applied to every speaker before grouping and counting.
    """
    story = speaker_context(analyzed)
    spans: list[QuoteSpan] = []
    attributions: list[Attribution] = []
    non_quotes: list[NonQuote] = []
    for art in analyzed:
        q, a, nq = extract_attributions(art, story=story, table=table)
        log.debug("%s: %d quotations, %d attributions", art.id, len(q), len(a))
        spans += _canonical_speakers(q, canonical)
        attributions += _canonical_speakers(a, canonical)
        non_quotes += nq
    texts = {a.id: a.article.text for a in analyzed}
    quotes = group_quotes(spans, texts)
    order = {aid: n for n, aid in enumerate(texts)}
    return Attributions(
        quotes=tuple(quotes),
        attributions=tuple(attributions),
        statements=tuple(group_statements(attributions, quotes, order=order)),
        voices=tuple(count_voices(attributions, {a.id: a.article.outlet for a in analyzed})),
        non_quotes=tuple(non_quotes),
    )
