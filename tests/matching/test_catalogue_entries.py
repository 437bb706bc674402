import csv
import dataclasses
import io

import pytest

from matching.catalogue import (
    CSV_COLUMNS,
    Catalogue,
    CatalogueEntry,
    CatalogueImportError,
    catalogue_to_csv,
    decode_spreadsheet_bytes,
    load_initial_catalogue,
    parse_catalogue_csv,
    split_list,
)
from matching.occupations import OccupationClassification
from matching.regions import RegionDirectory

HEADER = ",".join(CSV_COLUMNS)


def test_sample_catalogue_is_valid_and_indexed(
    catalogue: Catalogue, occupations: OccupationClassification, regions: RegionDirectory
) -> None:
    catalogue = catalogue
    assert catalogue.validate(occupations, regions) == []
    assert catalogue.by_code("6-18-02-04") is not None
    assert catalogue.code_for_word("电焊工") == "6-18-02-04"
    assert catalogue.code_for_word("焊工") == "6-18-02-04"
    assert catalogue.code_for_word("保姆") == "4-10-01-06"
    assert catalogue.code_for_word("程序员") is None


def test_validate_reports_each_kind_of_problem(
    sample_entries: tuple[CatalogueEntry, ...],
    occupations: OccupationClassification,
    regions: RegionDirectory,
) -> None:
    def problems(*entries: CatalogueEntry) -> set[tuple[str, str]]:
        found = Catalogue(1, entries).validate(occupations, regions)
        return {(p.occupation_code, p.field) for p in found}

    weld, chef = sample_entries[0], sample_entries[2]
    assert ("6-99-99-99", "occupation_code") in problems(
        dataclasses.replace(weld, occupation_code="6-99-99-99")
    )
    assert ("6-18-02-04", "name") in problems(dataclasses.replace(weld, name=" "))
    # Invisible characters only (zero-width space, BOM, word joiner): as empty as a space, but str.strip()
    # keeps them, and such an alias was published and suggested for a query of the same invisible character.
    assert ("6-18-02-04", "name") in problems(dataclasses.replace(weld, name="\u200b\ufeff"))
    assert ("6-18-02-04", "aliases") in problems(dataclasses.replace(weld, aliases=("电焊工", "\u200b")))
    assert ("6-18-02-04", "aliases") in problems(dataclasses.replace(weld, aliases=("\u2060 \u200d",)))
    assert problems(dataclasses.replace(weld, aliases=("电焊工", "\u200b氩弧焊工"))) == set()  # text around it stays
    assert ("6-18-02-04", "shortage_level") in problems(dataclasses.replace(weld, shortage_level=4))
    assert ("6-18-02-04", "regions") in problems(dataclasses.replace(weld, regions=("999999",)))
    # one alias for two trades: reported, not silently resolved
    shared = dataclasses.replace(chef, aliases=(*chef.aliases, "电焊工"))
    assert ("4-03-02-01", "aliases") in problems(weld, shared)
    # an alias that is another entry's name
    assert ("4-03-02-01", "aliases") in problems(weld, dataclasses.replace(chef, aliases=("焊工",)))
    # an alias that is another entry's occupation code (its own code names the same trade)
    assert ("4-03-02-01", "aliases") in problems(weld, dataclasses.replace(chef, aliases=("6-18-02-04",)))
    assert problems(weld, dataclasses.replace(chef, aliases=("4-03-02-01",))) == set()
    # replaced_by must point at an entry of the version
    dangling = dataclasses.replace(sample_entries[1], replaced_by="6-18-02-06")
    assert ("6-18-02-01", "replaced_by") in problems(weld, dangling)
    # a cycle of retirements leaves no current entry
    loop_a = dataclasses.replace(weld, replaced_by="6-18-02-01")
    loop_b = dataclasses.replace(sample_entries[1], replaced_by="6-18-02-04")
    assert ("6-18-02-04", "replaced_by") in problems(loop_a, loop_b)


def test_replaced_by_resolves_and_keeps_history(
    sample_entries: tuple[CatalogueEntry, ...], occupations: OccupationClassification
) -> None:
    retired = dataclasses.replace(sample_entries[1], replaced_by="6-18-02-04")
    catalogue = Catalogue(2, [sample_entries[0], retired])
    assert catalogue.validate(occupations) == []
    assert catalogue.resolve("6-18-02-01") == "6-18-02-04"
    assert catalogue.by_code("6-18-02-01") is retired  # never deleted
    assert catalogue.code_for_word("翻砂工") == "6-18-02-04"  # the retired trade's words lead to the new one
    assert [e.occupation_code for e in catalogue.active_entries()] == ["6-18-02-04"]
    # round trip keeps the link
    again = parse_catalogue_csv(catalogue_to_csv(catalogue), version=2)
    assert again == catalogue


def test_diff_reports_added_removed_and_changed_fields(sample_entries: tuple[CatalogueEntry, ...]) -> None:
    old = Catalogue(1, sample_entries)
    weld = dataclasses.replace(sample_entries[0], shortage_level=2, aliases=("电焊工",))
    new = Catalogue(2, [weld, *sample_entries[2:], CatalogueEntry("6-29-01-04", "钢筋工", ("扎钢筋的",))])
    diff = old.diff(new)
    assert diff.added == ("6-29-01-04",)
    assert diff.removed == ("6-18-02-01",)
    changed = {(c.occupation_code, c.field) for c in diff.changed}
    assert changed == {("6-18-02-04", "shortage_level"), ("6-18-02-04", "aliases")}
    assert old.diff(Catalogue(5, sample_entries)).empty


def test_csv_round_trip(sample_entries: tuple[CatalogueEntry, ...]) -> None:
    catalogue = Catalogue(3, sample_entries)
    text = catalogue_to_csv(catalogue)
    assert text.splitlines()[0] == HEADER
    assert parse_catalogue_csv(text, version=3) == catalogue


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(sample_entries: tuple[CatalogueEntry, ...]) -> None:
    # An authority's alias or note opened in Excel/WPS must not run (CSV injection); editing the export and
    # importing it again gives the same values back.
    planted = dataclasses.replace(sample_entries[0], aliases=('=HYPERLINK("http://x.example","点我")', "@SUM(1+1)"),
                                  notes="-见附件", source="+86 热线")
    catalogue = Catalogue(4, (planted, *sample_entries[1:]))
    text = catalogue_to_csv(catalogue)
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    assert "'-见附件" in cells
    assert parse_catalogue_csv(text, version=4) == catalogue


def test_csv_errors_carry_row_numbers_and_nothing_is_half_built() -> None:
    good = "6-18-02-04,焊工,电焊工;烧电焊的,制造业,1,,6000,9000,month,,,CQ,,"
    text = "\n".join(
        [
            HEADER,
            good,
            "6-18-02,铸造工,,制造业,1,,,,,,,CQ,,",  # bad code
            "4-03-02-01,,,餐饮,5,,,,,,,XX,,",  # empty name, level, side
            "4-10-01-06,家政服务员,,家政,1,,9000,100,month,,,CQ,,",  # min > max
            good,  # duplicate code
        ]
    )
    with pytest.raises(CatalogueImportError) as caught:
        parse_catalogue_csv(text, version=1)
    rows = {(e.row, e.field) for e in caught.value.errors}
    assert (3, "occupation_code") in rows
    assert {(4, "name"), (4, "shortage_level"), (4, "side")} <= rows
    assert (5, "wage_max") in rows
    assert (6, "occupation_code") in rows
    assert 2 not in {e.row for e in caught.value.errors}


def test_wrong_header_is_refused() -> None:
    with pytest.raises(CatalogueImportError) as caught:
        parse_catalogue_csv("code,名称\n6-18-02-04,焊工\n", version=1)
    assert caught.value.errors[0].row == 1


def test_gbk_csv_is_decoded_and_lists_accept_chinese_separators() -> None:
    text = f"{HEADER}\n6-18-02-04,焊工,电焊工、烧电焊的,制造业,1,,,,,,,CQ,,\n"
    assert decode_spreadsheet_bytes(text.encode("gbk")) == text
    assert decode_spreadsheet_bytes(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    entry = parse_catalogue_csv(text, 1).entries[0]
    assert entry.aliases == ("电焊工", "烧电焊的")
    assert split_list("a；b; ;a") == ("a", "b")


def test_synonyms_link_a_trade_both_ways_but_never_across_trades(catalogue: Catalogue) -> None:
    synonyms = catalogue.meilisearch_synonyms()
    assert "电焊工" in synonyms["焊工"]
    assert "焊工" in synonyms["电焊工"]
    assert "烧电焊的" in synonyms["电焊工"]
    assert "家政服务员" in synonyms["保姆"]
    assert "厨师" not in synonyms["焊工"]
    assert "焊工" not in synonyms["厨师"]
    for word, others in synonyms.items():
        owner = catalogue.code_for_word(word)
        assert {catalogue.code_for_word(o) for o in others} == {owner}


def test_contested_alias_is_left_out_of_synonyms(sample_entries: tuple[CatalogueEntry, ...]) -> None:
    weld, chef = sample_entries[0], sample_entries[2]
    catalogue = Catalogue(
        1,
        [
            dataclasses.replace(weld, aliases=("电焊工", "师傅")),
            dataclasses.replace(chef, aliases=("厨师", "师傅")),
        ],
    )
    synonyms = catalogue.meilisearch_synonyms()
    assert "师傅" not in synonyms
    assert all("师傅" not in others for others in synonyms.values())


def test_dictionary_keeps_trade_county_and_pay_words_whole(
    catalogue: Catalogue, regions: RegionDirectory
) -> None:
    words = catalogue.kept_whole_words(regions)
    assert {"电焊工", "焊工", "烧电焊的", "九龙坡", "九龙坡区", "日结", "普工", "包住"} <= set(words)
    assert all(len(word) >= 2 for word in words)
    assert words == sorted(set(words))
    # Meilisearch gets only the words its segmentation would break (tests/matching/test_index_dictionary.py).
    dictionary = catalogue.meilisearch_dictionary(regions)
    assert set(dictionary) <= set(words)
    assert dictionary == sorted(set(dictionary))


def test_shipped_initial_catalogue_is_valid_and_drives_synonyms(
    occupations: OccupationClassification, regions: RegionDirectory
) -> None:
    shipped = load_initial_catalogue()
    assert shipped.version == 1
    assert len(shipped) >= 300
    assert shipped.validate(occupations, regions) == []
    synonyms = shipped.meilisearch_synonyms()
    assert "电焊工" in synonyms["焊工"]
    assert "焊工" in synonyms["电焊工"]
    assert "家政服务员" in synonyms["保姆"]
    chef_words = set(shipped.by_code("4-03-02-01").words)  # type: ignore[union-attr]
    assert not chef_words & set(synonyms["焊工"])
    assert parse_catalogue_csv(catalogue_to_csv(shipped), version=1) == shipped


def test_a_wage_band_problem_names_the_bound_at_fault(
    sample_entries: tuple[CatalogueEntry, ...],
    occupations: OccupationClassification,
    regions: RegionDirectory,
) -> None:
    # It was the whole `wage_band` for any of three mistakes; an upside-down band names both bounds.
    weld = sample_entries[0]
    band = weld.wage_band
    assert band is not None

    def fields(**changes: object) -> list[str]:
        entry = dataclasses.replace(weld, wage_band=dataclasses.replace(band, **changes))
        return [p.field for p in Catalogue(1, (entry,)).validate(occupations, regions)]

    assert fields(min=band.max + 1) == ["wage_band.min", "wage_band.max"]
    assert fields(min=-1) == ["wage_band.min"]
    assert fields(unit="year") == ["wage_band.unit"]
    # Past a posting's wage bound (1,000,000): a typing mistake like 1e12, named at the upper bound.
    assert fields(max=1e12) == ["wage_band.max"]
    assert fields(max=1_000_000) == []


def test_a_spreadsheet_wage_band_past_a_postings_wage_bound_is_refused() -> None:
    text = f"{HEADER}\n6-18-02-04,焊工,,制造业,1,,6000,1e12,month,,,CQ,,\n"
    with pytest.raises(CatalogueImportError) as caught:
        parse_catalogue_csv(text, version=1)
    assert [(e.row, e.field) for e in caught.value.errors] == [(2, "wage_max")]
