"""Direct quotations of one article: marks mapped to tokens, cue, speaker, and non-quotations
set apart."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parallax.quotes.cues import REPORTING_VERBS, _speech_lemmas
from parallax.quotes.marks import MarkedQuote, find_quote_marks
from parallax.quotes.nonquotes import _is_nickname, _is_title, _non_quote_kind, _shouted
from parallax.quotes.speakers import (
    SpeakerContext,
    _Attributor,
    _colon_speaker,
    _cue_text,
    _governing_speaker,
    _headline_speaker,
    _inherited_speaker,
    _named_speaker,
    _trailing_speaker,
    speaker_context,
)
from parallax.records import (
    AnalyzedArticle,
    NonQuote,
    QuoteSpan,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


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
       (``story``, from :func:`speaker_context`); a pronoun leans to the speaker of the previous
       quote in the paragraph. With no cue, "X: “...”" names X, '“...,” beamed X' names X, and a
       named subject of a verb governing the quotation speaks ('X dismissed it as “absurd.”').
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
        if _is_title(text[m.start : m.end]) and not _is_reply(art.doc, text, m):
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


def _is_reply(doc: Doc, text: str, m: MarkedQuote) -> bool:
    """A capitalised quotation closed by "," "?" or "!" and followed at once by its cue
    ("“Denver,” he answered", "“Quiet,” he demanded", "“Really?” asked Smith"): spoken words, not a
    title (a title's comma is followed by a clause of the sentence, not by a reporting verb).
    ``text`` is the document's text (``Doc.text`` joins every token on each access)."""
    inner = text[m.start : m.end].rstrip()
    if inner[-1:] not in (",", "?", "!"):
        return False
    after = doc.char_span(m.close_mark + 1, min(len(text), m.close_mark + 60), alignment_mode="expand")
    if after is None:
        return False
    words = [t for t in after if not t.is_space][:3]
    for k, tok in enumerate(words):
        if tok.pos_ == "VERB" and tok.lemma_.lower() in REPORTING_VERBS:
            return True
        if k == 0 and not (tok.pos_ == "PROPN" or tok.lower_ in _SUBJECT_PRONOUNS):
            return False
        if k == 1 and tok.pos_ != "PROPN":
            return False
    return False


_SUBJECT_PRONOUNS = frozenset(["he", "she", "they", "i", "we", "you", "it"])


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
        # a cue right after a quotation ending in , ? or ! governs it even when the parse does not
        # link them ("“Denver,” he answered.")
        tight = (
            last >= 1 and doc[last - 1].text in (",", "?", "!") and bool(candidates) and candidates[0][1] <= 3
        )
        governed.append(bool(candidates) and (candidates[0][0] == 0 or tight))
        # 4. speaker of the best cue that has one; a pronoun leans to the speaker of the
        # previous quote in the paragraph
        avoid = att.named_in(first, last)
        prefer = None
        if results and "\n" not in text[marked[len(results) - 1].close_mark : m.open_mark]:
            prefer = results[-1][0]
        for _, _, tok in candidates:
            if tok.dep_ == "pobj":
                speaker, s_start, s_end = att.name_of(tok, avoid=avoid)
                cue = "according to"
                break
            name, ns, ne = att.speaker_of_cue(tok, avoid=avoid, prefer=prefer)
            if cue is None:
                cue = _cue_text(tok)
            if name:
                speaker, s_start, s_end, cue = name, ns, ne, _cue_text(tok)
                break
        if speaker is None:
            speaker, s_start, s_end = _colon_speaker(doc, text, att, m, first)
            governed[-1] = governed[-1] or speaker is not None
        if speaker is None:
            speaker, s_start, s_end = _headline_speaker(doc, text, att, m)
        if speaker is None:
            speaker, s_start, s_end = _trailing_speaker(doc, att, last)
            governed[-1] = governed[-1] or speaker is not None
        if speaker is None:
            speaker, s_start, s_end = _governing_speaker(doc, att, first, last)
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


def _sentence_finder(art: AnalyzedArticle) -> Callable[[int], int | None]:
    """A lookup of the sentence index holding a character offset (a bisection, not a scan)."""
    sents = sorted(art.sentences, key=lambda s: s.start)
    starts = [s.start for s in sents]

    def find(offset: int) -> int | None:
        k = bisect.bisect_right(starts, offset) - 1
        return sents[k].index if k >= 0 and offset < sents[k].end else None

    return find


def quoted_token_mask(doc: Doc) -> list[bool]:
    """For each token of ``doc``, whether it lies inside a quotation (:func:`find_quote_marks`)."""
    inside = [False] * len(doc)
    for m in find_quote_marks(doc.text):
        first, last = _token_range(doc, m)
        for i in range(first, last + 1):
            inside[i] = True
    return inside


# --- 5. the story: statements across outlets, and whose voice each outlet carries ----------------------
