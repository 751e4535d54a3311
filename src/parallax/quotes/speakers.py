"""Speaker finding: the persons of a story (:func:`speaker_context`), the subject of a cue verb,
pronouns and descriptions resolved to persons, and speakers found without a governing cue."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from parallax.framing import PERSON_ROLE_NOUNS
from parallax.quotes.lexicon import (
    _CLIMB_DEPS,
    _FEMALE_NAMES,
    _HONORIFICS,
    _MALE_NAMES,
    _NAME_ENTS,
    _OTHER_PRONOUNS,
    _PERSON_PRONOUNS,
    _POSSESSIVES,
    _ROLE_GENDER,
    _SUBJECT_DEPS,
    _clean_name,
)
from parallax.quotes.marks import MarkedQuote
from parallax.records import AnalyzedArticle

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token


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
        story_weight: float = 5.0,
        named_in_quote: float = 0.3,
        matrix_bonus: float = 150.0,
        continuity_bonus: float = 150.0,
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
        self.continuity_bonus = continuity_bonus
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

    def name_of(
        self, tok: Token, *, avoid: frozenset[str] = frozenset(), prefer: str | None = None
    ) -> tuple[str | None, int, int]:
        """The speaker named by subject token ``tok``: (name, local start, local end).

        ``avoid`` holds persons named inside the quotation: a pronoun seldom refers to them;
        ``prefer`` the speaker of the quotation just before: a pronoun often does (see :meth:`_rank`).
        """
        doc = self.doc
        if (
            tok.lower_ in ("who", "that", "which")
            and tok.head.dep_ == "relcl"
            and tok.head.head is not tok.head
        ):
            # relative clause: "Milano, who said ..." -> Milano, located at the local "who"; on an
            # apposition ("Scott Reed, the group's strategist, who added ...") the name it describes
            antecedent = tok.head.head
            while antecedent.dep_ == "appos" and antecedent.head.i != antecedent.i:
                antecedent = antecedent.head
            name, start, end = self.name_of(antecedent, avoid=avoid, prefer=prefer)
            if _named_speaker(doc, name, start, end)[0] is None:
                return name, start, end
            return name, tok.idx, tok.idx + len(tok.text)
        if tok.pos_ == "PRON" or tok.lower_ in _PERSON_PRONOUNS:
            span = (tok.idx, tok.idx + len(tok.text))
            gender = _PERSON_PRONOUNS.get(tok.lower_)
            if gender is None:
                return tok.text, *span
            return self.resolve_pronoun(tok.i, gender, avoid=avoid, prefer=prefer) or tok.text, *span
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

    def _rank(self, i: int, gender: str, avoid: frozenset[str], prefer: str | None = None) -> str | None:
        """The most salient compatible person before token ``i``.

        Steps: 1. every mention in the pronoun's sentence (before it) and the ``window`` sentences
        before adds ``(100 + role weight) * decay ** distance`` to its person, and the main-clause
        subject of the pronoun's own sentence ``matrix_bonus`` more ("Lee told the paper that
        Biden had touched her": the matrix subject is the preferred antecedent, and a person
        mentioned often in earlier sentences must not outweigh it); 2. persons of known
        other gender are out; 3. story salience adds ``story_weight * log2(1 + mentions)``, persons
        named inside the quotation being attributed are damped, and ``prefer`` (the speaker of the
        quotation just before, when the pronoun is a quotation's speaker: "“A,” said Lee. “B,” he
        said.") gains ``continuity_bonus``; 4. with no candidate in the window, the person
        mentioned most often before ``i`` (compatible) is taken.
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
        if prefer is not None and self.compatible(prefer, gender):
            scores[prefer] = scores.get(prefer, 0.0) + self.continuity_bonus
        if scores:
            return max(scores.items(), key=lambda x: (x[1], -len(x[0])))[0]
        # 4. the most frequent earlier person
        counts = Counter(m.name for m in self.mentions[:hi] if self.compatible(m.name, gender))
        return counts.most_common(1)[0][0] if counts else None

    def resolve_pronoun(
        self, i: int, gender: str, *, avoid: frozenset[str] = frozenset(), prefer: str | None = None
    ) -> str | None:
        """The person the he/she pronoun at token ``i`` refers to (see :meth:`_rank`)."""
        return self._rank(i, gender, avoid, prefer)

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
        self, verb: Token, *, avoid: frozenset[str] = frozenset(), prefer: str | None = None
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
                return self.name_of(best, avoid=avoid, prefer=prefer)
            for child in node.children:
                if child.dep_ == "agent":
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            return self.name_of(grand, avoid=avoid, prefer=prefer)
            # "Lee, who said ...", and a cue after a noun phrase the parser hung on it as a
            # participle ('“...!” the nominee, Ann Lee, tweeted Sunday')
            on_noun = node.head.pos_ in ("PROPN", "NOUN")
            if on_noun and (
                node.dep_ == "relcl"
                or (node.dep_ == "acl" and node.tag_ in ("VBD", "VBN") and node.i > node.head.i)
            ):
                return self.name_of(node.head, avoid=avoid, prefer=prefer)
            if node.dep_ not in _CLIMB_DEPS or node.head is node:
                break
            node = node.head
        return self._adjacent_person(verb)

    def _adjacent_person(self, verb: Token) -> tuple[str | None, int | None, int | None]:
        """A cue the parser left without a subject, right after a person's name (a parenthetical
        or an apposition set off by commas between them allowed): "Sen. Ann Lee (D-MA) said ..."
        misparsed with the name as an apposition of a fronted phrase, '“...,” Ann Lee, a top
        adviser, said' with the name taken into the quotation's clause. The name is the subject."""
        doc = self.doc
        i = verb.i - 1
        while i >= 0 and doc[i].pos_ in ("AUX", "ADV", "PART") and verb.i - i <= 3:
            i -= 1  # "Lee has also said", "Lee did not say"
        for close, opening_mark in ((")", "("), (",", ",")):
            if i >= 0 and doc[i].text == close:
                opening = next(
                    (j for j in range(i - 1, max(-1, i - 12), -1) if doc[j].text == opening_mark), None
                )
                if opening is None:
                    return None, None, None
                i = opening - 1
        if i < 0 or self.inside[i]:
            return None, None, None
        found = self.person_at(doc[i])
        if found is None:
            return None, None, None
        return found


def _cue_text(verb: Token) -> str:
    particles = [c.lower_ for c in verb.children if c.dep_ == "prt"]
    return " ".join([verb.lemma_.lower(), *particles])


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


def _governing_speaker(
    doc: Doc, att: _Attributor, first: int, last: int
) -> tuple[str | None, int | None, int | None]:
    """'Lee dismissed the report as “absurd.”', 'Lee thanked him for “stepping up.”': a quotation
    no reporting verb governs but which sits in the clause of a verb whose subject is a named
    person or group (or a pronoun standing for one) is that subject's words (PolNeAR annotates
    such mixed attributions with the verb as cue). The verbs governing the quotation's root are
    tried nearest first; a subject that is a noun phrase naming no one ("the rival campaign") is
    returned for the caller to keep as the speaker phrase, other subjects ("it") give nothing."""
    # token identity is by index: spaCy builds a new Token object on every ``.head``
    root = next((t for t in doc[first : last + 1] if not first <= t.head.i <= last or t.head.i == t.i), None)
    node = root.head if root is not None and root.head.i != root.i else None
    while node is not None and not att.inside[node.i]:
        if node.pos_ in ("VERB", "AUX"):
            name, start, end = att.speaker_of_cue(node)
            if name is not None and start is not None and end is not None:
                if _named_speaker(doc, name, start, end)[0] is not None or _group_phrase(doc, start, end):
                    return name, start, end
                return None, None, None
        if node.head.i == node.i:
            break
        node = node.head
    return None, None, None


def _group_phrase(doc: Doc, start: int, end: int) -> bool:
    """A subject that names no one but is a noun phrase headed by a noun ("the Sanders campaign",
    "the pro-ethanol group"): it is kept as the speaker phrase of the quotation it governs, rather
    than letting the quotation inherit a neighbour's speaker."""
    span = doc.char_span(start, end, alignment_mode="expand")
    return span is not None and len(span) > 1 and span.root.pos_ in ("NOUN", "PROPN")


_NP_START = frozenset({"DET", "PROPN", "NOUN", "PRON", "ADJ", "NUM"})


def _trailing_speaker(
    doc: Doc, att: _Attributor, last: int, *, reach: int = 8
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
        # inverted: the noun phrase after the verb, up to its head; a name in it is the speaker
        # even when the small model splits the phrase ("said Oversight ranking Democrat Elijah
        # Cummings": the last word of the first run of proper nouns)
        noun: Token | None = None
        name: Token | None = None
        for tok in window[1:]:
            if tok.pos_ == "PROPN":
                name = tok
            elif name is not None and tok.tag_ != "POS":
                break
            elif tok.tag_ == "POS":
                name = None  # "Clinton's spokesman Nick Merrill": the possessor is not the speaker
            elif tok.pos_ in ("NOUN", "PRON"):
                noun = noun or tok
            elif tok.pos_ not in _NP_START and tok.tag_ != "VBG":
                break
        pick = name or noun
        if pick is None:
            return None, None, None
        while pick.dep_ in ("compound", "flat") and pick.head.i > pick.i:
            pick = pick.head
        return att.name_of(pick)
    if first.pos_ in _NP_START:
        for tok in window[1:]:
            if tok.pos_ == "VERB":
                head = doc[tok.i - 1]
                if head.pos_ in ("PROPN", "NOUN", "PRON"):
                    return att.name_of(head)
                return None, None, None
    return None, None, None


def _headline_speaker(
    doc: Doc,
    text: str,
    att: _Attributor,
    m: MarkedQuote,
    *,
    max_words: int = 20,
    min_capitalised: float = 0.6,
) -> tuple[str | None, int | None, int | None]:
    """'Gina Rodriguez Questioned What It Means To Be “Latino Enough.”': in a headline line (a
    paragraph of at most ``max_words`` words, at least ``min_capitalised`` of them capitalised, the
    quotation ending it) the person named at the start of the line speaks."""
    lo = text.rfind("\n", 0, m.open_mark) + 1
    hi = text.find("\n", m.close_mark)
    hi = len(text) if hi < 0 else hi
    if text[m.close_mark + 1 : hi].strip(' .!?”"') or any(c in ".?!" for c in text[lo : m.open_mark]):
        return None, None, None
    words = re.findall(r"[^\W\d_]+", text[lo : m.open_mark])
    if not words or len(words) > max_words:
        return None, None, None
    if sum(w[0].isupper() for w in words) < min_capitalised * len(words):
        return None, None, None
    span = doc.char_span(lo, m.open_mark, alignment_mode="contract")
    if span is None or not len(span):
        return None, None, None
    # the name opening the line: in title case every word looks like a proper noun (and the
    # model may take "Gina Rodriguez Questioned" for one name), so the first word of the opening
    # run that is the surname of a person of the article or story ends the name
    found: tuple[str, int, int] | None = None
    for tok in span:
        if tok.pos_ != "PROPN" and tok.ent_type_ != "PERSON":
            break
        key = _clean_name(tok.text).lower()
        if key in att.local or key in att.story.full:
            found = att.resolve(tok.text), span[0].idx, tok.idx + len(tok)
            break
    return found if found is not None else (None, None, None)


def _colon_speaker(
    doc: Doc, text: str, att: _Attributor, m: MarkedQuote, first: int
) -> tuple[str | None, int | None, int | None]:
    """'X: “...”' with no verb: the noun phrase right before the colon speaks.

    When that phrase is the object of a verb whose subject is a person ("Lee issued the following
    statement: “...”", "Lee posted a message:"), the text is what the subject said: the subject speaks.
    """
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
    verb = tok.head
    if tok.dep_ == "dobj" and verb.pos_ == "VERB" and att.person_at(tok) is None:
        subjects = [c for c in verb.children if c.dep_ in _SUBJECT_DEPS and not att.inside[c.i]]
        if any(att.person_at(c) is not None or c.lower_ in _PERSON_PRONOUNS for c in subjects):
            return att.speaker_of_cue(verb)
    return att.name_of(tok)
