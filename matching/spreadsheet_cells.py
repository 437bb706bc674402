"""Text cells in the CSV files people open in a spreadsheet.

A cell that starts with = + - @ (or a tab or carriage return) is run as a formula when the file is opened in
Excel or WPS (CSV injection: `=HYPERLINK(...)` in a catalogue alias, say). Exports put an apostrophe in front of
such a cell, which spreadsheets show as text; files read back (a catalogue exported, edited and imported again)
lose it."""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def restore_formula(value: str) -> str:
    """The cell as it was before `neutralise_formula`."""
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_STARTS) else value
