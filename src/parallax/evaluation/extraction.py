"""``parallax eval extraction DIR``: how well HTML ingestion recovers the article body.

Scores the text Parallax would analyse (ingest's trafilatura extraction, then cleaning) against
the ``articleBody`` of the scrapinghub article-extraction-benchmark (``DIR/html/*.html.gz`` and
``DIR/ground-truth.json``). Like the benchmark's own scorer the comparison is a bag of word
tokens: per page, precision = shared tokens / predicted tokens and recall = shared tokens / true
tokens; precision and recall are averaged over pages and F1 is their harmonic mean. Plain
``trafilatura.extract`` with default options is scored in the same run as the peer.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from parallax.errors import EvaluationError, InputError
from parallax.settings import Settings

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Page:
    """One benchmark page: its id, the gzipped HTML file, the page URL and the true body."""

    id: str
    html_path: Path
    url: str | None
    body: str


@dataclass(frozen=True)
class Scores:
    """Mean per-page precision and recall, and the F1 of those means."""

    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def load_pages(directory: Path, *, limit: int | None = None) -> list[Page]:
    """The benchmark pages under ``directory``, sorted by id; the first ``limit`` when given."""
    truth_path = directory / "ground-truth.json"
    try:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvaluationError(f"{truth_path}: cannot read the ground truth ({exc}); check DIR") from exc
    pages = []
    for key in sorted(truth):
        html_path = directory / "html" / f"{key}.html.gz"
        if not html_path.is_file():
            raise EvaluationError(f"{html_path}: page listed in ground-truth.json is missing")
        entry = truth[key]
        pages.append(
            Page(id=key, html_path=html_path, url=entry.get("url"), body=entry.get("articleBody") or "")
        )
    if not pages:
        raise EvaluationError(f"{truth_path}: no pages")
    return pages[:limit] if limit else pages


def tokens(text: str) -> Counter[str]:
    """The bag of word tokens of ``text`` (case kept, as the benchmark's scorer does)."""
    return Counter(_TOKEN.findall(text))


def page_scores(predicted: str, truth: str) -> tuple[float, float]:
    """Token precision and recall of one page; an empty prediction scores 0 precision."""
    pred, true = tokens(predicted), tokens(truth)
    shared = sum((pred & true).values())
    n_pred, n_true = sum(pred.values()), sum(true.values())
    precision = shared / n_pred if n_pred else (1.0 if not n_true else 0.0)
    recall = shared / n_true if n_true else 1.0
    return precision, recall


def aggregate(pairs: Sequence[tuple[float, float]]) -> Scores:
    """Mean precision and recall over pages, and their harmonic mean."""
    if not pairs:
        return Scores(0.0, 0.0, 0.0)
    p = sum(x for x, _ in pairs) / len(pairs)
    r = sum(y for _, y in pairs) / len(pairs)
    return Scores(p, r, 2 * p * r / (p + r) if p + r else 0.0)


def parallax_text(data: bytes, page: Page, *, settings: Settings) -> str:
    """The cleaned article text Parallax analyses for one page ("" when ingestion refuses it)."""
    from parallax.clean import clean_document
    from parallax.ingest import extract_html

    try:
        doc = extract_html(data, path=page.html_path, url=page.url, settings=settings)
        return clean_document(doc).text
    except InputError as exc:
        log.info("%s", exc)
        return ""


def trafilatura_default_text(data: bytes, page: Page) -> str:
    """The peer: ``trafilatura.extract`` with its default options."""
    import trafilatura

    return trafilatura.extract(data) or ""


def evaluate(
    directory: Path, *, limit: int | None = None, settings: Settings | None = None
) -> dict[str, object]:
    """Score Parallax and the peer on the benchmark under ``directory``; the JSON-ready result."""
    settings = settings or Settings()
    systems: dict[str, Callable[[bytes, Page], str]] = {
        "parallax": lambda data, page: parallax_text(data, page, settings=settings),
        "trafilatura-default": trafilatura_default_text,
    }
    pairs: dict[str, list[tuple[float, float]]] = {name: [] for name in systems}
    pages = load_pages(directory, limit=limit)
    for page in pages:
        data = gzip.decompress(page.html_path.read_bytes())
        for name, system in systems.items():
            pairs[name].append(page_scores(system(data, page), page.body))
    ours = aggregate(pairs["parallax"])
    return {
        **ours.as_dict(),
        "peers": {name: aggregate(p).as_dict() for name, p in pairs.items() if name != "parallax"},
        "documents": len(pages),
    }


@click.command("extraction")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="Score only the first N pages (by id).")
def command(directory: Path, fmt: str, limit: int | None) -> None:
    """Score HTML article extraction on the benchmark in DIRECTORY (html/*.html.gz + ground-truth.json)."""
    result = evaluate(directory, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    peers = result["peers"]
    assert isinstance(peers, dict)
    rows = [("parallax", result), *peers.items()]
    click.echo(f"{'system':<22}{'precision':>10}{'recall':>10}{'f1':>10}")
    for name, row in rows:
        click.echo(f"{name:<22}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}")
    click.echo(f"documents: {result['documents']}")
