"""Stage 6: conflicts, i.e. outlets that disagree on a checkable value about the same thing.

Cascade of :func:`find_conflicts`:

1. Per article: timexes (anchored at the publication date when known) and typed values
   (:mod:`parallax.values`), each placed in its sentence; per sentence a *context* of entity
   keys (PERSON/ORG/... surnames or names, lower case) from the paragraph up to the sentence (at
   least the sentence before it), because the sentence carrying a value often names nobody
   ("The incident occurred during a 2019 fundraiser") while the ones before name the people.
2. A value is a *slot filler* when it attaches to a noun (the event noun: "a 2009 *fundraiser*",
   "two *women*") or to a non-reporting verb. Its slot key is (kind, unit, head lemma). A value
   on a reporting verb or on "be"/"have" is a *weak* filler, paired only by the words its
   sentence shares with another (step 3a) and never by the rules.
3. Linking. a) Candidate pairs: values of one kind and unit in sentences of different articles
   that share content lemmas (an inverted index over the sentences carrying values, as a sparse
   matrix product, near-linear in the text); counts of differently named things too when the
   sentences share :data:`CONTEXT_SHARED` lemmas ("the 44 members" / "all 42 Senate
   Republicans" who signed one letter); plus the pairs the old rules link (one aligned fact, or
   one event noun with a rare name shared by the contexts). Ages of two different named people
   are never paired. b) Each pair gets typed features (:data:`PAIR_FEATURES`: shared words, the
   words next to the value, head noun, quantity nouns such as "total income" against
   "consulting fees", owners, aligned fact, rare names, agreement of the sentences' other
   figures, and where a word alignment of the two sentences puts each value, see
   :func:`_aligned`) and a probability from a logistic
   :class:`PairModel` fit on the training split of ``parallax eval conflicts``. c) Pairs at or
   above the model's link level that are each other's best match: those that agree join one
   agreement group, and each one that disagrees makes an event slot of its two groups
   (:func:`_slots`); groups in dispute with each other give one conflict, the most confident
   (:func:`_one_per_quantity`).
4. In a slot, an article that gives incompatible values itself is dropped (it talks about
   several events). The rest are grouped into agreement classes with tolerant rules
   (:func:`parallax.values.values_agree`: granularity, approximation bands, units).
5. A conflict needs two classes that fully disagree, carried by different articles: a value
   that only one outlet mentions is never a conflict, nor is a value whose sentence also gives
   the other side's figure or date ("six arrests Wednesday, compared to 47 the night before"
   against "47 arrests"), nor one whose article prints the other side's figure elsewhere
   (:func:`_answered`); a place conflict further needs each side's place to be absent from
   the other side's articles.
6. ``quantity`` (attribute, head, unit, owner), ``about`` ("the year of the fundraiser Amy
   Lappos described"), ``shared`` and ``reason`` say what was paired and why; ``confidence``
   is the best model probability of a pair across the two sides (halved when three or more
   figures disagree), and only conflicts at the model's report level are returned; the level
   rises with the story's number of candidate pairs (:meth:`PairModel.report_level`).
   :func:`describe_conflict` writes the dispute sentence.
7. Speaker conflicts: one quotation attributed to different people across articles (pronouns,
   missing speakers, surname-versus-full-name variants and accents are not disagreements).

Ids are ``c1``, ``c2``, ... in order of decreasing confidence.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from parallax.dates import find_timexes, granularity_of
from parallax.errors import ConfigError
from parallax.records import (
    AnalyzedArticle,
    Conflict,
    ConflictQuantity,
    ConflictValue,
    Fact,
    Mention,
    Quote,
    Sentence,
)
from parallax.values import Value, comparable, extract_values, values_agree

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

log = logging.getLogger(__name__)

CONTEXT_LABELS = {"PERSON", "ORG", "NORP", "GPE", "FAC", "EVENT", "WORK_OF_ART", "LAW"}
#: Verbs that introduce speech: a date on "said" dates the statement, not the event.
REPORTING_VERBS = {
    "say", "tell", "claim", "write", "add", "note", "announce", "tweet", "report", "state", "allege",
    "accuse", "deny", "insist", "argue", "explain", "post", "ask", "reply", "respond", "be", "have",
}  # fmt: skip
#: Verbs too general to say what a value measures ("is", "has").
_BARE_VERBS = {"be", "have"}
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
    words: frozenset[str] = frozenset()  # content lemmas of the sentence
    local: frozenset[str] = frozenset()  # content lemmas next to the value (what it measures)
    quantity: frozenset[str] = frozenset()  # nouns naming what is measured ("income", "fee")
    owners: frozenset[str] = frozenset()  # entity keys the quantity belongs to
    edges: frozenset[str] = frozenset()  # the nearest content lemma before and after the value
    lemmas: frozenset[str] = frozenset()  # lemmas of the sentence's words that are not stop words
    tokens: tuple[str, ...] = ()  # the sentence's words as lemmas, every number written "#"
    span: tuple[int, int] = (0, 0)  # the value's token range in ``tokens``
    printed: tuple[Value, ...] = ()  # every value its article prints (see :func:`_answered`)
    weak: bool = False  # on a reporting verb or on "be"/"have": paired by its sentence's words only


def fold(text: str) -> str:
    """``text`` without accents ("Peña" -> "Pena"): one name written both ways is one name."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def entity_key(text: str, label: str) -> str:
    """A comparable key for an entity: a person's or organisation's last word, else its name
    (lower case, accents folded)."""
    cleaned = fold(re.sub(r"[’']s$", "", text.strip()).strip(" .,"))
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
        words_of: dict[int, frozenset[str]] = {}
        lemmas_of: dict[int, frozenset[str]] = {}
        tokens_of: dict[int, tuple[tuple[str, ...], int]] = {}
        for value in values:
            sent = _sentence_of(art.sentences, value.start)
            if sent is not None:
                by_sentence[sent.index].append(value)
        printed = tuple(v for v in values if v.kind != "place")
        for value in values:
            if value.head is None or value.head_index is None:
                continue
            if value.kind == "date" and not any(c.isdigit() for c in value.text):
                continue
            if value.kind == "place" and not places:
                continue
            if value.head == "be":
                value = _copula_subject(art.doc, value)
            assert value.head is not None and value.head_index is not None
            # a date on "said" dates the statement; an amount "reported" is what was reported;
            # such a value (and one on "is" or "has") says little about what it measures, so it
            # is paired only by the words of its sentence (step 3a) and marked ``weak``
            weak = value.head_pos in ("VERB", "AUX") and (
                (value.kind in ("date", "place") and value.head in REPORTING_VERBS)
                or value.head in _BARE_VERBS
            )
            sent = _sentence_of(art.sentences, value.start)
            if sent is None:
                continue
            unit = "" if value.kind == "date" else value.unit or ""
            if sent.index not in words_of:
                words_of[sent.index] = content_lemmas(art.doc, sent.start, sent.end)
                lemmas_of[sent.index] = content_lemmas(art.doc, sent.start, sent.end, any_pos=True)
                tokens_of[sent.index] = _sentence_tokens(art.doc, sent)
            local, quantity, owners = _role(art.doc, value)
            value_span = art.doc.char_span(value.start, value.end, alignment_mode="expand")
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
                    words=words_of[sent.index],
                    lemmas=lemmas_of[sent.index],
                    local=local,
                    quantity=quantity,
                    owners=owners,
                    edges=_edges(art.doc, value_span),
                    tokens=tokens_of[sent.index][0],
                    span=_token_span(value_span, tokens_of[sent.index][1]),
                    printed=printed,
                    weak=weak,
                )
            )
    return fillers


def _sentence_tokens(doc: Doc, sentence: Sentence) -> tuple[tuple[str, ...], int]:
    """A sentence's tokens as lower-case lemmas with every number written "#", and the index of
    its first token in the Doc (for :func:`_aligned`)."""
    span = doc.char_span(sentence.start, sentence.end, alignment_mode="expand")
    if span is None:
        return (), 0
    return tuple("#" if t.like_num else t.lemma_.lower() for t in span), span.start


def _token_span(span: Span | None, first: int) -> tuple[int, int]:
    """A value's token range (``span``) counted from its sentence's first token ``first``."""
    return (span.start - first, span.end - first) if span is not None else (0, 0)


#: tokens on each side of a value that :func:`_aligned` compares
_WINDOW = 3


def _aligned(a: _Filler, b: _Filler) -> float:
    """How well the two values sit in the same place of their sentences: the share of the
    :data:`_WINDOW` tokens on each side of ``a``'s value that a word alignment of the two
    sentences (longest matching blocks, numbers as "#") maps to the same side of ``b``'s value,
    next to it. An outlet that changed or misprinted a figure keeps the words around it ("did
    an estimated # million damage" / "caused an estimated # million in damage")."""
    if not a.tokens or not b.tokens:
        return 0.0
    mapping = _alignment(a.tokens, b.tokens)
    (a0, a1), (b0, b1) = a.span, b.span
    hits = 0
    for k in range(1, _WINDOW + 1):
        left = mapping.get(a0 - k)
        if left is not None and b0 - _WINDOW - 1 <= left < b0:
            hits += 1
        right = mapping.get(a1 - 1 + k)
        if right is not None and b1 <= right <= b1 + _WINDOW:
            hits += 1
    return hits / (2 * _WINDOW)


@lru_cache(maxsize=4096)
def _alignment(a: tuple[str, ...], b: tuple[str, ...]) -> dict[int, int]:
    """Token index in ``a`` -> token index in ``b`` along the matching blocks of the two."""
    from difflib import SequenceMatcher

    out: dict[int, int] = {}
    for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            out[block.a + k] = block.b + k
    return out


def _edges(doc: Doc, span: Span | None) -> frozenset[str]:
    """The nearest content lemma on each side of a value (its token ``span``) in its sentence,
    marked by side ("<estimated", ">damage" in "an estimated $1 million damage"): a changed
    figure keeps the words it sits between, so two outlets' renderings of one figure tend to
    share them."""
    if span is None:
        return frozenset()
    sent = span.root.sent
    out = set()
    for side, tokens in (("<", reversed(doc[sent.start : span.start])), (">", doc[span.end : sent.end])):
        for t in tokens:
            if t.is_alpha and not t.is_stop and len(t.text) > 2:
                out.add(side + t.lemma_.lower())
                break
    return frozenset(out)


_CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ"}
_OWNER_LABELS = {"PERSON", "ORG", "NORP", "GPE"}


def content_lemmas(doc: Doc, start: int, end: int, *, any_pos: bool = False) -> frozenset[str]:
    """Lower-case lemmas of the content words (nouns, names, verbs, adjectives; with
    ``any_pos`` every word that is not a stop word) in a char range."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None:
        return frozenset()
    return frozenset(
        t.lemma_.lower()
        for t in span
        if (any_pos or t.pos_ in _CONTENT_POS) and t.is_alpha and not t.is_stop and len(t.text) > 2
    )


def _role(doc: Doc, value: Value) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """What a value measures, read off the parse: (local words, quantity nouns, owners).

    1. local: content lemmas within four tokens of the value, in its sentence;
    2. quantity: for a noun head, the head with its compounds and adjectives ("total income");
       for a verb head, the nouns of its object and prepositional phrases ("earned $20 million
       in consulting fees" -> consulting, fee);
    3. owners: entity keys of the head's possessor or compound name, and of the subject of the
       verb that governs the value ("Clinton's income", "Bill Clinton earned").
    """
    span = doc.char_span(value.start, value.end, alignment_mode="expand")
    if span is None or value.head_index is None:
        return frozenset(), frozenset(), frozenset()
    inside = set(range(span.start, span.end))
    sent = span.root.sent
    # 1. local words
    lo, hi = max(sent.start, span.start - 4), min(sent.end, span.end + 4)
    local = {
        t.lemma_.lower()
        for t in doc[lo:hi]
        if t.i not in inside and t.is_alpha and not t.is_stop and t.pos_ in _CONTENT_POS
    }
    head = doc[value.head_index]
    local.add(head.lemma_.lower())

    def words(tokens: list[Token]) -> set[str]:
        return {
            t.lemma_.lower()
            for t in tokens
            if t.i not in inside and t.is_alpha and not t.is_stop and t.pos_ in ("NOUN", "PROPN", "ADJ")
        }

    # 2. quantity nouns
    if head.pos_ in ("NOUN", "PROPN"):
        quantity = {head.lemma_.lower()} | words(
            [c for c in head.children if c.dep_ in ("compound", "amod") and c.i not in inside]
        )
        governor = head.head
        while governor.pos_ == "ADP" and governor.head.i != governor.i:
            governor = governor.head
    else:
        parts: list[Token] = []
        for child in head.children:
            if child.dep_ in ("dobj", "attr", "oprd") and child.i not in inside:
                parts.append(child)
            elif child.dep_ in ("prep", "agent"):
                parts.extend(g for g in child.children if g.dep_ == "pobj" and g.i not in inside)
        quantity = set()
        for noun in parts:
            if noun.ent_type_ in ("DATE", "TIME", "CARDINAL", "MONEY", "PERCENT", "QUANTITY"):
                continue
            quantity |= words([noun]) | words([c for c in noun.children if c.dep_ in ("compound", "amod")])
        governor = head
    # 3. owners
    owner_tokens: list[Token] = []
    if value.unit == "age" and head.pos_ == "PROPN":
        owner_tokens.append(head)  # "Rahman, 36": the age is the named person's
    for child in head.children:
        if child.dep_ in ("poss", "compound") and child.pos_ == "PROPN":
            owner_tokens.extend(child.subtree)
    if governor.pos_ in ("VERB", "AUX"):
        for child in governor.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                owner_tokens.extend(child.subtree)
    owned = {t.i for t in owner_tokens} - inside
    owners = {
        entity_key(e.text, e.label_)
        for e in sent.ents
        if e.label_ in _OWNER_LABELS and any(t.i in owned for t in e)
    } - {""}
    return frozenset(local), frozenset(quantity), frozenset(owners)


#: Features of a pair of values in two articles (see :func:`pair_features`), in model order.
PAIR_FEATURES = (
    "shared_words",
    "word_overlap",
    "local_overlap",
    "same_head",
    "quantity_match",
    "quantity_clash",
    "owner_match",
    "owner_clash",
    "shared_fact",
    "shared_rare",
    "context_rare",
    "verb_head",
    "others_agree",
    "others_disagree",
    "kind_date",
    "kind_count",
    "kind_money",
    "kind_percent",
    "certainty",
    "unit_match",
    "edge_match",
    "sole_of_kind",
    "context_pair",
    "aligned",
    "weak",
)


def agree(a: Value, b: Value) -> bool | None:
    """:func:`parallax.values.values_agree`, with counts of differently named things compared
    by their numbers (the context route pairs them only when their sentences match)."""
    if a.kind == b.kind == "count" and a.unit != b.unit:
        return values_agree(a, dataclasses.replace(b, unit=a.unit))
    return values_agree(a, b)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def pair_features(a: _Filler, b: _Filler, rare: frozenset[str]) -> list[float]:
    """The :data:`PAIR_FEATURES` of two fillers: how sure we are they measure one quantity.

    Nothing here looks at the two values themselves, so a model fit on these features learns
    when two values are about the same thing, not which changes are likely.
    """
    shared = len(a.words & b.words)
    smaller = max(1, min(len(a.words), len(b.words)))
    quantity_match = bool(a.quantity & b.quantity)
    return [
        math.log1p(shared),
        shared / smaller,
        _jaccard(a.local, b.local),
        float(a.value.head == b.value.head),
        float(quantity_match),
        float(bool(a.quantity and b.quantity) and not quantity_match),
        float(bool(a.owners & b.owners)),
        float(bool(a.owners and b.owners) and not a.owners & b.owners),
        float(bool(a.facts & b.facts)),
        min(len(a.own & b.own & rare), 3) / 3,
        min(len(a.context & b.context & rare), 3) / 3,
        float(a.value.head_pos in ("VERB", "AUX") or b.value.head_pos in ("VERB", "AUX")),
        *_others(a, b),
        float(a.value.kind == "date"),
        float(a.value.kind == "count"),
        float(a.value.kind == "money"),
        float(a.value.kind == "percent"),
        min(a.value.certainty, b.value.certainty),
        float(a.value.unit == b.value.unit),
        len(a.edges & b.edges) / 2,
        float(_sole(a) and _sole(b)),
        float(_context_pair(a, b)),
        _aligned(a, b),
        float(a.weak or b.weak),
    ]


def _sole(filler: _Filler) -> bool:
    """Whether a filler is the only value of its kind in its sentence (nothing else it could
    be confused with)."""
    return sum(1 for v in filler.neighbours if v.kind == filler.value.kind) == 1


def _others(a: _Filler, b: _Filler) -> tuple[float, float]:
    """How the *other* values of the two sentences compare (capped at two each): figures that
    agree ("13 home runs ... in 54 games" in both) tie the sentences to one event and period;
    figures that disagree (another season's totals, another year) suggest a different one."""
    agree = disagree = 0
    for x in a.neighbours:
        if x.start == a.value.start or x.kind == "place":
            continue
        for y in b.neighbours:
            if y.start == b.value.start or y.kind != x.kind:
                continue
            verdict = values_agree(x, y)
            if verdict is True:
                agree += 1
            elif verdict is False and (x.kind == "date" or x.unit == y.unit):
                disagree += 1
    return min(agree, 2) / 2, min(disagree, 2) / 2


#: The number of candidate pairs at which a story's report level is the model's ``report``.
PAIRS_REF = 10.0


@dataclass(frozen=True, slots=True)
class PairModel:
    """A logistic model over :data:`PAIR_FEATURES`: the probability that two values in two
    articles report the same quantity, fit by ``parallax eval conflicts --fit`` on the training
    split of the conflicts evaluation (see docs/evaluation.md).

    ``link`` is the least probability at which two values are put in one slot; ``report`` the
    least confidence a conflict needs to be reported at all (chosen on the training split).
    """

    weights: tuple[float, ...]
    bias: float
    link: float = 0.5
    report: float = 0.5
    #: probability given to a pair the rules of step 3 link by themselves (one aligned fact, or
    #: one event noun with a rare shared name in context), when the model gives less: sentences
    #: about one event often share few words ("a 2019 political fundraiser")
    rule: float = 0.0
    #: the rules apply only in stories of at most this many articles: their false links grow
    #: with the number of article pairs (on the training split they kept spurious conflicts
    #: under 0.1 per story in three-article stories, not in the twelve-article ECB+ ones)
    rule_max_articles: int = 3
    #: how fast the report level rises with the number of candidate pairs a story has: a story
    #: with many pairs (twelve articles instead of three) offers more chance pairings, so its
    #: report level is the ``report`` odds times ``(pairs / pairs_ref) ** pairs_slope`` (never
    #: less than ``report``: a small story is no reason to trust a pair more)
    pairs_slope: float = 0.0
    pairs_ref: float = PAIRS_REF

    @classmethod
    def load(cls, path: Path | None = None) -> PairModel:
        """The shipped model (``parallax/data/conflict_pairs.json``) or the one at ``path``."""
        data = json.loads((path or _MODEL_PATH).read_text(encoding="utf-8"))
        if list(data["features"]) != list(PAIR_FEATURES):
            raise ConfigError(
                f"{path or _MODEL_PATH}: features {data['features']} differ from {PAIR_FEATURES}"
            )
        return cls(
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            link=float(data["link"]),
            report=float(data["report"]),
            rule=float(data.get("rule", 0.0)),
            rule_max_articles=int(data.get("rule_max_articles", 3)),
            pairs_slope=float(data.get("pairs_slope", 0.0)),
            pairs_ref=float(data.get("pairs_ref", PAIRS_REF)),
        )

    def probability(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return _sigmoid(z)

    def report_level(self, pairs: int) -> float:
        """The least confidence a conflict needs in a story with ``pairs`` candidate pairs."""
        return report_level(self.report, pairs, slope=self.pairs_slope, ref=self.pairs_ref)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def report_level(report: float, pairs: int, *, slope: float, ref: float) -> float:
    """``report`` with its odds scaled by ``(pairs / ref) ** slope`` when a story has more than
    ``ref`` candidate pairs (see :class:`PairModel`)."""
    if slope == 0.0 or report <= 0.0:
        return report
    if report >= 1.0:
        return 1.0
    return _sigmoid(math.log(report / (1.0 - report)) + slope * math.log(max(pairs / ref, 1.0)))


_MODEL_PATH = Path(__file__).parent / "data" / "conflict_pairs.json"


@lru_cache(maxsize=1)
def default_model() -> PairModel:
    """The shipped pair model, read once."""
    return PairModel.load()


def _candidate_pairs(
    fillers: Sequence[_Filler], rare: frozenset[str], *, min_shared: int = 2, max_df: int = 200
) -> set[tuple[int, int]]:
    """Step 3a: pairs of comparable fillers in different articles worth scoring.

    Sentences carrying values are indexed by their content lemmas (a sparse sentence x lemma
    matrix; lemmas in more than ``max_df`` sentences are dropped, which keeps a very long article
    near-linear); two sentences of different articles sharing ``min_shared`` lemmas pair their
    comparable values. Values of one event noun whose sentences lie in one aligned fact or
    whose contexts share a rare entity are candidates too (the links before this index).
    """
    import numpy as np
    from scipy import sparse

    rows: dict[tuple[str, int], int] = {}
    members: list[list[int]] = []
    for i, f in enumerate(fillers):
        key = (f.article, f.sentence.index)
        if key not in rows:
            rows[key] = len(members)
            members.append([])
        members[rows[key]].append(i)
    vocab: dict[str, int] = {}
    data_rows: list[int] = []
    data_cols: list[int] = []
    for r in rows.values():
        f = fillers[members[r][0]]
        for w in f.words | {f"@{e}" for e in f.own & rare}:
            data_rows.append(r)
            data_cols.append(vocab.setdefault(w, len(vocab)))
    pairs: set[tuple[int, int]] = set()
    if vocab:
        x = sparse.csr_matrix(
            (np.ones(len(data_rows), dtype=np.float32), (data_rows, data_cols)),
            shape=(len(members), len(vocab)),
        )
        df = np.asarray(x.sum(axis=0)).ravel()
        x = x[:, np.flatnonzero(df <= max_df)]
        shared = sparse.triu(x @ x.T, k=1).tocoo()
        articles = [fillers[m[0]].article for m in members]
        for r1, r2, n in zip(shared.row, shared.col, shared.data, strict=True):
            if n < min_shared or articles[r1] == articles[r2]:
                continue
            # sentences plainly about one thing pair values of one type whatever their head
            # ("the 44 members" and "all 42 Senate Republicans" who signed one letter)
            loose = _context_pair(fillers[members[r1][0]], fillers[members[r2][0]])
            for i in members[r1]:
                for j in members[r2]:
                    if (loose or not (fillers[i].weak or fillers[j].weak)) and _comparable(
                        fillers[i], fillers[j], loose=loose
                    ):
                        pairs.add((min(i, j), max(i, j)))
    for i, j, _, _ in _links(fillers, rare):
        pairs.add((min(i, j), max(i, j)))
    return pairs


#: Content lemmas two sentences share for their values to be paired by context alone (the
#: route of step 3a for sentences plainly about one thing, as in the evaluation's rule).
CONTEXT_SHARED = 4


def _context_pair(a: _Filler, b: _Filler) -> bool:
    """Whether two fillers' sentences are plainly about one thing: they share
    :data:`CONTEXT_SHARED` lemmas of words that are not stop words."""
    return len(a.lemmas & b.lemmas) >= CONTEXT_SHARED


def _comparable(a: _Filler, b: _Filler, *, loose: bool = False) -> bool:
    """Whether two fillers may be one quantity: one kind and unit; with ``loose`` (sentences
    sharing :data:`CONTEXT_SHARED` lemmas) counts of differently named things too."""
    if a.value.kind != b.value.kind:
        return False
    if a.value.kind == "date":
        return True
    if loose and a.value.kind == "count":
        return True
    if a.value.unit == "age" and a.owners and b.owners and not a.owners & b.owners:
        return False  # ages of two different people ("Rahman, 36" and "the 32-year-old Klitschko")
    if a.value.kind == "count" and _classifies(a.value) != _classifies(b.value):
        return False  # "a 12-nation deal" describes the deal, "11 nations" counts nations
    return comparable(a.value, b.value)


def _classifies(value: Value) -> bool:
    return bool(value.unit) and value.head != (value.unit or "").split()[-1]


def _copula_subject(doc: Doc, value: Value) -> Value:
    """A value that is the complement of "be" measures the subject: "The term of office is five
    years" -> ``term``."""
    assert value.head_index is not None
    subject = next((c for c in doc[value.head_index].children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None or subject.pos_ not in ("NOUN", "PROPN"):
        return value
    return dataclasses.replace(
        value, head=subject.lemma_.lower(), head_index=subject.i, head_pos=subject.pos_
    )


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
        if not f.weak:
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


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """A candidate pair of values with its :data:`PAIR_FEATURES` and model probability."""

    article_a: str
    value_a: Value
    article_b: str
    value_b: Value
    features: tuple[float, ...]
    probability: float


def scored_pairs(
    analyzed: Sequence[AnalyzedArticle],
    facts: Sequence[Fact],
    *,
    ubiquity: float = 0.25,
    model: PairModel | None = None,
) -> list[ScoredPair]:
    """Every candidate value pair of a story with its features (steps 1-3a), for fitting the
    pair model and for explanations."""
    model = model or default_model()
    story = story_context(analyzed, ubiquity=ubiquity)
    fillers = _fillers(analyzed, _fact_index(facts, analyzed), story)
    out = []
    for i, j in sorted(_candidate_pairs(fillers, story.rare)):
        x = pair_features(fillers[i], fillers[j], story.rare)
        a, b = fillers[i], fillers[j]
        out.append(ScoredPair(a.article, a.value, b.article, b.value, tuple(x), model.probability(x)))
    return out


def candidate_count(
    analyzed: Sequence[AnalyzedArticle], facts: Sequence[Fact], *, ubiquity: float = 0.25
) -> int:
    """The number of candidate value pairs of a story (step 3a), which sets its report level."""
    story = story_context(analyzed, ubiquity=ubiquity)
    return len(_candidate_pairs(_fillers(analyzed, _fact_index(facts, analyzed), story), story.rare))


def value_links(
    analyzed: Sequence[AnalyzedArticle],
    facts: Sequence[Fact],
    *,
    ubiquity: float = 0.25,
    model: PairModel | None = None,
) -> list[ValueLink]:
    """All linked value pairs of a story (steps 1-3), for evaluations and explanations."""
    model = model or default_model()
    story = story_context(analyzed, ubiquity=ubiquity)
    fillers = _fillers(analyzed, _fact_index(facts, analyzed), story)
    scores = _scores(fillers, story.rare, model)
    return [
        ValueLink(fillers[i].article, fillers[i].value, fillers[j].article, fillers[j].value)
        for i, j in _best_links(fillers, scores, model.link)
    ]


def _scores(
    fillers: Sequence[_Filler], rare: frozenset[str], model: PairModel
) -> dict[tuple[int, int], float]:
    """Step 3b: the model probability of every candidate pair (at least ``model.rule`` for a
    pair the rules link)."""
    articles = len({f.article for f in fillers})
    ruled = _rule_pairs(fillers, rare) if model.rule and articles <= model.rule_max_articles else set()
    return {
        (i, j): max(
            model.probability(pair_features(fillers[i], fillers[j], rare)),
            model.rule if (i, j) in ruled else 0.0,
        )
        for i, j in _candidate_pairs(fillers, rare)
    }


def _rule_pairs(fillers: Sequence[_Filler], rare: frozenset[str]) -> set[tuple[int, int]]:
    """Pairs the rules alone tie to one event slot: one event noun (same kind, unit and head
    noun), a rare name shared by the two sentences' contexts, and the only value of that noun
    in each article ("an October 2009 fundraiser" ... "a 2019 political fundraiser", both near
    "Amy Lappos")."""
    per_key: dict[tuple[str, tuple[str, str, str]], int] = defaultdict(int)
    for f in fillers:
        per_key[(f.article, f.key)] += 1
    out = set()
    for i, j, _, entities in _links(fillers, rare):
        a, b = fillers[i], fillers[j]
        if (
            entities
            and a.value.head_pos in ("NOUN", "PROPN")
            and per_key[(a.article, a.key)] == 1
            and per_key[(b.article, b.key)] == 1
        ):
            out.add((min(i, j), max(i, j)))
    return out


def _best_links(
    fillers: Sequence[_Filler], scores: Mapping[tuple[int, int], float], link: float
) -> list[tuple[int, int]]:
    """Step 3c: pairs at or above ``link`` that are each other's best match in the other article.

    One value is paired with at most one value per other article, so "killed 50 and injured
    53" in two outlets pairs 50 with 50 and 53 with 53, never 50 with 53 (ties go to both).
    """
    best: dict[tuple[int, str], float] = defaultdict(float)
    for (i, j), p in scores.items():
        best[(i, fillers[j].article)] = max(best[(i, fillers[j].article)], p)
        best[(j, fillers[i].article)] = max(best[(j, fillers[i].article)], p)
    return sorted(
        (i, j)
        for (i, j), p in scores.items()
        if p >= link and p >= best[(i, fillers[j].article)] and p >= best[(j, fillers[i].article)]
    )


def find_conflicts(
    analyzed: Sequence[AnalyzedArticle],
    facts: Sequence[Fact],
    quotes: Sequence[Quote],
    *,
    ubiquity: float = 0.25,
    min_confidence: float | None = None,
    places: bool = False,
    model: PairModel | None = None,
    person_name: Callable[[str], str] | None = None,
) -> list[Conflict]:
    """Disagreements on checkable values and on who said a quotation (see the module docstring).

    ``min_confidence`` defaults to the pair model's report level for the story's number of
    candidate pairs (:meth:`PairModel.report_level`); ``places`` turns on place
    conflicts (off by default, see :func:`_fillers`); ``person_name`` maps a person key (a
    lower-case surname) to the name to show, e.g. a story-level entity index's canonical name.
    """
    model = model or default_model()
    # 1-2. fillers with their contexts
    story = story_context(analyzed, ubiquity=ubiquity)
    fact_index = _fact_index(facts, analyzed)
    fillers = _fillers(analyzed, fact_index, story, places=places)
    rare = story.rare
    names = dict(story.names)
    if person_name is not None:
        names = {k: person_name(k) or v for k, v in names.items()}

    # 3. candidate pairs, scored; best matches above the link level form event slots
    scores = _scores(fillers, rare, model)
    threshold = model.report_level(len(scores)) if min_confidence is None else min_confidence
    texts = {a.id: a.article.text.lower() for a in analyzed}
    found: list[tuple[Conflict, tuple[int, int]]] = []
    for members, groups in _slots(fillers, _best_links(fillers, scores, model.link)):
        conflict = _slot_conflict(members, fillers, scores=scores, rare=rare, names=names, texts=texts)
        if conflict is not None:
            found.append((conflict, groups))
    conflicts = _one_per_quantity(found)

    # 7. speakers
    conflicts.extend(_speaker_conflicts(quotes, people=set(names), texts=texts))

    # speaker conflicts keep their own fixed confidence: the pair model scores values only
    conflicts = [c for c in conflicts if c.confidence >= threshold or c.kind == "speaker"]
    conflicts.sort(key=lambda c: (-c.confidence, c.kind, c.about, c.values[0].normalized))
    return [dataclasses.replace(c, id=f"c{n}") for n, c in enumerate(conflicts, 1)]


def _slots(
    fillers: Sequence[_Filler], links: Sequence[tuple[int, int]]
) -> list[tuple[list[int], tuple[int, int]]]:
    """Step 3c: the event slots a conflict is looked for in.

    Links between values that do not disagree join *agreement groups* (one figure told by
    several outlets); each link between two groups that disagree makes one slot of the two
    groups. Chaining disagreements instead ("2004" - "2007" - "2014") would put the values of
    several quantities in one slot, where an article giving two of them looks self-contradicting
    and drops out. Each slot comes with the ids of its two groups (for
    :func:`_one_per_quantity`).
    """
    uf = _UnionFind(len(fillers))
    disputed = []
    for i, j in links:
        if agree(fillers[i].value, fillers[j].value) is False:
            disputed.append((i, j))
        else:
            uf.union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(fillers)):
        groups[uf.find(i)].append(i)
    slots = []
    for g1, g2 in sorted({(min(uf.find(i), uf.find(j)), max(uf.find(i), uf.find(j))) for i, j in disputed}):
        if g1 != g2:
            slots.append((groups[g1] + groups[g2], (g1, g2)))
    return slots


def _one_per_quantity(found: Sequence[tuple[Conflict, tuple[int, int]]]) -> list[Conflict]:
    """One conflict per set of agreement groups that disagree with each other: the most
    confident, with the sides of the others merged in (a side giving the same value gains
    their articles and evidence), so four figures for one length are one dispute, not six."""
    ids = sorted({g for _, pair in found for g in pair})
    index = {g: n for n, g in enumerate(ids)}
    uf = _UnionFind(len(ids))
    for _, (g1, g2) in found:
        uf.union(index[g1], index[g2])
    members: dict[int, list[Conflict]] = defaultdict(list)
    for conflict, (g1, _) in found:
        members[uf.find(index[g1])].append(conflict)
    out = []
    for group in members.values():
        group.sort(key=lambda c: -c.confidence)
        sides: dict[str, ConflictValue] = {}
        for conflict in group:
            for v in conflict.values:
                old = sides.get(v.normalized)
                sides[v.normalized] = v if old is None else _merge_sides(old, v)
        out.append(dataclasses.replace(group[0], values=tuple(sides.values())))
    return out


def _merge_sides(a: ConflictValue, b: ConflictValue) -> ConflictValue:
    """One side of a conflict from two that give the same value."""
    evidence = tuple(dict.fromkeys(a.evidence + b.evidence))
    return dataclasses.replace(
        a, articles=tuple(sorted(set(a.articles) | set(b.articles))), evidence=evidence
    )


def _slot_conflict(
    indices: list[int],
    fillers: Sequence[_Filler],
    *,
    scores: Mapping[tuple[int, int], float],
    rare: frozenset[str],
    names: dict[str, str],
    texts: dict[str, str],
) -> Conflict | None:
    """Steps 4-6 for one event slot."""
    members = [fillers[i] for i in indices]
    position = {id(fillers[i]): i for i in indices}
    # 4. drop self-contradicting articles, then agreement classes (finest values first)
    per_article: dict[str, list[_Filler]] = defaultdict(list)
    for f in members:
        per_article[f.article].append(f)
    kept: list[_Filler] = []
    for art_fillers in per_article.values():
        if all(
            agree(x.value, y.value) is not False
            for n, x in enumerate(art_fillers)
            for y in art_fillers[n + 1 :]
        ):
            kept.extend(art_fillers)
    kept.sort(key=lambda f: (-_precision(f.value), f.article, f.value.start))
    classes: list[list[_Filler]] = []
    for f in kept:
        for cls in classes:
            if all(agree(f.value, g.value) for g in cls):
                cls.append(f)
                break
        else:
            classes.append([f])

    # 5. classes that fully disagree, carried by disjoint article sets
    def disagree(c1: list[_Filler], c2: list[_Filler]) -> bool:
        if {f.article for f in c1} & {f.article for f in c2}:
            return False
        if any(agree(x.value, y.value) is not False for x in c1 for y in c2):
            return False
        if any(_states(x, y.value) or _states(y, x.value) for x in c1 for y in c2):
            return False
        if any(_answered(x, y) or _answered(y, x) for x in c1 for y in c2):
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

    # 6. confidence: the best model probability of a pair across two disagreeing sides
    best: tuple[float, _Filler, _Filler] | None = None
    for n, c1 in enumerate(sides):
        for c2 in sides[n + 1 :]:
            for x in c1:
                for y in c2:
                    i, j = sorted((position[id(x)], position[id(y)]))
                    p = scores.get((i, j))
                    if p is not None and (best is None or p > best[0]):
                        best = (p, x, y)
    if best is None:  # sides joined only through agreeing values: the weakest link holds them
        linked = [p for (i, j), p in scores.items() if i in position.values() and j in position.values()]
        best = (min(linked, default=0.0), sides[0][0], sides[1][0])
    confidence, x, y = best
    if x.weak and not y.weak:  # describe the quantity by the value that says what it measures
        x, y = y, x
    kind_factor = 0.6 if x.value.kind == "place" else 1.0
    if len(sides) > 2:  # three or more figures for one thing: more likely several things
        kind_factor *= 0.5
    quantity = _quantity(sides, x, y, names)
    shared_words = sorted(x.words & y.words)
    shared_entities = sorted((x.own | x.context) & (y.own | y.context) & rare)
    facts = sorted(x.facts & y.facts)
    return Conflict(
        id="",
        kind=x.value.kind,
        about=_about(quantity, x, names, shared_entities),
        values=values,
        confidence=round(confidence * kind_factor, 3),
        facts=tuple(facts),
        shared=tuple(shared_entities + [w for w in shared_words if w not in shared_entities]),
        quantity=quantity,
        reason=_reason(quantity, shared_words, shared_entities, facts, names),
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
    # a figure the value reader leaves out ("compared to 47 the night before") still counts; one
    # it read as something else ("5 percent" against "$5 million") was compared above
    digits = re.search(r"\d[\d,.]*\d|\d", value.text)
    if value.kind in ("date", "place") or digits is None:
        return False
    offset = filler.sentence.start
    pattern = rf"(?<![\d.,]){re.escape(digits.group(0))}(?![\d]|[.,]\d)"
    return any(
        not any(v.start <= offset + m.start() < v.end for v in filler.neighbours)
        for m in re.finditer(pattern, filler.sentence.text)
    )


def _answered(filler: _Filler, other: _Filler) -> bool:
    """Whether ``filler``'s article itself prints ``other``'s value elsewhere (the same kind,
    agreeing): an outlet that gives both figures ("12 people were injured", later "18 people
    had been injured and 12 arrested") reports two quantities, it does not contradict the other
    outlet. The same sentence is :func:`_states`' case."""
    value = other.value
    if value.kind == "date":
        return any(
            v.kind == "date" and v.start != filler.value.start and agree(v, value) is True
            for v in filler.printed
        )
    if value.amount is None or value.bound:
        return False
    # the same figure, not a bound that merely admits it ("at least three" is no answer to 44)
    return any(
        v.kind == value.kind
        and v.start != filler.value.start
        and not v.bound
        and v.amount is not None
        and math.isclose(v.amount, value.amount, rel_tol=0.02)
        for v in filler.printed
    )


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


_ATTRIBUTES = {"money": "amount", "percent": "percentage", "count": "number", "place": "place"}


def _quantity(sides: list[list[_Filler]], x: _Filler, y: _Filler, names: dict[str, str]) -> ConflictQuantity:
    """Step 6: the typed description of what both sides measure."""
    value = x.value
    if value.kind == "date":
        coarse = min((c[0].value for c in sides), key=_precision).normalized
        attribute = {"decade": "decade", "year": "year", "month": "month"}.get(granularity_of(coarse), "date")
    elif value.kind == "number":
        attribute = "length" if value.unit == "day" else "figure"
    else:
        attribute = _ATTRIBUTES[value.kind]
    owners = sorted(x.owners & y.owners) or sorted(x.owners | y.owners)
    owner = next((names.get(k, "") for k in owners if k in names), "")
    if not owner and owners:
        owner = owners[0].title()
    head = x.head_text if x.value.head_pos in ("VERB", "AUX") else x.head_text.lower()
    return ConflictQuantity(
        kind=value.kind,
        attribute=attribute,
        head=head,
        head_pos=value.head_pos or "",
        unit="" if value.kind == "date" else (value.unit or ""),
        owner=owner,
    )


def _about(
    quantity: ConflictQuantity, filler: _Filler, names: dict[str, str], shared_entities: Sequence[str]
) -> str:
    """Step 6: a noun phrase naming the disputed quantity, built from its typed parts.

    "the year of the fundraiser Amy Lappos described", "the number of women", "the amount
    Bill Clinton earned"; the main person comes from the quantity's owner, else from the
    people the two sentences' contexts share.
    """
    people = sorted((names[k] for k in shared_entities if k in names), key=lambda n: (-len(n), n))
    attribute, head = quantity.attribute, quantity.head
    if filler.weak and quantity.head_pos in ("VERB", "AUX"):
        # "is", "has", "said" name no quantity: say whose figure it is, if anyone's
        who = quantity.owner or (people[0] if people else "")
        return f"the {attribute} reported" + (f" for {who}" if who else "")
    if quantity.head_pos in ("VERB", "AUX"):
        subject = quantity.owner or (people[0] if people else "") or "the story's subject"
        return f"the {attribute} {subject} {head}" if head else f"the {attribute}"
    noun = " ".join(w for w in (_modifiers(filler), head) if w)
    person = people[0] if people else quantity.owner  # who told of it, else whose it is
    if quantity.unit == "age":
        return f"the age of {quantity.owner or person or 'the person described'}"
    if quantity.kind == "count":
        return f"the number of {noun}" + (f" ({person})" if quantity.owner else "")
    return f"the {attribute} of the {noun}" + (f" {person} described" if person else "")


def _modifiers(filler: _Filler) -> str:
    """The compounds of a noun head as written ("consulting" in "consulting fees")."""
    return " ".join(w for w in sorted(filler.quantity) if w != filler.value.head and w in filler.local)[:40]


def _reason(
    quantity: ConflictQuantity,
    shared_words: Sequence[str],
    shared_entities: Sequence[str],
    facts: Sequence[str],
    names: dict[str, str],
) -> str:
    """Why the two values were paired, for readers who want to check it."""
    parts = [f"both give the {quantity.attribute} of “{quantity.head}”" if quantity.head else ""]
    if quantity.unit and quantity.kind != "count":
        parts.append(f"in {quantity.unit}")
    if quantity.owner:
        parts.append(f"about {quantity.owner}")
    if shared_entities:
        parts.append("sentences name " + ", ".join(names.get(k, k.title()) for k in shared_entities[:4]))
    if shared_words:
        parts.append("share the words " + ", ".join(shared_words[:6]))
    if facts:
        parts.append("aligned in fact " + ", ".join(facts[:3]))
    return "; ".join(p for p in parts if p)


def describe_conflict(
    conflict: Conflict, outlet_names: Mapping[str, str] | Callable[[str], str] | None = None
) -> str:
    """The dispute sentence of a conflict, in English built from its typed parts.

    ``Outlets disagree on the year of the fundraiser Amy Lappos described: 2009 (Fox News,
    Outlet B); 2019 (Outlet C).`` ``outlet_names`` maps an article id to the outlet's display
    name (a mapping or a callable); unknown ids are shown as they are.
    """
    if outlet_names is None:
        name_of: Callable[[str], str] = str
    elif callable(outlet_names):
        name_of = outlet_names
    else:
        mapping = outlet_names
        name_of = lambda a: mapping.get(a, a)  # noqa: E731
    parts = []
    for value in conflict.values:
        outlets = list(dict.fromkeys(name_of(a) for a in value.articles))
        parts.append(f"{value.value} ({', '.join(outlets)})")
    about = conflict.about if conflict.about.startswith(("the ", "who ")) else f"the {conflict.about}"
    return f"Outlets disagree on {about}: {'; '.join(parts)}."


def _speaker_key(speaker: str | None) -> str | None:
    if not speaker:
        return None
    words = fold(re.sub(r"[’']s$", "", speaker.strip())).split()
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
                about=f"who said “{snippet}”",
                values=values,
                confidence=0.6,
            )
        )
    return out
