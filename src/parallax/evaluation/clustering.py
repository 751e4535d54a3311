"""``parallax eval clustering``: story clustering scored against gold stories, with a batch peer.

Each input is a JSONL file with one article per line (``id``, ``text``, ``gold_story`` and
optionally ``title``, ``published``, ``outlet``). Parallax clusters the articles incrementally
(:func:`parallax.cluster.cluster_documents`); the peer is the usual batch approach, TF-IDF
(sublinear, English stop words) over title and text with agglomerative clustering (cosine
distance, average linkage, distance threshold 0.8), run on the same articles in the same run.

Metrics: BCubed precision, recall and F1 (per-article, averaged), the adjusted Rand index and
adjusted mutual information (scikit-learn). With several files the articles are also pooled
(ids prefixed by their file so that they stay unique) and clustered together.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from parallax.errors import EvaluationError
from parallax.features import ClusterDoc

Clusterer = Callable[[Sequence[ClusterDoc]], dict[str, str]]


@dataclass(frozen=True, slots=True)
class LabelledDoc:
    """An article with its gold story."""

    doc: ClusterDoc
    gold: str


def load_jsonl(path: Path, *, prefix: str = "") -> list[LabelledDoc]:
    """Articles of a labelled JSONL file; ``prefix`` is put before every id and gold label."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvaluationError(f"{path}: cannot read: {exc}") from exc
    out = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc_id, text, gold = str(row["id"]), str(row["text"]), str(row["gold_story"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvaluationError(
                f"{path}:{number}: not a labelled article ({exc}); each line needs id, text and gold_story"
            ) from exc
        if doc_id in seen:
            raise EvaluationError(f"{path}:{number}: duplicate id {doc_id!r}; ids must be unique per file")
        seen.add(doc_id)
        out.append(
            LabelledDoc(
                ClusterDoc(
                    id=prefix + doc_id,
                    text=text,
                    title=row.get("title") or None,
                    published=row.get("published") or None,
                    outlet=row.get("outlet") or None,
                ),
                prefix + gold,
            )
        )
    if not out:
        raise EvaluationError(f"{path}: no articles")
    return out


def bcubed(pred: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 of a predicted partition against a gold one.

    For each article: precision is the share of its predicted cluster that shares its gold
    story, recall the share of its gold story inside its predicted cluster; both averaged.
    """
    if len(pred) != len(gold):
        raise ValueError("pred and gold differ in length")
    if not pred:
        return 0.0, 0.0, 0.0
    pair = Counter(zip(pred, gold, strict=True))
    size_p = Counter(pred)
    size_g = Counter(gold)
    p = sum(n * n / size_p[c] for (c, _), n in pair.items()) / len(pred)
    r = sum(n * n / size_g[g] for (_, g), n in pair.items()) / len(pred)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(pred: Mapping[str, str], gold: Mapping[str, str]) -> dict[str, float]:
    """BCubed P/R/F1, ARI and AMI of ``pred`` (id -> cluster) against ``gold`` (id -> story)."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    missing = set(gold) - set(pred)
    if missing:
        raise EvaluationError(f"{len(missing)} articles were not clustered, e.g. {sorted(missing)[0]!r}")
    ids = sorted(gold)
    p_labels = [pred[i] for i in ids]
    g_labels = [gold[i] for i in ids]
    p, r, f = bcubed(p_labels, g_labels)
    return {
        "bcubed_precision": round(p, 4),
        "bcubed_recall": round(r, 4),
        "bcubed_f1": round(f, 4),
        "ari": round(float(adjusted_rand_score(g_labels, p_labels)), 4),
        "ami": round(float(adjusted_mutual_info_score(g_labels, p_labels)), 4),
        "clusters": len(set(p_labels)),
        "stories": len(set(g_labels)),
        "articles": len(ids),
    }


def tfidf_agglomerative(docs: Sequence[ClusterDoc], *, threshold: float = 0.8) -> dict[str, str]:
    """The peer: TF-IDF (sublinear, English stop words) + agglomerative, cosine, average linkage."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(docs) < 2:
        return {d.id: "0" for d in docs}
    texts = [f"{d.title or ''}\n{d.text}" for d in docs]
    matrix = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts)
    # Rows are L2-normalised, so cosine distance is 1 - dot; precomputing it avoids a dense copy
    # of the term matrix and gives the same clustering as metric="cosine".
    distances = np.clip(1.0 - (matrix @ matrix.T).toarray(), 0.0, None)
    np.fill_diagonal(distances, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=threshold
    )
    labels = model.fit_predict(distances)
    return {d.id: str(label) for d, label in zip(docs, labels, strict=True)}


def parallax_clusterer(docs: Sequence[ClusterDoc], **kwargs: Any) -> dict[str, str]:
    """Parallax's incremental clustering (default tunables unless given)."""
    from parallax.cluster import cluster_documents

    return cluster_documents(docs, **kwargs)


PEERS: dict[str, Clusterer] = {"tfidf_agglomerative": tfidf_agglomerative}


def evaluate(
    labelled: Sequence[LabelledDoc],
    *,
    clusterer: Clusterer = parallax_clusterer,
    peers: Mapping[str, Clusterer] | None = None,
) -> dict[str, Any]:
    """Scores of ``clusterer`` and of each peer on ``labelled``, with timings."""
    docs = [item.doc for item in labelled]
    gold = {item.doc.id: item.gold for item in labelled}
    started = time.perf_counter()
    result: dict[str, Any] = score(clusterer(docs), gold)
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["peers"] = {}
    for name, peer in (PEERS if peers is None else peers).items():
        started = time.perf_counter()
        figures = score(peer(docs), gold)
        figures["seconds"] = round(time.perf_counter() - started, 3)
        result["peers"][name] = figures
    return result


def run(paths: Sequence[Path], *, peers: Mapping[str, Clusterer] | None = None) -> dict[str, Any]:
    """Evaluate each file; with several files also the pooled set (the headline figures).

    The returned object carries the pooled (or single-file) figures at top level and the
    per-file ones under ``files``.
    """
    if not paths:
        raise EvaluationError("no evaluation file given; pass one or more labelled JSONL files")
    per_file = {str(p): load_jsonl(p, prefix=f"{p.stem}/" if len(paths) > 1 else "") for p in paths}
    if len(paths) == 1:
        return evaluate(next(iter(per_file.values())), peers=peers)
    pooled = [item for items in per_file.values() for item in items]
    result = evaluate(pooled, peers=peers)
    result["files"] = {name: evaluate(items, peers=peers) for name, items in per_file.items()}
    return result


_COLUMNS = ("bcubed_precision", "bcubed_recall", "bcubed_f1", "ari", "ami", "clusters", "seconds")


def _table(result: Mapping[str, Any]) -> str:
    lines = [f"{'set':<34} {'system':<22} " + " ".join(f"{c.replace('bcubed_', 'b3_'):>8}" for c in _COLUMNS)]

    def rows(name: str, figures: Mapping[str, Any]) -> None:
        systems = [("parallax", figures), *figures.get("peers", {}).items()]
        for system, values in systems:
            cells = " ".join(f"{values[c]:>8}" for c in _COLUMNS)
            lines.append(f"{name:<34} {system:<22} {cells}")

    rows("pooled" if "files" in result else "all", result)
    for name, figures in result.get("files", {}).items():
        rows(Path(name).name[:34], figures)
    return "\n".join(lines)


@click.command("clustering")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="Output format.",
)
def command(files: tuple[Path, ...], fmt: str) -> None:
    """Cluster the articles of FILES (labelled JSONL) and score them against their gold_story.

    Prints BCubed precision/recall/F1, ARI and AMI for Parallax and for the batch peer
    (TF-IDF + agglomerative clustering); with several files, pooled and per file.
    """
    result = run(list(files))
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(_table(result))
