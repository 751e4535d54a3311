"""Tests of ``parallax.nlp``: claim units never cut inside a quotation, and no fragment stands alone;
the parse cache and the chunked parse of long texts."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parallax.nlp import (
    LONG_TEXT_CHUNK,
    MemoryDocCache,
    analyze,
    doc_from_bytes,
    doc_to_bytes,
    paragraph_chunks,
    parse_key,
    parse_texts,
    sentence_ranges,
    split_glued_quotes,
    text_hash,
)
from parallax.records import Article


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


# --- parse cache and long texts ----------------------------------------------------------------


def _seed_articles() -> list[Article]:
    from tests.conftest import EXAMPLES

    return [
        Article(id=p.stem, source_path=str(p), text=p.read_text(encoding="utf-8").strip(), outlet=p.stem)
        for p in sorted(EXAMPLES.glob("*.txt"))
    ]


class CountingCache(MemoryDocCache):
    """A memory cache that records what ``analyze`` asked for and stored."""

    def __init__(self, **kw: float) -> None:
        super().__init__(**kw)
        self.puts: list[str] = []

    def put_docs(self, key: str, docs: Mapping[str, bytes]) -> None:
        self.puts.extend(docs)
        super().put_docs(key, docs)


@given(
    paragraphs=st.lists(st.text("ab .", max_size=30), max_size=12),
    size=st.integers(min_value=1, max_value=60),
    trailing=st.booleans(),
)
def test_paragraph_chunks_join_back_and_cut_only_after_line_breaks(
    paragraphs: list[str], size: int, trailing: bool
) -> None:
    text = "\n".join(paragraphs) + ("\n" if trailing else "")
    chunks = paragraph_chunks(text, size)
    assert "".join(chunks) == text
    for chunk in chunks[:-1]:
        assert chunk.endswith("\n")
        # over the size only when it is one paragraph
        assert len(chunk) <= size or "\n" not in chunk[:-1]


def test_long_text_in_chunks_keeps_text_offsets_and_sentences(nlp) -> None:  # type: ignore[no-untyped-def]
    """The seed articles joined as one long text: chunked parse = whole parse, unit for unit."""
    text = "\n".join(a.text for a in _seed_articles())
    (whole,) = parse_texts(nlp, [text], chunk_chars=0)
    (chunked,) = parse_texts(nlp, [text], chunk_chars=2_000)
    assert chunked.text == text
    assert sentence_ranges(chunked) == sentence_ranges(whole)
    assert [(e.start_char, e.end_char, e.label_) for e in chunked.ents] == [
        (e.start_char, e.end_char, e.label_) for e in whole.ents
    ]


def test_news_length_articles_parse_whole_as_before(nlp) -> None:  # type: ignore[no-untyped-def]
    arts = _seed_articles()
    assert all(len(a.text) < LONG_TEXT_CHUNK for a in arts)
    for got, doc in zip(analyze(arts, nlp=nlp), nlp.pipe(a.text for a in arts), strict=True):
        assert got.doc.to_json() == doc.to_json()


def test_doc_bytes_keep_annotations_and_user_data(nlp) -> None:  # type: ignore[no-untyped-def]
    doc = nlp(_seed_articles()[0].text)
    doc.user_data["parallax"] = "kept"
    back = doc_from_bytes(nlp, doc_to_bytes(doc))
    assert back.to_json() == doc.to_json()
    assert [t.is_sent_start for t in back] == [t.is_sent_start for t in doc]
    assert [t.norm_ for t in back] == [t.norm_ for t in doc]
    assert back.user_data["parallax"] == "kept"


def test_analyze_parses_only_what_the_cache_lacks(nlp, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    arts = _seed_articles()
    cache = CountingCache()
    first = analyze(arts[:2], nlp=nlp, cache=cache)
    assert cache.puts == [text_hash(a.text) for a in arts[:2]]
    second = analyze(arts, nlp=nlp, cache=cache)
    assert cache.puts[2:] == [text_hash(arts[2].text)]  # only the new article was parsed
    assert [a.sentences for a in second[:2]] == [a.sentences for a in first]
    assert [a.doc.to_json() for a in second[:2]] == [a.doc.to_json() for a in first]
    # a damaged entry is parsed again, with a warning naming the article
    key = parse_key(nlp)
    cache.put_docs(key, {text_hash(arts[0].text): b"not a DocBin"})
    with caplog.at_level(logging.WARNING, logger="parallax.nlp"):
        again = analyze(arts[:1], nlp=nlp, cache=cache)
    assert again[0].sentences == first[0].sentences
    assert arts[0].id in caplog.text
    assert cache.puts[-1] == text_hash(arts[0].text)  # and its good parse stored again


def test_memory_cache_drops_least_recently_used_past_its_size() -> None:
    cache = MemoryDocCache(max_mb=2500 / 2**20)
    cache.put_docs("k", {"a": b"a" * 1000, "b": b"b" * 1000})
    assert set(cache.get_docs("k", ["a"])) == {"a"}  # a is now more recent than b
    cache.put_docs("k", {"c": b"c" * 1000})
    assert set(cache.get_docs("k", ["a", "b", "c"])) == {"a", "c"}
    assert cache.size_bytes == 2000
    cache.put_docs("k", {"huge": b"x" * 5000})  # larger than the whole cache: not kept
    assert cache.get_docs("k", ["huge"]) == {} and cache.size_bytes == 2000
    assert cache.get_docs("other", ["a"]) == {}  # keyed by parse key too


def test_parse_key_follows_the_tokenizer_settings() -> None:
    import spacy

    plain, glued = spacy.blank("en"), split_glued_quotes(spacy.blank("en"))
    assert parse_key(plain) != parse_key(glued)
    assert parse_key(glued) == parse_key(split_glued_quotes(spacy.blank("en")))
    assert parse_key(glued, chunk_chars=5_000) != parse_key(glued)
