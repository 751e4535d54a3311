"""Stage 5: direct quotations, their speakers, and how each outlet renders them.

The stage is split by concern: :mod:`~parallax.quotes.marks` (pairing marks),
:mod:`~parallax.quotes.nonquotes` (titles, scare quotes, terms), :mod:`~parallax.quotes.lexicon`
(word lists), :mod:`~parallax.quotes.speakers` (who speaks), :mod:`~parallax.quotes.direct`
(direct quotations of one article), :mod:`~parallax.quotes.cues` (the learned cue table),
:mod:`~parallax.quotes.attributions` (direct, indirect and mixed attributions),
:mod:`~parallax.quotes.grouping` (one quotation across articles) and
:mod:`~parallax.quotes.story` (statements and voices of a story). The public names are
re-exported here.

Three steps, each a plain function:

* :func:`find_quote_marks` pairs double quotation marks in a text (no spaCy needed);
* :func:`extract_quotes` turns the pairs of one analysed article into :class:`QuoteSpan` records
  with a speaker and a cue verb read off the dependency parse;
* :func:`group_quotes` merges the same quotation across articles into one :class:`Quote` with
  one :class:`QuoteRendering` per article, each classed by its fidelity to the fullest wording.

:func:`find_quotes` groups the quotations of a story; :func:`find_attributions` (what
:mod:`parallax.pipeline` calls) adds every attribution, direct, indirect ("X said that ...",
"according to X") or mixed, found by :func:`extract_attributions` with a cue table learned on
PolNeAR train (:func:`load_cue_table`), groups them into statements across outlets
(:func:`group_statements`), counts whose voice each article carries (:func:`count_voices`), and
lists the quoted words that are not quotations (titles, scare quotes, terms and nicknames).

Conventions chosen here (they matter to downstream readers):

* Only *double* marks delimit quotations (“ ” " « » „). Single marks inside a double quotation
  are part of it; single-quoted headline fragments are not quotations.
* A quotation running over paragraphs (the news convention: the paragraph does not close the
  quote and the next paragraph opens with a mark) is *one* span from the first quoted word to
  the last; its text therefore contains the paragraph break and the re-opening mark.
* ``QuoteSpan.cue`` is the cue verb's lemma plus its particle when it has one ("say",
  "tell", "point out"); the object ("told *the paper*") is not stored.
* ``QuoteSpan.speaker`` is the resolved speaker (a person's full name as first mentioned in the
  article, or a named organisation or group); a speaker that cannot be resolved to a name (a
  pronoun, "a source", "Her comments") is None, its words kept in ``speaker_phrase``;
  ``speaker_start``/``speaker_end`` locate the *local* mention that names it (the pronoun in
  "she said", the name in "Lappos told").
"""

from parallax.quotes.attributions import extract_attributions, join_quote_fragments
from parallax.quotes.cues import (
    CUE_FRAMES,
    CUE_TABLE_PATH,
    REPORTING_VERBS,
    CueCandidate,
    CueTable,
    cue_candidates,
    load_cue_table,
)
from parallax.quotes.direct import extract_quotes, quoted_token_mask
from parallax.quotes.grouping import fold_word, group_quotes, render_against
from parallax.quotes.marks import MarkedQuote, find_quote_marks
from parallax.quotes.speakers import SpeakerContext, speaker_context
from parallax.quotes.story import count_voices, find_attributions, find_quotes, group_statements

__all__ = [
    "CUE_FRAMES",
    "CUE_TABLE_PATH",
    "REPORTING_VERBS",
    "CueCandidate",
    "CueTable",
    "MarkedQuote",
    "SpeakerContext",
    "count_voices",
    "cue_candidates",
    "extract_attributions",
    "extract_quotes",
    "find_attributions",
    "find_quote_marks",
    "find_quotes",
    "fold_word",
    "group_quotes",
    "group_statements",
    "join_quote_fragments",
    "load_cue_table",
    "quoted_token_mask",
    "render_against",
    "speaker_context",
]
