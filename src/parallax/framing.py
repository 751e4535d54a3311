"""Stage 7, framing: how each outlet labels people, attributes speech, and loads its wording.

Three things per article, all pointing at character offsets of the cleaned text:

* **labels** an outlet applies to a person, canonicalised across the story ("Biden", "Joe Biden"
  and "Vice President Joe Biden" are all "Joe Biden"):

  - ``premodifier``: the chain of words right before a name that modify it ("Left-wing Hollywood
    activist Alyssa Milano"; with a coordination, the whole chain and each conjunct). Titles
    ("Vice President", "Rep.", "former") are kept as premodifiers on purpose: which title an
    outlet chooses ("former vice president" or "Vice President") is itself a framing choice;
  - ``apposition``: a noun phrase set off beside the name ("Amy Lappos, a former congressional
    aide,"; "Biden's first accuser, Lucy Flores");
  - ``role``: a noun phrase that refers back to a person without naming them: a definite phrase
    headed by a person-role noun ("the actress"), or a possessive phrase naming someone by their
    relation to another person ("Barack Obama's number 2");

* **attribution verbs**: verbs introducing reported speech, counted by lemma and grouped as
  ``neutral`` or ``loaded`` with the lexicon below;
* **loaded wording** spans (:mod:`parallax.loaded`) and their density per 1,000 words.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from parallax.entities import HONORIFICS, TITLES, PeopleIndex, PersonMention
from parallax.loaded import LoadedWordingDetector, is_word, load_default
from parallax.records import (
    AnalyzedArticle,
    Attribution,
    AttributionVerb,
    Framing,
    Label,
    LoadedDensity,
    LoadedSpan,
    Mention,
    Quote,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

log = logging.getLogger(__name__)

# --- lexicons (written for Parallax, licence-clean) ----------------------------------------------

#: Report verbs that present speech without judging it.
NEUTRAL_REPORT_VERBS = frozenset(
    [
        "say",
        "tell",
        "write",
        "add",
        "state",
        "report",
        "explain",
        "announce",
        "describe",
        "respond",
        "reply",
        "answer",
        "ask",
        "comment",
        "testify",
        "recount",
        "tweet",
        "post",
        "mention",
        "quote",
        "inform",
    ]
)
#: Report verbs that colour the speech: they cast doubt on it ("claim", "allege"), present it as a
#: concession or confession ("admit", "concede"), as fact ("note", "point out", "reveal"), or add
#: the speaker's attitude or vehemence ("insist", "blast", "boast", "slam").
LOADED_REPORT_VERBS = frozenset(
    [
        "claim",
        "allege",
        "admit",
        "concede",
        "confess",
        "insist",
        "blast",
        "slam",
        "boast",
        "brag",
        "complain",
        "whine",
        "gush",
        "rant",
        "rail",
        "fume",
        "scoff",
        "sneer",
        "lash",
        "accuse",
        "charge",
        "contend",
        "assert",
        "maintain",
        "proclaim",
        "tout",
        "trumpet",
        "declare",
        "note",
        "reveal",
        "acknowledge",
        "point",
        "argue",
        "warn",
        "vow",
        "threaten",
        "demand",
        "lament",
        "grumble",
        "snap",
        "retort",
        "deny",
        "dismiss",
        "admonish",
        "decry",
        "denounce",
        "condemn",
        "praise",
        "hail",
        "lambaste",
        "attack",
    ]
)
REPORT_VERBS = NEUTRAL_REPORT_VERBS | LOADED_REPORT_VERBS

#: Nouns that name a person by occupation, office or role; used to recognise role phrases that
#: refer back to someone ("the actress", "the senator"). Extended per story by the head nouns
#: of the premodifier and apposition labels found in it.
PERSON_ROLE_NOUNS = frozenset(
    [
        "actor",
        "actress",
        "activist",
        "advocate",
        "aide",
        "adviser",
        "advisor",
        "analyst",
        "author",
        "ambassador",
        "attorney",
        "candidate",
        "celebrity",
        "chairman",
        "chairwoman",
        "chair",
        "chief",
        "commander",
        "commentator",
        "congressman",
        "congresswoman",
        "contender",
        "critic",
        "deputy",
        "director",
        "diplomat",
        "donor",
        "economist",
        "executive",
        "founder",
        "governor",
        "host",
        "judge",
        "journalist",
        "justice",
        "lawmaker",
        "lawyer",
        "leader",
        "legislator",
        "manager",
        "mayor",
        "minister",
        "nominee",
        "official",
        "officer",
        "owner",
        "politician",
        "president",
        "premier",
        "prosecutor",
        "representative",
        "reporter",
        "secretary",
        "senator",
        "singer",
        "socialite",
        "speaker",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "star",
        "strategist",
        "student",
        "teacher",
        "victim",
        "veteran",
        "accuser",
        "accused",
        "suspect",
        "defendant",
        "plaintiff",
        "witness",
        "comedian",
        "rapper",
        "musician",
        "billionaire",
        "businessman",
        "businesswoman",
        "mogul",
        "entrepreneur",
        "chancellor",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "bishop",
        "priest",
        "coach",
        "player",
        "incumbent",
        "challenger",
        "frontrunner",
        "deputy",
        "lieutenant",
        "sheriff",
        "general",
        "colonel",
        "captain",
        "superintendent",
        "commissioner",
        "councilman",
        "councilwoman",
        "delegate",
        "envoy",
        "dictator",
        "autocrat",
        "strongman",
        "despot",
        "tyrant",
        "monarch",
        "emperor",
    ]
)
#: Head nouns of rank expressions ("the number two", "Obama's No. 2"): they name a person when
#: a numeral modifies them.
RANK_NOUNS = frozenset({"number", "no."})
#: Nouns that describe a person without being a role worth resolving on its own ("the mother" is
#: too vague to name someone): together with :data:`PERSON_ROLE_NOUNS` they are the heads an
#: apposition must have ("Tom Hill, a former Navy pilot,").
PERSON_NOUNS = PERSON_ROLE_NOUNS | frozenset(
    [
        "pilot",
        "doctor",
        "nurse",
        "professor",
        "scientist",
        "researcher",
        "engineer",
        "farmer",
        "worker",
        "employee",
        "staffer",
        "intern",
        "volunteer",
        "member",
        "resident",
        "native",
        "citizen",
        "graduate",
        "mother",
        "father",
        "wife",
        "husband",
        "son",
        "daughter",
        "brother",
        "sister",
        "friend",
        "colleague",
        "partner",
        "ally",
        "rival",
        "opponent",
        "supporter",
        "head",
        "ceo",
        "model",
        "writer",
        "producer",
        "filmmaker",
        "editor",
        "columnist",
        "anchor",
        "correspondent",
        "soldier",
        "agent",
        "detective",
        "investigator",
        "counsel",
        "consultant",
        "assistant",
        "man",
        "woman",
        "mom",
        "dad",
        "democrat",
        "republican",
        "conservative",
        "liberal",
        "progressive",
        "independent",
        "survivor",
        "whistleblower",
        "protester",
        "voter",
        "fan",
        "founder",
        "co-founder",
        "cofounder",
        "creator",
        "pioneer",
        "icon",
        "figure",
        "personality",
        "person",
        "individual",
    ]
)
#: Endings of agent nouns ("novelist", "historian", "chairperson", "nominee"), accepted as person
#: nouns without a lexicon entry.
PERSON_SUFFIXES = ("ist", "ian", "man", "woman", "person", "ee")
#: Words with an agent-noun ending that name no person ("committee", "guarantee").
NOT_PERSON_NOUNS = frozenset(
    {"committee", "guarantee", "degree", "decree", "coffee", "jubilee", "pedigree", "marquee", "toffee"}
)
#: Pronoun-like heads that describe a person through their ``of`` phrase ("one of the founders").
PARTITIVE_HEADS = frozenset({"one", "some", "each", "member", "part"})
#: A party-state tag after a legislator's name: "D-Conn.", "(R-TX)", "I-Vt.", "D-N.Y.".
PARTY_TAG = re.compile(r"\(?\b[DRI]-(?:[A-Z]\.[A-Z]\.|[A-Z]{2}\b|[A-Z][a-z]{1,5}\.?)\)?")
#: A definite role phrase ("the president") whose head noun several people of the story carry
#: as a label goes to the one labelled with it at least this many times as often as any other
#: named before it, else to no one. ``parallax eval labels`` chose 1.0 (the most labelled carrier;
#: ties go to the one named last) in each of the five leave-one-event-out folds on NewsWCL50
#: events 0-4 from the grid 1, 1.5, 2, 3, 5; precision was the same at every value.
CARRIER_DOMINANCE = 1.0
#: Modifiers of a role phrase that say when, not who ("the former president"): they do not
#: narrow whom the phrase may describe.
_TIME_MODIFIERS = frozenset({"former", "then", "new", "current", "late", "future", "outgoing", "incoming"})

PREMOD_DEPS = frozenset(
    {"compound", "amod", "nmod", "nummod", "npadvmod", "advmod", "punct", "det", "poss", "case"}
)
_APOSTROPHE_S = re.compile(r"[’']s?$")


# --- people of the story --------------------------------------------------------------------------


#: The people of a story (kept under this name for callers of the framing stage).
People = PeopleIndex


def collect_people(analyzed: Sequence[AnalyzedArticle]) -> PeopleIndex:
    """Canonical persons across the story (:meth:`parallax.entities.PeopleIndex.build`)."""
    return PeopleIndex.build(analyzed)


def person_mentions(doc: Doc, people: PeopleIndex) -> list[PersonMention]:
    """Every run of tokens in ``doc`` that names a known person, in text order."""
    return people.find_mentions(doc)


# --- labels ---------------------------------------------------------------------------------------


def _trim(doc: Doc, i: int, j: int) -> tuple[int, int]:
    """Shrink token range ``[i, j)`` past punctuation and whitespace at both ends."""
    while i < j and ((doc[i].is_punct and doc[i].text != "#") or doc[i].is_space):
        i += 1
    while j > i and (doc[j - 1].is_punct or doc[j - 1].is_space):
        j -= 1
    return i, j


def _label(art: AnalyzedArticle, person: str, kind: str, span: Span) -> Label:
    return Label(
        entity=person, article=art.id, label=span.text, kind=kind, start=span.start_char, end=span.end_char
    )


def sentence_bounds(art: AnalyzedArticle, offset: int) -> tuple[int, int]:
    """Character range of the repaired sentence (``art.sentences``) holding ``offset``.

    The repaired sentences split at line breaks and mend splits inside names, so they are the
    boundaries no label may cross (``doc.sents`` of the small model are not).
    """
    starts = [s.start for s in art.sentences]
    k = bisect.bisect_right(starts, offset) - 1
    if k < 0:
        return 0, art.sentences[0].start if art.sentences else len(art.doc.text)
    return art.sentences[k].start, art.sentences[k].end


def party_tags(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Character ranges of party-state tags ("D-Conn.", "(R-TX)") in ``text[lo:hi]`` that follow
    a capitalised word, possibly after a comma: an affiliation of the name before them."""
    out = []
    for match in PARTY_TAG.finditer(text, lo, hi):
        before = text[max(0, match.start() - 3) : match.start()].rstrip(" ,(")
        if before[-1:].isalpha() or before[-1:] == ".":
            out.append((match.start(), match.end()))
    return out


def premodifier_labels(art: AnalyzedArticle, m: PersonMention, taken: set[int]) -> list[Label]:
    """The premodifier chain before a name (see the module docstring).

    1. walk left from the name while each token modifies something in the chain or the name;
       determiners and possessors end the chain (they belong to a larger noun phrase), and so do
       the start of the repaired sentence and a party-state tag ("Rep. Ann Lee, D-Conn. Tom Hill":
       the tag is the affiliation of the name before it). The name of another person that
       modifies the chain ("Biden spokesman Bill Russo") is part of the chain: the label is the
       whole "Biden spokesman", whose relation to another person is the information;
    2. if the name is the apposition of the noun right before it ("former vice president Joe
       Biden"), that noun and its left modifiers are the chain;
    3. if the chain is preceded by a coordinator and a modifier-like run ("American actress and
       #MeToo activist"), emit the whole coordination and each conjunct.
    """
    doc = art.doc
    start, end = m.start, m.end
    head = doc[end - 1]
    # 1 (limits). the sentence start and the end of a party-state tag bound the walk
    floor = sentence_bounds(art, doc[m.start].idx)[0]
    for _, tag_end in party_tags(art.article.text, max(floor, doc[m.start].idx - 80), doc[m.start].idx):
        floor = max(floor, tag_end)
    # 2. name in apposition to the noun right before it
    if head.dep_ == "appos" and head.head.i == start - 1 and head.head.pos_ in {"NOUN", "PROPN"}:
        start = start - 1
    # 1. walk left
    i = start - 1
    while i >= 0 and doc[i].idx >= floor:
        tok = doc[i]
        in_chain = i < tok.head.i < end or tok.head.i == i
        if i in taken:
            # another person's name modifying the chain ("Biden spokesman"): take the whole name
            if tok.dep_ in {"compound", "poss"} and in_chain and tok.head.i not in taken and i < start - 1:
                while (
                    i - 1 >= 0 and i - 1 in taken and doc[i - 1].pos_ == "PROPN" and doc[i - 1].idx >= floor
                ):
                    i -= 1
                i -= 1
                continue
            break
        if tok.is_space and "\n" not in tok.text:  # e.g. a no-break space inside the chain
            i -= 1
            continue
        if tok.dep_ not in PREMOD_DEPS or not in_chain:
            break
        if tok.pos_ in {"DET", "PRON"} or (tok.dep_ in {"poss", "case"} and tok.text[:1].islower()):
            break
        if tok.is_punct and tok.text not in {"-", "#"}:
            break
        if (tok.pos_ in {"VERB", "AUX", "ADP", "SCONJ", "CCONJ"} and tok.dep_ != "amod") or tok.tag_ == "VBG":
            break
        if "\n" in tok.text_with_ws:
            break
        i -= 1
    chain = (i + 1, m.start)
    spans: list[tuple[int, int]] = []
    a, b = _trim(doc, *chain)
    if a < b:
        spans.append((a, b))
        # 3. a coordination before the chain
        c = a - 1
        if c > 0 and doc[c].pos_ == "CCONJ" and doc[c].idx >= floor:
            d = c - 1
            while (
                d >= 0
                and doc[d].pos_ in {"ADJ", "NOUN", "PROPN"}
                and doc[d].ent_type_ != "PERSON"
                and doc[d].idx >= floor
            ):
                d -= 1
            left = d + 1
            boundary = d < 0 or doc[d].idx < floor or doc[d].is_sent_start
            # the left conjunct must describe a person too ("actress and #MeToo activist"; not
            # "Nunes of the Intelligence Committee and Representative Trey Gowdy")
            if (
                left < c
                and (boundary or doc[d].pos_ in {"DET", "ADP", "PUNCT", "VERB"})
                and is_person_noun(doc[c - 1])
            ):
                spans += [(left, b), (left, c)]
    return [
        _label(art, m.person, "premodifier", doc[x:y])
        for x, y in spans
        if _meaningful(doc[x:y]) and _premodifier_ok(doc, x, y, m)
    ]


def _premodifier_ok(doc: Doc, x: int, y: int, m: PersonMention) -> bool:
    """Whether tokens ``[x, y)`` before a name describe the person: the phrase ends in a noun (a
    title or role: "former vice president", "Biden spokesman"; not "frequently complimented"),
    and is not part of the name itself (the tagger's "Wendy" before "Wasserman Schultz")."""
    if doc[y - 1].pos_ not in {"NOUN", "PROPN"}:
        return False
    ents = [e for e in doc.ents if e.label_ == "PERSON" and e.start <= m.start < e.end]
    if ents and ents[0].start <= x and all(t.pos_ == "PROPN" for t in doc[x:y]):
        return any(t.lower_ in TITLES for t in doc[x:y])
    return True


def _meaningful(span: Span) -> bool:
    """Whether a label says something: not only honorifics, punctuation or a single letter."""
    words = [t.text.lower() for t in span if not t.is_punct]
    return bool(words) and not all(w in HONORIFICS for w in words) and len(span.text) > 1


def is_person_noun(tok: Token) -> bool:
    """Whether ``tok`` can head a phrase describing a person: a person or role noun ("aide"), an
    agent noun by its ending ("novelist"), a nationality or party ("a Nevada Democrat"), a rank
    with a numeral ("Obama's No. 2"), or a partitive over one of these ("one of the founders")."""
    lemma, lower = tok.lemma_.lower(), tok.lower_
    if lemma in NOT_PERSON_NOUNS:
        return False
    if lemma in PERSON_NOUNS or lower in PERSON_NOUNS or tok.ent_type_ == "NORP":
        return True
    if tok.pos_ == "NOUN" and len(lemma) > 5 and lemma.endswith(PERSON_SUFFIXES):
        return True
    if lemma in RANK_NOUNS and any(c.dep_ == "nummod" or c.like_num for c in tok.children):
        return True
    if lemma in PARTITIVE_HEADS:
        return any(
            g.dep_ == "pobj" and g.lemma_.lower() in PERSON_NOUNS
            for c in tok.children
            if c.dep_ == "prep" and c.lower_ == "of"
            for g in c.children
        )
    return False


def _balanced(doc: Doc, a: int, b: int) -> tuple[int, int]:
    """Cut token range ``[a, b)`` before an opening bracket it does not close ("aide to Rep. Ann
    Lee (D-CT" -> "aide to Rep. Ann Lee")."""
    depth_at: list[int] = []
    for k in range(a, b):
        if doc[k].text in {"(", "["}:
            depth_at.append(k)
        elif doc[k].text in {")", "]"} and depth_at:
            depth_at.pop()
    if depth_at:
        return _trim(doc, a, depth_at[0])
    return a, b


def _fronted_adverbial(noun: Token, sentence_start: int) -> bool:
    """Whether ``noun`` lies in an adverbial that opens its sentence ("Following Ann's story,
    ..."; "After the hearing, ..."), where a comma before a name ends the adverbial rather than
    setting off an apposition. "... turned to Ann's first accuser, Tom Hill" is no such case."""
    gov = noun.head if noun.dep_ in {"pobj", "dobj"} else noun
    doc = noun.doc
    first = next(
        (t for t in doc[gov.left_edge.i : noun.i + 1] if not (t.is_punct or t.is_space or t.pos_ == "CCONJ")),
        noun,
    )
    words_before = [
        t
        for t in doc[: first.i]
        if t.idx >= sentence_start and not (t.is_punct or t.is_space or t.pos_ == "CCONJ")
    ]
    return not words_before and (first.tag_ == "VBG" or first.pos_ in {"ADP", "SCONJ"})


def apposition_labels(art: AnalyzedArticle, m: PersonMention, mention_tokens: set[int]) -> list[Label]:
    """Phrases set off by commas right beside a name that describe the person.

    1. after the name: an ``appos`` of the name that starts right after its comma (or dash) and
       is headed by a person noun (:func:`is_person_noun`): "Ann Lee, a former aide,";
    2. before the name: the noun the name is in apposition to, when the comma before the name
       directly ends its phrase, the noun is a person noun, and the phrase is no fronted
       adverbial ("Following Ann's story, Tom Hill, ..." is not a label of Tom Hill);
    3. a party-state tag right after the name ("Rep. Ann Lee, D-Conn." / "(D-CT)") is the
       affiliation of that name, labelled without its brackets.

    No label crosses the repaired sentence around the name; an unclosed bracket is cut off.
    """
    doc = art.doc
    head = doc[m.end - 1]
    lo, hi = sentence_bounds(art, doc[m.start].idx)
    out = []

    def emit(a: int, b: int) -> None:
        a, b = _balanced(doc, *_trim(doc, a, b))
        inside = a < b and doc[a].idx >= lo and doc[b - 1].idx < hi
        tag = inside and PARTY_TAG.fullmatch(doc[a:b].text) is not None  # labelled by step 3
        if inside and not tag and _meaningful(doc[a:b]) and "\n" not in doc[a:b].text:
            out.append(_label(art, m.person, "apposition", doc[a:b]))

    # 1. after the name
    opener = doc[m.end] if m.end < len(doc) else None
    if opener is not None and opener.text in {",", "—", "–"}:
        for child in head.children:
            if (
                child.dep_ == "appos"
                and child.i >= m.end
                and child.i not in mention_tokens
                and child.left_edge.i == m.end + 1
                and is_person_noun(child)
            ):
                emit(child.left_edge.i, child.right_edge.i + 1)
    # 2. before the name
    noun = head.head
    if (
        head.dep_ == "appos"
        and noun.i < m.start - 1
        and noun.i not in mention_tokens
        and doc[m.start - 1].text == ","
        and noun.pos_ in {"NOUN", "PROPN"}
        and is_person_noun(noun)
        and not _fronted_adverbial(noun, lo)
    ):
        right = max(
            [noun.i]
            + [t.right_edge.i for t in noun.rights if t.i < m.start and t.dep_ not in {"appos", "punct"}]
        )
        if right == m.start - 2:  # the phrase ends at the comma before the name
            emit(noun.left_edge.i, right + 1)
    # 3. party-state tag
    end_char = doc[m.end - 1].idx + len(doc[m.end - 1].text)
    for a_char, b_char in party_tags(art.article.text, end_char, min(hi, end_char + 16)):
        if art.article.text[end_char:a_char].strip(" ,") == "":
            span = doc.char_span(a_char, b_char, alignment_mode="expand")
            if span is not None:
                a, b = _trim(doc, span.start, span.end)
                tag = doc[a:b]
                if tag.text.startswith("(") or tag.text.endswith(")"):
                    a, b = a + (tag.text.startswith("(")), b - (tag.text.endswith(")"))
                if a < b:
                    out.append(_label(art, m.person, "apposition", doc[a:b]))
    return out


def quoted_tokens(doc: Doc) -> list[bool]:
    """For each token, whether it lies between quotation marks (curly pairs or straight toggles)."""
    out = []
    depth = 0
    straight = False
    for tok in doc:
        if tok.text in {"“", "«"}:
            depth += 1
        elif tok.text in {"”", "»"}:
            depth = max(0, depth - 1)
        elif tok.text == '"':
            straight = not straight
        out.append(depth > 0 or straight)
    return out


#: Modifiers that make a different office of a role noun: a vice president is no president.
_SUBORDINATE = frozenset({"vice", "deputy", "assistant", "lieutenant", "associate", "under", "sub"})


def role_key(tok: Token) -> str:
    """The office a role noun names, for matching labels: its lemma, with a subordinating modifier
    kept ("vice president", "deputy director")."""
    lemma = tok.lemma_.lower()
    sub = [c.lower_ for c in tok.children if c.dep_ in {"compound", "amod"} and c.lower_ in _SUBORDINATE]
    return f"{sub[0]} {lemma}" if sub else lemma


def _names_someone(tok: Token) -> bool:
    """Whether a role noun is followed by the name of whom it describes: "Trump's former campaign
    manager Paul Manafort", "The judge overseeing it, Ellen Huvelle," describe those names, not
    someone named before."""
    doc = tok.doc
    nxt = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
    if nxt is not None and nxt.pos_ == "PROPN" and nxt.ent_type_ == "PERSON":
        return True
    return any(c.dep_ == "appos" and c.ent_type_ == "PERSON" for c in tok.children)


def _conjuncts(tok: Token) -> list[Token]:
    """The tokens coordinated with ``tok`` ("Boehner and the ambassador": each the other's)."""
    first = tok
    while first.dep_ == "conj" and first.head.i != first.i:
        first = first.head
    return [t for t in [first, *first.conjuncts] if t.i != tok.i]


def _is_role_head(tok: Token, roles: frozenset[str]) -> bool:
    lemma = tok.lemma_.lower()
    if lemma in roles:
        return True
    return lemma in RANK_NOUNS and any(c.dep_ == "nummod" or c.like_num for c in tok.children)


def role_labels(
    art: AnalyzedArticle,
    mentions: Sequence[PersonMention],
    label_heads: dict[str, Counter[str]],
    roles: frozenset[str],
    taken: set[int],
    *,
    carrier_dominance: float = CARRIER_DOMINANCE,
    label_words: dict[str, set[str]] | None = None,
) -> list[Label]:
    """Role phrases referring back to a person (see the module docstring).

    1. candidates: nouns headed by a person-role noun (or a rank noun with a numeral) that are not
       part of a name, a premodifier or an apposition;
    2. a definite candidate ("the actress") resolves to the person, named before it, whose labels
       in the story have its head noun as their head; when several such people are named before,
       to the one labelled with that noun ``carrier_dominance`` times as often as each other one,
       else to no one; when someone in the story carries that noun
       but was not mentioned before, the phrase is left unresolved rather than given to someone
       else. Failing that (no one carries the noun), it resolves to the one person named outside
       quotations in the three sentences before, other than a subject of a clause the phrase sits
       in or a name coordinated with it, when there is exactly one such person and the phrase has
       no proper modifier ("the Israeli ambassador" names an office nearness cannot fill);
    4. every resolved phrase counts as a mention of its person for the phrases after it, so "the
       actress urged ... allegations against the judge" knows the actress is the subject.
    3. a possessive candidate ("Obama's number 2") resolves to the one person named outside
       quotations in the three sentences before, other than its possessor and the possessor of the
       phrase it depends on; with two or more, to the one the article has named at least twice as
       often as any other (mentions in the three sentences before counting double), unless the
       phrase has its own complement ("Obama's former secretary of state"): then to no one.
    """
    doc = art.doc
    out: list[Label] = []
    name_tokens = {i for m in mentions for i in range(m.start, m.end)}
    sent_starts = [s.start for s in doc.sents]
    quoted = quoted_tokens(doc)
    resolved: list[PersonMention] = []
    # starts of the PERSON names the story could not resolve, outside quotations (for step 2)
    named = {i for m in mentions for i in range(m.start, m.end)}
    unresolved_starts = [
        e.start for e in doc.ents if e.label_ == "PERSON" and not quoted[e.start] and e.end - 1 not in named
    ]
    for tok in doc:
        # 1. candidates ("the President" is tagged a proper noun, but with its article it is a role)
        dets = [c for c in tok.children if c.dep_ == "det"]
        definite = bool(dets) and dets[0].lower_ == "the"
        if not (tok.pos_ == "NOUN" or (tok.pos_ == "PROPN" and definite)):
            continue
        if tok.i in taken or tok.i in name_tokens or not _is_role_head(tok, roles):
            continue
        if tok.dep_ in {"compound", "appos", "attr"} or tok.tag_ == "NNS" or tok.tag_ == "NNPS":
            continue
        if _names_someone(tok):
            continue
        poss = [c for c in tok.children if c.dep_ == "poss"]
        chain = sorted([*mentions, *resolved], key=lambda m: m.start)
        before = [m for m in chain if m.end <= tok.i]
        if not before:
            continue
        sent_no = next(k for k in range(len(sent_starts) - 1, -1, -1) if sent_starts[k] <= tok.i)
        person: str | None = None
        if dets and dets[0].lower_ == "the" and not poss:
            # 2. definite role phrase
            lemma = role_key(tok)
            if any(c.dep_ == "prep" and c.lower_ == "of" for c in tok.children):
                continue  # "the president of the Virginia Association of Economists": an office of its own
            carriers = anyone = {p for p, heads in label_heads.items() if lemma in heads}
            # "the French president" is only someone labelled French
            mods = {
                c.lower_
                for c in tok.children
                if c.dep_ in {"amod", "compound"} and c.i < tok.i and c.lower_ not in _TIME_MODIFIERS
            }
            if mods and label_words is not None:
                carriers = {p for p in carriers if mods <= label_words.get(p, set())}
            matching = list(dict.fromkeys(m.person for m in reversed(before) if m.person in carriers))
            if matching:
                # (also inside a quotation: "the President said" in a quoted memo is still him)
                # several people carry the noun ("President Trump", "French President Macron"):
                # the one the story names so far more often, else no one
                ranked = sorted(matching, key=lambda p: -label_heads[p][lemma])
                top = label_heads[ranked[0]][lemma]
                if len(ranked) == 1 or top >= carrier_dominance * label_heads[ranked[1]][lemma]:
                    person = ranked[0]
            elif not anyone and not quoted[tok.i]:
                # a description does not refer to the subject of a clause it sits in ("Milano
                # posted tweets about the former leader" is not about Milano)
                subjects = set()
                for anc in tok.ancestors:
                    for c in anc.children:
                        if c.dep_ in {"nsubj", "nsubjpass"}:
                            subjects |= {m.person for m in chain if m.start <= c.i < m.end}
                # nor to a person it is coordinated with ("arranged by Mr. Boehner and the
                # Israeli ambassador" names two people)
                subjects |= {m.person for m in chain if any(m.start <= c.i < m.end for c in _conjuncts(tok))}
                # names inside quotation marks are the speaker's words, not whom the text speaks of
                spoken = [m for m in before if not quoted[m.start]]
                recent = [m.person for m in spoken if m.sentence >= sent_no - 3 and m.person not in subjects]
                # a phrase with a proper modifier ("the Israeli ambassador", "the CIA chief") names
                # a particular office: nearness alone does not tell who holds it (Netanyahu is
                # Israeli, not the ambassador)
                if any(
                    c.i < tok.i and (c.pos_ == "PROPN" or c.ent_type_ in {"NORP", "ORG", "GPE"})
                    for c in tok.subtree
                ):
                    recent = []
                # a name in the window the story cannot resolve ("Clinton" when two Clintons are
                # named) is someone else the phrase may describe
                window = sent_starts[max(0, sent_no - 3)]
                k = bisect.bisect_left(unresolved_starts, window)
                unresolved = k < len(unresolved_starts) and unresolved_starts[k] < tok.i
                if len(set(recent)) == 1 and not unresolved:
                    # a description points at whom the text just spoke of, when that is one
                    # person: with two or more ("Bill Clinton ... Hillary Clinton ... the former
                    # secretary") nearness is a guess, and a wrong label costs more than none
                    person = recent[0]
            left = dets[0].i
        elif poss and not quoted[tok.i] and any(m.start <= poss[0].i < m.end for m in mentions):
            # 3. possessive role phrase
            possessor = next(m.person for m in mentions if m.start <= poss[0].i < m.end)
            excluded = {possessor}
            gov = tok.head.head if tok.dep_ == "pobj" else tok.head
            for c in gov.children:
                for m in mentions:
                    if c.dep_ == "poss" and m.start <= c.i < m.end:
                        excluded.add(m.person)
            # the one other person in view, as for a definite phrase: "President Obama's former
            # secretary of state" is not whoever the article is about
            near_by = {
                m.person
                for m in before
                if m.sentence >= sent_no - 3 and not quoted[m.start] and m.person not in excluded
            }
            salience: Counter[str] = Counter()
            for m in before:
                if m.person not in excluded:
                    salience[m.person] += 1 + (m.sentence >= sent_no - 3)
            leaders = salience.most_common(2)
            office = any(c.dep_ == "prep" for c in tok.children)  # "secretary of state"
            if len(near_by) == 1:
                person = near_by.pop()
            elif leaders and not office and (len(leaders) == 1 or leaders[0][1] >= 2 * leaders[1][1]):
                # one person dominates the article so far ("Barack Obama's number 2" in a story
                # about Biden); an office with its own complement is not guessed this way
                person = leaders[0][0]
            left = poss[0].left_edge.i
        else:
            continue
        if person is None:
            continue
        right = max([tok.i] + [c.i for c in tok.rights if c.dep_ in {"nummod", "compound"}])
        a, b = _trim(doc, left, right + 1)
        out.append(_label(art, person, "role", doc[a:b]))
        # 4. the phrase is now a mention of its person
        resolved.append(PersonMention(person=person, start=a, end=b, sentence=sent_no))
    return out


def find_labels(
    analyzed: Sequence[AnalyzedArticle],
    *,
    people: PeopleIndex | None = None,
    carrier_dominance: float = CARRIER_DOMINANCE,
) -> list[Label]:
    """Premodifier, apposition and role labels of every article of the story, in text order.

    ``people`` is the story's :class:`~parallax.entities.PeopleIndex` (built here when absent).
    """
    people = people or collect_people(analyzed)
    per_article: dict[str, list[PersonMention]] = {}
    labels: list[Label] = []
    taken_by_article: dict[str, set[int]] = {}
    for art in analyzed:
        mentions = people.by_article.get(art.id) or person_mentions(art.doc, people)
        per_article[art.id] = mentions
        tokens = {i for m in mentions for i in range(m.start, m.end)}
        taken = set(tokens)
        for m in mentions:
            for lab in premodifier_labels(art, m, tokens) + apposition_labels(art, m, tokens):
                labels.append(lab)
                span = art.doc.char_span(lab.start, lab.end, alignment_mode="expand")
                if span is not None:
                    taken.update(range(span.start, span.end))
        taken_by_article[art.id] = taken
    # the head nouns each person is labelled with, across the story
    label_heads: dict[str, Counter[str]] = defaultdict(Counter)
    label_words: dict[str, set[str]] = defaultdict(set)
    for art in analyzed:
        for lab in labels:
            if lab.article != art.id:
                continue
            span = art.doc.char_span(lab.start, lab.end, alignment_mode="expand")
            if span is not None:
                # the head noun only: "the president's first national security adviser" makes
                # its person an adviser, not a president
                label_heads[lab.entity][role_key(span.root)] += 1
                label_words[lab.entity].update(t.lower_ for t in span)
    roles = PERSON_ROLE_NOUNS
    for art in analyzed:
        labels += role_labels(
            art,
            per_article[art.id],
            label_heads,
            roles,
            taken_by_article[art.id],
            carrier_dominance=carrier_dominance,
            label_words=label_words,
        )
    for art in analyzed:
        labels += group_labels(art, taken_by_article[art.id])
    seen: set[tuple[str, str, int, int]] = set()
    unique = []
    for lab in sorted(labels, key=lambda x: (x.article, x.start, x.end, x.entity)):
        key = (lab.article, lab.entity, lab.start, lab.end)
        if key not in seen:
            seen.add(key)
            unique.append(lab)
    return unique


#: Modifiers that belong to a group phrase ("anti-Trump campaigners", "Senate Democrats").
_GROUP_MODS = frozenset({"amod", "compound", "nmod", "nummod", "npadvmod"})


#: Quantifiers and the like: they count a group but do not describe it.
_COUNTING = frozenset(
    {"other", "many", "some", "several", "few", "same", "such", "more", "most", "all", "both", "least", "at"}
)


def _describes(tok: Token) -> bool:
    """Whether a modifier in a group phrase describes the group (not a number or quantifier)."""
    return (
        tok.pos_ in {"ADJ", "NOUN", "PROPN"}
        and not tok.like_num
        and tok.lower_ not in _COUNTING
        and tok.dep_ != "det"
    )


def group_labels(art: AnalyzedArticle, taken: set[int]) -> list[Label]:
    """How an article names a group of people: a plural phrase headed by a person noun or a
    nationality/party ("Politicians and anti-Trump campaigners", "Senate Democrats", "Iranian
    hardliners"), labelled with kind ``group``.

    1. heads: plural nouns that name people (:func:`is_person_noun`, or a NORP entity), outside
       quotations, names and other labels, and not the second conjunct of a phrase already taken;
    2. the phrase runs from the leftmost modifier of its first conjunct to its last conjunct;
       determiners and possessive pronouns stay out ("their top aides" -> "top aides");
    3. a bare plural ("Democrats", "officials") says nothing about the group and is no label;
    4. the group is named by its head when that is a nationality or party ("Democrats"), else by
       the phrase itself, first letter capitalised.
    """
    doc = art.doc
    quoted = quoted_tokens(doc)
    norp = {i: e for e in doc.ents if e.label_ == "NORP" for i in range(e.start, e.end)}
    out: list[Label] = []
    covered: set[int] = set()
    for tok in doc:
        # 1. heads
        plural = tok.tag_ in {"NNS", "NNPS"}
        if not plural or tok.i in taken or tok.i in covered or quoted[tok.i] or tok.dep_ == "compound":
            continue
        if not (is_person_noun(tok) or tok.ent_type_ == "NORP") or tok.lemma_.lower() in PARTITIVE_HEADS:
            continue
        # 2. the phrase: conjuncts that also name people, and their left modifiers
        # (a plural coordinated with a person noun names people too: "anti-Trump campaigners")
        conjuncts = [tok] + [c for c in tok.conjuncts if c.i > tok.i and c.tag_ in {"NNS", "NNPS"}]
        mods = [
            m
            for m in tok.children
            if m.dep_ in _GROUP_MODS and m.i < tok.i and not any(t.pos_ in {"VERB", "AUX"} for t in m.subtree)
        ]
        left = min([tok.i] + [m.left_edge.i for m in mods])
        right = max(c.i for c in conjuncts)
        a, b = _trim(doc, left, right + 1)
        span = doc[a:b]
        if any(i in taken for i in range(a, b)) or "\n" in span.text:
            continue
        covered.update(range(a, b))
        # 3. a bare plural, or one only counted ("two leaders", "other officials": people the
        # text names elsewhere), is no label
        describing = [t for t in span if t.i not in {c.i for c in conjuncts} and _describes(t)]
        if not (describing or len(conjuncts) > 1) or not _meaningful(span):
            continue
        # 4. the group's name
        ent = norp.get(tok.i)
        if ent is not None and ent.start <= a and b <= ent.end:
            continue  # "North Koreans" is the group's name, no label of it
        if ent is not None and len(conjuncts) == 1:
            name = _APOSTROPHE_S.sub("", ent.text)
        else:
            name = span.text[:1].upper() + span.text[1:]
        out.append(_label(art, name, "group", span))
    return out


# --- attribution verbs ----------------------------------------------------------------------------


def verb_group(lemma: str) -> Literal["neutral", "loaded"]:
    """``loaded`` for report verbs that colour the speech they report, else ``neutral``."""
    return "loaded" if lemma in LOADED_REPORT_VERBS else "neutral"


def _is_reporting(tok: Token) -> bool:
    """Whether ``tok`` is a report verb introducing speech: a clause, a quotation or a statement."""
    if tok.pos_ not in {"VERB", "AUX"} or tok.lemma_.lower() not in REPORT_VERBS:
        return False
    for child in tok.children:
        if child.dep_ in {"ccomp", "parataxis"}:
            return True
        if child.dep_ == "xcomp" and child.i > tok.i:
            return True
        if child.dep_ == "dobj" and any(t.text in {"“", '"', "‘"} for t in child.subtree):
            return True
        if child.dep_ == "prep" and any(
            t.lemma_.lower() in {"statement", "interview"} for t in child.subtree
        ):
            return True
    sent = tok.sent
    return tok.dep_ in {"ccomp", "parataxis"} and any(t.text in {"“", "”", '"'} for t in sent)


def attribution_verbs(
    analyzed: Sequence[AnalyzedArticle],
    quotes: Sequence[Quote],
    *,
    attributions: Sequence[Attribution] = (),
) -> list[AttributionVerb]:
    """Report verbs per article and lemma, with one mention per occurrence.

    1. each quote rendering's cue is located as the nearest verb with that form in the rendering's
       sentence; the cue verb of each indirect or mixed attribution is added at its offsets
       (paraphrase is reported speech too: "Russo said that ..." counts its "said");
    2. every report verb with a clausal complement, a quotation or "in a statement" is added;
    3. occurrences are grouped by lemma per article and classed ``neutral`` or ``loaded``.
    """
    found: dict[str, dict[int, Token]] = {art.id: {} for art in analyzed}
    by_id = {art.id: art for art in analyzed}
    # 1. cues of indirect and mixed attributions, at their offsets ("according to" is no verb)
    for a in attributions:
        art = by_id.get(a.article)
        if art is None or a.cue_start is None or a.cue_end is None:
            continue
        span = art.doc.char_span(a.cue_start, a.cue_end, alignment_mode="expand")
        if span is not None and len(span) and span[0].pos_ in {"VERB", "AUX"}:
            found[art.id][span[0].i] = span[0]
    # 1. quote cues
    for quote in quotes:
        for r in quote.renderings:
            art = by_id.get(r.article)
            if art is None or not r.cue:
                continue
            cue = r.cue.split()[0].lower()
            # only the tokens within 400 characters of the rendering: a scan of the whole doc
            # per rendering is quadratic in article length
            window = art.doc.char_span(
                max(0, r.start - 399), min(len(art.article.text), r.start + 400), alignment_mode="expand"
            )
            near = [
                t
                for t in (window if window is not None else art.doc)
                if t.lower_ == cue and t.pos_ in {"VERB", "AUX"} and abs(t.idx - r.start) < 400
            ]
            if near:
                best = min(near, key=lambda t: min(abs(t.idx - r.start), abs(t.idx - r.end)))
                found[art.id][best.i] = best
    # 2. reported-speech verbs
    for art in analyzed:
        for tok in art.doc:
            if _is_reporting(tok):
                found[art.id][tok.i] = tok
    # 3. group
    out = []
    for art in analyzed:
        groups: defaultdict[str, list[Token]] = defaultdict(list)
        for i in sorted(found[art.id]):
            tok = found[art.id][i]
            groups[tok.lemma_.lower()].append(tok)
        sent_of = {s.start: s.index for s in art.sentences}
        starts = sorted(sent_of)
        for lemma, toks in sorted(groups.items()):
            mentions = tuple(
                Mention(
                    article=art.id,
                    start=t.idx,
                    end=t.idx + len(t.text),
                    text=t.text,
                    sentence=_sentence_of(t.idx, starts, sent_of),
                )
                for t in toks
            )
            out.append(
                AttributionVerb(
                    article=art.id, verb=lemma, group=verb_group(lemma), count=len(toks), mentions=mentions
                )
            )
    return out


def _sentence_of(offset: int, starts: Sequence[int], sent_of: dict[int, int]) -> int | None:
    k = bisect.bisect_right(starts, offset) - 1
    return sent_of[starts[k]] if k >= 0 else None


# --- loaded wording -------------------------------------------------------------------------------


def loaded_density(art: AnalyzedArticle, spans: Sequence[LoadedSpan]) -> LoadedDensity:
    """Loaded spans per 1,000 words of one article."""
    words = sum(1 for t in art.doc if is_word(t))
    per = 1000.0 * len(spans) / words if words else 0.0
    return LoadedDensity(article=art.id, spans=len(spans), words=words, per_1000_words=round(per, 2))


def analyze_framing(
    analyzed: Sequence[AnalyzedArticle],
    quotes: Sequence[Quote],
    *,
    detector: LoadedWordingDetector | None = None,
    people: PeopleIndex | None = None,
    attributions: Sequence[Attribution] = (),
) -> Framing:
    """Labels, attribution verbs, loaded spans and densities of a story's articles.

    ``attributions`` (direct, indirect and mixed, from :func:`parallax.quotes.find_attributions`)
    add the cues of paraphrased speech to the attribution verbs."""
    detector = detector or load_default()
    loaded: list[LoadedSpan] = []
    density = []
    for art in analyzed:
        spans = detector.spans(art)
        loaded += spans
        density.append(loaded_density(art, spans))
    return Framing(
        labels=tuple(find_labels(analyzed, people=people)),
        attribution_verbs=tuple(attribution_verbs(analyzed, quotes, attributions=attributions)),
        loaded=tuple(loaded),
        density=tuple(density),
    )
