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
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from parallax.errors import EvaluationError
from parallax.features import ClusterDoc

if TYPE_CHECKING:
    from parallax.cluster import DayWindow

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


#: The settings cross-validation chooses among (every other tunable keeps its default). The
#: shipped defaults of :class:`~parallax.cluster.StoryClusterer` are the setting this grid selects
#: on all the shared files together; the figures to report are the held-out ones of ``cross_validate``.
#: The day decay and its grace period are not chosen by F1: they are the event-time window learned
#: from the publication dates of the training files' stories (:func:`parallax.cluster.learn_day_window`).
CV_GRID: dict[str, tuple[Any, ...]] = {
    "threshold": (0.2, 0.25),
    "prior_weight": (0.0, 2000.0),
    "linkage": (1.0, 0.75),
}
#: The tunables the learned event-time window sets (``day_decay`` ``None``: no window learned).
WINDOW_KEYS = ("day_decay", "day_grace")


def _grid() -> list[dict[str, Any]]:
    import itertools

    keys = list(CV_GRID)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*CV_GRID.values())]


def story_days(items: Sequence[LabelledDoc]) -> list[list[int]]:
    """The publication days of each gold story's dated articles (what a day window is learned from)."""
    from parallax.features import publication_day

    by_story: dict[str, list[int]] = {}
    for item in items:
        day = publication_day(item.doc.published)
        if day is not None:
            by_story.setdefault(item.gold, []).append(day)
    return list(by_story.values())


def _window_setting(window: DayWindow | None) -> dict[str, Any]:
    if window is None:
        return {"day_decay": None, "day_grace": 0}
    return window.params()


#: How a setting is ranked on the training files: ``mean`` BCubed F1, or ``min`` (the worst
#: file first, then the mean), which prefers settings that hold on every corpus.
SELECTION_RULES = ("mean", "min")


def cross_validate(paths: Sequence[Path], *, select: str = "mean") -> dict[str, Any]:
    """Leave one corpus out: for each file, learn the event-time window from the dates of the
    *other* files' stories and choose the setting of :data:`CV_GRID` with the best BCubed F1
    on them (``select``: see :data:`SELECTION_RULES`), then score that setting (and the peer)
    on the held-out file.

    1. extract the features of every file once; collect its stories' publication days;
    2. per held-out file: learn the day window on the rest (:func:`~parallax.cluster.learn_day_window`),
       cluster the rest with every grid setting under that window, pick the best by ``select``
       (ties: the first in grid order, which lists the simpler option first: no prior,
       centroid-only linkage);
    3. report the held-out figures, the peer's on the same file, and the setting and window
       learned on all files (what the defaults are).
    """
    from parallax.cluster import StoryClusterer, learn_day_window, order_for_clustering, place_undated
    from parallax.features import extract_features

    if len(paths) < 2:
        raise EvaluationError("cross-validation needs at least two labelled files")
    if select not in SELECTION_RULES:
        raise EvaluationError(f"unknown selection rule {select!r}; use one of {', '.join(SELECTION_RULES)}")
    per_file = {p.name: load_jsonl(p) for p in paths}
    grid = _grid()
    # 1. features and story days, once per file
    window_days = StoryClusterer().window_days  # not in the grid: the order depends on it
    feats = {
        name: place_undated(
            [extract_features(d) for d in order_for_clustering([i.doc for i in items])],
            window_days=window_days,
        )
        for name, items in per_file.items()
    }
    gold = {name: {i.doc.id: i.gold for i in items} for name, items in per_file.items()}
    days = {name: story_days(items) for name, items in per_file.items()}
    figures: dict[tuple[str, int, DayWindow | None], dict[str, Any]] = {}

    def run_setting(name: str, i: int, window: DayWindow | None) -> dict[str, Any]:
        key = (name, i, window)
        if key not in figures:
            clusterer = StoryClusterer(**grid[i], **_window_setting(window))
            clusterer.add_many(feats[name])
            figures[key] = score(clusterer.assignments(), gold[name])
        return figures[key]

    def learn(names: Sequence[str]) -> tuple[int, DayWindow | None]:
        window = learn_day_window([d for n in names for d in days[n]])
        f1 = [[run_setting(n, i, window)["bcubed_f1"] for n in names] for i in range(len(grid))]

        def rank(i: int) -> tuple[float, ...]:
            mean = sum(f1[i]) / len(names)
            return (mean, -i) if select == "mean" else (min(f1[i]), mean, -i)

        return max(range(len(grid)), key=rank), window

    def described(i: int, window: DayWindow | None) -> dict[str, Any]:
        return {**grid[i], **_window_setting(window)}

    # 2. held-out figures
    held_out: dict[str, Any] = {}
    for name, items in per_file.items():
        chosen, window = learn([n for n in per_file if n != name])
        peer = score(tfidf_agglomerative([i.doc for i in items]), gold[name])
        held_out[name] = {
            **run_setting(name, chosen, window),
            "setting": described(chosen, window),
            "day_window_gaps": 0 if window is None else window.gaps,
            "peer": peer,
        }
    # 3. the setting for all files together (what the defaults are)
    overall, window = learn(list(per_file))
    mean_f1 = sum(v["bcubed_f1"] for v in held_out.values()) / len(held_out)
    return {
        "held_out": held_out,
        "mean_held_out_bcubed_f1": round(mean_f1, 4),
        "mean_peer_bcubed_f1": round(
            sum(v["peer"]["bcubed_f1"] for v in held_out.values()) / len(held_out), 4
        ),
        "setting_on_all_files": described(overall, window),
        "grid_size": len(grid),
        "select": select,
    }


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
@click.option(
    "--cv",
    is_flag=True,
    help="Leave one file out: choose the settings on the other files, report each held-out file.",
)
@click.option(
    "--select",
    type=click.Choice(SELECTION_RULES),
    default="mean",
    show_default=True,
    help="With --cv: rank settings by the mean F1 of the training files, or by the worst one.",
)
def command(files: tuple[Path, ...], fmt: str, cv: bool, select: str) -> None:
    """Cluster the articles of FILES (labelled JSONL) and score them against their gold_story.

    Prints BCubed precision/recall/F1, ARI and AMI for Parallax and for the batch peer
    (TF-IDF + agglomerative clustering); with several files, pooled and per file. With --cv,
    each file is scored with the settings chosen on the other files (cross-corpus validation).
    """
    if cv:
        result = cross_validate(list(files), select=select)
        if fmt == "json":
            click.echo(json.dumps(result, indent=2))
        else:
            lines = [f"{'held-out file':<34} {'parallax':>9} {'peer':>9}  setting chosen on the other files"]
            for name, v in result["held_out"].items():
                lines.append(
                    f"{name[:34]:<34} {v['bcubed_f1']:>9} {v['peer']['bcubed_f1']:>9}  {v['setting']}"
                )
            lines.append(
                f"{'mean':<34} {result['mean_held_out_bcubed_f1']:>9} {result['mean_peer_bcubed_f1']:>9}"
            )
            lines.append(f"setting chosen on all files (the defaults): {result['setting_on_all_files']}")
            click.echo("\n".join(lines))
        return
    result = run(list(files))
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(_table(result))
