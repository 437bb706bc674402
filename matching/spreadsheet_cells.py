"""Text cells in the CSV files people open in a spreadsheet (and what spreadsheets do to them).

A cell that starts with = + - @ (or a tab or carriage return) is run as a formula when the file is opened in
Excel or WPS (CSV injection: `=HYPERLINK(...)` in a catalogue alias, say). Exports put an apostrophe in front of
such a cell, which spreadsheets show as text; files read back (a catalogue exported, edited and imported again)
lose it."""

from __future__ import annotations

import re

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _needs_apostrophe(value: str) -> bool:
    # A value that itself begins with apostrophes before a formula start ('=1, a cell someone escaped by hand) gets
    # one more too: otherwise reading it back would take its own apostrophe for ours and return =1.
    return value.lstrip("'").startswith(_FORMULA_STARTS)


def neutralise_formula(value: str) -> str:
    return "'" + value if _needs_apostrophe(value) else value


def restore_formula(value: str) -> str:
    """The cell as it was before `neutralise_formula`."""
    return value[1:] if value.startswith("'") and _needs_apostrophe(value[1:]) else value


# What Excel writes for a long number in a cell of the General format (an ID number, a phone typed without a
# text format): 5.00107E+17, 1.38001E+10. Only the shown significant digits survive in the CSV it saves.
_SCIENTIFIC = re.compile(r"[+-]?[0-9](?:\.[0-9]+)?[eE]\+?[0-9]{1,2}")


def is_scientific_number(value: str) -> bool:
    """Whether a cell holds a number in scientific notation, as Excel shows and saves a long number."""
    return _SCIENTIFIC.fullmatch(value.strip()) is not None


# The message for a number Excel has mangled: an ID number or phone in scientific notation, a number cell of more
# than 15 significant digits (the rest are zeros), as a row error of an import and a field error of the API.
EXCEL_NUMBER_ZH = "Excel 把它转成了数字，丢失了位数；请将该列设为“文本”格式后重新填写"
EXCEL_NUMBER_EN = ("Excel turned this into a number and dropped digits: format the column as text "
                   "(将该列设为“文本”格式) and fill it in again")
