"""``parallax eval summary``: the neutral summary against NeuS editors' roundups.

NeuS (Lee et al., NAACL 2022) pairs three outlets' headline + lead with the AllSides editors'
neutral summary. For every story this builds three articles (text = title + lead), runs
Parallax's analyze -> align -> framing -> summary (no conflicts: the dispute entries are not
extractive and have no counterpart in the target), and scores the summary text against the
target's ARTICLE part with ROUGE-1/2/L F1 x100 (rouge-score, stemming on). Three peers are
measured in the same run: *lead* (the first source's sentences in order), *LexRank* (TF-IDF
cosine graph over the pooled source sentences, PageRank by power iteration) and the greedy
extractive *oracle* (the sentences that maximise ROUGE-1 + ROUGE-2 against the target: an upper
bound for any extractive system). Matched length: every system takes whole sentences in its own
order until it reaches the word budget (``--words``, default 67 = the mean target length on NeuS
*train*), and every output is cut at exactly that many words before scoring. The NeuS framing
metric is the arousal (NRC-VAD) of lexicon words in an output per 100 words; the lexicon is
research-only and is read here at evaluation time, never shipped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from parallax.errors import EvaluationError

if TYPE_CHECKING:
    from parallax.records import AnalyzedArticle, Fact, Framing
    from parallax.summary import SelectionModel

log = logging.getLogger(__name__)

_FIELDS = re.compile(r"TITLE=>(?P<title>.*?)ARTICLE=>(?P<article>.*)", re.S)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class NeusStory:
    """One NeuS story: three outlets' (title, lead) and the target summary's ARTICLE part."""

    index: int
    sources: tuple[tuple[str, str], ...]
    target: str


def _fields(text: str) -> tuple[str, str]:
    m = _FIELDS.search(text)
    if m is None:
        return "", text.strip()
    return m.group("title").strip(), m.group("article").strip()


def load_neus(directory: Path, *, split: str = "val", limit: int | None = None) -> list[NeusStory]:
    """Read ``<split>.source`` / ``<split>.target`` from ``directory``."""
    src, tgt = directory / f"{split}.source", directory / f"{split}.target"
    for path in (src, tgt):
        if not path.is_file():
            raise EvaluationError(
                f"{path}: NeuS file not found; point DIR at the NeuS folder (val.source, val.target)"
            )
    sources = src.read_text(encoding="utf-8").splitlines()
    targets = tgt.read_text(encoding="utf-8").splitlines()
    if len(sources) != len(targets):
        raise EvaluationError(
            f"{src}: {len(sources)} lines but {tgt.name} has {len(targets)}; the files must pair up"
        )
    stories = []
    for i, (s, t) in enumerate(zip(sources, targets, strict=True)):
        parts = tuple(_fields(p) for p in s.split("[SEP]") if p.strip())
        if not parts:
            raise EvaluationError(f"{src}:{i + 1}: no source articles on this line")
        stories.append(NeusStory(index=i, sources=parts, target=_fields(t)[1]))
    return stories[:limit] if limit else stories


def load_vad(path: Path) -> dict[str, float]:
    """Arousal per word from the NRC-VAD lexicon (``word<TAB>valence<TAB>arousal<TAB>dominance``)."""
    if not path.is_file():
        raise EvaluationError(f"{path}: NRC-VAD lexicon not found; pass --vad PATH")
    out: dict[str, float] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        cols = line.split("\t")
        if len(cols) < 3:
            continue
        try:
            out[cols[0].lower()] = float(cols[2])
        except ValueError:
            if n > 1:
                raise EvaluationError(f"{path}:{n}: arousal column is not a number") from None
    return out


def arousal(text: str, vad: dict[str, float]) -> tuple[float, int]:
    """Summed arousal of the lexicon words in ``text`` and the number of words."""
    words = _WORD.findall(text.lower())
    return sum(vad.get(w, 0.0) for w in words), len(words)


def lexrank(sentences: Sequence[str], k: int, *, threshold: float = 0.1, damping: float = 0.85) -> list[int]:
    """Indices of the ``k`` most central sentences (LexRank, Erkan & Radev 2004).

    1. TF-IDF vectors (sublinear tf, English stop words) over the given sentences;
    2. a graph linking sentences whose cosine is at least ``threshold``, rows normalised;
    3. PageRank scores by power iteration;
    4. the top sentences, skipping near duplicates (cosine > 0.6) of one already taken.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(sentences)
    if n == 0 or k <= 0:
        return []
    # 1. tf-idf
    try:
        mat = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(sentences)
    except ValueError:  # only stop words
        return list(range(min(k, n)))
    cos = np.asarray((mat @ mat.T).todense())
    # 2. graph
    adj = (cos >= threshold).astype(float)
    sums = adj.sum(axis=1, keepdims=True)
    adj = np.divide(adj, sums, out=np.full_like(adj, 1.0 / n), where=sums > 0)
    # 3. power iteration
    rank = np.full(n, 1.0 / n)
    for _ in range(100):
        new = (1 - damping) / n + damping * adj.T @ rank
        if np.abs(new - rank).sum() < 1e-8:
            rank = new
            break
        rank = new
    # 4. top-k without near duplicates
    picked: list[int] = []
    for i in sorted(range(n), key=lambda i: (-rank[i], i)):
        if all(cos[i, j] <= 0.6 for j in picked):
            picked.append(i)
        if len(picked) == k:
            break
    return picked


def _story_text(title: str, lead: str) -> str:
    title = title.strip()
    if title and title[-1] not in ".!?":
        title += "."
    return f"{title}\n{lead}".strip()


#: The word budget every system gets: the mean length of the NeuS *train* targets' ARTICLE part
#: (67.4 words; the val mean, 66.7, was not used to choose it).
WORDS = 67


def truncate(sentences: Sequence[str], words: int) -> str:
    """``sentences`` joined and cut at ``words`` whitespace-separated words (matched length)."""
    return " ".join(" ".join(sentences).split()[:words])


def fill(ranked: Sequence[str], words: int) -> list[str]:
    """The leading sentences of ``ranked`` that first reach ``words`` words (all when fewer)."""
    out: list[str] = []
    total = 0
    for sent in ranked:
        if total >= words:
            break
        out.append(sent)
        total += len(sent.split())
    return out


def oracle(sentences: Sequence[str], target: str, words: int, scorer: Any) -> list[str]:
    """The greedy extractive oracle: repeatedly add the sentence that most raises ROUGE-1 + ROUGE-2
    F1 of the truncated summary against ``target``, until none raises it or the budget is full."""
    chosen: list[str] = []
    best = 0.0
    left = list(sentences)
    while left and len(" ".join(chosen).split()) < words:
        gains = []
        for sent in left:
            r = scorer.score(target, truncate([*chosen, sent], words))
            gains.append(r["rouge1"].fmeasure + r["rouge2"].fmeasure)
        i = int(np.argmax(gains))
        if gains[i] <= best:
            break
        best = gains[i]
        chosen.append(left.pop(i))
    return chosen


@dataclass(frozen=True)
class StoryInput:
    """One NeuS story after Parallax's stages up to the summary: what :func:`summarize` reads."""

    story: NeusStory
    analyzed: tuple[AnalyzedArticle, ...]
    facts: tuple[Fact, ...]
    framing: Framing


def story_inputs(
    stories: Sequence[NeusStory], *, split: str, embedder: str | None = None
) -> Iterator[StoryInput]:
    """Run analyze (one spaCy pass over all articles), align and framing for each story, the way
    the pipeline does (the pipeline's embedder unless ``embedder`` names another, its alignment
    threshold, the shipped loaded-wording model).
    Quotes and conflicts are not run: the summary's dispute entries have no counterpart in the
    NeuS targets."""
    from parallax.align import align
    from parallax.embed import get_embedder
    from parallax.framing import analyze_framing
    from parallax.nlp import analyze
    from parallax.records import Article
    from parallax.settings import Settings

    articles = [
        Article(
            id=f"s{s.index}-{pos}",
            source_path=f"{split}.source:{s.index + 1}",
            text=_story_text(title, lead),
            outlet=f"source {pos}",
            title=title or None,
        )
        for s in stories
        for pos, (title, lead) in enumerate(s.sources)
    ]
    analyzed = analyze(articles)
    settings = Settings()
    emb = get_embedder(embedder or settings.embedder)
    threshold = settings.align_threshold  # the alignment the pipeline ships with
    at = 0
    for n, story in enumerate(stories, start=1):
        group = tuple(analyzed[at : at + len(story.sources)])
        at += len(story.sources)
        alignment = align(group, embedder=emb, threshold=threshold)
        yield StoryInput(story, group, tuple(alignment.facts), analyze_framing(group, []))
        if n % 100 == 0:
            log.info("summary inputs: %d/%d stories", n, len(stories))


def evaluate_summary(
    directory: Path,
    *,
    split: str = "val",
    limit: int | None = None,
    embedder: str | None = None,
    words: int = WORDS,
    vad_path: Path | None = None,
    model: SelectionModel | None = None,
) -> dict[str, Any]:
    """Run Parallax and the peers over NeuS ``split``; the figures described in the module docstring.

    1. read the stories, build three articles per story and run the stages before the summary
       (:func:`story_inputs`);
    2. per story, every system ranks whole sentences and takes them until they reach ``words``
       words: Parallax's summary (facts only), *lead* (the first article's sentences in order),
       *LexRank* over the pooled sentences, and the greedy extractive *oracle*;
    3. each output is cut at exactly ``words`` words (matched length: every system is scored on
       the same number of words, unless a story's sources are shorter);
    4. ROUGE F1 x100 against the target ARTICLE part, and arousal per 100 words (pooled).
    """
    from rouge_score import rouge_scorer

    from parallax.settings import Settings
    from parallax.summary import summarize

    embedder = embedder or Settings().embedder

    # 1. stories and the stages before the summary
    stories = load_neus(directory, split=split, limit=limit)
    vad = load_vad(
        vad_path or directory.parent / "lexicons" / "NRC-VAD-Lexicon-Aug2018Release" / "NRC-VAD-Lexicon.txt"
    )
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    systems = ("parallax", "lead", "lexrank", "oracle")
    scores: dict[str, dict[str, list[float]]] = {
        s: {"rouge1": [], "rouge2": [], "rougeL": []} for s in systems
    }
    aro: dict[str, list[float]] = {s: [0.0, 0.0] for s in (*systems, "reference")}
    for item in story_inputs(stories, split=split, embedder=embedder):
        group, target = item.analyzed, item.story.target
        # 2. whole sentences up to the budget
        entries = summarize(
            group, item.facts, [], sentences=50, words=words, framing=item.framing, model=model
        )
        pooled = [s.text for a in group for s in a.sentences]
        outputs = {
            "parallax": [e.text for e in entries],
            "lead": fill([s.text for s in group[0].sentences], words),
            "lexrank": fill([pooled[i] for i in lexrank(pooled, len(pooled))], words),
            "oracle": oracle(pooled, target, words, scorer),
        }
        # 3. matched length, 4. scores
        for name, sents in outputs.items():
            text = truncate(sents, words)
            result = scorer.score(target, text)
            for metric in ("rouge1", "rouge2", "rougeL"):
                scores[name][metric].append(result[metric].fmeasure * 100)
            a, w = arousal(text, vad)
            aro[name][0] += a
            aro[name][1] += w
        a, w = arousal(target, vad)
        aro["reference"][0] += a
        aro["reference"][1] += w

    def figures(name: str) -> dict[str, float]:
        out = {m: round(float(np.mean(v)), 2) if v else 0.0 for m, v in scores[name].items()}
        total, n_words = aro[name]
        out["arousal_per_100w"] = round(100 * total / n_words, 3) if n_words else 0.0
        out["words"] = round(n_words / max(len(stories), 1), 1)
        return out

    ref_total, ref_words = aro["reference"]
    return {
        **figures("parallax"),
        "stories": len(stories),
        "split": split,
        "embedder": embedder,
        "words_budget": words,
        "peers": {name: figures(name) for name in systems[1:]},
        "reference": {
            "arousal_per_100w": round(100 * ref_total / ref_words, 3) if ref_words else 0.0,
            "words": round(ref_words / max(len(stories), 1), 1),
        },
    }


def _table(result: dict[str, Any]) -> str:
    head = f"{'system':<10} {'R1':>6} {'R2':>6} {'RL':>6} {'arousal/100w':>13} {'words':>6}"
    rows = [head]
    for name, fig in (("parallax", result), *result["peers"].items()):
        rows.append(
            f"{name:<10} {fig['rouge1']:>6.2f} {fig['rouge2']:>6.2f} {fig['rougeL']:>6.2f} "
            f"{fig['arousal_per_100w']:>13.3f} {fig['words']:>6.1f}"
        )
    ref = result["reference"]
    rows.append(
        f"{'reference':<10} {'':>6} {'':>6} {'':>6} {ref['arousal_per_100w']:>13.3f} {ref['words']:>6.1f}"
    )
    rows.append(
        f"{result['stories']} stories, split {result['split']}, embedder {result['embedder']}, "
        f"every output cut at {result['words_budget']} words"
    )
    return "\n".join(rows)


@click.command("summary")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="val", show_default=True, help="NeuS split: val or train.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N stories.")
@click.option(
    "--embedder",
    default=None,
    help="Embedder of the alignment (default: the pipeline's, Settings().embedder), e.g. hashing.",
)
@click.option(
    "--words",
    type=click.IntRange(1),
    default=WORDS,
    show_default=True,
    help="Word budget: every system's output is cut at this many words.",
)
@click.option(
    "--vad", type=click.Path(dir_okay=False, path_type=Path), default=None, help="NRC-VAD lexicon file."
)
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
def command(
    directory: Path,
    split: str,
    limit: int | None,
    embedder: str | None,
    words: int,
    vad: Path | None,
    fmt: str,
) -> None:
    """Score the neutral summary on NeuS (DIR holds val.source / val.target) against lead and LexRank."""
    result = evaluate_summary(
        directory, split=split, limit=limit, embedder=embedder, words=words, vad_path=vad
    )
    click.echo(json.dumps(result, indent=2) if fmt == "json" else _table(result))
