"""``parallax eval loaded DIR``: loaded-wording spans against BASIL ``lex`` annotations.

DIR is the BASIL release (``articles/<year>/*.json`` and ``annotations/<year>/*_ann.json``).
An annotation ``pN`` points at the N-th sentence (0-based) of the article's flattened
``body-paragraphs``, with ``start``/``end`` character offsets inside that sentence. An article
is rebuilt as its sentences joined by spaces, paragraphs by blank lines, and gold offsets are
moved into that text.

Two scores, both micro-averaged over documents:

* token: every word token is inside or outside a gold span and inside or outside a predicted
  span; precision, recall and F1 over tokens;
* span: a predicted span is correct when it overlaps a gold span (precision), a gold span is found
  when a predicted span overlaps it (recall).

By default only the years the shipped statistics were *not* trained on are scored. The peer is a
lexicon-only baseline measured in the same run: every token whose lemma or lower-cased form is in
the bias lexicon of Recasens et al. (2013) (``../lexicons/bias-lexicon/bias-lexicon.txt``, read at
evaluation time, never shipped) is flagged, and adjacent flagged tokens form a span.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from parallax.errors import EvaluationError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from parallax.loaded import LoadedWordingDetector

log = logging.getLogger(__name__)

Spans = list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class BasilDoc:
    """One BASIL article rebuilt as plain text, with its gold ``lex`` character spans."""

    id: str
    year: int
    text: str
    gold: tuple[tuple[int, int], ...]


def load_basil(directory: str | Path, *, years: Sequence[int] | None = None) -> list[BasilDoc]:
    """Read BASIL articles (of ``years``, all when ``None``) with their ``lex`` spans, sorted by id.

    1. pair every ``articles/<year>/<id>.json`` with ``annotations/<year>/<id>_ann.json``;
    2. rebuild the text from ``body-paragraphs``, remembering where each sentence starts;
    3. move every body ``lex`` annotation to text offsets, checking that the text matches.
    """
    root = Path(directory)
    if not (root / "articles").is_dir() or not (root / "annotations").is_dir():
        raise EvaluationError(f"{root}: not a BASIL directory (expected articles/ and annotations/)")
    docs: list[BasilDoc] = []
    # 1. pair articles and annotations
    for year_dir in sorted(p for p in (root / "articles").iterdir() if p.is_dir()):
        if not year_dir.name.isdigit() or (years is not None and int(year_dir.name) not in years):
            continue
        for art_path in sorted(year_dir.glob("*.json")):
            ann_path = root / "annotations" / year_dir.name / f"{art_path.stem}_ann.json"
            try:
                art = json.loads(art_path.read_text(encoding="utf-8"))
                ann = json.loads(ann_path.read_text(encoding="utf-8"))
                paragraphs = art["body-paragraphs"]
                phrases = ann["phrase-level-annotations"]
            except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
                raise EvaluationError(f"{art_path}: cannot read article or annotations: {exc}") from exc
            # 2. rebuild the text
            parts: list[str] = []
            starts: list[int] = []
            pos = 0
            for p_i, para in enumerate(paragraphs):
                if p_i:
                    parts.append("\n\n")
                    pos += 2
                for s_i, sent in enumerate(para):
                    if s_i:
                        parts.append(" ")
                        pos += 1
                    starts.append(pos)
                    parts.append(sent)
                    pos += len(sent)
            text = "".join(parts)
            # 3. gold spans in text offsets
            gold: list[tuple[int, int]] = []
            for ph in phrases:
                pid = str(ph.get("id", ""))
                if ph.get("bias") != "lex" or not pid[1:].isdigit():
                    continue  # informational bias, or a title annotation
                idx = int(pid[1:])
                if idx >= len(starts):
                    raise EvaluationError(f"{ann_path}: annotation {pid} points past the last sentence")
                start, end = starts[idx] + int(ph["start"]), starts[idx] + int(ph["end"])
                if text[start:end] != ph["txt"]:
                    raise EvaluationError(f"{ann_path}: annotation {pid} text does not match its offsets")
                gold.append((start, end))
            docs.append(
                BasilDoc(id=art_path.stem, year=int(year_dir.name), text=text, gold=tuple(sorted(gold)))
            )
    if not docs:
        raise EvaluationError(f"{root}: no BASIL articles found for years {list(years or [])}")
    return docs


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 (0 when undefined), rounded to 4 places."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _overlaps(a: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < a[1] and a[0] < e for s, e in spans)


def score(pairs: Sequence[tuple[Doc, Spans, Spans]]) -> dict[str, dict[str, float]]:
    """Token-level and span-overlap P/R/F1 over ``(doc, gold, predicted)`` triples."""
    from parallax.loaded import is_word, token_flags

    t_tp = t_fp = t_fn = 0
    s_tp_pred = s_pred = s_tp_gold = s_gold = 0
    for doc, gold, pred in pairs:
        g_flags = token_flags(doc, gold)
        p_flags = token_flags(doc, pred)
        for tok in doc:
            if not is_word(tok):
                continue
            g, p = g_flags[tok.i], p_flags[tok.i]
            t_tp += g and p
            t_fp += p and not g
            t_fn += g and not p
        s_pred += len(pred)
        s_tp_pred += sum(_overlaps(s, gold) for s in pred)
        s_gold += len(gold)
        s_tp_gold += sum(_overlaps(s, pred) for s in gold)
    span_p = s_tp_pred / s_pred if s_pred else 0.0
    span_r = s_tp_gold / s_gold if s_gold else 0.0
    span_f = 2 * span_p * span_r / (span_p + span_r) if span_p + span_r else 0.0
    return {
        "token": prf(t_tp, t_fp, t_fn),
        "span": {"precision": round(span_p, 4), "recall": round(span_r, 4), "f1": round(span_f, 4)},
    }


def read_lexicon(path: Path) -> frozenset[str]:
    """A word list, one entry per line (``#`` comments and blank lines ignored), lower-cased."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise EvaluationError(
            f"{path}: cannot read the bias lexicon for the peer baseline ({exc}); pass --lexicon FILE"
        ) from exc
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def lexicon_spans(doc: Doc, words: frozenset[str]) -> Spans:
    """Spans of adjacent tokens whose lemma or lower-cased form is in ``words``."""
    from parallax.loaded import is_word, merge_flags

    flags = [is_word(t) and (t.lower_ in words or t.lemma_.lower() in words) for t in doc]
    return [(doc[i].idx, doc[j - 1].idx + len(doc[j - 1].text)) for i, j in merge_flags(doc, flags, gap=0)]


def evaluate(
    directory: str | Path,
    *,
    years: Sequence[int] | None = None,
    detector: LoadedWordingDetector | None = None,
    lexicon: Path | None = None,
    nlp: Language | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """Score ``detector`` (the shipped one by default) and the lexicon peer on BASIL ``years``.

    ``years`` defaults to the years the shipped statistics were not trained on; ``limit`` keeps the
    first ``limit`` documents (by id) for quick checks.
    """
    from parallax.loaded import load_default
    from parallax.nlp import load_pipeline

    directory = Path(directory)
    detector = detector or load_default()
    if years is None:
        trained = set(detector.train_years)
        years = [y for y in range(2010, 2016) if y not in trained]
    docs = load_basil(directory, years=years)[:limit]
    lex_path = lexicon or directory.parent / "lexicons" / "bias-lexicon" / "bias-lexicon.txt"
    words = read_lexicon(lex_path)
    pipeline = nlp or load_pipeline()
    ours: list[tuple[Doc, Spans, Spans]] = []
    peer: list[tuple[Doc, Spans, Spans]] = []
    for bdoc, doc in zip(docs, pipeline.pipe(d.text for d in docs), strict=True):
        gold = list(bdoc.gold)
        ours.append((doc, gold, [(s, e) for s, e, _ in detector.doc_spans(doc)]))
        peer.append((doc, gold, lexicon_spans(doc, words)))
    result: dict[str, Any] = dict(score(ours))
    result["documents"] = len(docs)
    result["gold_spans"] = sum(len(d.gold) for d in docs)
    result["years"] = sorted(set(d.year for d in docs))
    result["peers"] = {"lexicon": score(peer)}
    return result


def flat_metrics(result: dict[str, Any]) -> dict[str, float]:
    """``{"token_f1": ..., "span_f1": ..., ...}``: the figures floors are set on."""
    return {
        f"{level}_{m}": float(result[level][m])
        for level in ("token", "span")
        for m in ("precision", "recall", "f1")
    }


def _table(result: dict[str, Any]) -> str:
    rows = [("parallax", result), ("lexicon", result["peers"]["lexicon"])]
    lines = [
        f"BASIL lex, years {result['years']}, {result['documents']} documents, {result['gold_spans']} gold spans"
    ]
    lines.append(
        f"{'system':<10} {'tok P':>7} {'tok R':>7} {'tok F1':>7} {'span P':>7} {'span R':>7} {'span F1':>7}"
    )
    for name, r in rows:
        t, s = r["token"], r["span"]
        lines.append(
            f"{name:<10} {t['precision']:>7.3f} {t['recall']:>7.3f} {t['f1']:>7.3f}"
            f" {s['precision']:>7.3f} {s['recall']:>7.3f} {s['f1']:>7.3f}"
        )
    return "\n".join(lines)


def _parse_years(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(y) for y in value.split(",") if y.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated years such as 2014,2015, got {value!r}") from exc


@click.command("loaded")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--years",
    callback=_parse_years,
    default=None,
    help="Comma-separated years to score (default: the years not used to train the shipped data).",
)
@click.option(
    "--lexicon",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Word list of the peer baseline (default: DIR/../lexicons/bias-lexicon/bias-lexicon.txt).",
)
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
def command(directory: Path, years: list[int] | None, lexicon: Path | None, fmt: str) -> None:
    """Score loaded-wording spans against BASIL lex annotations in DIRECTORY."""
    result = evaluate(directory, years=years, lexicon=lexicon)
    click.echo(json.dumps(result, indent=2) if fmt == "json" else _table(result))


__all__: list[str] = ["BasilDoc", "command", "evaluate", "flat_metrics", "load_basil", "score"]
