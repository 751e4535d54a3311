"""Features and incremental story clustering."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import struct
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import shared_path

from parallax.cluster import (
    DayWindow,
    StoryClusterer,
    cluster_documents,
    learn_day_window,
    order_for_clustering,
    place_undated,
    story_id_for,
)
from parallax.errors import StoreError
from parallax.features import ClusterDoc, entities, extract_features, publication_day, stem

QUAKE_A = ClusterDoc(
    "qa1",
    "A magnitude 6.4 earthquake struck near Kardamyla on the island of Chios early on Sunday, "
    "killing 14 people and destroying 230 homes, the Greek civil protection agency said. "
    "Rescue teams searched collapsed buildings in Kardamyla through the night.",
    title="Earthquake kills 14 on Chios",
    published="2021-03-07",
)
QUAKE_A2 = ClusterDoc(
    "qa2",
    "Rescuers on Chios pulled survivors from the rubble in Kardamyla after Sunday's magnitude 6.4 "
    "earthquake, which killed 14 people. The civil protection agency said 230 homes were destroyed "
    "and aftershocks continued to shake the island.",
    title="Chios earthquake: survivors pulled from rubble in Kardamyla",
    published="2021-03-08",
)
QUAKE_B = ClusterDoc(
    "qb1",
    "A magnitude 7.1 earthquake hit the Peruvian province of Arequipa on Tuesday, killing three "
    "people in the town of Chala and cutting power to 90,000 homes, Peru's emergency office said. "
    "Landslides blocked the highway to Lima.",
    title="Strong earthquake in southern Peru kills three",
    published="2021-03-09",
)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("protests", "protest"),
        ("protested", "protest"),
        ("protesting", "protest"),
        ("stopped", "stop"),
        ("cities", "city"),
        ("bus", "bus"),
        ("analysis", "analysis"),
        ("earthquake", "earthquake"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_entities_skip_sentence_initial_function_words() -> None:
    found = entities("The mayor met Angela Merkel in Berlin. However, Merkel left early. Police said so.")
    assert found["angela merkel"] == 1 and found["merkel"] == 2 and found["berlin"] == 1
    assert "the" not in found and "however" not in found and "police" not in found


@pytest.mark.parametrize(
    ("published", "day"),
    [("1970-01-02", 1), ("2019-04-25T10:00:00Z", 18011), (None, None), ("", None), ("April 2019", None)],
)
def test_publication_day(published: str | None, day: int | None) -> None:
    assert publication_day(published) == day


def test_features_are_pure_normalised_and_small() -> None:
    f = extract_features(QUAKE_A)
    assert f == extract_features(QUAKE_A)
    assert math.isclose(sum(w * w for _, w in f.terms), 1.0, rel_tol=1e-9)
    assert [k for k, _ in f.terms] == sorted(k for k, _ in f.terms)
    assert f.entities and f.title_terms and f.numbers and f.day == publication_day("2021-03-07")
    assert extract_features(ClusterDoc("empty", "")).terms == ()


def test_order_for_clustering_dates_first_then_undated_by_id() -> None:
    docs = [
        ClusterDoc("z", "x"),
        ClusterDoc("b", "x", published="2020-01-02"),
        ClusterDoc("a", "x", published="2020-01-02"),
        ClusterDoc("c", "x", published="2019-12-31"),
        ClusterDoc("y", "x", published="not a date"),
    ]
    assert [d.id for d in order_for_clustering(docs)] == ["c", "a", "b", "y", "z"]


def test_same_topic_different_event_is_separated() -> None:
    result = cluster_documents([QUAKE_A, QUAKE_A2, QUAKE_B])
    assert result["qa1"] == result["qa2"] != result["qb1"]
    assert result["qa1"] == story_id_for("qa1")


def test_ecbplus_rehab_topic_is_split_by_event() -> None:
    rows = [json.loads(line) for line in shared_path("clustering", "ecbplus-topics-1-35.jsonl").open()]
    rows = [r for r in rows if r["gold_topic"] == "ecb-1"]  # two different celebrities entering rehab
    docs = [ClusterDoc(r["id"], r["text"], title=r["title"]) for r in rows]
    pred = cluster_documents(docs)
    majority = {}
    for event in {r["gold_story"] for r in rows}:
        majority[event] = Counter(pred[r["id"]] for r in rows if r["gold_story"] == event).most_common(1)[0]
    (s1, n1), (s2, n2) = majority.values()
    assert s1 != s2
    assert n1 + n2 >= 0.8 * len(rows)


def test_add_is_idempotent_and_copies_follow_their_canonical() -> None:
    c = StoryClusterer()
    a = c.add(extract_features(QUAKE_A))
    assert a.created and c.add(extract_features(QUAKE_A)) == type(a)("qa1", a.story_id, False)
    assert c.add_copy("qa1-copy", "qa1").story_id == a.story_id
    assert c.assignments() == {"qa1": a.story_id, "qa1-copy": a.story_id}
    assert [e.kind for e in c.events] == ["create"]
    with pytest.raises(KeyError):
        c.add_copy("x", "unknown")
    with pytest.raises(StoreError):
        StoryClusterer.from_bytes(b"garbage")


def test_window_closes_old_stories() -> None:
    later = ClusterDoc("qa9", QUAKE_A2.text, title=QUAKE_A2.title, published="2021-05-01")
    result = cluster_documents([QUAKE_A, later], window_days=7)
    assert result["qa1"] != result["qa9"]
    assert cluster_documents([QUAKE_A, later], window_days=90, day_decay=None)["qa9"] == result["qa1"]


def test_day_decay_separates_an_event_told_again_days_later() -> None:
    """Inside the window, a story last updated more than ``day_grace`` days ago scores less."""
    day = QUAKE_A.published or "2021-03-01"
    d0 = dt.date.fromisoformat(day[:10])
    near = ClusterDoc("qa8", QUAKE_A2.text, title=QUAKE_A2.title, published=str(d0 + dt.timedelta(days=2)))
    far = ClusterDoc("qa9", QUAKE_A2.text, title=QUAKE_A2.title, published=str(d0 + dt.timedelta(days=6)))
    kept = cluster_documents([QUAKE_A, near], window_days=30, day_decay=1.0, day_grace=2)
    assert kept["qa8"] == kept["qa1"]
    split = cluster_documents([QUAKE_A, far], window_days=30, day_decay=1.0, day_grace=2)
    assert split["qa9"] != split["qa1"]
    assert cluster_documents([QUAKE_A, far], window_days=30, day_decay=None)["qa9"] == split["qa1"]


@pytest.mark.parametrize(
    ("stories", "expected"),
    [
        # 85 same-day gaps, 26 of one day, 8 of two, 1 of three: the 119th smallest (2 days)
        # bounds the 95% quantile with 95% confidence; the one gap beyond it: a tail mean of 1
        ([[0, 0]] * 85 + [[5, 6]] * 26 + [[9, 7]] * 8 + [[0, 3]], DayWindow(2, 1.0, 120)),
        # too few gaps to bound the quantile: a day beyond the largest; none beyond: a decay of a day
        ([[0, 0, 1]] * 5, DayWindow(2, 1.0, 10)),
        # 97 gaps: the 96th smallest (4) is the bound, and the mean excess of the rest (10) is 6
        ([[0, 0]] * 95 + [[0, 4], [10, 20]], DayWindow(4, 6.0, 97)),
        ([[3], []], None),
        ([], None),
    ],
)
def test_learn_day_window(stories: list[list[int]], expected: DayWindow | None) -> None:
    assert learn_day_window(stories) == expected


def test_learned_window_sets_the_clusterer_tunables() -> None:
    window = learn_day_window([[0, 1, 1], [4, 7]])
    assert window == DayWindow(4, 1.0, 3)
    assert StoryClusterer(**window.params()).params["day_grace"] == 4
    with pytest.raises(ValueError, match="between 0 and 1"):
        learn_day_window([[0, 1]], quantile=1.0)


def _undated(doc: ClusterDoc, doc_id: str) -> ClusterDoc:
    return ClusterDoc(doc_id, doc.text, title=doc.title, published=None)


@pytest.mark.parametrize(("between", "joins"), [(3, True), (4, False)])
def test_undated_story_closes_after_the_horizon_of_articles(between: int, joins: bool) -> None:
    """An undated story has no day to age by: it closes ``undated_horizon`` articles after its
    last one (copies count), so a report of the same event arriving later starts a new story."""
    c = StoryClusterer(undated_horizon=4)
    first = c.add(extract_features(_undated(QUAKE_A, "u1")))
    for i in range(between):
        c.add_copy(f"u1-copy{i}", "u1")
    later = c.add(extract_features(_undated(QUAKE_A2, "u2")))
    assert (later.story_id == first.story_id) is joins
    assert (first.story_id in c._active) is joins
    assert all(first.story_id not in p for p in c._postings.values()) or joins
    assert c.story_of("u1") == first.story_id  # assignments stay after closing
    dated = StoryClusterer(undated_horizon=1)  # a dated story ages by its days only
    a = dated.add(extract_features(QUAKE_A))
    dated.add(extract_features(_undated(QUAKE_B, "ub")))
    assert dated.add(extract_features(QUAKE_A2)).story_id == a.story_id


def test_an_undated_report_of_an_old_event_joins_it_in_a_batch() -> None:
    """Undated last, the quake story would be closed by the window when the Peru reports arrive."""
    later = [
        ClusterDoc(f"qb{i}", QUAKE_B.text, title=QUAKE_B.title, published=f"2021-04-{10 + i}")
        for i in range(3)
    ]
    docs = [QUAKE_A, QUAKE_A2, *later, _undated(QUAKE_A2, "qa-undated")]
    result = cluster_documents(docs)
    assert result["qa-undated"] == result["qa1"] == result["qa2"]
    assert result["qb0"] != result["qa1"]
    feats = [extract_features(d) for d in order_for_clustering(docs)]
    placed = [f.id for f in place_undated(feats, window_days=7)]
    # after the last dated article within a week of its nearest one (qa2, 8 March)
    assert placed == ["qa1", "qa2", "qa-undated", "qb0", "qb1", "qb2"]
    # without the placement it comes last and starts a story of its own
    plain = StoryClusterer()
    plain.add_many(feats)
    assert plain.story_of("qa-undated") != plain.story_of("qa1")


def test_undated_articles_closer_to_each_other_stay_at_the_end() -> None:
    peru = [_undated(QUAKE_B, "u1"), _undated(QUAKE_B, "u2")]
    feats = [extract_features(d) for d in order_for_clustering([QUAKE_A, QUAKE_A2, *peru])]
    assert [f.id for f in place_undated(feats, window_days=7)] == ["qa1", "qa2", "u1", "u2"]
    only_undated = feats[2:]
    assert place_undated(only_undated, window_days=7) == only_undated
    assert place_undated(feats[:2], window_days=7) == feats[:2]


# --- properties ---------------------------------------------------------------------------------

NAMES = ["Alvarez", "Brandt", "Chen", "Dubois", "Okafor", "Larsen"]
WORDS = [
    "storm",
    "vote",
    "court",
    "fire",
    "strike",
    "deal",
    "match",
    "flood",
    "trial",
    "election",
    "river",
    "bridge",
]


@st.composite
def corpora(draw: st.DrawFn) -> list[ClusterDoc]:
    n = draw(st.integers(min_value=1, max_value=14))
    docs = []
    for i in range(n):
        names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))
        words = draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=12))
        day = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=28)))
        text = " ".join(f"{w} {names[j % len(names)]} said." for j, w in enumerate(words))
        docs.append(
            ClusterDoc(
                f"d{i:02d}",
                text,
                title=" ".join(words[:3]),
                published=None if day is None else f"2020-02-{day:02d}",
            )
        )
    return order_for_clustering(docs)


@settings(max_examples=40, deadline=None)
@given(corpora(), st.sampled_from([None, 0.3]))
def test_clustering_is_a_partition_with_stable_ids(docs: list[ClusterDoc], merge: float | None) -> None:
    feats = [extract_features(d) for d in docs]
    c = StoryClusterer(threshold=0.25, merge_threshold=merge)
    moved: set[str] = set()
    for f in feats:
        c.add(f)
        moved.update(c.drain_moves())
    full = c.assignments()
    assert list(full) == [d.id for d in docs]  # every article in exactly one story
    merged_away = {o for e in c.events if e.kind == "merge" for o in e.others}
    created = {e.story_id for e in c.events if e.kind == "create"}
    split_off = {o for e in c.events if e.kind == "split" for o in e.others}
    assert set(full.values()) == (created | split_off) - merged_away
    # Ids given to a prefix survive later additions, except through a recorded merge or split.
    half = StoryClusterer(threshold=0.25, merge_threshold=merge)
    half.add_many(feats[: len(feats) // 2])
    for doc_id, story in half.assignments().items():
        now = full[doc_id]
        assert now == story or story in merged_away or doc_id in moved


@settings(max_examples=30, deadline=None)
@given(corpora(), st.integers(min_value=0, max_value=14), st.sampled_from([None, 2, 5]))
def test_round_trip_continues_identically(docs: list[ClusterDoc], cut: int, horizon: int | None) -> None:
    feats = [extract_features(d) for d in docs]
    straight = StoryClusterer(threshold=0.25, merge_threshold=0.3, undated_horizon=horizon)
    straight.add_many(feats)
    first = StoryClusterer(threshold=0.25, merge_threshold=0.3, undated_horizon=horizon)
    first.add_many(feats[:cut])
    resumed = StoryClusterer.from_bytes(first.to_bytes())
    resumed.add_many(feats[cut:])
    assert resumed.assignments() == straight.assignments()
    assert resumed.events == straight.events


# --- bounded memory and the compact state -------------------------------------------------------


def test_centroids_stay_bounded_and_expired_stories_leave_memory() -> None:
    c = StoryClusterer(centroid_terms=20, index_terms=8, window_days=3)
    for i in range(12):
        day = 1 + i // 4  # three days of four articles on one story
        text = f"{QUAKE_A.text} Aftershock report number {i} from district {i * 7}."
        c.add(
            extract_features(ClusterDoc(f"a{i}", text, title=QUAKE_A.title, published=f"2021-03-{day:02d}"))
        )
    story = c._active[c.story_of("a0")]
    assert len(story.vec_keys) <= 30 and len(story.vec_keys) == len(story.vec_vals)
    assert list(story.vec_keys) == sorted(story.vec_keys)
    assert math.isclose(story.norm, float(story.vec_vals @ story.vec_vals) ** 0.5)
    c.add(extract_features(ClusterDoc("late", QUAKE_B.text, title=QUAKE_B.title, published="2021-04-30")))
    assert list(c._active) == [c.story_of("late")]  # the quake story was closed
    assert all(c.story_of("late") in p or not p for p in c._postings.values())
    assert c.story_of("a0") != c.story_of("late")  # assignments stay after closing


def test_state_is_compact_and_refuses_older_versions() -> None:
    import base64
    import zlib

    feats = [extract_features(d) for d in order_for_clustering([QUAKE_A, QUAKE_A2, QUAKE_B])]
    c = StoryClusterer()
    c.add_many(feats[:2])
    c.add_copy("qa2-copy", "qa2")
    blob = c.to_bytes()
    assert blob.startswith(b"PXSC4")
    (size,) = struct.unpack("<I", blob[5:9])
    body = zlib.decompress(blob[9 : 9 + size])  # the header; the arrays follow, raw
    assert c.story_of("qa2") == c.story_of("qa1")
    # an id once (member records and copy links name articles by index), no per-article pairs
    assert body.count(b'"qa2"') == 1 and body.count(b'"qa2-copy"') == 1 and b"doc_story" not in body
    # the JSON state of version 1, as written before this format
    story = c._active[c.story_of("qa1")]
    v1 = {
        "format": "parallax-story-clusterer/1",
        "params": c.params,
        "n_docs": c._n_docs,
        "seq": c._seq,
        "doc_story": list(c._doc_story.items()),
        "alias": [],
        "stories": [
            [
                *(story.id, story.seq, story.vec_keys.tolist(), story.vec_vals.tolist(), story.norm),
                *(story.size, story.last_day, sorted(story.keys)),
            ]
        ],
        "expiry": c._expiry,
        "events": [[e.kind, e.story_id, list(e.others), e.doc_id] for e in c.events],
        "df": base64.b64encode(zlib.compress(c._df.tobytes())).decode("ascii"),
    }
    with pytest.raises(StoreError, match="older version"):
        StoryClusterer.from_bytes(zlib.compress(json.dumps(v1).encode("utf-8")))
    # format 2: the same binary layout as now, without member records
    v2 = b"PXSC2" + zlib.compress(struct.pack("<I", 2) + b"{}", 1)
    with pytest.raises(StoreError, match="older version"):
        StoryClusterer.from_bytes(v2)
    new = StoryClusterer.from_bytes(blob)
    assert new.add(feats[2]) == c.add(feats[2])
    assert new.assignments() == c.assignments()
    with pytest.raises(StoreError):
        StoryClusterer.from_bytes(blob[:-7])
    with pytest.raises(StoreError, match="cannot be read"):
        StoryClusterer.from_bytes(zlib.compress(b'{"format": "something else"}'))


def _reference_terms(text: str) -> tuple[tuple[int, float], ...]:
    """Steps 1-2 of ``extract_features`` written plainly (dicts, no caches, no numpy)."""
    from parallax.features import MAX_CHARS, MAX_TERMS, STOP_WORDS, TERM, feature_hash

    counts: Counter[str] = Counter()
    for tok in re.findall(r"[a-z][a-z'’]*[a-z]|\d+(?:[.,]\d+)*", text[:MAX_CHARS].lower()):
        if tok not in STOP_WORDS and len(tok) >= 2:
            counts[stem(tok.replace("’", "'"))] += 1
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        key = feature_hash(TERM, term)
        weights[key] = weights.get(key, 0.0) + 1.0 + math.log(tf)
    top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return tuple(sorted((k, w / norm) for k, w in top))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([*WORDS, *NAMES, "the", "protests", "protested", "it’s", "2021", "1,500", "a"]),
        max_size=80,
    ).map(" ".join)
)
def test_term_weights_equal_the_plain_computation(text: str) -> None:
    assert extract_features(ClusterDoc("x", text)).terms == _reference_terms(text)
    assert extract_features(ClusterDoc("x", QUAKE_B.text)).terms == _reference_terms(QUAKE_B.text)


def test_drained_events_are_gone_from_memory_and_from_the_saved_state() -> None:
    c = StoryClusterer()
    c.add_many([extract_features(QUAKE_A), extract_features(QUAKE_B)])
    drained = c.drain_events()
    assert drained and drained[0].kind == "create" and c.events == [] and c.drain_events() == []
    assert StoryClusterer.from_bytes(c.to_bytes()).events == []
