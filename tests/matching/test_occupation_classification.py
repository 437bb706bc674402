from matching.occupations import OccupationClassification, middle_group_code, small_group_code


def test_codes_names_and_groups(occupations: OccupationClassification) -> None:
    assert occupations.exists("6-18-02-04")
    assert occupations.name_of("6-18-02-04") == "焊工"
    assert not occupations.exists("6-18-02-99")
    assert small_group_code("6-18-02-04") == "6-18-02"
    assert middle_group_code("6-18-02-04") == "6-18"
    assert "6-18-02-01" in occupations.codes_in_small_group("6-18-02")
    assert occupations.small_group_name("6-18-02") is not None
    assert len(occupations) > 1600
