"""Reading an uploaded file row by row: CSV (UTF-8 with or without BOM, GB18030/GBK, UTF-16 from Excel's
"Unicode text"), XLSX (first sheet, via python-calamine; refused when another sheet holds rows with our columns) and
NDJSON.

Readers work on a file on disk and yield one `SourceRow` at a time, so a 100,000-row upload is never held as
Python rows. (calamine keeps the first sheet's cell grid in Rust memory while it is read: tens of MB for
100k rows, bounded by the upload limit.)

Row numbers are the ones the uploader sees: the spreadsheet row (header = its own row, usually 1) for CSV and
XLSX, the line number for NDJSON.

Nothing here raises or reports a cell *value*: files hold ID numbers and phones.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

import orjson

from matching.identity import mask_numbers_in_text

FileFormat = Literal["csv", "xlsx", "ndjson"]
FORMATS: tuple[FileFormat, ...] = ("csv", "xlsx", "ndjson")

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES: dict[str, FileFormat] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/comma-separated-values": "csv",
    "application/vnd.ms-excel": "csv",  # what Windows sends for .csv files
    XLSX_MEDIA_TYPE: "xlsx",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson",
}
SUFFIXES: dict[str, FileFormat] = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
                                    ".ndjson": "ndjson", ".jsonl": "ndjson"}

_CHUNK = 1 << 20
# How many leading non-empty rows may precede the header (a title row such as "2026年劳务输出人员名单").
_HEADER_SEARCH_ROWS = 10


class ImportFileError(Exception):
    """The whole file cannot be imported. `code` is stable; the message is for people (Chinese / English)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class SourceRow:
    number: int
    # header → cell value (CSV: str; XLSX: str/float/int/bool/date/datetime/time; NDJSON: the JSON object)
    values: dict[str, Any] | None
    # why the row could not be read at all (NDJSON: not a JSON object)
    error: str | None = None
    # XLSX: header → "B3:B5" for cells left empty because they lie inside a merged range (not its top-left)
    merged: dict[str, str] = field(default_factory=dict)
    # XLSX: header → FORMULA_ERROR | FORMULA_UNCALCULATED for cells that hold a formula but no usable result
    # (calamine reads both as empty)
    formula: dict[str, str] = field(default_factory=dict)


ZIP_MAGIC = b"PK\x03\x04"  # XLSX is a zip file
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Excel 97–2003 .xls (and .doc …)


class LegacyWorkbook(ValueError):
    """An Excel 97–2003 (.xls) workbook: not read (no size checks like check_xlsx_archive's exist for it)."""


class OpenDocumentSpreadsheet(ValueError):
    """An OpenDocument spreadsheet (.ods, from WPS, LibreOffice …): not read. It is a zip like XLSX, and calamine
    reads it when the file's name does not say XLSX (the upload precheck's does not), but none of
    check_xlsx_archive's bounds hold for it: a 1 KB .ods of repeated cells (table:number-columns-repeated,
    -rows-repeated) takes calamine's grid to hundreds of MB, a few more bytes to gigabytes. The worker, reading it
    as .xlsx, then failed the import with "cannot read the XLSX file"."""


# An OpenDocument package stores its `mimetype` member first and uncompressed, so its media type is in the first
# bytes: the local file header (30 bytes), the name "mimetype", then the content.
_ODF_MIMETYPE = re.compile(rb"^PK\x03\x04.{26}mimetype(?:application/vnd\.oasis\.opendocument\.)", re.DOTALL)


def format_of(media_type: str | None, filename: str | None, head: bytes) -> FileFormat | None:
    """The upload's format from its media type, its file name, then its first bytes. A workbook is known by its
    first bytes whatever it is labelled: browsers send `application/vnd.ms-excel` (a CSV's type here, as Windows
    labels .csv files) for workbooks too, and a tool may label anything text/csv; read as text, a workbook was
    refused as "neither UTF-8 nor GBK", or sent as NDJSON stored as one "not valid JSON" error per line. Raises
    LegacyWorkbook for an .xls file, OpenDocumentSpreadsheet for an .ods one."""
    if head.startswith(ZIP_MAGIC):
        media = (media_type or "").split(";")[0].strip().lower()
        if (_ODF_MIMETYPE.match(head) or media.startswith("application/vnd.oasis.opendocument.")
                or (filename or "").lower().endswith((".ods", ".fods"))):
            raise OpenDocumentSpreadsheet
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise LegacyWorkbook
    media = (media_type or "").split(";")[0].strip().lower()
    if media in MEDIA_TYPES:
        return MEDIA_TYPES[media]
    if filename:
        suffix = Path(filename).suffix.lower()
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "ndjson"
    if media in ("", "application/octet-stream", "text/plain") and stripped:
        return "csv"
    return None


# ------------------------------------------------------------------------------------------------ encoding


def detect_text_encoding(handle: BinaryIO) -> str:
    """`utf-8-sig` (BOM), `utf-16` (BOM), `utf-8`, else `gb18030` (a superset of GBK and GB2312, what Excel
    on Chinese Windows writes as "CSV"). Reads the whole file once, in chunks; raises ImportFileError if no
    candidate decodes it, or if the file mixes UTF-8 and GBK lines (`mixed_encoding`)."""
    handle.seek(0)
    head = handle.read(4)
    handle.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        handle.seek(0)
        try:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            if encoding.startswith("utf-8"):
                _refuse_mixed_utf8(handle, declared=encoding == "utf-8-sig")
            continue
        handle.seek(0)
        return encoding
    raise ImportFileError("encoding", "无法识别文件编码（请另存为 UTF-8 或 GBK 的 CSV） / "
                                      "the file is neither UTF-8 nor GBK/GB18030 text")


# Line numbers named when a file mixes encodings (the first ones; the count says how many in all).
_LISTED_LINES = 10


def _refuse_mixed_utf8(handle: BinaryIO, *, declared: bool) -> None:
    """ImportFileError `mixed_encoding` when a file that is not all UTF-8 mixes encodings line by line:

    - mostly UTF-8: most lines with non-ASCII text decode as UTF-8 (or a BOM says UTF-8) and some do not,
      typically rows pasted in from a GBK export. GB18030 decodes almost any bytes, so read as GBK such a file was
      stored with every UTF-8 row garbled, without a word; read as UTF-8, its GBK rows would be, and some GBK text
      happens to be valid UTF-8, so not even those rows can be told apart reliably: the file is refused, naming
      the lines to fix.
    - mostly GBK with some UTF-8 lines (rows pasted in from a UTF-8 export or a web page): read as GB18030 those
      lines were stored garbled, without a word. A GBK line may be valid UTF-8 by chance (卢茂 is), but then it
      reads as Latin or other two-byte characters (¬ï), almost never as Chinese only: a line is taken for UTF-8
      when it decodes as UTF-8 to Chinese characters and no character between U+0080 and U+07FF. Such lines
      refuse the file, named.

    A GBK file (most of its non-ASCII lines are not UTF-8; a few may be by chance) returns, to be read as GBK."""
    handle.seek(0)
    utf8_lines = 0
    bad: list[int] = []
    bad_count = 0
    chinese: list[int] = []
    chinese_count = 0
    for number, line in enumerate(handle, start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            bad_count += 1
            if len(bad) < _LISTED_LINES:
                bad.append(number)
            continue
        utf8_lines += 1
        if _reads_as_utf8_chinese(text):
            chinese_count += 1
            if len(chinese) < _LISTED_LINES:
                chinese.append(number)
    handle.seek(0)
    if not bad or utf8_lines == 0:
        return
    if utf8_lines <= bad_count and not declared:
        if chinese:
            _mixed(chinese, chinese_count, zh="是 UTF-8，其余是 GBK", en="are UTF-8 while the rest is GBK")
        return
    _mixed(bad, bad_count, zh="不是 UTF-8（可能是 GBK），其余是 UTF-8", en="are not UTF-8 (GBK?) while the rest is")


# GBK bytes that happen to decode as UTF-8 give characters of this range; Chinese text written in UTF-8 has few,
# except the middle dot of transliterated names (阿卜杜·热合曼), × and °, which do not count against it.
_TWO_BYTE_UTF8 = re.compile("[\u0080-\u00af\u00b1-\u00b6\u00b8-\u00d6\u00d8-\u07ff]")
_CJK = re.compile("[\u3400-\u9fff]")


def _reads_as_utf8_chinese(text: str) -> bool:
    return _CJK.search(text) is not None and _TWO_BYTE_UTF8.search(text) is None


def _mixed(lines: list[int], count: int, *, zh: str, en: str) -> None:
    listed = "、".join(map(str, lines))
    listed_en = ", ".join(map(str, lines))
    more_zh = f" 等 {count} 行" if count > len(lines) else ""
    more_en = f" ({count} lines in all)" if count > len(lines) else ""
    raise ImportFileError(
        "mixed_encoding",
        f"文件编码混杂：第 {listed} 行{more_zh}{zh}，读入会有乱码；请把整个文件另存为 UTF-8 后重新上传 / the file "
        f"mixes encodings: line(s) {listed_en}{more_en} {en}, and would be garbled: save the whole file as UTF-8 "
        "and upload it again")


# ------------------------------------------------------------------------------------------------ sources

HeaderScore = Callable[[list[str]], int]


@dataclass(slots=True)
class OpenedSource:
    format: FileFormat
    encoding: str | None
    # The header as written (CSV/XLSX), None for NDJSON. `header_row` is its row number.
    headers: list[str] | None
    header_row: int
    rows: Iterator[SourceRow]
    closers: list[Callable[[], object]] = field(default_factory=list)

    def close(self) -> None:
        """Stop reading. The caller still owns (and closes) the file handle."""
        close = getattr(self.rows, "close", None)
        if callable(close):
            close()
        for closer in self.closers:
            closer()
        self.closers.clear()

    def __enter__(self) -> OpenedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _pick_header(candidates: list[tuple[int, list[Any]]], score: HeaderScore) -> tuple[int, list[str]]:
    """The first of the leading non-empty rows that names at least two known columns; else the first."""
    for number, cells in candidates:
        texts = [_header_text(c) for c in cells]
        if score(texts) >= 2:
            return number, texts
    number, cells = candidates[0]
    return number, [_header_text(c) for c in cells]


def _header_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    # NUL too: PostgreSQL text cannot hold it, and a header is quoted in the import's status when unknown.
    return str(cell).replace("\ufeff", "").replace("\x00", "").strip()


def _check_headers(headers: list[str]) -> None:
    # A sheet without a header row (or an NDJSON file sent as CSV) has its first person's row taken for the
    # header: its name, ID number and phone were then quoted as unknown (or repeated) columns in the import's
    # status and in the import-finished notice and webhook, which outlive the upload and any erasure.
    if any(mask_numbers_in_text(text) != text for text in headers):
        raise ImportFileError("header_is_data", HEADER_IS_DATA)
    seen: set[str] = set()
    for text in headers:
        if not text:
            continue
        if text in seen:
            raise ImportFileError("duplicate_column", f"列名重复：{text} / duplicate column: {text}")
        seen.add(text)


HEADER_IS_DATA = ("表头行含有身份证号或手机号，看起来是数据而不是列名：请在数据上方加一行列名（姓名、身份证号、"
                  "手机号 …）/ the header row holds ID or phone numbers: it looks like data, not column names; "
                  "add a row of column names (姓名, 身份证号, 手机号 …) above the data")


def _tabular(numbered: Iterator[tuple[int, list[Any]]], score: HeaderScore,
             merged_of: Callable[[int, int], str | None] | None = None,
             formula_of: Callable[[int, int], str | None] | None = None,
             ) -> tuple[int, list[str], Iterator[SourceRow]]:
    """Find the header among the first non-empty rows; the rest become SourceRows keyed by header."""
    leading: list[tuple[int, list[Any]]] = []
    for number, cells in numbered:
        if all(_blank(c) for c in cells):
            continue
        leading.append((number, cells))
        if len(leading) >= _HEADER_SEARCH_ROWS:
            break
    if not leading:
        raise ImportFileError("empty", "文件为空 / the file is empty")
    header_row, headers = _pick_header(leading, score)
    _check_headers(headers)
    columns = [(i, h) for i, h in enumerate(headers) if h]

    def rows() -> Iterator[SourceRow]:
        def emit(number: int, cells: list[Any]) -> SourceRow | None:
            if all(_blank(c) for c in cells):
                return None
            values: dict[str, Any] = {}
            merged: dict[str, str] = {}
            formula: dict[str, str] = {}
            for i, header in columns:
                value = cells[i] if i < len(cells) else None
                values[header] = value
                if _blank(value):
                    if merged_of is not None and (where := merged_of(number, i)) is not None:
                        merged[header] = where
                    if formula_of is not None and (problem := formula_of(number, i)) is not None:
                        formula[header] = problem
            return SourceRow(number, values, merged=merged, formula=formula)

        for number, cells in leading:
            if number > header_row and (row := emit(number, cells)) is not None:
                yield row
        for number, cells in numbered:
            if (row := emit(number, cells)) is not None:
                yield row

    return header_row, headers, rows()


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def open_csv(handle: BinaryIO, score: HeaderScore) -> OpenedSource:
    encoding = detect_text_encoding(handle)
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    first = ""
    while not first.strip():
        line = text.readline()
        if not line:
            break
        first = line
    text.seek(0)
    reader = csv.reader(text, delimiter=_sniff_delimiter(first), strict=False)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            yield from enumerate(reader, start=1)
        except csv.Error as exc:
            raise ImportFileError("csv_syntax",
                                  f"CSV 第 {reader.line_num} 行格式错误 / malformed CSV near line {reader.line_num}: "
                                  f"{exc}") from None

    try:
        header_row, headers, rows = _tabular(numbered(), score)
    except BaseException:
        text.detach()
        raise
    # Detached on close so that the wrapper, when collected, does not close (or flush) the caller's handle.
    return OpenedSource("csv", encoding, headers, header_row, rows, closers=[text.detach])


def _merged_lookup(ranges: list[Any]) -> Callable[[int, int], str | None]:
    """(excel row number, 0-based absolute column) → "B3:B5" when the cell is inside a merged range but is
    not its top-left cell."""
    spans: list[tuple[int, int, int, int, str]] = []
    for (r0, c0), (r1, c1) in ranges:
        spans.append((r0, c0, r1, c1, _range_label(r0, c0, r1, c1)))

    def lookup(row_number: int, column: int) -> str | None:
        r = row_number - 1
        for r0, c0, r1, c1, label in spans:
            if r0 <= r <= r1 and c0 <= column <= c1 and (r, column) != (r0, c0):
                return label
        return None

    return lookup


def _range_label(r0: int, c0: int, r1: int, c1: int) -> str:
    return f"{_column_letter(c0)}{r0 + 1}:{_column_letter(c1)}{r1 + 1}"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# calamine reads the whole first sheet into memory before the first row (the API's precheck included), about
# 5 bytes of memory per byte of sheet XML: a 729 KB upload that unpacks to 228 MB of tiny cells took the API
# from 280 MB to 1.2 GB. A genuine 100,000-row, 14-column profile sheet unpacks to ~80 MB (inline strings) and
# compresses ~11:1, so a workbook is refused, before calamine sees it, when it unpacks to more than
# XLSX_MAX_UNPACKED_BYTES or one of its larger parts unpacks more than XLSX_MAX_RATIO times (what only generated
# filler does). Wider or longer sheets are asked to come as CSV, which is read row by row.
XLSX_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
XLSX_MAX_RATIO = 100
_RATIO_FROM_BYTES = 1024 * 1024


# calamine's grid spans every position from A1 to the furthest cell, used or not: a 5 KB workbook with one cell at
# row 1,000,000, column 200 took it to 6 GB (~31 bytes a position). The furthest cell of the first sheet is
# found by scanning its XML (its <dimension> may be missing or lie) and the grid is refused past this many
# positions (~190 MB; a 100,000-row profile sheet of 14 columns is 1.4 million).
XLSX_MAX_GRID_CELLS = 6_000_000
_SHEET_REF = re.compile(rb'<sheet\b[^>]*?\br:id="([^"]+)"')
_CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')


def _first_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """The zip member of the workbook's first sheet (what calamine reads as sheet 0), None if unclear."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    first = _SHEET_REF.search(workbook)
    if first is None:
        return None
    target = re.search(rb'<Relationship\b[^>]*?\bId="' + re.escape(first.group(1)) + rb'"[^>]*?\bTarget="([^"]+)"',
                       rels) or re.search(rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="'
                                          + re.escape(first.group(1)) + rb'"', rels)
    if target is None:
        return None
    name = target.group(1).decode("utf-8", "replace")
    return name.lstrip("/") if name.startswith("/") else "xl/" + name


def _sheet_parts(archive: zipfile.ZipFile) -> list[str | None]:
    """The zip member of each sheet in workbook order (calamine's sheet indexes); None where unclear."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return []
    parts: list[str | None] = []
    for rel_id in _SHEET_REF.findall(workbook):
        target = (re.search(rb'<Relationship\b[^>]*?\bId="' + re.escape(rel_id) + rb'"[^>]*?\bTarget="([^"]+)"', rels)
                  or re.search(rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="' + re.escape(rel_id) + rb'"',
                               rels))
        if target is None:
            parts.append(None)
            continue
        name = target.group(1).decode("utf-8", "replace")
        parts.append(name.lstrip("/") if name.startswith("/") else "xl/" + name)
    return parts


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


# A formula cell whose saved result is an error value (#N/A from a failed VLOOKUP, #DIV/0! …), or that has no
# saved result at all (written by a script such as openpyxl, never recalculated): calamine reads both as an
# empty cell, which would be "required" for a filled-in column, or silently stored empty for an optional one.
FORMULA_ERROR = "error"
FORMULA_UNCALCULATED = "uncalculated"
# More such cells than this and the whole sheet is refused (it needs recalculating, not row-by-row fixes); the
# bound also keeps their positions, held in memory, small.
XLSX_MAX_FORMULA_PROBLEMS = 10_000
_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.DOTALL)
_CELL_START = re.compile(rb'<(?:\w+:)?c[\s>/]')
_HAS_FORMULA = re.compile(rb'<(?:\w+:)?f\b')
_HAS_RESULT = re.compile(rb'<(?:\w+:)?v>\s*[^<\s]')
_ERROR_TYPE = re.compile(rb'\bt="e"')
_REF_IN_ATTRIBUTES = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')

FormulaProblems = dict[tuple[int, int], str]  # (row number, 0-based column) → FORMULA_ERROR | FORMULA_UNCALCULATED


def _formula_problems_in(data: bytes, problems: FormulaProblems) -> None:
    for attributes, inner in _CELL.findall(data):
        if not inner or not _HAS_FORMULA.search(inner):
            continue
        if _ERROR_TYPE.search(attributes):
            problem = FORMULA_ERROR
        elif not _HAS_RESULT.search(inner):
            problem = FORMULA_UNCALCULATED
        else:
            continue
        ref = _REF_IN_ATTRIBUTES.search(attributes)
        if ref is None:
            continue
        problems[(int(ref.group(2)), _column_number(ref.group(1)) - 1)] = problem
        if len(problems) > XLSX_MAX_FORMULA_PROBLEMS:
            raise ImportFileError(
                "xlsx_formulas",
                f"超过 {XLSX_MAX_FORMULA_PROBLEMS} 个公式单元格没有可用的结果（错误值或未计算）：请在 Excel/WPS 中"
                f"重新计算并保存，或粘贴为数值 / more than {XLSX_MAX_FORMULA_PROBLEMS} formula cells have no usable "
                "result (an error, or never calculated): recalculate and save the workbook in Excel or WPS, or "
                "paste the values")


def _scan_sheet(archive: zipfile.ZipFile, member: str) -> tuple[int, int, FormulaProblems]:
    """The largest row and column numbers the sheet's cell references name (1-based; 0 when none), and its
    formula cells without a usable result. ~3 s for an 80 MB, 100,000-row sheet on this machine's slower CPU
    (calamine then takes ~4 s to load it): the price of not trusting <dimension>. Cells are only parsed in
    chunks that hold a formula, so a sheet without formulas costs what the reference scan alone did."""
    rows = 0
    letters: set[bytes] = set()
    problems: FormulaProblems = {}
    tail = b""

    def scan(data: bytes) -> None:
        nonlocal rows
        found = _CELL_REF.findall(data)
        if found:
            columns_seen, rows_seen = zip(*found, strict=True)
            letters.update(columns_seen)
            rows = max(rows, *map(int, rows_seen))
        if b"f>" in data or b"f " in data:
            _formula_problems_in(data, problems)

    with archive.open(member) as part:
        while chunk := part.read(1024 * 1024):
            data = tail + chunk
            # Everything before the last cell's start is whole cells; the rest waits for the next chunk.
            starts = [m.start() for m in _CELL_START.finditer(data, max(0, len(data) - 64 * 1024))]
            cut = starts[-1] if starts else max(0, len(data) - 32)
            scan(data[:cut])
            tail = data[cut:]
        scan(tail)
    return rows, max((_column_number(c) for c in letters), default=0), problems


NOT_XLSX_CODE = "xlsx_unreadable"
NOT_XLSX = ("不是 XLSX 工作簿（ODS、XLSB 等格式不支持），请另存为 .xlsx 或 CSV / not an XLSX workbook (ODS, XLSB and "
            "other formats are not accepted): save it as .xlsx or CSV")


def check_xlsx_archive(path: Path | BinaryIO) -> FormulaProblems:
    """ImportFileError when the zip is no XLSX workbook (no xl/workbook.xml), would unpack too far (see
    XLSX_MAX_UNPACKED_BYTES), its first sheet spans too large a grid (XLSX_MAX_GRID_CELLS) or has too many formula
    cells without a usable result. Returns those cells (see FORMULA_ERROR). A file that is not a zip is left for
    calamine to refuse."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _check_archive(archive)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return {}  # damaged, encrypted or odd: calamine refuses it with its own message


def _check_archive(archive: zipfile.ZipFile) -> FormulaProblems:
    parts = archive.infolist()
    unpacked = sum(p.file_size for p in parts)
    swollen = [p for p in parts if p.file_size > _RATIO_FROM_BYTES
               and p.file_size > XLSX_MAX_RATIO * max(p.compress_size, 1)]
    if unpacked > XLSX_MAX_UNPACKED_BYTES or swollen:
        raise ImportFileError(
            "xlsx_too_large",
            f"XLSX 解压后过大（{unpacked // (1024 * 1024)} MB，上限 {XLSX_MAX_UNPACKED_BYTES // (1024 * 1024)} MB，"
            f"压缩比上限 {XLSX_MAX_RATIO}:1），请拆分或另存为 CSV / the workbook unpacks to too much "
            f"({unpacked // (1024 * 1024)} MB; at most {XLSX_MAX_UNPACKED_BYTES // (1024 * 1024)} MB and "
            f"{XLSX_MAX_RATIO}:1 per part): split it or save it as CSV")
    members = {p.filename for p in parts}
    if "xl/workbook.xml" not in members:
        # Not an XLSX workbook (an .ods not known by its first bytes, an .xlsb, any other zip): calamine may still
        # read it when the file's name does not say XLSX, past every bound here, and the worker (which names it
        # .xlsx) could not. calamine reads an XLSX's workbook from exactly this part.
        raise ImportFileError(NOT_XLSX_CODE, NOT_XLSX)
    first = _first_sheet_part(archive)
    sheets = [first] if first in members else sorted(m for m in members if m.startswith("xl/worksheets/")
                                                        and m.endswith(".xml"))
    problems: FormulaProblems = {}
    for member in sheets:
        assert member is not None
        rows, columns, problems = _scan_sheet(archive, member)
        if rows * columns > XLSX_MAX_GRID_CELLS:
            raise ImportFileError(
                "xlsx_too_large",
                f"工作表范围过大（{rows} 行 × {columns} 列），请删除远处的单元格或另存为 CSV / the sheet spans "
                f"{rows} rows × {columns} columns (at most {XLSX_MAX_GRID_CELLS:,} cells): clear far-away cells "
                "or save it as CSV")
    # Only when the first sheet was identified: otherwise these belong to whichever sheet was scanned last.
    return problems if first in members else {}


def _leading_score(sheet: Any, score: HeaderScore) -> int:
    """The best header score among a sheet's leading non-empty rows (where _tabular looks for the header)."""
    best = 0
    seen = 0
    for cells in sheet.iter_rows():
        if all(_blank(c) for c in cells):
            continue
        best = max(best, score([_header_text(c) for c in cells]))
        seen += 1
        if seen >= _HEADER_SEARCH_ROWS:
            break
    return best


def _check_other_sheets(path: Path, workbook: Any, first: Any, score: HeaderScore) -> None:
    """ImportFileError `xlsx_sheets` when a sheet after the first has a header of this import's columns: only the
    first sheet is read, so the rows of the others were left out without a word (a list split over two sheets),
    or, with an instructions sheet first, the import failed on "unknown columns" of the instructions. Each other
    sheet is looked at only within the grid bound the first sheet is held to (XLSX_MAX_GRID_CELLS)."""
    from python_calamine import CalamineError

    names: list[str] = list(workbook.sheet_names)
    if len(names) < 2:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            parts = _sheet_parts(archive)
            members = set(archive.namelist())
            readable = []
            for index in range(1, min(len(names), len(parts))):
                member = parts[index]
                if member is None or member not in members:
                    continue
                rows, columns, _ = _scan_sheet(archive, member)
                if rows * columns <= XLSX_MAX_GRID_CELLS:
                    readable.append(index)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return
    holding: list[int] = []
    for index in readable:
        try:
            other = workbook.get_sheet_by_index(index)
        except (CalamineError, ValueError, OSError):
            continue  # a chart sheet, or one calamine cannot read: it holds no rows for us
        if _leading_score(other, score) >= 2:
            holding.append(index)
    if not holding:
        return
    listed = "、".join(f"第 {i + 1} 个工作表（{mask_numbers_in_text(names[i])[:40]}）" for i in holding)
    listed_en = ", ".join(f"{i + 1} ({mask_numbers_in_text(names[i])[:40]})" for i in holding)
    if _leading_score(first, score) >= 2:
        raise ImportFileError(
            "xlsx_sheets",
            f"{listed}也有数据行，但每次只导入第一个工作表：请把所有行放到第一个工作表，或分开上传"
            f" / sheet(s) {listed_en} hold rows too, but only the first sheet is imported: put all rows on the "
            "first sheet or upload each sheet on its own")
    raise ImportFileError(
        "xlsx_sheets",
        f"第一个工作表没有可识别的表头，数据似乎在{listed}：只导入第一个工作表，请把它移到最前"
        f"或删除其他工作表 / the first sheet has no recognisable header; the rows seem to be on sheet(s) "
        f"{listed_en}, and only the first sheet is imported: move that sheet to the front or delete the others")


def open_xlsx(path: Path, score: HeaderScore) -> OpenedSource:
    from python_calamine import CalamineError, load_workbook

    formula_problems = check_xlsx_archive(path)
    try:
        workbook = load_workbook(str(path))
        names = workbook.sheet_names
        if not names:
            raise ImportFileError("empty", "工作簿没有工作表 / the workbook has no sheet")
        sheet = workbook.get_sheet_by_index(0)
        _check_other_sheets(path, workbook, sheet, score)
    except ImportFileError:
        raise
    except (CalamineError, ValueError, OSError) as exc:
        raise ImportFileError("xlsx_unreadable",
                              f"无法读取 XLSX 文件 / cannot read the XLSX file ({type(exc).__name__})") from None
    start = sheet.start
    if start is None:
        raise ImportFileError("empty", "第一个工作表为空 / the first sheet is empty")
    first_column = start[1]
    merged_ranges = list(sheet.merged_cell_ranges or [])
    merged_of: Callable[[int, int], str | None] | None = None
    # A merged range whose first cell is empty too is only formatting: its cells are reported only when that
    # first cell has a value (seen as the rows go by: it comes before every other cell of its range).
    origins: dict[int, list[tuple[int, str]]] = {}
    filled: set[str] = set()
    if merged_ranges:
        absolute = _merged_lookup(merged_ranges)
        for (r0, c0), (r1, c1) in merged_ranges:
            origins.setdefault(r0 + 1, []).append((c0 - first_column, _range_label(r0, c0, r1, c1)))

        def relative(row_number: int, column: int) -> str | None:
            label = absolute(row_number, column + first_column)
            return label if label in filled else None

        merged_of = relative

    formula_of: Callable[[int, int], str | None] | None = None
    if formula_problems:
        def formula_of(row_number: int, column: int) -> str | None:
            return formula_problems.get((row_number, column + first_column))

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        # python-calamine yields rows from the sheet's first row (row 1), columns from its first used column.
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            for column, label in origins.get(number, ()):
                if 0 <= column < len(cells) and not _blank(cells[column]):
                    filled.add(label)
            yield number, cells

    header_row, headers, rows = _tabular(numbered(), score, merged_of, formula_of)
    return OpenedSource("xlsx", None, headers, header_row, rows)


def open_ndjson(handle: BinaryIO) -> OpenedSource:
    handle.seek(0)
    head = handle.read(3)
    handle.seek(0)
    if head == codecs.BOM_UTF8:
        handle.read(3)

    def rows() -> Iterator[SourceRow]:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield SourceRow(number, None, error=_json_line_error(line))
                continue
            if not isinstance(value, dict):
                yield SourceRow(number, None, error="每行须是一个 JSON 对象 / each line must be a JSON object")
                continue
            yield SourceRow(number, value)

    iterator = rows()
    try:
        first = next(iterator)
    except StopIteration:
        raise ImportFileError("empty", "文件为空 / the file is empty") from None

    def chained() -> Iterator[SourceRow]:
        yield first
        yield from iterator

    return OpenedSource("ndjson", "utf-8", None, 0, chained())


def _json_line_error(line: bytes) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "不是 UTF-8 编码（NDJSON 须为 UTF-8，GBK 等编码请转换）/ not UTF-8 text (NDJSON must be UTF-8, not GBK)"
    return "不是合法的 JSON / not valid JSON"


def open_source(path: Path, handle: BinaryIO, file_format: FileFormat, score: HeaderScore) -> OpenedSource:
    if file_format == "csv":
        return open_csv(handle, score)
    if file_format == "xlsx":
        return open_xlsx(path, score)
    return open_ndjson(handle)


# --------------------------------------------------------------------------------------- cell conversion

_EXCEL_EPOCH = date(1899, 12, 30)


def excel_serial_date(value: float) -> date | None:
    """An Excel serial day number (a date cell without a date format, or a formula's cached value) → date."""
    if 1 <= value < 2_958_466:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    return None


def cell_text(value: Any) -> str | None:
    """A cell as text (None for blank): integral floats lose their `.0`, dates become ISO."""
    if value is None:
        return None
    if type(value) is str:  # CSV cells and most spreadsheet cells: the common case first
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value).strip()
    return text or None
