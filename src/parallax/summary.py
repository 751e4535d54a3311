"""Stage 9: an extractive, neutral summary of the story, every sentence cited.

The summary only reuses sentences the outlets wrote (so each ``fact`` entry appears verbatim in a
cited article) and states disagreements as ``dispute`` entries built from the conflicts stage.
Neutrality comes from *which wording* is picked for a fact: among the mentions of a fact, the
one with the fewest loaded spans and entity labels (from the framing stage) wins, with a small
built-in penalty for quotation-only and very long sentences and for people introduced with long
premodifier chains ("Left-wing Hollywood activist X"), which also guards while framing is empty.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parallax.align import quoted_words
from parallax.conflicts import describe_conflict
from parallax.records import (
    AnalyzedArticle,
    Conflict,
    Fact,
    Framing,
    Label,
    Mention,
    SummaryEntry,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc

log = logging.getLogger(__name__)

_WORD = re.compile(r"[\w']+")

#: Parts of speech that end a person's noun phrase when walking left from the name.
_STOP_POS = frozenset({"VERB", "AUX", "ADP", "DET", "PRON", "PART", "NUM", "SCONJ"})


@dataclass(frozen=True)
class Wording:
    """One mention of a fact with how loaded it is."""

    mention: Mention
    loaded: bool  # carries a loaded span, a framing label or a long premodifier chain
    has_premodifier: bool
    penalty: float
    readability: float = 0.0  # opening pronoun, unpaired quote marks, mostly quotation


def _person_starts(doc: Doc, start: int, end: int) -> list[int]:
    """Token indices where a PERSON entity lying inside characters ``[start, end)`` begins.

    Read from the tokens of that range (IOB tags), not from ``doc.ents``: building every entity
    of the doc once per mention is quadratic in the length of the article.
    """
    span = doc.char_span(start, end, alignment_mode="expand")
    out: list[int] = []
    for tok in span if span is not None else ():
        if tok.ent_iob_ != "B" or tok.ent_type_ != "PERSON" or tok.idx < start:
            continue
        last = tok.i
        while last + 1 < len(doc) and doc[last + 1].ent_iob_ == "I":
            last += 1
        if doc[last].idx + len(doc[last].text) <= end:
            out.append(tok.i)
    return out


def premodifier_chain(analyzed: AnalyzedArticle, start: int, end: int, *, window: int = 8) -> int:
    """The longest run of descriptive premodifiers before a PERSON name inside ``[start, end)``.

    Walks left from the name over the words of its noun phrase (stopping at a verb, determiner,
    pronoun, preposition, number or clause punctuation) and counts the common nouns and
    adjectives: "Left-wing Hollywood activist Alyssa Milano" gives 3 ("Left", "wing",
    "activist"); titles ("Vice President", "Rep.") are proper nouns and do not count. The walk
    is over tokens rather than the parse tree because the parser often splits such chains.
    """
    doc = analyzed.doc
    best = 0
    for ent_start in _person_starts(doc, start, end):
        count = 0
        i = ent_start - 1
        while i >= 0 and ent_start - i <= window and doc[i].idx >= start:
            tok = doc[i]
            if tok.pos_ in _STOP_POS or tok.text in {",", ";", ":", ".", "(", ")"}:
                break
            if tok.pos_ in {"ADJ", "NOUN"}:
                count += 1
            i -= 1
        best = max(best, count)
    return best


def _inside(span_start: int, span_end: int, m: Mention) -> bool:
    return span_start >= m.start and span_end <= m.end


#: Premodifiers that place a person in time or office rather than judge them: a label made of
#: these (plus nouns and proper nouns) is descriptive, not loaded ("former Vice President").
NEUTRAL_MODIFIERS = frozenset(
    {
        "former", "then", "late", "current", "acting", "deputy", "senior", "junior", "chief", "first",
        "second", "third", "ex", "potential", "possible", "likely", "prospective", "presumptive",
        "incoming", "outgoing", "new", "longtime", "fellow", "retired", "interim", "elected",
        "democratic", "republican", "independent", "congressional", "presidential", "federal",
        "national", "local", "state", "political", "public", "general", "vice", "assistant",
    }
)  # fmt: skip
_PRONOUN_START = re.compile(r"^\W*(?:he|she|they|it|his|her|their|its|him|them)\b", re.I)
_OPENERS = "“«"
_CLOSERS = "”»"


def _unbalanced_quotes(text: str) -> bool:
    """True when the curly or straight double quote marks of ``text`` do not pair up."""
    curly = sum(text.count(c) for c in _OPENERS) != sum(text.count(c) for c in _CLOSERS)
    return curly or text.count('"') % 2 == 1


def _evaluative(label: Label, analyzed: AnalyzedArticle, framing: Framing) -> bool:
    """A label judges rather than describes: it overlaps a loaded span, or it carries an
    adjective or adverb that is neither a nationality/party nor a neutral modifier of office."""
    if any(
        s.article == label.article and s.start < label.end and label.start < s.end for s in framing.loaded
    ):
        return True
    span = analyzed.doc.char_span(label.start, label.end, alignment_mode="expand")
    if span is None:
        return False
    for tok in span:
        if tok.pos_ not in {"ADJ", "ADV"}:
            continue
        if tok.ent_type_ in {"NORP", "GPE", "DATE", "ORDINAL", "CARDINAL"}:
            continue
        if tok.lower_.strip("-") in NEUTRAL_MODIFIERS or tok.lemma_.lower() in NEUTRAL_MODIFIERS:
            continue
        return True
    return False


def assess(
    mention: Mention,
    analyzed: AnalyzedArticle,
    framing: Framing,
    *,
    long_words: int = 40,
    chain_limit: int = 3,
) -> Wording:
    """How loaded ``mention`` is: framing spans and labels inside it plus built-in penalties.

    A mention is *loaded* when it holds a loaded-wording span, an evaluative label
    (:func:`_evaluative`) or a premodifier chain of ``chain_limit`` or more descriptive words
    before a name. Descriptive labels ("former Vice President", "a former congressional aide")
    only add a small penalty, so that the plainest wording still wins. Readability penalties
    (opening pronoun with no antecedent, unpaired quote marks, mostly quotation, length) steer
    the choice too; they are reported as ``readability`` so ranking can put such facts last.
    """
    loaded_spans = sum(
        1 for s in framing.loaded if s.article == mention.article and _inside(s.start, s.end, mention)
    )
    labels = [
        lb for lb in framing.labels if lb.article == mention.article and _inside(lb.start, lb.end, mention)
    ]
    evaluative = [lb for lb in labels if _evaluative(lb, analyzed, framing)]
    has_premod = any(lb.kind == "premodifier" for lb in evaluative)
    chain = premodifier_chain(analyzed, mention.start, mention.end)
    words = len(_WORD.findall(mention.text))
    _, qfrac = quoted_words(mention.text)
    penalty = float(loaded_spans) + float(len(evaluative)) + 0.25 * (len(labels) - len(evaluative))
    penalty += 2.0 if has_premod else 0.0
    penalty += 1.5 * max(0, chain - chain_limit + 1)
    readability = 0.0
    readability += 1.0 if _PRONOUN_START.match(mention.text) else 0.0
    readability += 1.0 if _unbalanced_quotes(mention.text) else 0.0
    readability += 0.5 if qfrac >= 0.6 else 0.0
    penalty += readability + 0.02 * max(0, words - long_words)
    loaded = bool(loaded_spans or evaluative or chain >= chain_limit)
    return Wording(
        mention=mention,
        loaded=loaded,
        has_premodifier=has_premod or chain >= chain_limit,
        penalty=penalty,
        readability=readability,
    )


def choose_wording(wordings: Sequence[Wording]) -> Wording | None:
    """The least loaded wording; ``None`` when every wording is loaded.

    A wording with a premodifier label is never chosen while an alternative without one exists.
    """
    clean = [w for w in wordings if not w.loaded]
    if not clean:
        return None
    pool = [w for w in clean if not w.has_premodifier] or clean
    return min(pool, key=lambda w: (w.penalty, len(w.mention.text), w.mention.article, w.mention.start))


def _content(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 3}


def _similar(a: str, b: str, *, limit: float) -> bool:
    ca, cb = _content(a), _content(b)
    if not ca or not cb:
        return False
    return len(ca & cb) / min(len(ca), len(cb)) >= limit


def rank_facts(
    facts: Sequence[Fact], analyzed: Sequence[AnalyzedArticle], *, w_central: float = 0.4
) -> list[Fact]:
    """Facts by importance: more articles first, then a weighted score in [0, 1].

    importance = (1 - w_central) * (0.45 * (1 - mean relative position of the mentions)
                                    + 0.35 * fact score
                                    + 0.20 * entity salience)
               + w_central * centrality

    *Entity salience* is the share of the story's most frequent names the fact mentions;
    *centrality* is the mean, over the fact's mentions, of how many of its content words the
    story's other articles also use (summed document frequency), relative to the most central
    fact: LexRank's intuition without a graph. ``w_central`` was tuned on the NeuS *train* split
    (first 120 stories), never on val.
    """
    by_id = {a.id: a for a in analyzed}
    ent_counts: Counter[str] = Counter()
    df: Counter[str] = Counter()
    for art in analyzed:
        ent_counts.update(
            {e.text.lower() for e in art.doc.ents if e.label_ in {"PERSON", "ORG", "GPE", "NORP"}}
        )
        df.update(_content(art.article.text))
    # Ties broken by name: Counter.most_common keeps insertion order, which would follow set order.
    top = {e for e, c in sorted(ent_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8] if c > 1}

    def central(f: Fact) -> float:
        vals = [sum(df[w] - 1 for w in _content(m.text)) for m in f.mentions]
        return sum(vals) / len(vals) if vals else 0.0

    centrality = {f.id: central(f) for f in facts}
    top_central = max(centrality.values(), default=0.0) or 1.0

    def importance(f: Fact) -> float:
        positions = []
        names: set[str] = set()
        for m in f.mentions:
            length = max(len(by_id[m.article].article.text), 1) if m.article in by_id else 1
            positions.append(m.start / length)
            names |= {w for w in top if w in m.text.lower()}
        pos = sum(positions) / len(positions) if positions else 1.0
        salience = len(names) / len(top) if top else 0.0
        base = 0.45 * (1 - pos) + 0.35 * f.score + 0.20 * salience
        return (1 - w_central) * base + w_central * centrality[f.id] / top_central

    return sorted(facts, key=lambda f: (-len(f.articles), -importance(f), f.id))


#: Least conflict confidence (a calibrated probability, see parallax.conflicts.PairModel) for a
#: ``dispute`` entry: a wrong dispute at the top of a neutral summary costs more than a missing one.
DISPUTE_CONFIDENCE = 0.8


def dispute_text(conflict: Conflict, analyzed: Sequence[AnalyzedArticle]) -> str:
    """``Outlets disagree on <about>: <value> (<outlets>); <value> (<outlets>).``"""
    return describe_conflict(conflict, {a.id: (a.article.outlet.strip() or a.id) for a in analyzed})


def summarize(
    analyzed: Sequence[AnalyzedArticle],
    facts: Sequence[Fact],
    conflicts: Sequence[Conflict],
    *,
    sentences: int = 5,
    framing: Framing | None = None,
    redundancy: float = 0.6,
    fill_unique: bool = True,
    w_central: float = 0.4,
) -> list[SummaryEntry]:
    """The summary entries, at most ``sentences`` of them.

    1. rank consensus and partial facts (:func:`rank_facts`), then, when ``fill_unique`` is set,
       unique facts (used only to fill room the shared facts leave, e.g. for short articles);
    2. for each fact pick the least loaded wording (:func:`choose_wording`), dropping facts
       with no clean wording; within a status, facts whose wording reads badly out of context
       go last (stable sort, so the ranking decides otherwise); skip facts too similar to one
       already chosen;
    3. one dispute entry per conflict, most confident first;
    4. assemble: consensus facts, then disputes, then partial facts, cut at ``sentences``; the
       consensus facts leave room for up to a third of the summary in disputes. Unique facts
       come last and only fill room left over, so a summary is not empty for want of overlap.
    """
    framing = framing or Framing()
    by_id = {a.id: a for a in analyzed}
    order = {a.id: i for i, a in enumerate(analyzed)}
    # 1. ranking
    ranked = rank_facts(
        [f for f in facts if f.status in {"consensus", "partial"}], analyzed, w_central=w_central
    )
    if fill_unique:
        ranked += rank_facts([f for f in facts if f.status == "unique"], analyzed, w_central=w_central)
    # 2. wording
    chosen: dict[str, list[SummaryEntry]] = {"consensus": [], "partial": [], "unique": []}
    texts: list[str] = []
    picks: list[tuple[Fact, Wording]] = []
    for fact in ranked:
        wordings = [assess(m, by_id[m.article], framing) for m in fact.mentions if m.article in by_id]
        pick = choose_wording(wordings)
        if pick is None:
            log.debug("fact %s dropped: every wording is loaded", fact.id)
            continue
        picks.append((fact, pick))
    # Within a status, a fact whose best wording reads badly out of context (an opening pronoun,
    # a quotation cut by the sentence splitter) goes after the facts that read cleanly.
    status_rank = {"consensus": 0, "partial": 1, "unique": 2}
    picks.sort(key=lambda fp: (status_rank[fp[0].status], fp[1].readability > 0))
    for fact, pick in picks:
        if len(chosen[fact.status]) >= sentences:
            continue
        if any(_similar(pick.mention.text, t, limit=redundancy) for t in texts):
            continue
        texts.append(pick.mention.text)
        chosen[fact.status].append(
            SummaryEntry(
                text=pick.mention.text,
                kind="fact",
                articles=tuple(sorted(set(fact.articles), key=lambda a: order.get(a, len(order)))),
                facts=(fact.id,),
                evidence=tuple(fact.mentions),
            )
        )
    # 3. disputes
    disputes = [
        SummaryEntry(
            text=dispute_text(c, analyzed),
            kind="dispute",
            articles=tuple(
                sorted({a for v in c.values for a in v.articles}, key=lambda a: order.get(a, len(order)))
            ),
            conflicts=(c.id,),
            evidence=tuple(m for v in c.values for m in v.evidence),
        )
        for c in sorted(conflicts, key=lambda c: (-c.confidence, c.id))
        if c.confidence >= DISPUTE_CONFIDENCE
    ]
    # 4. assemble, keeping room for the most confident disputes (a third of the summary at most)
    room = min(len(disputes), max(1, sentences // 3)) if sentences > 1 else 0
    consensus = chosen["consensus"][: max(sentences - room, 0)]
    out = consensus + disputes + chosen["partial"]
    out += chosen["unique"]
    return out[:sentences]
