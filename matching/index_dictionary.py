"""Which words Meilisearch's `dictionary` setting has to carry: only those its own segmentation would cut so
that searching the word misses postings that contain it.

Why trim: Meilisearch 1.21 builds its tokenizer from the `dictionary` on every search. Measured on a
1,000-document scratch index: no dictionary 0 ms of `processingTimeMs`, 10–300 words ≈ 2 ms, 1,000 words
≈ 5–11 ms, the 2,007 catalogue, county and pay words 17–25 ms (loadtests/README.md, "Kiosk search and
matching benchmarks"). Most of those words need no entry: Meilisearch segments a query and a document with
the same jieba dictionary, so a word it cuts into pieces (电焊工 → 电焊/工) is cut the same way in both and
still found. What breaks search is a word whose first or last character the segmenter glues to a
*neighbour* in the document: 急招安保员 → 急/招安/保员, so 安保员 (安保/员) does not find it; 九龙坡道孚 → …/坡道/孚.

The rule, emulated here with Python jieba's default dictionary (the dictionary jieba-rs, and so Meilisearch,
uses; HMM off, as Meilisearch runs it): a word needs an entry when, in one of the `CONTEXTS` postings and
kiosk phrases put around trade, place and pay words, the segmentation of the context has no word boundary
at the word's start or end. Dictionary entries are matched first (leftmost, longest) and only the text
between them goes to jieba, so an entry can itself glue a neighbour (招工 in 长期招工地安全员): the rule runs
to a fixed point with the entries already chosen. tests/matching/test_index_dictionary.py checks the
outcome against the real server: every word Meilisearch breaks without a dictionary is kept, and with the
trimmed dictionary none breaks.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import Callable, Iterable

Cut = Callable[[str], list[str]]

PLACEHOLDER = "{w}"
# Neighbours seen in posting titles and descriptions (generated corpora, relevance set, imports) and kiosk
# phrases: the word alone, after 招/招聘/急招/长期招/a district, before 若干名/日结/包吃住/普工/师傅/学徒/a wage.
CONTEXTS: tuple[str, ...] = (
    "{w}",
    "招聘{w}",
    "急招{w}若干名",
    "九龙坡{w}日结",
    "{w}包吃住",
    "川渝在九龙坡招{w}，包住，工作稳定。",
    "长期招{w}普工",
    "{w}师傅",
    "{w}学徒",
    "渝北区{w}月薪6000",
)
MAX_ROUNDS = 10


def segment(text: str, entries: frozenset[str], cut: Cut) -> list[str]:
    """Words of `text` as Meilisearch cuts them: dictionary entries first (leftmost, then longest), jieba
    (`cut`) on the text between them."""
    words: list[str] = []
    position = 0
    pattern = _entry_pattern(entries)
    if pattern is not None:
        for match in pattern.finditer(text):
            if position < match.start():
                words.extend(cut(text[position:match.start()]))
            words.append(match.group())
            position = match.end()
    if position < len(text):
        words.extend(cut(text[position:]))
    return words


@functools.lru_cache(maxsize=64)
def _entry_pattern(entries: frozenset[str]) -> re.Pattern[str] | None:
    # An alternation tries its branches in order at the leftmost position: longest first = leftmost-longest.
    if not entries:
        return None
    return re.compile("|".join(re.escape(e) for e in sorted(entries, key=lambda e: (-len(e), e))))


def _boundaries(words: Iterable[str]) -> set[int]:
    found = {0}
    position = 0
    for word in words:
        position += len(word)
        found.add(position)
    return found


def broken_contexts(word: str, entries: frozenset[str], cut: Cut,
                    contexts: tuple[str, ...] = CONTEXTS) -> tuple[str, ...]:
    """The contexts in which the segmentation does not keep `word` apart from its neighbours."""
    broken = []
    for context in contexts:
        start = context.index(PLACEHOLDER)
        text = context.replace(PLACEHOLDER, word)
        boundaries = _boundaries(segment(text, entries, cut))
        if start not in boundaries or start + len(word) not in boundaries:
            broken.append(context)
    return tuple(broken)


def needed_entries(words: Iterable[str], cut: Cut, contexts: tuple[str, ...] = CONTEXTS) -> list[str]:
    """The words (of `words`) the dictionary must keep whole, sorted: grown until no word breaks that an
    entry would keep whole (or MAX_ROUNDS)."""
    candidates = sorted({w for w in words if len(w) >= 2})
    cached_cut = functools.lru_cache(maxsize=None)(lambda text: tuple(cut(text)))

    def memoised(text: str) -> list[str]:
        return list(cached_cut(text))

    entries: frozenset[str] = frozenset()
    for _ in range(MAX_ROUNDS):
        broken = {w for w in candidates if w not in entries and broken_contexts(w, entries, memoised, contexts)}
        if not broken:
            break
        entries = entries | broken
    return sorted(entries)


@functools.cache
def default_cut() -> Cut:
    """jieba's default dictionary, HMM off: the segmentation Meilisearch applies to Chinese text."""
    with warnings.catch_warnings():
        # jieba 0.42's regexes have invalid escapes (see matching/segmentation.py).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import jieba
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()

    def cut(text: str) -> list[str]:
        return list(tokenizer.lcut(text, HMM=False))

    return cut


@functools.lru_cache(maxsize=8)
def dictionary_for(words: frozenset[str]) -> tuple[str, ...]:
    """`needed_entries` with the default segmentation, memoised per word set (one catalogue version)."""
    return tuple(needed_entries(words, default_cut()))
