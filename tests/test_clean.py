"""Tests of stage 2 (clean): the boilerplate table, whitespace, outlet inference, seed acceptance."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import shared_path

from parallax.clean import (
    RULES,
    CleanResult,
    Rule,
    _caps_ratio,
    clean_document,
    clean_documents,
    clean_text,
    is_caps_headline,
)
from parallax.errors import EmptyInputError
from parallax.ingest import read_paths
from parallax.outlets import unknown_outlet
from parallax.records import RawDocument
from parallax.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BODY = "The mayor said on Tuesday that the bridge would reopen next month."


def removed_reasons(result: CleanResult) -> list[str]:
    return [r.reason for r in result.removed]


# --- the boilerplate table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "MAYOR TWEETS SUPPORT FOR BRIDGE PLAN, CALLS IT ‘LONG OVERDUE AND NECESSARY’",
            "all-caps promo headline",
        ),
        ("CLICK HERE TO GET THE NEWS APP", "promo link"),
        ("Click here for more coverage", "promo link"),
        ("GET THE QUIZ: INSTANT DOWNLOAD!", "promo link"),
        ("READ MORE: Council Approves Budget Amid Protests", "related link"),
        ("RELATED: Five things to know about the vote", "related link"),
        ("Watch: The mayor speaks to reporters", "related link"),
        ("Sign up for our newsletter", "newsletter prompt"),
        ("Subscribe to our daily email updates", "newsletter prompt"),
        ("Download the app", "app prompt"),
        ("Get our free app for breaking news alerts", "app prompt"),
        ("Follow us on Twitter", "social prompt"),
        ("Advertisement", "advertisement"),
        ("Story continues below advertisement", "advertisement"),
        ("Share this article", "share prompt"),
        ("Facebook Twitter Email", "share prompt"),
        ("The mayor at city hall on Monday. (Jane Roe/Getty Images)", "photo caption"),
        ("Crowds gather outside the stadium. (AP Photo/John Doe)", "photo caption"),
        ("A view of the port (Reuters)", "photo caption"),
        ("Photo: John Doe", "photo caption"),
        ("Image: Handout", "photo caption"),
        ("Demonstrators in the square. Photograph: Jane Roe/AFP", "photo caption"),
        ("FILE - In this photo, the mayor speaks in 2018.", "photo caption"),
        ("Daily Planet’s Lois Lane and Jimmy Olsen contributed to this report.", "credit line"),
        ("The Associated Press contributed to this report.", "credit line"),
        ("(Reporting by Jane Roe; Editing by John Doe)", "credit line"),
        ("Copyright 2019 The Daily Planet. All rights reserved.", "copyright"),
    ],
)
def test_boilerplate_lines_are_removed_with_reason(line: str, reason: str) -> None:
    result = clean_text(f"{BODY}\n{line}\n{BODY}")
    assert result.text == f"{BODY}\n{BODY}"
    assert [(r.text, r.reason, r.line) for r in result.removed] == [(line, reason, 2)]


@pytest.mark.parametrize(
    "line",
    [
        "NASA said on Monday that the launch would be delayed by two weeks.",
        "WASHINGTON (Reuters) - The Senate voted on Tuesday to pass the bill.",
        "FBI agents searched the offices of the company, the statement said.",
        "HOW WILL IT WORK?",  # a short capital line is a subheading of the article itself
        "The minister said more work was needed (he did not say what).",
        "Read the full statement below, the spokesman said.",
        "Many readers will share this view, the editor wrote.",
        "The company said its new app would launch in May.",
        "“WE WILL WIN!” the candidate told a rally in Ohio on Saturday.",
        "Die elektronische Patientenakte (ePA)",
        "On this page",
        "[엔터미디어=소설가] 주말 밤 9시 MBC와 SBS는 막장극의 대결로 붙는 경우가 흔하다. 현재 MBC는 이유리 주연의",
        "He said the (AP) story was wrong, and he asked for a correction to be printed soon.",
    ],
)
def test_ordinary_lines_are_kept(line: str) -> None:
    result = clean_text(f"{BODY}\n{line}")
    assert result.removed == (), result.removed
    assert result.text == f"{BODY}\n{line}"


@pytest.mark.parametrize(
    ("credit", "outlet"),
    [
        ("Fox News’ Jane Roe and John O’Doe contributed to this report.", "Fox News"),
        ("Fox News' Jane Roe contributed to this report.", "Fox News"),
        ("CNN's John Doe contributed reporting to this story.", "CNN"),
        ("The Daily Planet’s Lois Lane contributed to this report.", "Daily Planet"),
        ("Associated Press writers Jane Roe and John Doe contributed to this report.", "Associated Press"),
        ("(Reporting by Jane Roe in London; Editing by John Doe)", "Reuters"),
        ("Reporting by Jane Roe; Additional reporting by John Doe; Writing by Ann Smith", "Reuters"),
        ("The Associated Press contributed to this report.", None),  # a wire credit in someone else's copy
        ("Jane Roe contributed to this report.", None),
    ],
)
def test_credit_lines_name_the_outlet_only_for_own_staff(credit: str, outlet: str | None) -> None:
    result = clean_text(f"{BODY}\n{credit}")
    assert removed_reasons(result) == ["credit line"]
    assert result.credit_outlet == outlet


def test_caps_headline_needs_headline_length() -> None:
    assert is_caps_headline("SENATOR SAYS SHE WILL VOTE AGAINST THE BILL DESPITE PRESSURE")
    assert not is_caps_headline("TOYOTA RAV4 PRIME")
    assert not is_caps_headline("NASA said on Monday that the launch was delayed")


# --- whitespace and structure --------------------------------------------------------------------


def test_whitespace_folded_inside_lines_paragraphs_kept() -> None:
    raw = "  First   line\twith\u00a0spaces. \r\n\r\n\r\n\nSecond “line” — kept.\n\n"
    result = clean_text(raw)
    assert result.text == "First line with spaces.\n\nSecond “line” — kept."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("He was elected in 2001.Mr. Obama said so.", "He was elected in 2001. Mr. Obama said so."),
        ("“It is over,” he said.”The vote is Friday.", "“It is over,” he said.” The vote is Friday."),
        ("Is it over?Nobody knows.", "Is it over? Nobody knows."),
        ("Prices rose 5%.Then they fell.", "Prices rose 5%. Then they fell."),
        # initials, acronyms, decimals and domains are not sentence ends
        ("J.K.Rowling wrote it.", "J.K.Rowling wrote it."),
        ("The U.S.Army left.", "The U.S.Army left."),
        ("Rates were 3.5 percent.", "Rates were 3.5 percent."),
        ("See nytimes.com for more.", "See nytimes.com for more."),
    ],
)
def test_glued_sentence_ends_get_their_space_back(raw: str, expected: str) -> None:
    assert clean_text(raw).text == expected
    assert clean_text(expected).text == expected


def test_removed_line_numbers_are_raw_lines() -> None:
    raw = f"{BODY}\n\nADVERTISEMENT\n\n{BODY}\nRead more: other news\n"
    result = clean_text(raw)
    assert [(r.line, r.reason) for r in result.removed] == [(3, "advertisement"), (6, "related link")]
    assert result.text == f"{BODY}\n\n{BODY}"


@pytest.mark.parametrize(
    "raw",
    [
        "Bridge reopens after repairs",  # the only line
        "Bridge reopens after repairs.\nThe mayor spoke.",  # a lead sentence used as the title
    ],
)
def test_title_line_kept_when_it_is_the_article(raw: str) -> None:
    result = clean_text(raw, title=raw.split("\n")[0])
    assert result.removed == () and result.text == raw


def test_repeated_headline_is_dropped_only_at_the_top() -> None:
    raw = f"Bridge Reopens After Repairs\n{BODY}\nBridge reopens after repairs"
    result = clean_text(raw, title="Bridge reopens after repairs")
    assert [(r.line, r.reason) for r in result.removed] == [(1, "headline")]
    assert result.text == f"{BODY}\nBridge reopens after repairs"


# --- clean_document: outlet cascade --------------------------------------------------------------


@pytest.mark.parametrize(
    ("outlet", "outlet_source", "tail", "expected"),
    [
        (
            "Daily Planet",
            "input",
            "Fox News’ Jane Roe contributed to this report.",
            ("Daily Planet", "input"),
        ),
        (
            "planet.example",
            "url",
            "Fox News’ Jane Roe contributed to this report.",
            ("planet.example", "url"),
        ),
        (None, None, "Fox News’ Jane Roe contributed to this report.", ("Fox News", "credit")),
        # a file name is no outlet: shown as "Unknown outlet" plus a tag, the stem kept as outlet_raw
        (
            None,
            None,
            "The Associated Press contributed to this report.",
            (unknown_outlet("story-7").name, "filename"),
        ),
        (None, None, "", (unknown_outlet("story-7").name, "filename")),
    ],
)
def test_outlet_cascade(
    outlet: str | None, outlet_source: str | None, tail: str, expected: tuple[str, str]
) -> None:
    doc = RawDocument(
        source_path="in/story-7.txt",
        text=f"{BODY}\n{tail}",
        id="story-7",
        outlet=outlet,
        outlet_source=outlet_source,
    )
    article = clean_document(doc)
    assert (article.outlet, article.outlet_source) == expected
    assert article.text == BODY


def test_document_left_empty_is_an_input_error() -> None:
    doc = RawDocument(source_path="feed.jsonl", text="Advertisement\nShare this article", id="a", record=4)
    with pytest.raises(EmptyInputError, match=r"^feed\.jsonl:4: no article text is left"):
        clean_document(doc)
    articles, errors = clean_documents([doc, RawDocument(source_path="b.txt", text=BODY, id="b")])
    assert [a.id for a in articles] == ["b"] and len(errors) == 1


# --- properties ----------------------------------------------------------------------------------

LINE = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=60),
    st.sampled_from(
        [
            "",
            "   ",
            "ADVERTISEMENT",
            "CLICK HERE TO GET THE APP",
            "READ MORE: other story",
            "A CAPITAL PROMO HEADLINE ABOUT SOMETHING THAT HAPPENED TODAY",
            "Daily Planet’s Lois Lane contributed to this report.",
            "Caption of a photo. (AP Photo/Jane Roe)",
            BODY,
            "  spaced   out   words  ",
        ]
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE, max_size=12))
def test_cleaning_is_idempotent_and_accounts_for_every_line(lines: list[str]) -> None:
    raw = "\n".join(lines)
    once = clean_text(raw)
    assert clean_text(once.text).text == once.text
    assert clean_text(once.text).removed == ()
    raw_nonblank = [ln for ln in raw.split("\n") if ln.split()]
    kept = [ln for ln in once.text.split("\n") if ln]
    assert len(once.removed) + len(kept) == len(raw_nonblank)
    assert "\n\n\n" not in once.text and once.text == once.text.strip("\n")


# --- acceptance over the example story -----------------------------------------------------------


@pytest.fixture(scope="module")
def seed_articles():  # type: ignore[no-untyped-def]
    result = read_paths([EXAMPLES], settings=Settings())
    assert not result.errors
    return {a.id[:3]: (doc, a) for doc, a in ((d, clean_document(d)) for d in result.documents)}


def test_seed_outlets(seed_articles) -> None:  # type: ignore[no-untyped-def]
    (_, fox), (_, second), (_, third) = (seed_articles[k] for k in ("000", "001", "002"))
    assert (fox.outlet, fox.outlet_source) == ("Fox News", "credit")
    for art in (second, third):  # no outlet is known: never shown as the file name
        assert (art.outlet, art.outlet_source, art.outlet_raw) == (
            unknown_outlet(art.id).name,
            "filename",
            art.id,
        )
    assert second.outlet != third.outlet


BOILERPLATE = [
    re.compile(r"CLICK HERE"),
    re.compile(r"READ MORE"),
    re.compile(r"^[^a-z]{40,}$", re.MULTILINE),  # a long line with no lower-case letter: a capital promo
    re.compile(r"\(Saul Loeb-Pool/Getty Images\)"),
    re.compile(r"contributed to this report"),
]


def test_seed_boilerplate_removed_and_recorded(seed_articles) -> None:  # type: ignore[no-untyped-def]
    for raw, article in seed_articles.values():
        for pattern in BOILERPLATE:
            assert not pattern.search(article.text), (article.id, pattern.pattern)
            in_raw = len(pattern.findall(raw.text))
            in_removed = sum(len(pattern.findall(r.text)) for r in article.removed)
            assert in_raw == in_removed, (article.id, pattern.pattern)
    total_removed = sum(len(a.removed) for _, a in seed_articles.values())
    assert total_removed == 7  # 2 capital promos, CLICK HERE, credit, 2 READ MORE, 1 caption


def test_seed_ordinary_sentences_all_kept(seed_articles) -> None:  # type: ignore[no-untyped-def]
    for raw, article in seed_articles.values():
        raw_lines = [" ".join(ln.split()) for ln in raw.text.split("\n") if ln.strip()]
        removed = {r.line for r in article.removed}
        ordinary = [
            ln for i, ln in enumerate(raw.text.split("\n"), start=1) if ln.strip() and i not in removed
        ]
        kept = [ln for ln in article.text.split("\n") if ln]
        assert kept == [" ".join(ln.split()) for ln in ordinary]
        assert len(kept) + len(article.removed) == len(raw_lines)


# --- the prefilters are exact -------------------------------------------------------------------


def _slow_match(rule: Rule, line: str) -> tuple[bool, str | None]:
    """``rule.match`` without its needle prefilter: what the table meant before the prefilter."""
    return dataclasses.replace(rule, needle=None).match(line)


PREFILTER_LINES = [
    "Fox News' Jane Doe contributed to this report.",
    "The Associated Press contributed to this report.",
    "CONTRIBUTED TO THIS REPORT BY STAFF",
    "Reporting by Jane Roe; Editing by John Poe",
    "(Additional REPORTING BY Ann Lee)",
    "Contributors: Ann Lee",
    "This material may not be published, broadcast, rewritten or redistributed.",
    "Sign up for our NEWSLETTER to get updates",
    "A man walks past the ruins (Photo: Jane Doe/Getty Images)",
    "Residents wait for buses. Photograph: Ann Lee",
    "contrıbuted to thıs report by staff",  # dotless i: matched case-insensitively, kept by lower()
    "Additional reporting by the Kelvin sign: \u212a",
    "Reporting by \u212aate Lee; Editing by Tom",
    "An ordinary sentence about the council vote on Tuesday.",
]


@pytest.mark.parametrize("line", PREFILTER_LINES)
def test_needles_never_change_a_match(line: str) -> None:
    for rule in RULES:
        assert rule.match(line) == _slow_match(rule, line), rule.reason


NEEDLE_WORDS = (
    *("contributed", "to", "this", "report", "Reporting", "by", ";", "Editing", "(Photo:", "AP)", "K"),
    *("\u212a", "ı", "newsletter", "subscribe", "may", "not", "be", "published,", "broadcast", ":"),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(NEEDLE_WORDS),
        min_size=1,
        max_size=14,
    ).map(" ".join)
)
def test_needles_never_change_a_match_property(line: str) -> None:
    for rule in RULES:
        assert rule.match(line) == _slow_match(rule, line), rule.reason


@pytest.mark.parametrize(
    "line",
    [
        "BREAKING NEWS: SENATE PASSES THE BILL",
        "Mostly lower case Words",
        "ÉTAT D'URGENCE DÉCLARÉ À PARIS",
        "12345",
    ],
)
def test_caps_ratio_ascii_fast_path_counts_like_the_general_one(line: str) -> None:
    letters = [c for c in line if c.isalpha()]
    expected = 0.0 if len(letters) < 8 else sum(c.isupper() for c in letters) / len(letters)
    assert _caps_ratio(line) == expected


# --- cleaning never empties a real article: every shared corpus, as written and in capitals -------


def _corpus_articles(name: str) -> Iterator[tuple[str, str, str | None]]:
    """``(id, text, title)`` of every article of one shared corpus (skips when it is absent)."""
    if name.endswith(".jsonl"):
        folder = "newswcl50" if name.startswith("newswcl50") else "clustering"
        for line in shared_path(folder, name).read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            yield rec["id"], rec["text"], rec.get("title")
    elif name == "basil":
        for path in sorted(shared_path("basil", "articles").glob("*/*.json")):
            rec = json.loads(path.read_text(encoding="utf-8"))
            paras = [" ".join(p) if isinstance(p, list) else p for p in rec["body-paragraphs"]]
            yield path.stem, "\n\n".join(paras), rec.get("title")
    elif name == "polnear":
        for path in sorted(shared_path("polnear").glob("*/text/*.txt")):
            yield path.stem, path.read_text(encoding="utf-8"), None
    elif name == "extraction":
        truth = json.loads(shared_path("extraction", "ground-truth.json").read_text(encoding="utf-8"))
        for key, rec in sorted(truth.items()):
            yield key, rec["articleBody"], None
    elif name == "seeds":
        for path in sorted(shared_path("seeds").glob("*.txt")):
            yield path.stem, path.read_text(encoding="utf-8"), None
    elif name == "timebank":
        for path in sorted(shared_path("timebank").glob("*/*.tml")):
            body = re.search(r"<TEXT>(.*)</TEXT>", path.read_text(encoding="utf-8"), re.DOTALL)
            if body:
                yield path.stem, re.sub(r"<[^>]+>", "", body.group(1)), None


def _kept_share(text: str, title: str | None) -> float:
    """Share of the article's words cleaning keeps; a first line repeating the title is not article text."""
    try:
        article = clean_document(RawDocument(source_path="corpus.txt", text=text, id="x", title=title))
    except EmptyInputError:
        return 0.0
    kept = len(article.text.split())
    lost = sum(len(r.text.split()) for r in article.removed if r.reason != "headline")
    return kept / (kept + lost) if kept + lost else 1.0


@pytest.mark.parametrize(
    "corpus",
    [
        "basil-2010-2015.jsonl",
        "ecbplus-topics-1-35.jsonl",
        "newswcl50-events-0-4.jsonl",
        "basil",
        "polnear",
        "extraction",
        "seeds",
        "timebank",
    ],
)
@pytest.mark.parametrize("capitals", [False, True], ids=["as-written", "in-capitals"])
def test_cleaning_keeps_most_of_every_real_article(corpus: str, capitals: bool) -> None:
    """At least 60% of each article's words survive, also when the whole article is in capitals."""
    shares = {}
    for aid, text, title in _corpus_articles(corpus):
        if capitals:
            text, title = text.upper(), title.upper() if title else None
        shares[aid] = _kept_share(text, title)
    assert shares
    worst = min(shares, key=shares.__getitem__)
    assert shares[worst] >= 0.6, (worst, shares[worst])


def test_an_article_in_capitals_is_kept_but_a_capital_promo_line_still_goes() -> None:
    lines = [
        "THE CITY COUNCIL VOTED ON TUESDAY TO CLOSE THE HARBOUR BRIDGE FOR REPAIRS NEXT MONTH.",
        "THE WORK WILL TAKE SIX WEEKS AND TRAFFIC WILL BE SENT THROUGH THE OLD TUNNEL, OFFICIALS SAID.",
        "RESIDENTS OF THE NORTH SHORE SAID THE DETOUR WOULD ADD AN HOUR TO THEIR DAILY COMMUTE.",
    ]
    assert clean_text("\n".join(lines)).text == "\n".join(lines)
    normal = (
        "The council voted on Tuesday to close the harbour bridge for repairs next month, officials said."
    )
    promo = "THESE ARE THE TEN BEST BRIDGES YOU MUST SEE BEFORE YOU DIE THIS YEAR"
    result = clean_text(f"{normal}\n{promo}\n{normal}")
    assert [r.reason for r in result.removed] == ["all-caps promo headline"]
