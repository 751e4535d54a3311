"""Tests of stage 7 (framing): labels, attribution verbs, loaded-wording density."""

from __future__ import annotations

from pathlib import Path

import pytest

from parallax.framing import analyze_framing, attribution_verbs, find_labels, verb_group
from parallax.records import Article, Framing

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def seed_framing(nlp) -> Framing:  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze

    arts = [
        Article(
            id=p.stem[:3], source_path=str(p), text=p.read_text(encoding="utf-8").strip(), outlet=p.stem[:3]
        )
        for p in sorted(EXAMPLES.glob("*.txt"))
    ]
    return analyze_framing(analyze(arts, nlp=nlp), [])


@pytest.mark.parametrize(
    ("lemma", "group"),
    [
        ("say", "neutral"),
        ("tell", "neutral"),
        ("write", "neutral"),
        ("claim", "loaded"),
        ("insist", "loaded"),
        ("blast", "loaded"),
        ("admit", "loaded"),
    ],
)
def test_verb_group(lemma: str, group: str) -> None:
    assert verb_group(lemma) == group


def test_premodifier_apposition_and_role(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    arts = make_analyzed(
        (
            "a",
            "Veteran senator John Carter, a former Navy pilot, criticised the plan on Monday. "
            "The senator said the budget was too small.",
        ),
        ("b", "Carter spoke to reporters in Denver on Tuesday."),
    )
    labels = {(lab.article, lab.kind, lab.entity, lab.label) for lab in find_labels(arts)}
    assert ("a", "premodifier", "John Carter", "Veteran senator") in labels
    assert ("a", "apposition", "John Carter", "a former Navy pilot") in labels
    assert ("a", "role", "John Carter", "The senator") in labels
    for lab in find_labels(arts):
        assert arts[0].article.text[lab.start : lab.end] == lab.label or lab.article != "a"


def test_labels_offsets_index_cleaned_text(seed_framing: Framing, nlp) -> None:  # type: ignore[no-untyped-def]
    texts = {p.stem[:3]: p.read_text(encoding="utf-8").strip() for p in EXAMPLES.glob("*.txt")}
    assert seed_framing.labels
    for lab in seed_framing.labels:
        assert texts[lab.article][lab.start : lab.end] == lab.label
        assert lab.kind in {"apposition", "premodifier", "role"}


def test_attribution_from_clause_and_quote(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    arts = make_analyzed(
        (
            "a",
            "The mayor claimed that the bridge was safe. Officials said in a statement that repairs "
            "would start soon. The governor believes that taxes are too high.",
        ),
    )
    verbs = {(v.verb, v.group): v for v in attribution_verbs(arts, [])}
    assert ("claim", "loaded") in verbs and ("say", "neutral") in verbs
    assert all(v.verb != "believe" for v in verbs.values())
    claim = verbs[("claim", "loaded")]
    assert claim.count == len(claim.mentions) == 1
    m = claim.mentions[0]
    assert arts[0].article.text[m.start : m.end] == "claimed"


# --- acceptance over the example story --------------------------------------------------------


@pytest.mark.parametrize(
    ("article", "entity", "label"),
    [
        ("002", "Alyssa Milano", "Left-wing Hollywood activist"),
        ("001", "Alyssa Milano", "#MeToo activist"),
        ("000", "Alyssa Milano", "The actress"),
        ("002", "Joe Biden", "Barack Obama’s number 2"),
    ],
)
def test_seed_labels(seed_framing: Framing, article: str, entity: str, label: str) -> None:
    found = {(lab.article, lab.entity, lab.label.lower()) for lab in seed_framing.labels}
    assert (article, entity, label.lower()) in found


@pytest.mark.parametrize("article", ["000", "001"])
def test_seed_claimed_is_attribution(seed_framing: Framing, article: str) -> None:
    verbs = {(v.article, v.verb): v for v in seed_framing.attribution_verbs}
    assert verbs[(article, "claim")].group == "loaded"
    assert verbs[(article, "claim")].count >= 1


def test_seed_002_denser_in_loaded_wording_than_000(seed_framing: Framing) -> None:
    density = {d.article: d for d in seed_framing.density}
    assert density["002"].per_1000_words > density["000"].per_1000_words
    for d in density.values():
        assert d.per_1000_words == pytest.approx(1000 * d.spans / d.words, abs=0.01)
    assert sum(d.spans for d in density.values()) == len(seed_framing.loaded)
