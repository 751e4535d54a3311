"""Typed, normalised values in a parsed article: dates, numbers with units, money, percentages,
counts in words and places, each with the word it attaches to.

A :class:`Value` carries a tolerance band (``low``..``high``) so that comparisons follow rules a
careful editor accepts: "about 5,000" covers 5,012, "more than 100" covers 150, "1.5 million"
covers 1,520,000, "12 percent" covers 12.4 percent, "five to seven" covers 6, "dozens" covers
anything from 24 up; units are converted to a base unit (metres,
kilograms, days) before comparing, and different currencies are never compared. Two bounds of
one direction compare their figures ("at least 544" and "at least 1,632" disagree).

The *head* of a value is the noun (or verb) it quantifies or dates, found in the dependency
parse: "a 2009 fundraiser" -> ``fundraiser``, "two women" -> ``woman``, "a rally in early
November 2014" -> ``rally``. Two values are about the same thing only when their kinds, units and
heads agree; :mod:`parallax.conflicts` adds the event context. A count's unit is the counted
noun with its noun compounds ("state senator"), and what is not a count of a whole is left out:
increments ("two more debates"), parts ("three of the"), ratios ("two in three"), tallies
("396-9"), fractions ("three fifths"), ordinals ("third term") and identifiers ("Amendment 64").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from parallax.dates import MONTHS, Timex, dates_agree, find_timexes

if TYPE_CHECKING:
    import datetime as dt

    from spacy.tokens import Doc, Span, Token

ValueKind = Literal["date", "number", "money", "percent", "count", "place"]


@dataclass(frozen=True, slots=True)
class Value:
    """One checkable value: ``text == doc.text[start:end]``.

    ``normalized`` is the canonical form shown to users ("2009-10", "5000", "USD 5000000",
    "12%", "Nevada"); ``amount``/``low``/``high`` are set for numeric kinds, in ``unit``
    (a base unit, a currency code, ``%``, or the counted noun's lemma). ``head`` is the lemma of
    the word the value attaches to and ``head_index`` that token's index in the Doc.
    ``certainty`` is 1.0 for an exact value, lower for approximations and vague dates.
    """

    kind: ValueKind
    text: str
    start: int
    end: int
    normalized: str
    amount: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    head: str | None = None
    head_index: int | None = None
    head_pos: str | None = None
    certainty: float = 1.0
    #: "lower" for a written lower bound ("more than 2,000"), "upper" for an upper bound ("up to
    #: 50"): two bounds of one direction state different figures when their numbers differ
    bound: Literal["", "lower", "upper"] = ""


# --- vocabulary ---------------------------------------------------------------------------------

WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12, "hundred": 100,
}  # fmt: skip
SCALES = {
    "hundred": 1e2,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
    "k": 1e3,
    "m": 1e6,
    "bn": 1e9,
}
CURRENCY_SYMBOLS = {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY", "us$": "USD"}
CURRENCY_WORDS = {"dollar": "USD", "euro": "EUR", "yen": "JPY", "yuan": "CNY", "rupee": "INR", "peso": "MXN"}
#: unit lemma -> (dimension base unit, factor to the base unit)
UNITS: dict[str, tuple[str, float]] = {
    "kilometer": ("m", 1000.0), "kilometre": ("m", 1000.0), "km": ("m", 1000.0), "mile": ("m", 1609.344),
    "meter": ("m", 1.0), "metre": ("m", 1.0), "foot": ("m", 0.3048), "feet": ("m", 0.3048), "ft": ("m", 0.3048),
    "yard": ("m", 0.9144), "inch": ("m", 0.0254), "centimeter": ("m", 0.01), "cm": ("m", 0.01),
    "kilogram": ("kg", 1.0), "kg": ("kg", 1.0), "gram": ("kg", 0.001), "pound": ("kg", 0.45359237),
    "lb": ("kg", 0.45359237), "ton": ("kg", 907.18474), "tonne": ("kg", 1000.0),
    "acre": ("m2", 4046.8564), "hectare": ("m2", 10000.0),
    "gallon": ("l", 3.785411784), "liter": ("l", 1.0), "litre": ("l", 1.0), "barrel": ("l", 158.987),
    "second": ("s", 1.0), "minute": ("s", 60.0), "hour": ("s", 3600.0),
    "day": ("day", 1.0), "week": ("day", 7.0), "month": ("day", 30.4375), "year": ("day", 365.25),
    "decade": ("day", 3652.5),
}  # fmt: skip
#: relative difference within which two bounds of one direction state one figure
BOUND_TOLERANCE = 0.1
#: base units of physical measures (not time in days, which counts whole days)
MEASURES = {"m", "kg", "m2", "l", "s"}
DURATION_CODES = {"Y": 365.25, "M": 30.4375, "W": 7.0, "D": 1.0, "DE": 3652.5}
#: modifier -> (low factor, high factor, certainty)
APPROXIMATORS: dict[str, tuple[float, float, float]] = {
    "about": (0.9, 1.1, 0.7), "around": (0.9, 1.1, 0.7), "roughly": (0.9, 1.1, 0.7),
    "approximately": (0.9, 1.1, 0.7), "some": (0.9, 1.1, 0.7), "nearly": (0.85, 1.0, 0.7),
    "almost": (0.85, 1.0, 0.7), "close to": (0.85, 1.05, 0.7), "estimated": (0.85, 1.15, 0.7),
    "more than": (1.0, math.inf, 0.6), "over": (1.0, math.inf, 0.6), "at least": (1.0, math.inf, 0.6),
    "upwards of": (1.0, math.inf, 0.6), "fewer than": (0.0, 1.0, 0.6), "less than": (0.0, 1.0, 0.6),
    "under": (0.0, 1.0, 0.6), "up to": (0.0, 1.0, 0.6), "as many as": (0.0, 1.0, 0.6),
}  # fmt: skip
PLACE_LABELS = {"GPE", "LOC", "FAC"}
#: plural scale words used as vague quantities ("dozens of protesters", "thousands of people")
VAGUE_PLURALS = {"dozens": 12.0, "hundreds": 1e2, "thousands": 1e3, "millions": 1e6, "billions": 1e9}
#: words right after a number that make it a part or an increment of a total ("two more debates",
#: "three of the senators"): such a count says nothing about the total another outlet gives.
PARTIAL_AFTER = {"more", "other", "additional", "remaining", "extra", "fewer", "new", "of", "others"}
#: words right before a number with the same effect ("another two", "the first three", "the top five").
PARTIAL_BEFORE = {
    "another",
    "other",
    "first",
    "last",
    "next",
    "top",
    "final",
    "remaining",
    "additional",
    "extra",
}
#: counted nouns that make a number a fraction ("three fifths"), not a count of things.
FRACTION_NOUNS = {
    "half", "halve", "third", "quarter", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
}  # fmt: skip
_NUMERIC = re.compile(r"^[$£€¥]?\d[\d,]*(?:\.\d+)?[kmKM]?$|^\.\d+$")


# --- parsing helpers ----------------------------------------------------------------------------


def parse_number(words: Sequence[str]) -> float | None:
    """The value of a number phrase ("5,012", "1.5 million", "twenty five", "a dozen")."""
    total = 0.0
    current: float | None = None
    for raw in _join_thousands(words):
        word = raw.lower().strip(",").lstrip("$£€¥")
        if not word or word in ("a", "an", "-", "and"):
            continue
        scale = SCALES.get(word)
        if scale is not None and current is not None:
            if scale == 100:
                current *= scale
            else:
                total += current * scale
                current = None
            continue
        if word in WORD_NUMBERS:
            n = float(WORD_NUMBERS[word])
        else:
            suffix = 1.0
            if word[-1:] in ("k", "m") and word[:-1].replace(".", "").isdigit():
                suffix, word = SCALES[word[-1]], word[:-1]
            try:
                n = float(word.replace(",", "")) * suffix
            except ValueError:
                return None
        if n in (12, 100) and word in ("dozen", "hundred") and current is not None:
            current *= n  # "two dozen" is 24, "three hundred" 300
        else:
            current = (current or 0.0) + n
    if current is not None:
        total += current
    return total if (current is not None or total) else None


def _join_thousands(words: Sequence[str]) -> list[str]:
    """ "31", ",", "000" -> "31,000" and "6", ".", "7" -> "6.7": thousands separators and
    decimal points that a tokenised corpus spaced out ("31, 000", "6. 7") put back together."""
    out: list[str] = []
    for word in words:
        if re.fullmatch(r"\d{1,2}", word) and len(out) >= 2 and out[-1] == "." and out[-2].isdigit():
            out.pop()
            out[-1] += "." + word
        elif (
            re.fullmatch(r"\d{3}", word)
            and len(out) >= 2
            and out[-1] == ","
            and re.fullmatch(r"\d{1,3}(?:,\d{3})*", out[-2])
        ):
            out.pop()
            out[-1] += "," + word
        else:
            out.append(word)
    return out


def rounding_half_width(text: str, amount: float) -> float:
    """Half the precision a written number implies: "1.5 million" -> 50,000; "5,012" -> 0."""
    digits = re.sub(r"[^\d.]", "", text)
    scaled = any(w in text.lower() for w in ("thousand", "million", "billion", "trillion"))
    if scaled and digits:
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        written = float(digits) if digits.replace(".", "", 1).isdigit() else 0.0
        scale = amount / written if written else 1.0
        return float(0.5 * 10 ** (-decimals) * scale)
    if "." in digits and digits.replace(".", "", 1).isdigit():
        return float(0.5 * 10 ** (-len(digits.split(".")[1])))
    if digits.isdigit() and len(digits) >= 3 and digits.endswith("00"):
        return 0.01 * amount
    return 0.0


def _span_root(doc: Doc, start: int, end: int) -> Token | None:
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or len(span) == 0:
        return None
    return span.root


def attachment(root: Token, span_tokens: set[int]) -> Token | None:
    """The noun or verb a value phrase attaches to, climbing through prepositions.

    "a 2009 fundraiser" -> fundraiser; "a rally in November 2014" -> rally; "two women" -> women.
    """
    tok = root
    for _ in range(4):
        head = tok.head
        if head.i == tok.i or head.i in span_tokens:
            return None
        if head.pos_ == "ADP" or head.dep_ == "prep":
            tok = head
            continue
        if head.pos_ in ("NOUN", "PROPN", "VERB", "AUX"):
            return head
        tok = head
    return None


def _sentence_starts(doc: Doc) -> list[int]:
    return [s.start_char for s in doc.sents]


# --- extraction ---------------------------------------------------------------------------------


def extract_values(
    doc: Doc,
    *,
    anchor: dt.date | None = None,
    timexes: Sequence[Timex] | None = None,
) -> list[Value]:
    """Every checkable value in ``doc``, in text order.

    1. Dates: resolved calendar timexes (years, months, days; not durations or vague references),
       and durations as numbers in days.
    2. Number phrases outside timexes: a run of number tokens with scale words, its currency,
       percent sign or unit, and an approximation word before it.
    3. Places: GPE/LOC/FAC entities.
    Each value gets the head it attaches to (see :func:`attachment`).
    """
    found = list(timexes) if timexes is not None else find_timexes(doc, anchor=anchor)
    text = doc.text  # once: Doc.text joins every token on each access
    out: list[Value] = []
    # a number the date finder could not place ("a 1125-page report") stays a number
    covered = [(t.start, t.end) for t in found if t.resolved or t.granularity != "unknown"]

    # 1. dates and durations
    for t in found:
        root = _span_root(doc, t.start, t.end)
        if root is None:
            continue
        tokens = set(range(root.i, root.i + 1)) | {
            tok.i for tok in doc.char_span(t.start, t.end, alignment_mode="expand") or ()
        }
        head = attachment(root, tokens)
        common = {
            "text": t.text,
            "start": t.start,
            "end": t.end,
            "head": head.lemma_.lower() if head is not None else None,
            "head_index": head.i if head is not None else None,
            "head_pos": head.pos_ if head is not None else None,
        }
        if t.kind == "DATE" and t.resolved and t.value and t.granularity in (
            "decade", "year", "season", "quarter", "month", "week", "day",
        ):  # fmt: skip
            out.append(Value(kind="date", normalized=t.value, certainty=1.0, **common))  # type: ignore[arg-type]
        elif t.kind == "DATE" and not t.resolved and (month_day := _month_day(t.text)) is not None:
            # "October 28" in an undated article: the year is unknown, the day of the month is not
            out.append(Value(kind="date", normalized=month_day, certainty=0.8, **common))  # type: ignore[arg-type]
        elif t.kind == "DURATION" and t.value:
            m = re.fullmatch(r"P(\d+(?:\.\d+)?)(Y|M|W|D|DE)", t.value)
            if m:
                # "a 36-year-old man" is an age (comparable with "Rahman, 36"), else a duration in days
                age = m[2] == "Y" and _AGE_AFTER.match(text[t.end : t.end + 6]) is not None
                amount = float(m[1]) * (1.0 if age else DURATION_CODES[m[2]])
                words = dict(Y="years", M="months", W="weeks", D="days", DE="decades")[m[2]]
                # "less than a month", "more than two years": the approximation word before it
                cue = _CUE_BEFORE.search(text, max(0, t.start - 20), t.start)
                low_f, high_f, certainty = APPROXIMATORS[cue[1].lower()] if cue and not age else (1, 1, 1.0)
                out.append(
                    Value(
                        kind="number",
                        normalized=f"age {m[1]}" if age else f"{m[1]} {words}",
                        amount=amount,
                        low=amount * low_f,
                        high=amount * high_f,
                        unit="age" if age else "day",
                        certainty=certainty,
                        bound=_bound(low_f, high_f),
                        **common,  # type: ignore[arg-type]
                    )
                )

    # 2. number phrases
    out.extend(v for v in _numbers(doc, covered) if not _clock_or_date_part(text, v.start, v.end))

    # 3. places
    for ent in doc.ents:
        if ent.label_ not in PLACE_LABELS:
            continue
        tokens = {t.i for t in ent}
        head = attachment(ent.root, tokens)
        out.append(
            Value(
                kind="place",
                text=ent.text,
                start=ent.start_char,
                end=ent.end_char,
                normalized=ent.text.removeprefix("the ").strip(),
                head=head.lemma_.lower() if head is not None else None,
                head_index=head.i if head is not None else None,
                head_pos=head.pos_ if head is not None else None,
                certainty=0.8,
            )
        )
    out = [v for v in out if not _in_markup(text, v.start)]
    out.sort(key=lambda v: (v.start, v.end))
    return out


_DAY = re.compile(r"(?:\d{4}|XXXX)-\d\d-\d\d")
_MONTH_DAY = re.compile(
    r"(?:on\s+)?(?:(?P<m1>[a-z]+)\.?\s+(?P<d1>\d{1,2})|(?P<d2>\d{1,2})\s+(?:of\s+)?(?P<m2>[a-z]+))(?:st|nd|rd|th)?",
    re.IGNORECASE,
)


def _month_day(text: str) -> str | None:
    """ "October 28" -> "XXXX-10-28": a day of a month whose year is unknown."""
    m = _MONTH_DAY.fullmatch(text.strip())
    if m is None:
        return None
    month = MONTHS.get((m["m1"] or m["m2"]).lower())
    day = int(m["d1"] or m["d2"])
    return f"XXXX-{month:02d}-{day:02d}" if month is not None and 1 <= day <= 31 else None


def _bound(low_f: float, high_f: float) -> Literal["", "lower", "upper"]:
    """The direction of a written bound from its approximation factors: "more than" leaves the
    top open (``lower``), "up to" puts the bottom at zero (``upper``), anything else neither."""
    return "lower" if math.isinf(high_f) else "upper" if low_f == 0 else ""


def _dates_agree(a: str, b: str) -> bool | None:
    """:func:`parallax.dates.dates_agree`, with days of a month whose year is unknown
    ("XXXX-10-28") compared by month and day with any other day."""
    if a.startswith("XXXX-") or b.startswith("XXXX-"):
        if _DAY.fullmatch(a) and _DAY.fullmatch(b):
            return a[5:] == b[5:]
        return None
    return dates_agree(a, b)


_CUE_BEFORE = re.compile(
    r"\b(" + "|".join(sorted(APPROXIMATORS, key=len, reverse=True)) + r")\s+$", re.IGNORECASE
)
_AGE_AFTER = re.compile(r"\s?-?\s?old\b")
_CLOCK_AFTER = re.compile(
    r"^\s?(?:[:/]\s?\d|(?:a\.?m\.?|p\.?m\.?)(?!\w)|(?:[ECMP][SD]T|GMT|UTC)\b)", re.IGNORECASE
)
_CLOCK_BEFORE = re.compile(r"\d\s?[:/]\s?$")
_MARKUP_LINE = re.compile(
    r"https?\s?:|www\s?\.|\.\s?(?:com|org|net|html?)\b|\bcom\s/|_article_|\w_\w|(?:\s[/-]\s[\w.]+){4}"
)


def _clock_or_date_part(text: str, start: int, end: int) -> bool:
    """Whether a number is part of a clock time or a written date: "4: 59 PM", "11:00 a.m.",
    "05 / 03 / 2013" (spaced as some corpora tokenise them), or has a leading zero ("05"):
    such parts are not counts, and two of them are never a disagreement."""
    written = text[start:end].lstrip("$£€¥ ")
    if len(written) > 1 and written[0] == "0" and written[1].isdigit():
        return True
    return bool(
        _CLOCK_AFTER.match(text[end : end + 6]) or _CLOCK_BEFORE.search(text[max(0, start - 4) : start])
    )


def _in_markup(text: str, pos: int) -> bool:
    """Whether ``pos`` lies on a line that is a URL or a file name, not prose
    ("http: / / nypost. com / 2013 / 05 / 02 / ...", "..._article_80744")."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return bool(_MARKUP_LINE.search(line)) and len(line.split()) < 60


def _is_number_token(tok: Token) -> bool:
    low = tok.lower_
    if low in SCALES and low not in ("k", "m", "bn"):
        return True
    if low in WORD_NUMBERS:
        return True
    return bool(_NUMERIC.match(tok.text)) and any(c.isdigit() for c in tok.text)


def _phrase_end(doc: Doc, i: int) -> int:
    """End (exclusive) of the number phrase starting at token ``i`` ("twenty - five", "1.5 million")."""
    j, n = i + 1, len(doc)
    while j < n and (
        _is_number_token(doc[j])
        or (doc[j].text == "-" and j + 1 < n and doc[j + 1].lower_ in WORD_NUMBERS)
        or _thousands_gap(doc, j)
        or _decimal_gap(doc, j)
    ):
        j += 1
    return j


def _decimal_gap(doc: Doc, j: int) -> bool:
    """Whether token ``j`` is a decimal point a tokenised corpus spaced out: the "." of "a 6. 7
    - strength quake" (one or two digits, the point right after them, a space, then one or two
    digits that the sentence goes on after)."""
    return (
        doc[j].text == "."
        and j + 2 < len(doc)
        and re.fullmatch(r"\d{1,2}", doc[j - 1].text) is not None
        and not doc[j - 1].whitespace_
        and re.fullmatch(r"\d{1,2}", doc[j + 1].text) is not None
        and (doc[j + 2].is_lower or doc[j + 2].text in ("-", "%"))
    )


def _thousands_gap(doc: Doc, j: int) -> bool:
    """Whether token ``j`` is a thousands separator a tokenised corpus spaced out: the "," of
    "31, 000" (digits, a comma right after them, a space, then exactly three digits)."""
    return (
        doc[j].text == ","
        and j + 1 < len(doc)
        and re.fullmatch(r"\d{1,3}", doc[j - 1].text) is not None
        and doc[j - 1].ent_type_ != "DATE"  # "March 5, 200 people"
        and not doc[j - 1].whitespace_
        and re.fullmatch(r"\d{3}", doc[j + 1].text) is not None
    )


def _next_number(doc: Doc, j: int) -> tuple[str, int, int] | None:
    """A number phrase right after token ``j`` behind a short connector ("-", "to", "in", "out of").

    Returns the connector (lower case, tokens joined by spaces), and the second phrase's token
    range; ``None`` when no number follows within three connector tokens.
    """
    n = len(doc)
    for width in (1, 2, 3):
        k = j + width
        if k >= n:
            return None
        connector = [t.lower_ for t in doc[j:k]]
        if not all(w in ("-", "to", "and", "or", "in", "out", "of") for w in connector):
            return None
        if _is_number_token(doc[k]) and doc[k].lower_ not in SCALES:
            return " ".join(connector), k, _phrase_end(doc, k)
    return None


def _is_identifier(doc: Doc, first: Token, root: Token) -> bool:
    """Numbers that name rather than count: "Route 66", "No. 2", "Amendment 64", "Flight 370"."""
    if first.i == 0:
        return False
    before = doc[first.i - 1]
    if before.lower_ in ("no", "no.", "number", "route", "#", "room", "rep.", "article", "section"):
        return True
    # a model name: "AK-47", "AK - 47", "AK 47", "F-16"
    if before.text == "-" and first.i > 1:
        before = doc[first.i - 2]
    if before.is_upper and before.is_alpha and len(before.text) <= 3 and not before.is_sent_start:
        return True
    return (
        (before.is_title or before.is_upper)
        and before.pos_ in ("PROPN", "NOUN")
        and not before.is_sent_start
        and root.head.i < first.i
    )


def _counted(root: Token) -> Token | None:
    """The noun a number counts ("two *women*"), ``None`` when it counts nothing visible."""
    if root.dep_ == "nummod" and root.head.pos_ in ("NOUN", "PROPN"):
        return root.head
    return None


def _count_unit(noun: Token) -> str:
    """The counted noun's lemma with its noun compounds: "two state senators" -> "state senator".

    A compound narrows what is counted, so "two senators" and "three state senators" are
    different sets; adjectives ("two Republican senators") are left out because outlets vary them.
    """
    compounds = [c.lemma_.lower() for c in noun.children if c.dep_ == "compound" and c.pos_ == "NOUN"]
    return " ".join([*compounds, noun.lemma_.lower()])


def _designates(noun: Token, amount: float, end: int) -> bool:
    """Whether a number names rather than counts its noun: more than one of a thing takes the
    plural, so a singular noun right after a number above one ("the 12000 block", "a .38
    caliber revolver") is a designation. Hyphenated classifiers ("a 12-nation deal") and
    units are read elsewhere."""
    return (
        amount > 1
        and noun.tag_ in ("NN", "NNP")
        and noun.i == end
        and noun.lemma_.lower() not in UNITS
        and noun.lemma_.lower() not in CURRENCY_WORDS
        and noun.lower_ not in SCALES
    )


def _classified(noun: Token) -> Token | None:
    """The noun a hyphenated count classifies: "a 12-nation *deal*", "a 225-page *report*".

    Such a count describes the thing it modifies (the deal has 12 members), which is not the
    same slot as a free count of the noun ("talks with 11 nations").
    """
    if noun.i > 0 and noun.doc[noun.i - 1].text == "-" and noun.dep_ in ("compound", "amod", "nmod"):
        head = noun.head
        if head.i > noun.i and head.pos_ in ("NOUN", "PROPN"):
            return head
    return None


def _numbers(doc: Doc, covered: Iterable[tuple[int, int]]) -> list[Value]:
    """Step 2 of :func:`extract_values`: number phrases, typed by what surrounds them.

    1. Find a number phrase; vague plurals ("dozens of", "thousands of") become open-ended counts.
    2. Look at a second number behind a connector: "2 in 3"/"one out of five" are ratios and
       "396-9"/"52 to 47" tallies (both skipped), "from 5 to 10" a change (skipped), "5 to 10" or
       "between 5 and 10" a range (one value covering both).
    3. Skip numbers inside timexes, identifiers ("Amendment 64"), partial counts ("two more
       debates", "the first three"), fractions ("three fifths") and bare number words.
    4. Type the value: currency, percent, unit (converted to a base unit), or count of a noun.
    5. Widen by approximation words ("about", "more than") and by the precision written.
    """
    spans = list(covered)
    out: list[Value] = []
    text = doc.text  # once: Doc.text joins every token on each access
    i, n = 0, len(doc)
    while i < n:
        tok = doc[i]
        # 1. a number phrase, or a vague plural
        if tok.lower_ in VAGUE_PLURALS:
            vague = _vague(doc, tok, spans)
            if vague is not None:
                out.append(vague)
                i = doc.char_span(vague.start, vague.end, alignment_mode="expand").end  # type: ignore[union-attr]
            else:
                i += 1
            continue
        if not _is_number_token(tok) or tok.lower_ in SCALES or tok.lower_ == "hundred":
            i += 1
            continue
        j = _phrase_end(doc, i)
        phrase = doc[i:j]
        i = j
        words = [t.text for t in phrase]
        amount = parse_number(words)
        if amount is None:
            continue
        first = phrase[0]
        # 2. ratios, tallies, changes and ranges
        range_high: float | None = None
        follow = _next_number(doc, j)
        if follow is not None:
            connector, k_start, k_end = follow
            second = parse_number([t.text for t in doc[k_start:k_end]])
            before_word = doc[first.i - 1].lower_ if first.i > 0 else ""
            if second is None:
                continue
            if connector in ("in", "- in -", "out of", "of"):
                i = k_end
                continue  # a ratio or a part ("two in three", "5 of 10")
            if connector in ("-", "to", "or") or (connector == "and" and before_word == "between"):
                i = k_end
                if before_word == "from" or second <= amount:
                    continue  # a change ("from 5 to 10") or a tally ("396-9", "52 to 47")
                range_high = second
                j = k_end
        start, end = first.idx, doc[j - 1].idx + len(doc[j - 1].text)
        # 3. what is not a checkable quantity
        if any(not (end <= s or start >= e) for s, e in spans):
            continue
        root = phrase.root
        if _is_identifier(doc, first, root):
            continue
        if range_high is None and re.search(r"\d-\d|\d/\d|\d:\d", text[start:end]):
            continue
        is_word = all(not any(c.isdigit() for c in w) for w in words)
        if is_word and amount == 1:
            continue  # "one" is mostly a pronoun or a determiner ("one of the founders")
        after = doc[j] if j < n else None
        if (after is not None and after.lower_ in PARTIAL_AFTER) or (
            first.i > 0 and doc[first.i - 1].lower_ in PARTIAL_BEFORE
        ):
            continue
        counted = _counted(root) or (_counted(doc[j - 1]) if range_high is not None else None)
        if counted is not None and counted.lemma_.lower() in FRACTION_NOUNS:
            continue
        # 4. type: currency, percent, unit, count
        kind: ValueKind = "number"
        unit: str | None = None
        before = doc[first.i - 1] if first.i > 0 else None
        currency = CURRENCY_SYMBOLS.get(first.text[0]) if first.text[:1] in CURRENCY_SYMBOLS else None
        if currency is None and before is not None and before.text.lower() in CURRENCY_SYMBOLS:
            currency = CURRENCY_SYMBOLS[before.text.lower()]
            start = before.idx
        after_unit: Token | None = (
            doc[j + 1] if after is not None and after.text == "-" and j + 1 < n else after
        )
        if currency is None and after is not None:
            lemma = after.lemma_.lower()
            if lemma in CURRENCY_WORDS:
                currency = CURRENCY_WORDS[lemma]
                end = after.idx + len(after.text)
            elif lemma == "pound" and any(w.lower() in ("million", "billion") for w in words):
                currency = "GBP"
                end = after.idx + len(after.text)
        factor = 1.0
        if currency is not None:
            kind, unit = "money", currency
        elif after is not None and (after.text == "%" or after.lower_ in ("percent", "pct")):
            kind, unit, end = "percent", "%", after.idx + len(after.text)
        elif after is not None and after.lower_ == "per" and j + 1 < n and doc[j + 1].lower_ == "cent":
            kind, unit, end = "percent", "%", doc[j + 1].idx + len(doc[j + 1].text)
        elif after_unit is not None and after_unit.lemma_.lower() in UNITS:
            unit, factor = UNITS[after_unit.lemma_.lower()]
            end = after_unit.idx + len(after_unit.text)
            aged = _AGE_AFTER.match(text, end) if after_unit.lemma_.lower() == "year" else None
            if aged is not None:  # "a 36-year-old man" is an age, comparable with "Rahman, 36"
                unit, factor, end = "age", 1.0, aged.end()
        # 5. approximations ("about 5,000", "more than 100") and written precision
        low_f, high_f, certainty = 1.0, 1.0, 1.0
        k = first.i
        for width in (3, 2, 1):
            if k - width < 0:
                continue
            cue = " ".join(t.lower_ for t in doc[k - width : k])
            if cue in APPROXIMATORS:
                low_f, high_f, certainty = APPROXIMATORS[cue]
                start = doc[k - width].idx
                break
        bound = _bound(low_f, high_f)
        half = rounding_half_width(" ".join(words), amount) * factor
        if kind == "percent" and "." not in "".join(words):
            half = max(half, 0.5)
        bottom, top = amount * factor, (range_high or amount) * factor
        if range_high is not None:
            certainty = min(certainty, 0.8)
        amount = (bottom + top) / 2
        low = bottom * low_f - half if low_f != 0 else 0.0
        high = top * high_f + half if math.isfinite(high_f) else math.inf
        full = doc.char_span(start, end, alignment_mode="expand") or phrase
        head = attachment(full.root, {t.i for t in full})
        if kind == "number" and unit is None and counted is not None and counted.lemma_.lower() in UNITS:
            # "seven months" counted by the parser is a duration, comparable with "four months"
            unit, factor = UNITS[counted.lemma_.lower()]
            amount, low, high = amount * factor, low * factor, high * factor
            end = max(end, counted.idx + len(counted.text))
            head = attachment(counted, {t.i for t in full} | {counted.i}) or counted
        elif kind == "number" and unit is None and counted is not None:
            if _designates(counted, amount, j):
                continue
            kind, unit = "count", _count_unit(counted)
            classified = _classified(counted)
            head = classified if classified is not None else counted
        elif (
            kind == "number"
            and unit is None
            and (is_word or (head is not None and head.pos_ in ("VERB", "AUX")))
        ):
            continue  # a bare number with nothing counted or measured ("fell 600") is not checkable
        elif (
            kind == "number"
            and unit is None
            and head is not None
            and head.pos_ == "PROPN"
            and not (float(amount).is_integer() and 1 <= amount <= 120 and certainty == 1.0)
        ):
            continue  # a bare number on a name is an age ("Reid, 33") or nothing checkable
        elif kind == "number" and unit is None and head is not None and head.pos_ == "PROPN":
            unit = "age"
        out.append(
            Value(
                kind=kind,
                text=text[start:end],
                start=start,
                end=end,
                normalized=_format(kind, amount, unit),
                amount=amount,
                low=low,
                high=high,
                unit=unit,
                head=head.lemma_.lower() if head is not None else None,
                head_index=head.i if head is not None else None,
                head_pos=head.pos_ if head is not None else None,
                certainty=certainty,
                bound=bound,
            )
        )
    return out


def _vague(doc: Doc, tok: Token, spans: Sequence[tuple[int, int]]) -> Value | None:
    """ "dozens of protesters", "hundreds of thousands of people": an open-ended count.

    The value is at least two of the scale ("dozens" >= 24), with no upper bound, so it only
    disagrees with a figure below that ("dozens" against "12").
    """
    scale = VAGUE_PLURALS[tok.lower_]
    k = tok.i
    # "hundreds of thousands of"
    while k + 2 < len(doc) and doc[k + 1].lower_ == "of" and doc[k + 2].lower_ in VAGUE_PLURALS:
        scale *= VAGUE_PLURALS[doc[k + 2].lower_]
        k += 2
    if k + 2 >= len(doc) or doc[k + 1].lower_ != "of":
        return None
    noun = next((c for c in doc[k + 1].children if c.dep_ == "pobj"), None)
    if noun is None or noun.pos_ not in ("NOUN", "PROPN"):
        return None
    start, end = tok.idx, doc[k].idx + len(doc[k].text)
    if any(not (end <= s or start >= e) for s, e in spans):
        return None
    lemma = noun.lemma_.lower()
    kind: ValueKind = "money" if lemma in CURRENCY_WORDS else "count"
    unit = CURRENCY_WORDS[lemma] if kind == "money" else _count_unit(noun)
    return Value(
        kind=kind,
        text=doc[tok.i : k + 1].text,  # == doc.text[start:end], without joining the whole doc
        start=start,
        end=end,
        normalized=f"{doc[tok.i : k + 1].text.lower()}",
        amount=2 * scale,
        low=2 * scale,
        high=math.inf,
        unit=unit,
        head=lemma,
        head_index=noun.i,
        head_pos=noun.pos_,
        certainty=0.5,
    )


def _format(kind: ValueKind, amount: float, unit: str | None) -> str:
    number = f"{amount:.6g}" if not float(amount).is_integer() or abs(amount) >= 1e15 else str(int(amount))
    if kind == "percent":
        return f"{number}%"
    if kind == "money":
        return f"{unit} {number}"
    if kind == "number" and unit == "age":
        return f"age {number}"
    if kind == "number" and unit:
        return f"{number} {unit}"
    return number


# --- comparison ---------------------------------------------------------------------------------


def comparable(a: Value, b: Value) -> bool:
    """Whether two values measure the same kind of thing (same kind, same unit or currency)."""
    if a.kind != b.kind:
        return False
    if a.kind == "date":
        return _dates_agree(a.normalized, b.normalized) is not None
    if a.kind == "place":
        return True
    if a.kind == "count" and a.unit and b.unit:
        # "three submarine cables" and "seven cables" count one kind of thing; the pair model
        # weighs the differing compound
        return a.unit.split()[-1] == b.unit.split()[-1]
    return a.unit == b.unit


def values_agree(a: Value, b: Value) -> bool | None:
    """Whether two comparable values can both be right; ``None`` when they are not comparable.

    Dates agree when one contains the other ("2014" and "2014-11"); numbers when their tolerance
    bands overlap; places when one name contains the other ("Greenwich, Connecticut" and
    "Greenwich").
    """
    if not comparable(a, b):
        return None
    if a.kind == "date":
        return _dates_agree(a.normalized, b.normalized)
    if a.kind == "place":
        x, y = a.normalized.lower(), b.normalized.lower()
        return x in y or y in x
    assert a.low is not None and a.high is not None and b.low is not None and b.high is not None
    if a.bound and a.bound == b.bound and a.amount is not None and b.amount is not None:
        # "at least 544" and "at least 1,632" both hold if 1,632 do, but they state different
        # figures for one count: compare the written numbers within their rounding
        # ("less than a month" and "less than four weeks" state one bound: 10 percent either way)
        slack = max(a.amount - a.low, b.amount - b.low) if a.bound == "lower" else 0.0
        if a.bound == "upper":
            slack = max(a.high - a.amount, b.high - b.amount)
        return abs(a.amount - b.amount) <= slack + BOUND_TOLERANCE * max(a.amount, b.amount) + 1e-9
    if a.amount and b.amount and a.kind in ("number", "money"):
        ratio = max(a.amount, b.amount) / min(a.amount, b.amount)
        if any(math.isclose(ratio, scale) for scale in (1e3, 1e6, 1e9)):
            return True  # one figure with and without its scale word ("6 million", "6")
    # a measure converted between units is rounded ("48km" is "30 miles"): 3 percent either way
    slack = 0.03 if a.kind == "number" and a.unit in MEASURES else 0.0
    return (
        a.low * (1 - slack) <= b.high * (1 + slack) + 1e-9
        and b.low * (1 - slack) <= a.high * (1 + slack) + 1e-9
    )


def value_span(doc: Doc, value: Value) -> Span | None:
    """The spaCy span of a value (for callers that need its tokens)."""
    return doc.char_span(value.start, value.end, alignment_mode="expand")
