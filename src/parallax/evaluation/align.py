"""``parallax eval align DIR``: the pipeline's sentence pair score measured on MSRP.

Data: the Microsoft Research Paraphrase Corpus, ``DIR/msr_paraphrase_{split}.txt``, one pair per
line after a header: ``Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String``, quality 1 when
the two news sentences (from different outlets, same story) report the same thing.

**System**: :func:`parallax.align.pair_scores`, the score ``align()`` uses in the pipeline (the
learned logistic regression over :data:`parallax.align.FEATURES`), with
the pipeline's threshold (``Settings.align_threshold``). Sentences are parsed with the pipeline's
spaCy model and embedded with ``--embedder`` (MiniLM by default).

**Figures**: accuracy, precision, recall and F1 of "equivalent" at the threshold, and ROC-AUC of
the score. On ``--split train`` they are *cross-validated*: the pairs are cut into ``--folds``
stratified folds, and each fold is scored by a model (and a threshold) fitted on the other folds
only, so no pair is scored by a model that saw it. On any other split the shipped model scores
the pairs.

**Peers** in the same run: TF-IDF cosine (vectoriser fitted on the train sentences) and the
embedder's plain cosine. Each peer's threshold is the one with the best accuracy on train (chosen
on the other folds when evaluating on train).

``--write-model PATH`` fits the model on the whole train split and writes its coefficients, with
the threshold that maximises the cross-validated accuracy; that is how
``src/parallax/data/align_model.json`` is made.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from parallax.align import FEATURES, PairModel, SentenceFeatures, pair_features
from parallax.errors import EvaluationError

log = logging.getLogger(__name__)

LICENCE_NOTE = (
    "Coefficients computed by Parallax on MSRP train (Microsoft Research Paraphrase Corpus, "
    "research licence). Only these numbers are shipped, no MSRP text."
)


@dataclass(frozen=True, slots=True)
class MsrpPair:
    """One labelled MSRP pair."""

    label: int
    id1: str
    id2: str
    text1: str
    text2: str


@dataclass(frozen=True)
class PairData:
    """Features of every pair of a split: raw feature matrix, labels and the two texts."""

    x: np.ndarray
    labels: np.ndarray
    texts1: list[str]
    texts2: list[str]


def load_msrp(directory: Path, split: str, *, limit: int | None = None) -> list[MsrpPair]:
    """The pairs of ``DIR/msr_paraphrase_{split}.txt`` (a clean error names file and line)."""
    path = directory / f"msr_paraphrase_{split}.txt"
    if not path.is_file():
        raise EvaluationError(
            f"{path}: MSRP file not found (expected msr_paraphrase_{split}.txt in {directory})"
        )
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{path}: cannot read: {exc}") from exc
    pairs: list[MsrpPair] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 5 or parts[0].strip() not in {"0", "1"}:
            raise EvaluationError(
                f"{path}:{number}: expected 'Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String' "
                "with quality 0 or 1"
            )
        pairs.append(MsrpPair(int(parts[0]), parts[1], parts[2], parts[3].strip(), parts[4].strip()))
        if limit is not None and len(pairs) >= limit:
            break
    if not pairs:
        raise EvaluationError(f"{path}: no pairs")
    return pairs


def _digest(texts: Sequence[str], *extra: str) -> str:
    h = hashlib.sha1("\x1e".join([*extra, *texts]).encode("utf-8"))
    return h.hexdigest()[:16]


def sentence_records(
    texts: Sequence[str], *, cache_dir: Path | None, model: str | None = None
) -> list[SentenceFeatures]:
    """:class:`SentenceFeatures` of each text taken as a one-sentence article (spaCy parses cached)."""
    from spacy.tokens import DocBin

    from parallax.align import sentence_features
    from parallax.nlp import load_pipeline
    from parallax.records import AnalyzedArticle, Article, Entity, Sentence

    nlp = load_pipeline(model)
    cache = cache_dir / f"msrp-parses-{_digest(texts, nlp.meta.get('name', ''))}.spacy" if cache_dir else None
    if cache is not None and cache.is_file():
        docs = list(DocBin().from_disk(cache).get_docs(nlp.vocab))
    else:
        log.info("parsing %d sentences", len(texts))
        docs = list(nlp.pipe(texts, batch_size=256))
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            DocBin(docs=docs).to_disk(cache)
    analyzed = []
    for k, (text, doc) in enumerate(zip(texts, docs, strict=True)):
        ents = tuple(
            Entity(text=e.text, label=e.label_, start=e.start_char, end=e.end_char) for e in doc.ents
        )
        sent = Sentence(article=f"s{k}", index=0, start=0, end=len(text), text=text, entities=ents)
        art = Article(id=f"s{k}", source_path="msrp", text=text, outlet="msrp")
        analyzed.append(AnalyzedArticle(article=art, doc=doc, sentences=(sent,)))
    return sentence_features(analyzed)


def embed_texts(texts: Sequence[str], *, embedder: str, cache_dir: Path | None) -> np.ndarray:
    """``Embedder.encode`` of ``texts`` (cached by embedder name and texts)."""
    from parallax.embed import get_embedder

    cache = cache_dir / f"msrp-vectors-{embedder}-{_digest(texts)}.npy" if cache_dir else None
    if cache is not None and cache.is_file():
        loaded: np.ndarray = np.load(cache)
        return loaded
    log.info("embedding %d sentences with %s", len(texts), embedder)
    vecs = get_embedder(embedder).encode(list(texts))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vecs)
    return vecs


def prepare(pairs: Sequence[MsrpPair], *, embedder: str, cache_dir: Path | None) -> PairData:
    """Parse and embed the sentences of ``pairs`` once, and compute every pair's features."""
    index: dict[str, int] = {}
    for p in pairs:
        index.setdefault(p.text1, len(index))
        index.setdefault(p.text2, len(index))
    texts = list(index)
    feats = sentence_records(texts, cache_dir=cache_dir)
    vectors = embed_texts(texts, embedder=embedder, cache_dir=cache_dir)
    i = np.array([index[p.text1] for p in pairs], dtype=np.int64)
    j = np.array([index[p.text2] for p in pairs], dtype=np.int64)
    return PairData(
        x=pair_features(feats, vectors, i, j),
        labels=np.array([p.label for p in pairs], dtype=np.int64),
        texts1=[p.text1 for p in pairs],
        texts2=[p.text2 for p in pairs],
    )


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold (midpoint between two neighbouring scores) with the best accuracy."""
    order = np.argsort(scores, kind="mergesort")
    s, y = scores[order], labels[order]
    n = len(s)
    # predicting "equivalent" for scores >= s[k]: correct = negatives below k + positives from k
    neg_below = np.concatenate([[0], np.cumsum(y == 0)])
    pos_from = np.concatenate([np.cumsum((y == 1)[::-1])[::-1], [0]])
    correct = neg_below + pos_from
    valid = np.concatenate([[True], s[1:] != s[:-1], [True]])
    k = int(np.argmax(np.where(valid, correct, -1)))
    if k == 0:
        return float(s[0]) - 1e-6
    if k == n:
        return float(s[-1]) + 1e-6
    return float((s[k - 1] + s[k]) / 2)


def fit_model(x: np.ndarray, labels: np.ndarray, *, c: float = 1.0) -> PairModel:
    """Standardise the features and fit a logistic regression; threshold by in-sample accuracy."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit((x - mean) / scale, labels)
    model = PairModel(
        features=FEATURES,
        mean=mean,
        scale=scale,
        coef=lr.coef_[0].astype(np.float64),
        intercept=float(lr.intercept_[0]),
        threshold=0.5,
    )
    return PairModel(**{**model.__dict__, "threshold": best_threshold(model.probability(x), labels)})


def _score(model: PairModel, data: PairData, rows: np.ndarray) -> np.ndarray:
    return model.probability(data.x[rows])


def metrics(
    scores: np.ndarray, predicted: np.ndarray, labels: np.ndarray, threshold: float | None
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 (class 1) and ROC-AUC, rounded to 4 places."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    p, r, f, _ = precision_recall_fscore_support(labels, predicted, average="binary", zero_division=0)
    out: dict[str, Any] = {
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "precision": round(float(p), 4),
        "recall": round(float(r), 4),
        "f1": round(float(f), 4),
        "roc_auc": round(float(roc_auc_score(labels, scores)), 4) if len(set(labels.tolist())) > 1 else 0.0,
    }
    if threshold is not None:
        out["threshold"] = round(threshold, 4)
    return out


def _folds(labels: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(a, b) for a, b in skf.split(np.zeros(len(labels)), labels)]


def cross_validated(
    data: PairData, *, folds: int, seed: int = 13
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Out-of-fold scores and decisions of the learned score (each fold fitted on the others)."""
    scores = np.zeros(len(data.labels))
    decided = np.zeros(len(data.labels), dtype=np.int64)
    thresholds = []
    for train, test in _folds(data.labels, folds, seed):
        model = fit_model(data.x[train], data.labels[train])
        threshold = best_threshold(_score(model, data, train), data.labels[train])
        scores[test] = _score(model, data, test)
        decided[test] = scores[test] >= threshold
        thresholds.append(threshold)
    return scores, decided, thresholds


def _peer_cv(scores: np.ndarray, labels: np.ndarray, *, folds: int, seed: int = 13) -> dict[str, Any]:
    decided = np.zeros(len(labels), dtype=np.int64)
    for train, test in _folds(labels, folds, seed):
        decided[test] = scores[test] >= best_threshold(scores[train], labels[train])
    return metrics(scores, decided, labels, None)


def _tfidf_cosines(fit_texts: Sequence[str], a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(sublinear_tf=True).fit(fit_texts)
    va, vb = vec.transform(a), vec.transform(b)
    out: np.ndarray = np.asarray(va.multiply(vb).sum(axis=1)).ravel()
    return out


def _dense_cosines(data: PairData) -> np.ndarray:
    col: np.ndarray = data.x[:, FEATURES.index("dense")]
    return col


def evaluate_align(
    directory: Path,
    *,
    split: str = "train",
    embedder: str = "minilm",
    folds: int = 5,
    limit: int | None = None,
    cache_dir: Path | None = None,
    write_model: Path | None = None,
) -> dict[str, Any]:
    """The figures of the module docstring, as a dict with keys ``accuracy ... roc_auc, peers``."""
    from parallax.align import default_model
    from parallax.settings import Settings

    target_pairs = load_msrp(directory, split, limit=limit)  # a missing split fails first
    train_pairs = target_pairs if split == "train" else load_msrp(directory, "train", limit=limit)
    train = prepare(train_pairs, embedder=embedder, cache_dir=cache_dir)
    train_texts = [*train.texts1, *train.texts2]
    result: dict[str, Any] = {"split": split, "pairs": 0, "embedder": embedder}
    if split == "train":
        data = train
        scores, decided, thresholds = cross_validated(train, folds=folds)
        result.update(metrics(scores, decided, train.labels, None))
        result["cross_validated"] = True
        result["folds"] = folds
        result["fold_thresholds"] = [round(t, 4) for t in thresholds]
        tfidf = _tfidf_cosines(train_texts, train.texts1, train.texts2)
        peers = {
            "tfidf_cosine": _peer_cv(tfidf, train.labels, folds=folds),
            f"{embedder}_cosine": _peer_cv(_dense_cosines(train), train.labels, folds=folds),
        }
    else:
        data = prepare(target_pairs, embedder=embedder, cache_dir=cache_dir)
        model = default_model()
        threshold = Settings().align_threshold
        scores = _score(model, data, np.arange(len(data.labels)))
        result.update(metrics(scores, (scores >= threshold).astype(np.int64), data.labels, threshold))
        result["cross_validated"] = False
        peers = {}
        for name, tr, te in (
            (
                "tfidf_cosine",
                _tfidf_cosines(train_texts, train.texts1, train.texts2),
                _tfidf_cosines(train_texts, data.texts1, data.texts2),
            ),
            (f"{embedder}_cosine", _dense_cosines(train), _dense_cosines(data)),
        ):
            t = best_threshold(tr, train.labels)
            peers[name] = metrics(te, (te >= t).astype(np.int64), data.labels, t)
    result["pairs"] = len(data.labels)
    result["positive_share"] = round(float(data.labels.mean()), 4)
    result["peers"] = peers
    if write_model is not None:
        model = fit_model(train.x, train.labels)
        cv_scores, _, _ = cross_validated(train, folds=folds)
        model = PairModel(**{**model.__dict__, "threshold": best_threshold(cv_scores, train.labels)})
        payload = {
            "licence": LICENCE_NOTE,
            "trained_on": f"msr_paraphrase_train.txt, {len(train.labels)} pairs, embedder {embedder}",
            "command": f"parallax eval align DIR --split train --embedder {embedder} --write-model PATH",
            **model.to_json(),
        }
        write_model.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        result["model_written"] = str(write_model)
    return result


def _table(result: dict[str, Any]) -> str:
    head = f"{'system':<22}{'accuracy':>10}{'precision':>11}{'recall':>9}{'f1':>8}{'roc_auc':>9}"
    rows = [head, "-" * len(head)]
    systems = [("parallax", result), *result["peers"].items()]
    for name, m in systems:
        rows.append(
            f"{name:<22}{m['accuracy']:>10.4f}{m['precision']:>11.4f}{m['recall']:>9.4f}{m['f1']:>8.4f}{m['roc_auc']:>9.4f}"
        )
    how = f"{result['folds']}-fold cross-validated" if result.get("cross_validated") else "shipped model"
    rows.append(f"{result['pairs']} pairs, split {result['split']}, {how}, embedder {result['embedder']}")
    return "\n".join(rows)


@click.command("align")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--split", default="train", show_default=True, help="MSRP split: reads msr_paraphrase_{split}.txt."
)
@click.option("--embedder", default="minilm", show_default=True, help="minilm, hashing, or a model path.")
@click.option(
    "--folds",
    type=click.IntRange(2, 20),
    default=5,
    show_default=True,
    help="Cross-validation folds (train).",
)
@click.option("--limit", type=click.IntRange(10), default=None, help="Only the first N pairs of each file.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep spaCy parses and embeddings here between runs.",
)
@click.option(
    "--write-model",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Fit on the whole train split and write the model JSON here.",
)
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
def command(
    directory: Path,
    split: str,
    embedder: str,
    folds: int,
    limit: int | None,
    cache_dir: Path | None,
    write_model: Path | None,
    fmt: str,
) -> None:
    """Score the pipeline's sentence pair score on MSRP against TF-IDF and dense cosine peers."""
    result = evaluate_align(
        directory,
        split=split,
        embedder=embedder,
        folds=folds,
        limit=limit,
        cache_dir=cache_dir,
        write_model=write_model,
    )
    click.echo(json.dumps(result, indent=2) if fmt == "json" else _table(result))
