"""A small TF-IDF vectoriser for the summary's centrality features, without scikit-learn.

Why: ``parallax compare`` used scikit-learn's ``TfidfVectorizer`` for three cosines per sentence
(:func:`parallax.summary._centrality`), and importing scikit-learn took about 1.6 s of a cold run
(``python -X importtime``), more than the rest of the summary stage. :class:`TfidfVectorizer`
here gives the same matrix as scikit-learn's with ``sublinear_tf=True, stop_words="english"``
and the other defaults (lower-casing, tokens of two or more word characters, smoothed IDF
``ln((1 + n) / (1 + df)) + 1``, L2-normalised rows, columns in sorted term order);
``tests/test_tfidf.py`` compares the two on real articles. scikit-learn stays a dev/eval
dependency. :data:`ENGLISH_STOP_WORDS` is scikit-learn's list (BSD-3-Clause, copied verbatim).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

__all__ = ["ENGLISH_STOP_WORDS", "TfidfVectorizer"]

_STOP_WORDS = """
a about above across after afterwards again against all almost alone along already also
although always am among amongst amoungst amount an and another any anyhow anyone anything
anyway anywhere are around as at back be became because become becomes becoming been before
beforehand behind being below beside besides between beyond bill both bottom but by call can
cannot cant co con could couldnt cry de describe detail do done down due during each eg
eight either eleven else elsewhere empty enough etc even ever every everyone everything
everywhere except few fifteen fifty fill find fire first five for former formerly forty
found four from front full further get give go had has hasnt have he hence her here
hereafter hereby herein hereupon hers herself him himself his how however hundred i ie if in
inc indeed interest into is it its itself keep last latter latterly least less ltd made many
may me meanwhile might mill mine more moreover most mostly move much must my myself name
namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere
of off often on once one only onto or other others otherwise our ours ourselves out over own
part per perhaps please put rather re same see seem seemed seeming seems serious several she
should show side since sincere six sixty so some somehow someone something sometime
sometimes somewhere still such system take ten than that the their them themselves then
thence there thereafter thereby therefore therein thereupon these they thick thin third this
those though three through throughout thru thus to together too top toward towards twelve
twenty two un under until up upon us very via was we well were what whatever when whence
whenever where whereafter whereas whereby wherein whereupon wherever whether which while
whither who whoever whole whom whose why will with within without would yet you your yours
yourself yourselves
"""
ENGLISH_STOP_WORDS = frozenset(_STOP_WORDS.split())

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class TfidfVectorizer:
    """Sublinear-TF, smoothed-IDF, L2-normalised term vectors over a vocabulary fitted on texts.

    ``stop_words`` are dropped after tokenising (lower-cased words of two or more word
    characters, scikit-learn's default pattern). Fit once with :meth:`fit`, then
    :meth:`transform` any texts: terms outside the fitted vocabulary are ignored.
    """

    def __init__(self, *, stop_words: frozenset[str] = ENGLISH_STOP_WORDS) -> None:
        self.stop_words = stop_words
        self.vocabulary_: dict[str, int] = {}
        self.idf_: np.ndarray = np.zeros(0)

    def _terms(self, text: str) -> list[str]:
        return [t for t in _TOKEN.findall(text.lower()) if t not in self.stop_words]

    def fit(self, texts: Sequence[str]) -> TfidfVectorizer:
        """Learn the vocabulary and IDF weights of ``texts`` (an empty vocabulary when they hold
        no term but stop words, where scikit-learn raises ``ValueError``: callers check
        ``vocabulary_``)."""
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(self._terms(text)))
        terms = sorted(df)
        self.vocabulary_ = {t: i for i, t in enumerate(terms)}
        n = len(texts)
        self.idf_ = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms])
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """One L2-normalised row per text (``len(texts)`` x vocabulary size, CSR)."""
        vocab = self.vocabulary_
        indptr = [0]
        cols: list[int] = []
        counts: list[int] = []
        for text in texts:
            found = Counter(i for i in (vocab.get(t) for t in self._terms(text)) if i is not None)
            for col in sorted(found):
                cols.append(col)
                counts.append(found[col])
            indptr.append(len(cols))
        col_arr = np.array(cols, dtype=np.int64)
        data = (np.log(np.array(counts, dtype=np.float64)) + 1.0) * self.idf_[col_arr]
        ptr = np.array(indptr, dtype=np.int64)
        rows = np.repeat(np.arange(len(texts)), np.diff(ptr))
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(texts)))
        norms[norms == 0] = 1.0
        data /= norms[rows]
        return sparse.csr_matrix((data, col_arr, ptr), shape=(len(texts), len(vocab)))
