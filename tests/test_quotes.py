"""Tests of parallax.quotes: mark pairing, speakers, fidelity, grouping, and the seed story."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.quotes import (
    CueTable,
    count_voices,
    cue_candidates,
    extract_attributions,
    extract_quotes,
    find_attributions,
    find_quote_marks,
    find_quotes,
    fold_word,
    group_quotes,
    group_statements,
    join_quote_fragments,
    load_cue_table,
    render_against,
    speaker_context,
)
from parallax.records import Article, Attribution, QuoteSpan

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


def test_straight_mark_spaced_off_a_nested_quote() -> None:
    text = "\"They ask, 'Is this important,' \" Magel said. \"But you have 'lies' \" too."
    assert quoted(text) == ["They ask, 'Is this important,'", "But you have 'lies'"]


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
        (  # the parser takes the name into the quotation's clause and leaves "said" without subject
            "The effort reflects her advisers’ wariness of polls continuing to show deep dissatisfaction "
            "with the economy. “It is not the position that everything is hunky-dory,” Gene Sperling, "
            "a top outside Clinton adviser, said at a recent POLITICO event.",
            "It is not the position that everything is hunky-dory,",
            "Gene Sperling",
            "say",
        ),
        (  # the cue parsed as a participle on the noun phrase it follows
            "Obama spoke on Monday.\n\n“Is Obama going to mention the words? If he doesn't he should resign!” "
            "the presumptive GOP presidential nominee, Donald Trump, tweeted Sunday after the attack.",
            "Is Obama going to mention the words? If he doesn't he should resign!",
            "Donald Trump",
            "tweet",
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


@pytest.mark.parametrize(
    "text",
    [
        "After the attack, Senator Tom Hill issued the following statement:\n\n“Our prayers are with "
        "the families of the victims.”",
        "When the mayor died, Tom Hill released a short statement: “He was a good friend to this city.”",
    ],
)
def test_colon_after_object_of_a_persons_verb(make_analyzed, text: str) -> None:  # type: ignore[no-untyped-def]
    """'X issued the following statement: “...”': the statement is X's words, X speaks."""
    (art,) = make_analyzed(("a", text))
    assert [s.speaker for s in extract_quotes(art)] == ["Tom Hill"]


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


# --- attributions: indirect, mixed, speakers, non-quotations ------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "speaker", "cue", "content"),
    [
        (
            "Mary Jones warned that prices would rise sharply next year.",
            "indirect",
            "Mary Jones",
            "warn",
            "prices would rise sharply next year",
        ),
        (
            "Mary Jones argued the tax cut would help small firms.",
            "indirect",
            "Mary Jones",
            "argue",
            "the tax cut would help small firms",
        ),
        (
            "Tom Hill told reporters the vote would be delayed until June.",
            "indirect",
            "Tom Hill",
            "tell",
            "the vote would be delayed until June",
        ),
        (
            "According to Anna Berg, the deal was done by May.",
            "indirect",
            "Anna Berg",
            "according to",
            "the deal was done by May",
        ),
        (
            "Tom Hill denied the report about the vote on Monday.",
            "indirect",
            "Tom Hill",
            "deny",
            "the report about the vote on Monday",
        ),
        (
            "Tom Hill spoke on Monday. He said the plan would fail.",
            "indirect",
            "Tom Hill",
            "say",
            "the plan would fail",
        ),
        (
            "Biden spokesman Bill Russo said the plan was “dead on arrival” on Monday.",
            "mixed",
            "Bill Russo",
            "say",
            "the plan was “dead on arrival” on Monday",
        ),
    ],
)
def test_indirect_and_mixed_attributions(  # type: ignore[no-untyped-def]
    make_analyzed, text: str, kind: str, speaker: str, cue: str, content: str
) -> None:
    (art,) = make_analyzed(("a", text))
    _, found, _ = extract_attributions(art)
    (att,) = [a for a in found if a.kind != "direct"]
    assert (att.kind, att.speaker, att.cue) == (kind, speaker, cue)
    assert att.content == content == text[att.start : att.end]
    cue_words = {"warn": "warned", "argue": "argued", "tell": "told", "deny": "denied", "say": "said"}
    assert text[att.cue_start : att.cue_end] == cue_words.get(cue, "According to")
    # a mixed attribution stands for the quotation it holds
    assert not [a for a in found if a.kind == "direct"]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("“The plan is dead,” they said.", "they"),
        ("Her comments said the plan would fail.", "Her comments"),
        ("Tom Hill spoke on Monday. His aides said the plan would fail.", "His aides"),
        ("Many others said the plan would fail.", "Many others"),
        ("Tom Hill spoke on Monday. Clinton’s aides said the plan would fail.", "Clinton’s aides"),
        ("A White House official said the plan would fail.", "A White House official"),
    ],
)
def test_unresolved_speaker_is_a_phrase_never_a_name(make_analyzed, text: str, phrase: str) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", text))
    _, found, _ = extract_attributions(art)
    assert found
    for att in found:
        assert att.speaker is None
        assert att.speaker_phrase == phrase == text[att.speaker_start : att.speaker_end]


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        ("He appeared on “Meet the Press” on Sunday.", "title", "Meet the Press"),
        ("The so-called “deal” was signed on Friday.", "term", "deal"),
        ("Dwayne “The Rock” Johnson spoke at the rally.", "term", "The Rock"),
        ("The “experts” were wrong about the vote.", "scare", "experts"),
    ],
)
def test_non_quotations_are_classed_and_kept_out(make_analyzed, text: str, kind: str, words: str) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", text))
    quotes, found, non_quotes = extract_attributions(art)
    assert quotes == [] and [a for a in found if a.kind == "direct"] == []
    assert [(n.kind, n.text) for n in non_quotes] == [(kind, words)]
    assert text[non_quotes[0].start : non_quotes[0].end] == words
    assert extract_quotes(art) == []


def test_short_quotation_governed_by_a_cue_is_a_quotation(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", "Tom Hill called the plan “reckless” on Monday."))
    quotes, _, non_quotes = extract_attributions(art)
    assert [q.text for q in quotes] == ["reckless"] and non_quotes == []


@pytest.mark.parametrize(
    ("text", "quote", "speaker"),
    [
        ("Ann Lee was asked who would win. “Denver,” she answered.", "Denver,", "Ann Lee"),
        ("Tom Hill turned to the crowd. “Quiet!” shouted Tom Hill.", "Quiet!", "Tom Hill"),
    ],
)
def test_reply_before_its_cue_is_a_quotation(make_analyzed, text: str, quote: str, speaker: str) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", text))
    quotes, _, non_quotes = extract_attributions(art)
    assert [(q.text, q.speaker) for q in quotes] == [(quote, speaker)] and non_quotes == []


def test_quotation_governed_by_a_group_phrase_keeps_the_phrase(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = "Ann Lee proposed a debate in April. The rival campaign dismissed the idea as “ludicrous and too late” on Monday."
    (art,) = make_analyzed(("a", text))
    quotes, _, _ = extract_attributions(art)
    assert [(q.text, q.speaker, q.speaker_phrase) for q in quotes] == [
        ("ludicrous and too late", None, "The rival campaign")
    ]


@pytest.mark.parametrize(
    ("text", "speaker", "local"),
    [
        # a relative "who" hanging on an apposition names the person it describes
        (
            "“We think early money sets the terms,” said Scott Reed, the Chamber's chief strategist, "
            "who added that his group will focus on local issues “like folks are running for sheriff.”",
            "Scott Reed",
            "who",
        ),
        # a cue the parser left without a subject takes the name right before it
        (
            "Saturday at the Massachusetts Democratic state’s party convention Sen. Elizabeth Warren (D-MA) "
            "said presumptive Republican presidential nominee Donald Trump was a “proven failure” in business.",
            "Elizabeth Warren",
            "Elizabeth Warren",
        ),
    ],
)
def test_mixed_attribution_speaker_and_local_mention(
    make_analyzed, text: str, speaker: str, local: str
) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", text))
    _, found, _ = extract_attributions(art)
    mixed = [a for a in found if a.kind == "mixed"]
    assert [(a.speaker, text[a.speaker_start : a.speaker_end]) for a in mixed] == [(speaker, local)]


def test_title_followed_by_a_clause_stays_a_title(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", "He appeared on “Charlie Rose,” where he spoke about taxes."))
    quotes, _, non_quotes = extract_attributions(art)
    assert quotes == [] and [(n.kind, n.text) for n in non_quotes] == [("title", "Charlie Rose,")]


def test_quotation_fragments_around_their_cue_are_one_attribution(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = "“We will win this race,” Ann Lee said, “and we will win it in June.”\n“Taxes rose.”"
    (art,) = make_analyzed(("a", text))
    quotes, found, _ = extract_attributions(art)
    assert len(quotes) == 3
    groups = join_quote_fragments(quotes, text)
    assert [len(g) for g in groups] == [2, 1]  # a paragraph break ends a statement
    first = found[0]
    assert (first.kind, first.speaker) == ("direct", "Ann Lee")
    assert first.content.startswith("We will win") and first.content.endswith("in June.")


def test_quotation_naming_its_own_speaker_is_a_new_statement(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = "“Cruz kept his promise,” Brent Bozell says. “They want unanimity,” he notes."
    (art,) = make_analyzed(("a", text))
    quotes, found, _ = extract_attributions(art)
    assert [len(g) for g in join_quote_fragments(quotes, text)] == [1, 1]
    directs = [a for a in found if a.kind == "direct"]
    assert [text[a.speaker_start : a.speaker_end] for a in directs] == ["Brent Bozell", "he"]
    assert [a.speaker for a in directs] == ["Brent Bozell", "Brent Bozell"]


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("Campaign chair Paul Manafort dismissed the whole affair as “absurd and silly.”", "Paul Manafort"),
        ("Angela Merkel heralded the deal with Turkey as a “historic breakthrough.”", "Angela Merkel"),
    ],
)
def test_quotation_governed_by_a_non_reporting_verb_takes_its_subject(  # type: ignore[no-untyped-def]
    make_analyzed, text: str, speaker: str
) -> None:
    (art,) = make_analyzed(("a", text))
    (span,) = extract_quotes(art)
    assert span.speaker == speaker


def test_governing_subject_that_is_no_name_gives_no_speaker(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", "The new rules treat the whole affair as “absurd and silly.”"))
    (span,) = extract_quotes(art)
    assert span.speaker is None


def test_pronoun_after_a_quote_leans_to_its_speaker(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Ted Cruz spoke in Iowa. Ted Cruz attacked the plan. Ted Cruz met donors.\n"
        "“The same criticism applies to his critics,” said Christopher Preble, a scholar at the Cato "
        "Institute. “This debate is misleading,” he said."
    )
    (art,) = make_analyzed(("a", text))
    spans = extract_quotes(art)
    assert [s.speaker for s in spans] == ["Christopher Preble", "Christopher Preble"]


def test_inverted_cue_takes_the_name_in_a_split_phrase(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = "“We will hold hearings soon,” beamed committee ranking Democrat Elijah Cummings on Monday."
    (art,) = make_analyzed(("a", text))
    (span,) = extract_quotes(art)
    assert span.speaker is not None and span.speaker.endswith("Elijah Cummings")


def test_headline_line_names_its_speaker(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Actress Gina Rodriguez spoke at the awards.\n"
        "Gina Rodriguez Questioned What It Means To Be “Latino Enough.”\n"
        "The show went on."
    )
    (art,) = make_analyzed(("a", text))
    (span,) = extract_quotes(art)
    assert span.speaker == "Gina Rodriguez"


def test_candidate_content_is_clipped_to_the_cue_paragraph(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    from parallax.quotes.attributions import _in_paragraph
    from parallax.quotes.cues import CueCandidate

    text = "Ann Lee said taxes rose\n\nThe vote failed."
    (art,) = make_analyzed(("a", text))
    doc = art.doc
    said = next(t.i for t in doc if t.text == "said")
    clipped = _in_paragraph(doc, text, CueCandidate(said, "ccomp", (said + 1, len(doc)), "agent"))
    assert clipped is not None
    lo, hi = clipped.content
    assert text[doc[lo].idx : doc[hi - 1].idx + len(doc[hi - 1])] == "taxes rose"
    inside = CueCandidate(said, "ccomp", (said + 1, said + 3), "agent")
    assert _in_paragraph(doc, text, inside) is inside
    later = next(t.i for t in doc if t.text == "vote")
    assert _in_paragraph(doc, text, CueCandidate(said, "ccomp", (later, later + 1), "agent")) is None


def test_candidates_cover_the_frames(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    (art,) = make_analyzed(("a", "Tom Hill said that taxes rose. According to Ann Lee, the vote failed."))
    doc = art.doc
    frames = {c.key(doc) for c in cue_candidates(doc)}
    assert {"say|ccomp|agent", "according|according|agent"} <= frames


def test_cue_table_backs_off_to_lemma_and_frame() -> None:
    table = CueTable(
        counts={"say|ccomp|agent": (9, 10), "have|dobj|noun": (0, 50)},
        threshold=0.5,
        frame_prior={"ccomp": 0.8, "dobj": 0.5},
    )
    assert table.weight("say|ccomp|agent") > 0.8
    assert 0.8 < table.weight("say|ccomp|noun") < table.weight("say|ccomp|agent")  # backs off to say|ccomp
    assert table.weight("whisper|ccomp|agent") == pytest.approx(0.8)  # unseen reporting verb: the prior
    assert table.weight("have|dobj|noun") < 0.05 and table.weight("eat|dobj|agent") == 0.0
    shipped = load_cue_table()
    assert 0 < shipped.threshold < 1 and shipped.weight("say|ccomp|agent") > shipped.threshold


def _att(article: str, content: str, speaker: str | None, kind: str = "direct") -> Attribution:
    return Attribution(
        article=article,
        kind=kind,
        content=content,
        start=0,
        end=len(content),  # type: ignore[arg-type]
        speaker=speaker,
        cue="say",
    )


def test_statements_group_quotation_and_paraphrase_across_outlets() -> None:
    atts = [
        _att(
            "a",
            "the staffers never had an inkling that Flores had been uncomfortable at the rally",
            "Bill Russo",
        ),
        _att("b", "staffers had no inkling Flores was uncomfortable at the rally", "Bill Russo", "indirect"),
        _att(
            "c", "the staffers never had an inkling that Flores had been uncomfortable", "Ann Lee", "indirect"
        ),
        _att("c", "the budget passed in June after a long fight", None, "indirect"),
    ]
    order = {"a": 0, "b": 1, "c": 2}
    statements = group_statements(atts, order=order)
    russo = next(s for s in statements if s.speaker == "Bill Russo")
    assert sorted((a.article, a.kind) for a in russo.attributions) == [("a", "direct"), ("b", "indirect")]
    # another named speaker's words are never the same statement
    assert len(statements) == 3
    assert group_statements(list(reversed(atts)), order=order) == statements


def test_voices_count_direct_and_indirect_per_article() -> None:
    atts = [
        _att("a", "x", "Bill Russo"),
        _att("a", "y", "Bill Russo", "indirect"),
        _att("a", "z", "Bill Russo", "mixed"),
        _att("b", "w", None, "indirect"),
    ]
    voices = count_voices(atts, {"a": "Fox", "b": "CNN"})
    assert [(v.outlet, v.speaker, v.direct, v.indirect) for v in voices] == [
        ("Fox", "Bill Russo", 2, 1),
        ("CNN", None, 0, 1),
    ]


def test_canonical_hook_names_every_speaker(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    arts = make_analyzed(("a", "“We will win this race,” said Susan Rice. Rice said that taxes rose."))
    canon = {"Susan Rice": "Susan E. Rice"}
    found = find_attributions(arts, canonical=lambda n: canon.get(n, n))
    assert {a.speaker for a in found.attributions} == {"Susan E. Rice"}
    assert [q.speaker for q in found.quotes] == ["Susan E. Rice"]
    assert [q.speaker for q in find_quotes(arts, canonical=lambda n: canon.get(n, n))] == ["Susan E. Rice"]
    assert {v.speaker for v in found.voices} == {"Susan E. Rice"}


_PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "him", "her", "them", "who", "which", "that"}


@pytest.fixture(scope="module")
def seed_attributions(nlp):  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze

    arts = [
        Article(id=p.stem, source_path=str(p), text=p.read_text(encoding="utf-8"), outlet=p.stem)
        for p in sorted(EXAMPLES.glob("*.txt"))
    ]
    return find_attributions(analyze(arts, nlp=nlp))


def test_seed_russo_statement_is_attributed_to_him(seed_attributions) -> None:  # type: ignore[no-untyped-def]
    found = [
        a
        for a in seed_attributions.attributions
        if a.article.startswith("000") and a.content.startswith("the former leader and staffers")
    ]
    assert len(found) == 1
    (att,) = found
    assert (att.speaker, att.cue, att.kind) == ("Bill Russo", "say", "mixed")


def test_seed_speakers_are_never_pronouns_or_possessive_phrases(seed_attributions) -> None:  # type: ignore[no-untyped-def]
    named = [a.speaker for a in seed_attributions.attributions if a.speaker]
    named += [r.speaker for q in seed_attributions.quotes for r in q.renderings if r.speaker]
    assert named
    for name in named:
        first = name.split()[0].lower()
        assert name.lower() not in _PRONOUNS and first not in {"his", "her", "their", "its"}, name
    assert {"Alyssa Milano", "Bill Russo", "Lucy Flores", "Amy Lappos", "Joe Biden"} <= {
        v.speaker for v in seed_attributions.voices
    }
