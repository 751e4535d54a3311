"""``parallax eval timex``: temporal expressions against TimeBank/AQUAINT (TimeML TIMEX3).

Each ``.tml`` file gives the document creation time (``functionInDocument="CREATION_TIME"``),
used as the anchor, and gold ``TIMEX3`` spans with values inside ``<TEXT>``. We score:

* detection precision/recall/F1 over all timexes, a predicted span matching a gold span when
  they overlap (each gold and each prediction used at most once);
* value accuracy over matched gold ``DATE`` timexes: exact TIMEX3 value match, and a relaxed
  match where the values agree at the coarser of the two granularities ("1998" vs "1998-08").

The peer, measured in the same run, is ``dateparser.search.search_dates`` with
``RELATIVE_BASE`` set to the creation time (values are the parsed day, truncated to the
granularity of the gold value for the relaxed score).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from parallax.dates import Timex, find_timexes, granularity_of
from parallax.errors import EvaluationError

log = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "timebank"


@dataclass(frozen=True, slots=True)
class GoldTimex:
    start: int
    end: int
    text: str
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class TimeMLDoc:
    """The plain text of a TimeML ``<TEXT>`` element, its gold timexes and its creation date."""

    name: str
    text: str
    dct: dt.date
    timexes: tuple[GoldTimex, ...]


@dataclass(frozen=True, slots=True)
class Prediction:
    start: int
    end: int
    value: str | None


@dataclass
class Score:
    """Running counts for one system."""

    predicted: int = 0
    gold: int = 0
    matched: int = 0
    dates: int = 0
    exact: int = 0
    relaxed: int = 0

    def as_dict(self) -> dict[str, float | int]:
        p = self.matched / self.predicted if self.predicted else 0.0
        r = self.matched / self.gold if self.gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "value_accuracy": round(self.exact / self.dates, 4) if self.dates else 0.0,
            "value_accuracy_relaxed": round(self.relaxed / self.dates, 4) if self.dates else 0.0,
            "matched_dates": self.dates,
        }


def read_timeml(path: Path) -> TimeMLDoc:
    """Parse one ``.tml`` file (raises :class:`EvaluationError` when it is not usable TimeML)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise EvaluationError(f"{path}: cannot parse TimeML: {exc}") from exc
    dct_el = root.find("DCT/TIMEX3")
    text_el = root.find("TEXT")
    if dct_el is None or text_el is None:
        raise EvaluationError(f"{path}: no <DCT><TIMEX3> or no <TEXT> element; is this a TimeML file?")
    try:
        dct = dt.date.fromisoformat(dct_el.get("value", "")[:10])
    except ValueError as exc:
        raise EvaluationError(f"{path}: creation time {dct_el.get('value')!r} is not a date") from exc
    parts: list[str] = []
    gold: list[GoldTimex] = []
    pos = 0

    def walk(el: ET.Element) -> None:
        nonlocal pos
        start = pos
        if el.text:
            parts.append(el.text)
            pos += len(el.text)
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail)
                pos += len(child.tail)
        if el.tag == "TIMEX3" and el.get("value"):
            gold.append(
                GoldTimex(start, pos, "".join(parts)[start:pos], el.get("type", "DATE"), el.get("value", ""))
            )

    walk(text_el)
    return TimeMLDoc(name=path.name, text="".join(parts), dct=dct, timexes=tuple(gold))


def load_corpus(directory: Path, *, limit: int | None = None) -> list[TimeMLDoc]:
    """All ``.tml`` files under ``directory`` in name order (the first ``limit`` when given)."""
    if not directory.exists():
        raise EvaluationError(
            f"{directory}: TimeBank directory not found; pass the folder with the .tml files"
        )
    paths = sorted(directory.rglob("*.tml"))
    if not paths:
        raise EvaluationError(f"{directory}: no .tml files found; pass the TimeBank/AQUAINT folder")
    if limit is not None:
        paths = paths[:limit]
    return [read_timeml(p) for p in paths]


def values_agree_relaxed(gold: str, predicted: str | None) -> bool:
    """Exact match, or agreement at the coarser granularity of the two values."""
    if predicted is None:
        return False
    if gold == predicted:
        return True
    g, p = gold.split("T")[0], predicted.split("T")[0]
    if not re.match(r"\d", g) or not re.match(r"\d", p):
        return False
    n = min(len(g), len(p))
    if granularity_of(g) == "week" or granularity_of(p) == "week":
        return g[:4] == p[:4]
    return n >= 3 and g[:n] == p[:n]


def score_document(doc: TimeMLDoc, predictions: Sequence[Prediction], score: Score) -> None:
    """Add one document's counts: greedy one-to-one overlap matching in text order."""
    score.predicted += len(predictions)
    score.gold += len(doc.timexes)
    used: set[int] = set()
    for g in doc.timexes:
        for i, p in enumerate(predictions):
            if i in used or p.end <= g.start or p.start >= g.end:
                continue
            used.add(i)
            score.matched += 1
            if g.kind == "DATE":
                score.dates += 1
                score.exact += p.value == g.value
                score.relaxed += values_agree_relaxed(g.value, p.value)
            break


def parallax_predict(docs: Sequence[TimeMLDoc], *, use_spacy: bool = True) -> list[list[Prediction]]:
    """Predictions of :func:`parallax.dates.find_timexes` (over spaCy Docs when ``use_spacy``)."""
    if use_spacy:
        from parallax.nlp import load_pipeline

        nlp = load_pipeline()
        sources: Iterable[object] = nlp.pipe(d.text for d in docs)
    else:
        sources = (d.text for d in docs)
    out = []
    for doc, source in zip(docs, sources, strict=True):
        found: list[Timex] = find_timexes(source, anchor=doc.dct)  # type: ignore[arg-type]
        out.append([Prediction(t.start, t.end, t.value) for t in found])
    return out


def dateparser_predict(docs: Sequence[TimeMLDoc]) -> list[list[Prediction]]:
    """The peer: ``dateparser.search.search_dates`` anchored at the creation time."""
    from dateparser.search import search_dates

    out: list[list[Prediction]] = []
    for doc in docs:
        base = dt.datetime.combine(doc.dct, dt.time(12, 0))
        settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"}
        preds: list[Prediction] = []
        found = search_dates(doc.text, languages=["en"], settings=settings) or []  # type: ignore[arg-type]
        cursor = 0
        for phrase, when in found:
            start = doc.text.find(phrase, cursor)
            if start < 0:
                start = doc.text.find(phrase)
            if start < 0:
                continue
            cursor = start + len(phrase)
            preds.append(Prediction(start, start + len(phrase), when.date().isoformat()))
        out.append(preds)
    return out


def evaluate(
    directory: Path, *, limit: int | None = None, peer: bool = True, use_spacy: bool = True
) -> dict[str, object]:
    """Score Parallax (and the dateparser peer) on the TimeML files under ``directory``."""
    docs = load_corpus(directory, limit=limit)
    t0 = time.perf_counter()
    ours = Score()
    for doc, preds in zip(docs, parallax_predict(docs, use_spacy=use_spacy), strict=True):
        score_document(doc, preds, ours)
    elapsed = time.perf_counter() - t0
    result: dict[str, object] = dict(ours.as_dict())
    result.update({"documents": len(docs), "gold": ours.gold, "seconds": round(elapsed, 2), "peers": {}})
    if peer:
        t0 = time.perf_counter()
        theirs = Score()
        for doc, preds in zip(docs, dateparser_predict(docs), strict=True):
            score_document(doc, preds, theirs)
        peer_result: dict[str, object] = dict(theirs.as_dict())
        peer_result["seconds"] = round(time.perf_counter() - t0, 2)
        result["peers"] = {"dateparser": peer_result}
    return result


def _table(result: dict[str, object]) -> str:
    keys = ("precision", "recall", "f1", "value_accuracy", "value_accuracy_relaxed", "seconds")
    rows = [("system", *keys), ("parallax", *(str(result.get(k)) for k in keys))]
    peers = result.get("peers")
    if isinstance(peers, dict):
        for name, figures in peers.items():
            rows.append((name, *(str(figures.get(k)) for k in keys)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(f"documents {result['documents']}, gold timexes {result['gold']}")
    return "\n".join(lines)


@click.command("timex")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Only the first N documents (name order)."
)
@click.option("--no-peer", is_flag=True, help="Skip the dateparser peer (it is slow).")
@click.option("--no-spacy", is_flag=True, help="Rules over plain text, without spaCy entities.")
def command(directory: Path | None, fmt: str, limit: int | None, no_peer: bool, no_spacy: bool) -> None:
    """Score date normalisation on TimeBank/AQUAINT DIRECTORY (default ../shared/data/timebank)."""
    result = evaluate(directory or DEFAULT_DIR, limit=limit, peer=not no_peer, use_spacy=not no_spacy)
    click.echo(json.dumps(result, indent=2) if fmt == "json" else _table(result))
