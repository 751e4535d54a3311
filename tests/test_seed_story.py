"""Acceptance tests: the example story (three outlets, April 2019) through the whole pipeline.

These are the issues' "done means" for the story report and the discrepancies, checked on the
real models. They are acceptance tests, not tuning targets: nothing in the package knows this
story.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from parallax.report import StoryReport

A000, A001, A002 = "000_a3b39ae37085ce36", "001_00d09475fcb2e337", "002_bd170a96a0f87049"

BOILERPLATE = [
    "CLICK HERE",
    "READ MORE",
    "MEGHAN MCCAIN TWEETS",
    "BIDEN ACCUSER LUCY FLORES SAYS",
    "Getty Images",
    "contributed to this report",
]


def _norm(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'").lower()


def _all_spans(report: StoryReport) -> Iterator[tuple[str, str, int, int]]:
    for fact in report.facts:
        for m in fact.mentions:
            yield m.article, m.text, m.start, m.end
    for quote in report.quotes:
        for r in quote.renderings:
            yield r.article, r.text, r.start, r.end
    for entry in report.summary:
        for m in entry.evidence:
            yield m.article, m.text, m.start, m.end
    for conflict in report.conflicts:
        for v in conflict.values:
            for m in v.evidence:
                yield m.article, m.text, m.start, m.end
    for label in report.framing.labels:
        yield label.article, label.label, label.start, label.end
    for span in report.framing.loaded:
        yield span.article, span.text, span.start, span.end
    for entry in report.timeline:
        for m in entry.evidence:
            yield m.article, m.text, m.start, m.end


def _quote_with(report: StoryReport, words: str):  # type: ignore[no-untyped-def]
    hits = [q for q in report.quotes if any(words in _norm(r.text) for r in q.renderings)]
    assert hits, f"no quote contains {words!r}"
    return max(hits, key=lambda q: len(q.renderings))


def test_every_offset_indexes_the_cleaned_text(seed_report: StoryReport) -> None:
    texts = {a.id: a.text for a in seed_report.articles}
    count = 0
    for article, text, start, end in _all_spans(seed_report):
        assert texts[article][start:end] == text, (article, start, end, text)
        count += 1
    assert count > 100


def test_outlet_from_the_credit_line(seed_report: StoryReport) -> None:
    art = seed_report.article(A000)
    assert art.outlet == "Fox News"
    assert art.outlet_source == "credit"
    assert seed_report.article(A001).outlet_source == "filename"
    assert all(a.published is None for a in seed_report.articles)  # never "today"


def test_no_boilerplate_anywhere(seed_report: StoryReport) -> None:
    places = [a.text for a in seed_report.articles]
    places += [m.text for f in seed_report.facts for m in f.mentions]
    places += [r.text for q in seed_report.quotes for r in q.renderings] + [
        q.text for q in seed_report.quotes
    ]
    places += [s.text for s in seed_report.summary]
    for fragment in BOILERPLATE:
        for place in places:
            assert fragment.lower() not in place.lower(), (fragment, place[:80])
    removed = " ".join(r.text for a in seed_report.articles for r in a.removed)
    for fragment in BOILERPLATE:
        assert fragment.lower() in removed.lower(), f"{fragment!r} should be listed as removed"


def test_milano_quote_is_one_quote_in_all_three(seed_report: StoryReport) -> None:
    quote = _quote_with(seed_report, "we cannot assume all women's experiences are the same")
    assert {r.article for r in quote.renderings} == {A000, A001, A002}
    assert quote.speaker == "Alyssa Milano"


def test_lappos_quote_in_all_three(seed_report: StoryReport) -> None:
    quote = _quote_with(seed_report, "hand around my neck")
    assert {r.article for r in quote.renderings} == {A000, A001, A002}
    assert quote.speaker == "Amy Lappos"
    assert all(r.speaker == "Amy Lappos" for r in quote.renderings)


def test_fidelity_classes(seed_report: StoryReport) -> None:
    quote = _quote_with(seed_report, "empathised with them")
    by_article = {r.article: r for r in quote.renderings}
    assert "empathised" in by_article[A001].text and by_article[A001].fidelity == "spelling"
    bracketed = [r for q in seed_report.quotes for r in q.renderings if "[it" in r.text]
    assert bracketed and all(r.article == A002 and r.fidelity == "bracketed" for r in bracketed)
    assert any(op.op != "equal" for r in quote.renderings for op in r.diff)


def test_coverage(seed_report: StoryReport) -> None:
    consensus = [f for f in seed_report.facts if f.status == "consensus"]
    assert len(consensus) >= 3
    kavanaugh = [f for f in seed_report.facts if any("Kavanaugh" in m.text for m in f.mentions)]
    assert kavanaugh and all(f.status == "unique" and f.articles == [A002] for f in kavanaugh)
    omitted_by_000 = next(o.facts for o in seed_report.omissions if o.article == A000)
    assert {f.id for f in kavanaugh} <= set(omitted_by_000)
    twitter = [f for f in seed_report.facts if any("Twitter users" in m.text for m in f.mentions)]
    assert twitter and all(f.status == "unique" and f.articles == [A001] for f in twitter)


def test_summary(seed_report: StoryReport) -> None:
    summary = seed_report.summary
    assert 3 <= len(summary) <= 8
    assert len(summary[0].articles) >= 2
    texts = {a.id: a.text for a in seed_report.articles}
    for entry in summary:
        assert "left-wing" not in entry.text.lower()
        assert "hollywood activist" not in entry.text.lower()
        if entry.kind == "fact":
            assert any(entry.text in texts[a] for a in entry.articles), entry.text
    disputes = [s for s in summary if s.kind == "dispute"]
    assert disputes and "2009" in disputes[0].text and "2019" in disputes[0].text


def test_year_conflict(seed_report: StoryReport) -> None:
    years = [c for c in seed_report.conflicts if {v.normalized[:4] for v in c.values} >= {"2009", "2019"}]
    assert len(years) == 1
    values = {v.normalized[:4]: set(v.articles) for v in years[0].values}
    assert values["2009"] == {A000, A001}
    assert values["2019"] == {A002}
    assert all(v.evidence for v in years[0].values)
    assert len(seed_report.conflicts) <= 3


@pytest.mark.parametrize(
    ("entity", "article", "label"),
    [
        ("Alyssa Milano", A002, "Left-wing Hollywood activist"),
        ("Alyssa Milano", A001, "#MeToo activist"),
        ("Alyssa Milano", A000, "the actress"),
        ("Joe Biden", A002, "Barack Obama's number 2"),
    ],
)
def test_labels(seed_report: StoryReport, entity: str, article: str, label: str) -> None:
    labels = {
        _norm(lb.label) for lb in seed_report.framing.labels if lb.entity == entity and lb.article == article
    }
    assert _norm(label) in labels, sorted(labels)


def test_attribution_verbs_and_density(seed_report: StoryReport) -> None:
    verbs = {(v.article, v.verb): v for v in seed_report.framing.attribution_verbs}
    for article in (A000, A001):
        verb = verbs.get((article, "claim"))
        assert verb is not None and verb.count >= 1 and verb.group == "loaded"
    assert verbs[(A000, "say")].group == "neutral"
    density = {d.article: d.per_1000_words for d in seed_report.framing.density}
    assert density[A002] > density[A000]


def test_timeline(seed_report: StoryReport) -> None:
    dates = [t.date for t in seed_report.timeline]
    for expected in ("2009-10", "2014-11", "2018-09-27"):
        assert expected in dates, dates
    resolved = [t.date for t in seed_report.timeline if t.resolved]
    assert resolved == sorted(resolved, key=lambda d: (d + "-00-00")[:10])
    # no publication dates: "Friday" stays relative
    assert any(t.date.lower() == "friday" and not t.resolved for t in seed_report.timeline)
    assert any(t.conflict for t in seed_report.timeline if t.date.startswith("2009"))


def test_report_validates_against_its_schema(seed_report: StoryReport) -> None:
    again = StoryReport.model_validate_json(seed_report.to_json())
    assert again.model_dump(exclude={"timings"}) == seed_report.model_dump(exclude={"timings"})
    assert re.fullmatch(r"\d+\.\d+\.\d+", seed_report.schema_version)


def test_twitter_reaction_is_unique_to_001(seed_report: StoryReport) -> None:
    hypocrisy = [
        f for f in seed_report.facts if any("accused Milano of hypocrisy" in m.text for m in f.mentions)
    ]
    assert hypocrisy and all(f.status == "unique" and f.articles == [A001] for f in hypocrisy)
    accused = [f for f in seed_report.facts if any("accused by two women" in m.text for m in f.mentions)]
    assert accused and all(A001 not in f.articles for f in accused)


def test_no_fragment_facts(seed_report: StoryReport) -> None:
    for fact in seed_report.facts:
        for m in fact.mentions:
            assert len(re.findall(r"\w+", m.text)) >= 3, m.text


def test_omissions_ranked_with_evidence(seed_report: StoryReport) -> None:
    texts = {a.id: a.text for a in seed_report.articles}
    for omission in seed_report.omissions:
        assert [i.fact for i in omission.items] == omission.facts
        counts = [len(i.carried_by) for i in omission.items]
        assert counts == sorted(counts, reverse=True)
        for item in omission.items:
            assert omission.article not in item.carried_by
            ev = item.evidence
            assert ev.article in item.carried_by and texts[ev.article][ev.start : ev.end] == ev.text
