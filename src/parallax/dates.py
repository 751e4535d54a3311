"""Temporal expressions: find them in text and normalise them to TIMEX3-style values.

The hot path is rules (compiled regular expressions), because news dates are formulaic and a
general date parser is slow. When a spaCy ``Doc`` is given, its ``DATE``/``TIME`` entities that
no rule covers are added as unresolved timexes (value ``None``), and the parse tells future tense
from past tense for weekday resolution.

Values follow TIMEX3: ``"2014"``, ``"2009-10"``, ``"2019-03-29"``, ``"2019-W13"``, ``"1998-Q3"``,
``"1998-SU"``, ``"199"`` (the 1990s), ``"1998-08-07T10:35"``, durations ``"P1W"``, sets
``"P1D"``, and the vague references ``"PRESENT_REF"``/``"PAST_REF"``/``"FUTURE_REF"``.

Resolution rules against the anchor (the article's publication date):

* a bare weekday ("Friday", "on Monday") is the most recent such day on or before the anchor,
  because news reports past events in the past tense; when the sentence is in the future tense
  ("will") it is the next such day on or after the anchor; "last Friday" is strictly before,
  "next Friday" strictly after;
* "last week" is the ISO week before the anchor's week, "last month"/"last year" likewise;
* a month without a year ("in October") takes the anchor's year when that month is not after the
  anchor's month, else the year before (future tense: the next such month);
* "March 29" without a year takes the year that puts it nearest to the anchor;
* without an anchor, relative expressions stay relative: ``value=None``, ``resolved=False``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from spacy.tokens import Doc

TimexKind = Literal["DATE", "TIME", "DURATION", "SET"]
Granularity = Literal[
    "decade", "year", "season", "quarter", "month", "week", "day", "time", "duration", "set", "ref", "unknown"
]


@dataclass(frozen=True, slots=True)
class Timex:
    """One temporal expression: ``text == source[start:end]``.

    ``value`` is the TIMEX3 value, or ``None`` when the expression could not be resolved (a
    relative date without an anchor, or an entity no rule understands). ``resolved`` says
    whether ``value`` is an absolute calendar value (durations and sets count as resolved).
    """

    text: str
    start: int
    end: int
    value: str | None
    kind: TimexKind
    resolved: bool
    granularity: Granularity


# --- vocabulary ---------------------------------------------------------------------------------

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100,
}  # fmt: skip
VAGUE_NUMBERS = {"several", "few", "many", "some", "a few", "a couple of", "couple of", "the past few"}
UNIT_CODES = {"year": "Y", "month": "M", "week": "W", "day": "D", "decade": "DE", "hour": "H", "minute": "MI"}
SEASONS = {"spring": "SP", "summer": "SU", "fall": "FA", "autumn": "FA", "winter": "WI"}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
PART_OF_DAY = {"morning": "MO", "afternoon": "AF", "evening": "EV", "night": "NI"}

_MONTH = (
    r"(?P<month>Jan(?:uary|\.)?|Feb(?:ruary|\.)?|March|Mar\.|April|Apr\.|May|June?|July?|Aug(?:ust|\.)?"
    r"|Sep(?:tember|t\.|\.|t)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)"
)
_WEEKDAY = r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_YEAR = r"(?P<year>(?:1[6-9]|20)\d\d)"
_NUM = (
    r"(?P<num>\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty"
    r"|several|few|many|a few|a couple of|couple of)"
)
_UNIT = r"(?P<unit>year|month|week|day|decade|hour|minute)s?"
_MOD = r"(?:(?P<mod>early|mid|late|the end of|the beginning of|the middle of|the start of)[\s-]+)?"
_MOD_REQ = r"(?P<mod>early|mid|late|the end of|the beginning of|the middle of|the start of)[\s-]+"
_NOT_NUM_AFTER = r"(?![\d,.]\d|\s*(?:%|percent|per cent))"


def _month_num(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


# --- anchor arithmetic --------------------------------------------------------------------------


def _iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _weekday_date(anchor: dt.date, weekday: int, *, direction: str) -> dt.date:
    """The weekday relative to ``anchor``: ``past`` on or before, ``last`` strictly before, ``next``/``future``."""
    back = (anchor.weekday() - weekday) % 7
    if direction == "past":
        return anchor - dt.timedelta(days=back)
    if direction == "last":
        return anchor - dt.timedelta(days=back or 7)
    ahead = (weekday - anchor.weekday()) % 7
    if direction == "next":
        return anchor + dt.timedelta(days=ahead or 7)
    return anchor + dt.timedelta(days=ahead)


def _nearest_year(anchor: dt.date, month: int, day: int) -> int:
    best = anchor.year
    best_gap: int | None = None
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            gap = abs((dt.date(year, month, day) - anchor).days)
        except ValueError:
            continue
        if best_gap is None or gap < best_gap:
            best, best_gap = year, gap
    return best


def _valid_day(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


# --- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ctx:
    anchor: dt.date | None
    future: bool


_Result = tuple[str | None, TimexKind, bool, Granularity] | None
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], _Ctx], _Result]]


def _r_iso(m: re.Match[str], ctx: _Ctx) -> _Result:
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    if not _valid_day(y, mo, d):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}", "DATE", True, "day"


def _r_slash(m: re.Match[str], ctx: _Ctx) -> _Result:
    mo, d, y = int(m["m"]), int(m["d"]), int(m["y"])
    if y < 100:
        y += 2000 if y < 50 else 1900
    if not _valid_day(y, mo, d):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}", "DATE", True, "day"


def _r_full(m: re.Match[str], ctx: _Ctx) -> _Result:
    y, mo, d = int(m["year"]), _month_num(m["month"]), int(m["day"])
    if not _valid_day(y, mo, d):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}", "DATE", True, "day"


def _r_month_day(m: re.Match[str], ctx: _Ctx) -> _Result:
    mo, d = _month_num(m["month"]), int(m["day"])
    if not 1 <= d <= 31:
        return None
    if ctx.anchor is None:
        return None, "DATE", False, "day"
    y = _nearest_year(ctx.anchor, mo, d)
    if not _valid_day(y, mo, d):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}", "DATE", True, "day"


def _r_month_year(m: re.Match[str], ctx: _Ctx) -> _Result:
    return f"{int(m['year']):04d}-{_month_num(m['month']):02d}", "DATE", True, "month"


def _r_month(m: re.Match[str], ctx: _Ctx) -> _Result:
    mo = _month_num(m["month"])
    rel = (m["rel"] or "").lower()
    if ctx.anchor is None:
        return None, "DATE", False, "month"
    a = ctx.anchor
    if rel == "last":
        y = a.year if mo < a.month else a.year - 1
    elif rel == "next":
        y = a.year if mo > a.month else a.year + 1
    elif rel == "this":
        y = a.year
    elif ctx.future:
        y = a.year if mo >= a.month else a.year + 1
    else:
        y = a.year if mo <= a.month else a.year - 1
    return f"{y:04d}-{mo:02d}", "DATE", True, "month"


def _r_decade(m: re.Match[str], ctx: _Ctx) -> _Result:
    digits = m["dec"].lstrip("'\u2019")
    if len(digits) == 2:  # '90s
        century = "19" if int(digits) >= 30 else "20"
        digits = century + digits
    return digits[:3], "DATE", True, "decade"


def _r_year(m: re.Match[str], ctx: _Ctx) -> _Result:
    return m["year"], "DATE", True, "year"


def _r_weekday(m: re.Match[str], ctx: _Ctx) -> _Result:
    wd = WEEKDAYS[m["weekday"].lower()]
    rel = (m["rel"] or "").lower()
    part = (m["part"] or "").lower()
    kind: TimexKind = "TIME" if part else "DATE"
    if ctx.anchor is None:
        return None, kind, False, "day"
    direction = {"last": "last", "next": "next", "this": "future" if ctx.future else "past"}.get(
        rel, "future" if ctx.future else "past"
    )
    day = _weekday_date(ctx.anchor, wd, direction=direction)
    value = day.isoformat() + (f"T{PART_OF_DAY[part]}" if part else "")
    return value, kind, True, "time" if part else "day"


_DAY_OFFSETS = {"today": 0, "yesterday": -1, "tomorrow": 1, "tonight": 0}


def _r_day_word(m: re.Match[str], ctx: _Ctx) -> _Result:
    word = m["word"].lower()
    part = (m["part"] or "").lower()
    if word == "tonight":
        part = "night"
    kind: TimexKind = "TIME" if part else "DATE"
    if ctx.anchor is None:
        return None, kind, False, "day"
    day = ctx.anchor + dt.timedelta(days=_DAY_OFFSETS[word])
    return day.isoformat() + (f"T{PART_OF_DAY[part]}" if part else ""), kind, True, "time" if part else "day"


def _r_this_part(m: re.Match[str], ctx: _Ctx) -> _Result:
    if ctx.anchor is None:
        return None, "TIME", False, "time"
    return f"{ctx.anchor.isoformat()}T{PART_OF_DAY[m['part'].lower()]}", "TIME", True, "time"


def _r_rel_period(m: re.Match[str], ctx: _Ctx) -> _Result:
    rel, unit = m["rel"].lower(), m["unit"].lower()
    delta = {"last": -1, "past": -1, "previous": -1, "this": 0, "current": 0, "next": 1, "coming": 1}[rel]
    gran: Granularity = {
        "week": "week",
        "weekend": "week",
        "month": "month",
        "year": "year",
        "quarter": "quarter",
    }[unit]  # type: ignore[assignment]
    if ctx.anchor is None:
        return None, "DATE", False, gran
    a = ctx.anchor
    if unit in ("week", "weekend"):
        value = _iso_week(a + dt.timedelta(weeks=delta)) + ("-WE" if unit == "weekend" else "")
    elif unit == "month":
        y, mo = _shift_month(a.year, a.month, delta)
        value = f"{y:04d}-{mo:02d}"
    elif unit == "year":
        value = f"{a.year + delta:04d}"
    else:
        q = (a.month - 1) // 3 + delta
        value = f"{a.year + q // 4:04d}-Q{q % 4 + 1}"
    return value, "DATE", True, gran


def _count(word: str) -> int | None:
    word = word.lower()
    if word in VAGUE_NUMBERS:
        return None
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    try:
        return round(float(word))
    except ValueError:
        return None


def _r_ago(m: re.Match[str], ctx: _Ctx) -> _Result:
    n = _count(m["num"])
    unit = m["unit"].lower()
    if n is None:
        return "PAST_REF", "DATE", True, "ref"
    if ctx.anchor is None or unit in ("hour", "minute"):
        return None, "DATE", False, "unknown"
    a = ctx.anchor
    if unit == "day":
        return (a - dt.timedelta(days=n)).isoformat(), "DATE", True, "day"
    if unit == "week":
        return _iso_week(a - dt.timedelta(weeks=n)), "DATE", True, "week"
    if unit == "month":
        y, mo = _shift_month(a.year, a.month, -n)
        return f"{y:04d}-{mo:02d}", "DATE", True, "month"
    if unit == "decade":
        return f"{a.year - 10 * n:04d}"[:3], "DATE", True, "decade"
    return f"{a.year - n:04d}", "DATE", True, "year"


def _r_unanchored(m: re.Match[str], ctx: _Ctx) -> _Result:
    """ "a year earlier": relative to another event, not to the anchor, so left unresolved."""
    return None, "DATE", False, "unknown"


def _r_duration(m: re.Match[str], ctx: _Ctx) -> _Result:
    unit = m["unit"].lower()
    raw = m["num"].lower()
    if raw in VAGUE_NUMBERS:
        amount = "X"
    else:
        try:
            number = float(raw)
            amount = str(int(number)) if number.is_integer() else str(number)
        except ValueError:
            amount = str(NUMBER_WORDS.get(raw, 1))
    code = UNIT_CODES[unit]
    if code == "DE":
        value = f"P{amount}0Y" if amount != "X" else "PXDE"
    elif code in ("H", "MI"):
        value = f"PT{amount}{'M' if code == 'MI' else 'H'}"
    else:
        value = f"P{amount}{code}"
    return value, "DURATION", True, "duration"


def _r_quarter(m: re.Match[str], ctx: _Ctx) -> _Result:
    q = ORDINALS[m["ord"].lower()]
    year = m["year"]
    if year:
        return f"{year}-Q{q}", "DATE", True, "quarter"
    if ctx.anchor is None:
        return None, "DATE", False, "quarter"
    return f"{ctx.anchor.year:04d}-Q{q}", "DATE", True, "quarter"


def _r_season(m: re.Match[str], ctx: _Ctx) -> _Result:
    code = SEASONS[m["season"].lower()]
    if m["year"]:
        return f"{m['year']}-{code}", "DATE", True, "season"
    if ctx.anchor is None:
        return None, "DATE", False, "season"
    rel = (m["rel"] or "").lower()
    year = ctx.anchor.year + {"last": -1, "next": 1}.get(rel, 0)
    return f"{year:04d}-{code}", "DATE", True, "season"


def _r_clock(m: re.Match[str], ctx: _Ctx) -> _Result:
    hour, minute = int(m["h"]), int(m["mi"] or 0)
    if not (1 <= hour <= 12 and minute < 60):
        return None
    if m["ap"].lower().startswith("p") and hour != 12:
        hour += 12
    elif m["ap"].lower().startswith("a") and hour == 12:
        hour = 0
    if ctx.anchor is None:
        return None, "TIME", False, "time"
    return f"{ctx.anchor.isoformat()}T{hour:02d}:{minute:02d}", "TIME", True, "time"


_REFS = {
    "now": "PRESENT_REF", "right now": "PRESENT_REF", "currently": "PRESENT_REF", "at present": "PRESENT_REF",
    "these days": "PRESENT_REF", "nowadays": "PRESENT_REF", "recently": "PAST_REF", "in the past": "PAST_REF",
    "in recent years": "PAST_REF", "in the future": "FUTURE_REF", "the future": "FUTURE_REF",
    "formerly": "PAST_REF", "once": "PAST_REF",
}  # fmt: skip


def _r_ref(m: re.Match[str], ctx: _Ctx) -> _Result:
    return _REFS[m["ref"].lower()], "DATE", True, "ref"


def _r_set(m: re.Match[str], ctx: _Ctx) -> _Result:
    word = m["set"].lower()
    unit = word.split()[-1]
    code = {"daily": "D", "weekly": "W", "monthly": "M", "annually": "Y", "yearly": "Y"}.get(word)
    if code is None:
        code = UNIT_CODES.get(unit.rstrip("s"), "D")
    return f"P1{code}", "SET", True, "set"


_I = re.IGNORECASE
_RULES: tuple[_Rule, ...] = (
    (re.compile(r"\b(?P<y>(?:1[6-9]|20)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b"), _r_iso),
    (re.compile(r"\b(?P<m>1[0-2]|0?[1-9])/(?P<d>[12]\d|3[01]|0?[1-9])/(?P<y>\d{4}|\d{2})\b"), _r_slash),
    (
        re.compile(
            rf"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?\b{_MONTH}\s+(?P<day>[0-3]?\d)"
            rf"(?:st|nd|rd|th)?,?\s+{_YEAR}\b"
        ),
        _r_full,
    ),
    (re.compile(rf"\b(?P<day>[0-3]?\d)\s+{_MONTH}\s*,?\s+{_YEAR}\b"), _r_full),
    (re.compile(rf"\b{_MONTH}\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\b{_NOT_NUM_AFTER}"), _r_month_day),
    (re.compile(rf"(?i:{_MOD}){_MONTH}\s+(?:of\s+)?{_YEAR}\b"), _r_month_year),
    (
        re.compile(
            rf"(?i:(?P<rel>last|next|this)\s+|{_MOD_REQ}|(?P<prep>\b(?:in|by|of|since|until|during|from|to|between|and)\s+)){_MONTH}\b"
            r"(?!\s+\d)"
        ),
        _r_month,
    ),
    (re.compile(r"(?i:\b(?:the\s+)?(?:early|mid|late)?[\s-]*)(?P<dec>(?:1[6-9]|20)\d0|[\u2019']\d0)s\b"), _r_decade),
    (
        re.compile(r"(?i:\b(?P<rel>last|this|next)\s+)?\b" + _WEEKDAY + r"(?:\s+(?P<part>morning|afternoon|evening|night))?\b"),
        _r_weekday,
    ),
    (re.compile(r"\b(?P<word>today|yesterday|tomorrow|tonight)(?:\s+(?P<part>morning|afternoon|evening|night))?\b", _I), _r_day_word),
    (re.compile(r"\bthis\s+(?P<part>morning|afternoon|evening)\b", _I), _r_this_part),
    (
        re.compile(r"\b(?P<rel>last|past|previous|this|current|next|coming)\s+(?P<unit>week|weekend|month|year|quarter)\b", _I),
        _r_rel_period,
    ),
    (re.compile(rf"\b{_NUM}\s+{_UNIT}\s+ago\b", _I), _r_ago),
    (re.compile(rf"\b{_NUM}\s+{_UNIT}\s+(?:earlier|later|before|after)\b", _I), _r_unanchored),
    (
        re.compile(
            rf"\b(?:(?:the\s+)?(?:past|last|next|first|coming)\s+)?{_NUM}[\s-]+{_UNIT}\b"
            r"(?!\s+(?:ago|earlier|later|before|after)\b|-old)(?:[\s-]+long)?",
            _I,
        ),
        _r_duration,
    ),
    (re.compile(rf"\b(?:the\s+)?(?P<ord>first|second|third|fourth)[\s-]quarter(?:\s+of\s+{_YEAR})?\b", _I), _r_quarter),
    (
        re.compile(
            rf"\b(?:(?P<rel>last|this|next|early|late)\s+)?(?P<season>spring|summer|fall|autumn|winter)(?:\s+(?:of\s+)?{_YEAR})?\b",
            _I,
        ),
        _r_season,
    ),
    (re.compile(r"\b(?P<h>\d{1,2})(?::(?P<mi>\d\d))?\s*(?P<ap>a\.m\.?|p\.m\.?|am\b|pm\b)", _I), _r_clock),
    (re.compile(r"\b(?P<ref>right now|now|currently|at present|these days|nowadays|recently|in the past"
                r"|in recent years|in the future)\b", _I), _r_ref),
    (re.compile(r"\b(?P<set>daily|weekly|monthly|annually|yearly|every\s+(?:day|week|month|year)|each\s+(?:day|week|month|year))\b", _I), _r_set),
    (re.compile(rf"(?<![$#\d.,])(?i:\b(?:the\s+year\s+|fiscal\s+|{_MOD}))?\b{_YEAR}\b{_NOT_NUM_AFTER}"), _r_year),
)  # fmt: skip

# Seasons and "fall"/"once" are also ordinary words: they count only with a year, a relative word
# or a preposition; a bare "spring" in running text is too often not a date.
_SEASON_NEEDS = re.compile(r"^(?:last|this|next|early|late)\b|\d{4}$", re.IGNORECASE)


# --- public API ---------------------------------------------------------------------------------


def find_timexes(doc_or_text: Doc | str, *, anchor: dt.date | None = None) -> list[Timex]:
    """All temporal expressions in a text or spaCy ``Doc``, in text order, non-overlapping.

    1. Run every rule; each match yields a span and (if resolvable) a TIMEX3 value.
    2. Keep the longest match at each position (earlier start wins ties); drop overlaps.
    3. With a ``Doc``: add ``DATE``/``TIME`` entities no rule covered, unresolved.
    """
    if isinstance(doc_or_text, str):
        text, doc = doc_or_text, None
    else:
        text, doc = doc_or_text.text, doc_or_text
    future_sents = _future_sentence_starts(doc) if doc is not None else None

    # 1. every rule
    candidates: list[Timex] = []
    for pattern, handler in _RULES:
        for m in pattern.finditer(text):
            start, end = m.span()
            if "prep" in pattern.groupindex and m["prep"]:
                start = m.end("prep")
            while end > start and text[end - 1] in " -,":
                end -= 1
            if handler is _r_season and not _SEASON_NEEDS.search(m.group(0).strip()):
                continue
            ctx = _Ctx(anchor=anchor, future=_is_future(text, start, future_sents))
            result = handler(m, ctx)
            if result is None:
                continue
            value, kind, resolved, gran = result
            candidates.append(Timex(text[start:end], start, end, value, kind, resolved, gran))

    # 2. longest first, no overlaps
    candidates.sort(key=lambda t: (-(t.end - t.start), t.start))
    chosen: list[Timex] = []
    for cand in candidates:
        if all(cand.end <= c.start or cand.start >= c.end for c in chosen):
            chosen.append(cand)

    # 3. spaCy entities nothing covered
    if doc is not None:
        for ent in doc.ents:
            if ent.label_ not in ("DATE", "TIME"):
                continue
            if any(not (ent.end_char <= c.start or ent.start_char >= c.end) for c in chosen):
                continue
            ent_kind: TimexKind = "TIME" if ent.label_ == "TIME" else "DATE"
            chosen.append(Timex(ent.text, ent.start_char, ent.end_char, None, ent_kind, False, "unknown"))
    chosen.sort(key=lambda t: t.start)
    return chosen


def _future_sentence_starts(doc: Doc) -> list[tuple[int, int, bool]]:
    """(start, end, future) per sentence: future when a modal "will"/"shall" or "going to" occurs."""
    out = []
    for sent in doc.sents:
        future = any(
            (t.tag_ == "MD" and t.lower_ in ("will", "'ll", "shall", "wo"))
            or (t.lower_ == "going" and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "to")
            for t in sent
        )
        out.append((sent.start_char, sent.end_char, future))
    return out


_FUTURE_TEXT = re.compile(r"\b(?:will|shall|won't|going to)\b|'ll\b", re.IGNORECASE)


def _is_future(text: str, pos: int, sents: list[tuple[int, int, bool]] | None) -> bool:
    if sents is not None:
        for start, end, future in sents:
            if start <= pos < end:
                return future
        return False
    left = max(text.rfind(". ", 0, pos), text.rfind("\n", 0, pos)) + 1
    right_dot = text.find(". ", pos)
    right = len(text) if right_dot < 0 else right_dot
    return bool(_FUTURE_TEXT.search(text, left, right))


def granularity_of(value: str) -> Granularity:
    """The granularity of a TIMEX3 value string."""
    if value.endswith("_REF"):
        return "ref"
    if value.startswith("P"):
        return "duration"
    if re.fullmatch(r"\d{3}", value):
        return "decade"
    if re.fullmatch(r"\d{4}", value):
        return "year"
    if re.fullmatch(r"\d{4}-(SP|SU|FA|WI)", value):
        return "season"
    if re.fullmatch(r"\d{4}-Q\d", value):
        return "quarter"
    if re.fullmatch(r"\d{4}-\d\d", value):
        return "month"
    if re.fullmatch(r"\d{4}-W\d\d(-WE)?", value):
        return "week"
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return "day"
    if "T" in value:
        return "time"
    return "unknown"


def calendar_start(value: str) -> dt.date | None:
    """The first day a calendar value covers ("2009-10" -> 2009-10-01), ``None`` for non-calendar values."""
    gran = granularity_of(value)
    try:
        if gran == "decade":
            return dt.date(int(value) * 10, 1, 1)
        if gran in ("year", "season", "quarter", "month"):
            year = int(value[:4])
            if gran == "month":
                return dt.date(year, int(value[5:7]), 1)
            if gran == "quarter":
                return dt.date(year, 3 * (int(value[6]) - 1) + 1, 1)
            if gran == "season":
                return dt.date(year, {"SP": 3, "SU": 6, "FA": 9, "WI": 12}[value[5:7]], 1)
            return dt.date(year, 1, 1)
        if gran == "week":
            return dt.date.fromisocalendar(int(value[:4]), int(value[6:8]), 1)
        if gran in ("day", "time"):
            return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return None


def _calendar_range(value: str) -> tuple[dt.date, dt.date] | None:
    """First and last day a calendar value covers."""
    start = calendar_start(value)
    if start is None:
        return None
    gran = granularity_of(value)
    if gran == "decade":
        return start, dt.date(start.year + 9, 12, 31)
    if gran == "year":
        return start, dt.date(start.year, 12, 31)
    if gran in ("month", "quarter", "season"):
        months = 1 if gran == "month" else 3
        y, m = _shift_month(start.year, start.month, months)
        return start, dt.date(y, m, 1) - dt.timedelta(days=1)
    if gran == "week":
        return start, start + dt.timedelta(days=6)
    return start, start


def dates_agree(a: str, b: str) -> bool | None:
    """Whether two calendar values can describe the same date, ``None`` when not comparable.

    Values of different granularity agree when the coarser one contains the finer one
    ("2014" and "2014-11"); values of the same granularity agree only when equal.
    """
    ra, rb = _calendar_range(a), _calendar_range(b)
    if ra is None or rb is None:
        return None
    a_in_b = rb[0] <= ra[0] and ra[1] <= rb[1]
    b_in_a = ra[0] <= rb[0] and rb[1] <= ra[1]
    return a_in_b or b_in_a
