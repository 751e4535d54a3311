"""Tests of parallax.quotes: mark pairing, speakers, fidelity, grouping, and the seed story."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.quotes import (
    extract_quotes,
    find_quote_marks,
    find_quotes,
    fold_word,
    group_quotes,
    render_against,
    speaker_context,
)
from parallax.records import Article, QuoteSpan

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def quoted(text: str) -> list[str]:
    return [text[m.start : m.end] for m in find_quote_marks(text)]


# --- pairing marks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He said “we will win” today.", ["we will win"]),
        ('He said "we will win" today.', ["we will win"]),
        ("Il a dit « nous gagnerons » hier.", ["nous gagnerons"]),
        ("Er sagte „wir gewinnen“ heute.", ["wir gewinnen"]),
        (
            '“It wasn’t sexual, but he did grab me," Lappos told the paper.',
            ["It wasn’t sexual, but he did grab me,"],
        ),
        ("“He called it ‘fake news’ again,” she said.", ["He called it ‘fake news’ again,"]),
        ("She stood up for her “friend” and his “leadership”.", ["friend", "leadership"]),
        ('A 5" pipe and “real words” here.', ["real words"]),
        ("No quotes at all.", []),
        ("“ ” empty marks.", []),
    ],
)
def test_mark_styles(text: str, expected: list[str]) -> None:
    assert quoted(text) == expected


def test_multi_paragraph_quote_is_one_span() -> None:
    text = "“First paragraph of the speech.\n“Second paragraph ends it,” she said.\nNext line."
    spans = find_quote_marks(text)
    assert len(spans) == 1
    assert text[spans[0].start : spans[0].end].startswith("First paragraph")
    assert text[spans[0].start : spans[0].end].endswith("ends it,")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an unclosed quote ends at its paragraph; the next paragraph is read normally
        ("He said “never closed here.\nThen “a real one” follows.", ["never closed here.", "a real one"]),
        # a stray closing mark outside any quote is ignored
        ("Stray” mark, then “clean quote” here.", ["clean quote"]),
        # a forgotten closing mark before a new quote sentence
        ("“First sentence. “Second one,” he said.", ["First sentence.", "Second one,"]),
    ],
)
def test_unbalanced_marks_recover(text: str, expected: list[str]) -> None:
    assert quoted(text) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab .,\n“”"«»„‘’[]')), max_size=80))
def test_marks_never_raise_and_offsets_index_text(text: str) -> None:
    for m in find_quote_marks(text):
        assert 0 <= m.open_mark < m.start <= m.end <= len(text)
        assert text[m.start : m.end].strip() == text[m.start : m.end]
        assert any(c.isalnum() for c in text[m.start : m.end])


# --- speakers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quote", "speaker", "cue"),
    [
        (
            "“We will win this race,” John Smith said on Monday.",
            "We will win this race,",
            "John Smith",
            "say",
        ),
        ("“We will win this race,” said John Smith.", "We will win this race,", "John Smith", "say"),
        (
            "Mary Jones spoke. “The plan is dead,” Jones told the paper.",
            "The plan is dead,",
            "Mary Jones",
            "tell",
        ),
        (
            "Senator Tom Hill wrote: “The vote is set for June.”",
            "The vote is set for June.",
            "Tom Hill",
            "write",
        ),
        (
            "According to Anna Berg, the deal was “done and dusted” by May.",
            "done and dusted",
            "Anna Berg",
            "according to",
        ),
        (
            "Biden spokesman Bill Russo said the claims were “smears and forgeries” on Monday.",
            "smears and forgeries",
            "Bill Russo",
            "say",
        ),
    ],
)
def test_speaker_and_cue(make_analyzed, text: str, quote: str, speaker: str, cue: str) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", text))
    spans = extract_quotes(art)
    assert [s.text for s in spans] == [quote]
    assert spans[0].speaker == speaker
    assert spans[0].cue == cue
    assert spans[0].text == text[spans[0].start : spans[0].end]


def test_pronoun_resolves_to_previous_subject_full_name(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Alice Walker met Tom Brown on Friday. Walker said the meeting went well.\n"
        "“We agreed on everything that matters,” she said."
    )
    (art,) = make_analyzed(("a", text))
    (span,) = extract_quotes(art)
    assert span.speaker == "Alice Walker"
    assert text[span.speaker_start : span.speaker_end] == "she"


def test_quote_without_cue_takes_previous_speaker(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = "“The economy is strong,” Maria Lopez said.\n“And it will stay strong next year.”"
    (art,) = make_analyzed(("a", text))
    spans = extract_quotes(art)
    assert [s.speaker for s in spans] == ["Maria Lopez", "Maria Lopez"]


def test_shouted_promo_line_is_not_a_quote(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = "Tom Hill spoke.\nSTAR TWEETS SUPPORT FOR HILL, CALLS HIM “TRULY DECENT AND KIND”\nHe left."
    (art,) = make_analyzed(("a", text))
    assert extract_quotes(art) == []


# --- speaker resolution: salience, gender, descriptions, story names --------------------------------


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        # the main-clause subject (an apposition of it) outranks an embedded subject and a PP object,
        # and the given name says "she"
        (
            "Following the report, Amy Reed, a former aide, told the paper that Tom Hill had grabbed "
            "her at a fundraiser for Rep. Jim Stone.\n“It was frightening and strange,” she claimed.",
            "Amy Reed",
        ),
        # a name at the end of the previous sentence inside a PP loses to the salient subject
        (
            "Tom Hill apologised on Friday. Amy Reed said Hill had hugged her at a party for Rep. Jim Stone."
            "\n“I will listen to every one of them,” he said.",
            "Tom Hill",
        ),
        # a person named inside the quotation is seldom its speaker
        (
            "Jim Stone was praised by Tom Hill on Friday.\n“Stone is a fine and decent man,” he said.",
            "Tom Hill",
        ),
        # an honorific tells the other person is a man
        (
            "Jordan Blake met Casey Lund in Ohio on Monday. Mr. Lund spoke first.\n“The plan is dead,” she said.",
            "Jordan Blake",
        ),
        # a gendered role noun in apposition tells the subject is a woman
        (
            "Casey Lund met Jordan Blake, an actress, on Monday. Blake spoke first.\n"
            "“We agreed on nothing at all,” he said.",
            "Casey Lund",
        ),
    ],
)
def test_pronoun_salience_and_gender(make_analyzed, text: str, speaker: str) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", text))
    spans = extract_quotes(art)
    assert [s.speaker for s in spans][-1] == speaker
    last = spans[-1]
    assert text[last.speaker_start : last.speaker_end] in ("he", "she")


@pytest.mark.parametrize(
    ("text", "speaker", "local"),
    [
        (
            "Senator Tom Hill visited the plant on Monday.\n“Jobs are coming back to this town,” said the senator.",
            "Tom Hill",
            "the senator",
        ),
        (
            "Amy Reed and former governor Mark Stone spoke on Monday.\n“We will win this state,” the former "
            "governor said.",
            "Mark Stone",
            "the former governor",
        ),
        # no one in the story is labelled a spokesman: no speaker, the description kept as a phrase
        ("Tom Hill spoke on Monday.\n“We will win this state,” the spokesman said.", None, "the spokesman"),
    ],
)
def test_definite_description_resolves_to_labelled_person(
    make_analyzed, text: str, speaker: str | None, local: str | None
) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", text))
    (span,) = extract_quotes(art)
    assert span.speaker == speaker
    assert text[span.speaker_start : span.speaker_end] == (local or speaker)
    assert span.speaker_phrase == (None if speaker else local)


def test_surname_maps_to_full_name_named_elsewhere_in_story(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    arts = make_analyzed(
        ("a", "Campaign spokesman Bill Rourke spoke to reporters on Monday."),
        ("b", "The campaign answered on Tuesday.\n“The claims are false and we will say so,” said Rourke."),
    )
    story = speaker_context(arts)
    (span,) = extract_quotes(arts[1], story=story)
    assert span.speaker == "Bill Rourke"
    # alone, the article only knows the surname
    assert extract_quotes(arts[1])[0].speaker == "Rourke"
    (quote,) = find_quotes(arts)
    assert quote.speaker == "Bill Rourke"


@pytest.mark.parametrize(
    ("text", "name", "gender"),
    [
        ("Ms. Jordan Blake spoke.", "Jordan Blake", "f"),
        ("Mr. Jordan Blake spoke.", "Jordan Blake", "m"),
        ("Rep. Jordan Blake spoke.", "Jordan Blake", None),  # a title gives no gender
        ("Sen. Mary Cole spoke.", "Mary Cole", "f"),  # the given name does
        ("Jordan Blake arrived late. He apologised.", "Jordan Blake", "m"),
    ],
)
def test_gender_votes(make_analyzed, text: str, name: str, gender: str | None) -> None:  # type: ignore[no-untyped-def]
    story = speaker_context(make_analyzed(("a", text)))
    assert story.gender.get(name) == gender


# --- fidelity -----------------------------------------------------------------------------------------

REF = "I have been fortunate to accompany him to events where he empathized with them"


@pytest.mark.parametrize(
    ("rendering", "fidelity"),
    [
        (REF, "verbatim"),
        ("fortunate to accompany him to events", "trimmed"),
        ("I have been fortunate to accompany him to events where he empathised with them", "spelling"),
        ("i have been fortunate to accompany him to events where he empathized with them", "spelling"),
        ("I have been fortunate to accompany [Biden] to events where he empathized with them", "bracketed"),
        ("I have been lucky to accompany him to events where he empathized with them", "altered"),
        ("I have been fortunate to go with him to events where he empathized with them", "altered"),
        ("I have been fortunate to accompany him to events where he empathized", "trimmed"),
    ],
)
def test_fidelity_classes(rendering: str, fidelity: str) -> None:
    got, diff = render_against(REF, rendering)
    assert got == fidelity
    assert {d.op for d in diff} <= {"equal", "insert", "delete", "replace"}
    if fidelity == "verbatim":
        assert all(d.op == "equal" for d in diff)


def test_apostrophe_style_is_spelling() -> None:
    assert render_against("it wasn't sexual", "it wasn’t sexual")[0] == "spelling"
    assert fold_word("empathised") == fold_word("empathized")
    assert fold_word("colour") == fold_word("color")
    assert fold_word("four") == "four"


# --- grouping -------------------------------------------------------------------------------------------


def span(article: str, text: str, start: int = 0, speaker: str | None = "Ann Lee") -> QuoteSpan:
    return QuoteSpan(
        article=article, text=text, start=start, end=start + len(text), speaker=speaker, cue="say"
    )


SPANS = [
    span("a", "we cannot assume all women's experiences are the same", 10),
    span("b", "But, just as we must believe women, we cannot assume all women’s experiences are the same", 5),
    span("c", "we cannot assume all women's experiences are the same", 40, speaker="Lee"),
    span("a", "a completely different sentence about taxes and roads", 100),
    span("b", "friend", 200),
    span("c", "the budget will pass in June, officials expect", 0, speaker=None),
]


def test_group_quotes_merges_across_articles() -> None:
    quotes = group_quotes(SPANS)
    main = next(q for q in quotes if len(q.renderings) == 3)
    assert main.text.startswith("But, just as")
    assert main.speaker == "Ann Lee"
    assert [r.article for r in main.renderings] == ["a", "b", "c"]
    fid = {r.article: r.fidelity for r in main.renderings}
    assert fid == {"a": "spelling", "b": "verbatim", "c": "spelling"}  # women’s vs women's
    assert [q.id for q in quotes] == [f"q{i}" for i in range(1, len(quotes) + 1)]
    assert sum(len(q.renderings) for q in quotes) == len(SPANS)


def test_group_keeps_one_rendering_per_article() -> None:
    spans = [*SPANS, span("a", "we cannot assume all women's experiences", 300)]
    quotes = group_quotes(spans)
    for q in quotes:
        arts = [r.article for r in q.renderings]
        assert len(arts) == len(set(arts))
    assert sum(len(q.renderings) for q in quotes) == len(SPANS)  # the repeat is dropped


@settings(max_examples=30, deadline=None)
@given(st.permutations(SPANS))
def test_grouping_is_order_independent(perm: list[QuoteSpan]) -> None:
    def shape(spans: list[QuoteSpan]) -> set[frozenset[tuple[str, int, str]]]:
        return {
            frozenset((r.article, r.start, r.fidelity) for r in q.renderings) for q in group_quotes(spans)
        }

    assert shape(perm) == shape(SPANS)


def test_group_checks_offsets_against_texts() -> None:
    from parallax.errors import AnalysisError

    with pytest.raises(AnalysisError, match="article 'a'"):
        group_quotes([span("a", "hello there friend", 0)], {"a": "something else entirely"})


# --- acceptance: the seed story ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_quotes(nlp):  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze

    arts = [
        Article(id=p.stem, source_path=str(p), text=p.read_text(encoding="utf-8"), outlet=p.stem)
        for p in sorted(EXAMPLES.glob("*.txt"))
    ]
    assert len(arts) == 3
    return find_quotes(analyze(arts, nlp=nlp)), {a.id: a.text for a in arts}


def _quote_with(quotes, words: str):  # type: ignore[no-untyped-def]
    found = [q for q in quotes if any(words in r.text.replace("’", "'") for r in q.renderings)]
    assert found, words
    return max(found, key=lambda q: len(q.renderings))


def test_seed_milano_quote_in_all_three(seed_quotes) -> None:  # type: ignore[no-untyped-def]
    quotes, texts = seed_quotes
    q = _quote_with(quotes, "we cannot assume all women's experiences are the same")
    assert len({r.article for r in q.renderings}) == 3
    assert q.speaker == "Alyssa Milano"
    for r in q.renderings:
        assert texts[r.article][r.start : r.end] == r.text


def test_seed_lappos_quote_in_all_three(seed_quotes) -> None:  # type: ignore[no-untyped-def]
    quotes, _ = seed_quotes
    q = _quote_with(quotes, "hand around my neck")
    assert len({r.article for r in q.renderings}) == 3
    assert q.speaker == "Amy Lappos"


def test_seed_fidelity_classes(seed_quotes) -> None:  # type: ignore[no-untyped-def]
    quotes, _ = seed_quotes
    empathy = _quote_with(quotes, "empathi")
    by_text = {r.text: r.fidelity for r in empathy.renderings}
    assert any(f == "spelling" for t, f in by_text.items() if "empathised" in t), by_text
    bracket = _quote_with(quotes, "[it")
    assert any(r.fidelity == "bracketed" and "[it" in r.text for r in bracket.renderings)


def test_seed_no_boilerplate_and_stable_ids(seed_quotes) -> None:  # type: ignore[no-untyped-def]
    quotes, _ = seed_quotes
    texts = [r.text for q in quotes for r in q.renderings]
    assert not any("TRULY DECENT" in t or "FOX NEWS APP" in t for t in texts)
    assert [q.id for q in quotes] == [f"q{i}" for i in range(1, len(quotes) + 1)]
    for q in quotes:
        assert len({r.article for r in q.renderings}) == len(q.renderings)


def _renderings_with(quotes, words: str):  # type: ignore[no-untyped-def]
    found = [r for q in quotes for r in q.renderings if words in r.text.replace("’", "'")]
    assert found, words
    return found


def test_seed_lappos_speaker_in_every_article(seed_quotes) -> None:  # type: ignore[no-untyped-def]
    quotes, _ = seed_quotes
    found = _renderings_with(quotes, "hand around my neck")
    assert len({r.article for r in found}) == 3
    assert all(r.speaker == "Amy Lappos" for r in found), [(r.article, r.speaker) for r in found]


def test_seed_biden_pledge_and_description(seed_quotes) -> None:  # type: ignore[no-untyped-def]
    quotes, _ = seed_quotes
    (r,) = _renderings_with(quotes, "I will also remain the strongest advocate")
    assert r.speaker == "Joe Biden"
    assert all(r.speaker == "Joe Biden" for r in _renderings_with(quotes, "strongest advocate"))


@pytest.mark.parametrize(
    "words",
    [
        "women's experiences are the same",
        "proud to call Joe Biden a friend",
        "accompany him to events",
        "a leader and a champion",
        "bang down",
    ],
)
def test_seed_milano_speaker(seed_quotes, words: str) -> None:  # type: ignore[no-untyped-def]
    quotes, _ = seed_quotes
    assert all(r.speaker == "Alyssa Milano" for r in _renderings_with(quotes, words))
