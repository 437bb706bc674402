"""Correction of pinyin-input homophone mistakes against the catalogue vocabulary.

Kiosk users type pinyin and pick the wrong character with the right sound (电悍工 for 电焊工), and
the sound is their own: Southwestern Mandarin merges zh/ch/sh with z/c/s (师机 for 司机), n with l,
f with hu (湖 ~ 福) and -ng with -n. Meilisearch cannot help (no typo tolerance on Chinese words of
1–4 characters), so a phrase is corrected here before it is searched. A substring is replaced only
when it is not itself a vocabulary word or a real dictionary word, its fuzzy pinyin equals exactly
one vocabulary word's (or one such word shares the most characters with it), and that word keeps at least
half of the characters typed.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pypinyin import Style, pinyin

_HU_TO_F = {
    "hu": "fu",
    "hua": "fa",
    "huai": "fai",
    "huan": "fan",
    "huang": "fan",
    "hui": "fei",
    "hun": "fen",
    "huo": "fo",
}
_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
MAX_READINGS = 16
_MAX_WORD_CUT = 4  # the longest dictionary word looked for across a span's edges
# How many Chinese characters of one phrase are looked at for mistakes. A kiosk phrase is a few words (the
# relevance set's longest: 13 characters); past this, a phrase is pasted text or noise, not a pinyin slip. Each
# character looked at costs a reading look-up (~40 µs the first time a character is seen) and a scan of up to
# the longest vocabulary word: 200 characters of noise cost ~2 ms warm and ~10 ms with unseen characters, in front
# of every search of a public endpoint. The rest of the phrase is kept as typed (still segmented and understood).
MAX_SCANNED_CHARS = 40


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


@functools.lru_cache(maxsize=20_000)
def char_syllables(char: str) -> tuple[str, ...]:
    """Every reading of one character, fuzzy-normalised (the character itself when it has no pinyin)."""
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="default")
    options = sorted({fuzzy_syllable(r) for group in readings for r in group if r})
    return tuple(options) or (char,)


def fuzzy_keys(word: str) -> set[str]:
    """Fuzzy pinyin keys of `word`, one per combination of the characters' readings (capped)."""
    options = [char_syllables(ch) for ch in word]
    return {" ".join(combo) for combo in itertools.islice(itertools.product(*options), MAX_READINGS)}


@dataclass(frozen=True, slots=True)
class Correction:
    original: str
    corrected: str


class HomophoneCorrector:
    """Built from a vocabulary (trade names, aliases, county names); corrects words and phrases."""

    def __init__(self, vocabulary: Iterable[str], is_real_word: Callable[[str], bool] | None = None) -> None:
        self.vocabulary: frozenset[str] = frozenset(w for w in vocabulary if len(w) >= 2 and _HAN_RUN.fullmatch(w))
        self._is_real_word = is_real_word or (lambda _word: False)
        index: dict[str, set[str]] = {}
        prefixes: set[str] = set()
        for word in self.vocabulary:
            for key in fuzzy_keys(word):
                index.setdefault(key, set()).add(word)
                syllables = key.split(" ")
                prefixes.update(" ".join(syllables[:n]) for n in range(1, len(syllables) + 1))
        self._index = index
        self._prefixes = frozenset(prefixes)
        self._max_length = max((len(w) for w in self.vocabulary), default=0)

    def correct_word(self, word: str) -> str | None:
        """The vocabulary word `word` was mistyped for, or None (also None for a word typed right)."""
        if len(word) < 2 or word in self.vocabulary or self._is_real_word(word):
            return None
        candidates: set[str] = set()
        for key in fuzzy_keys(word):
            candidates |= self._index.get(key, set())
        return self._choose(word, candidates)

    def _choose(self, word: str, candidates: set[str]) -> str | None:
        # The one sharing the most characters with what was typed, if unique (several homophones), and only if
        # it keeps at least half of them: a pinyin slip picks a wrong character, not a wrong word, while a span
        # sounding like a trade or county in none or few of its own characters is another word typed right
        # that no dictionary here knows (按月 ~ 安岳, 满勤奖's 勤奖 ~ 綦江, 目检 ~ 木匠, 招石工 ~ 缫丝工).
        scored = sorted(((sum(a == b for a, b in zip(c, word, strict=True)), c) for c in candidates), reverse=True)
        if not scored or 2 * scored[0][0] < len(word):
            return None
        if len(scored) == 1 or scored[0][0] > scored[1][0]:
            return scored[0][1]
        return None

    def correct_phrase(self, text: str) -> tuple[str, tuple[Correction, ...]]:
        """Corrected text and the corrections made; mistyped substrings inside longer runs are found too.

        Each run of Chinese characters is scanned left to right, longest vocabulary length first. A span that
        is a vocabulary word is kept and skipped over whole, so a right word is never partly "corrected". Only the
        phrase's first MAX_SCANNED_CHARS Chinese characters are scanned; the rest is kept as typed.
        """
        corrections: list[Correction] = []
        budget = MAX_SCANNED_CHARS

        def fix_run(match: re.Match[str]) -> str:
            nonlocal budget
            whole = match.group(0)
            run, unscanned = whole[:budget], whole[budget:]
            budget -= len(run)
            if not run:
                return whole
            options = [char_syllables(ch) for ch in run]
            out: list[str] = []
            i = 0
            while i < len(run):
                step, replaced = self._fix_at(run, options, i)
                if replaced is not None:
                    corrections.append(Correction(run[i : i + step], replaced))
                out.append(replaced if replaced is not None else run[i : i + step])
                i += step
            return "".join(out) + unscanned

        corrected = _HAN_RUN.sub(fix_run, text)
        return corrected, tuple(corrections)

    def _cuts_a_word(self, run: str, start: int, end: int) -> bool:
        """Whether a real word covers half the span or more while reaching past it: 找个兼职 has 个兼, which sounds
        like 合江 (合 also reads gě), but 兼 begins 兼职, typed right. A longer mistake touching a word by chance
        (电悍工 before 工日 in 招电悍工日结) is still corrected."""
        for size in range(2, _MAX_WORD_CUT + 1):
            for left in range(max(0, start - size + 1), end):
                right = left + size
                if (start <= left and right <= end) or right <= start or right > len(run):
                    continue
                overlap = min(right, end) - max(left, start)
                if 2 * overlap >= end - start and self._is_real_word(run[left:right]):
                    return True
        return False

    def _fix_at(self, run: str, options: list[tuple[str, ...]], start: int) -> tuple[int, str | None]:
        """(characters consumed, replacement or None) at `start` of a run of Chinese characters.

        Pinyin keys are extended one character at a time and kept only while they are a prefix of some
        vocabulary key, so a long query costs little. The longest span that is a vocabulary word (kept) or
        a correctable mistake wins.
        """
        hits: list[tuple[int, set[str]]] = []
        partial = {""}
        for end in range(start, min(len(run), start + self._max_length)):
            extended = {f"{p} {o}" if p else o for p in partial for o in options[end]}
            partial = {k for k in itertools.islice(extended, MAX_READINGS * 4) if k in self._prefixes}
            if not partial:
                break
            length = end - start + 1
            if length >= 2:
                found: set[str] = set()
                for key in partial:
                    found |= self._index.get(key, set())
                if found:
                    hits.append((length, found))
        for length, candidates in reversed(hits):
            span = run[start : start + length]
            if span in self.vocabulary:
                return length, None
            if self._is_real_word(span) or self._cuts_a_word(run, start, start + length):
                continue
            fixed = self._choose(span, candidates)
            if fixed is not None:
                return length, fixed
        return 1, None
