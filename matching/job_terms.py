"""Fixed words of the job market that are not occupations: pay schemes, benefits, start dates.

Kiosk query understanding maps them to filters; the analyzer and the Meilisearch dictionary keep them whole
(jieba and Meilisearch's jieba-rs split 日结 and 普工 into single characters otherwise).
"""

from __future__ import annotations

from typing import Literal

WorkType = Literal["full_time", "seasonal", "gig", "daily"]
WORK_TYPES: tuple[WorkType, ...] = ("full_time", "seasonal", "gig", "daily")

WORK_TYPE_WORDS: dict[str, WorkType] = {
    "日结": "daily",
    "日结工": "daily",
    "当天结": "daily",
    "现结": "daily",
    "零工": "gig",
    "临时工": "gig",
    "短期工": "gig",
    "短工": "gig",
    "长期": "full_time",
    "长期工": "full_time",
    "全职": "full_time",
    "兼职": "gig",  # part-time: 零工 in the platform's work types
    "正式工": "full_time",
    "季节工": "seasonal",
    "季节性": "seasonal",
}

# The canonical benefit names stored on postings, and the words that ask for them. Postings' benefits are free
# text; these are the ones enterprises write (the demo's too): a kiosk may ask for any benefit a hit shows.
BENEFITS: tuple[str, ...] = ("包吃", "包住", "社保", "交通补贴", "五险一金", "加班费", "满勤奖", "年终奖", "工作餐")
BENEFIT_WORDS: dict[str, tuple[str, ...]] = {
    "包吃": ("包吃",),
    "包饭": ("包吃",),
    "管饭": ("包吃",),
    "包住": ("包住",),
    "包宿": ("包住",),
    "管住": ("包住",),
    "包吃住": ("包吃", "包住"),
    "包食宿": ("包吃", "包住"),
    "社保": ("社保",),
    "买社保": ("社保",),
    "五险": ("社保",),
    "五险一金": ("五险一金",),
    "交通补贴": ("交通补贴",),
    "车补": ("交通补贴",),
    "加班费": ("加班费",),
    "满勤奖": ("满勤奖",),
    "全勤奖": ("满勤奖",),
    "年终奖": ("年终奖",),
    "工作餐": ("工作餐",),
}

# Words that mean "start within N days".
START_WORDS: dict[str, int] = {
    "今天开工": 0,
    "今天": 0,
    "今日": 0,
    "马上": 0,
    "立即": 0,
    "马上上班": 0,
    "明天": 1,
    "明天开工": 1,
    "后天": 2,
    "本周": 7,
    "这周": 7,
}

# Generic job-market words people type at kiosks; kept whole by the analyzer and the index dictionary.
GENERAL_JOB_WORDS: tuple[str, ...] = ("普工", "小工", "杂工", "力工", "大工", "学徒", "师傅", "招工", "招聘", "急招")


def all_job_terms() -> tuple[str, ...]:
    """Every fixed multi-character word above, sorted, for dictionaries."""
    words = set(WORK_TYPE_WORDS) | set(BENEFIT_WORDS) | set(START_WORDS) | set(GENERAL_JOB_WORDS)
    return tuple(sorted(w for w in words if len(w) >= 2))
