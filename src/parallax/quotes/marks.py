"""Pairing double quotation marks into quotations (no spaCy needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass

OPENING_MARKS = frozenset("“„«")
CLOSING_MARKS = frozenset("”»")
STRAIGHT_MARK = '"'
DOUBLE_MARKS = OPENING_MARKS | CLOSING_MARKS | {STRAIGHT_MARK}


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
        # a straight mark spaced off a single mark closes or opens around a nested quotation
        # ("... 'Oh, this is important,' " Magel said); French spacing (« mot ») or a mark standing
        # alone: only the shape can tell
        if ch == STRAIGHT_MARK and i >= 2 and text[i - 2] in "'’":
            return "close"
        if ch == STRAIGHT_MARK and i + 2 < len(text) and text[i + 2] in "'‘":
            return "open"
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
