"""Writes the relevance evaluation corpus (run once; the JSON files are committed and the test never
regenerates them): `uv run python tests/relevance/make_corpus.py`.

Seeded, so running it again gives the same files. Dates are relative (days from the test's today) so the
corpus never goes stale. Postings: the circle's counties × the trades people ask for in gig halls, titles
in the words people use (slang aliases, pay words, a little kana), some closed/held/expired; plus "anchor"
postings so every combination query has something to find. Workers: trades, home counties (many from
labour-exporting counties), consent, certificates, mobility.
"""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SEED = 20261125

COUNTIES = {
    "500107": "九龙坡", "500105": "江北", "500112": "渝北", "500106": "沙坪坝", "500108": "南岸", "500103": "渝中",
    "500113": "巴南", "500235": "云阳", "500101": "万州", "500116": "江津", "500117": "合川", "500120": "璧山",
    "510107": "武侯", "510104": "锦江", "510114": "新都", "510116": "双流", "510703": "涪城", "511702": "通川",
    "511302": "顺庆", "510502": "江阳",
}
# code → (name, words used in titles, certificate a posting may require)
TRADES: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "6-18-02-04": ("焊工", ("电焊工", "烧电焊的", "焊工", "氩弧焊工", "二保焊工"),
                   "特种作业操作证（焊接与热切割作业）"),
    "4-02-05-01": ("装卸搬运工", ("搬运工", "装卸工", "棒棒", "卸货工"), None),
    "6-29-01-01": ("砌筑工", ("建筑小工", "砖工", "砌砖工", "泥工"), None),
    "6-29-01-04": ("钢筋工", ("钢筋工", "扎钢筋的", "钢筋师傅"), None),
    "6-06-03-01": ("手工木工", ("木工", "木匠", "模板工", "支模工"), None),
    "6-30-05-01": ("起重装卸机械操作工", ("叉车司机", "叉车工", "塔吊司机", "行车工"),
                   "特种设备作业人员证（N1 叉车司机）"),
    "4-10-01-06": ("家政服务员", ("保姆", "住家阿姨", "月嫂", "育儿嫂", "家政阿姨"), "健康证"),
    "4-09-08-01": ("保洁员", ("保洁", "保洁阿姨", "清洁工", "物业保洁"), None),
    "4-03-02-01": ("中式烹调师", ("厨师", "大厨", "炒菜师傅", "川菜厨师"), "健康证"),
    "6-25-03-00": ("计算机及外部设备装配调试员", ("普工", "电子厂普工", "流水线工", "操作工"), None),
    "4-02-07-08": ("快递员", ("快递员", "快递小哥", "快递派送员"), None),
    "4-02-02-02": ("道路货运汽车驾驶员", ("货车司机", "大货车司机", "货车师傅"), "机动车驾驶证（A2/B2）"),
    "4-10-01-05": ("养老护理员", ("养老护理员", "养老护工", "护老员"), None),
    "6-29-04-01": ("装饰装修工", ("装修工", "油漆工", "贴砖工", "瓷砖工"), None),
    "6-29-01-03": ("混凝土工", ("混凝土工", "打灰工", "砼工", "振捣工"), None),
    "6-29-02-15": ("管道工", ("水电工", "水管工", "管道工"), None),
    "4-03-02-02": ("中式面点师", ("面点师", "白案师傅", "包子师傅"), "健康证"),
    "6-31-01-03": ("电工", ("电工", "维修电工", "电工师傅"), "特种作业操作证（低压电工作业）"),
    "4-02-07-09": ("快件处理员", ("分拣员", "快递分拣员"), None),
    "4-14-01-02": ("医疗护理员", ("护工", "医院护工", "陪护"), None),
    "4-12-01-01": ("汽车维修工", ("汽修工", "汽车修理工", "修车师傅"), None),
    "6-30-05-05": ("挖掘铲运和桩工机械司机", ("挖机司机", "挖掘机司机", "铲车司机"), None),
    "4-03-02-05": ("餐厅服务员", ("服务员", "传菜员", "餐厅服务员", "跑堂"), "健康证"),
}
BENEFITS = ("包吃", "包住", "社保", "交通补贴", "五险一金", "加班费")
EMPLOYERS = ("宏达", "渝发", "蜀兴", "巴渝", "锦城", "天府", "嘉陵", "长江", "川渝", "顺通", "鑫源", "德润")
KANA_TITLES = ("鲜の屋火锅店招聘服务员", "すし匠日料店招传菜员", "まる屋面馆招面点师", "の家政招住家阿姨")

# (county, trade, work_type, benefits) an anchor posting is made for (two each): the combination queries'.
ANCHORS = [
    ("500107", "6-18-02-04", "daily", ("包住",)), ("500105", "4-10-01-06", "full_time", ()),
    ("510107", "6-30-05-01", "full_time", ()), ("500112", "6-25-03-00", "daily", ()),
    ("510107", "4-03-02-05", "full_time", ("包吃",)), ("500106", "6-29-01-04", "full_time", ()),
    ("500101", "4-02-02-02", "full_time", ()), ("500235", "6-29-01-01", "daily", ()),
    ("510703", "4-03-02-01", "full_time", ()), ("500113", "4-09-08-01", "full_time", ()),
    ("500116", "6-06-03-01", "full_time", ("包住",)), ("500117", "6-30-05-05", "full_time", ()),
    ("510104", "4-02-07-08", "daily", ()), ("500108", "6-29-04-01", "full_time", ()),
    ("510114", "4-02-07-09", "gig", ()), ("500103", "4-14-01-02", "full_time", ()),
    ("511702", "6-31-01-03", "full_time", ("社保",)), ("500120", "4-03-02-02", "full_time", ("包吃", "包住")),
    ("510116", "4-02-05-01", "daily", ()), ("500107", "6-25-03-00", "daily", ()),
]


def wage(rng: random.Random, work_type: str) -> dict[str, object]:
    if work_type in ("daily", "gig"):
        low = rng.choice((150, 180, 200, 220, 250, 280, 300, 350))
        return {"min": low, "max": low + rng.choice((0, 20, 50, 100)), "unit": "day"}
    low = rng.choice((3500, 4000, 4500, 5000, 5500, 6000, 6500, 7000, 8000, 9000))
    return {"min": low, "max": low + rng.choice((500, 1000, 1500, 2000, 3000)), "unit": "month"}


def posting(rng: random.Random, n: int, adcode: str, code: str, work_type: str, benefits: tuple[str, ...],
            status: str = "open") -> dict[str, object]:
    name, words, certificate = TRADES[code]
    word = rng.choice(words)
    place = COUNTIES[adcode]
    pay = wage(rng, work_type)
    room_and_board = "包吃住" if set(benefits) >= {"包吃", "包住"} else ""
    templates = [f"急招{word}", f"{place}{word}", f"招聘{word}若干名", f"{rng.choice(EMPLOYERS)}公司招{word}",
                 f"{word} {'日结' if work_type == 'daily' else '长期'}", f"{place}急招{word} {room_and_board}".strip()]
    if pay["unit"] == "day":
        templates.append(f"{word} 日薪{pay['min']}")
    else:
        templates.append(f"{word} 月薪{pay['min']}起")
    title = rng.choice(templates)
    mood = rng.choice(("工作稳定", "按时发薪", "多劳多得", "环境好"))
    description = f"{rng.choice(EMPLOYERS)}在{place}招{word}（{name}），{'、'.join(benefits) or '待遇面议'}，{mood}。"
    return {
        "key": f"j{n:03d}", "title": title, "description": description, "occupation_code": code, "adcode": adcode,
        "work_type": work_type, "wage": pay, "benefits": list(benefits),
        "required_certificates": [certificate] if certificate and rng.random() < 0.3 else [],
        "headcount": rng.randint(1, 20), "start_in_days": rng.choice((-5, 0, 1, 2, 3, 7, 14, 30)),
        "posted_days_ago": rng.randint(0, 40), "expires_in_days": rng.randint(5, 60) if status != "expired" else -2,
        "status": "open" if status == "expired" else status, "age_min": None,
        "age_max": rng.choice((None, None, 55, 60)),
    }


def jobs(rng: random.Random) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for adcode, code, work_type, benefits in ANCHORS:
        for _ in range(2):
            out.append(posting(rng, len(out), adcode, code, work_type, benefits))
    counties, codes = list(COUNTIES), list(TRADES)
    while len(out) < 330:
        work_type = rng.choices(("full_time", "daily", "gig", "seasonal"), weights=(6, 3, 1, 1))[0]
        benefits = tuple(b for b in BENEFITS if rng.random() < 0.3)
        status = rng.choices(("open", "closed", "pending_review", "expired"), weights=(88, 5, 4, 3))[0]
        out.append(posting(rng, len(out), rng.choice(counties), rng.choice(codes), work_type, benefits, status))
    for title in KANA_TITLES:
        code = {"服务员": "4-03-02-05", "传菜员": "4-03-02-05", "面点师": "4-03-02-02", "住家阿姨": "4-10-01-06"}
        trade = next(c for w, c in code.items() if w in title)
        item = posting(rng, len(out), rng.choice(("510107", "510104", "500103")), trade, "full_time", ("包吃",))
        item["title"] = title
        out.append(item)
    return out


def workers(rng: random.Random) -> list[dict[str, object]]:
    exporters = ("500235", "500101", "511702", "511302", "510502")
    out: list[dict[str, object]] = []
    codes = list(TRADES)
    for n in range(400):
        code = rng.choice(codes)
        certificate = TRADES[code][2]
        home = rng.choice(exporters) if rng.random() < 0.4 else rng.choice(list(COUNTIES))
        desired = rng.sample(list(COUNTIES), k=rng.choice((0, 1, 1, 2)))
        second = [rng.choice(codes)] if rng.random() < 0.15 else []
        out.append({
            "key": f"w{n:03d}", "occupation_codes": [code, *second], "home_adcode": home,
            "current_adcode": rng.choice(list(COUNTIES)) if rng.random() < 0.2 else None,
            "desired_adcodes": desired, "willing_to_relocate": rng.random() < 0.3,
            "max_commute_km": rng.choice((None, None, 20, 50)),
            "certificates": [certificate] if certificate and rng.random() < 0.6 else [],
            "skills": [], "work_types": rng.sample(["full_time", "daily", "gig", "seasonal"], k=rng.choice((0, 1, 2))),
            "expected_wage": {"min": rng.choice((4000, 5000, 6000, 7000)), "max": 9000, "unit": "month"},
            "available_in_days": rng.choice((-30, -5, 0, 3, 10, 20)),
            "available_for_days": rng.choice((None, 60, 120)),
            "age": rng.randint(19, 62), "share_with_enterprises": rng.random() < 0.85,
            "experience_years": rng.randint(0, 25), "updated_days_ago": rng.randint(0, 60),
        })
    return out


# Cities of the corpus's counties (Chongqing's districts belong to the municipality itself).
CITY = {code: ("500000" if code.startswith("50") else code[:4] + "00") for code in COUNTIES}
DAILY_REACH_KM = 50.0


def _county_points() -> dict[str, tuple[float, float]]:
    # The shipped reference coordinates (data, not matching/'s code): county seats.
    with (HERE.parents[1] / "matching" / "reference" / "regions.csv").open(encoding="utf-8") as fh:
        return {row["adcode"]: (float(row["lat"]), float(row["lng"])) for row in csv.DictReader(fh)}


POINTS = _county_points()


def _km(a: str, b: str) -> float:
    (lat1, lng1), (lat2, lng2) = POINTS[a], POINTS[b]
    h = (math.sin(math.radians(lat2 - lat1) / 2) ** 2
         + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(math.radians(lng2 - lng1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def fits(job: dict[str, Any], worker: dict[str, Any]) -> int:
    """The labeller's judgement, written from the product rules (not from matching/): 2 = the trade, in the
    worker's own county; 1 = the trade, somewhere the worker is willing to work; 0 = not a fit."""
    if not worker["share_with_enterprises"] or job["occupation_code"] not in worker["occupation_codes"]:
        return 0
    if not set(job["required_certificates"]) <= set(worker["certificates"]):
        return 0
    if job["age_max"] is not None and worker["age"] > job["age_max"]:
        return 0
    if worker["work_types"] and job["work_type"] not in worker["work_types"]:
        return 0
    start = max(job["start_in_days"], 0)
    until = None if worker["available_for_days"] is None else worker["available_in_days"] + worker["available_for_days"]
    if until is not None and until < start:
        return 0
    local = job["adcode"] in (worker["home_adcode"], worker["current_adcode"])
    wanted = (job["adcode"] in worker["desired_adcodes"] or CITY[job["adcode"]] in worker["desired_adcodes"]
              # no desired regions: anywhere in the circle, but one day's pay is only worth a day's round trip
              or (not worker["desired_adcodes"]
                  and (job["work_type"] != "daily" or _km(worker["current_adcode"] or worker["home_adcode"],
                                                          job["adcode"]) <= DAILY_REACH_KM)))
    # nobody moves cities for one day's pay: for daily work, willing to relocate does not make a place fit
    relocates = worker["willing_to_relocate"] and job["work_type"] != "daily"
    if local:
        return 2
    return 1 if wanted or relocates else 0


def match_cases(job_list: list[dict[str, Any]], worker_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every 8th open posting with at least one fitting worker, labelled with its fitting workers."""
    cases = []
    for job in job_list[::8]:
        if job["status"] != "open" or job["expires_in_days"] < 0:
            continue
        relevant = {w["key"]: g for w in worker_list if (g := fits(job, w))}
        if relevant:
            cases.append({"job": job["key"], "relevant": relevant})
    return cases


def main() -> None:
    rng = random.Random(SEED)
    job_list = jobs(rng)
    worker_list = workers(rng)
    (HERE / "corpus_jobs.json").write_text(json.dumps(job_list, ensure_ascii=False, indent=0) + "\n")
    (HERE / "corpus_workers.json").write_text(json.dumps(worker_list, ensure_ascii=False, indent=0) + "\n")
    cases = match_cases(job_list, worker_list)
    (HERE / "match_cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=0) + "\n")
    print(len(job_list), "postings,", len(worker_list), "workers,", len(cases), "job → worker cases")


if __name__ == "__main__":
    main()
