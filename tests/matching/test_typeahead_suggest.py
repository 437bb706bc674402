import pytest

from matching.catalogue import Catalogue, CatalogueEntry
from matching.regions import RegionDirectory
from matching.typeahead import Typeahead


@pytest.fixture(name="typeahead")
def typeahead_fixture(catalogue: Catalogue, regions: RegionDirectory) -> Typeahead:
    return Typeahead(catalogue, regions)


def _codes(typeahead: Typeahead, text: str, **kwargs: object) -> list[str]:
    return [s.code for s in typeahead.suggest(text, **kwargs)]  # type: ignore[arg-type]


def test_pinyin_initials_and_full_pinyin(typeahead: Typeahead) -> None:
    assert _codes(typeahead, "hg", kinds=("occupation",))[0] == "6-18-02-04"
    assert _codes(typeahead, "hangong")[0] == "6-18-02-04"
    assert _codes(typeahead, "han gong")[0] == "6-18-02-04"
    assert _codes(typeahead, "baomu")[0] == "4-10-01-06"  # alias 保姆 → 家政服务员
    assert _codes(typeahead, "HG", kinds=("occupation",))[0] == "6-18-02-04"


def test_codes_by_prefix(typeahead: Typeahead) -> None:
    codes = _codes(typeahead, "6-18")
    assert set(codes) == {"6-18-02-04", "6-18-02-01"}
    assert codes[0] == "6-18-02-04"  # severe shortage first among equal prefixes
    assert _codes(typeahead, "6-18-02-04") == ["6-18-02-04"]


def test_names_aliases_and_substrings(typeahead: Typeahead) -> None:
    first = typeahead.suggest("焊工")[0]
    assert (first.code, first.matched) == ("6-18-02-04", "焊工")  # exact name
    assert _codes(typeahead, "电焊")[0] == "6-18-02-04"  # prefix of the alias 电焊工
    assert "6-30-05-01" in _codes(typeahead, "车司机")  # contained in 叉车司机
    assert _codes(typeahead, "不存在的词") == []
    assert _codes(typeahead, "") == []


def test_districts_for_the_kiosk(typeahead: Typeahead) -> None:
    assert _codes(typeahead, "jlp", kinds=("region",)) == ["500107"]
    assert _codes(typeahead, "九龙坡", kinds=("region",))[0] == "500107"
    assert _codes(typeahead, "九龙", kinds=("region",))[:2] == ["513324", "500107"]  # 九龙县 exact first
    assert _codes(typeahead, "shapingba", kinds=("region",))[0] == "500106"
    assert all(s.kind == "region" for s in typeahead.suggest("成都", kinds=("region",)))


def test_exact_beats_prefix_beats_contains() -> None:
    catalogue = Catalogue(
        1,
        [
            CatalogueEntry("6-01-01-01", "装配工人", shortage_level=1),
            CatalogueEntry("6-01-01-02", "配工", shortage_level=3),
            CatalogueEntry("6-01-01-03", "配工长", shortage_level=1),
        ],
    )
    typeahead = Typeahead(catalogue)
    assert _codes(typeahead, "配工") == ["6-01-01-02", "6-01-01-03", "6-01-01-01"]


def test_two_thousand_entries_answer_correctly() -> None:
    entries = [
        CatalogueEntry(
            f"9-{i // 100:02d}-{i % 100:02d}-01", f"工种{i}号", (f"别称{i}",), shortage_level=1 + i % 3
        )
        for i in range(1990)
    ]
    entries.append(CatalogueEntry("6-18-02-04", "焊工", ("电焊工",), shortage_level=1))
    typeahead = Typeahead(Catalogue(1, entries))
    assert len(typeahead) == 1991
    assert _codes(typeahead, "hg")[0] == "6-18-02-04"
    assert _codes(typeahead, "gongzhong1999") == []
    assert _codes(typeahead, "gongzhong1989") == ["9-19-89-01"]
    assert len(typeahead.suggest("gz", limit=10)) == 10


def test_characters_typed_with_a_pinyin_slip_are_suggested_by_their_sound(typeahead: Typeahead) -> None:
    first = typeahead.suggest("电悍")[0]  # 悍 for 焊: same pinyin, nothing is written so
    assert (first.code, first.matched) == ("6-18-02-04", "电焊工")
    assert _codes(typeahead, "师机")[0] == "4-02-02-02"  # shi ~ si in the region's accent: 司机
    assert _codes(typeahead, "保母")[0] == "4-10-01-06"
    assert _codes(typeahead, "九龙破")[0] == "500107"
    assert _codes(typeahead, "不存在的词") == []  # sounds like nothing either
    # whole syllables only: 石匠 (shi jiang) does not start with the sound of 师机 (si ji)
    assert "石匠" not in [s.matched for s in Typeahead(Catalogue(1, (CatalogueEntry(
        "6-29-01-02", "石工", ("石匠",), "建筑", 3, (), None, (), (), "CQ"),))).suggest("师机")]
