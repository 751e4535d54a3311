"""Renderers: JSON / Markdown / HTML of a StoryReport, golden files, escaping, segmentation."""

from __future__ import annotations

import itertools
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.errors import ConfigError
from parallax.render import FORMATS, article_fragment, render, render_html, story_fragment, stylesheet
from parallax.render.html import (
    EvidenceContext,
    Mark,
    SentenceRegion,
    evidence_anchor,
    parse_partial_date,
    segment_text,
    timeline_chart,
)
from parallax.render.markdown import md_code, md_diff, md_escape, render_markdown
from parallax.report import SCHEMA_PATH, DiffOpModel, EvidenceSpan, StoryReport, json_schema

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
FIXTURE = HERE / "data" / "report_fixture.json"
EXT = {"json": "json", "md": "md", "html": "html"}


@pytest.fixture(scope="module")
def fixture_report() -> StoryReport:
    return StoryReport.model_validate_json(FIXTURE.read_text(encoding="utf-8"))


def _update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden", default=False)) or (
        os.environ.get("PARALLAX_UPDATE_GOLDEN") == "1"
    )


def _check_golden(request: pytest.FixtureRequest, path: Path, text: str) -> None:
    if _update_golden(request):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{path} differs from the rendering; if the change is intended run: pytest --update-golden"
    )


class _Doc(HTMLParser):
    """Collects ids, internal hrefs, tag names and attributes of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value))
            if name == "id" and value is not None:
                self.ids.append(value)
            if name == "href" and value is not None:
                self.hrefs.append(value)


class _ColumnText(HTMLParser):
    """The text content of ``<div class="text">`` elements, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag != "br"
        elif tag == "div" and ("class", "text") in attrs:
            self.depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1] += data


def _parse(html: str) -> _Doc:
    doc = _Doc()
    doc.feed(html)
    return doc


# --- the fixture and the schema -------------------------------------------------------------------


def _all_spans(report: StoryReport) -> list[EvidenceSpan]:
    spans: list[EvidenceSpan] = [m for f in report.facts for m in f.mentions]
    spans += [e for s in report.summary for e in s.evidence]
    spans += [e for c in report.conflicts for v in c.values for e in v.evidence]
    spans += [e for t in report.timeline for e in t.evidence]
    spans += [m for v in report.framing.attribution_verbs for m in v.mentions]
    return spans


def test_fixture_offsets_point_at_their_text(fixture_report: StoryReport) -> None:
    texts = {a.id: a.text for a in fixture_report.articles}
    items = [(s.article, s.start, s.end, s.text) for s in _all_spans(fixture_report)]
    items += [(r.article, r.start, r.end, r.text) for q in fixture_report.quotes for r in q.renderings]
    items += [(s.article, s.start, s.end, s.text) for s in fixture_report.framing.loaded]
    items += [(lb.article, lb.start, lb.end, lb.label) for lb in fixture_report.framing.labels]
    for article, start, end, text in items:
        assert texts[article][start:end] == text, (article, start, end, text)


def test_fixture_covers_every_section(fixture_report: StoryReport) -> None:
    assert len(fixture_report.articles) == 3
    assert {f.status for f in fixture_report.facts} == {"consensus", "partial", "unique"}
    fidelities = {r.fidelity for q in fixture_report.quotes for r in q.renderings}
    assert fidelities == {"verbatim", "spelling", "bracketed", "trimmed", "altered"}
    assert fixture_report.conflicts and fixture_report.framing.labels and fixture_report.framing.loaded
    assert fixture_report.framing.attribution_verbs and fixture_report.framing.density
    assert any(t.conflict for t in fixture_report.timeline) and any(
        a.removed for a in fixture_report.articles
    )
    assert {s.kind for s in fixture_report.summary} == {"fact", "dispute"}


def test_schema_file_is_current() -> None:
    on_disk = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert on_disk == json_schema(), (
        f"{SCHEMA_PATH} is stale; regenerate it with: parallax schema -o src/parallax/schema/story_report.schema.json"
    )


# --- render() -------------------------------------------------------------------------------------


def test_render_json_is_the_report_json(fixture_report: StoryReport) -> None:
    out = render(fixture_report, "json")
    assert out == fixture_report.to_json()
    assert StoryReport.model_validate_json(out) == fixture_report


@pytest.mark.parametrize("fmt", ["pdf", "", "HTML", "markdown"])
def test_render_unknown_format_is_a_config_error(fixture_report: StoryReport, fmt: str) -> None:
    with pytest.raises(ConfigError, match="unknown output format"):
        render(fixture_report, fmt)


def test_render_html_fragment_and_stylesheet(fixture_report: StoryReport) -> None:
    fragment = story_fragment(fixture_report)
    assert render_html(fixture_report, standalone=False) == fragment
    assert "<html" not in fragment and "<style" not in fragment
    page = render_html(fixture_report)
    assert page.startswith("<!DOCTYPE html>") and fragment in page and stylesheet() in page


# --- golden files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_fixture_golden(request: pytest.FixtureRequest, fixture_report: StoryReport, fmt: str) -> None:
    _check_golden(request, GOLDEN / f"fixture.{EXT[fmt]}", render(fixture_report, fmt))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_seed_golden(request: pytest.FixtureRequest, fmt: str) -> None:
    path = GOLDEN / f"seed.{EXT[fmt]}"
    if not path.exists() and not _update_golden(request):
        pytest.skip(f"{path} not generated yet (run: pytest tests/test_render.py --update-golden)")
    report: StoryReport = request.getfixturevalue("seed_report").model_copy(update={"timings": {}})
    # source paths are where the checkout lives: make them relative so goldens hold anywhere
    root = Path(__file__).resolve().parents[1]
    articles = [
        a.model_copy(update={"source_path": Path(a.source_path).resolve().relative_to(root).as_posix()})
        for a in report.articles
    ]
    report = report.model_copy(update={"articles": articles})
    _check_golden(request, path, render(report, fmt))


# --- HTML structure and safety --------------------------------------------------------------------


def test_html_is_self_contained(fixture_report: StoryReport) -> None:
    page = render_html(fixture_report)
    assert '<meta http-equiv="Content-Security-Policy"' in page
    assert "default-src 'none'" in page
    doc = _parse(page)
    assert "script" not in doc.tags and "link" not in doc.tags and "img" not in doc.tags
    assert not [a for a in doc.attrs if a[1] == "src" or a[1].startswith("on")]
    assert "@import" not in page and "url(" not in page


def test_html_ids_are_unique_and_every_internal_link_resolves(fixture_report: StoryReport) -> None:
    doc = _parse(render_html(fixture_report))
    assert len(doc.ids) == len(set(doc.ids))
    internal = [h[1:] for h in doc.hrefs if h.startswith("#")]
    assert internal and set(internal) <= set(doc.ids)
    for entry in fixture_report.summary:
        for span in entry.evidence:
            assert f"#{evidence_anchor(span.article, sentence=span.sentence, start=span.start)}" in doc.hrefs


def test_html_sentences_coloured_by_fact_status(fixture_report: StoryReport) -> None:
    page = render_html(fixture_report)
    for fact in fixture_report.facts:
        for m in fact.mentions:
            assert re.search(rf'<span id="{m.article}-s{m.sentence}" class="sent fact-{fact.status}"', page)
    for span in fixture_report.framing.loaded:
        assert f">{span.text.split()[0]}" in page
    assert page.count('<mark class="loaded"') >= len(fixture_report.framing.loaded)
    assert "<del>for every driver</del>" in page and "<ins>won&#39;t</ins>" in page


def test_html_columns_reproduce_article_text(fixture_report: StoryReport) -> None:
    parser = _ColumnText()
    parser.feed(render_html(fixture_report))
    assert parser.texts == [a.text for a in fixture_report.articles]


def test_article_fragment_without_report_is_plain_text(fixture_report: StoryReport) -> None:
    art = fixture_report.articles[0]
    html = article_fragment(art)
    assert 'class="sent' not in html and "<mark" not in html
    parser = _ColumnText()
    parser.feed(html)
    assert parser.texts == [art.text]
    assert 'class="sent fact-consensus"' in article_fragment(art, report=fixture_report)


HOSTILE_TEXT = (
    'Intro <script>alert(1)</script> then " onmouseover="x and </textarea> <img src=x onerror=alert(2)>.'
)


def _hostile_report() -> StoryReport:
    text = HOSTILE_TEXT + "\nSecond line [link](javascript:alert(3)) *bold* | pipe"
    s0 = text.index("<script>")
    sent = {"article": "h<1>", "text": text[:20], "start": 0, "end": 20, "sentence": 0}
    value = {"article": "h<1>", "text": "<script>", "start": s0, "end": s0 + 8, "sentence": 0}
    bad = "</textarea><script>alert(4)</script>"
    return StoryReport.model_validate(
        {
            "story": {"id": 'st"ory', "title": bad},
            "articles": [
                {
                    "id": "h<1>",
                    "source_path": bad,
                    "outlet": '<img src=x onerror=alert(5)>" onmouseover="x',
                    "outlet_source": "html",
                    "title": bad,
                    "published": bad,
                    "url": "javascript:alert(6)",
                    "author": bad,
                    "text": text,
                    "removed": [{"text": bad, "reason": bad, "line": 1}],
                },
                {
                    "id": "ok",
                    "source_path": "ok.txt",
                    "outlet": "Fine",
                    "outlet_source": "url",
                    "title": None,
                    "published": None,
                    "url": 'https://x.example/"><script>alert(7)</script>',
                    "text": "Plain.",
                    "removed": [],
                },
            ],
            "facts": [{"id": bad, "status": "unique", "articles": ["h<1>"], "mentions": [sent]}],
            "omissions": [{"article": "ok", "facts": [bad]}],
            "quotes": [
                {
                    "id": bad,
                    "speaker": bad,
                    "text": bad,
                    "renderings": [
                        {
                            "article": "h<1>",
                            "text": bad,
                            "start": s0,
                            "end": s0 + 8,
                            "speaker": bad,
                            "cue": bad,
                            "fidelity": "altered",
                            "diff": [{"op": "replace", "a": bad, "b": bad}],
                        }
                    ],
                }
            ],
            "summary": [
                {"text": bad, "kind": "dispute", "articles": ["h<1>"], "facts": [], "evidence": [value]}
            ],
            "conflicts": [
                {
                    "id": bad,
                    "kind": bad,
                    "about": bad,
                    "confidence": 0.5,
                    "values": [{"value": bad, "normalized": bad, "articles": ["h<1>"], "evidence": [value]}],
                }
            ],
            "framing": {
                "labels": [
                    {"entity": bad, "article": "h<1>", "label": bad, "kind": bad, "start": 0, "end": 5}
                ],
                "attribution_verbs": [{"article": "h<1>", "verb": bad, "group": "loaded", "count": 1}],
                "loaded": [{"article": "h<1>", "text": bad, "start": s0 - 3, "end": s0 + 40, "score": 0.9}],
                "density": [{"article": "h<1>", "spans": 1, "words": 10, "per_1000_words": 100.0}],
            },
            "timeline": [
                {
                    "date": "2020-01-02",
                    "text": bad,
                    "articles": ["h<1>"],
                    "evidence": [value],
                    "conflict": bad,
                },
                {"date": bad, "text": bad, "articles": ["h<1>"], "evidence": [], "resolved": False},
            ],
            "copies": [{"article": "h<1>", "copies": [bad]}],
        }
    )


@pytest.mark.parametrize(
    "needle",
    ["<script", "</textarea>", "<img", '" onmouseover="', 'onmouseover="x', 'href="javascript', "alert(7)</"],
)
def test_hostile_report_html_is_escaped(needle: str) -> None:
    page = render_html(_hostile_report())
    assert needle not in page
    doc = _parse(page)
    assert "script" not in doc.tags and "img" not in doc.tags and "textarea" not in doc.tags
    assert all(not h.lower().startswith("javascript") for h in doc.hrefs)
    assert not [a for a in doc.attrs if a[1].startswith("on")]


@pytest.mark.parametrize("needle", ["<script", "</textarea>", "<img", "](javascript", "<javascript"])
def test_hostile_report_markdown_is_escaped(needle: str) -> None:
    assert needle not in render_markdown(_hostile_report())


def test_hostile_report_keeps_the_text_readable() -> None:
    report = _hostile_report()
    parser = _ColumnText()
    parser.feed(render_html(report))
    assert parser.texts == [a.text for a in report.articles]


# --- Markdown -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain words", "plain words"),
        ("a *b* _c_", r"a \*b\* \_c\_"),
        ("[x](y)", r"\[x\](y)"),
        ("a | b", r"a \| b"),
        ("<b>hi</b>", "&lt;b&gt;hi&lt;/b&gt;"),
        ("Parks & Roads", "Parks & Roads"),
        ("&amp; &#60;", r"&amp;amp; &amp;\#60;"),
        ("line\nbreak\t tab", "line break tab"),
        ("back\\slash `code` ~~s~~ #1", r"back\\slash \`code\` \~\~s\~\~ \#1"),
    ],
)
def test_md_escape(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


def test_md_code_only_for_plain_ids() -> None:
    assert md_code("a1") == "`a1`"
    assert md_code("story-9f.1:x") == "`story-9f.1:x`"
    assert md_code("a`b <i>") == r"a\`b &lt;i&gt;"


def test_md_diff_marks_deletions_and_insertions() -> None:
    ops = [
        DiffOpModel(op="equal", a="We", b="We"),
        DiffOpModel(op="replace", a="will not", b="won't"),
        DiffOpModel(op="delete", a="ever", b=""),
        DiffOpModel(op="insert", a="", b="*now*"),
    ]
    assert md_diff(ops) == r"We ~~will not~~ **won't** ~~ever~~ **\*now\***"


def test_markdown_links_resolve_and_sections_present(fixture_report: StoryReport) -> None:
    md = render_markdown(fixture_report)
    targets = set(re.findall(r"\]\(#([^)]+)\)", md))
    defined = set(re.findall(r'<a id="([^"]+)"></a>', md))
    assert targets and targets <= defined
    for heading in [
        "## Articles",
        "## Neutral summary",
        "## Coverage",
        "### What each outlet leaves out",
        "## Quotes across outlets",
        "## Conflicts",
        "### Labels by outlet",
        "### Attribution verbs",
        "### Loaded wording",
        "## Timeline",
        "## Text removed before analysis",
    ]:
        assert heading in md
    assert "| unknown |" in md  # an article without a date
    assert "Dock\\_Street" in md and "\\*temporary\\*" in md


def test_minimal_report_renders_in_every_format() -> None:
    report = StoryReport.model_validate(
        {
            "story": {"id": "s", "title": "Untitled story"},
            "articles": [
                {
                    "id": "x",
                    "source_path": "x.txt",
                    "outlet": "X",
                    "outlet_source": "filename",
                    "title": None,
                    "published": None,
                    "url": None,
                    "text": "",
                    "removed": [],
                }
            ],
            "facts": [],
            "omissions": [],
            "quotes": [],
            "summary": [],
        }
    )
    for fmt in FORMATS:
        assert render(report, fmt)
    assert "No dated events" in render_html(report)


# --- segmentation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentences", "marks", "expected"),
    [
        # nested marks inside one sentence
        (
            [SentenceRegion(0, 10, "s0")],
            [Mark(2, 8, "loaded"), Mark(4, 6, "loaded")],
            [("s0", [("01", ()), ("234567", ("loaded",)), ("89", ())])],
        ),
        # a mark crossing a sentence boundary is split, sentences stay whole
        (
            [SentenceRegion(0, 5, "s0"), SentenceRegion(5, 10, "s1")],
            [Mark(3, 7, "loaded")],
            [("s0", [("012", ()), ("34", ("loaded",))]), ("s1", [("56", ("loaded",)), ("789", ())])],
        ),
        # overlapping marks of two kinds
        (
            [],
            [Mark(1, 5, "quote"), Mark(3, 8, "loaded")],
            [
                (
                    None,
                    [
                        ("0", ()),
                        ("12", ("quote",)),
                        ("34", ("loaded", "quote")),
                        ("567", ("loaded",)),
                        ("89", ()),
                    ],
                )
            ],
        ),
        # overlapping sentences (bad offsets) and spans out of range
        (
            [SentenceRegion(0, 6, "s0"), SentenceRegion(4, 20, "s1"), SentenceRegion(-5, -1, "bad")],
            [Mark(8, 99, "loaded"), Mark(5, 5, "loaded")],
            [("s0", [("012345", ())]), ("s1", [("67", ()), ("89", ("loaded",))])],
        ),
        # gaps between sentences become anonymous blocks; a duplicate id is wrapped once
        (
            [SentenceRegion(2, 4, "s0"), SentenceRegion(2, 4, "s0"), SentenceRegion(6, 8, "s1")],
            [],
            [
                (None, [("01", ())]),
                ("s0", [("23", ())]),
                (None, [("45", ())]),
                ("s1", [("67", ())]),
                (None, [("89", ())]),
            ],
        ),
    ],
)
def test_segment_text(
    sentences: list[SentenceRegion],
    marks: list[Mark],
    expected: list[tuple[str | None, list[tuple[str, tuple[str, ...]]]]],
) -> None:
    blocks = segment_text("0123456789", sentences=sentences, marks=marks)
    assert [(b.id, [(p.text, p.kinds) for p in b.pieces]) for b in blocks] == expected


def test_segment_text_anchors() -> None:
    blocks = segment_text(
        "abcdef", sentences=[SentenceRegion(0, 3, "s0")], anchors=[(1, "c1"), (6, "end"), (1, "c1")]
    )
    pieces = [p for b in blocks for p in b.pieces]
    assert [(p.text, p.anchors) for p in pieces] == [("a", ()), ("bc", ("c1",)), ("def", ()), ("", ("end",))]


_spans = st.tuples(st.integers(-5, 60), st.integers(-5, 60))


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="ab <&\n.", max_size=50),
    sents=st.lists(_spans, max_size=6),
    marks=st.lists(st.tuples(_spans, st.sampled_from(["loaded", "quote", "conflict"])), max_size=8),
    anchors=st.lists(st.integers(-3, 55), max_size=4),
)
def test_segment_text_properties(
    text: str,
    sents: list[tuple[int, int]],
    marks: list[tuple[tuple[int, int], str]],
    anchors: list[int],
) -> None:
    regions = [SentenceRegion(a, b, f"s{i}") for i, (a, b) in enumerate(sents)]
    mark_list = [Mark(a, b, kind) for (a, b), kind in marks]
    blocks = segment_text(text, sentences=regions, marks=mark_list, anchors=[(p, f"c{p}") for p in anchors])
    # the pieces rebuild the text; blocks are ordered, disjoint and cover it
    assert "".join(b.text for b in blocks) == text
    assert blocks[0].start == 0 and blocks[-1].end == len(text)
    for prev, cur in itertools.pairwise(blocks):
        assert prev.end == cur.start
    ids = [b.id for b in blocks if b.id]
    assert len(ids) == len(set(ids))
    # every piece carries exactly the marks covering its first character
    pos = 0
    for block in blocks:
        for piece in block.pieces:
            if piece.text:
                covering = {k for (a, b), k in marks if max(a, 0) <= pos < min(b, len(text))}
                assert set(piece.kinds) == covering
            pos += len(piece.text)
    # each anchor appears once
    placed = [a for b in blocks for p in b.pieces for a in p.anchors]
    assert sorted(placed) == sorted({f"c{p}" for p in anchors})


# --- evidence context and timeline ----------------------------------------------------------------


def test_evidence_context_shows_span_inside_its_sentence(fixture_report: StoryReport) -> None:
    ctx = EvidenceContext(fixture_report)
    span = fixture_report.conflicts[0].values[1].evidence[0]
    before, hit, after = ctx(span)
    assert hit == "February 28" and before.endswith("bridge on ") and after.startswith(", citing")
    wrong = span.model_copy(update={"start": span.start + 1})
    assert ctx(wrong) == ("", "February 28", "")


def test_evidence_context_outside_a_sentence_cuts_at_words(fixture_report: StoryReport) -> None:
    text = fixture_report.articles[0].text
    start = text.index("strands")
    span = EvidenceSpan(article="a1", text="strands", start=start, end=start + 7)
    before, hit, after = EvidenceContext(fixture_report, width=30)(span)
    assert hit == "strands" and before.startswith("…") and after.endswith("…")
    assert text[:start].endswith(before[1:]) and text[start - len(before)] == " "


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2014", ("2014-01-01", "year")),
        ("2009-10", ("2009-10-01", "month")),
        ("2021-03-01", ("2021-03-01", "day")),
        ("2021-03-05T10:00:00", ("2021-03-05", "day")),
        ("2021-13", None),
        ("last week", None),
    ],
)
def test_parse_partial_date(value: str, expected: tuple[str, str] | None) -> None:
    parsed = parse_partial_date(value)
    assert (None if parsed is None else (parsed[0].isoformat(), parsed[1])) == expected


def test_timeline_chart_orders_points_and_marks_conflicts(fixture_report: StoryReport) -> None:
    chart = timeline_chart(fixture_report)
    assert chart is not None
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert [p.date for p in chart.points] == [
        "2019",
        "2021-02-28",
        "2021-03-01",
    ]  # the unresolved one is left out
    assert [p.conflict for p in chart.points] == [False, True, True]
    assert all(chart.x0 <= x <= chart.x1 for x in xs)
    assert [t.label for t in chart.ticks] == ["2019", "2020", "2021"]
    empty = fixture_report.model_copy(update={"timeline": []})
    assert timeline_chart(empty) is None


def test_html_opens_at_a_glance_and_folds_the_rest(fixture_report: StoryReport) -> None:
    from parallax.render.display import outlet_labels

    page = render_html(fixture_report)
    body = page.split("<body>", 1)[1]
    story = body.split('class="parallax-story"', 1)[1]
    first = re.search(r"<(?:section|details)\b[^>]*>", story)
    assert first is not None and 'id="at-a-glance"' in first.group(0)
    glance = body[body.index('id="at-a-glance"') : body.index('id="summary"')]
    for name in outlet_labels(fixture_report).values():
        assert f">{name}</a>" in glance
    for section in ("articles", "coverage", "all-quotes", "framing", "boilerplate"):
        assert re.search(
            rf'<details class="fold panel">\s*<summary>.*?</summary>\s*<div class="fold-body" id="{section}"',
            body,
            re.S,
        )
    assert "<details open" not in body
