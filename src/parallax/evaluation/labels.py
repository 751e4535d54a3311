"""``parallax eval labels FILE.jsonl``: framing labels against NewsWCL50 person mentions.

FILE holds NewsWCL50 articles, one JSON object per line: ``id, outlet, text, gold_story`` and
``gold_mentions[]{chain, type, start, end, text}``, every annotated mention of each concept with
character offsets into ``text``. The articles of one ``gold_story`` (one event told by five
outlets) are analysed together as one story, as Parallax would, and their labels scored:

* **precision**: a label is *scored* when it overlaps an annotated mention of a person
  whose annotation can tell whom it describes; it is *right* when it is attached to that person.
  A label is on a mention when the mention holds the label's head word ("Mr. Trump's chief
  economic adviser" is not on the mention "Mr. Trump"). The person a label is attached to (a
  :class:`~parallax.entities.PeopleIndex` entity) maps to the ``ACTOR`` chain its name mentions
  overlap most. A label on a mention of an ``ACTOR`` chain (one person) is scored, and right when
  the chain is its person's; a label on a mention of a mixed chain (``ACTOR-I``/``GROUP`` lump
  several people) is scored only when the mention names the label's person ("Florida Sen. Marco
  Rubio": right). Other labels are not scored: NewsWCL50 annotates only the event's main
  concepts, and a mixed chain cannot say which of its people a phrase describes. Labels of
  groups (kind ``group``: "Senate Democrats") describe no one person and are only counted.
* **recall**: the *descriptive* mentions of ``ACTOR`` chains (one person each) are those that say
  more than a bare name, an honorific or a pronoun ("President Trump", "the North Korean
  dictator", "the US leader"): they keep a word once honorifics, pronouns, determiners and name
  words are removed, a name word being a capitalised word that never occurs in lower case in the
  file. Mentions of several people (a plural or numeral head: "the two leaders") are left out.
  A descriptive mention is found when a label attached to its person overlaps it.

The definition of both sets is independent of Parallax's output. Figures are reported per event
and pooled with the shipped settings, and leave-one-event-out: for each event, the one tunable
of the label stage fitted here, ``carrier_dominance`` (how much more often one person must carry
a role noun than another before "the president" is given to them), is chosen on the other
events (best recall with precision at least :data:`PRECISION_TARGET`) and the event is scored
with it. ``SURNAME_DOMINANCE`` in :mod:`parallax.entities` is argued, not fitted.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from parallax.errors import EvaluationError

if TYPE_CHECKING:
    from spacy.language import Language

    from parallax.entities import PeopleIndex
    from parallax.records import AnalyzedArticle, Label

log = logging.getLogger(__name__)

PERSON_TYPES = frozenset({"ACTOR", "ACTOR-I", "GROUP"})
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "sir", "madam"})
_FUNCTION = frozenset(
    [
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "they",
        "them",
        "their",
        "theirs",
        "i",
        "me",
        "my",
        "we",
        "us",
        "our",
        "you",
        "your",
        "himself",
        "herself",
        "themselves",
        "who",
        "whom",
        "whose",
        "the",
        "a",
        "an",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "of",
        "and",
        "or",
        "in",
        "for",
        "to",
        "by",
        "with",
        "on",
        "at",
        "as",
        "from",
    ]
)
_WORD = re.compile(r"[A-Za-z][A-Za-z.\-’']*")


@dataclass(frozen=True, slots=True)
class GoldMention:
    chain: str
    type: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class WclArticle:
    """One NewsWCL50 article with its annotated mentions."""

    id: str
    outlet: str
    story: str
    text: str
    mentions: tuple[GoldMention, ...]


@dataclass
class Tally:
    """Counts and the cases behind them, for one event or pooled."""

    scored: int = 0
    right: int = 0
    unscored: int = 0
    groups: int = 0
    descriptive: int = 0
    found: int = 0
    wrong: list[dict[str, str]] = field(default_factory=list)
    missed: list[dict[str, str]] = field(default_factory=list)
    not_scored: list[dict[str, str]] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.scored += other.scored
        self.right += other.right
        self.unscored += other.unscored
        self.groups += other.groups
        self.descriptive += other.descriptive
        self.found += other.found
        self.wrong += other.wrong
        self.missed += other.missed
        self.not_scored += other.not_scored

    def figures(self) -> dict[str, Any]:
        return {
            "precision": round(self.right / self.scored, 4) if self.scored else 0.0,
            "recall": round(self.found / self.descriptive, 4) if self.descriptive else 0.0,
            "labels_scored": self.scored,
            "labels_right": self.right,
            "labels_unscored": self.unscored,
            "group_labels": self.groups,
            "descriptive_mentions": self.descriptive,
            "descriptive_found": self.found,
        }


def load_newswcl(path: str | Path) -> list[WclArticle]:
    """Read a NewsWCL50 JSONL file; a malformed line is an :class:`EvaluationError` naming it."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvaluationError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            text = str(obj["text"])
            mentions = tuple(
                GoldMention(str(m["chain"]), str(m["type"]), int(m["start"]), int(m["end"]), str(m["text"]))
                for m in obj.get("gold_mentions", [])
            )
            art = WclArticle(
                id=str(obj["id"]),
                outlet=str(obj.get("outlet") or ""),
                story=str(obj["gold_story"]),
                text=text,
                mentions=mentions,
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise EvaluationError(f"{path}: line {n}: not a NewsWCL50 record: {exc}") from exc
        for m in mentions:
            if not (0 <= m.start < m.end <= len(text)):
                raise EvaluationError(f"{path}: line {n}: mention {m.text!r} lies outside the text")
        out.append(art)
    if not out:
        raise EvaluationError(f"{path}: no records")
    return out


def _strip(word: str) -> str:
    return re.sub(r"[’']s$", "", word).strip(".-’'")


def lowercase_words(articles: Sequence[WclArticle]) -> set[str]:
    """Words that occur in lower case somewhere in the file: not name words."""
    out: set[str] = set()
    for art in articles:
        out |= {_strip(w) for w in art.text.split() if w[:1].islower()}
        out |= {
            _strip(w.strip('"“”()[],;:')) for w in art.text.split() if w.strip('"“”()[],;:')[:1].islower()
        }
    return out


def is_descriptive(text: str, lower: set[str]) -> bool:
    """Whether a mention says more than a bare name, an honorific or a pronoun."""
    for raw in _WORD.findall(text):
        word = _strip(raw)
        low = word.lower()
        if not word or low in _HONORIFICS or low in _FUNCTION:
            continue
        if word[0].islower() or low in lower:
            return True
    return False


def _overlaps(a: int, b: int, c: int, d: int) -> bool:
    return a < d and c < b


def _chain_of_people(
    analyzed: Sequence[AnalyzedArticle], gold: dict[str, WclArticle], people: PeopleIndex
) -> dict[str, str | None]:
    """Each person entity of the event -> the ``ACTOR`` chain its name mentions overlap most."""
    votes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for art in analyzed:
        doc = art.doc
        for m in people.mentions(art.id):
            a, b = doc[m.start].idx, doc[m.end - 1].idx + len(doc[m.end - 1].text)
            for g in gold[art.id].mentions:
                if g.type in PERSON_TYPES and _overlaps(a, b, g.start, g.end):
                    votes[m.person][g.chain if g.type == "ACTOR" else ""] += 1
    out: dict[str, str | None] = {}
    for person, box in votes.items():
        chain, _ = box.most_common(1)[0]
        out[person] = chain or None
    return out


def _names_person(text: str, person: str) -> bool:
    from parallax.entities import fold

    words = set(fold(text).replace(".", " ").split())
    return fold(person).split()[-1] in words


def score_event(
    analyzed: Sequence[AnalyzedArticle],
    gold: dict[str, WclArticle],
    labels: Sequence[Label],
    people: PeopleIndex,
    lower: set[str],
) -> Tally:
    """Precision and recall counts of one event's labels (definitions in the module docstring)."""
    tally = Tally()
    chain_of = _chain_of_people(analyzed, gold, people)
    docs = {art.id: art.doc for art in analyzed}
    # precision (of labels of persons; group labels describe no one person)
    for lab in labels:
        if lab.kind == "group":
            tally.groups += 1
            continue
        # a label is on a mention when the mention holds the label's head word: "Mr. Trump's
        # chief economic adviser" and "a spokesman for Mr. Moon" are not on "Mr. Trump"/"Mr. Moon"
        span = docs[lab.article].char_span(lab.start, lab.end, alignment_mode="expand")
        root = span.root if span is not None else None
        head = (root.idx, root.idx + len(root.text)) if root is not None else (lab.start, lab.end)
        hits = [
            g
            for g in gold[lab.article].mentions
            if g.type in PERSON_TYPES and _overlaps(*head, g.start, g.end)
        ]
        chain = chain_of.get(lab.entity)
        actor = [g for g in hits if g.type == "ACTOR"]
        named = [g for g in hits if g.type != "ACTOR" and _names_person(g.text, lab.entity)]
        if not actor and not named:
            # no mention, or only mentions of mixed chains that do not name the person: the
            # annotation cannot tell whom the label describes
            tally.unscored += 1
            tally.not_scored.append(
                {"article": lab.article, "label": lab.label, "kind": lab.kind, "attached_to": lab.entity}
            )
            continue
        tally.scored += 1
        right = bool(named) or any(chain is not None and g.chain == chain for g in actor)
        if right:
            tally.right += 1
        else:
            tally.wrong.append(
                {
                    "article": lab.article,
                    "label": lab.label,
                    "kind": lab.kind,
                    "attached_to": lab.entity,
                    "annotated": "; ".join(f"{g.text} [{g.chain}]" for g in hits),
                }
            )
    # recall
    for art_id, art in gold.items():
        doc = docs[art_id]
        for g in art.mentions:
            if g.type != "ACTOR" or not is_descriptive(g.text, lower):
                continue
            span = doc.char_span(g.start, g.end, alignment_mode="expand")
            if span is not None and (span.root.tag_ in {"NNS", "NNPS"} or span.root.like_num):
                continue  # several people
            tally.descriptive += 1
            if any(
                lab.article == art_id
                and _overlaps(lab.start, lab.end, g.start, g.end)
                and chain_of.get(lab.entity) == g.chain
                for lab in labels
            ):
                tally.found += 1
            else:
                tally.missed.append({"article": art_id, "mention": g.text, "chain": g.chain})
    return tally


#: The values of ``carrier_dominance`` (:data:`parallax.framing.CARRIER_DOMINANCE`) tried by the
#: leave-one-event-out selection.
DOMINANCE_GRID = (1.0, 1.5, 2.0, 3.0, 5.0)
#: The precision a value must keep on the training events to be chosen.
PRECISION_TARGET = 0.95


def _pooled(tallies: Sequence[Tally]) -> Tally:
    out = Tally()
    for t in tallies:
        out.add(t)
    return out


def _choose(tallies: dict[float, Tally]) -> float:
    """The grid value with the best recall among those keeping :data:`PRECISION_TARGET` (the
    most conservative one on ties); the most conservative value when none keeps it."""
    ok = [v for v, t in tallies.items() if t.figures()["precision"] >= PRECISION_TARGET]
    if not ok:
        return max(tallies)
    return max(ok, key=lambda v: (tallies[v].figures()["recall"], v))


def evaluate(path: str | Path, *, nlp: Language | None = None, model: str | None = None) -> dict[str, Any]:
    """Score the labels of every event in ``path``: pooled and per event with the shipped
    settings, and leave-one-event-out (``carrier_dominance`` chosen on the other events)."""
    from parallax.entities import PeopleIndex
    from parallax.framing import CARRIER_DOMINANCE, find_labels
    from parallax.nlp import analyze
    from parallax.records import Article

    articles = load_newswcl(path)
    lower = lowercase_words(articles)
    by_story: defaultdict[str, list[WclArticle]] = defaultdict(list)
    for art in articles:
        by_story[art.story].append(art)
    grid = sorted({*DOMINANCE_GRID, CARRIER_DOMINANCE})
    runs: dict[str, dict[float, Tally]] = {}
    for story, arts in sorted(by_story.items()):
        records = [Article(id=a.id, source_path=str(path), text=a.text, outlet=a.outlet) for a in arts]
        analyzed = analyze(records, model=model, nlp=nlp)
        people = PeopleIndex.build(analyzed)
        gold = {a.id: a for a in arts}
        runs[story] = {
            value: score_event(
                analyzed, gold, find_labels(analyzed, people=people, carrier_dominance=value), people, lower
            )
            for value in grid
        }
    # shipped settings
    pooled = Tally()
    events: dict[str, dict[str, Any]] = {}
    for story, by_value in runs.items():
        events[story] = by_value[CARRIER_DOMINANCE].figures()
        pooled.add(by_value[CARRIER_DOMINANCE])
    # leave one event out
    held = Tally()
    chosen: dict[str, float] = {}
    for story in runs:
        train: dict[float, Tally] = {}
        for value in grid:
            train[value] = Tally()
            for other, by_value in runs.items():
                if other != story:
                    train[value].add(by_value[value])
        chosen[story] = _choose(train)
        held.add(runs[story][chosen[story]])
    return {
        "data": str(path),
        "events": len(events),
        "articles": len(articles),
        "carrier_dominance": CARRIER_DOMINANCE,
        **pooled.figures(),
        "per_event": events,
        "grid": {
            str(value): {
                k: v
                for k, v in _pooled([runs[s][value] for s in runs]).figures().items()
                if k in {"precision", "recall"}
            }
            for value in grid
        },
        "leave_one_event_out": {
            "chosen_carrier_dominance": chosen,
            **{k: v for k, v in held.figures().items() if k in {"precision", "recall"}},
            "precision_min_event": min(
                (runs[s][chosen[s]].figures()["precision"] for s in runs if runs[s][chosen[s]].scored),
                default=0.0,
            ),
        },
        "wrong": pooled.wrong,
        "missed": pooled.missed,
        "not_scored": pooled.not_scored,
    }


def flat_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The figures the floors in ``baselines/labels.json`` apply to."""
    return {
        "precision": float(result["precision"]),
        "recall": float(result["recall"]),
        "loeo_precision": float(result["leave_one_event_out"]["precision"]),
        "loeo_recall": float(result["leave_one_event_out"]["recall"]),
    }


def _table(result: dict[str, Any]) -> str:
    lines = [f"{'event':<10} {'precision':>9} {'recall':>7} {'scored':>7} {'descr.':>7}"]
    for story, e in result["per_event"].items():
        lines.append(
            f"{story:<10} {e['precision']:>9.3f} {e['recall']:>7.3f} {e['labels_scored']:>7} "
            f"{e['descriptive_mentions']:>7}"
        )
    lines.append(
        f"{'pooled':<10} {result['precision']:>9.3f} {result['recall']:>7.3f} {result['labels_scored']:>7} "
        f"{result['descriptive_mentions']:>7}"
    )
    loeo = result["leave_one_event_out"]
    lines.append(
        f"{'LOEO':<10} {loeo['precision']:>9.3f} {loeo['recall']:>7.3f}  chosen {loeo['chosen_carrier_dominance']}"
    )
    lines.append("wrong labels:")
    lines += [
        f"  {w['article']}: {w['label']!r} -> {w['attached_to']} (on {w['annotated']})"
        for w in result["wrong"]
    ]
    lines.append("missed descriptive mentions:")
    lines += [f"  {m['article']}: {m['mention']!r} [{m['chain']}]" for m in result["missed"]]
    return "\n".join(lines)


@click.command("labels")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--spacy-model", default=None, help="spaCy pipeline name or path (default: en_core_web_sm).")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
def command(path: Path, spacy_model: str | None, fmt: str) -> None:
    """Score framing labels against NewsWCL50 person mentions in PATH (JSONL with gold_mentions)."""
    result = evaluate(path, model=spacy_model)
    click.echo(json.dumps(result, indent=2) if fmt == "json" else _table(result))


__all__: list[str] = ["GoldMention", "WclArticle", "command", "evaluate", "flat_metrics", "load_newswcl"]
