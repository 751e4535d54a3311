"""Near-duplicate detection: MinHash signatures and the copy index."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallax.dedup import NearDuplicateIndex, group_copies, jaccard, minhash_signature, shingles
from parallax.errors import StoreError

WIRE = (
    "Heavy rain flooded the lower districts of the river town on Tuesday night, forcing about "
    "two thousand residents to leave their homes as the water rose faster than forecast. "
    "Emergency crews used boats to reach families trapped on the upper floors of houses near the "
    "old bridge, and the regional council opened three school gyms as shelters. The weather "
    "service said the river crested just after midnight at its highest level in forty years. "
    "Officials warned that more rain was expected over the weekend and asked people not to drive "
    "through flooded roads. The mayor said damage to the water treatment plant meant tap water "
    "should be boiled until further notice, and that the main road to the coast would stay closed "
    "while engineers checked the embankment for cracks. Farmers upstream reported that fields of "
    "wheat and potatoes were under water and that several barns had collapsed."
)
OTHER = (
    "The city council voted on Monday to extend the tram line to the airport, ending a decade of "
    "debate over the cost of the project. Supporters said the line would cut travel times and "
    "pollution, while opponents warned that the budget had doubled since the first estimate. "
    "Construction is expected to start next spring and to last about four years."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One two three", {"one two three"}),
        ("A, b. C! d? E f", {"a b c d e", "b c d e f"}),
        ("", set()),
    ],
)
def test_shingles_normalise_case_and_punctuation(text: str, expected: set[str]) -> None:
    assert shingles(text, shingle=5) == expected


def test_signature_is_pure_and_sized() -> None:
    a = minhash_signature(WIRE)
    assert a.dtype == np.uint64 and a.shape == (128,)
    assert np.array_equal(a, minhash_signature(WIRE))
    assert minhash_signature(WIRE, num_perm=64).shape == (64,)
    assert jaccard(a, minhash_signature(WIRE.upper().replace(",", ""))) == 1.0


@pytest.mark.parametrize(
    "copy",
    [
        "By Jane Roe, Associated Press Writer\n\n" + WIRE,  # byline added
        "FLOODS FORCE THOUSANDS FROM HOMES\n" + WIRE + "\nCopyright 2024 The Associated Press.",
        WIRE.replace("on Tuesday night", "late Tuesday").replace("Farmers upstream", "Upstream, farmers"),
    ],
    ids=["byline", "headline-and-credit", "light-edit"],
)
def test_syndicated_copy_is_found(copy: str) -> None:
    index = NearDuplicateIndex()
    assert index.insert("wire", minhash_signature(WIRE)) is None
    assert index.insert("other", minhash_signature(OTHER)) is None
    assert index.insert("copy", minhash_signature(copy)) == "wire"
    assert index.canonical_of("copy") == "wire"
    assert index.query(minhash_signature(copy)) == ["wire", "copy"]


def test_different_article_and_rewrite_are_not_copies() -> None:
    index = NearDuplicateIndex()
    index.insert("wire", minhash_signature(WIRE))
    half = " ".join(WIRE.split()[: len(WIRE.split()) // 2])  # a trimmed half shares too little
    assert index.insert("other", minhash_signature(OTHER)) is None
    assert index.insert("half", minhash_signature(half)) is None


def test_remove_capacity_and_errors() -> None:
    index = NearDuplicateIndex(capacity=2)
    index.insert("a", minhash_signature(WIRE))
    index.insert("b", minhash_signature(OTHER))
    index.insert("c", minhash_signature("something else entirely, a third story about tennis"))
    assert len(index) == 2 and "a" not in index  # the oldest was forgotten
    assert index.insert("copy", minhash_signature(WIRE)) is None
    index.remove("b")
    index.remove("never-there")
    assert "b" not in index
    with pytest.raises(ValueError):
        index.insert("bad", np.zeros(64, dtype=np.uint64))
    with pytest.raises(StoreError):
        NearDuplicateIndex.from_bytes(b"not an index")


texts = st.lists(
    st.lists(
        st.sampled_from(
            ["alpha", "beta", "gamma", "delta", "storm", "river", "court", "vote", "rain", "fire"]
        ),
        min_size=6,
        max_size=30,
    ).map(" ".join),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(texts, st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=12), st.randoms())
def test_exact_copies_group_the_same_in_any_order(base: list[str], picks: list[int], rnd) -> None:  # type: ignore[no-untyped-def]
    docs = [(f"d{i}", base[p % len(base)]) for i, p in enumerate(picks)]

    def partition(order: list[tuple[str, str]]) -> set[frozenset[str]]:
        index = NearDuplicateIndex(threshold=0.9)
        for doc_id, text in order:
            index.insert(doc_id, minhash_signature(text))
        groups: dict[str, set[str]] = {}
        for doc_id, _ in order:
            groups.setdefault(index.canonical_of(doc_id), set()).add(doc_id)
        return {frozenset(g) for g in groups.values()}

    shuffled = list(docs)
    rnd.shuffle(shuffled)
    first = partition(docs)
    assert first == partition(shuffled)
    # Exact copies always share a group.
    by_text: dict[str, set[str]] = {}
    for doc_id, text in docs:
        by_text.setdefault(text, set()).add(doc_id)
    for ids in by_text.values():
        assert any(ids <= group for group in first)


@settings(max_examples=25, deadline=None)
@given(texts)
def test_insert_is_idempotent_and_round_trips(base: list[str]) -> None:
    index = NearDuplicateIndex()
    sigs = [(f"d{i}", minhash_signature(t)) for i, t in enumerate(base + base)]
    first = [index.insert(d, s) for d, s in sigs]
    assert [index.insert(d, s) for d, s in sigs] == first
    assert len(index) == len(sigs)
    restored = NearDuplicateIndex.from_bytes(index.to_bytes())
    assert [restored.canonical_of(d) for d, _ in sigs] == [index.canonical_of(d) for d, _ in sigs]
    extra = minhash_signature(base[0])
    assert restored.insert("new", extra) == index.insert("new", extra)
    assert group_copies(sigs) == {d: c for (d, _), c in zip(sigs, first, strict=True) if c is not None}


# --- vectorised signatures and the compact index --------------------------------------------------


def _datasketch_signature(text: str, num_perm: int = 128) -> np.ndarray:
    """The reference: datasketch's MinHash updated shingle by shingle (what the index relied on)."""
    from datasketch import MinHash

    from parallax.dedup import shingle_hash

    mh = MinHash(num_perm=num_perm, seed=1, hashfunc=shingle_hash, scheme="affine32")
    for gram in shingles(text):
        mh.update(gram)
    return mh.hashvalues.astype(np.uint64)


@pytest.mark.parametrize(
    "text",
    [
        WIRE,
        OTHER,
        "",
        "one two",
        "a b c d e",
        "a b c d e f",
        "Ünïcödé wörds: ça va très bien, merci beaucoup à vous tous — 東京 の ニュース です",
        "repeat repeat repeat repeat repeat repeat repeat repeat",
    ],
    ids=["wire", "other", "empty", "short", "one-shingle", "two-shingles", "unicode", "repeats"],
)
@pytest.mark.parametrize("num_perm", [128, 64])
def test_signature_equals_datasketch_minhash(text: str, num_perm: int) -> None:
    assert np.array_equal(minhash_signature(text, num_perm=num_perm), _datasketch_signature(text, num_perm))


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab cé,.Z\n1ſK")), max_size=80))
def test_shingle_hashes_are_the_hashes_of_the_shingles(text: str) -> None:
    from parallax.dedup import shingle_hash, shingle_hashes

    expected = {shingle_hash(g) for g in shingles(text)}
    assert set(shingle_hashes(text).tolist()) == expected
    assert np.array_equal(minhash_signature(text), _datasketch_signature(text))


def _brute_force(entries: dict[str, np.ndarray], sig: np.ndarray, threshold: float) -> list[str]:
    return [d for d, s in entries.items() if jaccard(s, sig) >= threshold]


@pytest.mark.parametrize("buffer_keys", [4, 1 << 17])
def test_index_survives_buffer_merges_removals_and_slot_reuse(
    monkeypatch: pytest.MonkeyPatch, buffer_keys: int
) -> None:
    import parallax.dedup as dedup

    monkeypatch.setattr(dedup, "_BUFFER_KEYS", buffer_keys)  # merge into the sorted arrays often
    words = WIRE.split()
    variants = {f"v{i}": " ".join(words[i:] + words[:i]) for i in range(0, 40, 4)}
    variants |= {"other": OTHER, "wire": WIRE}
    index = NearDuplicateIndex(threshold=0.5, capacity=6)
    live: dict[str, np.ndarray] = {}
    for doc_id, text in variants.items():
        sig = minhash_signature(text)
        # every indexed article sharing a band and reaching the threshold is found, oldest first
        hits = index.query(sig)
        assert set(hits) <= set(_brute_force(live, sig, 0.5))
        assert hits == [d for d in live if d in hits]
        index.insert(doc_id, sig)
        live[doc_id] = sig
        if len(live) > 6:
            live.pop(next(iter(live)))
        if doc_id == "v8":
            index.remove("v4")
            live.pop("v4")
    assert list(live) == [d for d in variants if d in index]
    restored = NearDuplicateIndex.from_bytes(index.to_bytes())
    for sig in live.values():
        assert restored.query(sig) == index.query(sig)
    assert index.query(minhash_signature(WIRE))[-1] == "wire"


def test_signature_out_of_32_bit_range_is_refused() -> None:
    sig = minhash_signature(WIRE)
    sig[0] = np.uint64(1) << np.uint64(40)
    with pytest.raises(ValueError, match="32 bits"):
        NearDuplicateIndex().insert("x", sig)


def test_state_of_older_formats_is_refused_with_a_clear_error() -> None:
    """Formats 1 and 2 hold CRC-32 shingle signatures: not comparable, so refused (ingest replays)."""
    import zlib

    index = NearDuplicateIndex()
    index.insert("a", minhash_signature(WIRE))
    blob = index.to_bytes()
    assert blob.startswith(b"PXND3") and len(NearDuplicateIndex.from_bytes(blob)) == 1
    for old in (b"PXND1" + zlib.compress(b"x"), b"PXND2" + blob[5:]):
        with pytest.raises(StoreError, match="older version"):
            NearDuplicateIndex.from_bytes(old)
    with pytest.raises(StoreError):
        NearDuplicateIndex.from_bytes(blob[:-3])


def test_redundant_copies_are_not_indexed_but_still_grouped() -> None:
    """With ``redundant``, a near-identical reprint is reported as a copy without filling the buckets."""
    plain = NearDuplicateIndex(threshold=0.8)
    lean = NearDuplicateIndex(threshold=0.8, redundant=0.95)
    words = WIRE.split()
    words[10], words[60], words[110] = "alpha", "beta", "gamma"
    edited = " ".join(words)  # a light edit: estimated Jaccard below 0.95, above 0.8
    assert 0.8 <= jaccard(minhash_signature(WIRE), minhash_signature(edited)) < 0.95
    docs = [
        ("orig", WIRE),
        ("reprint", WIRE),
        ("again", "DATELINE " + WIRE),
        ("edit", edited),
        ("other", OTHER),
    ]
    got = []
    for doc_id, text in docs:
        sig = minhash_signature(text)
        got.append(lean.insert(doc_id, sig))
        assert got[-1] == plain.insert(doc_id, sig)
    assert got == [None, "orig", "orig", "orig", None]
    assert "reprint" not in lean and "again" not in lean and "edit" in lean and len(plain) == 5
    assert lean.query(minhash_signature(WIRE)) == ["orig", "edit"]
    restored = NearDuplicateIndex.from_bytes(lean.to_bytes())
    assert restored.redundant == 0.95 and restored.insert("later", minhash_signature(WIRE)) == "orig"
    with pytest.raises(ValueError, match="redundant"):
        NearDuplicateIndex(threshold=0.8, redundant=0.5)


def _write(saved: dict[str, bytes], blobs: dict[str, bytes | None]) -> None:
    """What the store does with a checkpoint: write the blobs, delete the keys given ``None``."""
    for key, value in blobs.items():
        if value is None:
            saved.pop(key, None)
        else:
            saved[key] = value


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=11), st.sampled_from(["insert", "remove", "checkpoint"])
        ),
        max_size=60,
    ),
    st.sampled_from([3, 8, None]),
)
def test_journal_checkpoints_restore_the_same_index_at_any_point(
    ops: list[tuple[int, str]], capacity: int | None
) -> None:
    """Checkpoints save what changed (a journal chunk) and drop chunks whose entries are all gone;
    an index restored from the saved blobs at any checkpoint continues exactly as the original."""
    words = WIRE.split()
    texts = [" ".join(words[i:] + words[:i]) for i in range(0, 24, 4)] + [OTHER, WIRE, "a b c d e f g"]
    sigs = [minhash_signature(t) for t in texts]
    straight = NearDuplicateIndex(threshold=0.5, capacity=capacity, redundant=0.95)
    saved: dict[str, bytes] = {}
    copy: NearDuplicateIndex | None = None
    for step, (pick, kind) in enumerate(ops):
        doc_id, sig = f"d{step}", sigs[pick % len(sigs)]
        if kind == "insert":
            expected = straight.insert(doc_id, sig)
            assert copy is None or copy.insert(doc_id, sig) == expected
        elif kind == "remove" and len(straight):
            victim = list(straight._slots)[pick % len(straight)]
            straight.remove(victim)
            if copy is not None:
                copy.remove(victim)
        elif kind == "checkpoint":
            _write(saved, straight.checkpoint("dedup"))
            if copy is not None:
                copy.checkpoint("dedup")
            copy = NearDuplicateIndex.from_saved(saved, "dedup")
            assert set(saved) == straight.saved_keys("dedup")  # dead chunks are deleted
    if copy is not None:
        assert list(copy._slots) == list(straight._slots)
        assert copy._canonical == straight._canonical
        for sig in sigs:
            assert copy.query(sig) == straight.query(sig)
    # the oldest chunk kept still holds an indexed entry (older ones were dropped)
    _write(saved, straight.checkpoint("dedup"))
    if straight._chunks and len(straight):
        oldest = int(straight._seq_of[next(iter(straight._slots.values()))])
        assert straight._chunks[0][2] > oldest


def test_journal_refuses_a_missing_chunk_and_accepts_a_full_snapshot() -> None:
    index = NearDuplicateIndex()
    index.insert("a", minhash_signature(WIRE))
    saved: dict[str, bytes] = {}
    _write(saved, index.checkpoint("dedup"))
    index.insert("b", minhash_signature(OTHER))
    _write(saved, index.checkpoint("dedup"))
    assert sorted(saved) == ["dedup", "dedup.000000000", "dedup.000000001"]
    assert len(saved["dedup.000000001"]) < 2 * 256 + 200  # one entry: the checkpoint costs what changed
    assert list(NearDuplicateIndex.from_saved(saved, "dedup")._slots) == ["a", "b"]
    with pytest.raises(StoreError, match="missing"):
        NearDuplicateIndex.from_saved({k: v for k, v in saved.items() if k != "dedup.000000000"}, "dedup")
    # a snapshot of the previous format is read; its first checkpoint saves every entry
    snapshot = NearDuplicateIndex.from_saved({"dedup": index.to_bytes()}, "dedup")
    blobs = snapshot.checkpoint("dedup")
    assert sorted(blobs) == ["dedup", "dedup.000000000"]
    assert list(NearDuplicateIndex.from_saved(blobs, "dedup")._slots) == ["a", "b"]  # type: ignore[arg-type]


def test_buffer_flush_keeps_the_band_arrays_a_stable_sort_of_the_live_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The buffer is merged into the sorted arrays (not the whole index re-sorted): the arrays
    must still be exactly a stable sort of every live entry, evicted articles dropped."""
    import parallax.dedup as dedup

    monkeypatch.setattr(dedup, "_BUFFER_KEYS", 64)
    rng = np.random.default_rng(7)
    words = WIRE.split()
    index = NearDuplicateIndex(threshold=0.8, capacity=40)
    entries: list[tuple[int, int]] = []  # every (key, value) ever buffered, in buffer order
    for i in range(120):
        text = " ".join(words[j] for j in rng.integers(0, len(words), 60))
        sig = minhash_signature(text)
        keys = index._band_keys(index._check(sig)[None, :])[0]
        before = index._seq
        index.insert(f"d{i}", sig)
        if index._seq > before:  # indexed (not a redundant copy)
            slot = index._slots[f"d{i}"]
            entries += [(int(k), (before << 32) | slot) for k in keys.tolist()]
    index._flush()
    live = [(k, v) for k, v in entries if index._seq_of[v & 0xFFFFFFFF] == v >> 32]
    expected = sorted(live, key=lambda kv: kv[0])  # stable: equal keys keep insertion order
    assert index._keys.tolist() == [k for k, _ in expected]
    assert index._vals.tolist() == [v for _, v in expected]
    assert len({v for _, v in live}) == len(index._slots) <= 40
