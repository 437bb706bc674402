"""Resident ID numbers and mobile numbers: validation, normalisation and masking.

Pure functions, no I/O. ``today`` is always passed in so results are reproducible.

ID numbers follow GB 11643-1999: 6-digit region code (GB/T 2260 adcode at issue time), 8-digit birth date,
3-digit sequence (odd = male, even = female) and a check character computed with ISO 7064 MOD 11-2.
Legacy 15-digit numbers (issued before 1999: 6-digit region, 6-digit ``YYMMDD`` birth date, 3-digit sequence,
no check character) are converted to 18 characters by inserting ``19`` before the year and appending the
check character — every 15-digit number belongs to someone born in the 1900s.

Error messages never contain the number itself: they end up in API responses and logs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Final, Literal

from matching.spreadsheet_cells import EXCEL_NUMBER_EN, EXCEL_NUMBER_ZH, is_scientific_number

__all__ = [
    "DEFAULT_MAX_WORKING_AGE",
    "DEFAULT_MIN_WORKING_AGE",
    "IdNumber",
    "InvalidIdNumber",
    "InvalidPhone",
    "age_on",
    "id_check_character",
    "mask_id_number",
    "mask_numbers_in_free_text",
    "mask_numbers_in_log_text",
    "mask_numbers_in_text",
    "mask_phone",
    "normalise_id_number",
    "parse_id_number",
    "parse_mobile",
]

# The minimum is law, not a choice: the PRC Labour Law (劳动法, art. 15) and the State Council's
# Provisions on the Prohibition of Child Labour (禁止使用童工规定, art. 2) forbid any employer, agency or
# individual to employ or to broker the employment of anyone under 16.
DEFAULT_MIN_WORKING_AGE: Final = 16
# The maximum is a platform choice, not law: statutory retirement (60 for men, 50/55 for women, rising
# gradually from 2025) ends labour-contract status, but retirees may still work under service (劳务)
# agreements, and rural workers commonly do so into their sixties. 65 is where gig-work accident
# insurance commonly stops covering and where most postings' own limits end. Callers that
# serve older workers (e.g. a retiree-rehire programme) pass a larger ``max_age``.
DEFAULT_MAX_WORKING_AGE: Final = 65

_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS: Final = "10X98765432"

# GB/T 2260 province-level codes, plus 83 (residence permits for Taiwan residents; 81/82 are used for
# Hong Kong / Macao residence permits). The 2023 foreigners' permanent-residence card (leading 9) is not
# a resident ID number and is rejected here.
_PROVINCE_CODES: Final = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip

_ID18_RE: Final = re.compile(r"[0-9]{17}[0-9X]")
_ID15_RE: Final = re.compile(r"[0-9]{15}")
_STRIP_RE: Final = re.compile(r"[\s\-‐‑‒–—―]+")
_MOBILE_RE: Final = re.compile(r"1[3-9][0-9]{9}")
# A fixed line: area code then a 7–8 digit number, once separators are gone. Area codes are 010 and 020–029, or
# four digits 03xx–09xx, so 02368000000 splits as 023 + 68000000 and not 0236 + 8000000. The trunk 0 may be
# dropped only after +86 (+86 23 6800 0000): without it, 400 820 8820 (a service number, not a fixed line) was
# stored as 0400-8208820. ASCII digits only: NFKC folds full-width digits, not other scripts' (٦٨), which \d took.
_LANDLINE_RE: Final = re.compile(r"(?:(?:\+86|0086)0?|0)(10|2[0-9]|[3-9][0-9]{2})([0-9]{7,8})")
# A nationwide service number (400 and 800 numbers, 10 digits), which many enterprises publish as their hiring line.
# No trunk 0 (0400-… is no number); +86 may precede it.
_SERVICE_RE: Final = re.compile(r"(?:\+86|0086)?([48]00)([0-9]{3})([0-9]{4})")
# An extension after the number: 转 123, ext. 123, x123, #123, or a last hyphen group, at most 6 digits, after a
# complete number (023-68000000-123).
_EXTENSION_RE: Final = re.compile(r"(?:\s*(?:转|ext\.?|x|#)\s*|-)([0-9]{1,6})$", re.IGNORECASE)

Gender = Literal["male", "female"]


class InvalidIdNumber(ValueError):
    """A resident ID number failed validation.

    ``reason_code`` is stable and machine-readable (``length``, ``characters``, ``region``,
    ``check_character``, ``birth_date``, ``birth_date_future``, ``under_age``, ``over_age``, and
    ``excel_number`` for a number a spreadsheet mangled: 5.00107E+17, or 15 digits then zeros);
    the messages are for people and never contain the number.
    """

    def __init__(self, reason_code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.reason_code = reason_code
        self.message_zh = message_zh
        self.message_en = message_en


class InvalidPhone(ValueError):
    """A mobile number failed validation (``reason_code``: ``format``, or ``excel_number`` for a number a
    spreadsheet turned into 1.38001E+10). Messages never contain the number."""

    def __init__(self, reason_code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.reason_code = reason_code
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A validated resident ID number. ``value`` is the normalised 18-character form (upper-case X).

    The ``repr`` masks the number so that an accidental log line does not leak it.
    """

    value: str
    birth_date: date
    gender: Gender
    region_adcode: str

    def __repr__(self) -> str:
        return (
            f"IdNumber(value={mask_id_number(self.value)!r}, birth_date=<hidden>, "
            f"gender=<hidden>, region_adcode={self.region_adcode!r})"
        )

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)


def id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("expected exactly 17 ASCII digits")
    return _CHECK_CHARS[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]


def _clean(raw: str) -> str:
    # NFKC turns full-width digits, Ｘ and the ideographic space into their ASCII forms (common with
    # Chinese input methods); then spaces and hyphens/dashes are dropped. ASCII text is its own NFKC form.
    return _STRIP_RE.sub("", raw if raw.isascii() else unicodedata.normalize("NFKC", raw))


def normalise_id_number(raw: str) -> str:
    """Syntactic normalisation only: strip separators, upper-case X, convert 15 to 18 characters.

    Raises :class:`InvalidIdNumber` for a wrong length or characters; does not check the check
    character, the date or the age (:func:`parse_id_number` does).
    """
    _refuse_excel_number_id(raw)
    return _normalise_cleaned(_clean(raw))


def _refuse_excel_number_id(raw: str) -> None:
    if is_scientific_number(raw if raw.isascii() else unicodedata.normalize("NFKC", raw)):
        raise InvalidIdNumber("excel_number", EXCEL_NUMBER_ZH, EXCEL_NUMBER_EN)


def _normalise_cleaned(cleaned: str) -> str:
    s = cleaned.upper()
    if len(s) not in (15, 18):
        raise InvalidIdNumber(
            "length",
            "身份证号码应为18位（或旧版15位）",
            "An ID number has 18 characters (or 15 digits for a legacy number)",
        )
    if len(s) == 15:
        if not _ID15_RE.fullmatch(s):
            raise InvalidIdNumber(
                "characters", "15位旧身份证号码只能包含数字", "A 15-digit legacy ID number has digits only"
            )
        first17 = s[:6] + "19" + s[6:]
        return first17 + id_check_character(first17)
    if not _ID18_RE.fullmatch(s):
        raise InvalidIdNumber(
            "characters",
            "身份证号码前17位应为数字，最后一位为数字或X",
            "An ID number has 17 digits followed by a digit or X",
        )
    return s


def parse_id_number(
    raw: str,
    *,
    today: date,
    min_age: int = DEFAULT_MIN_WORKING_AGE,
    max_age: int = DEFAULT_MAX_WORKING_AGE,
) -> IdNumber:
    """Validate and normalise a resident ID number of a person of working age on ``today``.

    Checks, in order: length and characters, region (province part), check character (18-character input
    only; a converted 15-digit number gets a computed one), a real calendar birth date, not in the
    future, and ``min_age <= age <= max_age``.
    """
    _refuse_excel_number_id(raw)
    cleaned = _clean(raw)
    was_legacy = len(cleaned) == 15
    value = _normalise_cleaned(cleaned)
    if value[:2] not in _PROVINCE_CODES:
        raise InvalidIdNumber(
            "region", "身份证号码的地区码无效", "The region code of the ID number is not a valid province"
        )
    if not was_legacy and id_check_character(value[:17]) != value[17]:
        if value.endswith("000"):
            # Excel keeps 15 significant digits of a number cell and saves the rest as zeros (a column of the
            # Number format with 0 decimals): a typo is rarely three zeros at the end.
            raise InvalidIdNumber("excel_number", EXCEL_NUMBER_ZH, EXCEL_NUMBER_EN)
        raise InvalidIdNumber(
            "check_character",
            "身份证号码校验位错误，请核对是否输错",
            "The ID number's check character is wrong; please check for a typo",
        )
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber(
            "birth_date", "身份证号码中的出生日期不存在", "The birth date in the ID number does not exist"
        ) from None
    if birth > today:
        raise InvalidIdNumber(
            "birth_date_future",
            "身份证号码中的出生日期晚于今天",
            "The birth date in the ID number is in the future",
        )
    age = age_on(birth, today)
    if age < min_age:
        raise InvalidIdNumber(
            "under_age",
            f"未满{min_age}周岁，不得招用（禁止使用童工）",
            f"Under {min_age}: may not be employed (child labour is prohibited)",
        )
    if age > max_age:
        raise InvalidIdNumber(
            "over_age",
            f"年龄超过{max_age}周岁，超出平台服务的就业年龄范围",
            f"Older than {max_age}: outside the working-age range this platform serves",
        )
    gender: Gender = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value=value, birth_date=birth, gender=gender, region_adcode=value[:6])


def parse_mobile(raw: str) -> str:
    """Validate a mainland mobile number and return its 11 digits.

    Accepts ``+86``, ``0086`` and ``86`` country prefixes (the bare ``86`` only when 11 digits follow),
    spaces, hyphens and full-width digits.
    """
    if is_scientific_number(raw if raw.isascii() else unicodedata.normalize("NFKC", raw)):
        raise InvalidPhone("excel_number", EXCEL_NUMBER_ZH, EXCEL_NUMBER_EN)
    s = _clean(raw).replace("(", "").replace(")", "")
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    elif s.startswith("86") and len(s) == 13:
        s = s[2:]
    if not _MOBILE_RE.fullmatch(s):
        raise InvalidPhone(
            "format",
            "手机号码应为11位，以13–19开头",
            "A mobile number has 11 digits starting with 13–19",
        )
    return s


def parse_contact_phone(raw: str) -> str:
    """Validate an organisation's contact phone, a mobile, a fixed line or a 400/800 service number, and return it
    normalised: a mobile as its 11 digits (`parse_mobile`), a fixed line as ``023-68000000``, a service number as
    ``400-820-8820`` (``-1234`` after either with an extension). A worker's phone stays a mobile (`parse_mobile`).

    Full-width digits and the ideographic space are accepted (NFKC)."""
    try:
        return parse_mobile(raw)
    except InvalidPhone as exc:
        if exc.reason_code == "excel_number":
            raise
    text = raw.strip() if raw.isascii() else unicodedata.normalize("NFKC", raw).strip()
    extension = None
    found = _EXTENSION_RE.search(text)
    if found is not None:
        head = _without_separators(text[: found.start()])
        if _LANDLINE_RE.fullmatch(head) or _SERVICE_RE.fullmatch(head):
            text, extension = text[: found.start()], found.group(1)
    suffix = f"-{extension}" if extension else ""
    service = _SERVICE_RE.fullmatch(_without_separators(text))
    if service is not None:
        return "-".join(service.groups()) + suffix
    match = _LANDLINE_RE.fullmatch(_without_separators(text))
    if match is None:
        raise InvalidPhone(
            "format",
            "联系电话应为手机号码、带区号的固定电话（如 023-68000000）或 400/800 电话",
            "A contact phone is a mobile number, a fixed line with its area code (such as 023-68000000) or a 400 "
            "or 800 service number",
        )
    area, number = match.groups()
    return f"0{area}-{number}" + suffix


def _without_separators(text: str) -> str:
    return _STRIP_RE.sub("", text).replace("(", "").replace(")", "")


def mobile_number(value: str) -> str | None:
    """The 11 digits of a stored contact phone that is a mobile, written any way `parse_mobile` reads it; None for
    a fixed line or anything else. Contact phones stored before they were normalised on registration are kept
    as typed (138-0013-8000, +86 138 0013 8000), sealed where no migration can rewrite them."""
    try:
        return parse_mobile(value)
    except InvalidPhone:
        return None


def mask_id_number(value: str) -> str:
    """``500107199001011234`` → ``500107********1234``: first 6, eight stars, last 4.

    Anything that is not an 18-character value is masked completely rather than partially revealed.
    """
    if len(value) != 18:
        return "*" * 18
    return value[:6] + "*" * 8 + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``. Anything that is not 11 characters is masked completely."""
    if len(value) != 11:
        return "*" * 11
    return value[:3] + "****" + value[-4:]


# An ID number (18 or legacy 15 characters) or a mobile number standing alone in free text such as a URL path.
# Bounded by non-alphanumerics, so no group of a UUID (8, 4 or 12 hex characters) is ever taken for one. Full-width
# digits (５００１０７…, what a Chinese input method's full-width mode types) are the same number: `parse_id_number`
# reads them, so a header row of them is a person's, and a path holding them is masked too.
_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])(?:[0-9０-９]{17}[0-9０-９XxＸｘ]|[0-9０-９]{15}|[1１][3-9３-９][0-9０-９]{9})"
    r"(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])")


def _mask_id_digits(value: str) -> str:
    # An 18-character number as mask_id_number masks it; a 15-digit one keeps the same ends.
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_numbers_in_text(text: str) -> str:
    """Every ID number or mobile number in ``text`` masked as responses mask them (``138****5678``,
    ``500107********123X``; a 15-digit one keeps the same ends). For what a client wrote where no personal
    value belongs (a URL path) before it is logged or echoed in a problem."""

    def mask(match: re.Match[str]) -> str:
        value = match.group(0)
        return mask_phone(value) if len(value) == 11 else _mask_id_digits(value)

    return _NUMBER_IN_TEXT.sub(mask, text)


# Free text a broker typed (skills, certificates, labour brand) holds a number however its writer grouped it: 138 1234
# 5678, 138—1234—5678, 1380 013 8000, 5001 0719 8501 0112 3X as banks print an ID number, 1 3 8 1 2 … spaced out to
# slip past a filter. So a number here is no fixed pattern but a run of digit groups (ASCII or full-width) joined by
# single separators, whose digits together are a mobile (11, 1[3-9]…, maybe after 86 / 0086), an ID number (18, the
# last maybe X) or a legacy one (15). Only digits bound a run: latin letters may touch it (tel138…, sfz500…, and
# T500107…, the special-operations certificate, whose number is its holder's ID number). In a profile there is no
# UUID to protect, as there is in a path, where a hyphenated group (…e138-1234-5678-…) would be taken for a mobile:
# paths keep mask_numbers_in_text.
_D = "0-9０-９"
_X = "XxＸｘ"
_SPACE = " \t\u00a0\u3000"
# Dashes (ASCII, full-width, Unicode's hyphens and dashes, the minus, the katakana prolonged mark ー an input method
# gives for a dash), dots (middle dots included), slashes and the underscore. Not ~ / ～ nor the comma: they join
# ranges and lists (4000~6000, 13,15), not the parts of one number.
_PUNCT = "\\-－‐‑‒–—―−ー.．·・･/／_"
# One separator: one or two spaces, or one punctuation mark with at most a space either side (138 - 1234 - 5678).
_SEPARATOR = f"(?:[{_SPACE}]{{1,2}}|[{_SPACE}]?[{_PUNCT}][{_SPACE}]?)"
# What this function writes (138****5678, 86138****5678, 500107********123X, 622202******0123) is one opaque group,
# so a second pass leaves it alone and its visible ends never join a neighbour into a new number.
_MASKED = f"[{_D}]+\\*{{4,}}[{_D}]{{3}}[{_D}{_X}](?![{_D}])"
# A group: digits, maybe with the X of an ID number; or that X alone after a separator (… 0112 3 X). An x that is a
# word's first letter (13812345678 xiao) is taken only where it completes an ID number's 18 characters.
_GROUP_OR_MASKED = f"(?:{_MASKED}|[{_D}]+[{_X}]?)"
_RUN = re.compile(f"(?<![{_D}]){_GROUP_OR_MASKED}(?:{_SEPARATOR}(?:{_GROUP_OR_MASKED}|[{_X}]))*")
_GROUP = re.compile(f"({_MASKED})|[{_D}]+[{_X}]?|[{_X}]")
# The fast path: fewer than 11 digits hold no number (possessive, so a miss costs one pass over the text).
_ELEVEN_DIGITS = re.compile(f"(?:[^{_D}]*+[{_D}]){{11}}")
_TO_ASCII = str.maketrans("０１２３４５６７８９Ｘｘx", "0123456789XXX")
# An unbroken run this long (no separator, no letter inside) is no mobile and no single ID number, but may be one run
# into another (an ID number and a mobile typed without a space), an ID number with a digit too many or too few, a
# bank card (16–19 digits) or a certificate's serial: nothing an enterprise matching on skills needs, and enough to
# find the person. It is masked whole, its first 6 and last 4 kept. Shorter unbroken runs of 12–14 digits (an order
# or invoice number, a mobile with one digit too many) are left as written: nothing in them is a number's known shape.
_LONG_RUN = 16
# A bank card (16–19 digits: UnionPay's 62…, and Visa, Mastercard, JCB co-brands) as banks and apps print it, in groups
# of four with one separator, the last of a 17–19 digit one shorter (6222 0212 3456 7890 123): masked whole like the
# unbroken run. No Luhn check: cards that fail it are in circulation, and a card let through is the leak this
# exists to stop. Two guards, which no card's digits meet: a first group that is a year of 19xx or 20xx (2019 2020
# 2021 2022: no card number starts 19 or 20; Mastercard's 2-series starts at 2221) and groups that all end in 00 (a
# list of wages, 4000 5000 6000 8000).
_CARD_GROUP = 4
_CARD_DIGITS = range(16, 20)


@dataclass(frozen=True, slots=True)
class _Group:
    start: int
    digits: str  # ASCII, X upper-case; as many characters as the text holds from `start`
    separator: str  # the punctuation mark before it in its run ("" for whitespace, or the run's first group)


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def _number_kind(digits: str, cuts: list[tuple[int, str]]) -> tuple[str, int] | None:
    """What `digits` (one or more groups; `cuts`: where each later group starts among the digits, and its separator)
    are: ("id" | "legacy" | "mobile", how many digits of a country prefix come first), or None.

    One unbroken group of the right length is the number whatever its digits, as in mask_numbers_in_text. Digits
    gathered from several groups must also look the part, since groups of other numbers add up to these lengths too.
    Whoever writes one number uses one separator throughout (one mark, or spaces), while a date range
    (1998.3.15-2005.6) or a list of decimals (1.3 1.5 1.8 …) mixes them: a mobile's or a legacy number's separators
    after any prefix must be the same. An ID number's region and birth date must be real (a mobile with the next
    number's digits would otherwise pass for one), and its check character right too where its separators are mixed
    (two date ranges, 2000.1.1-2000.1 2000.1.1-2000.10, hold a real region and date); with one separator a mistyped
    check character still passes: the number is still the person's."""
    grouped = bool(cuts)
    length = len(digits)
    if length < 11:
        return None
    if length == 18:
        if not grouped or (digits[:2] in _PROVINCE_CODES and 1900 <= int(digits[6:10]) <= 2099
                           and _real_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
                           and (len({mark for _, mark in cuts}) <= 1 or id_check_character(digits[:17]) == digits[17])):
            return "id", 0
        return None
    if digits[-1] == "X":
        return None
    prefix = {11: 0, 13: 2, 15: 4}.get(length)
    if prefix is not None and digits[:prefix] == "0086"[4 - prefix:] and _mobile(digits[prefix:]):
        if len({mark for at, mark in cuts if at > prefix}) <= 1:
            return "mobile", prefix
        return None
    if length == 15 and (not grouped or (len({mark for _, mark in cuts}) <= 1 and digits[:2] in _PROVINCE_CODES
                                         and _real_date(1900 + int(digits[6:8]), int(digits[8:10]),
                                                        int(digits[10:12])))):
        return "legacy", 0
    return None


def _masked_run(text: str, start: int, end: int, *, standalone: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of every number in the run text[start:end]; with `standalone`, only numbers that no
    letter or digit touches, and no unbroken run that is a decimal fraction or an epoch time (mask_numbers_in_log_text).
    """
    groups: list[_Group | None] = []  # None: a number masked before (opaque)
    previous_end = -1
    for token in _GROUP.finditer(text, start, end):
        mark = text[previous_end:token.start()].strip(_SPACE) if previous_end >= 0 else ""
        previous_end = token.end()
        groups.append(None if token.group(1) else _Group(token.start(), token.group(0).translate(_TO_ASCII), mark))
    replacements: list[tuple[int, int, str]] = []
    i = 0
    while i < len(groups):
        first = groups[i]
        if first is None:
            i += 1
            continue
        if standalone and _word_at(text, first.start - 1):
            i += 1  # part of a word (the hex of a UUID, …e138-1234-5678-…): nothing starts here
            continue
        best: tuple[int, str, int, int] | None = None  # (last group, kind, prefix, digits)
        digits, cuts = "", []
        for j in range(i, len(groups)):
            group = groups[j]
            if group is None or digits.endswith("X"):
                break  # an X ends an ID number: nothing goes on after it
            if j > i:
                cuts.append((len(digits), group.separator))
            # A group's X is the check character of an ID number ending there, or a latin letter after a number
            # (13812345678x, …0000xyz): both readings are tried.
            for taken in (group.digits, group.digits[:-1]) if group.digits.endswith("X") else (group.digits,):
                found = _number_kind(digits + taken, cuts) if len(digits + taken) <= 18 else None
                if found is not None and not (standalone and _word_at(text, group.start + len(taken))):
                    best = (j, *found, len(digits + taken))  # the longest: an ID number over a mobile-shaped start
            digits += group.digits
            if len(digits) > 18:
                break
        if best is None:
            card = _card_end(groups, i)
            if card is not None:
                card_end, length = card
                positions = [p for g in groups[i:card_end] if g is not None
                             for p in range(g.start, g.start + len(g.digits))][:length]
                if not (standalone and _word_at(text, positions[-1] + 1)):
                    replacements.append((first.start, positions[-1] + 1, _shown_ends(text, positions, 6)))
                    i = card_end
                    continue
            if len(first.digits) >= _LONG_RUN and not (standalone and _not_a_number_in_a_log(text, first)):
                replacements.append((first.start, first.start + len(first.digits),
                                     _shown_ends(text, list(range(first.start, first.start + len(first.digits))), 6)))
            i += 1
            continue
        last_index, kind, prefix, length = best
        positions = [p for g in groups[i:last_index + 1] if g is not None
                     for p in range(g.start, g.start + len(g.digits))][:length]
        if kind == "mobile":
            # The country prefix stays as written (+86 138****5678), as parse_mobile reads it.
            shown = text[first.start:positions[prefix]] + _shown_ends(text, positions[prefix:], 3)
        else:
            shown = _shown_ends(text, positions, 6)
        replacements.append((first.start, positions[-1] + 1, shown))
        i = last_index + 1
    return replacements


_WORD_CHARACTER = re.compile("[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]")
_DECIMAL_POINT = re.compile(f"[{_D}][.．]")
# Epoch times in micro- and nanoseconds (16 and 19 digits, 1.6e15–2.0e15 µs: 2020–2033): no ID number starts 16–19
# (no such province) and no card starts with a 1.
_EPOCH_TIME = re.compile("1[6-9][0-9]{14}(?:[0-9]{3})?")


def _word_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and _WORD_CHARACTER.match(text, index) is not None


def _not_a_number_in_a_log(text: str, group: _Group) -> bool:
    """An unbroken run of 16+ digits in a log line that is part of a word, a decimal fraction (a float's repr has up to
    17 digits after the point: a duration, a score) or an epoch time: none is a number of a person."""
    end = group.start + len(group.digits)
    return (_word_at(text, end) or _DECIMAL_POINT.match(text, max(group.start - 2, 0), group.start) is not None
            or _EPOCH_TIME.fullmatch(group.digits) is not None)


def _card_end(groups: list[_Group | None], i: int) -> tuple[int, int] | None:
    """Where a bank card's groups starting at ``groups[i]`` end (the index after its last group) and how many digits
    it has, or None.

    Four or more groups of four digits with one separator; after exactly four, a last group of 1–3 digits may follow
    (a 17–19 digit card). More than four groups of four are no single card but may be two run together, or a card
    and a year: all of them are masked, as an unbroken run of as many digits would be."""
    fours: list[_Group] = []
    for group in groups[i:]:
        if (group is None or len(group.digits) != _CARD_GROUP or not group.digits.isdigit()
                or (len(fours) > 1 and group.separator != fours[1].separator)):
            break
        fours.append(group)
    if len(fours) * _CARD_GROUP < _CARD_DIGITS.start:
        return None
    if fours[0].digits[:2] in ("19", "20") or all(g.digits.endswith("00") for g in fours):
        return None
    end, length = i + len(fours), len(fours) * _CARD_GROUP
    tail = groups[end] if end < len(groups) else None
    if length == _CARD_DIGITS.start and tail is not None and tail.separator == fours[1].separator:
        digits = tail.digits.removesuffix("X")  # an x after the card is a latin letter (…123x): not the card's
        if digits.isdigit() and length + len(digits) in _CARD_DIGITS:
            return end + 1, length + len(digits)
    return end, length


def _shown_ends(text: str, positions: list[int], head: int) -> str:
    """The first `head` and the last 4 of these characters of `text`, stars between (4 for a mobile, as mask_phone
    masks one; the hidden count for an ID number, 8 for 18 characters as mask_id_number)."""
    hidden = 4 if head == 3 else len(positions) - head - 4
    return ("".join(text[p] for p in positions[:head]) + "*" * hidden
            + "".join(text[p] for p in positions[-4:]))


def mask_numbers_in_free_text(text: str) -> str:
    """ID and mobile numbers in free text a broker typed into a profile (skills, certificates, labour brand), however
    they are written (+8613812345678, 138 1234 5678, 138—1234—5678, tel13812345678, sfz50010719850101123X,
    5001 0719 8501 0112 3X, full-width digits), masked to ``138****5678`` and ``500107********123X``, before anyone
    else sees the text; and any unbroken run of 16 or more digits, or bank card in groups of four (6222 0212 3456 7890
    123, 6217-0000-1234-5678), to its first 6 and last 4."""
    return _mask_runs(text, standalone=False)


def mask_numbers_in_log_text(text: str) -> str:
    """What `mask_numbers_in_free_text` masks (ID, mobile and bank card numbers however grouped, unbroken runs of 16+
    digits), for a log line's text, the last guard: only where no letter or digit touches the number, so a UUID
    (…e138-1234-5678-…), a hex id or an id in a path is left as it is; nor are decimal fractions (durations) and epoch
    times in micro- or nanoseconds. Timestamps in ISO form hold no run of 11 digits."""
    return _mask_runs(text, standalone=True)


def _mask_runs(text: str, *, standalone: bool) -> str:
    if len(text) < 11 or _ELEVEN_DIGITS.match(text) is None:
        return text  # the common case (电焊, 叉车 3年): one regex step, no allocation
    pieces: list[str] = []
    done = 0
    for run in _RUN.finditer(text):
        for start, end, shown in _masked_run(text, run.start(), run.end(), standalone=standalone):
            pieces += (text[done:start], shown)
            done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def age_on(birth_date: date, day: date) -> int:
    """Age in completed years on ``day``. Someone born on 29 February turns a year older on 1 March
    in common years (the usual Chinese administrative reading)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
