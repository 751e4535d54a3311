"""The "at a glance" block of a story: one row per outlet, readable in thirty seconds.

Each row says what an outlet carries (a coverage bar of consensus / partial / unique facts), the
facts it leaves out that the other outlets report, the checkable values it disagrees on, and the
label it gives the story's main person that no other outlet uses. Everything is computed from
the :class:`~parallax.report.StoryReport` alone, so the self-contained HTML report and the server
page show the same block.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from parallax.render.display import shorten
from parallax.report import ConflictModel, FactModel, LabelModel, LoadedSpanModel, StoryReport

# Words that carry no framing in a label ("the former vice president" vs "Barack Obama's number 2").
_LABEL_STOP = frozenset({"a", "an", "the", "of", "and", "to", "in", "for", "on", "at", "'s", "’s"})
#: Words that may stand before a surname in a headline without being a first name.
_TITLES = frozenset(
    {
        "President",
        "Senator",
        "Sen",
        "Rep",
        "Gov",
        "Governor",
        "Secretary",
        "Judge",
        "Mayor",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
    }
    | {"Minister", "Chancellor", "Speaker", "Leader", "General", "Justice", "Pope", "King", "Queen", "Prince"}
)
#: Label kinds that describe (an apposition or a title before the name) rank over bare roles.
_KIND_RANK = {"apposition": 0, "premodifier": 1, "role": 2}


@dataclass(frozen=True, slots=True)
class GlanceFact:
    """A fact as a glance row cites it: its text, where to read it, how many outlets report it."""

    id: str
    text: str
    anchor: str
    outlets: int


@dataclass(frozen=True, slots=True)
class GlanceConflict:
    """One disputed value as one outlet states it, against what the others state."""

    id: str
    about: str
    value: str
    others: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GlanceRow:
    article: str
    consensus: int
    partial: int
    unique: int
    omissions: tuple[GlanceFact, ...]
    omitted: int
    conflicts: tuple[GlanceConflict, ...]
    label: str | None

    @property
    def total(self) -> int:
        return self.consensus + self.partial + self.unique

    def share(self, status: str) -> float:
        """Percentage of this outlet's facts with ``status`` (for the coverage bar)."""
        count = {"consensus": self.consensus, "partial": self.partial, "unique": self.unique}[status]
        return round(100.0 * count / self.total, 1) if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Glance:
    rows: tuple[GlanceRow, ...]
    person: str | None


def _words(label: str) -> set[str]:
    tokens = re.findall(r"[\w#’']+", label.lower())
    return {t for t in tokens if t not in _LABEL_STOP}


def main_person(report: StoryReport) -> str | None:
    """The person the story is about, judged from the framing labels.

    1. Candidates: entities labelled in the most articles.
    2. Among them, the one whose name appears earliest in the story title (a headline or lead
       names its subject first); names absent from the title come after.
    3. Then the one with the most labels, then by name (deterministic).
    """
    articles: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for label in report.framing.labels:
        articles[label.entity].add(label.article)
        counts[label.entity] += 1
    if not articles:
        return None
    # 1. labelled in several articles (or in the most, when no one is)
    widest = max(len(a) for a in articles.values())
    candidates = [e for e, a in articles.items() if len(a) >= min(widest, 2)]
    title = report.story.title

    # 2-3. title position, articles, label count, name
    return min(
        candidates,
        key=lambda e: (title_position(e, title), -len(articles[e]), -counts[e], e),
    )


def title_position(entity: str, title: str) -> int:
    """Where ``title`` names ``entity`` (full name, or surname not after another first name); else past the end.

    "Hillary Clinton Releases ..." names Hillary Clinton, not Bill Clinton; "Sen. Warren says"
    names Elizabeth Warren.
    """
    full = title.find(entity)
    if full >= 0:
        return full
    parts = entity.split()
    surname = parts[-1] if parts else ""
    if len(surname) < 3:
        return len(title) + 1
    for m in re.finditer(rf"\b{re.escape(surname)}\b", title):
        before = title[: m.start()].split()
        prev = before[-1] if before else ""
        if not prev[:1].isupper() or prev in parts or prev.endswith(".") or prev in _TITLES:
            return m.start()
    return len(title) + 1


def telling_label(
    labels: list[LabelModel], others: list[LabelModel], *, loaded: Sequence[LoadedSpanModel] = ()
) -> str | None:
    """The label of one outlet that says most about how it sees a person, against the other outlets.

    1. A label holding loaded wording (a span of ``loaded`` in the same article) comes first.
    2. Then the words of the label no other outlet uses for that person (counted up to 3, so a
       long neutral apposition does not beat a short pointed one).
    3. Ties go to descriptive kinds (apposition, title) over bare roles, then to the shorter
       label, then to the first.
    """
    if not labels:
        return None
    used = set().union(*(_words(o.label) for o in others)) if others else set()

    def is_loaded(lab: LabelModel) -> bool:
        return any(s.article == lab.article and s.start < lab.end and lab.start < s.end for s in loaded)

    def key(item: tuple[int, LabelModel]) -> tuple[bool, int, int, int, int]:
        i, lab = item
        fresh = min(len(_words(lab.label) - used), 3)
        return (not is_loaded(lab), -fresh, _KIND_RANK.get(lab.kind, 3), len(lab.label), i)

    return min(enumerate(labels), key=key)[1].label


def _rank_omissions(missed: list[str], facts: dict[str, FactModel], others: int) -> list[FactModel]:
    """Missed facts, those every other outlet reports first, then by outlets and alignment score."""
    found = [facts[f] for f in missed if f in facts and facts[f].mentions]
    return sorted(found, key=lambda f: (len(f.articles) < others, -len(f.articles), -f.score))


def _conflicts_of(article: str, conflicts: list[ConflictModel]) -> list[GlanceConflict]:
    out: list[GlanceConflict] = []
    for c in conflicts:
        mine = [v for v in c.values if article in v.articles]
        if not mine:
            continue
        others = tuple(dict.fromkeys(v.value for v in c.values if article not in v.articles))
        out.append(GlanceConflict(c.id, c.about, " / ".join(v.value for v in mine), others))
    return out


def build_glance(
    report: StoryReport, *, anchors: dict[str, str], omissions_shown: int = 2, text_limit: int = 130
) -> Glance:
    """The rows of the glance block, one per article in report order.

    ``anchors`` maps a fact id to the element id of its first mention (where a link should go).
    At most ``omissions_shown`` omissions are listed per outlet (the rest are counted); fact
    texts are cut to ``text_limit`` characters.
    """
    facts = {f.id: f for f in report.facts}
    person = main_person(report)
    person_labels: dict[str, list[LabelModel]] = defaultdict(list)
    for label in report.framing.labels:
        if label.entity == person:
            person_labels[label.article].append(label)
    omitted = {o.article: list(o.facts) for o in report.omissions}
    rows: list[GlanceRow] = []
    for art in report.articles:
        carried = [f for f in report.facts if art.id in f.articles]
        ranked = _rank_omissions(omitted.get(art.id, []), facts, len(report.articles) - 1)
        shown = tuple(
            GlanceFact(f.id, shorten(f.mentions[0].text, text_limit), anchors.get(f.id, ""), len(f.articles))
            for f in ranked[:omissions_shown]
        )
        others = [lab for a, labs in person_labels.items() if a != art.id for lab in labs]
        rows.append(
            GlanceRow(
                article=art.id,
                consensus=sum(f.status == "consensus" for f in carried),
                partial=sum(f.status == "partial" for f in carried),
                unique=sum(f.status == "unique" for f in carried),
                omissions=shown,
                omitted=len(ranked),
                conflicts=tuple(_conflicts_of(art.id, report.conflicts)),
                label=telling_label(person_labels.get(art.id, []), others, loaded=report.framing.loaded),
            )
        )
    return Glance(tuple(rows), person)
