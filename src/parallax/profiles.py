"""Outlet profiles: what each outlet does across a whole corpus, measured from the story reports.

A profile answers the questions media researchers ask about an outlet rather than a story: which
stories it skips that everyone else covers (*blindspots*), how much of what it reports nobody else
does, what it leaves out that all the others report, how loaded its wording is, which attribution
verbs it uses, how faithfully it renders shared quotations, whose voices it carries, how it labels
people, and in how many disagreements it takes part. Every figure keeps evidence: the story and the
span it came from.

Computed incrementally, in two parts:

1. **Per story and outlet** (:func:`stats_from_report`): when a story report is computed, the
   store saves one small :class:`OutletStoryStats` row per outlet of the story (counts plus a
   bounded list of evidence), keyed by the story version. A profile never re-reads reports.
2. **Per outlet** (:func:`build_profiles`): the rows of current story versions are summed per
   outlet; coverage and blindspots come straight from the ``articles`` table (no report needed),
   so they hold for every story of the corpus, analysed or not.

Definitions (all over stories that at least two outlets covered, copies excluded):

* ``unique_facts_rate``: facts only this outlet carries / facts this outlet carries.
* ``omission_rate``: facts that *every other* outlet of the story carries but this one does not /
  facts that every other outlet carries.
* ``loaded_per_1000_words``: loaded-wording spans per 1,000 words of the outlet's articles.
* ``quote_fidelity``: renderings by this outlet of quotations that at least two outlets carry.
* A **blindspot** is a story that at least two other outlets covered, that most outlets publishing
  in its time window covered, while this outlet was publishing in that window and did not cover it.
  An outlet whose articles carry no dates is never known to publish in a dated story's window, so
  it gets no blindspot there (a gap in its dates is not a gap in its coverage); an undated story
  has no window, and every outlet counts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parallax.report import StoryReport
    from parallax.store import Store

log = logging.getLogger(__name__)

#: Evidence items kept per kind for one story and outlet (the profile lists the first ones).
EVIDENCE_PER_STORY = 8
#: Evidence items per kind in one outlet's profile.
EVIDENCE_PER_PROFILE = 50
#: Days before the first and after the last article of a story that count as its time window.
BLINDSPOT_PAD_DAYS = 2

FIDELITIES = ("verbatim", "spelling", "bracketed", "trimmed", "altered")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a profile figure came from: a story and, when there is one, a span of an article."""

    kind: str  # unique_fact | omission | loaded | verb | quote | label | conflict | voice
    story: str
    text: str
    article: str | None = None
    ref: str | None = None  # fact, quote or conflict id inside the story report
    start: int | None = None
    end: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "story": self.story, "text": self.text}
        for key in ("article", "ref", "start", "end"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            kind=str(data["kind"]),
            story=str(data["story"]),
            text=str(data.get("text", "")),
            article=data.get("article"),
            ref=data.get("ref"),
            start=data.get("start"),
            end=data.get("end"),
        )


@dataclass(slots=True)
class OutletStoryStats:
    """What one outlet did in one story: counts that add up across stories, plus evidence."""

    story: str
    outlet: str
    articles: int = 0
    words: int = 0
    multi_outlet: bool = False  # the story has at least two outlets (rates count only those)
    facts: int = 0
    unique_facts: int = 0
    all_others_facts: int = 0  # facts every other outlet carries
    omitted: int = 0  # ... of which this outlet carries none
    loaded_spans: int = 0
    verbs: dict[str, list[Any]] = field(default_factory=dict)  # lemma -> [group, count]
    fidelity: dict[str, int] = field(default_factory=dict)
    voices: dict[str, list[int]] = field(default_factory=dict)  # speaker -> [direct, indirect]
    labels: dict[str, dict[str, int]] = field(default_factory=dict)  # entity -> label -> count
    conflicts: int = 0
    evidence: list[Evidence] = field(default_factory=list)

    def row(self) -> dict[str, int]:
        """The numeric columns of the store's ``outlet_stats`` row (rates count multi-outlet stories only)."""
        multi = int(self.multi_outlet)
        return {
            "articles": self.articles,
            "words": self.words,
            "multi_outlet": multi,
            "facts": self.facts * multi,
            "unique_facts": self.unique_facts * multi,
            "all_others_facts": self.all_others_facts * multi,
            "omitted": self.omitted * multi,
            "loaded_spans": self.loaded_spans,
            "conflicts": self.conflicts,
            **{f"fid_{k}": self.fidelity.get(k, 0) for k in FIDELITIES},
        }

    def terms(self) -> list[tuple[str, str, str, int, int]]:
        """``(kind, key, sub, a, b)`` rows of the store's ``outlet_terms``: verbs, voices and labels."""
        out: list[tuple[str, str, str, int, int]] = []
        out += [("verb", verb, str(group), int(count), 0) for verb, (group, count) in self.verbs.items()]
        out += [("voice", speaker, "", d, i) for speaker, (d, i) in self.voices.items()]
        out += [
            ("label", entity, label, count, 0)
            for entity, per_label in self.labels.items()
            for label, count in per_label.items()
        ]
        return out


#: The summed columns of ``outlet_stats`` (see :meth:`OutletStoryStats.row`).
STAT_COLUMNS = tuple(OutletStoryStats(story="", outlet="").row())


# --- 1. per story: stats from one report ---------------------------------------------------------


def _add_evidence(bucket: dict[str, int], stats: OutletStoryStats, item: Evidence) -> None:
    if bucket.get(item.kind, 0) < EVIDENCE_PER_STORY:
        bucket[item.kind] = bucket.get(item.kind, 0) + 1
        stats.evidence.append(item)


def stats_from_report(report: StoryReport) -> list[OutletStoryStats]:
    """One :class:`OutletStoryStats` per outlet of ``report`` (outlets in order of first article).

    1. group the report's articles by outlet;
    2. facts: which outlets carry each fact; unique facts and what all the others carry;
    3. framing: loaded spans, words, attribution verbs, labels;
    4. quotes shared by two or more outlets: each rendering's fidelity; speakers as voices;
    5. conflicts the outlet takes a side in.
    """
    story = report.story.id
    # 1. outlets
    outlet_of = {a.id: a.outlet for a in report.articles}
    by_outlet: dict[str, OutletStoryStats] = {}
    for art in report.articles:
        by_outlet.setdefault(art.outlet, OutletStoryStats(story=story, outlet=art.outlet)).articles += 1
    multi = len(by_outlet) >= 2
    budgets: dict[str, dict[str, int]] = {o: {} for o in by_outlet}
    for stats in by_outlet.values():
        stats.multi_outlet = multi

    def note(owner: str, kind: str, span: Any, *, text: str | None = None, ref: str | None = None) -> None:
        """Keep ``span`` (anything with article, start, end and text) as evidence of ``owner``."""
        item = Evidence(
            kind=kind,
            story=story,
            text=span.text if text is None else text,
            article=span.article,
            ref=ref,
            start=span.start,
            end=span.end,
        )
        _add_evidence(budgets[owner], by_outlet[owner], item)

    # 2. facts
    for fact in report.facts:
        carriers = {outlet_of[a] for a in fact.articles if a in outlet_of}
        for outlet, stats in by_outlet.items():
            others = set(by_outlet) - {outlet}
            if outlet in carriers:
                stats.facts += 1
                if carriers == {outlet} and multi:
                    stats.unique_facts += 1
                    mention = next((m for m in fact.mentions if outlet_of.get(m.article) == outlet), None)
                    if mention is not None:
                        note(outlet, "unique_fact", mention, ref=fact.id)
            if others and others <= carriers:
                stats.all_others_facts += 1
                if outlet not in carriers:
                    stats.omitted += 1
                    mention = fact.mentions[0] if fact.mentions else None
                    _add_evidence(
                        budgets[outlet],
                        stats,
                        Evidence(
                            kind="omission",
                            story=story,
                            text=mention.text if mention else fact.id,
                            article=mention.article if mention else None,
                            ref=fact.id,
                            start=mention.start if mention else None,
                            end=mention.end if mention else None,
                        ),
                    )

    # 3. framing
    for density in report.framing.density:
        owner = outlet_of.get(density.article)
        if owner is not None:
            by_outlet[owner].words += density.words
            by_outlet[owner].loaded_spans += density.spans
    for span in report.framing.loaded:
        owner = outlet_of.get(span.article)
        if owner is not None:
            note(owner, "loaded", span)
    for verb in report.framing.attribution_verbs:
        owner = outlet_of.get(verb.article)
        if owner is None:
            continue
        entry = by_outlet[owner].verbs.setdefault(verb.verb, [verb.group, 0])
        entry[1] += verb.count
        if verb.group == "loaded" and verb.mentions:
            note(owner, "verb", verb.mentions[0])
    for label in report.framing.labels:
        owner = outlet_of.get(label.article)
        if owner is None:
            continue
        per_entity = by_outlet[owner].labels.setdefault(label.entity, {})
        per_entity[label.label] = per_entity.get(label.label, 0) + 1
        note(owner, "label", label, text=f"{label.label} ({label.entity})")

    # 4. quotes and voices
    for quote in report.quotes:
        outlets = {outlet_of.get(r.article) for r in quote.renderings} - {None}
        for rendering in quote.renderings:
            owner = outlet_of.get(rendering.article)
            if owner is None:
                continue
            if len(outlets) >= 2:
                fid = by_outlet[owner].fidelity
                fid[rendering.fidelity] = fid.get(rendering.fidelity, 0) + 1
                if rendering.fidelity == "altered":
                    note(owner, "quote", rendering, ref=quote.id)
    for outlet, speaker, direct, indirect in _voices(report, outlet_of):
        entry = by_outlet[outlet].voices.setdefault(speaker, [0, 0])
        entry[0] += direct
        entry[1] += indirect

    # 5. conflicts
    for conflict in report.conflicts:
        sides = {outlet_of.get(a) for value in conflict.values for a in value.articles} - {None}
        for side in sides:
            assert side is not None
            by_outlet[side].conflicts += 1
            value = next(v for v in conflict.values if any(outlet_of.get(a) == side for a in v.articles))
            _add_evidence(
                budgets[side],
                by_outlet[side],
                Evidence(
                    kind="conflict",
                    story=story,
                    text=f"{conflict.about}: {value.value}",
                    ref=conflict.id,
                    article=value.evidence[0].article if value.evidence else None,
                    start=value.evidence[0].start if value.evidence else None,
                    end=value.evidence[0].end if value.evidence else None,
                ),
            )
    return list(by_outlet.values())


def _voices(report: StoryReport, outlet_of: Mapping[str, str]) -> Iterable[tuple[str, str, int, int]]:
    """(outlet, speaker, direct, indirect) per attribution in the report.

    Uses the report's attribution list when it has one (direct and reported speech); otherwise
    the direct quotations' renderings.
    """
    attributions = getattr(report, "attributions", None)
    if attributions:
        for att in attributions:
            speaker = getattr(att, "speaker", None)
            outlet = outlet_of.get(att.article)
            if speaker and outlet is not None:
                direct = getattr(att, "kind", "direct") != "indirect"
                yield outlet, speaker, int(direct), int(not direct)
        return
    for quote in report.quotes:
        for rendering in quote.renderings:
            speaker = rendering.speaker or quote.speaker
            outlet = outlet_of.get(rendering.article)
            if speaker and outlet is not None:
                yield outlet, speaker, 1, 0


# --- 2. per outlet: profiles over the store ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Blindspot:
    story: str
    title: str
    covered_by: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"story": self.story, "title": self.title, "covered_by": list(self.covered_by)}


@dataclass(frozen=True, slots=True)
class Coverage:
    """Who covered one story, and when (from the ``articles`` table, copies excluded)."""

    story: str
    title: str
    outlets: tuple[str, ...]
    articles: Mapping[str, int]
    first: dt.date | None
    last: dt.date | None


@dataclass
class OutletProfile:
    """One outlet (or one user-defined group of outlets) across the corpus."""

    name: str
    articles: int = 0
    stories: int = 0
    stories_analysed: int = 0
    blindspots: list[Blindspot] = field(default_factory=list)
    unique_facts_rate: float | None = None
    omission_rate: float | None = None
    loaded_per_1000_words: float | None = None
    attribution_verbs: dict[str, Any] = field(default_factory=lambda: {"neutral": 0, "loaded": 0, "top": []})
    quote_fidelity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIDELITIES, 0))
    voices: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    conflicts: int = 0
    groups: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # for a group profile: its outlets
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    # raw sums, kept so that group profiles and rates can be recomputed
    facts: int = 0
    unique_facts: int = 0
    all_others_facts: int = 0
    omitted: int = 0
    words: int = 0
    loaded_spans: int = 0

    def to_json(self, *, evidence: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "articles": self.articles,
            "stories": self.stories,
            "stories_analysed": self.stories_analysed,
            "blindspots": [b.to_json() for b in self.blindspots],
            "unique_facts_rate": self.unique_facts_rate,
            "omission_rate": self.omission_rate,
            "loaded_per_1000_words": self.loaded_per_1000_words,
            "attribution_verbs": self.attribution_verbs,
            "quote_fidelity": self.quote_fidelity,
            "voices": self.voices,
            "labels": self.labels,
            "conflicts": self.conflicts,
            "groups": self.groups,
            "counts": {
                "facts": self.facts,
                "unique_facts": self.unique_facts,
                "all_others_facts": self.all_others_facts,
                "omitted": self.omitted,
                "words": self.words,
                "loaded_spans": self.loaded_spans,
            },
        }
        if self.members:
            out["members"] = self.members
        if evidence:
            out["evidence"] = {k: [e.to_json() for e in v] for k, v in self.evidence.items()}
        return out

    def table_row(self) -> dict[str, Any]:
        """The flat row of ``parallax outlets --format csv|table`` and the ``outlets`` export table."""
        return {
            "name": self.name,
            "articles": self.articles,
            "stories": self.stories,
            "stories_analysed": self.stories_analysed,
            "blindspots": len(self.blindspots),
            "unique_facts_rate": self.unique_facts_rate,
            "omission_rate": self.omission_rate,
            "loaded_per_1000_words": self.loaded_per_1000_words,
            "verbs_neutral": self.attribution_verbs["neutral"],
            "verbs_loaded": self.attribution_verbs["loaded"],
            **{f"quotes_{k}": self.quote_fidelity.get(k, 0) for k in FIDELITIES},
            "voices": len(self.voices),
            "conflicts": self.conflicts,
            "groups": ";".join(self.groups),
        }


def _date(value: object) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _in_range(cov: Coverage, since: dt.date | None, until: dt.date | None) -> bool:
    """Whether a story's publication span overlaps ``[since, until]`` (undated stories only when open)."""
    if since is None and until is None:
        return True
    if cov.first is None or cov.last is None:
        return False
    return (since is None or cov.last >= since) and (until is None or cov.first <= until)


def find_blindspots(
    coverage: Sequence[Coverage],
    activity: Mapping[str, set[dt.date] | None],
    *,
    pad_days: int = BLINDSPOT_PAD_DAYS,
) -> dict[str, list[Blindspot]]:
    """Blindspots per outlet (see the module docstring).

    ``activity`` maps each outlet to the days it published on, ``None`` for an outlet whose
    articles carry no dates (never known to publish in a dated window).
    1. for each story covered by at least two outlets, find the outlets publishing in its window;
    2. the story must be covered by most of them;
    3. each publishing outlet that did not cover it, with two or more others that did, has a blindspot.
    """
    out: dict[str, list[Blindspot]] = defaultdict(list)
    pad = dt.timedelta(days=pad_days)
    everyone = set(activity)
    on_day: dict[dt.date, set[str]] = defaultdict(set)  # day -> outlets publishing that day
    for outlet, days in activity.items():
        for day in days or ():
            on_day[day].add(outlet)
    for cov in coverage:
        covered = set(cov.outlets)
        if len(covered) < 2:
            continue
        # 1. who was publishing in the story's window
        if cov.first is None or cov.last is None:
            active = set(everyone)
        else:
            active = set()
            day = cov.first - pad
            while day <= cov.last + pad:
                active |= on_day.get(day, set())
                day += dt.timedelta(days=1)
        active |= covered
        # 2. most of them covered it
        if len(covered) * 2 <= len(active):
            continue
        # 3. the others missed it
        for outlet in sorted(active - covered):
            out[outlet].append(Blindspot(story=cov.story, title=cov.title, covered_by=tuple(sorted(covered))))
    return out


def _group_members(groups: Mapping[str, Sequence[str]], outlets: Iterable[str]) -> dict[str, list[str]]:
    """Group name -> the outlets present in the store that the user listed in it (case-insensitive)."""
    by_key = {o.casefold(): o for o in outlets}
    members: dict[str, list[str]] = {}
    for group, names in groups.items():
        found = [by_key[n.casefold()] for n in names if n.casefold() in by_key]
        members[group] = sorted(set(found))
    return members


@dataclass
class _Totals:
    """Summed ``outlet_stats`` columns and ``outlet_terms`` of one outlet (or group)."""

    stories: int = 0
    sums: Counter[str] = field(default_factory=Counter)
    verbs: dict[str, list[Any]] = field(default_factory=dict)  # verb -> [group, count]
    voices: dict[str, list[int]] = field(default_factory=dict)  # speaker -> [direct, indirect]
    labels: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, other: _Totals) -> None:
        self.stories += other.stories
        self.sums.update(other.sums)
        for verb, (group, count) in other.verbs.items():
            self.verbs.setdefault(verb, [group, 0])[1] += count
        for speaker, (d, i) in other.voices.items():
            entry = self.voices.setdefault(speaker, [0, 0])
            entry[0] += d
            entry[1] += i
        self.labels.update(other.labels)


def _totals(
    store: Store, *, since: dt.date | None, until: dt.date | None, outlets: Sequence[str] | None
) -> dict[str, _Totals]:
    """Per outlet, the sums of its profile rows over current story versions in the date range."""
    out: dict[str, _Totals] = defaultdict(_Totals)
    for outlet, stories, *sums in store.outlet_stat_sums(since=since, until=until, outlets=outlets):
        t = out[str(outlet)]
        t.stories = int(str(stories))
        t.sums = Counter({c: int(str(v or 0)) for c, v in zip(STAT_COLUMNS, sums, strict=True)})
    for outlet, kind, key, sub, a, b in store.outlet_term_sums(since=since, until=until, outlets=outlets):
        t = out[str(outlet)]
        if kind == "verb":
            t.verbs[str(key)] = [str(sub), int(str(a))]
        elif kind == "voice":
            t.voices[str(key)] = [int(str(a)), int(str(b))]
        elif kind == "label":
            t.labels[(str(key), str(sub))] = int(str(a))
    return out


def _finish(profile: OutletProfile, totals: _Totals) -> None:
    """Derive ``profile``'s figures from the summed rows of one outlet (or group)."""
    sums = totals.sums
    profile.stories_analysed = totals.stories
    profile.facts, profile.unique_facts = sums["facts"], sums["unique_facts"]
    profile.all_others_facts, profile.omitted = sums["all_others_facts"], sums["omitted"]
    profile.words, profile.loaded_spans = sums["words"], sums["loaded_spans"]
    profile.conflicts = sums["conflicts"]
    profile.quote_fidelity = {k: sums[f"fid_{k}"] for k in FIDELITIES}
    profile.unique_facts_rate = round(profile.unique_facts / profile.facts, 4) if profile.facts else None
    profile.omission_rate = (
        round(profile.omitted / profile.all_others_facts, 4) if profile.all_others_facts else None
    )
    profile.loaded_per_1000_words = (
        round(1000 * profile.loaded_spans / profile.words, 2) if profile.words else None
    )
    verbs = totals.verbs
    top = sorted(verbs.items(), key=lambda kv: (-kv[1][1], kv[0]))[:10]
    profile.attribution_verbs = {
        "neutral": sum(c for g, c in verbs.values() if g == "neutral"),
        "loaded": sum(c for g, c in verbs.values() if g == "loaded"),
        "top": [{"verb": v, "group": g, "count": c} for v, (g, c) in top],
    }
    profile.voices = [
        {"speaker": s, "direct": d, "indirect": i}
        for s, (d, i) in sorted(totals.voices.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))[:25]
    ]
    profile.labels = [
        {"entity": e, "label": label, "count": c}
        for (e, label), c in sorted(totals.labels.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    ]


def build_profiles(
    store: Store,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    outlet: str | None = None,
    pad_days: int = BLINDSPOT_PAD_DAYS,
) -> list[OutletProfile]:
    """Profiles of every outlet in ``store`` (or only ``outlet``, with evidence), then one per group.

    ``since``/``until`` keep stories whose publication span overlaps the range. ``groups`` are the
    user's own outlet groups (settings ``outlet_groups``); none are built in.
    1. coverage and publishing days from the articles; blindspots from them;
    2. the summed profile rows per outlet (one SQL pass, no report is read);
    3. one profile per outlet, then per group over the union of its members.
    """
    # 1. coverage and blindspots
    coverage = [c for c in store.story_coverage() if _in_range(c, since, until)]
    activity = store.outlet_activity()
    wanted = None if outlet is None else outlet.casefold()
    names = sorted(activity)
    if wanted is not None:
        names = [n for n in names if n.casefold() == wanted]
    blindspots = find_blindspots(coverage, activity, pad_days=pad_days)
    group_members = _group_members(groups or {}, activity)
    groups_of: dict[str, list[str]] = defaultdict(list)
    for group, members in group_members.items():
        for member in members:
            groups_of[member].append(group)
    # 2. summed rows
    totals = _totals(store, since=since, until=until, outlets=None if wanted is None else names)
    # 3. profiles
    articles_of: Counter[str] = Counter()
    stories_of: Counter[str] = Counter()
    for cov in coverage:
        articles_of.update(cov.articles)
        stories_of.update(cov.articles.keys())
    profiles: list[OutletProfile] = []
    for name in names:
        profile = OutletProfile(name=name, groups=sorted(groups_of.get(name, [])))
        profile.articles, profile.stories = articles_of[name], stories_of[name]
        profile.blindspots = blindspots.get(name, [])
        _finish(profile, totals.get(name, _Totals()))
        if wanted is not None:
            evidence: dict[str, list[Evidence]] = defaultdict(list)
            for item in store.outlet_evidence(name, since=since, until=until, limit=EVIDENCE_PER_PROFILE):
                evidence[item.kind].append(item)
            if profile.blindspots:
                evidence["blindspot"] = [
                    Evidence(kind="blindspot", story=b.story, text=b.title)
                    for b in profile.blindspots[:EVIDENCE_PER_PROFILE]
                ]
            profile.evidence = dict(evidence)
        profiles.append(profile)
    if wanted is not None:
        return profiles
    for group, members in sorted(group_members.items()):
        profile = OutletProfile(name=group, members=members)
        member_set = set(members)
        for cov in coverage:
            present = member_set & set(cov.outlets)
            if present:
                profile.articles += sum(cov.articles[m] for m in present)
                profile.stories += 1
        missed: dict[str, Blindspot] = {}
        for member in members:
            for spot in blindspots.get(member, []):
                missed.setdefault(spot.story, spot)
        covered_stories = {c.story for c in coverage if member_set & set(c.outlets)}
        profile.blindspots = [s for s in missed.values() if s.story not in covered_stories]
        summed = _Totals()
        for member in members:
            summed.add(totals.get(member, _Totals()))
        _finish(profile, summed)
        profiles.append(profile)
    return profiles


def coverage_from_rows(rows: Iterable[Sequence[object]]) -> list[Coverage]:
    """Build :class:`Coverage` records from ``(story, title, outlet, n, first, last)`` rows."""
    stories: dict[str, dict[str, Any]] = {}
    for story, title, outlet, n, first, last in rows:
        entry = stories.setdefault(
            str(story), {"title": str(title), "articles": {}, "first": None, "last": None}
        )
        entry["articles"][str(outlet)] = int(str(n))
        for key, value, pick in (("first", _date(first), min), ("last", _date(last), max)):
            if value is not None:
                entry[key] = value if entry[key] is None else pick(entry[key], value)
    return [
        Coverage(
            story=sid,
            title=e["title"],
            outlets=tuple(sorted(e["articles"])),
            articles=e["articles"],
            first=e["first"],
            last=e["last"],
        )
        for sid, e in stories.items()
    ]


def activity_from_rows(rows: Iterable[Sequence[object]]) -> dict[str, set[dt.date] | None]:
    """Outlet -> days it published on, from ``(outlet, day-or-None)`` rows; ``None`` when never dated."""
    days: dict[str, set[dt.date]] = defaultdict(set)
    for outlet, day in rows:
        parsed = _date(day)
        days[str(outlet)]
        if parsed is not None:
            days[str(outlet)].add(parsed)
    return {o: (d or None) for o, d in days.items()}


def analyse_missing(store: Store, *, limit: int | None = None, progress: Any = None) -> int:
    """Compute (or read from the cache) the reports of stories that have no profile rows yet.

    Returns how many stories were analysed. ``limit`` bounds the work of one call; ``progress``
    is called with ``(done, total)`` after each story.
    """
    missing = store.stories_without_stats()
    if limit is not None:
        missing = missing[:limit]
    for done, story_id in enumerate(missing, 1):
        cached = store.cached_report(story_id)
        if cached is None:
            store.get_report(story_id)  # computing a report saves its profile rows
        else:  # a report cached before the store had profile rows
            store.save_outlet_stats(cached, story_version=store.get_story(story_id).version)
        if progress is not None:
            progress(done, len(missing))
    return len(missing)


def parse_day(value: str | None, *, option: str) -> dt.date | None:
    """An ISO date from a ``--since``/``--until`` option; :class:`ConfigError` when malformed."""
    from parallax.errors import ConfigError

    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{option} {value!r}: expected a date like 2019-04-01") from exc
