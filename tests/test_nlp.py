"""Tests of ``parallax.nlp``: claim units never cut inside a quotation, and no fragment stands alone."""

from __future__ import annotations

import pytest

from parallax.nlp import sentence_ranges


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "“We will win. Especially now.” Durbin said. The vote is on Friday.",
            ["“We will win. Especially now.” Durbin said.", "The vote is on Friday."],
        ),
        (
            'He said: "I may be wrong. But I will listen. And I will." Then he left the room.',
            ['He said: "I may be wrong. But I will listen. And I will."', "Then he left the room."],
        ),
        (
            "The council met on Tuesday.\nIt approved the budget.",
            ["The council met on Tuesday.", "It approved the budget."],
        ),
    ],
)
def test_quotation_stays_with_attribution(nlp, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    doc = nlp(text)
    assert [text[a:b] for a, b in sentence_ranges(doc)] == expected


def test_no_fragment_without_words(nlp) -> None:  # type: ignore[no-untyped-def]
    text = "The mayor spoke to reporters at noon. ” Yes. The council then voted on the plan."
    units = [text[a:b] for a, b in sentence_ranges(nlp(text))]
    assert all(len(u.split()) >= 3 for u in units), units
    assert "".join(units).replace(" ", "") == text.replace(" ", "")  # nothing lost


def test_offsets_index_the_text(nlp) -> None:  # type: ignore[no-untyped-def]
    text = "  “A long quotation starts here. It goes on.”  she said.\n\nA new paragraph follows here."
    for a, b in sentence_ranges(nlp(text)):
        assert text[a:b] == text[a:b].strip() and text[a:b]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“We will win,”Clinton said.", ["win", ",", "”", "Clinton", "said"]),
        ('"It is over."He left.', ["over", ".", '"', "He", "left"]),
        ("“Go!”Trump tweeted.", ["Go", "!", "”", "Trump", "tweeted"]),
        ("a 3.5 inch pipe, the U.S. said", ["3.5", "inch", "U.S.", "said"]),
    ],
)
def test_glued_closing_quote_is_split(nlp, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    """A closing mark glued to the next word leaves the speaker's name its own token."""
    tokens = [t.text for t in nlp(text)]
    assert all(word in tokens for word in expected), tokens


def test_speaker_after_glued_quote(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    from parallax.quotes import extract_quotes

    (art,) = make_analyzed(("a", "Voters came out.\n\n“We will win this race,”Clinton said on Monday."))
    (span,) = extract_quotes(art)
    assert span.speaker == "Clinton"
    assert span.cue == "say"
