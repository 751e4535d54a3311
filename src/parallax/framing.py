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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from parallax.loaded import LoadedWordingDetector, is_word, load_default
from parallax.records import (
    AnalyzedArticle,
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
#: Pronoun-like heads that describe a person through their ``of`` phrase ("one of the founders").
PARTITIVE_HEADS = frozenset({"one", "some", "each", "member", "part"})
#: Words that open a photo credit or name an image agency: a name beside them is a credit
#: ("(Jane Roe/Getty Images)", "Photo by Jane Roe"), not a person of the story.
CREDIT_WORDS = frozenset(
    {"images", "image", "photo", "photos", "photograph", "pool", "wireimage", "credit", "courtesy", "file"}
)
#: A party-state tag after a legislator's name: "D-Conn.", "(R-TX)", "I-Vt.", "D-N.Y.".
PARTY_TAG = re.compile(r"\(?\b[DRI]-(?:[A-Z]\.[A-Z]\.|[A-Z]{2}\b|[A-Z][a-z]{1,5}\.?)\)?")
#: Honorifics stripped from names before canonicalisation.
HONORIFICS = frozenset({"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "sen", "sen.", "rep", "rep."})

PREMOD_DEPS = frozenset(
    {"compound", "amod", "nmod", "nummod", "npadvmod", "advmod", "punct", "det", "poss", "case"}
)
_APOSTROPHE_S = re.compile(r"[’']s?$")


# --- people of the story --------------------------------------------------------------------------


@dataclass
class People:
    """The persons of a story: canonical full names and the surface forms that point at them."""

    by_form: dict[str, str] = field(default_factory=dict)  # "biden" / "joe biden" -> "Joe Biden"
    mentions: Counter[str] = field(default_factory=Counter)

    def resolve(self, words: Sequence[str]) -> str | None:
        """The canonical person named by ``words`` (a name, possibly with a title before it)."""
        for i in range(len(words)):
            key = " ".join(w.lower() for w in words[i:])
            if key in self.by_form:
                return self.by_form[key]
        return None


def _name_words(span: Span) -> list[str]:
    words = [_APOSTROPHE_S.sub("", t.text) if t.dep_ != "case" else "" for t in span]
    return [w for w in words if w and w.lower() not in HONORIFICS and (w[0].isupper() or w[0].isdigit())]


def collect_people(analyzed: Sequence[AnalyzedArticle]) -> People:
    """Canonical persons across the story.

    1. every PERSON entity of two or more capitalised words is a full name (its most frequent
       form wins when several forms share a surname), unless it sits in a photo credit
       (:func:`is_credit`): a photographer or agency is no person of the story;
    2. names are grouped by surname; a group's two-word name ("Joe Biden") is the canonical form
       of the surname and of every longer form ("Vice President Biden"); when two two-word names
       share a surname the surname alone is ambiguous and only fuller forms are mapped.
    """
    # 1. full names
    full: Counter[str] = Counter()
    for art in analyzed:
        for ent in art.doc.ents:
            if ent.label_ != "PERSON" or is_credit(ent):
                continue
            words = _name_words(ent)
            # all-capital forms come from headlines and kickers; their mixed-case twin is canonical
            if len(words) >= 2 and all(w[0].isupper() for w in words) and not all(w.isupper() for w in words):
                full[" ".join(words)] += 1
    people = People()
    # 2. group by surname; the one two-word name of a group is its canonical form
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for name in full:
        groups[name.split()[-1].lower()].append(name)
    for surname, names in groups.items():
        pairs = sorted({n for n in names if len(n.split()) == 2}, key=lambda n: -full[n])
        if len(pairs) == 1 or not pairs:
            canon = pairs[0] if pairs else max(names, key=lambda n: (full[n], -len(n)))
            people.by_form[surname] = canon
            for n in names:
                people.by_form[n.lower()] = canon
        else:  # two people share the surname: only fuller forms are unambiguous
            for n in names:
                people.by_form[n.lower()] = next((p for p in pairs if n.endswith(p)), n)
    return people


def is_credit(ent: Span) -> bool:
    """Whether the name ``ent`` is part of a photo credit rather than a mention of a person.

    Captions are removed by cleaning, but credits also sit inside paragraphs ("... in 2019.
    (Jane Roe/Getty Images)"). A credit joins names with a slash, or has a credit word in or right
    beside the name ("Photo by Jane Roe", "Jane Roe/AP Photo").
    """
    doc = ent.doc
    if "/" in ent.text or any(t.lower_ in CREDIT_WORDS for t in ent):
        return True
    after = doc[ent.end] if ent.end < len(doc) else None
    if after is not None and (after.text.startswith("/") or after.lower_ in CREDIT_WORDS):
        return True
    before = [t.lower_ for t in doc[max(0, ent.start - 2) : ent.start]]
    # "Photo by Jane Roe", "Credit: Jane Roe"
    return (len(before) == 2 and before[1] == "by" and before[0] in CREDIT_WORDS) or (
        len(before) == 2 and before[1] == ":" and before[0] in CREDIT_WORDS
    )


@dataclass(frozen=True, slots=True)
class PersonMention:
    person: str
    start: int  # token indices [start, end)
    end: int
    sentence: int


def person_mentions(doc: Doc, people: People) -> list[PersonMention]:
    """Every run of proper-noun tokens in ``doc`` that names a known person, in text order.

    Runs are found on the parse rather than the NER so that a name the NER mislabels ("Biden" as
    ORG) is still found.
    """
    out: list[PersonMention] = []
    sent_index = {s.start: k for k, s in enumerate(doc.sents)}
    sent_of = []
    k = -1
    for tok in doc:
        k = sent_index.get(tok.i, k)
        sent_of.append(k)
    i = 0
    while i < len(doc):
        if doc[i].pos_ != "PROPN":
            i += 1
            continue
        j = i
        while j < len(doc) and doc[j].pos_ == "PROPN":
            j += 1
        words = [_APOSTROPHE_S.sub("", t.text) for t in doc[i:j]]
        # the longest sub-run that names a person, anchored at the run's end
        for a in range(i, j):
            person = people.by_form.get(" ".join(words[a - i :]).lower())
            if person:
                out.append(PersonMention(person=person, start=a, end=j, sentence=sent_of[a]))
                break
        i = j
    return out


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
            if left < c and (boundary or doc[d].pos_ in {"DET", "ADP", "PUNCT", "VERB"}):
                spans += [(left, b), (left, c)]
    return [_label(art, m.person, "premodifier", doc[x:y]) for x, y in spans if _meaningful(doc[x:y])]


def _meaningful(span: Span) -> bool:
    """Whether a label says something: not only honorifics, punctuation or a single letter."""
    words = [t.text.lower() for t in span if not t.is_punct]
    return bool(words) and not all(w in HONORIFICS for w in words) and len(span.text) > 1


def is_person_noun(tok: Token) -> bool:
    """Whether ``tok`` can head a phrase describing a person: a person or role noun ("aide"), an
    agent noun by its ending ("novelist"), a nationality or party ("a Nevada Democrat"), a rank
    with a numeral ("Obama's No. 2"), or a partitive over one of these ("one of the founders")."""
    lemma, lower = tok.lemma_.lower(), tok.lower_
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


def _is_role_head(tok: Token, roles: frozenset[str]) -> bool:
    lemma = tok.lemma_.lower()
    if lemma in roles:
        return True
    return lemma in RANK_NOUNS and any(c.dep_ == "nummod" or c.like_num for c in tok.children)


def role_labels(
    art: AnalyzedArticle,
    mentions: Sequence[PersonMention],
    label_heads: dict[str, set[str]],
    roles: frozenset[str],
    taken: set[int],
) -> list[Label]:
    """Role phrases referring back to a person (see the module docstring).

    1. candidates: nouns headed by a person-role noun (or a rank noun with a numeral) that are not
       part of a name, a premodifier or an apposition;
    2. a definite candidate ("the actress") resolves to the person whose labels in the story share
       its head noun, most recently mentioned first; when someone in the story carries that noun
       but was not mentioned before, the phrase is left unresolved rather than given to someone
       else. Failing that, it resolves to the nearest person named in the three sentences before
       (mentions weighted 6/4/2/1 by sentence distance 0-3, each earlier mention adding 0.25),
       other than a subject of a clause the phrase sits in;
    4. every resolved phrase counts as a mention of its person for the phrases after it, so "the
       actress urged ... allegations against the judge" knows the actress is the subject.
    3. a possessive candidate ("Obama's number 2") resolves to the most salient person of the
       article other than its possessor and the possessor of the phrase it depends on.
    """
    doc = art.doc
    out: list[Label] = []
    name_tokens = {i for m in mentions for i in range(m.start, m.end)}
    sent_starts = [s.start for s in doc.sents]
    quoted = quoted_tokens(doc)
    resolved: list[PersonMention] = []
    for tok in doc:
        # 1. candidates
        if tok.pos_ != "NOUN" or tok.i in taken or tok.i in name_tokens or not _is_role_head(tok, roles):
            continue
        if tok.dep_ in {"compound", "appos", "attr"} or tok.tag_ in {"NNS", "NNPS"} or quoted[tok.i]:
            continue
        dets = [c for c in tok.children if c.dep_ == "det"]
        poss = [c for c in tok.children if c.dep_ == "poss"]
        chain = sorted([*mentions, *resolved], key=lambda m: m.start)
        before = [m for m in chain if m.end <= tok.i]
        if not before:
            continue
        sent_no = next(k for k in range(len(sent_starts) - 1, -1, -1) if sent_starts[k] <= tok.i)
        salience: Counter[str] = Counter()
        for m in before:
            salience[m.person] += 1 + (m.sentence >= sent_no - 3)
        person: str | None = None
        if dets and dets[0].lower_ == "the" and not poss:
            # 2. definite role phrase
            lemma = tok.lemma_.lower()
            carriers = {p for p, heads in label_heads.items() if lemma in heads}
            matching = [m for m in reversed(before) if m.person in carriers]
            if matching:
                person = matching[0].person
            elif not carriers:
                # a description does not refer to the subject of a clause it sits in ("Milano
                # posted tweets about the former leader" is not about Milano)
                subjects = set()
                for anc in tok.ancestors:
                    for c in anc.children:
                        if c.dep_ in {"nsubj", "nsubjpass"}:
                            subjects |= {m.person for m in chain if m.start <= c.i < m.end}
                recent = [m.person for m in before if m.sentence >= sent_no - 3 and m.person not in subjects]
                if recent:
                    # a description points at whom the text just spoke of: nearness outweighs the
                    # story-wide count (a main character should not absorb every "the judge")
                    near: defaultdict[str, float] = defaultdict(float)
                    for m in before:
                        gap = sent_no - m.sentence
                        near[m.person] += 2.0 * max(0, 3 - gap) + (gap == 3) + 0.25
                    person = max(recent, key=lambda p: (near[p], recent[::-1].index(p) * -1))
            left = dets[0].i
        elif poss and any(m.start <= poss[0].i < m.end for m in mentions):
            # 3. possessive role phrase
            possessor = next(m.person for m in mentions if m.start <= poss[0].i < m.end)
            excluded = {possessor}
            gov = tok.head.head if tok.dep_ == "pobj" else tok.head
            for c in gov.children:
                for m in mentions:
                    if c.dep_ == "poss" and m.start <= c.i < m.end:
                        excluded.add(m.person)
            rest = [p for p in salience if p not in excluded]
            if rest:
                person = max(rest, key=lambda p: salience[p])
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


def find_labels(analyzed: Sequence[AnalyzedArticle]) -> list[Label]:
    """Premodifier, apposition and role labels of every article of the story, in text order."""
    people = collect_people(analyzed)
    per_article: dict[str, list[PersonMention]] = {}
    labels: list[Label] = []
    taken_by_article: dict[str, set[int]] = {}
    for art in analyzed:
        mentions = person_mentions(art.doc, people)
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
    label_heads: dict[str, set[str]] = defaultdict(set)
    for art in analyzed:
        for lab in labels:
            if lab.article != art.id:
                continue
            span = art.doc.char_span(lab.start, lab.end, alignment_mode="expand")
            if span is not None:
                label_heads[lab.entity].update(t.lemma_.lower() for t in span if t.pos_ in {"NOUN", "PROPN"})
    roles = PERSON_ROLE_NOUNS
    for art in analyzed:
        labels += role_labels(art, per_article[art.id], label_heads, roles, taken_by_article[art.id])
    seen: set[tuple[str, str, int, int]] = set()
    unique = []
    for lab in sorted(labels, key=lambda x: (x.article, x.start, x.end, x.entity)):
        key = (lab.article, lab.entity, lab.start, lab.end)
        if key not in seen:
            seen.add(key)
            unique.append(lab)
    return unique


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


def attribution_verbs(analyzed: Sequence[AnalyzedArticle], quotes: Sequence[Quote]) -> list[AttributionVerb]:
    """Report verbs per article and lemma, with one mention per occurrence.

    1. each quote rendering's cue is located as the nearest verb with that form in the rendering's
       sentence;
    2. every report verb with a clausal complement, a quotation or "in a statement" is added;
    3. occurrences are grouped by lemma per article and classed ``neutral`` or ``loaded``.
    """
    found: dict[str, dict[int, Token]] = {art.id: {} for art in analyzed}
    by_id = {art.id: art for art in analyzed}
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
) -> Framing:
    """Labels, attribution verbs, loaded spans and densities of a story's articles."""
    detector = detector or load_default()
    loaded: list[LoadedSpan] = []
    density = []
    for art in analyzed:
        spans = detector.spans(art)
        loaded += spans
        density.append(loaded_density(art, spans))
    return Framing(
        labels=tuple(find_labels(analyzed)),
        attribution_verbs=tuple(attribution_verbs(analyzed, quotes)),
        loaded=tuple(loaded),
        density=tuple(density),
    )
