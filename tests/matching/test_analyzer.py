import dataclasses

from matching.catalogue import Catalogue, CatalogueEntry
from matching.segmentation import Analyzer, AnalyzerHolder


def test_trade_county_and_pay_words_stay_whole(analyzer: Analyzer) -> None:
    words = analyzer.cut("九龙坡区招电焊工日结包吃住，普工也要")
    for word in ("九龙坡区", "电焊工", "日结", "包吃住", "普工"):
        assert word in words
    assert "，" not in words
    assert analyzer.cut("  ") == []


def test_dictionary_and_user_words_are_told_apart(analyzer: Analyzer) -> None:
    assert analyzer.is_user_word("烧电焊的")
    assert not analyzer.is_dictionary_word("师机")
    assert analyzer.is_dictionary_word("司机")
    assert analyzer.is_known_word("电焊工")


def test_holder_swaps_to_a_new_catalogue_version(analyzer: Analyzer, catalogue: Catalogue) -> None:
    holder = AnalyzerHolder(analyzer)
    assert "扎钢筋的" not in holder.current.cut("招扎钢筋的")
    v2 = Catalogue(
        analyzer.catalogue_version + 1,
        [*catalogue.entries, CatalogueEntry("6-29-01-04", "钢筋工", ("扎钢筋的",))],
    )
    new = Analyzer.build(v2)
    taken = holder.current  # a request that started before the swap keeps its analyzer
    assert holder.replace(new)
    assert holder.current is new
    assert "扎钢筋的" in holder.current.cut("招扎钢筋的")
    assert taken is analyzer
    # an older version never replaces a newer one
    assert not holder.replace(Analyzer([], catalogue_version=0))
    assert holder.current is new
    assert dataclasses.is_dataclass(catalogue.entries[0])
