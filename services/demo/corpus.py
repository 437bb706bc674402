"""A seeded generator of realistic, clearly synthetic workers, job postings and kiosk queries.

Pure: no I/O, no clock (``today`` is passed in), no global random state. The same ``(seed, today)`` gives the
same items in the same order, so the demo loader, the load-test corpora (``loadtests/corpus_cli.py``) and the
tests all see one data set. Items are plain dicts in the request shape of ``POST /v1/workers`` and
``POST /v1/jobs`` (dates as ISO strings), so they can be posted, imported as NDJSON or flattened to CSV as is.

What makes it realistic (and what the matching and kiosk features are exercised with):
- workers come mostly from the labour-exporting counties (城口, 巫溪, 巫山, 奉节, 酉阳, 秀山, 彭水, 石柱, 武隆,
  开州, 云阳; 凉山, 甘孜, 阿坝, 巴中, 广安, 南充, 达州 …); jobs mostly sit in the circle's cities (Chongqing's main
  districts and 璧山, Chengdu's districts, 绵阳, 德阳, 宜宾 …);
- trades come from the shared catalogue, weighted by shortage level; wages from the catalogue's wage bands,
  never below the provinces' minimum wage; daily and gig work paid by the day;
- titles and descriptions use the trades' aliases and market slang (招聘电焊工 包吃住 日结, 棒棒, 小工 …);
- labour brands (云阳面工, 开州厨师, 巴渝大嫂 …) on workers from their home counties;
- ID numbers are valid GB 11643 numbers (check character, working age) and phones valid mobile numbers, but
  both are random: every record says it is synthetic (notes, names of the organisations);
- a share of kiosk queries carry slang and Southwestern-Mandarin pinyin-input mistakes (电悍工, 叉车师机).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, TypeVar

from matching.catalogue import Catalogue, CatalogueEntry, load_initial_catalogue
from matching.certificates import certificate_names
from matching.identity import id_check_character
from matching.regions import Region, RegionDirectory, load_regions

SYNTHETIC_NOTE = "演示数据：合成人员，非真实个人信息"
CHINA_TZ = timezone(timedelta(hours=8))

# Floors a little above the highest published tier (CQ 2,100/month, SC 22/hour; a day is 8 hours), so no
# generated wage is ever below any county's minimum.
MIN_MONTH = 2200
MIN_HOUR = 23
MIN_DAY = 190

# ----------------------------------------------------------------------------------------------- places

# Labour-exporting counties named by the policy and the brief: weight per county.
ORIGIN_COUNTY_WEIGHTS: dict[str, float] = {
    "500229": 9,  # 城口
    "500238": 9,  # 巫溪
    "500237": 8,  # 巫山
    "500236": 9,  # 奉节
    "500242": 9,  # 酉阳
    "500241": 7,  # 秀山
    "500243": 8,  # 彭水
    "500240": 7,  # 石柱
    "500156": 6,  # 武隆
    "500154": 12,  # 开州
    "500235": 12,  # 云阳
    "500101": 5,  # 万州
    "500230": 4,  # 丰都
    "500233": 4,  # 忠县
    "500114": 3,  # 黔江
}
# Sichuan prefectures that send workers out: total weight spread over their counties.
ORIGIN_PREFECTURE_WEIGHTS: dict[str, float] = {
    "513400": 45,  # 凉山
    "513300": 15,  # 甘孜
    "513200": 12,  # 阿坝
    "511900": 30,  # 巴中
    "511600": 22,  # 广安
    "511300": 35,  # 南充
    "511700": 25,  # 达州
    "510800": 15,  # 广元
    "512000": 10,  # 资阳
    "511000": 8,  # 内江
}
# Where the jobs are: the circle's cities.
JOB_COUNTY_WEIGHTS: dict[str, float] = {
    # Chongqing: main districts (两江新区 spans 渝北, 江北 and 北碚), plus 璧山 and the nearer satellites
    "500112": 14, "500105": 8, "500107": 12, "500106": 9, "500108": 7, "500103": 6, "500104": 3,
    "500109": 5, "500113": 5, "500120": 6, "500116": 4, "500117": 2, "500118": 3, "500115": 3,
    "500102": 3, "500101": 3, "500111": 2, "500151": 2,
    # Chengdu
    "510107": 8, "510104": 5, "510105": 5, "510106": 6, "510108": 6, "510112": 8, "510116": 7,
    "510114": 5, "510117": 4, "510113": 3, "510115": 3, "510118": 2, "510185": 2,
    # 绵阳, 德阳, 宜宾, 泸州, 南充, 乐山, 遂宁, 内江, 眉山, 自贡
    "510703": 4, "510704": 2, "510603": 4, "510681": 2, "511502": 4, "511504": 2, "510502": 2,
    "511302": 2, "511102": 1, "510903": 1, "511002": 1, "511402": 1, "510302": 1,
}  # fmt: skip

STREETS = ("工业园区", "科技大道", "物流园", "建设路", "高新大道", "创业路", "滨江路", "民主路", "新华路",
           "金凤路", "迎宾大道", "产业园", "商贸城", "农贸市场旁", "经开区")

# ------------------------------------------------------------------------------------------------ trades

# Professions hardly anyone in a gig hall or a rural broker's list has: kept rare.
PROFESSIONAL_MAJOR_GROUP = "2-"
BLUE_COLLAR_INDUSTRIES = frozenset({"建筑施工", "家政康养", "生活服务", "农产品加工", "装备制造", "交通物流",
                                    "汽车制造", "电子信息", "材料化工"})
GIG_INDUSTRIES = frozenset({"建筑施工", "生活服务", "交通物流", "农产品加工", "家政康养"})
SHORTAGE_WEIGHT = {1: 5.0, 2: 3.0, 3: 1.5}

WORK_TYPE_WEIGHTS = {"full_time": 45, "daily": 25, "gig": 15, "seasonal": 15}
BENEFITS = ("包吃", "包住", "社保", "交通补贴", "五险", "加班费", "满勤奖", "年终奖", "工作餐", "带薪年假")
# (brand, adcode prefixes of the home counties, trade, gender or None, share of those workers carrying it).
# The first three are the policy's own examples (clause 11); the others are in the same style, for the demo.
LABOUR_BRANDS: tuple[tuple[str, tuple[str, ...], str, str | None, float], ...] = (
    ("云阳面工", ("500235",), "中式面点师", None, 0.35),
    ("开州厨师", ("500154",), "中式烹调师", None, 0.35),
    ("巴渝大嫂", ("50",), "家政服务员", "female", 0.08),
    ("奉节脐橙工", ("500236",), "园艺工", None, 0.2),
    ("武陵山乡厨", ("500242", "500241", "500243", "500240"), "中式烹调师", None, 0.12),
    ("川厨", ("51",), "中式烹调师", None, 0.04),
    ("川妹子家政", ("51",), "家政服务员", "female", 0.05),
    ("巴中建工", ("5119",), "钢筋工", None, 0.12),
    ("大凉山建工", ("5134",), "砌筑工", None, 0.12),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万覃武钱严莫孔向汤"  # noqa: E501
GIVEN_MALE = "伟强军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林洋磊成康星光天文云峰建国志兵海东亮"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂英秀兰萍红梅琴莉琳慧巧美娇雪琼凤菊翠蓉春芬素珍莲彩霞玉"
CONTACT_TITLES = ("经理", "主管", "师傅", "老师", "班长", "队长")

# Pinyin-input mistakes of a Southwestern-Mandarin speaker: zh/ch/sh → z/c/s, n ↔ l, f ↔ h, -n ↔ -ng, plus
# plain same-sound characters the input method offers first.
HOMOPHONE_CHARS: dict[str, str] = {
    "焊": "悍汗", "司": "师斯", "机": "鸡基", "师": "司狮", "工": "公功", "电": "店点", "厨": "除锄", "保": "宝饱",
    "姆": "母", "装": "庄壮", "修": "休", "搬": "般", "运": "云", "钢": "刚", "筋": "金精", "泥": "梨离", "木": "目",
    "水": "睡", "护": "户虎", "理": "李礼", "员": "园元", "车": "扯", "叉": "插差", "洁": "节杰", "快": "块",
    "递": "第弟", "砌": "气", "架": "价嫁", "子": "紫", "漆": "七", "油": "由", "面": "棉", "点": "典", "菜": "才",
    "家": "加佳", "政": "正证", "养": "样", "老": "劳", "货": "或", "驾": "价", "驶": "使", "杂": "砸", "小": "晓",
}
SLANG_QUERIES = ("烧电焊的", "棒棒", "小工", "杂工", "开叉车的", "扎钢筋的", "搭架子的", "下货的", "跑长途的",
                 "开大车的", "保姆", "住家阿姨", "钟点工", "刮腻子的", "做防水的", "水电工", "灶上师傅", "打灰工",
                 "装空调的", "普工", "电子厂普工", "快递小哥", "护工", "月嫂")
PAY_WORDS = ("日结", "包吃住", "包吃", "包住", "当天结", "周结", "今天开工", "明天开工", "工资高", "长期")


T = TypeVar("T")


def _weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(items, weights=weights, k=1)[0]


def _round_to(value: float, step: int) -> int:
    return int(round(value / step) * step)


def valid_id_number(adcode: str, birth: date, sequence: int) -> str:
    """A GB 11643-1999 ID number: region, birth date, 3-digit sequence (odd = male), check character."""
    first17 = f"{adcode}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_check_character(first17)


@dataclass
class Corpus:
    """Deterministic generator. Each stream (workers, jobs, queries) has its own RNG derived from the seed,
    so asking for more jobs does not change the workers."""

    seed: int = 20260101
    today: date = date(2026, 1, 1)
    catalogue: Catalogue = field(default_factory=load_initial_catalogue)
    regions: RegionDirectory = field(default_factory=load_regions)

    def __post_init__(self) -> None:
        counties = self.regions.counties()
        self._entries: tuple[CatalogueEntry, ...] = tuple(
            e for e in self.catalogue.active_entries() if e.wage_band is not None)
        self._origin: tuple[list[Region], list[float]] = self._origin_weights(counties)
        self._job_places: tuple[list[Region], list[float]] = self._job_weights(counties)
        self._worker_trades = self._trade_weights(for_workers=True)
        self._job_trades = {wt: self._trade_weights(for_workers=False, work_type=wt) for wt in WORK_TYPE_WEIGHTS}
        self._by_name = {e.name: e for e in self._entries}

    # ---------------------------------------------------------------------------------------- weights

    def _origin_weights(self, counties: Sequence[Region]) -> tuple[list[Region], list[float]]:
        by_prefecture: dict[str, int] = {}
        for region in counties:
            by_prefecture[region.city_adcode] = by_prefecture.get(region.city_adcode, 0) + 1
        places, weights = [], []
        for region in counties:
            weight = ORIGIN_COUNTY_WEIGHTS.get(region.adcode)
            if weight is None and region.city_adcode in ORIGIN_PREFECTURE_WEIGHTS:
                weight = ORIGIN_PREFECTURE_WEIGHTS[region.city_adcode] / by_prefecture[region.city_adcode]
            if weight is None:
                weight = {"no": 1.5, "partial": 1.5}.get(region.circle_membership, 0.4)
            places.append(region)
            weights.append(weight)
        return places, weights

    def _job_weights(self, counties: Sequence[Region]) -> tuple[list[Region], list[float]]:
        places, weights = [], []
        for region in counties:
            weight = JOB_COUNTY_WEIGHTS.get(region.adcode, 0.15 if region.in_circle else 0.02)
            places.append(region)
            weights.append(weight)
        return places, weights

    def _trade_weights(self, *, for_workers: bool,
                       work_type: str | None = None) -> tuple[list[CatalogueEntry], list[float]]:
        entries, weights = [], []
        for entry in self._entries:
            weight = SHORTAGE_WEIGHT.get(entry.shortage_level, 1.0)
            professional = entry.occupation_code.startswith(PROFESSIONAL_MAJOR_GROUP)
            if for_workers:
                weight *= 0.08 if professional else (1.6 if entry.industry in BLUE_COLLAR_INDUSTRIES else 1.0)
            elif work_type in ("daily", "gig"):
                if professional or entry.industry not in GIG_INDUSTRIES:
                    continue
                weight *= 3.0 if entry.wage_band is not None and entry.wage_band.unit == "day" else 1.0
            elif work_type == "seasonal":
                weight *= 0.1 if professional else (2.5 if entry.industry in ("农产品加工", "建筑施工") else 1.0)
            else:
                weight *= 0.35 if professional else 1.0
            entries.append(entry)
            weights.append(weight)
        return entries, weights

    # ----------------------------------------------------------------------------------------- people

    def _name(self, rng: random.Random, gender: str) -> str:
        given = GIVEN_MALE if gender == "male" else GIVEN_FEMALE
        return rng.choice(SURNAMES) + "".join(rng.choice(given) for _ in range(rng.choice((1, 2, 2))))

    @staticmethod
    def _phone(rng: random.Random) -> str:
        return rng.choice(("13", "15", "17", "18", "19")) + f"{rng.randrange(10**9):09d}"

    def _birth(self, rng: random.Random, min_age: int = 18, max_age: int = 58) -> date:
        # Anchored on 1 January so a person's ID number stays the same all year (the loader skips what exists).
        anchor = date(self.today.year, 1, 1)
        age_days = rng.randrange(int((min_age + 0.1) * 365.25), int((max_age + 0.9) * 365.25))
        return anchor - timedelta(days=age_days)

    def _brand(self, rng: random.Random, home: str, gender: str) -> tuple[str, CatalogueEntry] | None:
        roll = rng.random()
        for brand, prefixes, trade, brand_gender, share in LABOUR_BRANDS:
            if not any(home.startswith(p) for p in prefixes) or brand_gender not in (None, gender):
                continue
            if roll < share:
                entry = self._by_name.get(trade)
                return (brand, entry) if entry is not None else None
            roll -= share
        return None

    # -------------------------------------------------------------------------------------------- wages

    def _job_wage(self, rng: random.Random, entry: CatalogueEntry, work_type: str) -> dict[str, Any]:
        band = entry.wage_band
        assert band is not None
        if work_type in ("daily", "gig"):
            if band.unit == "day":
                low, high = band.min, band.max
            else:  # a monthly band as a day rate (26 working days a month at the low end, 22 at the top)
                low, high = band.min / 26, band.max / 22
            if work_type == "gig" and rng.random() < 0.25:  # some gig work is paid by the hour
                lo = max(MIN_HOUR, _round_to(rng.uniform(low, high) / 8, 1))
                return {"min": lo, "max": lo + rng.choice((0, 0, 2, 5)), "unit": "hour"}
            lo = max(MIN_DAY, _round_to(rng.uniform(low, (low + high) / 2), 10))
            hi = max(lo, _round_to(rng.uniform(lo, max(lo, high)), 10))
            return {"min": lo, "max": hi, "unit": "day"}
        if entry.industry == "农产品加工" and rng.random() < 0.15:  # piece rates (分拣、采摘) are common there
            per_piece = round(rng.uniform(0.3, 1.5), 1)
            return {"min": per_piece, "max": round(per_piece * rng.uniform(1.0, 1.5), 1), "unit": "piece"}
        if band.unit == "day":
            low, high = band.min * 26, band.max * 26
        else:
            low, high = band.min, band.max
        lo = max(MIN_MONTH, _round_to(rng.uniform(low, (low + high) / 2), 100))
        hi = max(lo, _round_to(rng.uniform((low + high) / 2, high * 1.1), 100))
        return {"min": lo, "max": hi, "unit": "month"}

    def _expected_wage(self, rng: random.Random, entry: CatalogueEntry) -> dict[str, Any] | None:
        band = entry.wage_band
        if band is None or rng.random() < 0.25:
            return None
        if band.unit == "day":
            lo = max(MIN_DAY, _round_to(rng.uniform(band.min, band.max), 10))
            return {"min": lo, "max": lo + rng.choice((0, 20, 50)), "unit": "day"}
        lo = max(MIN_MONTH, _round_to(rng.uniform(band.min * 0.9, band.max), 100))
        return {"min": lo, "max": lo + rng.choice((0, 500, 1000, 2000)), "unit": "month"}

    # ------------------------------------------------------------------------------------------ workers

    def workers(self, count: int, *, ref_prefix: str = "demo-w-") -> Iterator[dict[str, Any]]:
        """`count` worker profiles in the POST /v1/workers shape (external_ref `ref_prefix` + number)."""
        rng = random.Random(f"{self.seed}:workers")
        used_ids: set[str] = set()
        places, weights = self._origin
        trades, trade_weights = self._worker_trades
        for i in range(count):
            home = _weighted(rng, places, weights)
            birth = self._birth(rng)
            while True:
                sequence = rng.randrange(1000)
                id_number = valid_id_number(home.adcode, birth, sequence)
                if id_number not in used_ids:
                    used_ids.add(id_number)
                    break
                birth -= timedelta(days=1)
            gender = "male" if sequence % 2 == 1 else "female"
            brand = self._brand(rng, home.adcode, gender)
            primary = brand[1] if brand else _weighted(rng, trades, trade_weights)
            chosen = [primary]
            for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
                same_industry = [e for e in trades if e.industry == primary.industry and e not in chosen]
                if same_industry:
                    chosen.append(rng.choice(same_industry))
            occupations = [self._occupation_word(rng, e) for e in chosen]
            skills = list(dict.fromkeys(s for e in chosen for s in rng.sample(e.skills, min(len(e.skills), 2))))
            certificates = [c for e in chosen for c in e.certificates if rng.random() < 0.4]
            job_places, job_weights = self._job_places
            desired: list[str] = []
            if rng.random() < 0.55:
                desired = list(dict.fromkeys(_weighted(rng, job_places, job_weights).adcode
                                             for _ in range(rng.choice((1, 2, 3)))))
            current = home.adcode if rng.random() < 0.6 else _weighted(rng, job_places, job_weights).adcode
            work_types = sorted(set(rng.sample(list(WORK_TYPE_WEIGHTS), rng.choice((1, 1, 2, 3)))))
            given_at = datetime.combine(self.today - timedelta(days=rng.randrange(1, 180)),
                                        time(rng.randrange(8, 20), rng.randrange(60)), tzinfo=CHINA_TZ)
            body: dict[str, Any] = {
                "external_ref": f"{ref_prefix}{i + 1:06d}",
                "name": self._name(rng, gender),
                "id_number": id_number,
                "phone": self._phone(rng),
                "gender": gender,
                "home_adcode": home.adcode,
                "current_adcode": current,
                "occupations": occupations,
                "skills": skills[:6],
                "certificates": certificates[:4],
                "labour_brand": brand[0] if brand else None,
                "experience_years": min(40, max(0, int(rng.expovariate(1 / 6)))),
                "education": _weighted(rng, ("primary", "junior_secondary", "senior_secondary", "vocational",
                                             "college"), (15, 45, 18, 17, 5)),
                "desired_adcodes": desired,
                "willing_to_relocate": rng.random() < 0.7,
                "max_commute_km": rng.choice((None, 10.0, 20.0, 30.0, 50.0)),
                "expected_wage": self._expected_wage(rng, primary),
                "available_from": (self.today + timedelta(days=rng.randrange(-30, 21))).isoformat(),
                "available_until": None,
                "work_types": work_types,
                "notes": SYNTHETIC_NOTE,
                "consent": {"share_with_enterprises": rng.random() < 0.93,
                            "contact_by_sms": rng.random() < 0.7, "given_at": given_at.isoformat()},
            }
            yield body

    def _occupation_word(self, rng: random.Random, entry: CatalogueEntry) -> str:
        roll = rng.random()
        if roll < 0.5 or not entry.aliases:
            return entry.occupation_code if roll < 0.3 else entry.name
        return rng.choice(entry.aliases)

    # --------------------------------------------------------------------------------------------- jobs

    def jobs(self, count: int, *, ref_prefix: str = "demo-j-",
             noncompliant_share: float = 0.0) -> Iterator[dict[str, Any]]:
        """`count` postings in the POST /v1/jobs shape. With `noncompliant_share` > 0, that share carries a
        phrase the compliance check holds (男性优先) or rejects (报名费), as real postings sometimes do."""
        rng = random.Random(f"{self.seed}:jobs")
        places, weights = self._job_places
        work_types, wt_weights = list(WORK_TYPE_WEIGHTS), list(WORK_TYPE_WEIGHTS.values())
        for i in range(count):
            work_type = _weighted(rng, work_types, wt_weights)
            entries, entry_weights = self._job_trades[work_type]
            entry = _weighted(rng, entries, entry_weights)
            county = self._job_county(rng, entry, places, weights)
            wage = self._job_wage(rng, entry, work_type)
            start = self._start_date(rng, work_type)
            end = None
            if work_type == "gig":
                end = start + timedelta(days=rng.choice((0, 1, 2, 4, 6)))
            elif work_type == "seasonal":
                end = start + timedelta(days=rng.choice((30, 60, 90, 120)))
            benefits = self._benefits(rng, work_type)
            word = rng.choice(entry.aliases) if entry.aliases and rng.random() < 0.6 else entry.name
            headcount = max(1, int(rng.paretovariate(1.3))) if work_type == "full_time" else rng.randint(1, 15)
            title = self._title(rng, word, county, wage, work_type, start, benefits, headcount)
            description = self._description(rng, entry, county, wage, work_type, benefits)
            extra = rng.random() < noncompliant_share
            if extra:
                description += rng.choice(("男性优先。", "入职需交报名费100元。"))
            lat = county.lat + rng.gauss(0, 0.02)
            lng = county.lng + rng.gauss(0, 0.02)
            age_min, age_max = (None, None)
            if rng.random() < 0.35:
                age_min, age_max = 18, rng.choice((45, 50, 55, 60))
            body: dict[str, Any] = {
                "external_ref": f"{ref_prefix}{i + 1:06d}",
                "title": title[:100],
                "description": description,
                "occupation_code": entry.occupation_code,
                "headcount": min(headcount, 200),
                "adcode": county.adcode,
                "address": f"{county.name}{rng.choice(STREETS)}{rng.randint(1, 399)}号",
                "location": {"lat": round(lat, 6), "lng": round(lng, 6)},
                "wage": wage,
                "work_type": work_type,
                "start_date": start.isoformat(),
                "end_date": end.isoformat() if end else None,
                "benefits": benefits,
                "required_certificates": _as_enterprises_write(
                    [c for c in entry.certificates if rng.random() < 0.5][:3], short=i % 2 == 0),
                "age_min": age_min,
                "age_max": age_max,
                "contact": {"name": rng.choice(SURNAMES) + rng.choice(CONTACT_TITLES), "phone": self._phone(rng),
                            "note": "演示数据，电话为随机生成"},
            }
            yield body

    def _job_county(self, rng: random.Random, entry: CatalogueEntry, places: list[Region],
                    weights: list[float]) -> Region:
        # Half the time the catalogue's own regions for the trade decide (汽车 in 两江/龙泉驿 …).
        if entry.regions and rng.random() < 0.5:
            wanted = set(entry.regions)
            local = [(r, w) for r, w in zip(places, weights, strict=True)
                     if r.adcode in wanted or r.city_adcode in wanted]
            if local:
                return _weighted(rng, [r for r, _ in local], [max(w, 0.5) for _, w in local])
        return _weighted(rng, places, weights)

    def _start_date(self, rng: random.Random, work_type: str) -> date:
        if work_type in ("daily", "gig"):
            offset = _weighted(rng, (0, 1, 2, 3, 5, 7), (35, 30, 12, 8, 8, 7))
        else:
            offset = rng.choice((0, 1, 3, 5, 7, 10, 14, 21, 30))
        return self.today + timedelta(days=offset)

    @staticmethod
    def _benefits(rng: random.Random, work_type: str) -> list[str]:
        chosen = []
        for benefit, share in (("包吃", 0.6), ("包住", 0.45), ("社保", 0.55 if work_type == "full_time" else 0.05),
                               ("交通补贴", 0.2), ("加班费", 0.25), ("满勤奖", 0.2 if work_type == "full_time" else 0),
                               ("工作餐", 0.15), ("年终奖", 0.1 if work_type == "full_time" else 0)):
            if rng.random() < share:
                chosen.append(benefit)
        if work_type == "daily":
            chosen.insert(0, "日结")
        return chosen

    @staticmethod
    def _pay(wage: dict[str, Any]) -> str:
        unit = {"month": "月", "day": "天", "hour": "小时", "piece": "件"}[wage["unit"]]
        lo, hi = (f"{v:g}" for v in (wage["min"], wage["max"]))
        return f"{lo}元/{unit}" if lo == hi else f"{lo}-{hi}元/{unit}"

    def _title(self, rng: random.Random, word: str, county: Region, wage: dict[str, Any], work_type: str,
               start: date, benefits: list[str], headcount: int) -> str:
        perks = "包吃住" if {"包吃", "包住"} <= set(benefits) else ("包吃" if "包吃" in benefits else "")
        when = {0: "今天开工", 1: "明天开工"}.get((start - self.today).days, f"{start.month}月{start.day}日开工")
        place = county.short_name
        pay = self._pay(wage)
        templates = {
            "full_time": (f"招聘{word}{headcount}名 {perks} {pay}", f"{place}急招{word} {pay}",
                          f"长期招{word}，{perks or '五险'}，{pay}", f"诚聘{word} {place} {perks}",
                          f"{word}（{place}）{pay} {perks}"),
            "daily": (f"招{word} 日结 {pay} {when}", f"{place}{word} 日结{wage['min']:g}元 {when}",
                      f"急需{word}{headcount}人 当天结 {perks}", f"{word}临时工 日结 {place}"),
            "gig": (f"零工：{word} {pay} {when}", f"{place}短期{word} {pay}",
                    f"招{word}几天 {pay} {perks}", f"{word}{headcount}人 {when}"),
            "seasonal": (f"季节工：{word} {perks} {pay}", f"{place}招{word} 干到年底 {pay}",
                         f"旺季急招{word}{headcount}名 {perks}"),
        }[work_type]
        return " ".join(rng.choice(templates).split())

    def _description(self, rng: random.Random, entry: CatalogueEntry, county: Region, wage: dict[str, Any],
                     work_type: str, benefits: list[str]) -> str:
        skills = "、".join(rng.sample(entry.skills, min(2, len(entry.skills)))) if entry.skills else entry.name
        hours = rng.choice(("早8点到晚6点", "两班倒，白班夜班轮换", "早7点半上班，中午休息1小时", "每天8小时",
                            "做六休一", "活干完就收工"))
        needs = rng.choice(("有经验优先，新手可以带", "能吃苦耐劳", "会看图纸", "身体健康，能适应站立工作",
                            "有相关证书的工资另谈", "手脚麻利，服从安排"))
        perks = "、".join(benefits) if benefits else "待遇面议"
        pay = self._pay(wage)
        settle = {"daily": "当天结算", "gig": "干完结算", "seasonal": "按月发放，结束结清",
                  "full_time": "每月15号发上月工资"}[work_type]
        aliases = f"（{'、'.join(entry.aliases[:2])}）" if entry.aliases else ""
        return (f"工作内容：{entry.name}{aliases}，{skills}。工作地点：{county.name}。时间：{hours}。"
                f"要求：{needs}。待遇：{pay}，{settle}；{perks}。不收任何费用。（演示数据）")

    # ------------------------------------------------------------------------------------ kiosk queries

    def kiosk_queries(self, count: int, *, home_adcode: str = "500107") -> Iterator[dict[str, Any]]:
        """Queries a kiosk sends: `{kind, endpoint: search|suggest, params}`.

        kinds: `tap` (a trade tapped, district and chips), `text` (typed trade + place + pay words), `slang`,
        `homophone` (a pinyin-input mistake), `suggest` (typeahead prefixes: characters, pinyin, initials)."""
        from pypinyin import Style, lazy_pinyin

        rng = random.Random(f"{self.seed}:kiosk")
        trades, trade_weights = self._job_trades["daily"]
        all_entries, all_weights = self._job_trades["full_time"]
        places, weights = self._job_places
        kinds = ("tap", "text", "slang", "homophone", "suggest")
        for _ in range(count):
            kind = _weighted(rng, kinds, (40, 20, 12, 10, 18))
            entry = _weighted(rng, trades, trade_weights) if rng.random() < 0.6 else \
                _weighted(rng, all_entries, all_weights)
            county = home_adcode if rng.random() < 0.6 else _weighted(rng, places, weights).adcode
            params: dict[str, Any] = {}
            if kind == "tap":
                params = {"q": entry.name, "adcode": [county]}
                params.update(self._chips(rng))
            elif kind == "text":
                place = self.regions.require(county).short_name
                parts = [entry.name if rng.random() < 0.5 else rng.choice(entry.aliases or (entry.name,))]
                if rng.random() < 0.6:
                    parts.insert(rng.randrange(2), place)
                if rng.random() < 0.6:
                    parts.append(rng.choice(PAY_WORDS))
                if rng.random() < 0.2:
                    parts.append(f"{_round_to(rng.uniform(200, 400), 50)}一天")
                params = {"q": " ".join(parts) if rng.random() < 0.6 else "".join(parts)}
            elif kind == "slang":
                params = {"q": rng.choice(SLANG_QUERIES) + (rng.choice(("", " 日结", " 包吃住")) if rng.random() < 0.5
                                                             else ""), "adcode": [county]}
            elif kind == "homophone":
                params = {"q": self.misspell(rng, rng.choice(entry.words)), "adcode": [county]}
            else:
                word = entry.name
                style = rng.random()
                if style < 0.4:
                    q = word[: rng.randint(1, max(1, len(word) - 1))]
                elif style < 0.7:
                    q = "".join(lazy_pinyin(word[:2]))
                else:
                    q = "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))[:3]
                params = {"q": q}
            yield {"kind": kind, "endpoint": "suggest" if kind == "suggest" else "search", "params": params}

    @staticmethod
    def _chips(rng: random.Random) -> dict[str, Any]:
        chips: dict[str, Any] = {}
        if rng.random() < 0.35:
            chips["work_type"] = "daily"
        benefits = [b for b in ("包吃", "包住") if rng.random() < 0.2]
        if benefits:
            chips["benefits"] = benefits
        if rng.random() < 0.2:
            chips["start_within_days"] = rng.choice((0, 1))
        return chips

    @staticmethod
    def misspell(rng: random.Random, word: str) -> str:
        """One or two characters replaced by what a Southwestern-Mandarin pinyin typist picks (电焊工 → 电悍工)."""
        positions = [i for i, ch in enumerate(word) if ch in HOMOPHONE_CHARS]
        if not positions:
            return word
        chars = list(word)
        for i in rng.sample(positions, 1 if len(positions) < 3 or rng.random() < 0.7 else 2):
            chars[i] = rng.choice(HOMOPHONE_CHARS[chars[i]])
        return "".join(chars)


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (for sanity checks of generated locations)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def _as_enterprises_write(certificates: list[str], *, short: bool) -> list[str]:
    """Every other posting names its certificates as enterprises do (焊工证, 叉车证), so the demo shows them
    matched to the workers who hold the catalogue's official names. Decided by the posting's number, not by a
    random draw, so the rest of the corpus stays what the seed made it."""
    if not short:
        return certificates
    common = certificate_names().common_names
    return [min(c, common.get(c, c), key=len) for c in certificates]  # 健康证 is what people write already
