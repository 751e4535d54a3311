"""``parallax eval quotes DIR``: direct quotation extraction scored on a PolNeAR split.

Data layout (one PolNeAR split, e.g. ``polnear/dev``)::

    DIR/text/<name>.txt                     the article text
    DIR/attributions/<name>_<annotator>.ann brat standoff: Source, Cue, Content spans + relations

When several annotators labelled a text, the first ``.ann`` file in sorted order is used.

**Gold direct quotation**: a ``Content`` span whose text (its fragments, when the annotation is
discontinuous) contains a double quotation mark (“ ” " « » „), or which sits right between two
such marks (spaces aside). This covers fully quoted content
and reported speech with a quoted phrase inside it; a quotation of ours "finds" such content when
it overlaps it. The gold speaker is the ``Source`` span of the same attribution.

**Metrics**: a predicted quotation matches a gold quotation when their character spans overlap;
matching is one-to-one, greedy by overlap length. Precision, recall and F1 count matches.
``speaker_accuracy`` is, over matched quotations, the fraction whose predicted speaker is right:
the local speaker mention overlaps the gold Source span, or the head (last) word of either the
predicted speaker or the gold Source occurs in the other. ``speaker_accuracy_all`` divides the
same count by all gold quotations. ``precision_any`` (reported, not gated) counts a prediction
as right when it overlaps *some* gold quotation, so that a gold content interrupted by its cue
("“A,” she said. “B.”": one Content, two quotations) does not count against the extractor.

**Peer**: textacy 0.13 ``textacy.extract.triples.direct_quotations`` on the same spaCy ``Doc``.
It raises on documents with an odd number of quote marks; such documents count as no
predictions and are reported as ``errors``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from parallax.errors import EvaluationError

if TYPE_CHECKING:
    from spacy.tokens import Doc

log = logging.getLogger(__name__)

QUOTE_CHARS = frozenset('“”"«»„')
_ANN_SUFFIX = re.compile(r"_[0-9A-Za-z]+\.ann$")
_ANN_ID = re.compile(r"[TERAMN#][0-9]*\t")


@dataclass(frozen=True, slots=True)
class GoldQuote:
    """One gold direct quotation: content fragments and the source fragments (may be empty)."""

    content: tuple[tuple[int, int], ...]
    source: tuple[tuple[int, int], ...]
    source_text: str


@dataclass(frozen=True, slots=True)
class PredictedQuote:
    """A system's quotation: its span, speaker text and the local speaker mention, if any."""

    start: int
    end: int
    speaker: str | None
    speaker_span: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class GoldDocument:
    name: str
    text: str
    quotes: tuple[GoldQuote, ...]


def _fragments(spec: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in spec.split(";"):
        lo, hi = part.split()
        out.append((int(lo), int(hi)))
    return tuple(sorted(out))


def parse_ann(text: str, ann: str, *, path: str = "<ann>") -> tuple[GoldQuote, ...]:
    """Gold direct quotations of one brat file (see the module docstring for the definition)."""
    spans: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {}
    relations: list[dict[str, str]] = []
    for n, line in enumerate(ann.splitlines(), start=1):
        parts = line.split("\t")
        if not parts or not parts[0] or not _ANN_ID.match(line):
            # blank lines, and the rest of a span text that itself contains a line break
            continue
        try:
            if parts[0].startswith("T"):
                label, _, spec = parts[1].partition(" ")
                spans[parts[0]] = (label, _fragments(spec))
            elif parts[0].startswith("E"):
                relations.append(dict(arg.split(":", 1) for arg in parts[1].split()))
        except (IndexError, ValueError) as exc:
            raise EvaluationError(f"{path}:{n}: malformed brat line {line!r}: {exc}") from exc
    source_of: dict[str, str] = {}
    for rel in relations:
        if "Content" in rel and "Source" in rel:
            source_of[rel["Content"]] = rel["Source"]
    out = []
    for tid, (label, frags) in spans.items():
        if label != "Content":
            continue
        inner = any(c in QUOTE_CHARS for lo, hi in frags for c in text[lo:hi])
        before, after = text[: frags[0][0]].rstrip()[-1:], text[frags[-1][1] :].lstrip()[:1]
        if not inner and not (before in QUOTE_CHARS and after in QUOTE_CHARS and before and after):
            continue
        src = spans.get(source_of.get(tid, ""), ("", ()))[1]
        out.append(GoldQuote(content=frags, source=src, source_text=" ".join(text[lo:hi] for lo, hi in src)))
    out.sort(key=lambda q: q.content[0])
    return tuple(out)


def load_split(directory: Path, *, limit: int | None = None) -> list[GoldDocument]:
    """Read a PolNeAR split folder (``text/`` and ``attributions/``)."""
    text_dir, ann_dir = directory / "text", directory / "attributions"
    if not text_dir.is_dir() or not ann_dir.is_dir():
        raise EvaluationError(
            f"{directory}: not a PolNeAR split (expected text/ and attributions/ folders); "
            "pass e.g. ../shared/data/polnear/dev"
        )
    anns: dict[str, Path] = {}
    for ann in sorted(ann_dir.glob("*.ann")):
        anns.setdefault(_ANN_SUFFIX.sub("", ann.name), ann)
    docs = []
    for txt in sorted(text_dir.glob("*.txt")):
        ann_path = anns.get(txt.stem)
        if ann_path is None:
            log.warning("%s: no annotation file, skipped", txt)
            continue
        text = txt.read_text(encoding="utf-8")
        quotes = parse_ann(text, ann_path.read_text(encoding="utf-8"), path=str(ann_path))
        docs.append(GoldDocument(name=txt.stem, text=text, quotes=quotes))
        if limit is not None and len(docs) >= limit:
            break
    if not docs:
        raise EvaluationError(f"{directory}: no annotated texts found")
    return docs


def _overlap(a: tuple[int, int], frags: Iterable[tuple[int, int]]) -> int:
    return sum(max(0, min(a[1], hi) - max(a[0], lo)) for lo, hi in frags)


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W_]+", text)}


def _head(text: str | None) -> str | None:
    words = re.findall(r"[^\W_]+", text or "")
    return words[-1].lower() if words else None


def speaker_correct(pred: PredictedQuote, gold: GoldQuote) -> bool:
    """The predicted speaker matches the gold Source (by offsets or by head word)."""
    if not gold.source:
        return False
    if pred.speaker_span is not None and _overlap(pred.speaker_span, gold.source) > 0:
        return True
    head = _head(pred.speaker)
    gold_head = _head(gold.source_text)
    return (head is not None and head in _words(gold.source_text)) or (
        gold_head is not None and gold_head in _words(pred.speaker or "")
    )


@dataclass
class Tally:
    """Running counts for one system."""

    predicted: int = 0
    gold: int = 0
    matched: int = 0
    speaker_right: int = 0
    errors: int = 0
    overlapping: int = 0

    def add(self, preds: Sequence[PredictedQuote], golds: Sequence[GoldQuote]) -> None:
        """One-to-one matching, greedy by overlap length, then speakers of the matches."""
        self.predicted += len(preds)
        self.gold += len(golds)
        pairs = []
        for i, p in enumerate(preds):
            for j, g in enumerate(golds):
                ov = _overlap((p.start, p.end), g.content)
                if ov > 0:
                    pairs.append((-ov, i, j))
        self.overlapping += len({i for _, i, _ in pairs})
        used_p: set[int] = set()
        used_g: set[int] = set()
        for _, i, j in sorted(pairs):
            if i in used_p or j in used_g:
                continue
            used_p.add(i)
            used_g.add(j)
            self.matched += 1
            self.speaker_right += speaker_correct(preds[i], golds[j])

    def figures(self) -> dict[str, float | int]:
        p = self.matched / self.predicted if self.predicted else 0.0
        r = self.matched / self.gold if self.gold else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f1, 4),
            "speaker_accuracy": round(self.speaker_right / self.matched, 4) if self.matched else 0.0,
            "speaker_accuracy_all": round(self.speaker_right / self.gold, 4) if self.gold else 0.0,
            "precision_any": round(self.overlapping / self.predicted, 4) if self.predicted else 0.0,
            "predicted": self.predicted,
            "matched": self.matched,
        }


def parallax_predict(name: str, doc: Doc) -> list[PredictedQuote]:
    """Parallax's quotations over an already parsed text."""
    from parallax.nlp import sentences_of
    from parallax.quotes import extract_quotes
    from parallax.records import AnalyzedArticle, Article

    art = Article(id=name, source_path=f"{name}.txt", text=doc.text, outlet="eval")
    analyzed = AnalyzedArticle(article=art, doc=doc, sentences=sentences_of(name, doc))
    out = []
    for q in extract_quotes(analyzed):
        span = None
        if q.speaker_start is not None and q.speaker_end is not None:
            span = (q.speaker_start, q.speaker_end)
        out.append(PredictedQuote(start=q.start, end=q.end, speaker=q.speaker, speaker_span=span))
    return out


def textacy_predict(doc: Doc) -> list[PredictedQuote]:
    """textacy's direct quotations (content without its marks); raises as textacy does."""
    from textacy.extract.triples import direct_quotations

    out = []
    for triple in direct_quotations(doc):
        content = triple.content
        start = content.start_char + (1 if content[0].is_quote else 0)
        end = content.end_char - (1 if content[-1].is_quote else 0)
        speaker = triple.speaker
        span = (speaker[0].idx, speaker[-1].idx + len(speaker[-1])) if speaker else None
        text = " ".join(t.text for t in speaker)
        out.append(PredictedQuote(start=start, end=end, speaker=text, speaker_span=span))
    return out


def evaluate(
    directory: Path,
    *,
    limit: int | None = None,
    peers: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score Parallax (and textacy as the peer) on the PolNeAR split in ``directory``."""
    from parallax.nlp import load_pipeline

    docs = load_split(directory, limit=limit)
    nlp = load_pipeline()
    ours, theirs = Tally(), Tally()
    for n, (gold, doc) in enumerate(zip(docs, nlp.pipe(d.text for d in docs), strict=True), start=1):
        ours.add(parallax_predict(gold.name, doc), gold.quotes)
        if peers:
            try:
                preds = textacy_predict(doc)
            except ValueError as exc:
                log.debug("textacy failed on %s: %s", gold.name, exc)
                theirs.errors += 1
                preds = []
            theirs.add(preds, gold.quotes)
        if progress is not None:
            progress(n, len(docs))
    result: dict[str, Any] = dict(ours.figures())
    result.update({"documents": len(docs), "gold_quotes": ours.gold})
    if peers:
        result["peers"] = {"textacy": {**theirs.figures(), "errors": theirs.errors}}
    return result


def _table(result: dict[str, Any]) -> str:
    keys = ("precision", "recall", "f1", "speaker_accuracy", "speaker_accuracy_all")
    rows = [("system", *keys), ("parallax", *(f"{result[k]:.3f}" for k in keys))]
    for name, figs in result.get("peers", {}).items():
        rows.append((name, *(f"{figs[k]:.3f}" for k in keys)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(f"documents: {result['documents']}, gold direct quotes: {result['gold_quotes']}")
    for name, figs in result.get("peers", {}).items():
        lines.append(f"{name} raised on {figs['errors']} documents (counted as no predictions)")
    return "\n".join(lines)


@click.command("quotes")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="Output format.",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Score only the first N texts.")
@click.option("--no-peers", is_flag=True, help="Skip the textacy peer.")
def command(directory: Path, fmt: str, limit: int | None, no_peers: bool) -> None:
    """Score direct quotation extraction on a PolNeAR split folder DIRECTORY (e.g. polnear/dev)."""

    def progress(n: int, total: int) -> None:
        if n % 20 == 0 or n == total:
            click.echo(f"  {n}/{total} texts", err=True)

    result = evaluate(directory, limit=limit, peers=not no_peers, progress=progress)
    click.echo(json.dumps(result, indent=2) if fmt == "json" else _table(result))
