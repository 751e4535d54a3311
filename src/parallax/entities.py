"""One name per person within a story: the people of a story, their canonical names and mentions.

Outlets name one person in many ways: "Susan Rice", "Susan E. Rice", "Rice", "Ambassador Rice",
"Mr. Kim" for "Kim Jong-un", "SUSAN RICE" in a headline, "José Díaz" and "Jose Diaz". A
:class:`PeopleIndex` groups these forms into one entity per person, so that labels (framing),
quote speakers, conflicts and the timeline speak of one "Susan Rice". Its small API:

* :meth:`PeopleIndex.build` from the analysed articles of a story;
* :meth:`PeopleIndex.canonical` turns any name string (a speaker, a label's owner) into the
  canonical name, or returns it tidied when it names no one the index knows;
* :meth:`PeopleIndex.entity_id` gives the entity's stable id; :meth:`PeopleIndex.mentions` the
  token ranges of an article that name a person; :meth:`PeopleIndex.entities` the typed records
  the report lists.

Grouping (:meth:`PeopleIndex.build`), numbered as in the code:

1. full names: PERSON entities of two or more capitalised words once titles and honorifics
   before them ("President", "Ambassador", "Mr.") and generational suffixes ("Jr.") are dropped;
   a name inside a photo credit is no person of the story (:func:`is_credit`);
2. full names sharing a folded surname (case and accents ignored, hyphens as spaces) are one
   person when their given names agree (same first word, or an initial of it: "Susan E. Rice" =
   "Susan Rice" = "S. Rice"); the most frequent two-word form is the canonical name;
3. a bare surname points at the one person carrying it; when several do (Bill and Hillary
   Clinton), it points at one only if that one's full name is used at least
   :data:`SURNAME_DOMINANCE` times as often as each other's, else at no one;
4. a bare first word points at its person when it is no one's surname and no other person has
   that first word (or, as in step 3, that person dominates): names written surname first
   ("Mr. Kim", "President Xi") and first-name references ("Hillary") resolve;
   (1b. a person the story names only by one word, twice, once after a title, is a person too.)
5. mentions are runs of proper nouns (or PERSON entities, for hyphenated names the tagger splits)
   whose longest final part is a known form: "Ambassador Rice" -> "Rice" -> Susan Rice.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from parallax.records import AnalyzedArticle, Label, StoryEntity

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

#: Honorifics stripped from names before canonicalisation.
HONORIFICS = frozenset({"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "sen", "sen.", "rep", "rep."})
#: Titles and offices that may open a name ("President Moon Jae-in", "Ambassador Rice"): dropped
#: before a name is grouped, never taken as a given name.
TITLES = HONORIFICS | frozenset(
    {
        "president",
        "vice",
        "prime",
        "minister",
        "premier",
        "chancellor",
        "senator",
        "congressman",
        "congresswoman",
        "representative",
        "gov",
        "gov.",
        "governor",
        "gen",
        "gen.",
        "general",
        "adm.",
        "admiral",
        "col.",
        "colonel",
        "lt.",
        "capt.",
        "sgt.",
        "secretary",
        "ambassador",
        "director",
        "judge",
        "justice",
        "mayor",
        "chairman",
        "chairwoman",
        "speaker",
        "leader",
        "former",
        "first",
        "lady",
        "pope",
        "king",
        "queen",
        "prince",
        "princess",
        "sir",
        "dame",
        "lord",
        "rev.",
        "reverend",
        "attorney",
        "chief",
        "deputy",
        "supreme",
        "dictator",
        "commander",
        "sheriff",
        "officer",
        "agent",
        "special",
        "counsel",
        "then",
        "u.s.",
        "us",
    }
)
#: Generational suffixes after a surname ("Donald Trump Jr."): not the surname.
SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
#: Words that open a photo credit or name an image agency: a name beside them is a credit
#: ("(Jane Roe/Getty Images)", "Photo by Jane Roe"), not a person of the story.
CREDIT_WORDS = frozenset(
    {"images", "image", "photo", "photos", "photograph", "pool", "wireimage", "credit", "courtesy", "file"}
)
#: Step 3: how many times more often the dominant person of a shared surname must be named in
#: full before the bare surname is given to them. 3 keeps "Trump" on Donald Trump in a story
#: that names Ivanka Trump once, and leaves "Clinton" unresolved when both Clintons are named.
SURNAME_DOMINANCE = 3.0

_APOSTROPHE_S = re.compile(r"[’']s?$")


def fold(text: str) -> str:
    """The key two spellings of one name share: accents, case, hyphens and a possessive ignored
    ("José Díaz's" -> "jose diaz"; "Jong-un" -> "jong un")."""
    text = _APOSTROPHE_S.sub("", text.strip())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    return " ".join(text.replace("-", " ").split())


def entity_id_for(name: str) -> str:
    """A stable id of a person's canonical name: "Susan Rice" -> "person:susan-rice"."""
    return "person:" + "-".join(fold(name).replace(".", "").split())


def name_words(words: Sequence[str]) -> list[str]:
    """The words of a name without the titles and honorifics before it, the suffix after it, or
    a possessive ending: ["Ambassador", "Susan", "E.", "Rice's"] -> ["Susan", "E.", "Rice"]."""
    out = [_APOSTROPHE_S.sub("", w) for w in words]
    out = [w for w in out if w and (w[0].isupper() or w[0].isdigit())]
    # through the last title before the name ("NJ Gov Chris Christie", "Former Vice President")
    last = max((i for i, w in enumerate(out[:-1]) if w.lower() in TITLES), default=-1)
    out = out[last + 1 :]
    while out and out[-1].lower() in SUFFIXES:
        out = out[:-1]
    return out


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
    """A run of tokens naming a known person: token indices ``[start, end)``."""

    person: str
    start: int
    end: int
    sentence: int


def _same_person(longer: str, shorter: str) -> bool:
    """Whether two full names with one surname can be one person's: the shorter one's given name
    is the longer one's given name, or its initial, or one of its middle names ("Blasey Ford" and
    "Christine Blasey Ford"; "S. Rice" and "Susan E. Rice")."""
    a, b = fold(longer).split(), fold(shorter).split()
    given = b[0].rstrip(".")
    first = a[0].rstrip(".")
    if (
        given == first
        or (len(given) == 1 and first.startswith(given))
        or (len(first) == 1 and given.startswith(first))
    ):
        return True
    return given in [w.rstrip(".") for w in a[1:-1]]


@dataclass
class PeopleIndex:
    """The persons of a story: canonical names, the folded forms that point at them, mentions."""

    by_form: dict[str, str] = field(default_factory=dict)  # "rice" / "susan e rice" -> "Susan Rice"
    aliases: dict[str, Counter[str]] = field(default_factory=dict)  # canonical -> surface forms
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # canonical -> article -> mentions
    by_article: dict[str, list[PersonMention]] = field(default_factory=dict)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, analyzed: Sequence[AnalyzedArticle]) -> PeopleIndex:
        """Group the person mentions of a story's articles (steps in the module docstring)."""
        full = _full_names(analyzed)
        index = cls.from_names(full)
        # 1b. people the story only names by one word ("Mr. Obama", "President Obama"); a word
        # that is part of a full name is that name's (or, when ambiguous, no one's)
        parts = {w for name in full for w in fold(name).split()}
        for word in _single_names(analyzed):
            if fold(word) not in parts:
                index.by_form.setdefault(fold(word), word)
        for art in analyzed:
            mentions = index.find_mentions(art.doc)
            index.by_article[art.id] = mentions
            for m in mentions:
                index.counts.setdefault(m.person, Counter())[art.id] += 1
                surface = _APOSTROPHE_S.sub("", " ".join(art.doc[m.start : m.end].text.split()))
                if index.by_form.get(fold(surface)) == m.person:  # a known form, not a tagger's run
                    index.aliases.setdefault(m.person, Counter())[surface] += 1
        return index

    @classmethod
    def from_names(cls, full: Counter[str]) -> PeopleIndex:
        """Steps 2-4 over full names (already without titles) and how often each occurs."""
        index = cls()
        # 2. persons: full names by surname (longest first), split by incompatible given names
        by_surname: defaultdict[str, list[str]] = defaultdict(list)
        for name in full:
            by_surname[fold(name).split()[-1]].append(name)
        persons: list[tuple[str, list[str]]] = []  # (canonical, forms)
        surname_of: dict[str, list[int]] = defaultdict(list)
        for surname, names in sorted(by_surname.items()):
            clusters: list[list[str]] = []
            for name in sorted(names, key=lambda n: (-len(n.split()), -full[n], n)):
                home = next((c for c in clusters if _same_person(c[0], name)), None)
                if home is None:
                    clusters.append([name])
                else:
                    home.append(name)
            for cluster in clusters:
                given = fold(cluster[0]).split()[0]
                pairs = [n for n in cluster if len(n.split()) == 2 and fold(n).split()[0] == given]
                # the most used two-word "Given Surname", else the fullest form
                canon = max(pairs, key=lambda n: (full[n], -len(n))) if pairs else cluster[0]
                surname_of[surname].append(len(persons))
                persons.append((canon, cluster))
        for canon, forms in persons:
            for form in forms:
                index.by_form[fold(form)] = canon
                words = form.split()
                index.by_form[fold(f"{words[0]} {words[-1]}")] = canon  # without middle names
            index.aliases[canon] = Counter()
        weight = {canon: sum(full[f] for f in forms) for canon, forms in persons}
        # 3. bare surnames
        for surname, ids in surname_of.items():
            ranked = sorted((persons[i][0] for i in ids), key=lambda c: -weight[c])
            if len(ranked) == 1 or weight[ranked[0]] >= SURNAME_DOMINANCE * weight[ranked[1]]:
                index.by_form.setdefault(surname, ranked[0])
        # 4. bare first words (surname-first names, first-name references)
        firsts: defaultdict[str, set[str]] = defaultdict(set)
        for canon, forms in persons:
            for form in forms:
                first = fold(form).split()[0]
                if len(first.rstrip(".")) > 1:
                    firsts[first].add(canon)
        for first, owners in firsts.items():
            if first in surname_of or first in TITLES:
                continue
            ranked = sorted(owners, key=lambda c: -weight[c])
            if len(ranked) == 1 or weight[ranked[0]] >= SURNAME_DOMINANCE * weight[ranked[1]]:
                index.by_form.setdefault(first, ranked[0])
        return index

    # --- lookups ----------------------------------------------------------------------------

    def lookup(self, words: Sequence[str]) -> str | None:
        """The person named by the longest final part of ``words`` ("Ambassador Susan Rice")."""
        for i in range(len(words)):
            key = fold(" ".join(words[i:]))
            if key in self.by_form:
                return self.by_form[key]
        return None

    def resolve(self, words: Sequence[str]) -> str | None:
        """Alias of :meth:`lookup` (the name framing used)."""
        return self.lookup(words)

    def canonical(self, name: str) -> str:
        """The canonical name of the person ``name`` denotes ("Susan E. Rice", "Ambassador Rice",
        "SUSAN RICE" -> "Susan Rice"); an unknown name is returned with its spacing tidied."""
        words = name.split()
        found = self.lookup(words) or self.lookup(name_words(words))
        return found or " ".join(words)

    def entity_id(self, name: str) -> str | None:
        """The id of the entity ``name`` denotes, ``None`` when it names no known person."""
        words = name.split()
        found = self.lookup(words) or self.lookup(name_words(words))
        return entity_id_for(found) if found else None

    def mentions(self, article: str) -> list[PersonMention]:
        """The person mentions of one article (token ranges), in text order."""
        return self.by_article.get(article, [])

    def find_mentions(self, doc: Doc) -> list[PersonMention]:
        """Step 5: every run of proper nouns, or PERSON entity, in ``doc`` naming a known person.

        Runs come from the parse rather than the NER so that a name the NER mislabels ("Biden"
        as ORG) is still found; PERSON entities add names the tagger splits ("Kim Jong-un").
        """
        sent_of: list[int] = []
        k = -1
        starts = {s.start for s in doc.sents}
        for tok in doc:
            k += tok.i in starts
            sent_of.append(max(k, 0))
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(doc):
            if doc[i].pos_ != "PROPN":
                i += 1
                continue
            j = i
            while j < len(doc) and doc[j].pos_ == "PROPN":
                j += 1
            spans.append((i, j))
            i = j
        spans += [(e.start, e.end) for e in doc.ents if e.label_ == "PERSON" and not is_credit(e)]
        out: dict[int, PersonMention] = {}
        taken: set[int] = set()
        for i, j in sorted(spans, key=lambda s: (s[0], -s[1])):
            # looked up with a hyphenated continuation ("Moon Jae" + "-in"), but the mention keeps
            # the tokens the parse gives the name, so that its head is the name's head
            k = _hyphen_end(doc, j)
            # the longest final part that names a person ("Jae-in": fold joins the parts)
            for a in range(i, j):
                if doc[a].is_punct:
                    continue
                person = self.by_form.get(fold(doc[a:k].text)) or self.by_form.get(fold(doc[a:j].text))
                if person:
                    if not any(t in taken for t in range(a, j)):
                        out[a] = PersonMention(person=person, start=a, end=j, sentence=sent_of[a])
                        taken.update(range(a, j))
                    break
        return [out[a] for a in sorted(out)]

    # --- the report's entities ----------------------------------------------------------------

    def entities(self) -> tuple[StoryEntity, ...]:
        """One record per person named in the story, most mentioned first."""
        out = []
        for canon, per_article in self.counts.items():
            aliases = sorted(set(self.aliases.get(canon, Counter())) - {canon})
            out.append(
                StoryEntity(
                    id=entity_id_for(canon),
                    name=canon,
                    kind="person",
                    aliases=tuple(aliases),
                    mentions=tuple(sorted(per_article.items())),
                )
            )
        return tuple(sorted(out, key=lambda e: (-sum(n for _, n in e.mentions), e.name)))


def _full_names(analyzed: Iterable[AnalyzedArticle]) -> Counter[str]:
    """Step 1: full names (two or more words once titles are dropped) and how often each occurs.

    Words before the first proper noun are no part of the name (the tagger's "Following Flores");
    a hyphenated name stays one word ("Jong-un"). All-capital forms come from headlines and
    kickers; their mixed-case twin is the one kept.
    """
    full: Counter[str] = Counter()
    for art in analyzed:
        for ent in art.doc.ents:
            if ent.label_ != "PERSON" or is_credit(ent):
                continue
            start = next((t.i for t in ent if t.pos_ == "PROPN"), ent.end)
            text = art.doc[start : _hyphen_end(art.doc, ent.end)].text
            words = name_words(re.sub(r"\s*-\s*", "-", text).split())
            if len(words) >= 2 and not all(w.isupper() for w in words):
                full[" ".join(words)] += 1
    return full


def _single_names(analyzed: Iterable[AnalyzedArticle]) -> list[str]:
    """Step 1b: one-word names (once titles are dropped) of PERSON entities the story uses at
    least twice, one of them after a title or honorific ("Mr. Obama"): a person whose full name
    the story never gives. Grouped forms of full names take precedence over these."""
    seen: Counter[str] = Counter()
    titled: set[str] = set()
    for art in analyzed:
        for ent in art.doc.ents:
            if ent.label_ != "PERSON" or is_credit(ent):
                continue
            words = name_words([t.text for t in ent if t.dep_ != "case"])
            if len(words) != 1 or not words[0][:1].isupper() or words[0].isupper():
                continue
            seen[words[0]] += 1
            before = art.doc[ent.start - 1] if ent.start > 0 else None
            if len(ent) > 1 or (before is not None and before.lower_ in TITLES):
                titled.add(words[0])
    return sorted(w for w, n in seen.items() if n >= 2 and w in titled and w.lower() not in TITLES)


def _hyphen_end(doc: Doc, end: int) -> int:
    """``end`` moved over a hyphenated continuation the tagger left out of a name ("Moon Jae" +
    "-in" -> "Moon Jae-in")."""
    while (
        end + 1 < len(doc)
        and doc[end].text == "-"
        and not doc[end - 1].whitespace_
        and not doc[end].whitespace_
        and doc[end + 1].is_alpha
        and doc[end + 1].is_lower  # "Jae-in", "Jong-un"; not "Trump-Abe"
    ):
        end += 2
    return end


def group_entities(labels: Sequence[Label]) -> tuple[StoryEntity, ...]:
    """One record per group of people the articles name (labels of kind ``group``, see
    :func:`parallax.framing.group_labels`), with its label count per article."""
    counts: dict[str, Counter[str]] = {}
    for lab in labels:
        if lab.kind == "group":
            counts.setdefault(lab.entity, Counter())[lab.article] += 1
    out = [
        StoryEntity(
            id="group:" + "-".join(fold(name).replace(".", "").split()),
            name=name,
            kind="group",
            mentions=tuple(sorted(per.items())),
        )
        for name, per in counts.items()
    ]
    return tuple(sorted(out, key=lambda e: (-sum(n for _, n in e.mentions), e.name)))
