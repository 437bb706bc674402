"""In-memory typeahead over trades (codes, names, aliases) and places, by characters, pinyin and initials.

Every key is precomputed when the index is built (once per catalogue version): the word itself, its
full pinyin (`hangong`) and its initials (`hg`). A query is an exact lookup plus a prefix range found
with bisect in one sorted key list; only when those give too few answers are the Chinese keys
scanned for a substring.
Ranking: exact > prefix > contains, then name > alias > code > pinyin, then the more severe shortage. Chinese
characters that match nothing are looked up by their sound (电悍 → dian han → 电焊工), a pinyin-input slip.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pypinyin import Style, lazy_pinyin

from matching.catalogue import Catalogue
from matching.homophones import fuzzy_keys
from matching.regions import RegionDirectory

SuggestionKind = Literal["occupation", "region"]
MAX_QUERY_CHARS = 40
_HAN = re.compile(r"[\u3400-\u9fff]")
_HAN_ONLY = re.compile(r"[\u3400-\u9fff]+")

# field ranks: lower is better
_NAME, _ALIAS, _CODE, _PINYIN, _INITIALS = 0, 1, 2, 3, 4
_EXACT, _PREFIX, _CONTAINS, _SOUND = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: SuggestionKind
    code: str  # occupation code or adcode
    label: str  # display name
    matched: str  # the key that matched, normalised: an alias, the name, the code, `hangong`, `hg`
    shortage_level: int | None = None


@dataclass(frozen=True, slots=True)
class _Item:
    kind: SuggestionKind
    code: str
    label: str
    shortage_level: int | None


def normalise_query(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()[:MAX_QUERY_CHARS]
    return re.sub(r"[\s'’]+", "", text)


def _pinyin_keys(word: str) -> tuple[str, str] | None:
    if not _HAN.search(word):
        return None
    syllables = [s for s in lazy_pinyin(word, style=Style.NORMAL, errors="default") if s.strip()]
    if not syllables:
        return None
    return "".join(syllables).lower(), "".join(s[0] for s in syllables).lower()


class Typeahead:
    def __init__(self, catalogue: Catalogue | None = None, regions: RegionDirectory | None = None) -> None:
        self._items: list[_Item] = []
        keys: dict[tuple[str, int], int] = {}  # (key, item) → best field rank

        def add(key: str, item: int, field: int) -> None:
            key = normalise_query(key)
            if key and keys.get((key, item), 99) > field:
                keys[(key, item)] = field

        sound_words: list[tuple[str, int]] = []

        def add_word(word: str, item: int, field: int) -> None:
            add(word, item, field)
            sound_words.append((word, item))
            pinyin = _pinyin_keys(word)
            if pinyin is not None:
                add(pinyin[0], item, _PINYIN)
                add(pinyin[1], item, _INITIALS)

        if catalogue is not None:
            for entry in catalogue.active_entries():
                index = len(self._items)
                self._items.append(
                    _Item("occupation", entry.occupation_code, entry.name, entry.shortage_level)
                )
                add(entry.occupation_code, index, _CODE)
                add_word(entry.name, index, _NAME)
                for alias in entry.aliases:
                    add_word(alias, index, _ALIAS)
        if regions is not None:
            for region in regions:
                if region.level == "province":
                    continue
                index = len(self._items)
                self._items.append(_Item("region", region.adcode, region.name, None))
                add(region.adcode, index, _CODE)
                add_word(region.name, index, _NAME)
                add_word(region.short_name, index, _NAME)
        # (fuzzy syllables of a Chinese name or alias, item, the word) for look-ups by sound.
        self._sounds: list[tuple[str, int, str]] = sorted(
            {(key, index, word) for word, index in sound_words if _HAN_ONLY.fullmatch(word)
             for key in fuzzy_keys(word)})
        ordered = sorted(keys.items())
        self._keys: list[str] = [key for (key, _), _ in ordered]
        self._entries: list[tuple[int, int]] = [(item, field) for (_, item), field in ordered]
        # Chinese words and codes only, for the substring fallback (pinyin substrings are noise).
        self._contains_keys: list[tuple[str, int, int]] = [
            (key, item, field) for (key, item), field in ordered if field in (_NAME, _ALIAS, _CODE)
        ]

    def __len__(self) -> int:
        return len(self._items)

    def suggest(
        self, text: str, limit: int = 10, kinds: tuple[SuggestionKind, ...] = ("occupation", "region")
    ) -> list[Suggestion]:
        query = normalise_query(text)
        limit = max(1, min(limit, 50))
        if not query:
            return []
        best: dict[int, tuple[int, int, str]] = {}  # item → (match rank, field rank, matched key)

        def consider(item: int, match: int, field: int, key: str) -> None:
            if self._items[item].kind not in kinds:
                return
            rank = (match, field, key)
            if item not in best or rank < best[item]:
                best[item] = rank

        start = bisect.bisect_left(self._keys, query)
        end = bisect.bisect_left(self._keys, query + "\U0010ffff", lo=start)
        for position in range(start, end):
            key = self._keys[position]
            item, field = self._entries[position]
            consider(item, _EXACT if key == query else _PREFIX, field, key)
        if len(best) < limit and (len(query) >= 2 or _HAN.search(query)):
            for key, item, field in self._contains_keys:
                if query in key and not key.startswith(query):
                    consider(item, _CONTAINS, field, key)

        if not best and len(query) >= 2 and _HAN_ONLY.fullmatch(query):
            # Characters that match nothing may be a pinyin-input slip (电悍 for 电焊, 保母 for 保姆, 师机 for 司机
            # in the region's accent): the words starting with the same syllables, one per character typed, with
            # the Southwestern merges the search's correction uses (matching.homophones.fuzzy_keys: 师机 and 司机
            # are both `si ji`). The search corrects such a phrase; the
            # typeahead should offer the word before the phrase is sent.
            for sound in fuzzy_keys(query):
                start = bisect.bisect_left(self._sounds, (sound,))
                for position in range(start, len(self._sounds)):
                    key, item, word = self._sounds[position]
                    if key != sound and not key.startswith(sound + " "):
                        break
                    consider(item, _SOUND, _PINYIN, word)

        def order(item: int) -> tuple[int, int, int, int, str]:
            match, field, _ = best[item]
            entry = self._items[item]
            return (match, field, entry.shortage_level or 9, len(entry.label), entry.code)

        ranked = sorted(best, key=order)[:limit]
        return [
            Suggestion(
                self._items[i].kind,
                self._items[i].code,
                self._items[i].label,
                best[i][2],
                self._items[i].shortage_level,
            )
            for i in ranked
        ]
