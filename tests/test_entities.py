"""One name per person: PeopleIndex grouping, canonical names, mentions, speakers and labels."""

from __future__ import annotations

from collections import Counter

import pytest

from parallax.entities import (
    PeopleIndex,
    entity_id_for,
    fold,
    name_words,
)
from parallax.framing import find_labels


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("José Díaz", "jose diaz"),
        ("RICE", "rice"),
        ("Rice's", "rice"),
        ("Jong-un", "jong un"),
        ("Biden’s", "biden"),
    ],
)
def test_fold(text: str, key: str) -> None:
    assert fold(text) == key


def test_name_words_drop_titles_and_suffixes() -> None:
    assert name_words(["Ambassador", "Susan", "E.", "Rice's"]) == ["Susan", "E.", "Rice"]
    assert name_words(["President", "Donald", "Trump", "Jr."]) == ["Donald", "Trump"]


def test_one_person_under_many_names() -> None:
    people = PeopleIndex.from_names(Counter({"Susan Rice": 3, "Susan E. Rice": 1, "S. Rice": 1}))
    for form in ["Susan Rice", "Susan E. Rice", "Rice", "Ambassador Rice", "SUSAN RICE", "Ms. Rice's"]:
        assert people.canonical(form) == "Susan Rice", form
    assert people.entity_id("Ambassador Rice") == entity_id_for("Susan Rice") == "person:susan-rice"


def test_accents_do_not_split_a_person() -> None:
    people = PeopleIndex.from_names(Counter({"José Díaz": 2, "Jose Diaz": 1}))
    assert people.canonical("Jose Diaz") == people.canonical("JOSÉ DÍAZ") == "José Díaz"


def test_shared_surname_is_ambiguous_unless_one_dominates() -> None:
    both = PeopleIndex.from_names(Counter({"Bill Clinton": 2, "Hillary Clinton": 2}))
    assert both.canonical("Clinton") == "Clinton"  # no one: left as it is
    assert both.canonical("Hillary") == "Hillary Clinton"
    dominant = PeopleIndex.from_names(Counter({"Donald Trump": 6, "Ivanka Trump": 1}))
    assert dominant.canonical("Trump") == "Donald Trump"
    assert dominant.canonical("Ivanka Trump") == "Ivanka Trump"


def test_surname_first_names_resolve_by_their_first_word() -> None:
    people = PeopleIndex.from_names(Counter({"Kim Jong-un": 3, "Kim Jong Un": 2, "Moon Jae-in": 2}))
    assert people.canonical("Mr. Kim") == "Kim Jong-un"
    assert people.canonical("Kim Jong Un") == "Kim Jong-un"
    assert people.canonical("President Moon") == "Moon Jae-in"


def test_unknown_names_are_kept() -> None:
    people = PeopleIndex.from_names(Counter({"Susan Rice": 1}))
    assert people.canonical("a  spokesman") == "a spokesman"
    assert people.entity_id("a spokesman") is None


def test_build_groups_mentions_across_articles(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    arts = make_analyzed(
        ("a", "Susan Rice spoke in Washington on Monday. Rice said the talks would go on."),
        ("b", "National security adviser Susan E. Rice met reporters. Ambassador Rice took questions."),
        ("c", "SUSAN RICE SPEAKS. Ms. Rice later left for New York."),
    )
    people = PeopleIndex.build(arts)
    rices = [e for e in people.entities() if "Rice" in e.name]
    assert len(rices) == 1
    entity = rices[0]
    assert entity.name == "Susan Rice" and entity.kind == "person"
    assert dict(entity.mentions)["a"] == 2 and dict(entity.mentions)["b"] == 2
    assert "Susan E. Rice" in entity.aliases


def test_canonical_names_for_speakers() -> None:
    """What the quotes hook (``find_attributions(canonical=people.canonical)``) maps speakers with."""
    people = PeopleIndex.from_names(Counter({"Susan Rice": 2}))
    assert people.canonical("Susan E. Rice") == "Susan Rice"
    assert people.canonical("Ambassador Rice") == "Susan Rice"


def test_coordinated_role_phrase_is_not_the_name_beside_it(make_analyzed) -> None:  # type: ignore[no-untyped-def]
    """ "arranged by Mr. Boehner and the Israeli ambassador": the ambassador is not Boehner, and
    not the Israeli named before either."""
    arts = make_analyzed(
        (
            "a",
            "Speaker John Boehner invited Prime Minister Benjamin Netanyahu to address Congress in March. "
            "The speech was arranged by Mr. Boehner and the Israeli ambassador without consulting "
            "the White House.",
        ),
    )
    labels = find_labels(arts)
    assert not any(lab.label.endswith("ambassador") for lab in labels)  # neither Boehner nor Netanyahu


HALE_AND_MARIN = (
    "President Tom Hale met French President Luc Marin in Paris. President Hale said the talks went well."
)


@pytest.mark.parametrize(
    ("tail", "phrase", "right", "wrong"),
    [
        # the most labelled carrier gets a shared role noun
        ("Marin agreed. The president later flew home.", "The president", "Tom Hale", "Luc Marin"),
        # modifiers narrow whom a role phrase describes
        ("The French president agreed.", "The French president", "Luc Marin", "Tom Hale"),
    ],
)
def test_role_shared_by_two_people(make_analyzed, tail: str, phrase: str, right: str, wrong: str) -> None:  # type: ignore[no-untyped-def]
    arts = make_analyzed(("a", f"{HALE_AND_MARIN} {tail}"))
    roles = {(lab.entity, lab.label) for lab in find_labels(arts) if lab.kind == "role"}
    assert (right, phrase) in roles
    assert (wrong, phrase) not in roles
