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
predicted speaker or the gold Source occurs in the other (a possessive 's is not a word: the
Source "Clinton’s" has the head "Clinton"). ``speaker_accuracy_all`` divides the
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from parallax.errors import EvaluationError

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from parallax.quotes import CueTable

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
    attributions: tuple[GoldAttribution, ...] = ()


def _fragments(spec: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in spec.split(";"):
        lo, hi = part.split()
        out.append((int(lo), int(hi)))
    return tuple(sorted(out))


@dataclass(frozen=True, slots=True)
class GoldAttribution:
    """One gold attribution of any kind: content, source and cue fragments; ``direct`` when the
    content is (or holds) a quotation."""

    content: tuple[tuple[int, int], ...]
    source: tuple[tuple[int, int], ...]
    source_text: str
    cue: tuple[tuple[int, int], ...]
    direct: bool


def parse_ann(text: str, ann: str, *, path: str = "<ann>") -> tuple[GoldQuote, ...]:
    """Gold direct quotations of one brat file (see the module docstring for the definition)."""
    return tuple(
        GoldQuote(content=a.content, source=a.source, source_text=a.source_text)
        for a in parse_attributions(text, ann, path=path)
        if a.direct
    )


def parse_attributions(text: str, ann: str, *, path: str = "<ann>") -> tuple[GoldAttribution, ...]:
    """Every gold attribution of one brat file, direct or not, in content order."""
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
    cue_of: dict[str, str] = {}
    for rel in relations:
        if "Content" in rel and "Source" in rel:
            source_of[rel["Content"]] = rel["Source"]
        if "Content" in rel and "Cue" in rel:
            cue_of[rel["Content"]] = rel["Cue"]
    out = []
    for tid, (label, frags) in spans.items():
        if label != "Content":
            continue
        inner = any(c in QUOTE_CHARS for lo, hi in frags for c in text[lo:hi])
        before, after = text[: frags[0][0]].rstrip()[-1:], text[frags[-1][1] :].lstrip()[:1]
        direct = inner or bool(before in QUOTE_CHARS and after in QUOTE_CHARS and before and after)
        src = spans.get(source_of.get(tid, ""), ("", ()))[1]
        cue = spans.get(cue_of.get(tid, ""), ("", ()))[1]
        out.append(
            GoldAttribution(
                content=frags,
                source=src,
                source_text=" ".join(text[lo:hi] for lo, hi in src),
                cue=cue,
                direct=direct,
            )
        )
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
        golds = parse_attributions(text, ann_path.read_text(encoding="utf-8"), path=str(ann_path))
        quotes = tuple(
            GoldQuote(content=a.content, source=a.source, source_text=a.source_text)
            for a in golds
            if a.direct
        )
        docs.append(GoldDocument(name=txt.stem, text=text, quotes=quotes, attributions=golds))
        if limit is not None and len(docs) >= limit:
            break
    if not docs:
        raise EvaluationError(f"{directory}: no annotated texts found")
    return docs


def _overlap(a: tuple[int, int], frags: Iterable[tuple[int, int]]) -> int:
    return sum(max(0, min(a[1], hi) - max(a[0], lo)) for lo, hi in frags)


_POSSESSIVE = re.compile(r"['’]s\b")


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W_]+", _POSSESSIVE.sub("", text))}


def _head(text: str | None) -> str | None:
    words = re.findall(r"[^\W_]+", _POSSESSIVE.sub("", text or ""))
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
    """Parallax's direct quotations over an already parsed text (see :func:`parallax_attributions`)."""
    return parallax_attributions(name, doc)[0]


def parallax_attributions(
    name: str, doc: Doc, *, table: CueTable | None = None
) -> tuple[list[PredictedQuote], list[PredictedQuote]]:
    """Parallax's attributions over an already parsed text: (direct, indirect).

    Direct ones are those whose content holds a quotation (``direct`` and ``mixed``
    attributions: the gold definition), indirect ones the others.
    """
    from parallax.nlp import sentences_of
    from parallax.quotes import extract_attributions
    from parallax.records import AnalyzedArticle, Article

    art = Article(id=name, source_path=f"{name}.txt", text=doc.text, outlet="eval")
    analyzed = AnalyzedArticle(article=art, doc=doc, sentences=sentences_of(name, doc))
    direct: list[PredictedQuote] = []
    indirect: list[PredictedQuote] = []
    for a in extract_attributions(analyzed, table=table)[1]:
        span = None
        if a.speaker_start is not None and a.speaker_end is not None:
            span = (a.speaker_start, a.speaker_end)
        pred = PredictedQuote(
            start=a.start, end=a.end, speaker=a.speaker or a.speaker_phrase, speaker_span=span
        )
        (indirect if a.kind == "indirect" else direct).append(pred)
    return direct, indirect


def baseline_indirect(doc: Doc) -> list[PredictedQuote]:
    """The indirect peer: every reporting verb outside quotations with a clausal complement
    (``ccomp``) attributes that complement to its nominal subject."""
    from parallax.quotes import REPORTING_VERBS, quoted_token_mask

    inside = quoted_token_mask(doc)
    out = []
    for tok in doc:
        if inside[tok.i] or tok.lemma_.lower() not in REPORTING_VERBS:
            continue
        comp = next((c for c in tok.children if c.dep_ == "ccomp"), None)
        if comp is None or any(inside[i] for i in range(comp.left_edge.i, comp.right_edge.i + 1)):
            continue
        subj = next((c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        span = (subj.left_edge.idx, subj.right_edge.idx + len(subj.right_edge)) if subj is not None else None
        speaker = doc.text[span[0] : span[1]] if span else None
        start, last = comp.left_edge, comp.right_edge
        out.append(PredictedQuote(start.idx, last.idx + len(last), speaker, span))
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
    return score(docs, nlp.pipe(d.text for d in docs), peers=peers, progress=progress)


def score(
    golds: Sequence[GoldDocument],
    parsed: Iterable[Doc],
    *,
    peers: bool = True,
    table: CueTable | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score Parallax and the peers on parsed texts with their gold attributions.

    ``direct``: attributions whose content holds a quotation, against gold contents holding one;
    ``indirect``: the others against the others; ``all``: every attribution against every gold
    content (the overlap measure of Citron on PARC 3.0). Matching is by content overlap, one to one.
    """
    ours, theirs, ours_ind, base_ind, ours_all = Tally(), Tally(), Tally(), Tally(), Tally()
    for n, (gold, doc) in enumerate(zip(golds, parsed, strict=True), start=1):
        gold_direct = (
            [_as_quote(a) for a in gold.attributions if a.direct] if gold.attributions else gold.quotes
        )
        gold_indirect = [_as_quote(a) for a in gold.attributions if not a.direct]
        direct, indirect = parallax_attributions(gold.name, doc, table=table)
        ours.add(direct, gold_direct)
        ours_ind.add(indirect, gold_indirect)
        ours_all.add(direct + indirect, [*gold_direct, *gold_indirect])
        if peers:
            try:
                preds = textacy_predict(doc)
            except ValueError as exc:
                log.debug("textacy failed on %s: %s", gold.name, exc)
                theirs.errors += 1
                preds = []
            theirs.add(preds, gold_direct)
            base_ind.add(baseline_indirect(doc), gold_indirect)
        if progress is not None:
            progress(n, len(golds))
    result: dict[str, Any] = dict(ours.figures())
    result.update({"documents": len(golds), "gold_quotes": ours.gold})
    result["direct"] = {**ours.figures(), "gold": ours.gold}
    result["indirect"] = {**ours_ind.figures(), "gold": ours_ind.gold}
    result["all"] = {**ours_all.figures(), "gold": ours_all.gold}
    if peers:
        result["peers"] = {
            "textacy": {**theirs.figures(), "errors": theirs.errors},
            "cue_ccomp": {**base_ind.figures(), "gold": base_ind.gold},
        }
    return result


def _as_quote(a: GoldAttribution) -> GoldQuote:
    return GoldQuote(content=a.content, source=a.source, source_text=a.source_text)


def flat_figures(result: Mapping[str, Any]) -> dict[str, float]:
    """The numeric figures of a result with nested blocks as dotted keys ("indirect.recall"),
    the form the floors of ``baselines/quotes.json`` use."""
    out: dict[str, float] = {}
    for key, value in result.items():
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in flat_figures(value).items()})
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
    return out


def _table(result: dict[str, Any]) -> str:
    keys = ("precision", "recall", "f1", "speaker_accuracy", "speaker_accuracy_all")
    peers = result.get("peers", {})
    rows: list[tuple[str, ...]] = [("system", *keys)]
    rows.append(("parallax direct", *(f"{result['direct'][k]:.3f}" for k in keys)))
    if "textacy" in peers:
        rows.append(("textacy direct", *(f"{peers['textacy'][k]:.3f}" for k in keys)))
    rows.append(("parallax indirect", *(f"{result['indirect'][k]:.3f}" for k in keys)))
    if "cue_ccomp" in peers:
        rows.append(("cue+ccomp indirect", *(f"{peers['cue_ccomp'][k]:.3f}" for k in keys)))
    rows.append(("parallax all", *(f"{result['all'][k]:.3f}" for k in keys)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(
        f"documents: {result['documents']}, gold direct: {result['direct']['gold']}, "
        f"gold indirect: {result['indirect']['gold']}"
    )
    if "textacy" in peers:
        lines.append(f"textacy raised on {peers['textacy']['errors']} documents (counted as no predictions)")
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
@click.option("--no-peers", is_flag=True, help="Skip the peers (textacy, cue verb + clausal complement).")
@click.option(
    "--learn",
    "learn_to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Instead of scoring, learn the attribution cue table from DIRECTORY (a training split) into this file.",
)
def command(directory: Path, fmt: str, limit: int | None, no_peers: bool, learn_to: Path | None) -> None:
    """Score direct and indirect attributions on a PolNeAR split folder DIRECTORY (e.g. polnear/dev)."""

    def progress(n: int, total: int) -> None:
        if n % 20 == 0 or n == total:
            click.echo(f"  {n}/{total} texts", err=True)

    if learn_to is not None:
        from parallax.nlp import load_pipeline

        golds = load_split(directory, limit=limit)
        docs = list(load_pipeline().pipe(g.text for g in golds))
        table = learn_cue_table(golds, docs)
        learn_to.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"wrote {learn_to}: {len(table['counts'])} keys, threshold {table['threshold']}", err=True)
        return
    result = evaluate(directory, limit=limit, peers=not no_peers, progress=progress)
    click.echo(json.dumps(result, indent=2) if fmt == "json" else _table(result))


# --- learning the cue table ---------------------------------------------------------------------------


def _overlaps(lo: int, hi: int, frags: Iterable[tuple[int, int]]) -> bool:
    return any(min(hi, b) > max(lo, a) for a, b in frags)


def cue_examples(gold: GoldDocument, doc: Doc) -> list[tuple[str, bool, tuple[int, int]]]:
    """(key, is a gold cue, content char span) for every cue candidate of one parsed text.

    A candidate is a gold cue when its word overlaps the Cue of a gold attribution whose Content
    overlaps the candidate's content. Candidates inside quotations, or whose content is all
    quoted (the cue of a direct quotation), are left out as :func:`extract_attributions` does.
    """
    from parallax.quotes import cue_candidates, quoted_token_mask

    inside = quoted_token_mask(doc)
    out = []
    for cand in cue_candidates(doc):
        lo, hi = cand.content
        words = [i for i in range(lo, hi) if not doc[i].is_punct]
        if inside[cand.cue] or not words or all(inside[i] for i in words):
            continue
        tok = doc[cand.cue]
        c_lo, c_hi = doc[lo].idx, doc[hi - 1].idx + len(doc[hi - 1])
        label = any(
            _overlaps(tok.idx, tok.idx + len(tok), g.cue) and _overlaps(c_lo, c_hi, g.content)
            for g in gold.attributions
        )
        out.append((cand.key(doc), label, (c_lo, c_hi)))
    return out


def _count(examples: Iterable[Sequence[tuple[str, bool, tuple[int, int]]]]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for doc_examples in examples:
        for key, label, _ in doc_examples:
            box = counts.setdefault(key, [0, 0])
            box[0] += label
            box[1] += 1
    return counts


def _frame_prior(counts: dict[str, list[int]]) -> dict[str, float]:
    from parallax.quotes import CUE_FRAMES, REPORTING_VERBS

    prior = {}
    for frame in CUE_FRAMES:
        boxes = [
            v for k, v in counts.items() if k.split("|")[1] == frame and k.split("|")[0] in REPORTING_VERBS
        ]
        pos, n = sum(b[0] for b in boxes), sum(b[1] for b in boxes)
        prior[frame] = round(pos / n, 4) if n else 0.0
    return prior


def learn_cue_table(
    golds: Sequence[GoldDocument],
    docs: Sequence[Doc],
    *,
    smoothing: float = 2.0,
    min_count: int = 1,
    min_precision: float = 0.65,
) -> dict[str, Any]:
    """The cue table (counts per "lemma|frame|subject") and its threshold, from a training split.

    Steps: 1. candidates and labels per text (:func:`cue_examples`); 2. counts per key, keys
    seen fewer than ``min_count`` times dropped; 3. the threshold by two-fold cross-validation:
    weights learned on one half of the texts score the candidates of the other, and the lowest
    threshold whose pooled held-out precision (candidates that are gold cues) is at least
    ``min_precision`` is taken, so rare lemmas cannot vouch for themselves.
    """
    from parallax.quotes import CueTable

    # 1. examples
    examples = [cue_examples(g, d) for g, d in zip(golds, docs, strict=True)]
    # 3. threshold by two-fold cross-validation
    scored: list[tuple[float, bool]] = []
    for fold in (0, 1):
        train = [ex for n, ex in enumerate(examples) if n % 2 != fold]
        counts = _count(train)
        table = CueTable(
            counts={k: (v[0], v[1]) for k, v in counts.items() if v[1] >= min_count},
            threshold=0.0,
            frame_prior=_frame_prior(counts),
            smoothing=smoothing,
        )
        for n, ex in enumerate(examples):
            if n % 2 != fold:
                continue
            for key, label, _ in ex:
                scored.append((table.weight(key), label))
    scored.sort(key=lambda x: -x[0])
    threshold, hits = 1.0, 0
    for n, (w, ok) in enumerate(scored, start=1):
        hits += ok
        if hits / n >= min_precision:
            threshold = w
    # 2. counts on the whole split; a lemma never seen as a cue weighs 0 without its counts
    from parallax.quotes import REPORTING_VERBS

    counts = _count(examples)
    cue_lemmas = {k.split("|")[0] for k, v in counts.items() if v[0]} | REPORTING_VERBS
    counts = {k: v for k, v in sorted(counts.items()) if v[1] >= min_count and k.split("|")[0] in cue_lemmas}
    return {
        "about": (
            "Attribution cue counts [cues, occurrences] per 'lemma|frame|subject' computed by Parallax on the PolNeAR train split "
            "(counts only); threshold by two-fold cross-validation on that split"
        ),
        "command": "parallax eval quotes ../shared/data/polnear/train --learn src/parallax/data/attribution_cues.json",
        "smoothing": smoothing,
        "min_precision": min_precision,
        "threshold": round(max(threshold, 1e-6), 4),
        "frame_prior": _frame_prior(counts),
        "counts": counts,
    }
