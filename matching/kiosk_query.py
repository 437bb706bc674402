"""Kiosk query understanding: a free-text phrase → filters plus the words left for full-text search.

`九龙坡 电焊 日结 包住` → county 500107, occupation 6-18-02-04 (焊工, via the alias 电焊工), work type daily,
benefit 包住, nothing left over. Homophone mistakes are corrected first and reported (`corrected`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from matching.catalogue import ROLE_WORDS, Catalogue, WageUnit
from matching.homophones import Correction, HomophoneCorrector
from matching.job_terms import BENEFIT_WORDS, START_WORDS, WORK_TYPE_WORDS, WorkType
from matching.regions import Province, RegionDirectory, load_localities
from matching.segmentation import Analyzer
from matching.work_phrases import load_work_phrases

_T = TypeVar("_T")
MAX_QUERY_CHARS = 200
MAX_PARTIAL_CODES = 5
# A two-character word ending this many trade words is a word people type alone (see head_words).
HEAD_WORD_MIN_TRADES = 3
# Words that carry no meaning for a job search once the rest is understood.
FILLER_WORDS: frozenset[str] = frozenset(
    {"找", "招", "招工", "招聘", "工作", "要", "的", "人", "开工", "上班", "附近", "在", "有", "和"}
    | {"求职", "想"}
    # 找个活 / 有没有活 / 干活: "a", "work" — left as search words they match no posting and cost the phrase a
    # fallback search (找个工地的活 searched 个 活 before answering with what 工地 means).
    | {"个", "一个", "份", "一份", "活", "活儿", "干活", "找活", "有没有"}
    # 急招 ("hiring urgently") is the employer's word, in many titles; it says nothing of when the job starts.
    # Read as "starts today" it hid the posting whose own title was typed (沙坪坝急招二保焊工, starting in 10 days).
    | {"急招"}
)

# A whole number only: the tail of a longer run of digits is no wage (12345678以上 is not 345678).
_NUMBER = r"(?<![\d.])(\d{2,6})(?![\d.])"
# Amounts as people type them (5千, 8k, 1.2万, 1w, 六千, 两百, 三千五, 一万二), spelt out in digits before the wage
# patterns read them: 普工 5千以上 is a monthly 5000, not three words to search for.
_SCALES = {"百": 100, "千": 1000, "k": 1000, "K": 1000, "万": 10_000, "w": 10_000, "W": 10_000}
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SCALED_DIGITS = re.compile(r"(?<![\d.])(\d{1,4}(?:\.\d{1,2})?)\s*([百千kK万wW])(?![A-Za-z])")
_SCALED_CHINESE = re.compile(r"([一二两三四五六七八九])([百千万])([一二三四五六七八九](?![百千万十]))?")
_YUAN = r"\s*(?:元|块钱|块)?\s*"
_WAGE_PATTERNS: tuple[tuple[re.Pattern[str], WageUnit | None], ...] = (
    (re.compile(r"(?:日薪|日工资|每天|一天)" + _YUAN + _NUMBER + _YUAN + r"(?:以上|起)?"), "day"),
    (re.compile(_NUMBER + _YUAN + r"(?:一天|每天|/天|天)(?:以上|起)?"), "day"),
    (re.compile(r"(?:时薪|每小时)" + _YUAN + _NUMBER + _YUAN + r"(?:以上|起)?"), "hour"),
    (re.compile(_NUMBER + _YUAN + r"(?:一小时|每小时|/小时|/时)(?:以上|起)?"), "hour"),
    (re.compile(r"(?:月薪|月工资|工资|底薪|一个月|每个月|每月)" + _YUAN + _NUMBER + _YUAN + r"(?:以上|起)?"), "month"),
    (re.compile(_NUMBER + _YUAN + r"(?:一个月|每月|/月)(?:以上|起)?"), "month"),
    (re.compile(_NUMBER + _YUAN + r"(?:以上|起)"), None),  # unit from the amount
)


@dataclass(frozen=True, slots=True)
class Interpretation:
    adcodes: tuple[str, ...] = ()
    city_adcodes: tuple[str, ...] = ()
    provinces: tuple[Province, ...] = ()
    occupation_codes: tuple[str, ...] = ()
    work_type: WorkType | None = None
    benefits: tuple[str, ...] = ()
    wage_min: int | None = None
    wage_unit: WageUnit | None = None
    start_within_days: int | None = None
    remaining_text: str = ""
    corrected: str | None = None  # the corrected phrase when a correction was made
    corrections: tuple[Correction, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        """The `query.interpreted` object of the kiosk response."""
        return {
            "adcodes": list(self.adcodes),
            "city_adcodes": list(self.city_adcodes),
            "provinces": list(self.provinces),
            "occupation_codes": list(self.occupation_codes),
            "work_type": self.work_type,
            "benefits": list(self.benefits),
            "wage_min": self.wage_min,
            "wage_unit": self.wage_unit,
            "start_within_days": self.start_within_days,
            "remaining_text": self.remaining_text,
        }


class KioskQueryInterpreter:
    """Built once per catalogue version together with its Analyzer."""

    def __init__(self, catalogue: Catalogue, regions: RegionDirectory, analyzer: Analyzer) -> None:
        self.catalogue = catalogue
        self.regions = regions
        self.analyzer = analyzer
        # Places people name instead of their district (杨家坪 → 九龙坡): read as that county.
        self.localities = load_localities(regions)
        # Tasks people name instead of the trade (带小孩 → 家政服务员), for the trades this catalogue offers.
        # A phrase follows its trade's replacement and is dropped with a retired trade, as aliases are.
        offered = {entry.occupation_code for entry in catalogue.active_entries()}
        self.work_phrases = {phrase: catalogue.resolve(code) for phrase, code in load_work_phrases().items()
                             if catalogue.resolve(code) in offered}
        # Every proper beginning of a locality's name or a phrase, so pieces the segmenter cut it into are joined
        # back (_join_known) without trying joins at words that begin none.
        self._joinable = self.localities.keys() | self.work_phrases.keys()
        self._joinable_heads = frozenset(name[:n] for name in self._joinable for n in range(1, len(name)))
        place_words = [*regions.place_words(), *self.localities]
        trade_words = list(catalogue.alias_map())
        self.corrector = HomophoneCorrector(
            [*trade_words, *place_words, *head_words(trade_words, analyzer.is_dictionary_word),
             *WORK_TYPE_WORDS, *BENEFIT_WORDS],
            analyzer.is_dictionary_word,
        )
        self._levels = {e.occupation_code: e.shortage_level for e in catalogue.entries}
        # Partial matching (电焊 → 电焊工 → 6-18-02-04), answered by one look-up: every substring of two
        # characters or more of every trade name and alias → the codes of the words containing it, already
        # in the answer's order (empty when more than MAX_PARTIAL_CODES). ~18k substrings for ~1.5k words;
        # scanning every word per token cost ~0.1–1 ms per phrase.
        containing: dict[str, set[str]] = {}
        for word, code in catalogue.alias_map().items():
            for start in range(len(word) - 1):
                for end in range(start + 2, len(word) + 1):
                    containing.setdefault(word[start:end], set()).add(code)
        self._partial: dict[str, tuple[str, ...]] = {
            part: self._ordered(codes) if len(codes) <= MAX_PARTIAL_CODES else ()
            for part, codes in containing.items()
        }

    def interpret(self, text: str) -> Interpretation:
        text = unicodedata.normalize("NFKC", text).strip()[:MAX_QUERY_CHARS]
        corrected_text, corrections = self.corrector.correct_phrase(text)
        rest, wage_min, wage_unit = _extract_wage(corrected_text)

        adcodes: list[str] = []
        cities: list[str] = []
        provinces: list[Province] = []
        codes: list[str] = []
        benefits: list[str] = []
        work_type: WorkType | None = None
        start: int | None = None
        remaining: list[str] = []
        # Work phrases (position among the leftovers, phrase, trade): their trade only when the phrase names no
        # trade by one of the catalogue's own words — in 保姆 会做川菜 the trade is 保姆 and 做川菜 words to search
        # for, not a cook; in 保姆 带小孩 the phrase says the trade again and is understood. Part of a trade's name
        # is no such word: beside 叉车 (one trade) the phrase's trade comes first, and it replaces a guess.
        tasks: list[tuple[int, str, str]] = []
        named = False
        # Codes read from part of a trade's name that fits several trades (工地: site electricians, safety
        # officers): a guess, which a task phrase beside it replaces (工地 扛包 asks for porters, not for them).
        guesses: set[str] = set()
        tokens, work_codes = self._join_work(self._join_known(self.analyzer.cut(rest)))
        for token in tokens:
            if token in FILLER_WORDS:
                continue
            locality = self.localities.get(token)
            places = (locality,) if locality else self.regions.adcodes_for_word(token)
            if places:
                for adcode in places:
                    region = self.regions.require(adcode)
                    if region.level == "county":
                        adcodes.append(adcode)
                    elif region.level == "city":
                        cities.append(adcode)
                    else:
                        provinces.append(region.province)
                continue
            if token in WORK_TYPE_WORDS:
                work_type = work_type or WORK_TYPE_WORDS[token]
                continue
            if token in BENEFIT_WORDS:
                benefits.extend(BENEFIT_WORDS[token])
                continue
            if token in START_WORDS:
                days = START_WORDS[token]
                start = days if start is None else min(start, days)
                continue
            code = work_codes.get(token) or self.catalogue.code_for_word(token)
            if code is not None:
                codes.append(code)
                named = True
                continue
            # Partial matching before the phrases: a word the catalogue's own names read (流水线 in 汽车流水线工 and
            # 流水线工, 炒菜 in 炒菜师傅) keeps that reading, all of its trades, even beside another trade.
            partial = self._partial_codes(token)
            if partial:
                codes.extend(partial)
                if len(partial) > 1:
                    guesses.update(partial)
                continue
            task = self.work_phrases.get(token)
            if task is not None:
                tasks.append((len(remaining), token, task))
                continue
            remaining.append(token)
        if named:
            for position, phrase, task in reversed(tasks):
                if task not in codes:
                    remaining[position:position] = self.analyzer.cut(phrase)
        elif tasks:
            codes = [*(task for _, _, task in tasks), *(code for code in codes if code not in guesses)]
        return Interpretation(
            adcodes=_unique(adcodes),
            city_adcodes=_unique(cities),
            provinces=_unique(provinces),
            occupation_codes=_unique(codes),
            work_type=work_type,
            benefits=_unique(benefits),
            wage_min=wage_min,
            wage_unit=wage_unit,
            start_within_days=start,
            remaining_text=" ".join(remaining),
            corrected=corrected_text if corrections else None,
            corrections=corrections,
        )

    def _join_known(self, tokens: list[str]) -> list[str]:
        """`tokens` with runs of adjacent pieces that spell a locality or a work phrase joined into it, longest
        first.

        The segmenter cuts names its dictionary does not hold (磁器口 → 磁器 口, 洪崖洞 → 洪 崖洞, 宽窄巷子 → 宽窄
        巷子, 带小孩 → 带 小孩) and the analyzer is shared with indexing, so the names are not added there: a join
        here finds such a name only where the pieces end exactly at its edges, never inside a longer word.
        Spaces between the pieces do not count (带 小孩 is 带小孩)."""
        joined: list[str] = []
        i = 0
        while i < len(tokens):
            found = 1
            text = tokens[i]
            j = i + 1
            while text in self._joinable_heads and j < len(tokens):
                text += tokens[j]
                j += 1
                if text in self._joinable:
                    found = j - i
            joined.append("".join(tokens[i : i + found]))
            i += found
        return joined

    def _join_work(self, tokens: list[str]) -> tuple[list[str], dict[str, str]]:
        """`tokens` with a role word that the catalogue reads as a trade (操作工, 普工: the catch-all 6-25-03-00) joined
        to the words before it that name its work, and the trade of each such join (`Catalogue.work_before_role`):
        车床 操作工 asks for lathe operators, not also for every assembly line. Other role words (师傅, 学徒) stay
        words to search for: 电焊 学徒 prefers postings that take apprentices, and 电焊 is read as a trade anyway."""
        joined: list[str] = []
        codes: dict[str, str] = {}
        for token in tokens:
            generic = token in ROLE_WORDS and self.catalogue.code_for_word(token) is not None
            work = self.catalogue.work_before_role(joined) if generic else None
            if work is None:
                joined.append(token)
                continue
            code, count = work
            text = "".join(joined[-count:]) + token
            joined[-count:] = [text]
            codes[text] = code
        return joined, codes

    def _partial_codes(self, token: str) -> tuple[str, ...]:
        """Codes of trades whose name or an alias contains `token` (two characters or more)."""
        if len(token) < 2 or not any("\u3400" <= ch <= "\u9fff" for ch in token):
            return ()
        return self._partial.get(token, ())

    def _ordered(self, codes: set[str]) -> tuple[str, ...]:
        """Most needed trade first (catalogue shortage level), then by code."""
        return tuple(sorted(codes, key=lambda c: (self._levels.get(c, 3), c)))


def head_words(trade_words: list[str], is_word: Callable[[str], bool],
               min_trades: int = HEAD_WORD_MIN_TRADES) -> list[str]:
    """The two-character endings several trade words share (司机 of 叉车司机, 货车司机, 挖机司机 …): people type
    them alone (`司机`, typed `师机`), and partial matching understands them, so correction must know them
    too. Only endings shared by `min_trades` words that are words of the segmenter's dictionary, so neither one
    alias's tail nor a fragment (业员 of 营业员) becomes a word to correct towards."""
    counts: dict[str, int] = {}
    for word in trade_words:
        tail = word[-2:]
        if len(word) > 2 and all("\u3400" <= ch <= "\u9fff" for ch in tail):
            counts[tail] = counts.get(tail, 0) + 1
    return sorted(tail for tail, n in counts.items() if n >= min_trades and is_word(tail))


def _spelt_out(text: str) -> str:
    """`text` with scaled amounts in plain digits: 5千 → 5000, 1.2万 → 12000, 两百 → 200, 三千五 → 3500."""

    def digits(match: re.Match[str]) -> str:
        return str(round(float(match.group(1)) * _SCALES[match.group(2)]))

    def chinese(match: re.Match[str]) -> str:
        scale = _SCALES[match.group(2)]
        tail = _CHINESE_DIGITS[match.group(3)] * scale // 10 if match.group(3) else 0
        return str(_CHINESE_DIGITS[match.group(1)] * scale + tail)

    return _SCALED_CHINESE.sub(chinese, _SCALED_DIGITS.sub(digits, text))


def _extract_wage(text: str) -> tuple[str, int | None, WageUnit | None]:
    spelt = _spelt_out(text)
    for pattern, unit in _WAGE_PATTERNS:
        match = pattern.search(spelt)
        if match is None:
            continue
        amount = int(match.group(1))
        resolved: WageUnit = unit if unit is not None else ("month" if amount >= 1000 else "day")
        return spelt[: match.start()] + " " + spelt[match.end() :], amount, resolved
    # No wage: the words stay as typed (a place or trade name holding 万 or 千 is not an amount).
    return text, None, None


def _unique(items: list[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))
