"""The jieba analyzer used for query understanding and occupation inference.

Each Analyzer owns its own `jieba.Tokenizer` (never the global one every import shares), loaded with
the catalogue's trade words, the county names and the fixed pay/benefit words. Building one loads jieba's
dictionary (about a second), so an Analyzer is built once per catalogue version and swapped in atomically
through an AnalyzerHolder; readers keep the instance they took for the whole of one request.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable

# jieba 0.42's regexes have invalid escapes: Python 3.11 warns when it compiles them, which happens on
# every import where site-packages is read-only (no .pyc written), and a `filterwarnings = error` run
# turns that into an import error. The warnings are jieba's, not ours.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import jieba

from matching.catalogue import Catalogue
from matching.regions import RegionDirectory

# jieba logs "Building prefix dict …" at DEBUG/INFO on every tokenizer initialisation.
jieba.setLogLevel(logging.WARNING)

# High enough that a user word beats the default dictionary's splits (电焊 + 工), as jieba.add_word's default
# suggest_freq would, without the cost of computing it per word.
USER_WORD_FREQUENCY = 200_000


class Analyzer:
    """Segments Chinese text with the vocabulary of one catalogue version."""

    def __init__(self, user_words: Iterable[str], *, catalogue_version: int = 0) -> None:
        self.catalogue_version = catalogue_version
        self.user_words: frozenset[str] = frozenset(w for w in user_words if len(w) >= 2)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        # Words of jieba's own dictionary, before our user words are added: "a real word" for correction.
        self._base_words: frozenset[str] = frozenset(w for w, f in self._tokenizer.FREQ.items() if f > 0)
        for word in sorted(self.user_words):
            self._tokenizer.add_word(word, freq=USER_WORD_FREQUENCY)

    @classmethod
    def build(
        cls, catalogue: Catalogue, regions: RegionDirectory | None = None, extra_words: Iterable[str] = ()
    ) -> Analyzer:
        words = set(catalogue.analyzer_words(regions)) | set(extra_words)
        return cls(words, catalogue_version=catalogue.version)

    def cut(self, text: str) -> list[str]:
        """Words of `text`, whitespace and punctuation dropped; HMM off so unknown words are not invented."""
        return [w for w in self._tokenizer.lcut(text, HMM=False) if w.strip() and not _is_punctuation(w)]

    def is_user_word(self, word: str) -> bool:
        return word in self.user_words

    def is_dictionary_word(self, word: str) -> bool:
        """Whether `word` is in jieba's own dictionary (not counting the user words)."""
        return word in self._base_words

    def is_known_word(self, word: str) -> bool:
        return word in self.user_words or word in self._base_words


def _is_punctuation(word: str) -> bool:
    return all(not ch.isalnum() for ch in word)


class AnalyzerHolder:
    """The current Analyzer of a process; `replace` swaps in one built for a newer catalogue version."""

    def __init__(self, analyzer: Analyzer) -> None:
        self._current = analyzer
        self._lock = threading.Lock()

    @property
    def current(self) -> Analyzer:
        return self._current

    def replace(self, new: Analyzer) -> bool:
        """Install `new` unless the current one is already for a newer version; True when installed."""
        with self._lock:
            if new.catalogue_version < self._current.catalogue_version:
                return False
            self._current = new
            return True
