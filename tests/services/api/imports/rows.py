"""Realistic import rows for the import tests (valid ID numbers with their check characters)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from matching.identity import id_check_character

CHINESE_HEADER = ["序号", "姓名", "身份证号", "手机号", "性别", "户籍地", "工种", "技能", "期望薪资", "可到岗日期",
                  "愿意异地", "同意共享", "同意时间", "外部编号"]


def id_number(adcode: str, birth: str, sequence: int) -> str:
    """An 18-character ID number; an odd sequence is a man, an even one a woman."""
    first17 = f"{adcode}{birth}{sequence:03d}"
    return first17 + id_check_character(first17)


def worker_row(n: int, **overrides: Any) -> dict[str, Any]:
    """One valid worker, as the Chinese-header spreadsheet has it."""
    row = {
        "序号": n,
        "姓名": f"测试{n}号",
        "身份证号": id_number("500107", f"19{80 + n % 15}0{1 + n % 9}1{n % 9}", 2 * n + 1),
        "手机号": f"138{n:08d}",
        "性别": "男",
        "户籍地": "九龙坡区" if n % 2 else "510107",
        "工种": "焊工、电工" if n % 3 else "6-18-02-04",
        "技能": "氩弧焊;二保焊",
        "期望薪资": "5000-8000元/月",
        "可到岗日期": "2030-03-01",
        "愿意异地": "是" if n % 2 else "否",
        "同意共享": "是",
        "同意时间": "2026/1/15",
        "外部编号": f"EXT-{n}",
    }
    row.update(overrides)
    return row


def many_worker_rows(count: int) -> list[dict[str, Any]]:
    """`count` valid workers, each a different person (`worker_row`'s ID numbers repeat after 499 rows)."""
    rows = []
    for n in range(count):
        birth = date(1980, 1, 1) + timedelta(days=n // 400)
        rows.append(worker_row(n % 400, 序号=n, 姓名=f"测试{n}号",
                               身份证号=id_number("500107", birth.strftime("%Y%m%d"), 2 * (n % 400) + 1),
                               手机号=f"139{n:08d}", 外部编号=f"BULK-{n}"))
    return rows


def to_csv(rows: list[dict[str, Any]], header: list[str] | None = None) -> str:
    header = header or CHINESE_HEADER
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue()


def swollen_workbook(path: Path, megabytes: int = 4) -> Path:
    """A tiny .xlsx whose first sheet unpacks to `megabytes` MB of one-character cells (a decompression bomb)."""
    cells = b"<c><v>1</v></c>" * (megabytes * 1024 * 1024 // 15)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/worksheets/sheet1.xml",
                         b"<worksheet><sheetData><row>" + cells + b"</row></sheetData></worksheet>")
    return path


def ods_bytes(rows: list[list[str]], *, repeated: tuple[int, int] | None = None, mimetype_first: bool = True) -> bytes:
    """An OpenDocument spreadsheet (.ods) of string cells; `repeated` = (rows, columns) adds one cell repeated
    that many times each way, as table:number-*-repeated lets a tiny file describe a huge grid."""
    def cell(text: str, columns: int = 1) -> str:
        repeat = f' table:number-columns-repeated="{columns}"' if columns > 1 else ""
        return f'<table:table-cell{repeat} office:value-type="string"><text:p>{text}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(cell(c) for c in row) + "</table:table-row>" for row in rows)
    if repeated is not None:
        body += (f'<table:table-row table:number-rows-repeated="{repeated[0]}">{cell("x", repeated[1])}'
                 "</table:table-row>")
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               f'<office:spreadsheet><table:table table:name="Sheet1">{body}</table:table></office:spreadsheet>'
               "</office:body></office:document-content>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        mimetype = ("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        if mimetype_first:
            archive.writestr(*mimetype)
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest '
                         'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        if not mimetype_first:
            archive.writestr(*mimetype)
    return out.getvalue()
