"""``parallax eval conflicts``: a blind-style test of conflict detection on BASIL story triplets.

For each story (articles grouped by ``gold_story``):

a. the untouched articles go through stages 3-6 (analyze, align, quotes, conflicts: the same
   calls :meth:`parallax.pipeline.Parallax.compare_articles` makes; the later stages do not
   change conflicts) and every reported conflict is counted. Real disagreements between
   outlets exist, so this is an upper bound on spurious conflicts, reported raw;
b. one checkable value (a year, a number, a count, a percentage, an amount) is changed in one
   outlet's article, chosen (seeded, deterministic) among values that another outlet states in
   a same-event sentence with an agreeing value (any other change is undetectable by
   definition; stories without such a value are counted). The change is found when a conflict
   puts the new value on the changed article's side and the old value on the other outlet's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from parallax.conflicts import ValueLink, find_conflicts, value_links
from parallax.dates import dates_agree
from parallax.embed import Embedder, get_embedder
from parallax.errors import EvaluationError
from parallax.records import AnalyzedArticle, Article, Conflict
from parallax.values import WORD_NUMBERS, Value

log = logging.getLogger(__name__)

DEFAULT_DATA = (
    Path(__file__).resolve().parents[3].parent / "shared" / "data" / "clustering" / "basil-2010-2015.jsonl"
)
_WORDS_BY_NUMBER = {v: k for k, v in WORD_NUMBERS.items() if k not in ("dozen", "hundred")}


@dataclass(frozen=True, slots=True)
class Change:
    """One injected change: ``old`` text became ``new`` in ``article``; ``witness`` states ``old``."""

    article: str
    witness: str
    kind: str
    start: int
    end: int
    old: str
    new: str
    old_value: str
    new_value: str
    others: tuple[tuple[int, int], ...] = ()  # further mentions of ``old`` in the same slot, changed too

    def apply(self, text: str) -> str:
        """``text`` with every mention of the old value replaced by the new one."""
        for start, end in sorted({(self.start, self.end), *self.others}, reverse=True):
            text = text[:start] + self.new + text[end:]
        return text


def load_stories(path: Path) -> list[list[Article]]:
    """BASIL articles grouped by ``gold_story`` (stories in first-seen order)."""
    if not path.is_file():
        raise EvaluationError(f"{path}: data file not found; pass --data with the BASIL clustering JSONL")
    groups: dict[str, list[Article]] = defaultdict(list)
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            art = Article(
                id=str(row["id"]),
                source_path=str(path),
                text=str(row["text"]),
                outlet=str(row.get("outlet") or "unknown"),
                title=row.get("title"),
                published=row.get("published"),
                url=row.get("url"),
            )
            groups[str(row["gold_story"])].append(art)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvaluationError(
                f"{path}:{n}: broken record ({exc}); expected id, text, gold_story"
            ) from exc
    return [g for g in groups.values() if len({a.outlet for a in g}) >= 2]


def _first_number(text: str) -> float | None:
    m = re.search(r"-?\d+(?:\.\d+)?", text.replace(",", ""))
    return float(m.group(0)) if m else None


def _number_text(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else f"{amount:.6g}"


def _propose(value: Value, rng: random.Random) -> tuple[str, str] | None:
    """A changed text for ``value`` that a careful editor would call different, and its value.

    The value is given like ``Value.normalized``: a year for dates, else the new amount in the
    value's own scale and base unit ("1.5 million" -> "7.5 million" gives "7500000").
    """
    text = value.text
    if value.kind == "date":
        m = re.search(r"(?:1[89]|20)\d\d", text)
        if not m:
            return None
        year = int(m.group(0)) + rng.choice([-10, -3, -2, 2, 3, 10])
        return text[: m.start()] + str(year) + text[m.end() :], str(year)
    if value.low is None or value.high is None or value.low <= 0 or math.isinf(value.high):
        return None  # open-ended ("more than 100"): no single change is certainly a conflict
    m = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    if m:
        digits = m.group(0)
        number = float(digits.replace(",", ""))
        factor = rng.choice([2, 3, 5])
        new = number * factor
        new_text = f"{new:,.{len(digits.split('.')[1]) if '.' in digits else 0}f}"
        if "," not in digits:
            new_text = new_text.replace(",", "")
        return text[: m.start()] + new_text + text[m.end() :], _number_text((value.amount or number) * factor)
    for word, number in sorted(WORD_NUMBERS.items(), key=lambda kv: -len(kv[0])):
        m = re.search(rf"\b{word}\b", text, re.IGNORECASE)
        if m and number in _WORDS_BY_NUMBER:
            target = number + rng.choice([2, 3, 4])
            if target not in _WORDS_BY_NUMBER:
                target = number + 2 if number + 2 in _WORDS_BY_NUMBER else number * 2
            if target not in _WORDS_BY_NUMBER:
                return None
            new_word = _WORDS_BY_NUMBER[target]
            if m.group(0)[0].isupper():
                new_word = new_word.capitalize()
            return text[: m.start()] + new_word + text[m.end() :], _number_text(
                (value.amount or number) * target / number
            )
    return None


def choose_change(links: Sequence[ValueLink], rng: random.Random) -> Change | None:
    """A seeded choice among linked, agreeing value pairs whose value can be changed."""
    from parallax.values import values_agree

    slot_values: dict[tuple[str, str, str | None], list[Value]] = defaultdict(list)
    for link in links:
        for art, value in ((link.article_a, link.value_a), (link.article_b, link.value_b)):
            if value not in slot_values[(art, value.kind, value.head)]:
                slot_values[(art, value.kind, value.head)].append(value)

    def ambiguous(art: str, value: Value) -> bool:
        return any(
            values_agree(value, other) is False for other in slot_values[(art, value.kind, value.head)]
        )

    usable = []
    for link in links:
        if ambiguous(link.article_a, link.value_a) or ambiguous(link.article_b, link.value_b):
            continue
        if values_agree(link.value_a, link.value_b) is not True:
            continue
        if link.value_a.kind == "place":
            continue
        usable.append(link)
    rng.shuffle(usable)
    for link in usable:
        flip = rng.random() < 0.5
        art, value, witness = (
            (link.article_b, link.value_b, link.article_a)
            if flip
            else (link.article_a, link.value_a, link.article_b)
        )
        proposal = _propose(value, rng)
        if proposal is None:
            continue
        new_text, new_value = proposal
        others = tuple(
            (v.start, v.end)
            for v in slot_values[(art, value.kind, value.head)]
            if v.text == value.text and v.start != value.start
        )
        return Change(
            article=art,
            witness=witness,
            kind=value.kind,
            start=value.start,
            end=value.end,
            old=value.text,
            new=new_text,
            old_value=value.normalized,
            new_value=new_value,
            others=others,
        )
    return None


def _matches(normalized: str, expected: str, kind: str) -> bool:
    if kind == "date":
        return dates_agree(normalized, expected) is True
    a, b = _first_number(normalized), _first_number(expected)
    if a is None or b is None:
        return False
    return math.isclose(a, b, rel_tol=0.02) or normalized == expected


def change_found(conflicts: Sequence[Conflict], change: Change) -> bool:
    """A conflict with the new value on the changed article's side and the old on the witness's."""
    for c in conflicts:
        new_side = [v for v in c.values if change.article in v.articles]
        old_side = [v for v in c.values if change.witness in v.articles and change.article not in v.articles]
        if not new_side or not old_side:
            continue
        if any(_matches(v.normalized, change.new_value, c.kind) for v in new_side) and any(
            _matches(v.normalized, change.old_value, c.kind) for v in old_side
        ):
            return True
    return False


def _stages(
    articles: Sequence[Article],
    embedder: Embedder,
    threshold: float,
    *,
    done: Sequence[AnalyzedArticle] = (),
) -> tuple[list[Conflict], list[ValueLink], list[AnalyzedArticle]]:
    """Stages 3-6 over ``articles``; ``done`` holds analyses to reuse for unchanged articles."""
    from parallax import align as align_stage
    from parallax import quotes as quotes_stage
    from parallax.nlp import analyze

    reuse = {(a.article.id, a.article.text): a for a in done}
    todo = [a for a in articles if (a.id, a.text) not in reuse]
    fresh = {a.article.id: a for a in analyze(todo)} if todo else {}
    analyzed = [reuse.get((a.id, a.text)) or fresh[a.id] for a in articles]
    alignment = align_stage.align(analyzed, embedder=embedder, threshold=threshold)
    quotes = quotes_stage.find_quotes(analyzed)
    conflicts = find_conflicts(analyzed, alignment.facts, quotes)
    return conflicts, value_links(analyzed, alignment.facts), analyzed


def _tally(rows: Sequence[dict[str, int]]) -> dict[str, float]:
    changes = sum(r["changes"] for r in rows)
    found = sum(r["found"] for r in rows)
    spurious = sum(r["spurious"] for r in rows)
    return {
        "stories": len(rows),
        "changes": changes,
        "found": found,
        "found_rate": round(found / changes, 4) if changes else 0.0,
        "spurious_conflicts": spurious,
        "spurious_per_10_stories": round(10 * spurious / len(rows), 4) if rows else 0.0,
    }


def evaluate(
    data: Path,
    *,
    limit: int | None = None,
    seed: int = 13,
    embedder: str = "hashing",
    threshold: float | None = None,
) -> dict[str, object]:
    """Run the blind-style test over the stories of ``data`` (the first ``limit`` stories).

    Figures are also given per half (stories with even and odd index): the rules were
    developed looking at the even half, the odd half is the held-out check.
    """
    if threshold is None:  # the alignment threshold the pipeline uses
        from parallax.settings import Settings

        threshold = Settings().align_threshold
    stories = load_stories(data)
    if limit is not None:
        stories = stories[:limit]
    emb = get_embedder(embedder)
    t0 = time.perf_counter()
    rows: list[dict[str, int]] = []
    no_candidate = 0
    missed: list[dict[str, str]] = []
    spurious_examples: list[dict[str, object]] = []
    for n, story in enumerate(stories):
        rng = random.Random(f"{seed}-{n}")
        conflicts, links, analyzed = _stages(story, emb, threshold)
        row = {"spurious": len(conflicts), "changes": 0, "found": 0}
        rows.append(row)
        for c in conflicts[:3]:
            spurious_examples.append(
                {"story": n, "kind": c.kind, "about": c.about, "values": [v.value for v in c.values]}
            )
        change = choose_change(links, rng)
        if change is None:
            no_candidate += 1
            continue
        changed = [
            dataclasses.replace(a, text=change.apply(a.text)) if a.id == change.article else a for a in story
        ]
        after, _, _ = _stages(changed, emb, threshold, done=analyzed)
        row["changes"] = 1
        if change_found(after, change):
            row["found"] = 1
        else:
            missed.append({"story": str(n), "kind": change.kind, "old": change.old, "new": change.new})
        log.info(
            "story %d/%d: %d conflicts untouched, change %s", n + 1, len(stories), len(conflicts), change
        )
    total = _tally(rows)
    return {
        "changes": total["changes"],
        "found": total["found"],
        "found_rate": total["found_rate"],
        "untouched_stories": len(stories),
        "spurious_conflicts": total["spurious_conflicts"],
        "spurious_per_10_stories": total["spurious_per_10_stories"],
        "stories_without_checkable_value": no_candidate,
        "halves": {"even": _tally(rows[0::2]), "odd": _tally(rows[1::2])},
        "embedder": embedder,
        "runner": "stages 3-6 (analyze, align, quotes, conflicts)",
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "missed": missed,
        "spurious_examples": spurious_examples,
    }


@click.command("conflicts")
@click.option(
    "--data", type=click.Path(dir_okay=False, path_type=Path), default=None, help="BASIL clustering JSONL."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N stories.")
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--embedder", default="hashing", show_default=True, help="Sentence embedder for alignment.")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
def command(data: Path | None, limit: int | None, seed: int, embedder: str, fmt: str) -> None:
    """Change one value in one outlet per BASIL story and check Parallax reports the conflict."""
    result = evaluate(data or DEFAULT_DATA, limit=limit, seed=seed, embedder=embedder)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    for key in (
        "changes",
        "found",
        "found_rate",
        "untouched_stories",
        "spurious_conflicts",
        "spurious_per_10_stories",
    ):
        click.echo(f"{key:28} {result[key]}")
