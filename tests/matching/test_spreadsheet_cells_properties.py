"""CSV cells and formulas (matching/spreadsheet_cells.py): an exported cell never starts a formula, and reading it
back gives the value exactly as it was, whatever it begins with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.spreadsheet_cells import is_scientific_number, neutralise_formula, restore_formula

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Cells that begin the way formulas and escaped cells do, and anything else.
CELLS = st.one_of(st.lists(st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "1", "SUM(A1)", "焊工", " "]),
                           max_size=6).map("".join),
                  st.text(max_size=20))


@given(CELLS)
def test_an_exported_cell_never_starts_a_formula_and_reads_back_as_it_was(value: str) -> None:
    exported = neutralise_formula(value)
    assert not exported.startswith(FORMULA_STARTS)
    assert restore_formula(exported) == value


@given(CELLS)
def test_a_cell_that_starts_no_formula_is_exported_as_it_is(value: str) -> None:
    if not value.lstrip("'").startswith(FORMULA_STARTS):
        assert neutralise_formula(value) == value


@pytest.mark.parametrize("value", ["'=1", "'-5", "'@home"])
def test_a_cell_beginning_with_its_own_apostrophe_reads_back_with_it(value: str) -> None:
    # '=1 was exported as it was and read back as =1: its own apostrophe was taken for the one exports add.
    assert restore_formula(neutralise_formula(value)) == value


@given(st.floats(min_value=1e10, max_value=1e19), st.integers(1, 5))
def test_a_long_number_as_excel_shows_it_is_scientific(value: float, digits: int) -> None:
    assert is_scientific_number(f"{value:.{digits}E}")
    assert not is_scientific_number(f"{value:.0f}")
