"""Correction of pinyin-input homophone mistakes against the catalogue vocabulary.

Kiosk users type pinyin and pick the wrong character with the right sound (电悍工 for 电焊工), and
the sound is their own: Southwestern Mandarin merges zh/ch/sh with z/c/s (师机 for 司机), n with l,
f with hu (湖 ~ 福) and -ng with -n. Meilisearch cannot help (no typo tolerance on Chinese words of
1–4 characters), so a phrase is corrected here before it is searched. A substring is replaced only
when it is not itself a vocabulary word or a real dictionary word and its fuzzy pinyin equals exactly
one vocabulary word's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pypinyin import Style, pinyin

_HU_TO_F = {"hu": "fu", "hua": "fa", "huai": "fai", "huan": "fan", "huang": "fan", "hui": "fei",
            "hun": "fen", "huo": "fo"}
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
MAX_READINGS = 16


def fuzzy_syllable(syllable: str) -> str:
    """One toneless syllable with the Southwestern merges applied: shi→si, nan→lan, hu→fu, ing→in."""
    s = syllable.lower().replace("ü", "v")
    s = _HU_TO_F.get(s, s)
    for retroflex, flat in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(retroflex):
            s = flat + s[2:]
            break
    if s.startswith("n") and not s.startswith("ng"):
        s = "l" + s[1:]
    if s.endswith("ng") and not s.endswith("ong"):
        s = s[:-1]
    return s


def fuzzy_keys(word: str) -> set[str]:
    """Fuzzy pinyin keys of `word`, one per combination of the characters' readings (capped)."""
    readings = pinyin(word, style=Style.NORMAL, heteronym=True, errors="default")
    options = [sorted({fuzzy_syllable(r) for r in rs}) for rs in readings]
    keys: set[str] = set()
    for combo in itertools.islice(itertools.product(*options), MAX_READINGS):
        keys.add(" ".join(combo))
    return keys


@dataclass(frozen=True, slots=True)
class Correction:
    original: str
    corrected: str


class HomophoneCorrector:
    """Built from a vocabulary (trade names, aliases, county names); corrects words and phrases."""

    def __init__(self, vocabulary: Iterable[str], is_real_word: Callable[[str], bool] | None = None) -> None:
        self.vocabulary: frozenset[str] = frozenset(
            w for w in vocabulary if len(w) >= 2 and _HAN_RUN.fullmatch(w)
        )
        self._is_real_word = is_real_word or (lambda _word: False)
        index: dict[str, set[str]] = {}
        for word in self.vocabulary:
            for key in fuzzy_keys(word):
                index.setdefault(key, set()).add(word)
        self._index = index
        self._lengths = sorted({len(w) for w in self.vocabulary}, reverse=True)

    def correct_word(self, word: str) -> str | None:
        """The vocabulary word `word` was mistyped for, or None (also None for a word typed right)."""
        if len(word) < 2 or word in self.vocabulary or self._is_real_word(word):
            return None
        candidates: set[str] = set()
        for key in fuzzy_keys(word):
            candidates |= self._index.get(key, set())
        if len(candidates) == 1:
            return next(iter(candidates))
        # several homophones: the one sharing the most characters with what was typed, if unique
        scored = sorted(
            ((sum(a == b for a, b in zip(c, word, strict=True)), c) for c in candidates), reverse=True
        )
        if len(scored) > 1 and scored[0][0] > scored[1][0] and scored[0][0] > 0:
            return scored[0][1]
        return None

    def correct_phrase(self, text: str) -> tuple[str, tuple[Correction, ...]]:
        """Corrected text and the corrections made; mistyped substrings inside longer runs are found too.

        Each run of Chinese characters is scanned left to right, longest vocabulary length first. A span that
        is a vocabulary word is kept and skipped over whole, so a right word is never partly "corrected".
        """
        corrections: list[Correction] = []

        def fix_run(match: re.Match[str]) -> str:
            run = match.group(0)
            out: list[str] = []
            i = 0
            while i < len(run):
                step = 1
                replaced: str | None = None
                for length in self._lengths:
                    if i + length > len(run):
                        continue
                    span = run[i : i + length]
                    if span in self.vocabulary:
                        step = length
                        break
                    fixed = self.correct_word(span)
                    if fixed is not None:
                        replaced, step = fixed, length
                        corrections.append(Correction(span, fixed))
                        break
                out.append(replaced if replaced is not None else run[i : i + step])
                i += step
            return "".join(out)

        corrected = _HAN_RUN.sub(fix_run, text)
        return corrected, tuple(corrections)
