"""Stage 9: an extractive, neutral summary of the story, every sentence cited.

The summary only reuses sentences the outlets wrote (so each ``fact`` entry appears verbatim in a
cited article) and states disagreements as ``dispute`` entries built from the conflicts stage.

*Which* facts it tells is learned (:class:`SelectionModel`, fitted on the NeuS train split by
``scripts/train_summary.py``): a greedy coverage of the story's terms that at least two outlets
use, weighted by how likely an editor's neutral summary is to use them (what many outlets say,
early and in headlines) or by the number of outlets using them, plus a sentence score from
position, lexical centrality, length and wording. The sentence score does not use the alignment,
and the terms are spaCy lemmas, so a change of the dense embedder leaves the model valid.
*How* a fact is worded is chosen for neutrality: among the mentions of a fact, the one with the
fewest loaded spans and entity labels (from the framing stage) wins, with a small built-in
penalty for quotation-only and very long sentences and for people introduced with long
premodifier chains ("Left-wing Hollywood activist X"), which also guards while framing is empty.
A wording with such a chain is never quoted; a fact whose every wording is loaded is left out or
quoted in its least loaded wording, as the model's ``drop_loaded`` says (cross-validated: leaving
such facts out cost 0.6 ROUGE-1 on NeuS train, and arousal stays below LexRank's either way).
"""

from __future__ import annotations

import json
import logging
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
from scipy import sparse

from parallax.align import quoted_words
from parallax.conflicts import describe_conflict
from parallax.errors import ConfigError
from parallax.records import (
    AnalyzedArticle,
    Conflict,
    Fact,
    Framing,
    Label,
    LoadedSpan,
    Mention,
    SummaryEntry,
)
from parallax.tfidf import TfidfVectorizer

if TYPE_CHECKING:
    from spacy.tokens import Span

log = logging.getLogger(__name__)

_WORD = re.compile(r"[\w']+")
_S = TypeVar("_S", LoadedSpan, Label)

#: Parts of speech that end a person's noun phrase when walking left from the name.
_STOP_POS = frozenset({"VERB", "AUX", "ADP", "DET", "PRON", "PART", "NUM", "SCONJ"})


@dataclass(frozen=True)
class Wording:
    """One mention of a fact with how loaded it is."""

    mention: Mention
    loaded: bool  # carries a loaded span, a framing label or a long premodifier chain
    has_premodifier: bool
    penalty: float
    readability: float = 0.0  # opening pronoun, unpaired quote marks, mostly quotation


class _Persons:
    """An article's PERSON entities sorted by offset: ``doc.ents`` builds every entity span on
    each access, so a story reads them once, not once per sentence."""

    def __init__(self, analyzed: AnalyzedArticle) -> None:
        self._ents = [e for e in analyzed.doc.ents if e.label_ == "PERSON"]
        self._starts = [e.start_char for e in self._ents]

    def within(self, start: int, end: int) -> list[Span]:
        return self._ents[bisect_left(self._starts, start) : bisect_left(self._starts, end)]


def premodifier_chain(
    analyzed: AnalyzedArticle, start: int, end: int, *, window: int = 8, persons: _Persons | None = None
) -> int:
    """The longest run of descriptive premodifiers before a PERSON name inside ``[start, end)``.

    Walks left from the name over the words of its noun phrase (stopping at a verb, determiner,
    pronoun, preposition, number or clause punctuation) and counts the common nouns and
    adjectives: "Left-wing Hollywood activist Alyssa Milano" gives 3 ("Left", "wing",
    "activist"); titles ("Vice President", "Rep.") are proper nouns and do not count. The walk
    is over tokens rather than the parse tree because the parser often splits such chains.
    """
    doc = analyzed.doc
    best = 0
    for ent in (persons or _Persons(analyzed)).within(start, end):
        if ent.label_ != "PERSON" or ent.start_char < start or ent.end_char > end:
            continue
        count = 0
        i = ent.start - 1
        while i >= 0 and ent.start - i <= window and doc[i].idx >= start:
            tok = doc[i]
            if tok.pos_ in _STOP_POS or tok.text in {",", ";", ":", ".", "(", ")"}:
                break
            if tok.pos_ in {"ADJ", "NOUN"}:
                count += 1
            i -= 1
        best = max(best, count)
    return best


def _inside(span_start: int, span_end: int, m: Mention) -> bool:
    return span_start >= m.start and span_end <= m.end


#: Premodifiers that place a person in time or office rather than judge them: a label made of
#: these (plus nouns and proper nouns) is descriptive, not loaded ("former Vice President").
NEUTRAL_MODIFIERS = frozenset(
    {
        "former", "then", "late", "current", "acting", "deputy", "senior", "junior", "chief", "first",
        "second", "third", "ex", "potential", "possible", "likely", "prospective", "presumptive",
        "incoming", "outgoing", "new", "longtime", "fellow", "retired", "interim", "elected",
        "democratic", "republican", "independent", "congressional", "presidential", "federal",
        "national", "local", "state", "political", "public", "general", "vice", "assistant",
    }
)  # fmt: skip
_PRONOUN_START = re.compile(r"^\W*(?:he|she|they|it|his|her|their|its|him|them)\b", re.I)
_OPENERS = "“«"
_CLOSERS = "”»"


def _unbalanced_quotes(text: str) -> bool:
    """True when the curly or straight double quote marks of ``text`` do not pair up."""
    curly = sum(text.count(c) for c in _OPENERS) != sum(text.count(c) for c in _CLOSERS)
    return curly or text.count('"') % 2 == 1


def _evaluative(label: Label, analyzed: AnalyzedArticle, framing: Framing) -> bool:
    """A label judges rather than describes: it overlaps a loaded span, or it carries an
    adjective or adverb that is neither a nationality/party nor a neutral modifier of office."""
    if any(
        s.article == label.article and s.start < label.end and label.start < s.end for s in framing.loaded
    ):
        return True
    span = analyzed.doc.char_span(label.start, label.end, alignment_mode="expand")
    if span is None:
        return False
    for tok in span:
        if tok.pos_ not in {"ADJ", "ADV"}:
            continue
        if tok.ent_type_ in {"NORP", "GPE", "DATE", "ORDINAL", "CARDINAL"}:
            continue
        if tok.lower_.strip("-") in NEUTRAL_MODIFIERS or tok.lemma_.lower() in NEUTRAL_MODIFIERS:
            continue
        return True
    return False


class _Spans(Generic[_S]):
    """Spans (loaded spans or labels) per article, sorted by start, so that finding those inside
    a mention costs a binary search rather than a scan of the whole story's framing."""

    def __init__(self, spans: Sequence[_S]) -> None:
        by_article: defaultdict[str, list[_S]] = defaultdict(list)
        for sp in spans:
            by_article[sp.article].append(sp)
        self._spans: dict[str, list[_S]] = {
            a: sorted(v, key=lambda sp: sp.start) for a, v in by_article.items()
        }
        self._starts: dict[str, list[int]] = {a: [sp.start for sp in v] for a, v in self._spans.items()}

    def inside(self, m: Mention) -> list[_S]:
        spans = self._spans.get(m.article, [])
        out = []
        for sp in spans[bisect_left(self._starts.get(m.article, []), m.start) :]:
            if sp.start >= m.end:
                break
            if _inside(sp.start, sp.end, m):
                out.append(sp)
        return out


class _FramingIndex:
    """The framing's loaded spans and labels, indexed by article and offset."""

    def __init__(self, framing: Framing) -> None:
        self.loaded = _Spans(framing.loaded)
        self.labels = _Spans(framing.labels)


def assess(
    mention: Mention,
    analyzed: AnalyzedArticle,
    framing: Framing,
    *,
    long_words: int = 40,
    chain_limit: int = 3,
    index: _FramingIndex | None = None,
    persons: _Persons | None = None,
) -> Wording:
    """How loaded ``mention`` is: framing spans and labels inside it plus built-in penalties.

    A mention is *loaded* when it holds a loaded-wording span, an evaluative label
    (:func:`_evaluative`) or a premodifier chain of ``chain_limit`` or more descriptive words
    before a name. Descriptive labels ("former Vice President", "a former congressional aide")
    only add a small penalty, so that the plainest wording still wins. Readability penalties
    (opening pronoun with no antecedent, unpaired quote marks, mostly quotation, length) steer
    the choice too; they are reported as ``readability`` so ranking can put such facts last.
    """
    index = index or _FramingIndex(framing)
    loaded_spans = len(index.loaded.inside(mention))
    labels = index.labels.inside(mention)
    evaluative = [lb for lb in labels if _evaluative(lb, analyzed, framing)]
    has_premod = any(lb.kind == "premodifier" for lb in evaluative)
    chain = premodifier_chain(analyzed, mention.start, mention.end, persons=persons)
    words = len(_WORD.findall(mention.text))
    _, qfrac = quoted_words(mention.text)
    penalty = float(loaded_spans) + float(len(evaluative)) + 0.25 * (len(labels) - len(evaluative))
    penalty += 2.0 if has_premod else 0.0
    penalty += 1.5 * max(0, chain - chain_limit + 1)
    readability = 0.0
    readability += 1.0 if _PRONOUN_START.match(mention.text) else 0.0
    readability += 1.0 if _unbalanced_quotes(mention.text) else 0.0
    readability += 0.5 if qfrac >= 0.6 else 0.0
    penalty += readability + 0.02 * max(0, words - long_words)
    loaded = bool(loaded_spans or evaluative or chain >= chain_limit)
    return Wording(
        mention=mention,
        loaded=loaded,
        has_premodifier=has_premod or chain >= chain_limit,
        penalty=penalty,
        readability=readability,
    )


def choose_wordings(wordings: Sequence[Wording]) -> list[Wording]:
    """The wordings a summary may quote: the unloaded ones, and of those only the ones without a
    premodifier label while such a wording exists; empty when every wording is loaded."""
    clean = [w for w in wordings if not w.loaded]
    return [w for w in clean if not w.has_premodifier] or clean


def choose_wording(wordings: Sequence[Wording]) -> Wording | None:
    """The least loaded allowed wording (:func:`choose_wordings`); ``None`` when every wording
    is loaded."""
    pool = choose_wordings(wordings)
    if not pool:
        return None
    return min(pool, key=lambda w: (w.penalty, len(w.mention.text), w.mention.article, w.mention.start))


def _content(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 3}


def _similar(a: str, b: str, *, limit: float) -> bool:
    ca, cb = _content(a), _content(b)
    if not ca or not cb:
        return False
    return len(ca & cb) / min(len(ca), len(cb)) >= limit


#: Sentence features of the learned selection model, in the order of its weights (see
#: :func:`candidate_features` for what each one measures and ``scripts/train_summary.py`` for how
#: the weights were fitted).
FEATURES: tuple[str, ...] = (
    "share",
    "consensus",
    "fact_score",
    "title",
    "first",
    "inv_index",
    "rel_pos",
    "central_others",
    "central_story",
    "central_titles",
    "log_words",
    "short",
    "long",
    "loaded",
    "penalty",
    "readability",
    "quote",
    "salience",
    "numbers",
    "no_period",
    "share_x_first",
)
MODEL_FILE = "summary_model.json"
#: How :class:`SelectionModel` weighs the story's terms (see :meth:`SelectionModel.term_weights`).
TERM_WEIGHTINGS: tuple[str, ...] = ("learned", "outlets")
_NUMBER = re.compile(r"\d")
_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})


#: Features of a *term* (a content lemma of the story) for the model of which terms an editor's
#: neutral summary uses (see :func:`term_features`).
TERM_FEATURES: tuple[str, ...] = (
    "share",
    "all",
    "titles",
    "leads",
    "log_count",
    "early",
    "proper",
    "number",
    "loaded",
)


@dataclass(frozen=True)
class Linear:
    """A linear score over named features: ``bias + sum(w * (x - mean) / scale)``."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def check(self, known: Sequence[str], *, source: str) -> None:
        n = len(self.features)
        if not (len(self.weights) == len(self.mean) == len(self.scale) == n):
            raise ConfigError(
                f"{source}: summary model has {n} features but weights/mean/scale lengths differ"
            )
        missing = set(self.features) - set(known)
        if missing:
            raise ConfigError(f"{source}: summary model has unknown features {sorted(missing)}")

    def score(self, x: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """The score of each row of ``x``, whose columns are ``names``."""
        cols = [list(names).index(f) for f in self.features]
        z = (x[:, cols] - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.weights) + self.bias, dtype=float)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Linear:
        return cls(
            features=tuple(str(f) for f in data["features"]),
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) or 1.0 for v in data["scale"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
        }


@dataclass(frozen=True)
class SelectionModel:
    """How the summary picks sentences, learned on the NeuS *train* split.

    * ``terms``: logistic model of the probability that an editor's neutral summary uses a term
      of the story (:data:`TERM_FEATURES`): what many outlets say, early and in headlines;
    * ``sentences``: ridge model of a sentence's own ROUGE against the editors' summary
      (:data:`FEATURES`);
    * ``term_weighting``: what covering a term is worth: ``"learned"`` (the ``terms`` model's
      probability) or ``"outlets"`` (the number of outlets that use it: consensus at the level of
      words, no learned weights), in both cases only for terms at least two outlets use;
    * the greedy choice maximises ``sum of the weights of the shared terms a sentence adds /
      words ** length_power + sentence_weight * sentence score`` (:func:`select_facts`);
    * ``status_first``: visit consensus, then partial, then unique facts;
    * ``drop_loaded``: leave out a fact whose every wording is loaded; when false such a fact may
      be quoted in its least loaded wording (a wording with a long premodifier chain before a
      name never is).

    ``scripts/train_summary.py`` fits the weights and chooses the other settings by
    cross-validation over train stories; only these numbers are shipped, no NeuS text.
    """

    sentences: Linear
    terms: Linear
    length_power: float = 0.0
    sentence_weight: float = 0.0
    status_first: bool = True
    redundancy: float = 0.6
    term_weighting: str = "learned"
    drop_loaded: bool = True

    def __post_init__(self) -> None:
        self.sentences.check(FEATURES, source=MODEL_FILE)
        self.terms.check(TERM_FEATURES, source=MODEL_FILE)
        if self.term_weighting not in TERM_WEIGHTINGS:
            raise ConfigError(
                f"{MODEL_FILE}: summary model term_weighting {self.term_weighting!r} is not one of "
                f"{', '.join(TERM_WEIGHTINGS)}"
            )

    def sentence_scores(self, x: np.ndarray) -> np.ndarray:
        return self.sentences.score(x, FEATURES)

    def term_probabilities(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-self.terms.score(x, TERM_FEATURES))), dtype=float)

    def term_weights(self, x: np.ndarray, *, articles: int) -> np.ndarray:
        """What covering each term is worth, for terms at least two of the story's ``articles``
        use (a word only one outlet uses is not yet a fact of the story; cross-validated on
        NeuS train, counting them too cost 0.2 to 0.8 ROUGE-1): its probability under the
        ``terms`` model, or with ``term_weighting="outlets"`` the number of outlets using it."""
        share = x[:, TERM_FEATURES.index("share")]
        shared = share > 0
        if self.term_weighting == "outlets":
            return np.asarray(np.rint(share * max(articles - 1, 0)) + 1.0, dtype=float) * shared
        return self.term_probabilities(x) * shared

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = MODEL_FILE) -> SelectionModel:
        try:
            return cls(
                sentences=Linear.from_json(data["sentences"]),
                terms=Linear.from_json(data["terms"]),
                length_power=float(data.get("length_power", 0.0)),
                sentence_weight=float(data.get("sentence_weight", 0.0)),
                status_first=bool(data.get("status_first", True)),
                redundancy=float(data.get("redundancy", 0.6)),
                term_weighting=str(data.get("term_weighting", "learned")),
                drop_loaded=bool(data.get("drop_loaded", True)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: not a summary selection model ({exc})") from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "sentences": self.sentences.to_json(),
            "terms": self.terms.to_json(),
            "length_power": self.length_power,
            "sentence_weight": self.sentence_weight,
            "status_first": self.status_first,
            "redundancy": self.redundancy,
            "term_weighting": self.term_weighting,
            "drop_loaded": self.drop_loaded,
        }


@lru_cache(maxsize=1)
def load_selection_model() -> SelectionModel:
    """The selection model shipped with Parallax (``data/summary_model.json``, read once)."""
    try:
        raw = resources.files("parallax").joinpath("data", MODEL_FILE).read_text(encoding="utf-8")
        data = json.loads(raw)
    except (OSError, ModuleNotFoundError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"parallax/data/{MODEL_FILE} is missing or unreadable ({exc}); reinstall Parallax "
            "or run scripts/train_summary.py"
        ) from exc
    return SelectionModel.from_json(data)


@dataclass(frozen=True)
class Candidate:
    """One mention of a fact that the summary could quote, with its wording assessment."""

    fact: Fact
    wording: Wording


def candidates_of(
    analyzed: Sequence[AnalyzedArticle], facts: Sequence[Fact], framing: Framing
) -> list[Candidate]:
    """Every mention of ``facts`` in ``analyzed``, assessed (:func:`assess`), in fact order."""
    by_id = {a.id: a for a in analyzed}
    index = _FramingIndex(framing)
    persons = {a.id: _Persons(a) for a in analyzed}
    return [
        Candidate(
            fact=f, wording=assess(m, by_id[m.article], framing, index=index, persons=persons[m.article])
        )
        for f in facts
        for m in f.mentions
        if m.article in by_id
    ]


def _top_entities(analyzed: Sequence[AnalyzedArticle], *, k: int = 8) -> set[str]:
    """The story's ``k`` most widespread names (in more than one article), ties broken by name."""
    counts: Counter[str] = Counter()
    for art in analyzed:
        counts.update({e.text.lower() for e in art.doc.ents if e.label_ in _LABELS})
    return {e for e, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k] if c > 1}


def _cosines(
    mat: sparse.csr_matrix, own: np.ndarray, per_article: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of each row of ``mat`` with the sum of the *other* articles' rows of
    ``per_article`` (row ``own[i]`` is row i's article) and with the sum of all of them."""
    total = per_article.sum(axis=0)
    others = total[None, :] - per_article
    norms = np.linalg.norm(others, axis=1)
    norms[norms == 0] = 1.0
    to_others = np.asarray(mat @ others.T)[np.arange(mat.shape[0]), own] / norms[own]
    to_all = np.asarray(mat @ total).ravel() / (float(np.linalg.norm(total)) or 1.0)
    return to_others, to_all


def _centrality(
    texts: Sequence[str], articles: Sequence[str], titles: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cosine of each text's TF-IDF vector with the centroid of the *other* articles' texts, with
    the centroid of the whole story, and with the other articles' headlines (``titles``):
    LexRank's intuition in linear time (one sum per article instead of a sentence graph)."""
    n = len(texts)
    zeros = np.zeros(n)
    if n == 0:
        return zeros, zeros, zeros
    ids = sorted(set(articles) | set(titles))
    index = {a: i for i, a in enumerate(ids)}
    vectorizer = TfidfVectorizer().fit(texts)
    if not vectorizer.vocabulary_:  # nothing but stop words
        return zeros, zeros, zeros
    mat = vectorizer.transform(texts)
    own = np.array([index[a] for a in articles])
    member = sparse.csr_matrix((np.ones(n), (own, np.arange(n))), shape=(len(ids), n))
    to_others, to_story = _cosines(mat, own, np.asarray((member @ mat).todense()))
    heads = np.zeros((len(ids), mat.shape[1]))
    if titles:
        rows = [index[a] for a in titles]
        heads[rows] = vectorizer.transform(list(titles.values())).toarray()
    to_titles, _ = _cosines(mat, own, heads)
    return to_others, to_story, to_titles


def _title_ends(analyzed: Sequence[AnalyzedArticle]) -> dict[str, int]:
    """Per article whose text opens with its headline, the offset where the headline ends."""
    out = {}
    for art in analyzed:
        title = (art.article.title or "").strip()
        text = art.article.text
        at = len(text) - len(text.lstrip())
        if title and text.startswith(title, at):
            out[art.id] = at + len(title)
    return out


def candidate_features(analyzed: Sequence[AnalyzedArticle], candidates: Sequence[Candidate]) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate wording, in linear time in the story's length.

    * ``share``: share of the *other* articles that carry the fact (consensus: how many outlets
      report it), ``consensus``: every article carries it, ``fact_score``: how closely the
      aligned sentences match (0 for a fact one article reports);
    * position: ``title`` (the sentence is the article's headline, when the text opens with it),
      ``first`` sentence of its body, ``inv_index`` = 1 / (1 + body sentence index),
      ``rel_pos`` = character offset / article length;
    * ``central_others`` / ``central_story`` / ``central_titles``: TF-IDF cosine with the other
      articles' centroid, with the story's, and with the other articles' headlines
      (:func:`_centrality`);
    * length: ``log_words``, ``short`` (under 8 words), ``long`` (words over 40, per 20);
    * wording: ``loaded`` (framing says so), ``penalty`` and ``readability`` from :func:`assess`,
      ``quote`` (share of the words inside quotation marks);
    * content: ``salience`` (share of the story's widespread names it mentions), ``numbers``
      (has a digit), ``no_period`` (does not end like a sentence: a headline or a fragment);
    * ``share_x_first``: consensus on a lead sentence (an interaction a linear model needs).
    """
    n_articles = max(len(analyzed), 1)
    lengths = {a.id: max(len(a.article.text), 1) for a in analyzed}
    title_ends = _title_ends(analyzed)
    # sentences that make up a headline, per article, to count body sentences from the lead
    heading = Counter(s.article for a in analyzed for s in a.sentences if s.start < title_ends.get(a.id, 0))
    top = _top_entities(analyzed)
    texts = [c.wording.mention.text for c in candidates]
    arts = [c.wording.mention.article for c in candidates]
    titles = {a.id: a.article.title for a in analyzed if a.article.title}
    central_others, central_story, central_titles = _centrality(texts, arts, titles)
    rows = []
    for i, c in enumerate(candidates):
        m, w = c.wording.mention, c.wording
        k = len(set(c.fact.articles))
        share = (k - 1) / (n_articles - 1) if n_articles > 1 else 0.0
        is_title = m.start < title_ends.get(m.article, 0)
        index = max((m.sentence or 0) - heading[m.article], 0)
        words = len(_WORD.findall(m.text))
        lowered = m.text.lower()
        _, qfrac = quoted_words(m.text)
        first = 1.0 if index == 0 and not is_title else 0.0
        rows.append(
            (
                share,
                1.0 if (k == n_articles and n_articles > 1) else 0.0,
                c.fact.score if k > 1 else 0.0,
                1.0 if is_title else 0.0,
                first,
                1.0 / (1.0 + index),
                m.start / lengths.get(m.article, 1),
                central_others[i],
                central_story[i],
                central_titles[i],
                float(np.log1p(words)),
                1.0 if words < 8 else 0.0,
                max(0, words - 40) / 20.0,
                1.0 if w.loaded else 0.0,
                w.penalty,
                w.readability,
                qfrac,
                len({e for e in top if e in lowered}) / len(top) if top else 0.0,
                1.0 if _NUMBER.search(m.text) else 0.0,
                0.0 if m.text.rstrip().rstrip("\"'”’)»").endswith((".", "!", "?")) else 1.0,
                share * first,
            )
        )
    return np.asarray(rows, dtype=float).reshape(len(candidates), len(FEATURES))


def _term_key(tok: Any) -> str | None:
    """The term a token counts as: its lower-cased lemma, for content words and numbers only."""
    if not (tok.is_alpha or tok.like_num) or tok.is_stop or len(tok.text) < 2:
        return None
    return str(tok.lemma_ or tok.text).lower()


def term_features(
    analyzed: Sequence[AnalyzedArticle], candidates: Sequence[Candidate], framing: Framing
) -> tuple[list[frozenset[int]], np.ndarray, list[str]]:
    """The terms of each candidate (ids), one row of :data:`TERM_FEATURES` per term id, and the
    terms themselves (the id is the index).

    A term is a content lemma (:func:`_term_key`). Per term: ``share`` of the other articles
    that use it and whether ``all`` do (consensus at the level of words), the share of articles
    whose headline (``titles``) or lead sentence (``leads``) uses it, ``log_count`` of its
    uses, how ``early`` it first appears (1 - relative offset), whether it is ever a
    ``proper`` noun or a ``number``, and the share of its uses inside a ``loaded`` span.
    One pass over each article's tokens: linear in the story's length.
    """
    n = max(len(analyzed), 1)
    title_ends = _title_ends(analyzed)
    ids: dict[str, int] = {}
    stats: list[list[float]] = []  # per term: articles, titles, leads, count, early, proper, number, loaded
    spans = defaultdict(list)
    for sp in framing.loaded:
        spans[sp.article].append((sp.start, sp.end))
    for art in analyzed:
        text_len = max(len(art.article.text), 1)
        title_end = title_ends.get(art.id, 0)
        lead = next((s for s in art.sentences if s.start >= title_end), None)
        loaded = sorted(spans.get(art.id, []))
        starts = [a for a, _ in loaded]
        seen: set[int] = set()
        flags: dict[int, list[bool]] = {}
        for tok in art.doc:
            key = _term_key(tok)
            if key is None:
                continue
            tid = ids.setdefault(key, len(ids))
            if tid == len(stats):
                stats.append([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
            row = stats[tid]
            f = flags.setdefault(tid, [False, False])
            if tid not in seen:
                seen.add(tid)
                row[0] += 1
            f[0] = f[0] or tok.idx < title_end
            f[1] = f[1] or (lead is not None and lead.start <= tok.idx < lead.end)
            row[3] += 1
            row[4] = max(row[4], 1.0 - tok.idx / text_len)
            row[5] = max(row[5], 1.0 if tok.pos_ == "PROPN" else 0.0)
            row[6] = max(row[6], 1.0 if tok.like_num else 0.0)
            k = bisect_left(starts, tok.idx + 1) - 1
            row[7] += 1.0 if k >= 0 and loaded[k][1] > tok.idx else 0.0
        for tid, (in_title, in_lead) in flags.items():
            stats[tid][1] += in_title
            stats[tid][2] += in_lead
    x = np.asarray(
        [
            (
                (r[0] - 1) / (n - 1) if n > 1 else 0.0,
                1.0 if (r[0] == n and n > 1) else 0.0,
                r[1] / n,
                r[2] / n,
                float(np.log1p(r[3])),
                r[4],
                r[5],
                r[6],
                r[7] / r[3],
            )
            for r in stats
        ],
        dtype=float,
    ).reshape(len(stats), len(TERM_FEATURES))
    # the terms of each candidate: its tokens, found by offset in its article's token list
    by_article = {a.id: a.doc for a in analyzed}
    sets = []
    for c in candidates:
        m = c.wording.mention
        doc = by_article.get(m.article)
        span = doc.char_span(m.start, m.end, alignment_mode="expand") if doc is not None else None
        keys = (_term_key(t) for t in span) if span is not None else iter(())
        sets.append(frozenset(ids[k] for k in keys if k is not None and k in ids))
    return sets, x, list(ids)


#: Least conflict confidence (a calibrated probability, see parallax.conflicts.PairModel) for a
#: ``dispute`` entry: a wrong dispute at the top of a neutral summary costs more than a missing one.
DISPUTE_CONFIDENCE = 0.8


def dispute_text(conflict: Conflict, analyzed: Sequence[AnalyzedArticle]) -> str:
    """``Outlets disagree on <about>: <value> (<outlets>); <value> (<outlets>).``"""
    return describe_conflict(conflict, {a.id: (a.article.outlet.strip() or a.id) for a in analyzed})


def _words(text: str) -> int:
    return len(_WORD.findall(text))


_STATUS_RANK = {"consensus": 0, "partial": 1, "unique": 2}


def select_facts(
    candidates: Sequence[Candidate],
    salience: np.ndarray,
    terms: Sequence[frozenset[int]],
    term_weights: np.ndarray,
    *,
    sentences: int,
    words: int | None = None,
    redundancy: float = 0.6,
    status_first: bool = True,
    length_power: float = 0.0,
    sentence_weight: float = 0.0,
    drop_loaded: bool = True,
) -> list[tuple[Fact, Wording]]:
    """Steps 2-3 of :func:`summarize`: one wording per fact, then the greedy choice of facts.

    ``salience[i]`` is the sentence model's score of ``candidates[i]`` and ``terms[i]`` its term
    ids, whose weights (the probability that an editor's summary uses them) are ``term_weights``.
    Each step takes the fact with the largest gain: the weight of the terms it adds to those
    already covered over its length ** ``length_power``, plus ``sentence_weight`` * salience
    (a coverage objective, so redundancy costs gain by itself). The result is in selection order.
    A fact whose every wording is loaded is left out when ``drop_loaded`` is set, else quoted in
    its least loaded wording without a long premodifier chain.
    """
    # 2. one wording per fact: the least loaded allowed one, the most salient on a tie
    options: dict[str, tuple[Fact, list[int]]] = {}
    for i, c in enumerate(candidates):
        options.setdefault(c.fact.id, (c.fact, []))[1].append(i)
    picks: list[tuple[Fact, int]] = []
    for fact, rows in options.values():
        wordings = [candidates[i].wording for i in rows]
        allowed = {id(w) for w in choose_wordings(wordings)}
        if not allowed and not drop_loaded:
            allowed = {id(w) for w in wordings if not w.has_premodifier}
        if not allowed:
            log.debug("fact %s dropped: every wording is loaded", fact.id)
            continue
        best = min(
            (i for i in rows if id(candidates[i].wording) in allowed),
            key=lambda i: (candidates[i].wording.penalty, -salience[i], i),
        )
        picks.append((fact, best))
    # 3. greedy coverage; a wording that reads badly out of context (an opening pronoun, a
    # quotation cut by the sentence splitter) goes after those that read cleanly
    chosen: list[tuple[Fact, Wording]] = []
    covered: set[int] = set()
    total = 0

    def key(pick: tuple[Fact, int], covered: frozenset[int]) -> tuple[int, bool, float, str]:
        fact, i = pick
        w = candidates[i].wording
        gain = sum(term_weights[t] for t in terms[i] - covered)
        gain /= max(_words(w.mention.text), 1) ** length_power
        gain += sentence_weight * salience[i]
        return (_STATUS_RANK[fact.status] if status_first else 0, w.readability > 0, -gain, fact.id)

    while picks and len(chosen) < sentences and (words is None or total < words):
        fact, i = min(picks, key=partial(key, covered=frozenset(covered)))
        picks.remove((fact, i))
        pick = candidates[i].wording
        if any(_similar(pick.mention.text, w.mention.text, limit=redundancy) for _, w in chosen):
            continue
        chosen.append((fact, pick))
        covered |= terms[i]
        total += _words(pick.mention.text)
    return chosen


def summarize(
    analyzed: Sequence[AnalyzedArticle],
    facts: Sequence[Fact],
    conflicts: Sequence[Conflict],
    *,
    sentences: int = 5,
    words: int | None = None,
    framing: Framing | None = None,
    redundancy: float | None = None,
    fill_unique: bool = True,
    status_first: bool | None = None,
    model: SelectionModel | None = None,
) -> list[SummaryEntry]:
    """The summary entries: at most ``sentences`` of them and, when ``words`` is set, no more
    facts once the chosen ones reach ``words`` words.

    1. assess every mention of the candidate facts (consensus and partial; unique ones too when
       ``fill_unique`` is set, so a story with little overlap still gets a summary), score it
       with the learned sentence model (:func:`candidate_features`) and weigh the story's terms
       with the learned term model (:func:`term_features`);
    2. for each fact keep the wordings :func:`choose_wordings` allows (dropping facts whose every
       wording is loaded) and quote the least loaded of them, the most salient on a tie;
    3. choose facts greedily by the terms they add and their score (:func:`select_facts`),
       by status first (consensus, partial, unique) when ``status_first`` is set (default: as
       the model was cross-validated), wordings that read badly out of context last; skip a
       fact too similar to one already chosen (``redundancy``, default the model's); stop at
       ``sentences`` facts or ``words`` words;
    4. one dispute entry per conflict, most confident first;
    5. assemble: consensus facts, then disputes, then partial and unique facts, cut at
       ``sentences``; the consensus facts leave room for up to a third of the summary in
       disputes.
    """
    framing = framing or Framing()
    model = model or load_selection_model()
    order = {a.id: i for i, a in enumerate(analyzed)}
    # 1. candidates and their salience
    pool = [f for f in facts if f.status != "unique" or fill_unique]
    candidates = candidates_of(analyzed, pool, framing)
    if candidates:
        salience = model.sentence_scores(candidate_features(analyzed, candidates))
        terms, term_x, _ = term_features(analyzed, candidates, framing)
        weights = model.term_weights(term_x, articles=len(analyzed))
    else:
        salience, terms, weights = np.zeros(0), [], np.zeros(0)
    # 2.-3. wording and selection
    chosen = select_facts(
        candidates,
        salience,
        terms,
        weights,
        sentences=sentences,
        words=words,
        redundancy=model.redundancy if redundancy is None else redundancy,
        status_first=model.status_first if status_first is None else status_first,
        length_power=model.length_power,
        sentence_weight=model.sentence_weight,
        drop_loaded=model.drop_loaded,
    )
    entries = {
        status: [
            SummaryEntry(
                text=pick.mention.text,
                kind="fact",
                articles=tuple(sorted(set(fact.articles), key=lambda a: order.get(a, len(order)))),
                facts=(fact.id,),
                evidence=tuple(fact.mentions),
            )
            for fact, pick in chosen
            if fact.status == status
        ]
        for status in _STATUS_RANK
    }
    # 4. disputes
    disputes = [
        SummaryEntry(
            text=dispute_text(c, analyzed),
            kind="dispute",
            articles=tuple(
                sorted({a for v in c.values for a in v.articles}, key=lambda a: order.get(a, len(order)))
            ),
            conflicts=(c.id,),
            evidence=tuple(m for v in c.values for m in v.evidence),
        )
        for c in sorted(conflicts, key=lambda c: (-c.confidence, c.id))
        if c.confidence >= DISPUTE_CONFIDENCE
    ]
    # 5. assemble, keeping room for the most confident disputes (a third of the summary at most)
    room = min(len(disputes), max(1, sentences // 3)) if sentences > 1 else 0
    consensus = entries["consensus"][: max(sentences - room, 0)]
    out = consensus + disputes + entries["partial"] + entries["unique"]
    return out[:sentences]
