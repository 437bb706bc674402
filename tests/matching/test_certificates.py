"""Certificate names: common names and spelling variants become the catalogue's official names, unknown and
ambiguous names are kept."""

from __future__ import annotations

import pytest

from matching.catalogue import load_initial_catalogue
from matching.certificates import (
    CertificateNames,
    canonical_certificate,
    canonical_certificates,
    certificate_names,
    load_certificate_names,
)

WELDING = "特种作业操作证（焊接与热切割作业）"
FORKLIFT = "特种设备作业人员证（N1 叉车司机）"
LOW_VOLTAGE = "特种作业操作证（低压电工作业）"
HIGH_VOLTAGE = "特种作业操作证（高压电工作业）"
HEIGHT = "特种作业操作证（高处作业）"
HEAVY_TRUCK = "机动车驾驶证（A2/B2）"
CAR = "机动车驾驶证（C1）"
GOODS = "道路运输从业人员从业资格证（货物运输驾驶员）"
COOK = "职业技能等级证书（中式烹调师）"
NURSERY = "职业技能等级证书（保育师）"
ELDERLY_CARE = "职业技能等级证书（养老护理员）"
TOWER_CRANE = "建筑施工特种作业操作资格证（建筑起重机械司机）"
SCAFFOLDER = "建筑施工特种作业操作资格证（建筑架子工）"
EXCAVATOR = "职业技能等级证书（挖掘铲运和桩工机械司机）"


@pytest.mark.parametrize(("written", "official"), [
    ("焊工证", WELDING), ("电焊证", WELDING), ("焊接证", WELDING),
    ("叉车证", FORKLIFT),
    ("低压电工证", LOW_VOLTAGE), ("电工证", LOW_VOLTAGE),
    ("高压电工证", HIGH_VOLTAGE),
    ("登高证", HEIGHT), ("高空作业证", HEIGHT),
    ("C1驾照", CAR), ("C1驾驶证", CAR),
    ("货运资格证", GOODS),
    ("健康证明", "健康证"), ("健康证", "健康证"),
    ("护士证", "护士执业证书"),
    ("保安证", "保安员证"),
    ("厨师证", COOK),
    ("保育员证", NURSERY),
    ("养老护理员证", ELDERLY_CARE),
    ("塔吊证", TOWER_CRANE),
    ("架子工证", SCAFFOLDER),
    ("挖机证", EXCAVATOR), ("挖掘机证", EXCAVATOR),
    ("建筑电工证", "建筑施工特种作业操作资格证（建筑电工）"),  # not the bare 电工证's low-voltage licence
])
def test_common_names_become_the_official_name(written: str, official: str) -> None:
    assert canonical_certificate(written) == official


@pytest.mark.parametrize("written", [
    "特种设备作业人员证(N1叉车司机)",  # half-width brackets, no space
    "特种设备作业人员证（N1叉车司机）",
    "特种设备作业人员证 (N1 叉车司机)",
    " 特种设备作业人员证【N1 叉车司机】 ",
    "特种设备作业人员证（Ｎ１ 叉车司机）",  # full-width latin and digits
    "特种设备作业人员证（n1 叉车司机）",
])
def test_bracket_width_space_and_case_variants_are_one_name(written: str) -> None:
    assert canonical_certificate(written) == FORKLIFT


def test_a_name_pasted_with_invisible_characters_is_the_name() -> None:
    # Text copied from a web page or a chat carries zero-width spaces and joiners, a BOM: 焊工\u200b证 was kept as
    # written, an unknown certificate no worker holding the welding licence matched.
    assert canonical_certificate("焊工\u200b证") == WELDING
    assert canonical_certificate("\ufeff叉车证") == FORKLIFT
    assert canonical_certificate("茶艺师\u200d证\u2060") == "茶艺师证"
    assert canonical_certificates(["焊工证", "焊工\u200c证"]) == [WELDING]


def test_latin_case_and_width_of_an_alias_do_not_matter() -> None:
    assert canonical_certificate("ｃ１驾照") == canonical_certificate("c1 驾照") == CAR


def test_an_unknown_name_ending_in_zhengshu_is_looked_up_as_zheng() -> None:
    assert canonical_certificate("焊工证书") == WELDING
    assert canonical_certificate("健康证书") == "健康证"
    assert canonical_certificate("护士执业证书") == "护士执业证书"  # an official name as it is
    assert canonical_certificate("某某证书") == "某某证书"


@pytest.mark.parametrize(("written", "kept"), [
    ("驾照", "驾照"), ("驾驶证", "驾驶证"), ("C2驾照", "C2驾照"),
    ("从业资格证", "从业资格证"), ("钳工证", "钳工证"), ("铲车证", "铲车证"), ("护工证", "护工证"),
    ("育婴师证", "育婴师证"), ("一级建造师证", "一级建造师证"), ("制冷证", "制冷证"),
    ("A2驾照", "A2驾照"), ("B2驾照", "B2驾照"), ("A1驾照", "A1驾照"), ("B1驾照", "B1驾照"),
    ("装载机证", "装载机证"), ("推土机证", "推土机证"),
    ("行车证", "行车证"), ("吊车证", "吊车证"), ("龙门吊证", "龙门吊证"), ("锅炉证", "锅炉证"), ("电梯证", "电梯证"),
    ("押运证", "押运证"), ("押运员证", "押运员证"), ("船员证", "船员证"), ("适任证书", "适任证书"),
])
def test_ambiguous_names_are_kept_as_written(written: str, kept: str) -> None:
    assert canonical_certificate(written) == kept
    assert written in certificate_names().not_mapped  # a decision on record, with its reason


@pytest.mark.parametrize(("written", "kept"), [
    ("电子商务师证", "电子商务师证"),
    ("  电子商务师证 ", "电子商务师证"),
    ("ＣＡＤ 证书(初级)", "CAD证书（初级）"),
    ("Adobe  Photoshop 证书", "Adobe Photoshop证书"),
])
def test_unknown_names_are_kept_tidied(written: str, kept: str) -> None:
    assert canonical_certificate(written) == kept


def test_two_spellings_of_one_unknown_name_become_equal() -> None:
    assert canonical_certificate("茶艺师证(中级)") == canonical_certificate("茶艺师证（中级）")


def test_a_list_is_canonical_in_order_without_duplicates_or_blanks() -> None:
    assert canonical_certificates(["焊工证", "健康证", "电焊证", WELDING, " ", "电子商务师证"]) == [
        WELDING, "健康证", "电子商务师证"]
    assert canonical_certificates([]) == []


@pytest.mark.parametrize(("required", "held"), [
    ("A2驾照", "B2驾照"),  # tractor-trailer required, large truck held
    ("A2驾驶证", "B2驾驶证"),
    ("A1驾照", "B1驾照"),  # large bus required, medium bus held
    ("A1驾照", "A3驾照"),
    ("挖机证", "装载机证"),  # excavator required, wheel loader held
    ("挖掘机证", "推土机证"),
    ("挖机证", "桩机证"),
    ("起重机证", "行车证"),  # a crane job, a bridge-crane card
    ("司炉证", "锅炉证"),  # boiler operation required, possibly the water-treatment card held
])
def test_a_licence_for_one_class_or_machine_never_reads_as_another(required: str, held: str) -> None:
    # Matching requires every required name among the held ones: one official name for both would let the
    # holder of the other licence match a posting that needs this one.
    assert canonical_certificate(required) != canonical_certificate(held)
    assert not set(canonical_certificates([required])) <= set(canonical_certificates([held]))


def test_official_names_are_the_initial_catalogues_certificates_character_for_character() -> None:
    catalogue_names = {c for entry in load_initial_catalogue().entries for c in entry.certificates}
    names = certificate_names()
    assert set(names.official.values()) == catalogue_names
    for official in catalogue_names:
        assert canonical_certificate(official) == official


def test_no_alias_is_an_unmapped_name_or_names_two_certificates() -> None:
    with pytest.raises(ValueError, match="names both"):
        CertificateNames.from_mapping({"甲证书": ["甲证"], "乙证书": ["甲 证"]}, {})
    with pytest.raises(ValueError, match="not mapped"):
        CertificateNames.from_mapping({"甲证书": ["甲证"]}, {"甲证": "ambiguous"})
    load_certificate_names()  # the shipped table passes both checks
