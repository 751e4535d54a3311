"""Stage 6: conflicts, i.e. outlets that disagree on a checkable value about the same thing.

Cascade of :func:`find_conflicts`:

1. Per article: timexes (anchored at the publication date when known) and typed values
   (:mod:`parallax.values`), each placed in its sentence; per sentence a *context* of entity
   keys (PERSON/ORG/... surnames or names, lower case) from the paragraph up to the sentence (at
   least the sentence before it), because the sentence carrying a value often names nobody
   ("The incident occurred during a 2019 fundraiser") while the ones before name the people.
2. A value is a *slot filler* when it attaches to a noun (the event noun: "a 2009 *fundraiser*",
   "two *women*") or to a non-reporting verb. Its slot key is (kind, unit, head lemma).
3. Two fillers of one key from different articles are linked when their sentences belong to one
   aligned fact, or (noun heads only) when their contexts share an entity that is not ubiquitous
   in the story (one named in at most ``ubiquity`` of all sentences, or in at most 3: the story's main actor
   names every event and so proves nothing), or (any head, verbs included) when the two
   sentences themselves share two rare entities. Linked fillers form connected components: one
   component is one event slot.
4. In a slot, an article that gives incompatible values itself is dropped (it talks about
   several events). The rest are grouped into agreement classes with tolerant rules
   (:func:`parallax.values.values_agree`: granularity, approximation bands, units).
5. A conflict needs two classes that fully disagree, carried by different articles: a value
   that only one outlet mentions is never a conflict, nor is a value whose sentence also gives
   the other side's figure or date ("six arrests Wednesday, compared to 47 the night before"
   against "47 arrests"); a place conflict further needs each side's place to be absent from
   the other side's articles.
6. ``about`` is built from the value kind, the event noun and the main person of the shared
   context ("year of the fundraiser Amy Lappos described"); ``confidence`` from the link
   strength (aligned fact, number of shared entities) and the certainty of the values.
7. Speaker conflicts: one quotation attributed to different people across articles (pronouns,
   missing speakers and surname-versus-full-name variants are not disagreements).

Ids are ``c1``, ``c2``, ... in order of decreasing confidence.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from parallax.dates import find_timexes, granularity_of
from parallax.records import AnalyzedArticle, Conflict, ConflictValue, Fact, Mention, Quote, Sentence
from parallax.values import Value, extract_values, values_agree

log = logging.getLogger(__name__)

CONTEXT_LABELS = {"PERSON", "ORG", "NORP", "GPE", "FAC", "EVENT", "WORK_OF_ART", "LAW"}
#: Verbs that introduce speech: a date on "said" dates the statement, not the event.
REPORTING_VERBS = {
    "say", "tell", "claim", "write", "add", "note", "announce", "tweet", "report", "state", "allege",
    "accuse", "deny", "insist", "argue", "explain", "post", "ask", "reply", "respond", "be", "have",
}  # fmt: skip
PRONOUNS = {"he", "she", "they", "it", "i", "we", "you", "him", "her", "them", "who", "one"}


@dataclass(frozen=True, slots=True)
class _Filler:
    """A value in one article's sentence, with what it is about (step 1-2)."""

    article: str
    sentence: Sentence
    value: Value
    key: tuple[str, str, str]
    head_text: str
    context: frozenset[str]
    facts: frozenset[str]
    own: frozenset[str] = frozenset()  # entity keys of the sentence itself
    neighbours: tuple[Value, ...] = ()  # every value of the sentence, checkable or not


def entity_key(text: str, label: str) -> str:
    """A comparable key for an entity: a person's or organisation's last word, else its name."""
    cleaned = re.sub(r"[’']s$", "", text.strip()).strip(" .,")
    words = cleaned.split()
    if not words:
        return ""
    if label in ("PERSON", "ORG"):
        return words[-1].lower()
    return cleaned.lower()


def _sentence_of(sentences: Sequence[Sentence], pos: int) -> Sentence | None:
    lo, hi = 0, len(sentences) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        s = sentences[mid]
        if pos < s.start:
            hi = mid - 1
        elif pos >= s.end:
            lo = mid + 1
        else:
            return s
    return None


def _sentence_keys(sentence: Sentence) -> set[str]:
    return {entity_key(e.text, e.label) for e in sentence.entities if e.label in CONTEXT_LABELS} - {""}


def _paragraph_starts(art: AnalyzedArticle) -> list[int]:
    """Per sentence, the index of the sentence its context starts at: the paragraph's first
    sentence, or the previous sentence when the paragraph starts here."""
    text = art.article.text
    out: list[int] = []
    first = 0
    for s in art.sentences:
        if s.index > 0 and "\n" in text[art.sentences[s.index - 1].end : s.start]:
            first = s.index
        out.append(max(0, s.index - 1) if first == s.index else first)
    return out


@dataclass(frozen=True, slots=True)
class StoryContext:
    """Entity contexts of every sentence of a story (step 1), shared with the timeline stage.

    ``contexts[(article, sentence index)]`` are the entity keys of the paragraph up to that
    sentence; ``rare`` the keys named in at most ``ubiquity`` of the story's sentences;
    ``names`` the longest written form of each person key.
    """

    contexts: dict[tuple[str, int], frozenset[str]]
    rare: frozenset[str]
    names: dict[str, str]


def story_context(analyzed: Sequence[AnalyzedArticle], *, ubiquity: float = 0.25) -> StoryContext:
    """Entity contexts and rare entities of a story (step 1 of :func:`find_conflicts`)."""
    contexts: dict[tuple[str, int], frozenset[str]] = {}
    df: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    total = 0
    for art in analyzed:
        keys_per_sentence = [_sentence_keys(s) for s in art.sentences]
        paragraph_start = _paragraph_starts(art)
        total += len(art.sentences)
        for s, keys in zip(art.sentences, keys_per_sentence, strict=True):
            for k in keys:
                df[k] += 1
            for e in s.entities:
                if e.label == "PERSON":
                    k = entity_key(e.text, e.label)
                    if len(e.text) > len(names.get(k, "")) and not e.text.isupper():
                        names[k] = re.sub(r"[’']s$", "", e.text.strip())
            context: set[str] = set()
            for k2 in range(paragraph_start[s.index], s.index + 1):
                context |= keys_per_sentence[k2]
            contexts[(art.id, s.index)] = frozenset(context)
    # a name in at most 3 sentences is rare whatever the story's size (short stories have few sentences)
    rare = frozenset(k for k, v in df.items() if v <= max(ubiquity * total, 3))
    return StoryContext(contexts=contexts, rare=rare, names=names)


def _fact_index(
    facts: Sequence[Fact], analyzed: Sequence[AnalyzedArticle]
) -> dict[tuple[str, int], set[str]]:
    """(article, sentence index) -> ids of the facts whose mentions lie in that sentence."""
    sentences = {a.id: a.sentences for a in analyzed}
    out: dict[tuple[str, int], set[str]] = defaultdict(set)
    for fact in facts:
        if len(fact.articles) < 2:
            continue
        for m in fact.mentions:
            index = m.sentence
            if index is None:
                sent = _sentence_of(sentences.get(m.article, ()), m.start)
                index = sent.index if sent is not None else None
            if index is not None:
                out[(m.article, index)].add(fact.id)
    return out


def _fillers(
    analyzed: Sequence[AnalyzedArticle],
    fact_index: dict[tuple[str, int], set[str]],
    story: StoryContext,
    *,
    places: bool = False,
) -> list[_Filler]:
    """Step 2: the slot fillers of all articles.

    Dates written without a digit ("Tuesday", "last week") are left out: they are resolved
    against each article's own publication date, and a wrong or differing date line would turn
    one event into a false disagreement. Places are left out unless ``places``: without a
    gazetteer, name variants ("Ft. Myers"/"Fort Myers") and containment ("U.S."/"St. Louis")
    produce more false conflicts than true ones on the BASIL stories.
    """
    fillers: list[_Filler] = []
    for art in analyzed:
        timexes = find_timexes(art.doc, anchor=art.article.published_date)
        values = extract_values(art.doc, timexes=timexes)
        by_sentence: dict[int, list[Value]] = defaultdict(list)
        for value in values:
            sent = _sentence_of(art.sentences, value.start)
            if sent is not None:
                by_sentence[sent.index].append(value)
        for value in values:
            if value.head is None or value.head_index is None:
                continue
            if value.kind == "date" and not any(c.isdigit() for c in value.text):
                continue
            if value.kind == "place" and not places:
                continue
            if value.head_pos in ("VERB", "AUX") and (value.head in REPORTING_VERBS or value.kind == "place"):
                continue
            sent = _sentence_of(art.sentences, value.start)
            if sent is None:
                continue
            unit = "" if value.kind == "date" else value.unit or ""
            fillers.append(
                _Filler(
                    article=art.id,
                    sentence=sent,
                    value=value,
                    key=(value.kind, unit, value.head),
                    head_text=art.doc[value.head_index].text,
                    context=story.contexts.get((art.id, sent.index), frozenset()),
                    facts=frozenset(fact_index.get((art.id, sent.index), ())),
                    own=frozenset(_sentence_keys(sent)),
                    neighbours=tuple(by_sentence[sent.index]),
                )
            )
    return fillers


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def _links(fillers: Sequence[_Filler], rare: frozenset[str]) -> list[tuple[int, int, set[str], set[str]]]:
    """Step 3: pairs of fillers (indices) of one key in different articles about the same event."""
    by_key: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, f in enumerate(fillers):
        by_key[f.key].append(i)
    out = []
    for members in by_key.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                a, b = fillers[i], fillers[j]
                if a.article == b.article:
                    continue
                shared_facts = set(a.facts & b.facts)
                shared_entities = set(a.context & b.context & rare)
                noun_head = a.value.head_pos in ("NOUN", "PROPN") and b.value.head_pos in ("NOUN", "PROPN")
                # a verb ("left the F.B.I. in 2006") is generic: its sentences themselves must share
                # two rare names when no aligned fact ties them
                verb_tied = len(a.own & b.own & rare) >= 2
                if shared_facts or (noun_head and shared_entities) or verb_tied:
                    out.append((i, j, shared_facts, shared_entities))
    return out


@dataclass(frozen=True, slots=True)
class ValueLink:
    """Two values in different articles that Parallax treats as the same slot of the same event."""

    article_a: str
    value_a: Value
    article_b: str
    value_b: Value


def value_links(
    analyzed: Sequence[AnalyzedArticle], facts: Sequence[Fact], *, ubiquity: float = 0.25
) -> list[ValueLink]:
    """All linked value pairs of a story (steps 1-3), for evaluations and explanations."""
    story = story_context(analyzed, ubiquity=ubiquity)
    fillers = _fillers(analyzed, _fact_index(facts, analyzed), story)
    return [
        ValueLink(fillers[i].article, fillers[i].value, fillers[j].article, fillers[j].value)
        for i, j, _, _ in _links(fillers, story.rare)
    ]


def find_conflicts(
    analyzed: Sequence[AnalyzedArticle],
    facts: Sequence[Fact],
    quotes: Sequence[Quote],
    *,
    ubiquity: float = 0.25,
    min_confidence: float = 0.0,
    places: bool = False,
) -> list[Conflict]:
    """Disagreements on checkable values and on who said a quotation (see the module docstring).

    ``places`` turns on place conflicts (off by default, see :func:`_fillers`).
    """
    # 1-2. fillers with their contexts
    story = story_context(analyzed, ubiquity=ubiquity)
    fact_index = _fact_index(facts, analyzed)
    fillers = _fillers(analyzed, fact_index, story, places=places)
    rare, names = story.rare, story.names

    # 3. link fillers of one key across articles; components are event slots
    uf = _UnionFind(len(fillers))
    link_facts: dict[int, set[str]] = defaultdict(set)
    link_entities: dict[int, set[str]] = defaultdict(set)
    for i, j, shared_facts, shared_entities in _links(fillers, rare):
        uf.union(i, j)
        link_facts[i] |= shared_facts
        link_facts[j] |= shared_facts
        link_entities[i] |= shared_entities
        link_entities[j] |= shared_entities
    slots: dict[int, list[int]] = defaultdict(list)
    for i in range(len(fillers)):
        slots[uf.find(i)].append(i)

    conflicts: list[Conflict] = []
    texts = {a.id: a.article.text.lower() for a in analyzed}
    for members in slots.values():
        if len({fillers[i].article for i in members}) < 2:
            continue
        conflict = _slot_conflict(
            [fillers[i] for i in members],
            facts={f for i in members for f in link_facts[i]},
            entities={e for i in members for e in link_entities[i]},
            names=names,
            texts=texts,
        )
        if conflict is not None:
            conflicts.append(conflict)

    # 7. speakers
    conflicts.extend(_speaker_conflicts(quotes, people=set(names), texts=texts))

    conflicts = [c for c in conflicts if c.confidence >= min_confidence]
    conflicts.sort(key=lambda c: (-c.confidence, c.kind, c.about, c.values[0].normalized))
    return [
        Conflict(
            id=f"c{n}", kind=c.kind, about=c.about, values=c.values, confidence=c.confidence, facts=c.facts
        )
        for n, c in enumerate(conflicts, 1)
    ]


def _slot_conflict(
    members: list[_Filler],
    *,
    facts: set[str],
    entities: set[str],
    names: dict[str, str],
    texts: dict[str, str],
) -> Conflict | None:
    """Steps 4-6 for one event slot."""
    # 4. drop self-contradicting articles, then agreement classes (finest values first)
    per_article: dict[str, list[_Filler]] = defaultdict(list)
    for f in members:
        per_article[f.article].append(f)
    kept: list[_Filler] = []
    for art_fillers in per_article.values():
        if all(
            values_agree(x.value, y.value) is not False
            for n, x in enumerate(art_fillers)
            for y in art_fillers[n + 1 :]
        ):
            kept.extend(art_fillers)
    kept.sort(key=lambda f: (-_precision(f.value), f.article, f.value.start))
    classes: list[list[_Filler]] = []
    for f in kept:
        for cls in classes:
            if all(values_agree(f.value, g.value) for g in cls):
                cls.append(f)
                break
        else:
            classes.append([f])

    # 5. classes that fully disagree, carried by disjoint article sets
    def disagree(c1: list[_Filler], c2: list[_Filler]) -> bool:
        if {f.article for f in c1} & {f.article for f in c2}:
            return False
        if any(values_agree(x.value, y.value) is not False for x in c1 for y in c2):
            return False
        if any(_states(x, y.value) or _states(y, x.value) for x in c1 for y in c2):
            return False
        if c1[0].value.kind == "place":
            return not any(
                y.value.normalized.lower() in texts[x.article]
                or x.value.normalized.lower() in texts[y.article]
                for x in c1
                for y in c2
            )
        return True

    sides = [c for c in classes if any(disagree(c, d) for d in classes if d is not c)]
    if len(sides) < 2:
        return None
    coarse = min(_precision(c[0].value) for c in sides)
    values = tuple(_conflict_value(c, coarse) for c in sides)
    if len({a for v in values for a in v.articles}) < 2:
        return None

    # 6. about and confidence
    first = sides[0][0]
    certainty = sum(f.value.certainty for c in sides for f in c) / sum(len(c) for c in sides)
    strength = 0.55 + (0.25 if facts else 0.0) + 0.08 * min(len(entities), 2)
    kind_factor = 0.6 if first.value.kind == "place" else 1.0
    confidence = round(max(0.05, min(0.99, strength * certainty * kind_factor)), 3)
    return Conflict(
        id="",
        kind=first.value.kind,
        about=_about(sides, entities, names),
        values=values,
        confidence=confidence,
        facts=tuple(sorted(facts)),
    )


def _states(filler: _Filler, value: Value) -> bool:
    """Whether the filler's sentence also gives ``value`` (as any number or date, attached to
    anything): "six arrests Wednesday, compared to 47 the previous night" does not contradict
    "47 arrests overnight", it reports both figures."""
    for other in filler.neighbours:
        if other.start == filler.value.start:
            continue
        if value.kind == "date" and other.kind == "date":
            if other.normalized == value.normalized:
                return True
        elif value.kind not in ("date", "place") and other.amount is not None:
            assert value.low is not None and value.high is not None
            if value.low - 1e-9 <= other.amount <= value.high + 1e-9:
                return True
    return False


def _precision(value: Value) -> int:
    if value.kind != "date":
        return 0
    order = ("decade", "year", "season", "quarter", "month", "week", "day")
    gran = granularity_of(value.normalized)
    return order.index(gran) if gran in order else 0


_TRUNCATE = {1: 4, 4: 7}  # precision index -> length of the value at that granularity (year, month)


def _conflict_value(cls: list[_Filler], coarse: int) -> ConflictValue:
    """One side of a conflict; a date is shown at the granularity the sides disagree at."""
    best = cls[0]
    normalized = best.value.normalized
    if best.value.kind == "date" and coarse in _TRUNCATE and coarse < _precision(best.value):
        normalized = normalized[: _TRUNCATE[coarse]]
        best = next((f for f in cls if f.value.normalized == normalized), best)
    evidence = tuple(
        Mention(
            article=f.article,
            start=f.sentence.start,
            end=f.sentence.end,
            text=f.sentence.text,
            sentence=f.sentence.index,
        )
        for f in sorted(cls, key=lambda f: (f.article, f.value.start))
    )
    return ConflictValue(
        value=best.value.text,
        normalized=normalized,
        articles=tuple(sorted({f.article for f in cls})),
        evidence=evidence,
    )


def _about(sides: list[list[_Filler]], entities: set[str], names: dict[str, str]) -> str:
    """Step 6: "year of the fundraiser Amy Lappos described" style descriptions."""
    first = sides[0][0]
    value = first.value
    noun = value.head or "event"
    if value.kind == "date":
        gran = min((c[0].value for c in sides), key=_precision).normalized
        gran = granularity_of(gran)
        attr = {"decade": "decade", "year": "year", "month": "month"}.get(gran, "date")
    elif value.kind == "count":
        return f"number of {first.head_text.lower()}" + _who(entities, names, " according to ")
    else:
        attr = {"money": "amount", "percent": "percentage", "number": "figure", "place": "place"}[value.kind]
    person = _who(entities, names, "")
    if first.value.head_pos in ("VERB", "AUX"):
        return f"{attr} when {person + ' ' if person else 'it '}{noun}".strip()
    return f"{attr} of the {noun}" + (f" {person} described" if person else "")


def _who(entities: set[str], names: dict[str, str], prefix: str) -> str:
    people = sorted((names[k] for k in entities if k in names), key=lambda n: (-len(n), n))
    return prefix + people[0] if people else ""


def _speaker_key(speaker: str | None) -> str | None:
    if not speaker:
        return None
    words = re.sub(r"[’']s$", "", speaker.strip()).split()
    if not words or words[-1].lower() in PRONOUNS or not words[-1][:1].isupper():
        return None
    return words[-1].lower().strip(".,")


def _speaker_conflicts(quotes: Sequence[Quote], *, people: set[str], texts: dict[str, str]) -> list[Conflict]:
    """Step 7: the same quotation attributed to different named speakers in different articles.

    Speakers must be people the story names (PERSON entities), and an article on one side must
    never name the other side's speaker: an article naming both more likely reports a spokesman
    and the person he speaks for than a disagreement.
    """
    out: list[Conflict] = []
    for quote in quotes:
        by_key: dict[str, list[tuple[str, str, Mention]]] = defaultdict(list)
        for r in quote.renderings:
            key = _speaker_key(r.speaker)
            if key is None or r.speaker is None or key not in people:
                continue
            by_key[key].append(
                (r.article, r.speaker, Mention(article=r.article, start=r.start, end=r.end, text=r.text))
            )
        if len(by_key) < 2:
            continue
        arts = [{a for a, _, _ in v} for v in by_key.values()]
        if any(x & y for n, x in enumerate(arts) for y in arts[n + 1 :]):
            continue  # one article gives both: more likely two speakers than a disagreement
        keys = list(by_key)
        if any(
            re.search(rf"\b{re.escape(other)}\b", texts[a])
            for key, items in by_key.items()
            for other in keys
            if other != key
            for a, _, _ in items
        ):
            continue
        values = tuple(
            ConflictValue(
                value=max((s for _, s, _ in items), key=len),
                normalized=key,
                articles=tuple(sorted({a for a, _, _ in items})),
                evidence=tuple(m for _, _, m in items),
            )
            for key, items in sorted(by_key.items())
        )
        words = quote.text.split()
        snippet = " ".join(words[:8]) + (" ..." if len(words) > 8 else "")
        out.append(
            Conflict(
                id="",
                kind="speaker",
                about=f"speaker of the quotation “{snippet}”",
                values=values,
                confidence=0.6,
            )
        )
    return out
