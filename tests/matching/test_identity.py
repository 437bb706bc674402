"""ID numbers (GB 11643-1999) and mobile numbers: validation, normalisation, masking."""

from __future__ import annotations

from datetime import date

import pytest

from matching.identity import (
    DEFAULT_MAX_WORKING_AGE,
    DEFAULT_MIN_WORKING_AGE,
    IdNumber,
    InvalidIdNumber,
    InvalidPhone,
    age_on,
    id_check_character,
    mask_id_number,
    mask_numbers_in_free_text,
    mask_numbers_in_text,
    mask_phone,
    mobile_number,
    normalise_id_number,
    parse_contact_phone,
    parse_id_number,
    parse_mobile,
)

TODAY = date(2026, 11, 25)
# The example printed in GB 11643-1999 itself: 北京市朝阳区, born 1949-12-31, sequence 002 (female), check X.
GB_EXAMPLE = "11010519491231002X"
# 九龙坡区 (500107), 1985-01-01, sequence 123 (male), check X — the api.md masking example's shape.
CQ_X = "50010719850101123X"
# 成都市武侯区 (510107), 1990-03-07, sequence 001 (male), check 4.
SC_MALE = "510107199003070014"


def _independent_check(first17: str) -> str:
    """The MOD 11-2 check written out separately from the code under test."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064: w_i = 2^(i-1) mod 11, from the right
    assert weights == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    r = sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11
    return {0: "1", 1: "0", 2: "X", 3: "9", 4: "8", 5: "7", 6: "6", 7: "5", 8: "4", 9: "3", 10: "2"}[r]


def _with_check(first17: str) -> str:
    return first17 + _independent_check(first17)


@pytest.mark.parametrize("number", [GB_EXAMPLE, CQ_X, SC_MALE, "500104200002290028", "513422199508151023"])
def test_check_character_agrees_with_an_independent_computation(number: str) -> None:
    assert id_check_character(number[:17]) == number[17] == _independent_check(number[:17])


def test_the_published_gb_example_is_valid() -> None:
    parsed = parse_id_number(GB_EXAMPLE, today=TODAY, max_age=100)
    assert parsed == IdNumber(GB_EXAMPLE, date(1949, 12, 31), "female", "110105")


def test_valid_number_with_x_check_character() -> None:
    parsed = parse_id_number(CQ_X, today=TODAY)
    assert parsed.value == CQ_X
    assert parsed.birth_date == date(1985, 1, 1)
    assert parsed.gender == "male"  # sequence 123: odd
    assert parsed.region_adcode == "500107"


def test_odd_sequence_is_male_even_is_female() -> None:
    assert parse_id_number(SC_MALE, today=TODAY).gender == "male"
    assert parse_id_number("513422199508151023", today=TODAY).gender == "female"


@pytest.mark.parametrize(
    "raw",
    [
        "50010719850101123x",  # lower-case x
        " 500107 19850101 123X ",  # spaces
        "500107-19850101-123X",  # hyphens
        "５００１０７１９８５０１０１１２３Ｘ",  # full-width digits and Ｘ from a Chinese IME
        "500107\u300019850101123x",  # ideographic space
    ],
)
def test_input_is_normalised(raw: str) -> None:
    assert parse_id_number(raw, today=TODAY).value == CQ_X


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "length"),
        ("5001071985010112", "length"),
        ("50010719850101123", "length"),  # 17 characters
        ("50010719850101123XX", "length"),
        ("5001071985O101123X", "characters"),  # letter O instead of zero
        ("X0010719850101123X", "characters"),
        ("50010719850101123A", "characters"),
        ("50010785010112X", "characters"),  # 15-digit legacy numbers have no check character
        (_with_check("99010719850101123"), "region"),
        ("50010719850101123" + "1", "check_character"),
        (CQ_X[:-1] + "0", "check_character"),
        (_with_check("50010719900230001"), "birth_date"),  # 30 February
        (_with_check("50010719990229001"), "birth_date"),  # 1999 is not a leap year
        (_with_check("50010719901301001"), "birth_date"),  # month 13
        (_with_check("50010719900100001"), "birth_date"),  # day 0
        (_with_check("50010720301001001"), "birth_date_future"),
        (_with_check("50010720261126001"), "birth_date_future"),  # tomorrow
    ],
)
def test_invalid_numbers_give_a_reason_code(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(raw, today=TODAY)
    assert info.value.reason_code == reason
    assert info.value.message_zh
    assert info.value.message_en == str(info.value)


def test_a_leap_day_birth_is_valid() -> None:
    assert parse_id_number("500104200002290028", today=TODAY).birth_date == date(2000, 2, 29)


def test_error_messages_never_contain_the_number() -> None:
    for raw in (CQ_X[:-1] + "0", _with_check("50010720301001001"), _with_check("50010720150101001")):
        with pytest.raises(InvalidIdNumber) as info:
            parse_id_number(raw, today=TODAY)
        for text in (info.value.message_zh, info.value.message_en, repr(info.value)):
            assert raw[6:14] not in text
            assert raw not in text


def test_working_age_defaults_are_16_and_65() -> None:
    assert (DEFAULT_MIN_WORKING_AGE, DEFAULT_MAX_WORKING_AGE) == (16, 65)
    sixteen_today = _with_check("50010720101125001")
    assert parse_id_number(sixteen_today, today=TODAY).birth_date == date(2010, 11, 25)
    sixteen_tomorrow = _with_check("50010720101126001")
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(sixteen_tomorrow, today=TODAY)
    assert info.value.reason_code == "under_age"
    sixty_five = _with_check("50010719611125001")
    assert parse_id_number(sixty_five, today=TODAY).birth_date == date(1961, 11, 25)
    sixty_six = _with_check("50010719601125001")
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(sixty_six, today=TODAY)
    assert info.value.reason_code == "over_age"


def test_under_16_is_rejected() -> None:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(_with_check("50010720150101001"), today=TODAY)
    assert info.value.reason_code == "under_age"
    assert "16" in info.value.message_zh


def test_age_limits_are_parameters() -> None:
    assert parse_id_number(GB_EXAMPLE, today=TODAY, max_age=80).birth_date.year == 1949
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(GB_EXAMPLE, today=TODAY)
    assert info.value.reason_code == "over_age"
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(_with_check("50010720080601001"), today=TODAY, min_age=20)
    assert info.value.reason_code == "under_age"


def test_fifteen_digit_legacy_numbers_are_converted() -> None:
    assert normalise_id_number("500107850101123") == CQ_X
    parsed = parse_id_number("500107 850101 123", today=TODAY)
    assert parsed.value == CQ_X
    assert parsed.birth_date == date(1985, 1, 1)
    assert parsed.gender == "male"
    # The GB example's 15-digit form.
    assert normalise_id_number("110105491231002") == GB_EXAMPLE


def test_fifteen_digit_legacy_number_with_impossible_date() -> None:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number("500107850230123", today=TODAY)
    assert info.value.reason_code == "birth_date"


def test_repr_does_not_leak_the_number() -> None:
    parsed = parse_id_number(CQ_X, today=TODAY)
    assert CQ_X not in repr(parsed)
    assert "19850101" not in repr(parsed)
    assert parsed.masked == "500107********123X"


def test_id_check_character_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17"):
        id_check_character("1234")
    with pytest.raises(ValueError, match="17"):
        id_check_character("1101051949123100X")


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "0086 138-1234-5678",
        "008613812345678",
        "8613812345678",
        "(+86)13812345678",
        "（+86）138 1234 5678",
        "１３８１２３４５６７８",
    ],
)
def test_mobile_prefixes_and_separators(raw: str) -> None:
    assert parse_mobile(raw) == "13812345678"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_mobile_second_digit_3_to_9(prefix: str) -> None:
    assert parse_mobile(prefix + "912345678") == prefix + "912345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12812345678",  # second digit 2
        "10812345678",
        "23812345678",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+8612812345678",
        "+85213812345678",  # wrong country code
        "861381234567",  # 86 + 10 digits
        "1381234567a",
        "023-68881234",  # a Chongqing landline
    ],
)
def test_invalid_mobiles(raw: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        parse_mobile(raw)
    assert info.value.reason_code == "format"
    if raw:
        assert raw not in info.value.message_en


def test_masking() -> None:
    assert mask_id_number(CQ_X) == "500107********123X"
    assert mask_id_number(GB_EXAMPLE) == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("value", ["", "12345", "5001071985010112"])
def test_masking_unexpected_shapes_reveals_nothing(value: str) -> None:
    assert mask_id_number(value) == "*" * 18
    assert set(mask_phone(value)) == {"*"}


def test_age_on() -> None:
    born = date(1990, 6, 15)
    assert age_on(born, date(2026, 6, 14)) == 35
    assert age_on(born, date(2026, 6, 15)) == 36
    assert age_on(born, born) == 0
    leap = date(2008, 2, 29)
    assert age_on(leap, date(2024, 2, 28)) == 15
    assert age_on(leap, date(2024, 2, 29)) == 16
    assert age_on(leap, date(2025, 2, 28)) == 16
    assert age_on(leap, date(2026, 2, 28)) == 17
    assert age_on(leap, date(2026, 3, 1)) == 18


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("023-68000000", "023-68000000"),
        ("(023)68000000", "023-68000000"),
        ("023 6800 0000", "023-68000000"),
        ("02368000000", "023-68000000"),  # 023 + 8 digits, not 0236 + 7
        ("0817-1234567", "0817-1234567"),
        ("010-12345678", "010-12345678"),
        ("+86 23 6800 0000", "023-68000000"),  # the trunk 0 dropped after the country code
        ("023-68000000转123", "023-68000000-123"),
        ("023-68000000-123", "023-68000000-123"),
        ("0817-1234567 ext. 12", "0817-1234567-12"),
        ("０２３－６８００００００", "023-68000000"),
        ("+86 138 1234 5678", "13812345678"),
        # 400 / 800 service numbers: many enterprises publish one as their hiring line.
        ("400-820-8820", "400-820-8820"),
        ("400 820 8820", "400-820-8820"),
        ("4008208820", "400-820-8820"),
        ("800-820-8820", "800-820-8820"),
        ("400-820-8820转1", "400-820-8820-1"),
        ("+86 400 820 8820", "400-820-8820"),
        ("４００－８２０－８８２０", "400-820-8820"),
    ],
)
def test_contact_phones_are_mobiles_or_fixed_lines_with_area_codes(raw: str, expected: str) -> None:
    assert parse_contact_phone(raw) == expected
    assert (mobile_number(expected) is not None) == (len(expected) == 11)  # texts go to mobiles only


@pytest.mark.parametrize("raw", [
    "", "12345", "63000000", "023-123", "023-6800000012345", "abc", "12812345678",
    # No trunk 0 and no +86: a number missing its 0, not 010-…; a service number is 10 digits, 400 or 800, no 0.
    "1068000000", "2368000000", "400-820-882", "400-820-88201", "500-820-8820",
    # Digits of another script, which NFKC leaves as they are: a gateway cannot dial them.
    "023-\u0666\u0668\u0660\u0660\u0660\u0660\u0660\u0660", "023-68000000-\u0661\u0662",
])
def test_contact_phones_without_an_area_code_or_with_the_wrong_length_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        parse_contact_phone(raw)
    assert info.value.reason_code == "format"
    if raw:
        assert raw not in info.value.message_en


@pytest.mark.parametrize("raw", ["5.00107E+17", "5.00107e+17", "5E+17", " 5.001072E+17 ", "５．００１０７Ｅ＋１７",
                                 "500107198501011000"])
def test_an_id_number_excel_turned_into_a_number_says_so(raw: str) -> None:
    # Scientific notation, or 15 significant digits and zeros (a Number cell): a spreadsheet's doing, not a typo.
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(raw, today=TODAY)
    assert info.value.reason_code == "excel_number"
    assert "文本" in info.value.message_zh
    assert "dropped digits" in info.value.message_en
    if "E" in raw:
        with pytest.raises(InvalidIdNumber):
            normalise_id_number(raw)


@pytest.mark.parametrize("raw", ["1.38001E+10", "1.38E+10"])
def test_a_phone_excel_turned_into_a_number_says_so(raw: str) -> None:
    for parse in (parse_mobile, parse_contact_phone):
        with pytest.raises(InvalidPhone) as info:
            parse(raw)
        assert info.value.reason_code == "excel_number"
        assert "dropped digits" in info.value.message_en


def test_numbers_in_text_are_masked_in_full_width_too() -> None:
    # A header row or a path of ５００１０７… is the same person's number, which parse_id_number reads.
    wide = {ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}
    assert mask_numbers_in_text(f"/v1/x/{CQ_X.translate(wide)}") == "/v1/x/５００１０７********１２３Ｘ"
    assert mask_numbers_in_text("电话１３８１２３４５６７８") == "电话１３８****５６７８"
    assert mask_numbers_in_text("编号１２３４５") == "编号１２３４５"


@pytest.mark.parametrize(("text", "expected"), [
    ("有事打+8613812345678", "有事打+86138****5678"),
    ("电话8613812345678", "电话86138****5678"),
    ("＋８６ １３８１２３４５６７８", "＋８６ １３８****５６７８"),
    ("联系 138 1234 5678 王", "联系 138****5678 王"),
    ("138-1234-5678", "138****5678"),
    ("tel13812345678、wx13812345678", "tel138****5678、wx138****5678"),
    ("身份证50010719900101123X号", "身份证500107********123X号"),
    # An ID number run into latin letters, or grouped as it is built (region, birth date, sequence and check).
    ("sfz50010719900101123X", "sfz500107********123X"), ("ID50010719900101123Xok", "ID500107********123Xok"),
    ("身份证 500107 19900101 123X", "身份证 500107********123X"), ("500107-19900101-123x", "500107********123x"),
    ("老身份证 500107 900101 123", "老身份证 500107*****1123"),
    # Not a mobile: too many digits in a row, a wage, a year.
    ("编号138123456789", "编号138123456789"), ("月薪 8000-12000 元", "月薪 8000-12000 元"), ("2026年", "2026年"),
])
def test_numbers_in_free_text_are_masked_as_people_write_them(text: str, expected: str) -> None:
    assert mask_numbers_in_free_text(text) == expected


def test_a_uuid_in_a_path_is_never_taken_for_a_phone() -> None:
    # Why paths keep mask_numbers_in_text: a hyphenated UUID group can look like 138-1234-5678 in prose.
    path = "/v1/workers/0e9ab138-1234-5678-9abc-def012345678"
    assert mask_numbers_in_text(path) == path


@pytest.mark.parametrize(("text", "expected"), [
    # ID numbers grouped however they are printed: 4-4-4-4-2 (as banks print them), 3-3-4-4-4, 8-8-2, spaced out.
    ("身份证 5001 0719 8501 0112 3X", "身份证 500107********123X"),
    ("500 107 1985 0101 123X", "500107********123X"), ("50010719-85010112-3x 王", "500107********123x 王"),
    ("5 0 0 1 0 7 1 9 8 5 0 1 0 1 1 2 3 X", "500107********123X"),
    ("５００１ ０７１９ ８５０１ ０１１２ ３Ｘ", "５００１０７********１２３Ｘ"),
    ("500107—19850101—123X", "500107********123X"), ("500107．19850101．123X", "500107********123X"),
    # The special-operations certificate's number is its holder's ID number after a T: masked as the ID number.
    ("焊工证 T50010719850101123X", "焊工证 T500107********123X"),
    ("110000 20000101 0000x", "110000********0000x"),  # the x is a letter after the number: it ends with 0
    ("老证 500 107 850 101 123", "老证 500107*****1123"),
    # Mobiles split by any dash-like mark, dot or slash, and grouped 3-3-5, 4-3-4, 2-4-5 or digit by digit.
    ("138—1234—5678", "138****5678"), ("138–1234–5678", "138****5678"), ("138‐1234‐5678", "138****5678"),
    ("138‒1234‒5678", "138****5678"), ("138―1234―5678", "138****5678"), ("138ー1234ー5678", "138****5678"),
    ("138·1234·5678", "138****5678"), ("138.1234.5678", "138****5678"),
    ("１３８．１２３４．５６７８", "１３８****５６７８"), ("138/1234/5678", "138****5678"),
    ("１３８／１２３４／５６７８", "１３８****５６７８"), ("138 - 1234 - 5678", "138****5678"),
    ("电话 138 123 45678", "电话 138****5678"), ("1381 234 5678", "138****5678"), ("13 8123 45678", "138****5678"),
    ("1 3 8 1 2 3 4 5 6 7 8", "138****5678"), ("+86—138—1234—5678", "+86—138****5678"),
    ("0086 138 1234 5678", "0086 138****5678"), ("13812345678x", "138****5678x"),
    ("王师傅13812345678 3年", "王师傅138****5678 3年"), ("电工 5 13812345678", "电工 5 138****5678"),
    ("13812345678 13912345678", "138****5678 139****5678"),
    # An unbroken run of 16 or more digits (an ID number and a mobile run together, a bank card) keeps its ends only.
    ("50010719850101123413812345678", "500107*******************5678"),
    ("卡号6222021234567890123", "卡号622202*********0123"),
    # A bank card as banks and apps print it, in groups of four (the last of a 19-digit one three), one separator.
    ("工资卡 6222 0212 3456 7890 123 建行", "工资卡 622202*********0123 建行"),
    ("6217-0000-1234-5678", "621700******5678"), ("6222.0212.3456.7890.12", "622202********9012"),
    ("卡号：４３６７ ４２１２ ３４５６ ７８９０", "卡号：４３６７４２******７８９０"),
    # Two cards run together, or a card and a year, are masked whole: no single card's middle is left.
    ("6222 0212 3456 7890 6217 0000 1234 5678", "622202**********************5678"),
])
def test_numbers_in_free_text_are_masked_however_they_are_grouped(text: str, expected: str) -> None:
    assert mask_numbers_in_free_text(text) == expected
    assert mask_numbers_in_free_text(expected) == expected


@pytest.mark.parametrize("text", [
    # Dates, ranges, wages, years and counts, which add up to eleven or more digits, are no numbers of a person.
    "2019-2020 在成都", "2024.10.01 入职", "月薪4000-6000 2024.10.01", "1998.3.15-2005.6 电焊", "2019/3/15-2020/6/1",
    "2019.10.01-2020.12.31 2021.01", "2000.1.1-2000.1 2000.1.1-2000.10", "1.3 1.5 1.8 2.0 2.2 2.5 吨",
    "电焊 15年 叉车 3 年 4000-6000",
    "2019—2020、2021—2023 建筑 1200/1500/1800", "电话 023-6800 0000", "400-820-8820 转 1234",
    # Twelve to fifteen digits in a row are not a mobile (an order number); two grouped runs that only add up to a
    # legacy ID number's length with impossible birth dates are not one either.
    "编号138123456789", "单号 1381234567890", "8000 9000 1000 200",
    # Four groups of four that no card's digits make: years (no card number starts 19 or 20), round wages.
    "2019 2020 2021 2022 在重庆", "1998 2003 2010 2016", "月薪 4000 5000 6000 8000", "4500/5500/6500/7500",
])
def test_free_text_without_a_number_of_a_person_is_left_as_written(text: str) -> None:
    assert mask_numbers_in_free_text(text) == text
