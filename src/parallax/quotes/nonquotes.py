"""Quoted words that are not quotations: titles, nicknames and named terms, scare quotes, and
shouted promo lines."""

from __future__ import annotations

import re

from parallax.quotes.marks import _WORD_RE, MarkedQuote
from parallax.records import NonQuoteKind

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
