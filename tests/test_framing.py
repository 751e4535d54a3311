"""Tests of stage 7 (framing): labels, attribution verbs, loaded-wording density."""

from __future__ import annotations

from pathlib import Path

import pytest

from parallax.framing import analyze_framing, attribution_verbs, find_labels, verb_group
from parallax.records import Article, Attribution, Framing

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


def test_attribution_verbs_count_indirect_cues(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    text = "The senator denied the allegations on Monday. The weather was fine."
    arts = make_analyzed(("a", text))
    assert all(v.verb != "deny" for v in attribution_verbs(arts, []))
    cue = text.index("denied")
    indirect = Attribution(
        article="a",
        kind="indirect",
        content="the allegations",
        start=text.index("the allegations"),
        end=text.index(" on Monday"),
        speaker="The senator",
        cue="deny",
        cue_start=cue,
        cue_end=cue + len("denied"),
    )
    according = Attribution(
        article="a", kind="indirect", content="x", start=0, end=1, speaker=None, cue="according to"
    )
    verbs = {v.verb: v for v in attribution_verbs(arts, [], attributions=[indirect, according])}
    assert verbs["deny"].count == 1
    assert text[verbs["deny"].mentions[0].start : verbs["deny"].mentions[0].end] == "denied"


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


# --- precision of labels (one hand-built case per known weakness) -----------------------------


def _labels(make_analyzed, *texts: str) -> set[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    arts = make_analyzed(*[(chr(ord("a") + k), t) for k, t in enumerate(texts)])
    return {(lab.article, lab.kind, lab.entity, lab.label) for lab in find_labels(arts)}


@pytest.mark.parametrize(
    "opener",
    ["Following Mary Stone's story", "After Mary Stone's interview", "In Mary Stone's account"],
)
def test_fronted_adverbial_is_no_apposition(make_analyzed, opener: str) -> None:  # type: ignore[no-untyped-def]
    labels = _labels(
        make_analyzed,
        f"{opener}, Amy Carver, a former congressional aide, told the Boston Globe that the senator "
        "touched her during a fundraiser.",
        "Mary Stone and Amy Carver spoke to reporters on Friday.",
    )
    carver = {lab for (_, _, entity, lab) in labels if entity == "Amy Carver"}
    assert "a former congressional aide" in carver
    assert not any("Stone" in lab for lab in carver), carver


def test_apposition_before_name_needs_person_noun(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    labels = _labels(
        make_analyzed,
        "The senator then turned to Carter's first accuser, Lucy Brandt, who spoke last week.",
        "John Carter and Lucy Brandt met in Denver.",
    )
    assert ("a", "apposition", "Lucy Brandt", "Carter's first accuser") in labels


@pytest.mark.parametrize(
    ("text", "name", "tag"),
    [
        (
            "She met him at a fundraiser for Rep. James Holt, D-Conn. Amy Carver was working as an aide.",
            "James Holt",
            "D-Conn.",
        ),
        (
            "Amy Carver, a former aide to Rep. James Holt (D-CT), told the paper about it.",
            "James Holt",
            "D-CT",
        ),
    ],
)
def test_party_tag_is_affiliation_of_preceding_name(  # type: ignore[no-untyped-def]
    make_analyzed, text: str, name: str, tag: str
) -> None:
    labels = _labels(make_analyzed, text, "James Holt and Amy Carver spoke on Monday.")
    assert ("a", "apposition", name, tag) in labels
    carver = {lab for (_, _, entity, lab) in labels if entity == "Amy Carver"}
    assert not any("D-C" in lab or "(" in lab for lab in carver), carver


def test_premodifier_never_crosses_a_sentence(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    labels = _labels(
        make_analyzed,
        "The hearing ended late on Tuesday\nCongressional aide Amy Carver left first.",
        "Amy Carver spoke on Monday.",
    )
    assert ("a", "premodifier", "Amy Carver", "Congressional aide") in labels
    assert not any("Tuesday" in lab for (_, _, _, lab) in labels)


def test_premodifier_keeps_possessor_name(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    labels = _labels(
        make_analyzed,
        "Carter spokesman Bill Rowe said in a statement that the senator never meant harm.",
        "John Carter and Bill Rowe spoke to reporters on Tuesday.",
    )
    assert ("a", "premodifier", "Bill Rowe", "Carter spokesman") in labels
    assert ("a", "premodifier", "Bill Rowe", "spokesman") not in labels


def test_role_goes_to_the_person_carrying_the_noun(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    labels = _labels(
        make_analyzed,
        "Judge Paul Weber heard the case on Monday. Actress Nora Quinn attended the hearing every day. "
        "Quinn later posted about the judge on social media.",
        "Paul Weber and Nora Quinn were in court.",
    )
    roles = {(entity, lab) for (_, kind, entity, lab) in labels if kind == "role"}
    assert ("Nora Quinn", "the judge") not in roles
    assert ("Paul Weber", "the judge") in roles


def test_role_noun_carried_by_an_unmentioned_person_is_not_reassigned(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    labels = _labels(
        make_analyzed,
        "Actress Nora Quinn spoke in Denver on Monday. Critics attacked the judge over the ruling.",
        "Judge Paul Weber and Nora Quinn were in court.",
    )
    assert ("b", "premodifier", "Paul Weber", "Judge") in labels
    assert not any(lab == "the judge" for (_, kind, _, lab) in labels if kind == "role")


def test_role_skips_subject_named_by_earlier_role(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    labels = _labels(
        make_analyzed,
        "Actress Nora Quinn spoke often about nominee Paul Weber. Quinn has a large following. "
        "In a video, the actress urged her fans to act despite the doubts about the judge.",
        "Paul Weber and Nora Quinn were in court.",
    )
    roles = {(entity, lab) for (_, kind, entity, lab) in labels if kind == "role"}
    assert ("Nora Quinn", "the actress") in roles
    assert ("Nora Quinn", "the judge") not in roles


@pytest.mark.parametrize(
    "credit",
    ["(Saul Brenner/Getty Images)", "(Photo by Saul Brenner)", "(Saul Brenner/AP Photo)"],
)
def test_photo_credit_is_no_person(make_analyzed, credit: str) -> None:  # type: ignore[no-untyped-def]
    arts = make_analyzed(
        ("a", f"Senator John Carter spoke in Denver on Monday. {credit}"),
        ("b", "John Carter left Denver on Tuesday."),
    )
    from parallax.framing import collect_people

    people = collect_people(arts)
    assert "Saul Brenner" not in set(people.by_form.values())
    assert all("Brenner" not in lab.entity for lab in find_labels(arts))


def test_removed_caption_lines_never_reach_labels(nlp) -> None:  # type: ignore[no-untyped-def]
    from parallax.clean import clean_text
    from parallax.nlp import analyze

    raw = (
        "Senator John Carter spoke in Denver on Monday about the budget.\n\n"
        "Actress Nora Quinn (R) listens as Judge Paul Weber testifies on Capitol Hill. "
        "(Saul Brenner/Getty Images)\n\n"
        "Carter said the budget was too small."
    )
    cleaned = clean_text(raw)
    arts = analyze(
        [Article(id="a", source_path="a.txt", text=cleaned.text, outlet="A", removed=cleaned.removed)],
        nlp=nlp,
    )
    assert cleaned.removed, "the caption line should have been removed by cleaning"
    labels = find_labels(arts)
    assert labels
    for lab in labels:
        assert cleaned.text[lab.start : lab.end] == lab.label
        assert lab.entity == "John Carter"


def test_seed_labels_stay_inside_one_sentence(nlp) -> None:  # type: ignore[no-untyped-def]
    from parallax.nlp import analyze

    arts = analyze(
        [
            Article(id=p.stem[:3], source_path=str(p), text=p.read_text(encoding="utf-8").strip(), outlet="x")
            for p in sorted(EXAMPLES.glob("*.txt"))
        ],
        nlp=nlp,
    )
    by_id = {a.id: a for a in arts}
    for lab in find_labels(arts):
        sents = by_id[lab.article].sentences
        assert any(s.start <= lab.start and lab.end <= s.end for s in sents), lab
        assert lab.label.count("(") == lab.label.count(")"), lab


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Politicians and anti-Trump campaigners gathered outside the palace on Friday.",
            {("Politicians and anti-Trump campaigners", "Politicians and anti-Trump campaigners")},
        ),
        ("Senate Democrats said the plan would fail.", {("Democrats", "Senate Democrats")}),
        # bare, counted or named groups are no labels; a committee is no group of people
        ("Officials declined to comment. Two leaders met. North Koreans cheered.", set()),
        ("The intelligence committees met on Monday.", set()),
    ],
)
def test_group_labels(make_analyzed, text: str, expected: set[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    labels = find_labels(make_analyzed(("a", text)))
    assert {(lab.entity, lab.label) for lab in labels if lab.kind == "group"} == expected
