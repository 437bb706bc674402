"""The spreadsheet round trip authorities use: CSV (UTF-8 or GBK) or XLSX in, CSV or XLSX out.

The columns are matching.catalogue.CSV_COLUMNS (plus `replaced_by`); lists are separated by `;`, `；` or `、`.
XLSX is read with python-calamine (fast, Rust) and written with xlsxwriter; every cell is written as text so
codes (6-18-02-04) and adcodes (500107) never turn into dates or numbers in Excel.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import xlsxwriter
from python_calamine import CalamineWorkbook

from matching.catalogue import (
    Catalogue,
    CatalogueImportError,
    RowError,
    catalogue_rows,
    catalogue_to_csv,
    decode_spreadsheet_bytes,
    parse_catalogue_rows,
)
from services.api.imports.readers import (
    FORMULA_ERROR,
    FORMULA_UNCALCULATED,
    FormulaProblems,
    ImportFileError,
    check_xlsx_archive,
)

SpreadsheetFormat = Literal["csv", "xlsx"]

_ZIP_MAGIC = b"PK\x03\x04"  # XLSX (and ODS) are zip files
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class ParsedSpreadsheet:
    catalogue: Catalogue
    format: SpreadsheetFormat
    encoding: str | None  # of a CSV: "utf-8" or "gb18030"
    row_of_code: dict[str, int]  # occupation code → spreadsheet row (header = row 1)


def sniff_format(data: bytes) -> SpreadsheetFormat:
    return "xlsx" if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) else "csv"


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes) -> tuple[list[list[str]], FormulaProblems]:
    """The first sheet's cells from A1, and its formula cells without a usable result (see _formula_errors)."""
    try:
        # The importers' limits (calamine loads the whole first sheet) and their scan for formula cells.
        formulas = check_xlsx_archive(io.BytesIO(data))
    except ImportFileError as exc:
        raise CatalogueImportError([RowError(1, "file", exc.message)]) from None
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise CatalogueImportError([RowError(1, "file", "the workbook has no sheet")])
        sheet = workbook.get_sheet_by_index(0)
        return [[_cell_text(v) for v in row] for row in sheet.to_python(skip_empty_area=False)], formulas
    except CatalogueImportError:
        raise
    except Exception as exc:  # calamine raises its own error types for corrupt or encrypted files
        raise CatalogueImportError(
            [RowError(1, "file", f"不是可读的 XLSX 文件 / not a readable XLSX workbook ({type(exc).__name__})")]
        ) from None


_FORMULA_MESSAGES = {
    FORMULA_ERROR: "{column} 单元格是公式，结果为错误值（如 #N/A、#REF!）；目录需要数值而不是公式，请填写或粘贴为数值"
                   " / the {column} cell holds a formula whose result is an error (#N/A, #REF! …): the catalogue "
                   "takes values, not formulas; type or paste the value",
    FORMULA_UNCALCULATED: "{column} 单元格是公式，文件中没有计算结果（未经 Excel/WPS 计算保存）；目录需要数值而不是"
                          "公式，请粘贴为数值 / the {column} cell holds a formula and the file has no calculated "
                          "result (it was not saved by Excel or WPS): the catalogue takes values, not formulas; "
                          "paste the value",
}


def _formula_errors(header: Sequence[str], formulas: FormulaProblems) -> list[RowError]:
    """A formula cell whose saved result is an error, or that has none, reads as empty (calamine): said as
    such, instead of "empty name" for a filled-in cell or an alias list dropped without a word. A formula with
    a saved result is read as that value, as the profile and posting importers read it."""
    columns = [c.strip().lstrip("\ufeff") for c in header]
    errors: list[RowError] = []
    for (row, column), problem in sorted(formulas.items()):
        if row == 1:
            field = "header"
        elif column < len(columns) and columns[column]:
            field = columns[column]
        else:
            continue  # outside the header's columns: nothing is read from it
        errors.append(RowError(row, field, _FORMULA_MESSAGES[problem].format(column=field)))
    return errors


def parse_spreadsheet(data: bytes, version: int) -> ParsedSpreadsheet:
    """Bytes of a CSV or XLSX upload → a Catalogue, or CatalogueImportError listing every row problem."""
    fmt = sniff_format(data)
    encoding: str | None = None
    formulas: FormulaProblems = {}
    if fmt == "xlsx":
        rows, formulas = _xlsx_rows(data)
    else:
        try:
            text = decode_spreadsheet_bytes(data)
        except ValueError:
            raise CatalogueImportError([RowError(
                1, "file", "文件既不是 UTF-8 也不是 GBK/GB18030 编码的 CSV，请另存为「CSV UTF-8」或上传 XLSX / "
                           "the file is neither UTF-8 nor GBK/GB18030 text: save it as CSV UTF-8 or upload XLSX")
            ]) from None
        encoding = "utf-8" if _is_utf8(data) else "gb18030"
        reader = csv.reader(io.StringIO(text))
        try:
            rows = list(reader)
        except csv.Error as exc:
            # A cell over the csv module's field limit (131,072 characters) was a 500: the file's fault, a 422.
            raise CatalogueImportError([RowError(
                reader.line_num, "file", f"CSV 第 {reader.line_num} 行格式错误 / malformed CSV at row "
                                         f"{reader.line_num}: {exc}")]) from None
    if not rows:
        raise CatalogueImportError([RowError(1, "header", "空文件 / empty file")])
    header, body = rows[0], rows[1:]
    formula_errors = _formula_errors(header, formulas)
    try:
        catalogue = parse_catalogue_rows(header, body, version)
    except CatalogueImportError as exc:
        if not formula_errors:
            raise
        # The formula is the cause: the same cell's "empty" complaint would only mislead.
        explained = {(e.row, e.field) for e in formula_errors}
        rest = [e for e in exc.errors if (e.row, e.field) not in explained]
        raise CatalogueImportError(sorted([*formula_errors, *rest], key=lambda e: e.row)) from None
    if formula_errors:
        raise CatalogueImportError(formula_errors)
    columns = [c.strip().lstrip("\ufeff") for c in header]
    code_column = columns.index("occupation_code")
    row_of_code: dict[str, int] = {}
    for number, values in enumerate(body, start=2):
        if code_column < len(values):
            row_of_code.setdefault(values[code_column].strip(), number)
    return ParsedSpreadsheet(catalogue, fmt, encoding, row_of_code)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def to_csv_bytes(catalogue: Catalogue) -> bytes:
    """UTF-8 with a BOM, so Excel on Chinese Windows opens it without mojibake (the import strips the BOM)."""
    return ("\ufeff" + catalogue_to_csv(catalogue)).encode("utf-8")


def to_xlsx_bytes(catalogue: Catalogue, *, sheet_name: str = "catalogue") -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(sheet_name)
    bold = workbook.add_format({"bold": True})
    rows = catalogue_rows(catalogue)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value, bold if r == 0 else None)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 2, 24)
    workbook.close()
    return buffer.getvalue()
