"""What a reader sees instead of ids: outlet names, article titles and dates written out.

Reports keep machine ids (article ids, file paths, TIMEX3 values) so that every statement can be
traced; pages show people names. Every page of the renderer and the server goes through these
helpers, so that a file-name hash or an absolute path never reaches visible text:

* :func:`outlet_label` / :func:`outlet_labels`: the outlet's display name, or "Unknown outlet A"
  when the only name known is an id (a file name's hash, the article id, a path). Two articles
  of one outlet are told apart by a number, never by their ids.
* :func:`article_title`: the article's title, or its first sentence shortened.
* :func:`readable_date`: a TIMEX3 value at its own precision ("2015-02-24", "week 10 of 2015",
  "summer 2015"), an unresolved phrase written out as such.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from parallax.report import ArticleModel, StoryReport

#: The stand-in for an outlet whose name is unknown; a letter tells several apart.
UNKNOWN_OUTLET = "Unknown outlet"

# An id-like token: a long hex run (hashes, uuids) or a path separator.
_RAW_RE = re.compile(
    r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}|[/\\]|\.(?:txt|html?|json|jsonl)$", re.IGNORECASE
)
# The end of a sentence: a stop, maybe closing quotes or brackets, then space and a capital.
# An initial ("Raúl R. Labrador") or a title ("Sen. Warren") is not an end.
_NOT_AN_END = "".join(
    rf"(?<!\b{abbr})"
    for abbr in ("[A-Z]", "Mr", "Mrs", "Ms", "Dr", "St", "Rep", "Sen", "Gov", "Gen", "Lt", "Jr", "Sr")
)
_SENTENCE_END_RE = re.compile(_NOT_AN_END + r"[.!?…][”\"’')\]]*(?=\s+[A-Z“\"‘'(\[])")
_ISO_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})")
_PART_OF_DAY = {"MO": "morning", "AF": "afternoon", "EV": "evening", "NI": "night", "DT": "daytime"}
_SEASONS = {"SP": "spring", "SU": "summer", "FA": "fall", "WI": "winter"}
_REFS = {"PRESENT_REF": "now", "PAST_REF": "in the past", "FUTURE_REF": "in the future"}
_ORDINAL_QUARTER = {"1": "first", "2": "second", "3": "third", "4": "fourth"}


def looks_raw(name: str | None, article: ArticleModel | None = None) -> bool:
    """Whether ``name`` is an id or a file name rather than something a reader would call it."""
    if name is None or not name.strip():
        return True
    if article is not None:
        stem = re.split(r"[/\\]", article.source_path)[-1].rsplit(".", 1)[0]
        if name in (article.id, article.source_path, stem):
            return True
    return bool(_RAW_RE.search(name))


def outlet_label(article: ArticleModel, *, tag: str = "") -> str:
    """The outlet's display name; ``"Unknown outlet {tag}"`` when all we have is a file name or an id."""
    if looks_raw(article.outlet, article):
        return f"{UNKNOWN_OUTLET} {tag}".strip()
    return article.outlet.strip()


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (spreadsheet-style column letters)."""
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def outlet_labels(articles: Iterable[ArticleModel] | StoryReport) -> dict[str, str]:
    """Article id -> display name, unique within the story.

    1. Each article gets :func:`outlet_label`; nameless outlets are lettered A, B, ... in order.
    2. Two articles with one name are numbered: "Fox News (1)", "Fox News (2)".
    """
    arts = list(articles.articles if isinstance(articles, StoryReport) else articles)
    # 1. names, unknowns lettered
    names: dict[str, str] = {}
    unknown = 0
    for art in arts:
        name = outlet_label(art)
        if name == UNKNOWN_OUTLET:
            name = outlet_label(art, tag=_letters(unknown))
            unknown += 1
        names[art.id] = name
    # 2. duplicates numbered
    counts = Counter(names.values())
    seen: Counter[str] = Counter()
    for art in arts:
        name = names[art.id]
        if counts[name] > 1:
            seen[name] += 1
            names[art.id] = f"{name} ({seen[name]})"
    return names


def with_names(text: str, articles: Iterable[ArticleModel], labels: dict[str, str]) -> str:
    """``text`` (a sentence the analysis wrote) with raw outlet names and article ids replaced by labels.

    Generated sentences name outlets as the input did ("2019 (002_bd170a96a0f87049)"); where that
    name is a file name or an id, the reader sees the display name instead.
    """
    swaps: dict[str, str] = {}
    for art in articles:
        label = labels.get(art.id)
        if label is None:
            continue
        swaps.setdefault(art.id, label)
        if art.outlet != label and looks_raw(art.outlet, art):
            swaps.setdefault(art.outlet, label)
    for raw in sorted(swaps, key=len, reverse=True):
        label = swaps[raw].replace("\\", "\\\\")
        text = re.sub(rf"(?<![\w-]){re.escape(raw)}(?![\w-])", label, text)
    return text


def shorten(text: str, limit: int) -> str:
    """``text`` with whitespace folded, cut at a word boundary to at most ``limit`` characters."""
    folded = " ".join(text.split())
    if len(folded) <= limit:
        return folded
    cut = folded[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def first_sentence(text: str) -> str:
    """The first sentence (or line) of ``text``."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "").strip()
    end = _SENTENCE_END_RE.search(line)
    return line[: end.end()] if end else line


def article_title(article: ArticleModel, *, limit: int = 90) -> str:
    """The article's title, or (when it has none, or only an id for one) its first sentence shortened."""
    if article.title and not looks_raw(article.title, article):
        return shorten(article.title, limit)
    lead = first_sentence(article.text)
    return shorten(lead, limit) if lead else "Untitled article"


def readable_date(value: str, *, resolved: bool = True) -> str:
    """A date as a reader writes it, at the precision of ``value`` (a TIMEX3 value or a phrase).

    Calendar values stay ISO at their own precision ("2015", "2015-02", "2015-02-24"); times lose
    their seconds; parts of a day, weeks, seasons, quarters, decades and reference words are
    written out. An unresolved value is the phrase itself, marked as relative.
    """
    value = value.strip()
    if not resolved:
        return f"“{value}” (relative)"
    if value in _REFS:
        return _REFS[value]
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(MO|AF|EV|NI|DT)", value):
        return f"{m.group(1)}, {_PART_OF_DAY[m.group(2)]}"
    if m := _ISO_TIME_RE.match(value):
        return f"{m.group(1)} {m.group(2)}:{m.group(3)}"
    if m := re.fullmatch(r"(\d{4})-W(\d{2})(-WE)?", value):
        week = f"week {int(m.group(2))} of {m.group(1)}"
        return f"the weekend of {week}" if m.group(3) else week
    if m := re.fullmatch(r"(\d{4})-(SP|SU|FA|WI)", value):
        return f"{_SEASONS[m.group(2)]} {m.group(1)}"
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", value):
        return f"the {_ORDINAL_QUARTER[m.group(2)]} quarter of {m.group(1)}"
    if m := re.fullmatch(r"(\d{4})-H([12])", value):
        return f"the {'first' if m.group(2) == '1' else 'second'} half of {m.group(1)}"
    if re.fullmatch(r"\d{3}", value):
        return f"the {value}0s"
    if re.fullmatch(r"\d{2}", value):
        return f"the {value}00s"
    return value


def date_range(dates: Sequence[str | None]) -> str:
    """ "2019-04-01" or "2019-04-01 – 2019-04-03" from ISO dates (days only); "" when none is known."""
    days = sorted({d[:10] for d in dates if d})
    if not days:
        return ""
    return days[0] if len(days) == 1 else f"{days[0]} – {days[-1]}"


def outlet_strip(outlets: Sequence[str]) -> list[str]:
    """Distinct outlet names for a story list, nameless ones folded into one "N unknown outlets" entry."""
    named = [o for o in dict.fromkeys(outlets) if not looks_raw(o)]
    unknown = sum(1 for o in dict.fromkeys(outlets) if looks_raw(o))
    if unknown:
        named.append(f"{unknown} {UNKNOWN_OUTLET.lower()}{'s' if unknown != 1 else ''}")
    return named


def one_side(
    outlets: Sequence[str], groups: dict[str, tuple[str, ...]], *, share: float = 0.8, least: int = 2
) -> str | None:
    """The group holding at least ``share`` of a story's grouped outlets, or None.

    ``groups`` are the reader's own (settings ``outlet_groups``); names match case-insensitively.
    A story needs ``least`` grouped outlets before it can lean one way.
    """
    member = {name.casefold(): group for group, names in groups.items() for name in names}
    found = [member[o.casefold()] for o in dict.fromkeys(outlets) if o.casefold() in member]
    if len(found) < least:
        return None
    top, count = Counter(found).most_common(1)[0]
    return top if count / len(found) >= share else None
