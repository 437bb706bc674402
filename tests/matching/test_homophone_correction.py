import pytest

from matching.catalogue import Catalogue, load_initial_catalogue
from matching.homophones import Correction, HomophoneCorrector, fuzzy_keys, fuzzy_syllable
from matching.regions import RegionDirectory
from matching.segmentation import Analyzer


def corrector_for(catalogue: Catalogue, regions: RegionDirectory, analyzer: Analyzer) -> HomophoneCorrector:
    words = [w for e in catalogue.entries for w in e.words]
    words += [w for r in regions.counties() for w in (r.name, r.short_name)]
    return HomophoneCorrector(words, analyzer.is_dictionary_word)


@pytest.fixture(name="corrector")
def corrector_fixture(
    catalogue: Catalogue, regions: RegionDirectory, analyzer: Analyzer
) -> HomophoneCorrector:
    return corrector_for(catalogue, regions, analyzer)


def test_southwestern_merges() -> None:
    assert fuzzy_syllable("shi") == fuzzy_syllable("si")
    assert fuzzy_syllable("zhang") == fuzzy_syllable("zan")
    assert fuzzy_syllable("nan") == fuzzy_syllable("lan")
    assert fuzzy_syllable("hu") == fuzzy_syllable("fu")
    assert fuzzy_syllable("huang") == fuzzy_syllable("fang")
    assert fuzzy_syllable("xing") == fuzzy_syllable("xin")
    assert fuzzy_syllable("gong") == "gong"
    assert fuzzy_keys("司机") & fuzzy_keys("师机")


def test_mistyped_trade_words_are_corrected(corrector: HomophoneCorrector) -> None:
    assert corrector.correct_word("电悍工") == "电焊工"
    assert corrector.correct_word("叉车师机") == "叉车司机"
    assert corrector.correct_word("师机") == "司机"
    assert corrector.correct_word("宝姆") == "保姆"


def test_right_words_are_never_corrected(corrector: HomophoneCorrector) -> None:
    for word in ("焊工", "电焊工", "司机", "叉车司机", "保姆", "九龙坡"):
        assert corrector.correct_word(word) is None
    text, corrections = corrector.correct_phrase("九龙坡 电焊工 司机 日结 包住")
    assert text == "九龙坡 电焊工 司机 日结 包住"
    assert corrections == ()
    # a real word of the language that merely sounds like a vocabulary word stays
    assert corrector.correct_word("时机") is None  # shi ji ~ si ji (司机), but 时机 is a word


def test_a_vocabulary_word_typed_right_is_kept_without_a_dictionary() -> None:
    # Without the analyser's dictionary only the vocabulary itself says a word is right: such a span is kept as
    # typed and reported as no correction at all (not as "电焊工 corrected to 电焊工").
    corrector = HomophoneCorrector(["电焊工", "司机"])
    assert corrector.correct_phrase("招电焊工 司机") == ("招电焊工 司机", ())


def test_homophones_that_tie_are_not_guessed_between() -> None:
    # 石工 and 施工 both read shi gong: typed 是工 shares one character with each, 四公 none, so either guess could be
    # wrong and a wrong trade is worse than none. 石宫 shares more with 石工, which wins.
    corrector = HomophoneCorrector(["石工", "施工"])
    assert corrector.correct_word("是工") is None
    assert corrector.correct_word("四公") is None
    assert corrector.correct_word("石宫") == "石工"


def test_mistakes_inside_longer_phrases(corrector: HomophoneCorrector) -> None:
    text, corrections = corrector.correct_phrase("九龙坡招电悍工日结")
    assert text == "九龙坡招电焊工日结"
    assert corrections == (Correction("电悍工", "电焊工"),)
    text, corrections = corrector.correct_phrase("找叉车师机")
    assert text == "找叉车司机"
    assert corrections == (Correction("叉车师机", "叉车司机"),)
    text, _ = corrector.correct_phrase("沙平坝 搬运")  # 坪 typed as 平 (same sound)
    assert text == "沙坪坝 搬运"


def test_a_span_that_cuts_a_right_word_is_never_corrected(regions: RegionDirectory) -> None:
    shipped = load_initial_catalogue()
    corrector = corrector_for(shipped, regions, Analyzer.build(shipped, regions))
    # 个兼 sounds like 合江 (合 also reads gě), but 兼 begins 兼职, typed right: no county appears from nowhere.
    assert corrector.correct_phrase("找个兼职") == ("找个兼职", ())  # 兼职 is also a work-type word now
    assert corrector.correct_phrase("个人护理")[1] == ()
    # A mistake next to right words is still corrected.
    assert corrector.correct_phrase("九龙破 电悍工 兼职")[0] == "九龙坡 电焊工 兼职"


def test_a_right_word_sounding_like_another_in_few_of_its_characters_stays(regions: RegionDirectory) -> None:
    # Words no dictionary here knows, typed right: each sounds like a county or trade of the shipped vocabulary
    # but shares fewer than half of its characters with it, so it is another word, not a slip of one character.
    shipped = load_initial_catalogue()
    corrector = corrector_for(shipped, regions, Analyzer.build(shipped, regions))
    for phrase in ("按月结", "满勤奖", "目检", "收台", "醒发", "串焊"):  # ~ 安岳, 綦江, 木匠, 兽医, 成华, 广汉
        assert corrector.correct_phrase(phrase) == (phrase, ()), phrase
    assert HomophoneCorrector(["石工", "缫丝工"]).correct_phrase("招石工") == ("招石工", ())
    # Slips of one character in two, or two in three, are still corrected.
    assert corrector.correct_phrase("宝姆 沙平坝 钢筋公")[0] == "保姆 沙坪坝 钢筋工"
