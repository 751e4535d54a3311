"""Story splits: a story that drifted into two events is split; ids, moves, copies and state follow."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.cluster import Assignment, StoryClusterer, _next_check, story_id_for
from parallax.features import ClusterDoc, DocFeatures, extract_features

SHARED = (
    "earthquake rescue teams searched collapsed buildings aftershocks magnitude injured homes "
    "destroyed emergency shelters"
)
EVENT_A = ["Kardamyla", "Chios", "Nikos Papadakis", "Aegean", "Vrontados", "Greek civil protection"]
EVENT_B = ["Arequipa", "Chala", "Maria Quispe", "Peru", "Camana", "Peruvian emergency office"]


def _report(doc_id: str, i: int, names: list[str], extra: str, published: str) -> ClusterDoc:
    """The ``i``-th report on the event named by ``names``: shared quake vocabulary, own names."""
    said = " ".join(
        f"{name} said the situation in {names[(i + k) % len(names)]} was serious."
        for k, name in enumerate(names)
    )
    title = f"Earthquake in {names[i % len(names)]}: {names[(i + 1) % len(names)]} update"
    return ClusterDoc(
        doc_id, f"{SHARED}. {said} {extra} Report number {i}.", title=title, published=published
    )


def drift_stream(n_a: int = 6, n_b: int = 12) -> list[ClusterDoc]:
    """``n_a`` reports on event A, one article on both events, then ``n_b`` reports on event B.

    The bridge lets B's reports chain into A's story one by one; by the size-16 checkpoint the
    story holds two clearly different groups.
    """
    docs = [
        _report(f"a{i}", i, EVENT_A, "Fishermen in the harbour of Kardamyla helped survivors.", "2021-03-07")
        for i in range(n_a)
    ]
    both = _report("x", 9, EVENT_A, "", "2021-03-08").text + " " + _report("x", 9, EVENT_B, "", "").text
    docs.append(ClusterDoc("bridge", both, title="Earthquakes in Chios and Arequipa", published="2021-03-08"))
    docs += [
        _report(f"b{i}", i, EVENT_B, "Landslides blocked the highway from Chala to Lima.", "2021-03-08")
        for i in range(n_b)
    ]
    return docs


def test_next_check_is_8_16_to_256_then_every_256() -> None:
    checks, size = [], 0
    while size < 1000:
        size = _next_check(size)
        checks.append(size)
    assert checks == [8, 16, 32, 64, 128, 256, 512, 768, 1024]
    assert _next_check(20) == 32 and _next_check(300) == 512


@pytest.mark.parametrize(("n_a", "n_b"), [(6, 12), (10, 8)])  # the old event a minority, a majority
def test_drifting_story_is_split_and_moves_are_reported_once(n_a: int, n_b: int) -> None:
    a_ids, b_ids = [f"a{i}" for i in range(n_a)], [f"b{i}" for i in range(n_b)]
    trigger = b_ids[16 - n_a - 2]  # the 16th article reaches the checkpoint
    c = StoryClusterer()
    out: dict[str, Assignment] = {}
    for doc in drift_stream(n_a, n_b):
        out[doc.id] = c.add(extract_features(doc))
        if doc.id == "a1":
            c.add_copy("a1-copy", "a1")
        if doc.id == "b1":
            c.add_copy("b1-copy", "b1")
            c.add_copy("b1-copy-of-copy", "b1-copy")
            assert c.drain_moves() == {}
    old = story_id_for("a0")
    # Before the split every article chained into the first story.
    before = [*a_ids, "bridge", *b_ids[: b_ids.index(trigger)]]
    assert all(out[d].story_id == old for d in before)
    splits = [e for e in c.events if e.kind == "split"]
    assert len(splits) == 1
    (split,) = splits
    assert split.story_id == old and split.doc_id == trigger
    (new,) = split.others
    assert new != old
    now = c.assignments()
    assert all(now[d] == old for d in a_ids) and now["a1-copy"] == old
    assert all(now[d] == new for d in b_ids)
    assert out[trigger].story_id == new  # the trigger's own assignment already names its story
    later = b_ids[b_ids.index(trigger) + 1 :]
    assert later and all(out[d].story_id == new for d in later)  # later B reports join the new story
    # The new story is named after its oldest article (the bridge when it went with B).
    first = "bridge" if now["bridge"] == new else "b0"
    assert new == story_id_for(first)
    # Copies follow their canonical article, even a copy of a copy.
    assert c.story_of("b1-copy") == c.story_of("b1-copy-of-copy") == new
    moved = [d for d in before if now[d] == new] + ["b1-copy", "b1-copy-of-copy"]
    assert c.drain_moves() == dict.fromkeys(moved, new)
    assert c.drain_moves() == {}  # once
    # A copy added after the split goes where its canonical is now.
    assert c.add_copy("b2-late-copy", "b2").story_id == new
    assert c.drain_moves() == {}


def test_splits_can_be_disabled() -> None:
    c = StoryClusterer(split_ratio=None)
    c.add_many(extract_features(d) for d in drift_stream())
    assert {e.kind for e in c.events} == {"create"}
    assert set(c.assignments().values()) == {story_id_for("a0")}


COHERENT = [
    "A magnitude 6.4 earthquake struck near Kardamyla on the island of Chios early on Sunday.",
    "At least 14 people were killed and 230 homes destroyed, the Greek civil protection agency said.",
    "Rescue teams searched collapsed buildings in Kardamyla through the night.",
    "Nikos Papadakis, the mayor of Kardamyla, said the old town was cut off.",
    "Aftershocks continued to shake Chios on Monday, keeping residents in tents.",
    "The Greek government sent army engineers and field hospitals to Chios.",
    "Survivors were pulled from the rubble of a school in Vrontados.",
    "Seismologists said the Chios earthquake was the strongest in the Aegean for a decade.",
    "Ferries from Piraeus brought blankets and water to Chios harbour.",
    "Prime minister Kyriakos Mitsotakis visited Kardamyla and promised reconstruction aid.",
    "Engineers inspected the damaged harbour wall in Kardamyla for cracks.",
    "Hotels on Chios opened their rooms to families whose homes collapsed.",
]
COHERENT_TITLES = [
    "Earthquake kills 14 on Chios",
    "Chios earthquake: rescuers search rubble in Kardamyla",
    "Aftershocks rattle Chios after deadly quake",
    "Greece sends aid to quake-hit Chios",
    "Kardamyla counts the cost of the Chios earthquake",
]


def coherent_stream(n: int, seed: int = 7) -> list[ClusterDoc]:
    """``n`` reports on one event: each a different selection and order of its facts."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        facts = rng.sample(COHERENT, rng.randint(4, 8))
        day = 7 + i * 5 // n
        docs.append(
            ClusterDoc(
                f"c{i:03d}",
                " ".join(facts) + f" Our correspondent filed report {i}.",
                title=rng.choice(COHERENT_TITLES),
                published=f"2021-03-{day:02d}",
            )
        )
    return docs


def test_coherent_story_never_splits() -> None:
    c = StoryClusterer()
    c.add_many(extract_features(d) for d in coherent_stream(300))  # past every checkpoint up to 256
    assert [e.kind for e in c.events] == ["create"]
    assert set(c.assignments().values()) == {story_id_for("c000")}
    story = c._active[story_id_for("c000")]
    assert story.size == 300 and len(story.members) == c.member_cap  # the record is capped


# --- state --------------------------------------------------------------------------------------

Op = tuple[str, Any, str | None]


def _ops(docs: list[ClusterDoc], copies: dict[str, str]) -> list[Op]:
    """Additions in order, each followed by the copies (copy id -> canonical) of that article."""
    out: list[Op] = []
    for d in docs:
        out.append(("add", extract_features(d), None))
        out += [("copy", copy, canonical) for copy, canonical in copies.items() if canonical == d.id]
    return out


def _apply(c: StoryClusterer, ops: list[Op], drain_every: bool) -> list[Any]:
    seen: list[Any] = []
    for kind, item, canonical in ops:
        if kind == "add":
            assert isinstance(item, DocFeatures)
            seen.append(c.add(item))
        else:
            assert canonical is not None
            seen.append(c.add_copy(item, canonical))
        if drain_every:
            seen.append(c.drain_moves())
    return seen


@pytest.mark.parametrize("drain_every", [True, False])
def test_round_trip_continues_identically_through_a_split(drain_every: bool) -> None:
    copies = {"a2-copy": "a2", "b0-copy": "b0", "b3-copy": "b3", "b3-copy-2": "b3-copy"}
    ops = _ops(drift_stream(), copies)
    straight = StoryClusterer()
    expected = _apply(straight, ops, drain_every)
    expected_moves = straight.drain_moves()
    assert any(e.kind == "split" for e in straight.events)
    for cut in range(len(ops) + 1):
        first = StoryClusterer()
        seen = _apply(first, ops[:cut], drain_every)
        resumed = StoryClusterer.from_bytes(first.to_bytes())
        seen += _apply(resumed, ops[cut:], drain_every)
        assert seen == expected, cut
        assert resumed.drain_moves() == expected_moves, cut
        assert resumed.events == straight.events, cut
        assert resumed.assignments() == straight.assignments(), cut
        assert resumed.to_bytes() == straight.to_bytes(), cut


# --- properties ---------------------------------------------------------------------------------

NAMES = ["Alvarez", "Brandt", "Chen", "Dubois", "Okafor", "Larsen", "Moreau", "Tanaka"]
WORDS = ["storm", "vote", "court", "fire", "strike", "deal", "match", "flood", "trial", "bridge"]


@st.composite
def streams(draw: st.DrawFn) -> list[Op]:
    """Articles on a few overlapping themes (so that stories grow past checkpoints), with copies."""
    n = draw(st.integers(min_value=1, max_value=40))
    ops: list[Op] = []
    added: list[str] = []
    for i in range(n):
        theme = draw(st.integers(min_value=0, max_value=2))
        names = draw(st.lists(st.sampled_from(NAMES[theme * 2 : theme * 2 + 4]), min_size=1, max_size=3))
        words = draw(st.lists(st.sampled_from(WORDS[theme * 3 : theme * 3 + 5]), min_size=3, max_size=10))
        text = " ".join(f"{w} {names[j % len(names)]} said." for j, w in enumerate(words))
        day = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=20)))
        doc = ClusterDoc(
            f"d{i:02d}",
            text,
            title=" ".join(words[:3]),
            published=None if day is None else f"2020-03-{day:02d}",
        )
        ops.append(("add", extract_features(doc), None))
        added.append(doc.id)
        if draw(st.booleans()) and draw(st.booleans()):
            ops.append(("copy", f"k{i:02d}", draw(st.sampled_from(added))))
            added.append(f"k{i:02d}")
    return ops


def _check_invariants(c: StoryClusterer) -> None:
    now = c.assignments()
    recorded: set[str] = set()
    for sid, story in c._active.items():
        members = story.members
        assert len(members) <= c.member_cap and len(members) <= story.size
        assert all(now[d] == sid for d in members.ids)  # a recorded member is in its story
        order = members.order[members.ordered()].tolist()
        assert order == sorted(order)
        recorded.update(members.ids)
    assert set(c._copies) <= recorded  # copy links only for members a split can move
    for root, copies in c._copies.items():
        for copy, _ in copies:
            assert c._copy_root[copy] == root and now[copy] == now[root]
    assert len(c._copy_root) == sum(len(v) for v in c._copies.values())


@settings(max_examples=40, deadline=None)
@given(streams(), st.integers(min_value=0, max_value=60), st.sampled_from([0.5, 0.9]))
def test_round_trip_and_invariants_with_splits(ops: list[Op], cut: int, ratio: float) -> None:
    kw: dict[str, Any] = {"threshold": 0.25, "merge_threshold": 0.3, "split_ratio": ratio, "member_cap": 12}
    straight = StoryClusterer(**kw)
    expected = _apply(straight, ops, drain_every=True)
    _check_invariants(straight)
    first = StoryClusterer(**kw)
    seen = _apply(first, ops[:cut], drain_every=True)
    resumed = StoryClusterer.from_bytes(first.to_bytes())
    seen += _apply(resumed, ops[cut:], drain_every=True)
    assert seen == expected
    assert resumed.events == straight.events
    # Every move reported names the story the article is in when reported; copies go with their
    # canonical articles.
    story: dict[str, str] = {}
    canonical: dict[str, str] = {}
    for (kind, item, canon), out, moves in zip(ops, expected[::2], expected[1::2], strict=True):
        doc_id = item.id if kind == "add" else item
        story[doc_id] = out.story_id
        if canon is not None:
            canonical[doc_id] = canonical.get(canon, canon)
        story.update(moves)
        merged = {o: e.story_id for e in straight.events if e.kind == "merge" for o in e.others}

        def final(sid: str, merged: dict[str, str] = merged) -> str:
            while sid in merged:
                sid = merged[sid]
            return sid

        story = {d: final(s) for d, s in story.items()}
    assert story == straight.assignments()
    for copy, root in canonical.items():
        assert story[copy] == story[root]


def test_member_records_are_bounded_and_freed_with_their_story() -> None:
    c = StoryClusterer(member_cap=8, window_days=3)
    for doc in coherent_stream(30):
        c.add(extract_features(doc))
        c.add_copy(doc.id + "-copy", doc.id)
    (story,) = c._active.values()
    assert len(story.members) == 8 and story.members.keys.shape == (8, c.member_terms)
    assert set(story.members.ids) == {f"c{i:03d}" for i in range(22, 30)}  # the most recent
    assert set(c._copies) == set(story.members.ids) and len(c._copy_root) == 8
    late = ClusterDoc(
        "late", "A ferry strike stopped traffic in Piraeus.", title="Strike", published="2021-05-01"
    )
    c.add(extract_features(late))
    assert list(c._active) == [c.story_of("late")]  # the quake story closed ...
    assert not c._copies and not c._copy_root  # ... and its member data went with it
    assert c.story_of("c029-copy") == c.story_of("c000") == story_id_for("c000")


def _apply_bounded(c: StoryClusterer, ops: list[Op], stored: dict[str, str]) -> list[Any]:
    """:func:`_apply` (draining after each op) with the corpus ingest's bookkeeping: ``stored``
    plays the store (every article's story, moves and merges applied), the copies' fallback."""
    seen: list[Any] = []
    for kind, item, canonical in ops:
        if kind == "add":
            assert isinstance(item, DocFeatures)
            out = c.add(item)
        else:
            assert canonical is not None
            out = c.add_copy(item, canonical, fallback=stored.__getitem__)
        moves = c.drain_moves()
        seen += [out, moves]
        stored[out.doc_id] = out.story_id
        stored.update(moves)
        merged = {o: e.story_id for e in c.drain_events() if e.kind == "merge" for o in e.others}
        for doc, sid in stored.items():
            while sid in merged:
                sid = merged[sid]
            stored[doc] = sid
    return seen


@settings(max_examples=25, deadline=None)
@given(streams(), st.integers(min_value=0, max_value=60), st.sampled_from([1, 2, 30]))
def test_bounded_assignments_give_the_same_stories(ops: list[Op], cut: int, max_stories: int) -> None:
    """Without ``keep_assignments`` only the active stories' articles are kept, yet every
    assignment, move and merge is the same, through a save and restore at any point."""
    kw: dict[str, Any] = {"threshold": 0.25, "merge_threshold": 0.3, "member_cap": 4}
    kw |= {"window_days": 2, "max_stories": max_stories}
    straight = StoryClusterer(**kw)
    expected = _apply(straight, ops, drain_every=True)
    first = StoryClusterer(**kw, keep_assignments=False)
    stored: dict[str, str] = {}
    seen = _apply_bounded(first, ops[:cut], stored)
    resumed = StoryClusterer.from_bytes(first.to_bytes())
    assert not resumed.keep_assignments and len(resumed) == len(first)
    seen += _apply_bounded(resumed, ops[cut:], stored)
    assert seen == expected
    assert stored == straight.assignments()
    members = {d for story in resumed._active.values() for d in story.members.ids}
    assert set(resumed._doc_story) == members | set(resumed._copy_root)  # bounded by the active stories
    with pytest.raises(ValueError, match="not kept"):
        resumed.assignments()
    # a state that kept every assignment (as format 3 did) converts to the bounded one
    straight.drain_events()
    assert (
        StoryClusterer.from_bytes(straight.to_bytes(), keep_assignments=False).to_bytes()
        == resumed.to_bytes()
    )


def test_state_saved_in_format_3_is_read_and_continues_identically() -> None:
    """``data/state/clusterer-format3.bin``: the first 15 ops of the drift stream, saved by the
    previous version (format 3, every assignment kept, all compressed)."""
    from pathlib import Path

    blob = (Path(__file__).parent / "data" / "state" / "clusterer-format3.bin").read_bytes()
    assert blob.startswith(b"PXSC3")
    copies = {"a2-copy": "a2", "b0-copy": "b0", "b3-copy": "b3", "b3-copy-2": "b3-copy"}
    ops = _ops(drift_stream(), copies)
    straight = StoryClusterer()
    _apply(straight, ops[:15], drain_every=False)
    resumed = StoryClusterer.from_bytes(blob)
    assert resumed.to_bytes() == straight.to_bytes()
    assert _apply(resumed, ops[15:], drain_every=True) == _apply(straight, ops[15:], drain_every=True)
    bounded = StoryClusterer.from_bytes(blob, keep_assignments=False)
    members = {d for story in bounded._active.values() for d in story.members.ids}
    assert set(bounded._doc_story) == members | set(bounded._copy_root) and len(bounded) == 15
