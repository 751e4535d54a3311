"""Stage 2, clean: strip boilerplate lines from an article and settle its outlet.

Everything downstream reads :attr:`Article.text`, the cleaned text: whitespace inside a line is
folded to single spaces, paragraph breaks (blank lines) are kept (runs of them fold to one), and
the words are otherwise untouched (quote marks, dashes and spelling stay as they were).

A line is removed whole when it matches a row of :data:`RULES`, a table of general patterns,
each with the reason reported in :attr:`Article.removed`: promo headlines in capitals, "CLICK
HERE" / "READ MORE:" style links, newsletter, app, social and share prompts, advertisement
markers, photo captions and credits, copyright notices and credit lines. Credit lines also name
the outlet when they credit its own staff ("Fox News' Jane Doe contributed to this report." ->
"Fox News"; a Reuters "Reporting by ...; Editing by ..." line -> "Reuters"), which
:func:`clean_document` uses when the input gave no outlet.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from parallax.errors import EmptyInputError, InputError
from parallax.outlets import OutletTable, default_table
from parallax.records import Article, RawDocument, RemovedLine

log = logging.getLogger(__name__)

_APOS = "['’]"  # straight or curly apostrophe
_NAME_WORD = r"(?:[A-Z][\w&.\-]*|of|the|and|&)"
_OUTLET = rf"(?P<outlet>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,5}})"
_CONTRIBUTED = r"contributed(?:\s+reporting)?(?:\s+to)?\s+this\s+(?:report|story|article)"
# words that mark a parenthesised photo credit; agency acronyms are matched case-sensitively
# (a German "(ePA)" is not the EPA agency)
_CREDIT_WORDS = (
    r"(?i:photos?|photograph|images?|credit|courtesy|illustration|video|screenshot|screengrab|handout)|"
    r"Getty|AFP|EPA|AP|Reuters|Shutterstock|Pool|File|Wikimedia|Flickr|Bloomberg"
)


@dataclass(frozen=True)
class Rule:
    """One row of the boilerplate table.

    ``pattern`` is searched in the whitespace-folded line (or ``predicate`` is called on it); a
    match removes the line with ``reason``. Lines longer than ``max_words`` never match, so that a
    pattern meant for a short prompt cannot swallow a paragraph. A credit rule names the outlet
    either with a fixed ``outlet`` or with the pattern's ``outlet`` group. ``needle`` is a cheap
    prefilter: a lower-case string that every line the rule matches contains (in its lower-cased
    form), so most lines are rejected by a substring test instead of a regular-expression search.
    """

    reason: str
    pattern: re.Pattern[str] | None = None
    predicate: Callable[[str], bool] | None = None
    max_words: int | None = 40
    outlet: str | None = None
    outlet_group: bool = False
    needle: str | None = None

    def match(self, line: str) -> tuple[bool, str | None]:
        """Whether ``line`` matches, and the outlet it names (if any)."""
        return self._match(line, line.lower() if line.isascii() else None, line.count(" ") + 1)

    def _match(self, line: str, lower: str | None, n_words: int) -> tuple[bool, str | None]:
        """:meth:`match` with the lower-cased line and its word count computed once by the caller.

        ``lower`` is ``None`` for a non-ASCII line: case-insensitive matching then also equates
        letters that :meth:`str.lower` keeps apart (the Kelvin sign and "k"), so no prefilter.
        """
        if self.max_words is not None and n_words > self.max_words:
            return False, None
        if self.needle is not None and lower is not None and self.needle not in lower:
            return False, None
        if self.predicate is not None:
            return self.predicate(line), self.outlet
        assert self.pattern is not None
        found = self.pattern.search(line)
        if found is None:
            return False, None
        if self.outlet_group and found.groupdict().get("outlet"):
            return True, _tidy_outlet(found.group("outlet"))
        return True, self.outlet


def is_caps_headline(line: str, *, min_ratio: float = 0.8, min_words: int = 8) -> bool:
    """A promo headline set in capitals: most letters upper-case, over a headline's length.

    A normal sentence that merely opens with an acronym or a dateline ("NASA said on ...",
    "WASHINGTON (Reuters) - ...") has mostly lower-case letters and does not match. Short capital
    lines are usually section subheadings of the article itself ("HOW WILL IT WORK?"), so a
    headline needs ``min_words`` words (8: on the extraction benchmark every capital line in the
    true article bodies has at most 7 words and every promo headline at least 8).
    """
    if len(line.split()) < min_words or _caps_ratio(line) < min_ratio:  # cheap tests first
        return False
    words = [w for w in line.split() if any(c.isalpha() for c in w)]
    return len(words) >= min_words


def is_caps_call_to_action(line: str) -> bool:
    """A line in capitals that asks the reader to act ("GET THE APP", "CLICK TO SUBSCRIBE")."""
    return (
        _caps_ratio(line) >= 0.8
        and re.search(r"\b(?:CLICK|CLICKING|TAP|DOWNLOAD|SUBSCRIBE|SIGN UP)\b", line) is not None
    )


_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=256)
def _caps_ratio(line: str) -> float:
    """Share of upper-case letters among all letters (uncased scripts count as not upper).

    Cached: both capital-letter rules ask about the same line in turn. An ASCII line is counted
    with two byte translations instead of a loop over its characters.
    """
    if line.isascii():
        data = line.encode("ascii")
        n_letters = len(data) - len(data.translate(None, _ASCII_LETTERS))
        if n_letters < 8:
            return 0.0
        n_upper = len(data) - len(data.translate(None, _ASCII_LETTERS[:26]))
        return n_upper / n_letters
    letters = [c for c in line if c.isalpha()]
    if len(letters) < 8:
        return 0.0
    return sum(1 for c in letters if c.isupper()) / len(letters)


def is_share_bar(line: str) -> bool:
    """A line made only of share/social words ("Share", "Facebook Twitter Email", "Print this")."""
    words = re.findall(r"[a-z+]+", line.lower())
    return (
        bool(words)
        and len(words) <= 8
        and all(w in _SHARE_WORDS for w in words)
        and any(w in _SHARE_CORE for w in words)
    )


_SHARE_WORDS = frozenset(
    re.findall(
        r"\S+",
        "share shares this article story page on via facebook twitter x email e-mail mail print "
        "whatsapp linkedin reddit pinterest messenger tweet copy link comments comment save "
        "google+ flipboard tumblr sms",
    )
)

#: At least one of these must be present: "On this page" alone is not a share bar.
_SHARE_CORE = frozenset(
    {"share", "facebook", "twitter", "email", "print", "whatsapp", "linkedin", "reddit", "pinterest", "tweet"}
    | {"messenger", "flipboard", "tumblr", "sms", "link"}
)


def _rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


#: The boilerplate table, tried in order; the first matching row removes a line.
RULES: tuple[Rule, ...] = (
    # credit lines that name the outlet's own staff
    Rule(
        "credit line",
        _rx(rf"^(?:The\s+)?{_OUTLET}{_APOS}s?\s+.+\s{_CONTRIBUTED}\b", 0),
        outlet_group=True,
        needle="contributed",
    ),
    Rule(
        "credit line",
        _rx(
            rf"^(?:The\s+)?{_OUTLET}\s+(?:staff\s+)?(?:writers?|reporters?|correspondents?)\s.+\s{_CONTRIBUTED}\b",
            0,
        ),
        outlet_group=True,
        needle="contributed",
    ),
    Rule(
        "credit line",
        _rx(r"^\(?\s*Reporting by\b.+;\s*(?:Writing|Editing|Additional reporting) by\b"),
        outlet="Reuters",
        needle="reporting by",
    ),
    # credit lines that do not tell whose article it is (a wire credit appears in other outlets' copy)
    Rule("credit line", _rx(rf"^(?:.+\s)?{_CONTRIBUTED}\b"), needle="contributed"),
    Rule("credit line", _rx(r"^\(?\s*(?:Additional\s+)?reporting by\b"), max_words=30, needle="reporting by"),
    Rule("credit line", _rx(r"^(?:Contributing|Contributors?)\s*:"), max_words=30, needle="contribut"),
    Rule("copyright", _rx(r"^(?:Copyright\b|©|\(c\)\s*\d{4})"), max_words=30),
    Rule(
        "copyright",
        _rx(r"\bmay not be (?:published|reproduced),?\s+broadcast"),
        max_words=30,
        needle="may not be ",
    ),
    # promotional links and prompts
    Rule("promo link", _rx(r"^CLICK HERE\b"), max_words=25),
    Rule(
        "related link",
        _rx(
            r"^(?:READ|READ MORE|READ ALSO|ALSO READ|MORE|SEE|SEE ALSO|WATCH|LISTEN|RELATED|RELATED CONTENT|"
            r"RECOMMENDED|TRENDING|MUST READ|DON'T MISS|DON’T MISS|LATEST|MORE FROM [\w ]+)\s*[:|]"
        ),
        max_words=30,
    ),
    Rule(
        "newsletter prompt",
        _rx(r"^(?:sign up|subscribe|register)\b.*\b(?:newsletter|updates|alerts|email)"),
        max_words=25,
    ),
    Rule(
        "newsletter prompt",
        _rx(r"\bnewsletter\b.*\b(?:sign up|subscribe|inbox)\b"),
        max_words=25,
        needle="newsletter",
    ),
    Rule("app prompt", _rx(r"^(?:download|get|install)\s+(?:the|our)\b.*\bapp\b"), max_words=20),
    Rule(
        "social prompt",
        _rx(
            r"^(?:follow|like|join)\s+(?:us|\S+(?:\s\S+)?)\s+on\s+(?:twitter|facebook|instagram|x|tiktok|youtube|linkedin)\b"
        ),
        max_words=20,
    ),
    Rule(
        "advertisement",
        _rx(
            r"^(?:advertisement|ad|ads|sponsored(?: content)?|paid content|story continues below(?: advertisement)?|"
            r"continue reading(?: the main story| below)?|scroll to continue(?: with content)?)\W*$"
        ),
        max_words=8,
    ),
    Rule("share prompt", predicate=is_share_bar, max_words=8),
    # photo captions and credits: the whole caption goes
    Rule(
        "photo caption",
        _rx(rf"\((?:[^()]*\b(?:{_CREDIT_WORDS})\b[^()]*)\)\W*$", 0),
        max_words=80,
        needle=")",
    ),
    Rule(
        "photo caption",
        _rx(r"^(?:Photo|Image|Photograph|Picture|Video|Caption|Credit|Photo credit)s?\s*:"),
        max_words=80,
    ),
    Rule(
        "photo caption",
        _rx(r"\b(?:Photograph|Photo|Image|Illustration|Composite)\s*:\s*[^.!?]{1,80}$", 0),
        max_words=80,
        needle=":",
    ),
    Rule("photo caption", _rx(r"^FILE\s*(?:PHOTO)?\s*[-–—:]\s", 0), max_words=80),
    # promo headlines set in capitals
    Rule("promo link", predicate=is_caps_call_to_action, max_words=25),
    Rule("all-caps promo headline", predicate=is_caps_headline, max_words=40),
)


#: Share of capitals among an article's letters from which it counts as written in capitals (wire
#: copy, old feeds): its lines are then not promo headlines for being in capitals. Over every
#: shared corpus (2,521 articles) no article reaches 0.3; a capital promo line in a normal article
#: adds a few per cent.
CAPS_TEXT_RATIO = 0.5


def caps_share(text: str) -> float:
    """Share of upper-case letters among the letters of ``text`` (0.0 without letters); linear, in C."""
    if text.isascii():
        data = text.encode("ascii")
        n_letters = len(data) - len(data.translate(None, _ASCII_LETTERS))
        n_upper = len(data) - len(data.translate(None, _ASCII_LETTERS[:26]))
    else:
        n_letters = sum(map(str.isalpha, text))
        n_upper = sum(map(str.isupper, text))
    return n_upper / n_letters if n_letters else 0.0


@dataclass(frozen=True)
class CleanResult:
    """Cleaned text, the lines removed from it, and the outlet a staff credit line names (if any)."""

    text: str
    removed: tuple[RemovedLine, ...]
    credit_outlet: str | None = None


_GLUED = re.compile(r"(?<=[a-z0-9%)”’\"])([.!?]+[”’\")\]]*)(?=[A-Z][a-z])")


def unglue_sentences(line: str) -> str:
    """Put back the space between a sentence end and the next sentence that lost it.

    A stop (``.``, ``!``, ``?``, with any closing quote or bracket) after a lower-case letter, a
    digit, ``%`` or a closing mark, directly followed by a capitalised word, is a lost break:
    ``2001.Mr. Obama`` -> ``2001. Mr. Obama``. Initials (``J.K.Rowling``), acronyms (``U.S.``)
    and lower-case domains (``nytimes.com``) are left alone; so are decimals.
    """
    return _GLUED.sub(r"\1 ", line) if "." in line or "!" in line or "?" in line else line


def clean_text(text: str, *, title: str | None = None, rules: Sequence[Rule] = RULES) -> CleanResult:
    """Remove boilerplate lines from ``text``; fold whitespace inside lines; keep paragraph breaks.

    1. Split the raw text into lines (``\\r\\n`` and ``\\r`` count as line breaks), numbered from 1.
    2. Fold whitespace inside each line; blank lines are paragraph breaks. A sentence end glued
       to the next sentence (``in 2001.Mr. Obama``, ``he said.”The``: paragraphs joined without
       a break, common in scraped text) gets its space back (:func:`unglue_sentences`).
    3. Drop the first text line when it repeats ``title`` (HTML extraction puts the headline there),
       unless it is the only line or reads as a sentence (ends with . ! or ?): inputs whose title
       was made from the lead sentence must keep that sentence.
    4. Remove each line that matches a row of ``rules``, recording it and any outlet it names. In
       an article written in capitals (:data:`CAPS_TEXT_RATIO`) capitals mark nothing, so the
       capital-headline rule is left out: its lines are the article.
    5. Join the kept lines, one blank line per run of paragraph breaks, none at either end.
    """
    # 1. raw lines
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    others = tuple(rule for rule in rules if rule.predicate is not is_caps_headline)
    if len(others) < len(rules):
        # the share is measured on the lines the other rules keep, so that cleaning the cleaned
        # text decides the same way (cleaning is idempotent)
        body = (" ".join(raw.split()) for raw in raw_lines)
        if (
            caps_share("\n".join(ln for ln in body if ln and _classify(ln, others)[0] is None))
            >= CAPS_TEXT_RATIO
        ):
            rules = others
    removed: list[RemovedLine] = []
    kept: list[str] = []
    outlet: str | None = None
    title_key = _title_key(title) if title else None
    if title_key and sum(1 for raw in raw_lines if raw.split()) < 2:
        title_key = None
    first_text_line = True
    for number, raw in enumerate(raw_lines, start=1):
        # 2. whitespace folded inside the line, glued sentence ends parted
        line = unglue_sentences(" ".join(raw.split()))
        if not line:
            if kept and kept[-1]:
                kept.append("")
            continue
        # 3. repeated headline
        if first_text_line and title_key and _title_key(line) == title_key and not _SENTENCE_END.search(line):
            removed.append(RemovedLine(text=line, reason="headline", line=number))
            first_text_line = False
            continue
        first_text_line = False
        # 4. boilerplate table
        reason, named = _classify(line, rules)
        if reason is not None:
            removed.append(RemovedLine(text=line, reason=reason, line=number))
            outlet = outlet or named
            continue
        kept.append(line)
    # 5. join, paragraph breaks folded
    while kept and not kept[-1]:
        kept.pop()
    cleaned = "\n".join(kept)
    return CleanResult(text=cleaned, removed=tuple(removed), credit_outlet=outlet)


def clean_document(
    doc: RawDocument, *, outlets: OutletTable | None = None, outlet_override: str | None = None
) -> Article:
    """Clean one raw document into an :class:`Article` and settle its id and outlet.

    The outlet cascade: a name the user gave for the input files (``outlet_override``,
    ``outlet_source="user"``), else the one ingest found (input record, HTML metadata or URL host),
    else one a staff credit line names (``"credit"``), else the file name (``"filename"``). The
    raw form is then made canonical by ``outlets`` (:mod:`parallax.outlets`; the shipped table
    by default) and kept as ``outlet_raw``: "fox", "FOX" and "foxnews.com" are all "Fox News",
    and a bare file name becomes "Unknown outlet" plus a tag.
    Raises :class:`~parallax.errors.EmptyInputError` when no text is left after cleaning.
    """
    result = clean_text(doc.text, title=doc.title)
    if not result.text.strip():
        raise EmptyInputError(
            "no article text is left after removing boilerplate; check the input holds an article",
            path=doc.source_path,
            **_where(doc),
        )
    stem = _file_stem(doc.source_path)
    if outlet_override:
        raw, source = doc.outlet or result.credit_outlet or stem, "user"
    elif doc.outlet:
        raw, source = doc.outlet, doc.outlet_source or "input"
    elif result.credit_outlet:
        raw, source = result.credit_outlet, "credit"
    else:
        raw, source = stem, "filename"
    settled = (outlets or default_table()).resolve(raw, source=source, url=doc.url, override=outlet_override)
    if result.removed:
        log.debug("%s: removed %d boilerplate line(s)", doc.id or stem, len(result.removed))
    return Article(
        id=doc.id or stem,
        source_path=doc.source_path,
        text=result.text,
        outlet=settled.name,
        outlet_source=source,
        outlet_raw=raw if raw != settled.name else None,
        title=doc.title,
        published=doc.published,
        url=doc.url,
        author=doc.author,
        removed=result.removed,
        record=doc.record,
    )


def clean_documents(
    docs: Iterable[RawDocument], *, outlets: OutletTable | None = None, outlet_override: str | None = None
) -> tuple[list[Article], list[InputError]]:
    """Clean many documents; one left empty by cleaning becomes an error instead of stopping the rest."""
    articles: list[Article] = []
    errors: list[InputError] = []
    for doc in docs:
        try:
            articles.append(clean_document(doc, outlets=outlets, outlet_override=outlet_override))
        except InputError as exc:
            errors.append(exc)
    return articles, errors


# --- helpers -------------------------------------------------------------------------------------


def _where(doc: RawDocument) -> dict[str, Any]:
    """Error location of ``doc``: a JSONL record is a line, other records are indexes."""
    if doc.record is None:
        return {}
    if re.search(r"\.(?:jsonl|ndjson)(?:\.gz)?$", doc.source_path, re.IGNORECASE):
        return {"line": doc.record}
    return {"record": str(doc.record)}


def _classify(line: str, rules: Sequence[Rule]) -> tuple[str | None, str | None]:
    lower = line.lower() if line.isascii() else None
    n_words = line.count(" ") + 1
    for rule in rules:
        matched, outlet = rule._match(line, lower, n_words)
        if matched:
            return rule.reason, outlet
    return None, None


_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")


def _title_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _tidy_outlet(name: str) -> str:
    name = " ".join(name.split())
    return name[4:] if name.lower().startswith("the ") and len(name) > 4 else name


def _file_stem(source_path: str) -> str:
    name = Path(source_path).name
    for suffix in (".gz", ".warc"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return Path(name).stem if "." in name else (name or "article")
