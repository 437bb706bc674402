import dataclasses
import functools
import random
from pathlib import Path

import pytest

from matching.catalogue import Catalogue, load_initial_catalogue
from matching.homophones import MAX_SCANNED_CHARS, Correction, char_syllables
from matching.kiosk_query import MAX_QUERY_CHARS, KioskQueryInterpreter
from matching.regions import RegionDirectory, load_localities, load_regions
from matching.segmentation import Analyzer


@pytest.fixture(name="interpreter")
def interpreter_fixture(
    catalogue: Catalogue, regions: RegionDirectory, analyzer: Analyzer
) -> KioskQueryInterpreter:
    return KioskQueryInterpreter(catalogue, regions, analyzer)


def test_district_trade_pay_and_benefit(interpreter: KioskQueryInterpreter) -> None:
    result = interpreter.interpret("九龙坡 电焊 日结 包住")
    assert result.adcodes == ("500107",)
    assert result.occupation_codes == ("6-18-02-04",)
    assert result.work_type == "daily"
    assert result.benefits == ("包住",)
    assert result.wage_min is None
    assert result.start_within_days is None
    assert result.remaining_text == ""
    assert result.corrected is None


def test_words_run_together_and_alias(interpreter: KioskQueryInterpreter) -> None:
    result = interpreter.interpret("沙坪坝区叉车司机长期包吃住")
    assert result.adcodes == ("500106",)
    assert result.occupation_codes == ("6-30-05-01",)
    assert result.work_type == "full_time"
    assert result.benefits == ("包吃", "包住")


def test_homophone_mistake_is_corrected_and_reported(interpreter: KioskQueryInterpreter) -> None:
    result = interpreter.interpret("电悍工 今天开工")
    assert result.occupation_codes == ("6-18-02-04",)
    assert result.corrected == "电焊工 今天开工"
    assert result.corrections == (Correction("电悍工", "电焊工"),)
    assert result.start_within_days == 0
    assert result.remaining_text == ""


@pytest.mark.parametrize(
    ("text", "wage", "unit"),
    [
        ("搬运工 200一天", 200, "day"),
        ("日薪200 棒棒", 200, "day"),
        ("厨师 月薪5000以上", 5000, "month"),
        ("保姆 5000以上", 5000, "month"),
        ("钟点工 时薪25", 25, "hour"),
        ("厨师 一个月5000", 5000, "month"),
        ("保姆 每月4500以上", 4500, "month"),
        # amounts as people type them
        ("保姆 5千以上", 5000, "month"),
        ("厨师 月薪8k", 8000, "month"),
        ("司机 1.2万以上", 12000, "month"),
        ("厨师 月薪六千", 6000, "month"),
        ("保姆 三千五以上", 3500, "month"),
        ("搬运工 一天两百", 200, "day"),
    ],
)
def test_wage_phrases(interpreter: KioskQueryInterpreter, text: str, wage: int, unit: str) -> None:
    result = interpreter.interpret(text)
    assert (result.wage_min, result.wage_unit) == (wage, unit)
    assert len(result.occupation_codes) == 1
    assert result.remaining_text == ""


def test_the_tail_of_a_longer_number_is_no_wage(interpreter: KioskQueryInterpreter) -> None:
    result = interpreter.interpret("12345678以上")
    assert result.wage_min is None
    # words holding 万 or 千 that are no amount stay as typed
    assert interpreter.interpret("万州 厨师").adcodes == ("500101",)


def test_a_postings_urgent_title_is_not_read_as_a_start_date(interpreter: KioskQueryInterpreter) -> None:
    # 急招 is in many titles and says nothing of when the job starts: typing a posting's own title must find it.
    result = interpreter.interpret("沙坪坝急招二保焊工")
    assert result.adcodes == ("500106",)
    assert result.start_within_days is None
    assert "急" not in result.remaining_text
    assert interpreter.interpret("急招 普工 马上上班").start_within_days == 0


def test_cities_start_words_and_leftovers(interpreter: KioskQueryInterpreter) -> None:
    result = interpreter.interpret("成都 明天 保姆 会做川菜")
    assert result.city_adcodes == ("510100",)
    assert result.adcodes == ()
    assert result.start_within_days == 1
    assert result.occupation_codes == ("4-10-01-06",)
    assert "川菜" in result.remaining_text


def test_slang_and_typed_right_words_stay(interpreter: KioskQueryInterpreter) -> None:
    result = interpreter.interpret("烧电焊的 零工")
    assert result.occupation_codes == ("6-18-02-04",)
    assert result.work_type == "gig"
    assert result.corrected is None


def test_hostile_input_is_harmless(interpreter: KioskQueryInterpreter) -> None:
    for text in ("", "😀😀", 'x" OR city = "重庆', "电焊" * 400):
        result = interpreter.interpret(text)
        assert len(result.remaining_text) <= 200
    assert interpreter.interpret("").as_dict()["occupation_codes"] == []


def test_a_phrase_of_the_longest_accepted_length_costs_bounded_work(regions: RegionDirectory) -> None:
    # The public endpoint accepts 200 characters. Homophone correction looks up every character's readings and
    # scans spans from each one: over 200 characters of noise that was ~2 ms of CPU per search warm and ~7 ms with
    # characters not seen before. It now looks at the first MAX_SCANNED_CHARS Chinese characters only; counted in
    # reading look-ups (one per character scanned), not time.
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    rng = random.Random(2026)
    han = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(MAX_QUERY_CHARS))
    mixed = "".join(rng.choice((chr(rng.randint(0x4E00, 0x9FA5)), rng.choice("abcxyz0123456789 ")))
                    for _ in range(MAX_QUERY_CHARS))
    for noise in (han, mixed):
        char_syllables.cache_clear()
        interpreter.interpret(noise)
        looked_up = char_syllables.cache_info()
        assert looked_up.hits + looked_up.misses <= MAX_SCANNED_CHARS, noise
    # A kiosk phrase is far shorter than the budget: a slip anywhere in it is still corrected, and a slip at the
    # start of a long text too.
    assert interpreter.interpret("九龙坡 普工 日结 包吃住 电悍工").corrected == "九龙坡 普工 日结 包吃住 电焊工"
    assert interpreter.interpret("电悍工" + han).corrections == (Correction("电悍工", "电焊工"),)


def test_shipped_catalogue_understands_the_kiosk_example(regions: RegionDirectory) -> None:
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    result = interpreter.interpret("九龙坡 电焊 日结 包住")
    assert result.adcodes == ("500107",)
    assert result.occupation_codes == ("6-18-02-04",)
    assert result.work_type == "daily"
    assert result.benefits == ("包住",)
    assert result.remaining_text == ""
    corrected = interpreter.interpret("电悍工")
    assert corrected.corrected == "电焊工"
    assert corrected.occupation_codes == ("6-18-02-04",)
    assert interpreter.interpret("叉车师机").corrected == "叉车司机"
    # The brief's own example, typed alone: the shipped catalogue has no trade word 司机, only words ending in it.
    driver = interpreter.interpret("师机")
    assert driver.corrected == "司机"
    assert driver.remaining_text == "司机"
    assert interpreter.interpret("司机").corrected is None
    assert interpreter.interpret("时机").corrected is None  # a right word that sounds the same stays


def test_asking_for_work_leaves_only_what_was_asked(regions: RegionDirectory) -> None:
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    site = interpreter.interpret("找个工地的活")
    assert site.occupation_codes  # 工地: the construction trades
    assert site.remaining_text == ""  # 找 个 的 活: nothing left to search for



def test_market_slang_for_trades_is_understood(regions: RegionDirectory) -> None:
    # Catalogue aliases (matching/reference/build_catalogue.py): 泥瓦工 / 泥瓦匠 / 瓦工 lay bricks (砌筑工), 搬砖 is the
    # site labourer's own word for his work (建筑小工, an alias of the same entry), and 滴滴 / 网约车 drivers drive
    # passengers (客运车辆驾驶员; the classification has no ride-hailing occupation of its own).
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    for text, code in (("泥瓦工", "6-29-01-01"), ("泥瓦匠 日结", "6-29-01-01"), ("瓦工", "6-29-01-01"),
                       ("搬砖", "6-29-01-01"), ("九龙坡搬砖", "6-29-01-01"), ("滴滴司机", "4-02-02-01"),
                       ("网约车司机 包吃住", "4-02-02-01"), ("网约车", "4-02-02-01")):
        result = interpreter.interpret(text)
        assert result.occupation_codes == (code,), text
        assert result.remaining_text == "", text


def test_tasks_people_name_instead_of_the_trade_are_read_as_the_trade(regions: RegionDirectory) -> None:
    # matching/reference/work_phrases.csv: what people say they would do (带小孩, 扛包), typed together or apart,
    # cut into pieces by the segmenter or not, with places and work words around them.
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    for text, code in (("带小孩", "4-10-01-06"), ("带 小孩", "4-10-01-06"), ("帮人带孩子", "4-10-01-06"),
                       ("看护老人", "4-10-01-05"), ("陪护老人", "4-10-01-05"), ("照顾病人", "4-14-01-02"),
                       ("扛包", "4-02-05-01"), ("搬货", "4-02-05-01"), ("送快递", "4-02-07-08"),
                       ("工地上打杂", "6-29-01-01"), ("进厂", "6-25-03-00"), ("开挖机", "6-30-05-05"),
                       ("开货车", "4-02-02-02"), ("搞卫生", "4-09-08-01")):
        result = interpreter.interpret(text)
        assert result.occupation_codes == (code,), text
        assert result.remaining_text == "", text
    result = interpreter.interpret("江北 厂里上班 日结")
    assert (result.adcodes, result.occupation_codes, result.work_type) == (("500105",), ("6-25-03-00",), "daily")
    assert result.remaining_text == ""
    both = interpreter.interpret("带小孩 或者 扛包")
    assert both.occupation_codes == ("4-10-01-06", "4-02-05-01")


def test_a_task_beside_a_named_trade_is_words_to_search_not_a_second_trade(regions: RegionDirectory) -> None:
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    nanny_who_cooks = interpreter.interpret("保姆 会做川菜")  # 做川菜 alone would be a cook
    assert nanny_who_cooks.occupation_codes == ("4-10-01-06",)
    assert nanny_who_cooks.remaining_text == "会 做 川菜"
    nanny = interpreter.interpret("保姆 带小孩")  # the task says the trade again: understood, nothing to search
    assert nanny.occupation_codes == ("4-10-01-06",)
    assert nanny.remaining_text == ""
    assert interpreter.interpret("背包").occupation_codes == ()  # a backpack, not 背 + 包
    # A guess from part of several trades' names (工地: site electricians, safety officers) names no trade: the
    # task replaces it.
    site_porter = interpreter.interpret("工地 扛包")
    assert site_porter.occupation_codes == ("4-02-05-01",)
    assert site_porter.remaining_text == ""
    # Part of one trade's name (叉车: forklift drivers) is as good as the name: both trades, the phrase's first.
    assert interpreter.interpret("叉车 扛包").occupation_codes == ("4-02-05-01", "6-30-05-01")


def test_a_task_follows_its_trade_through_the_catalogue(regions: RegionDirectory) -> None:
    shipped = load_initial_catalogue()
    nanny = shipped.by_code("4-10-01-06")
    cook = shipped.by_code("4-03-02-01")
    assert nanny is not None
    assert cook is not None
    # The authorities retire 家政服务员 into the cook's code (absurd, but a link like any other): 带小孩 follows the
    # link; a catalogue without the entry at all offers no trade for it, so the phrase is left to search.
    retired = Catalogue(2, [dataclasses.replace(e, replaced_by=cook.occupation_code) if e is nanny else e
                            for e in shipped.entries])
    interpreter = KioskQueryInterpreter(retired, regions, Analyzer.build(retired, regions))
    assert interpreter.interpret("带小孩").occupation_codes == (cook.occupation_code,)
    without = Catalogue(3, [e for e in shipped.entries if e is not nanny])
    interpreter = KioskQueryInterpreter(without, regions, Analyzer.build(without, regions))
    assert interpreter.interpret("带小孩").occupation_codes == ()
    assert interpreter.interpret("带小孩").remaining_text == "带 小孩"


def test_well_known_places_below_county_level_are_read_as_their_county(regions: RegionDirectory) -> None:
    # People at a 九龙坡 kiosk say 杨家坪, not 九龙坡: the curated localities table reads such a name as the one
    # county it lies in, the same way a county name is read, typed apart or run together.
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    for text, county in (("杨家坪 服务员", "500107"), ("杨家坪服务员", "500107"), ("解放碑 服务员", "500103"),
                         ("观音桥 服务员", "500105"), ("南坪 服务员", "500108"), ("春熙路 服务员", "510104")):
        result = interpreter.interpret(text)
        assert result.adcodes == (county,), text
        assert result.occupation_codes == ("4-03-02-05",), text
        assert result.remaining_text == "", text
    # Names the segmenter cuts into pieces (磁器 口, 三峡 广场, 宽窄 巷子, 洪 崖洞) are joined back before the look-up.
    for text, county in (("磁器口 服务员", "500106"), ("磁器口服务员", "500106"), ("三峡广场 服务员", "500106"),
                         ("宽窄巷子服务员", "510105"), ("洪崖洞 服务员", "500103"), ("在洪崖洞服务员", "500103")):
        assert not set(interpreter.analyzer.cut(text)) & set(interpreter.localities), text  # cut: the join matters
        result = interpreter.interpret(text)
        assert result.adcodes == (county,), text
        assert result.occupation_codes == ("4-03-02-05",), text
        assert result.remaining_text == "", text
    # 瓷器口 is how many people write it: the same sound, corrected like a county's name.
    assert interpreter.interpret("瓷器口 服务员").adcodes == ("500106",)
    # Pieces are joined only when they end exactly at the name's edges, never out of a longer word.
    assert interpreter.interpret("磁器口罩").adcodes == ()
    # 大学城 names no one county (Chongqing's and Chengdu's lie in different ones): left as words to search.
    assert interpreter.interpret("大学城 服务员").adcodes == ()
    localities = load_localities(regions)
    assert all(regions.require(code).level == "county" for code in localities.values())
    assert not any(regions.adcodes_for_word(name) for name in localities)  # never a second meaning of a county


def test_a_locality_naming_no_county_is_refused(tmp_path: Path, regions: RegionDirectory) -> None:
    table = tmp_path / "localities.csv"
    table.write_text("# a comment\nname,adcode,county\n杨家坪,500100,重庆市辖区\n", encoding="utf-8")
    with pytest.raises(ValueError, match="杨家坪"):
        load_localities(regions, table)


def test_a_phrase_never_narrows_what_the_catalogue_names_already_read(regions: RegionDirectory) -> None:
    # 流水线 is part of 汽车流水线工 and 流水线工, 炒菜 of 炒菜师傅: partial matching read them as those trades before
    # the phrase table existed, and the catalogue's own words win over a phrase (work_phrases.csv). A phrase read
    # first kept only its one trade (no car plants for 流水线) and, beside another trade, none at all.
    shipped = load_initial_catalogue()
    interpreter = KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))
    assert set(interpreter.interpret("流水线").occupation_codes) == {"6-22-01-01", "6-25-03-00"}
    canteen = interpreter.interpret("工地食堂炒菜")  # a cook for a building site's canteen
    assert "4-03-02-01" in canteen.occupation_codes
    assert "炒菜" not in canteen.remaining_text


@functools.cache
def _shipped_interpreter() -> KioskQueryInterpreter:
    shipped, regions = load_initial_catalogue(), load_regions()
    return KioskQueryInterpreter(shipped, regions, Analyzer.build(shipped, regions))


@pytest.mark.parametrize(
    ("text", "codes", "adcodes", "remaining"),
    [
        # The catch-all trade 操作工 / 普工 stand for (6-25-03-00) is not asked for when the work before them names one.
        ("车床操作工", ("6-18-01-01",), (), ""),
        ("焊接操作工", ("6-18-02-04",), (), ""),
        ("九龙坡 数控车床 操作工", ("6-18-01-01",), ("500107",), ""),
        ("叉车 普工", ("6-30-05-01",), (), ""),
        # Nothing specific before them: the catch-all, as before.
        ("操作工", ("6-25-03-00",), (), ""),
        ("沙坪坝普工 包吃住", ("6-25-03-00",), ("500106",), ""),
        # A role word that names no trade stays a word to search for.
        ("电焊 学徒", ("6-18-02-04",), (), "学徒"),
    ],
)
def test_a_generic_role_word_takes_its_trade_from_the_work_before_it(
        text: str, codes: tuple[str, ...], adcodes: tuple[str, ...], remaining: str) -> None:
    result = _shipped_interpreter().interpret(text)
    assert (result.occupation_codes, result.adcodes, result.remaining_text) == (codes, adcodes, remaining)
