"""From a spreadsheet row (header → cell) to the JSON body the single-record API takes.

Nothing here knows the rules of a worker profile or a job posting: the field names, which are lists, dates,
booleans, choices and which are required all come from the create schema (a pydantic model owned by
`worker_profiles` / `jobs`), and validation is that schema's and its service's. What this module adds is
spreadsheet reading conventions:

- columns are the JSON field names, nested ones flattened with dots (`consent.share_with_enterprises`), or
  the usual Chinese headers (姓名, 身份证号, 手机号, 户籍地 …; `HEADER_ALIASES`); `*` markers and bracketed
  hints (`姓名（必填）`, `期望薪资(元/月)`) are ignored;
- lists are separated by `;` `；` `、` or new lines; booleans are 是/否, true/false, 1/0, Y/N;
- dates may be Excel dates, Excel serial numbers, `2026-03-01`, `2026/3/1`, `2026年3月1日`, `20260301`;
- counties may be given by name (九龙坡区, 九龙坡, 成都市武侯区) instead of adcode;
- Chinese words for choices (男/女, 全职/零工/日结, 元/月 …);
- a single wage column (`期望薪资` = "5000-8000元/月") is split into min, max and unit.

Messages never repeat a cell's value: the cells hold personal data.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ValidationError

from matching.identity import mask_numbers_in_text
from matching.regions import RegionDirectory
from matching.spreadsheet_cells import EXCEL_NUMBER_EN, EXCEL_NUMBER_ZH
from services.api.imports.readers import (
    FORMULA_ERROR,
    FORMULA_UNCALCULATED,
    SourceRow,
    cell_text,
    excel_serial_date,
)
from services.api.problems import error_locations, validation_message

Kind = Literal["str", "int", "float", "bool", "date", "datetime", "list", "model", "literal", "other"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: str
    kind: Kind
    required: bool
    item: FieldSpec | None = None  # for lists
    choices: tuple[str, ...] = ()  # for literals (and lists of literals, on `item`)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str | None
    message: str
    column: str | None = None


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without Optional/Annotated, whether None is allowed)."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) == 1:
                annotation = args[0]
                continue
            return annotation, optional
        return annotation, optional


def _spec(path: str, annotation: Any, required: bool) -> FieldSpec:
    annotation, _ = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return FieldSpec(path, "literal", required, choices=tuple(str(a) for a in typing.get_args(annotation)))
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        item = _spec(path, args[0], False) if args else FieldSpec(path, "str", False)
        return FieldSpec(path, "list", required, item=item)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return FieldSpec(path, "model", required)
        if issubclass(annotation, bool):
            return FieldSpec(path, "bool", required)
        if issubclass(annotation, int):
            return FieldSpec(path, "int", required)
        if issubclass(annotation, float | Decimal):
            return FieldSpec(path, "float", required)
        if issubclass(annotation, datetime):
            return FieldSpec(path, "datetime", required)
        if issubclass(annotation, date):
            return FieldSpec(path, "date", required)
        if issubclass(annotation, str):
            return FieldSpec(path, "str", required)
    return FieldSpec(path, "other", required)


def schema_fields(model: type[BaseModel], prefix: str = "", parent_required: bool = True) -> dict[str, FieldSpec]:
    """Every field of `model` by dotted path, nested models included (as a `model` node and its leaves)."""
    specs: dict[str, FieldSpec] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}{key}"
        required = parent_required and info.is_required()
        spec = _spec(path, info.annotation, required)
        specs[path] = spec
        if spec.kind == "model":
            inner, _ = _unwrap(info.annotation)
            specs.update(schema_fields(inner, path + ".", required))
    return specs


# ------------------------------------------------------------------------------------------------ headers


@dataclass(frozen=True, slots=True)
class ColumnTarget:
    path: str
    # Values this column implies for other fields (月薪下限 → wage.unit = month).
    implies: tuple[tuple[str, str], ...] = ()


def _t(path: str, **implies: str) -> ColumnTarget:
    return ColumnTarget(path, tuple((k.replace("__", "."), v) for k, v in implies.items()))


# Columns spreadsheets commonly carry that are not data (row counters).
IGNORED_HEADERS: frozenset[str] = frozenset({"序号", "编号序号", "no", "no.", "#", "行号"})

_COMMON: dict[str, ColumnTarget] = {
    "外部编号": _t("external_ref"), "外部id": _t("external_ref"), "外部ID": _t("external_ref"),
    "档案号": _t("external_ref"), "人员编号": _t("external_ref"), "岗位编号": _t("external_ref"),
}

_FORMULA_MESSAGES = {
    FORMULA_ERROR: "公式结果是错误值（如 #N/A、#DIV/0!、#REF!），请修正公式或填写数值 / the cell's formula results in "
                   "an error (#N/A, #DIV/0!, #REF! …): fix the formula or type the value",
    FORMULA_UNCALCULATED: "单元格是公式但文件中没有计算结果（文件未经 Excel/WPS 计算保存），"
                          "请在 Excel/WPS 中打开并保存，或粘贴为数值 / the cell holds a formula but the file has "
                          "no calculated result (it was not saved by Excel or WPS): open and save it there, or "
                          "paste the values",
}

HEADER_ALIASES: dict[str, dict[str, ColumnTarget]] = {
    "workers": {
        **_COMMON,
        "姓名": _t("name"),
        "身份证号": _t("id_number"), "身份证号码": _t("id_number"), "身份证": _t("id_number"),
        "公民身份号码": _t("id_number"),
        "手机号": _t("phone"), "手机": _t("phone"), "手机号码": _t("phone"), "联系电话": _t("phone"),
        "电话": _t("phone"),
        "性别": _t("gender"),
        "户籍地": _t("home_adcode"), "户籍所在地": _t("home_adcode"), "户籍": _t("home_adcode"),
        "户口所在地": _t("home_adcode"),
        "现居地": _t("current_adcode"), "现居住地": _t("current_adcode"), "常住地": _t("current_adcode"),
        "工种": _t("occupations"), "职业": _t("occupations"), "求职工种": _t("occupations"),
        "技能": _t("skills"), "证书": _t("certificates"), "资格证书": _t("certificates"),
        "劳务品牌": _t("labour_brand"),
        "工作年限": _t("experience_years"), "从业年限": _t("experience_years"), "工龄": _t("experience_years"),
        "学历": _t("education"), "文化程度": _t("education"),
        "意向地区": _t("desired_adcodes"), "意向工作地": _t("desired_adcodes"),
        "期望工作地": _t("desired_adcodes"),
        "愿意异地": _t("willing_to_relocate"), "愿意异地就业": _t("willing_to_relocate"),
        "是否愿意异地": _t("willing_to_relocate"),
        "最大通勤距离": _t("max_commute_km"), "通勤距离": _t("max_commute_km"),
        "期望薪资": _t("expected_wage"), "期望工资": _t("expected_wage"), "期望待遇": _t("expected_wage"),
        "期望月薪": _t("expected_wage", expected_wage__unit="month"),
        "期望日薪": _t("expected_wage", expected_wage__unit="day"),
        "期望薪资下限": _t("expected_wage.min"), "期望薪资上限": _t("expected_wage.max"),
        "期望薪资单位": _t("expected_wage.unit"), "薪资单位": _t("expected_wage.unit"),
        "期望月薪下限": _t("expected_wage.min", expected_wage__unit="month"),
        "期望月薪上限": _t("expected_wage.max", expected_wage__unit="month"),
        "可到岗日期": _t("available_from"), "到岗日期": _t("available_from"), "可上岗日期": _t("available_from"),
        "可工作至": _t("available_until"), "可工作截止日期": _t("available_until"),
        "用工形式": _t("work_types"), "工作类型": _t("work_types"), "就业形式": _t("work_types"),
        "备注": _t("notes"),
        "同意共享": _t("consent.share_with_enterprises"),
        "同意共享给企业": _t("consent.share_with_enterprises"),
        "同意信息共享": _t("consent.share_with_enterprises"),
        "同意短信": _t("consent.contact_by_sms"), "同意短信联系": _t("consent.contact_by_sms"),
        "同意时间": _t("consent.given_at"), "授权时间": _t("consent.given_at"),
        "授权日期": _t("consent.given_at"), "同意日期": _t("consent.given_at"),
    },
    "jobs": {
        **_COMMON,
        "岗位名称": _t("title"), "职位名称": _t("title"), "岗位": _t("title"), "招聘岗位": _t("title"),
        "岗位描述": _t("description"), "职位描述": _t("description"), "岗位职责": _t("description"),
        "职业代码": _t("occupation_code"), "职业编码": _t("occupation_code"), "工种代码": _t("occupation_code"),
        "招聘人数": _t("headcount"), "人数": _t("headcount"),
        "工作地点": _t("adcode"), "工作地区": _t("adcode"), "区县": _t("adcode"),
        "详细地址": _t("address"), "地址": _t("address"),
        "纬度": _t("location.lat"), "经度": _t("location.lng"),
        "薪资": _t("wage"), "工资": _t("wage"), "薪资待遇": _t("wage"), "薪酬": _t("wage"),
        "月薪": _t("wage", wage__unit="month"), "日薪": _t("wage", wage__unit="day"),
        "时薪": _t("wage", wage__unit="hour"),
        "薪资下限": _t("wage.min"), "薪资上限": _t("wage.max"), "薪资单位": _t("wage.unit"),
        "计薪方式": _t("wage.unit"),
        "月薪下限": _t("wage.min", wage__unit="month"), "月薪上限": _t("wage.max", wage__unit="month"),
        "日薪下限": _t("wage.min", wage__unit="day"), "日薪上限": _t("wage.max", wage__unit="day"),
        "时薪下限": _t("wage.min", wage__unit="hour"), "时薪上限": _t("wage.max", wage__unit="hour"),
        "计件单价下限": _t("wage.min", wage__unit="piece"), "计件单价上限": _t("wage.max", wage__unit="piece"),
        "用工形式": _t("work_type"), "工作类型": _t("work_type"),
        "开工日期": _t("start_date"), "开始日期": _t("start_date"), "到岗日期": _t("start_date"),
        "结束日期": _t("end_date"),
        "福利": _t("benefits"), "福利待遇": _t("benefits"),
        "证书要求": _t("required_certificates"), "所需证书": _t("required_certificates"),
        "年龄下限": _t("age_min"), "最低年龄": _t("age_min"), "年龄上限": _t("age_max"), "最高年龄": _t("age_max"),
        "联系人": _t("contact.name"), "联系电话": _t("contact.phone"),
        "截止日期": _t("expires_at"), "有效期至": _t("expires_at"),
    },
}

_HINT_RE = re.compile(r"[（(【\[].*?[)）】\]]")


def normalise_header(text: str) -> str:
    """`*姓名（必填）` → `姓名`; `Consent.Share_With_Enterprises ` → `consent.share_with_enterprises`."""
    text = text.replace("\ufeff", "").strip().strip("*＊").strip()
    text = _HINT_RE.sub("", text).strip().strip("*＊").strip()
    text = re.sub(r"\s+", "", text)
    return text.lower() if text.isascii() else text


# ------------------------------------------------------------------------------------------------ values

_LIST_SPLIT = re.compile(r"[;；、\n]+")
_TRUE = frozenset({"是", "true", "1", "y", "yes", "t", "有", "同意", "愿意", "√", "✓", "on"})
_FALSE = frozenset({"否", "false", "0", "n", "no", "f", "无", "不同意", "不愿意", "×", "✗", "off"})

# Chinese words for the API's choice values; only used when the value is one of the field's choices.
CHOICE_WORDS: dict[str, str] = {
    "男": "male", "女": "female", "男性": "male", "女性": "female",
    "全职": "full_time", "长期": "full_time", "长期工": "full_time", "全日制": "full_time",
    "季节工": "seasonal", "季节性": "seasonal", "季节性用工": "seasonal",
    "零工": "gig", "临时工": "gig", "灵活用工": "gig", "零活": "gig",
    "日结": "daily", "日结工": "daily",
    "月": "month", "元/月": "month", "每月": "month", "按月": "month", "月薪": "month",
    "天": "day", "日": "day", "元/天": "day", "元/日": "day", "按天": "day", "日薪": "day",
    "小时": "hour", "时": "hour", "元/小时": "hour", "元/时": "hour", "按小时": "hour", "时薪": "hour",
    "件": "piece", "计件": "piece", "元/件": "piece", "按件": "piece",
    "无": "none", "文盲": "none", "未上学": "none", "小学": "primary", "初中": "junior_secondary",
    "高中": "senior_secondary", "中专": "vocational", "技校": "vocational", "职高": "vocational",
    "中职": "vocational", "大专": "college", "专科": "college", "高职": "college", "本科": "bachelor",
    "大学": "bachelor", "研究生": "postgraduate", "硕士": "postgraduate", "博士": "postgraduate",
}

_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# Excel serial day numbers of 1927-05-18 (10000) to 2173-10-14 (99999), optionally with the time as a fraction.
_SERIAL_TEXT_RE = re.compile(r"^\d{5}(?:\.\d+)?$")
_NUMBER_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?")
_WAGE_UNIT_RE = [("hour", re.compile(r"小时|时|/h", re.I)), ("day", re.compile(r"天|日|/d", re.I)),
                 ("piece", re.compile(r"件")), ("month", re.compile(r"月|/m", re.I))]
_WAGE_NUMBER_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kK千万wW])?")


class CellError(ValueError):
    pass


# Whole-file problems name at most this many headers, each cut to _HEADER_CHARS: the report (and the
# import-finished notice and webhook that copy it) stays small for a sheet with thousands of stray columns.
_LISTED_HEADERS = 20
_HEADER_CHARS = 40


def _short(header: str) -> str:
    return header if len(header) <= _HEADER_CHARS else header[:_HEADER_CHARS] + "…"


_PLACE_CACHE_SIZE = 20_000
# Per column, distinct cell values whose conversion is remembered during one import (RowMapper._column_converter).
_MEMO_SIZE = 4096
_UNSEEN = object()
_REPEATING_KINDS: frozenset[str] = frozenset({"literal", "list", "model", "date", "datetime", "bool", "int",
                                              "float"})


def _as_date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        day = excel_serial_date(float(value))
        if day is None:
            raise CellError("不是日期 / not a date")
        return day.isoformat()
    text = str(value).strip()
    if _SERIAL_TEXT_RE.match(text):
        # An Excel serial day number as text (a CSV saved from a sheet whose date column has no date format).
        # Left to the schema, pydantic read it as seconds since 1970: a consent time stored as 1970-01-01, an
        # availability refused for "should have zero time".
        day = excel_serial_date(float(text))
        assert day is not None  # five digits lie inside the serial range
        return day.isoformat()
    match = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError:
            raise CellError("日期不存在 / no such date") from None
    return text  # ISO already, or let the schema say what is wrong


# A date and a clock time as people type them in a sheet ("2026/1/15 9:30", "2026-01-15 09:30:00"), no offset.
_LOCAL_DATETIME_RE = re.compile(r"(?P<day>[^\sT]+)(?:\s+|T)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?")


def _as_datetime(value: Any) -> str:
    """A datetime cell as is; a bare date (cell, serial number or text) as midnight China time; a date and time
    written as text without an offset in China time too, as the same value in a datetime cell is read."""
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo else value.isoformat() + "+08:00"
    if isinstance(value, str) and ("T" in value or ":" in value):
        text = value.strip()
        local = _LOCAL_DATETIME_RE.fullmatch(text)
        if local is None:  # an offset is given (or it is no time at all): the schema reads it or says what is wrong
            return text
        return (f"{_as_date(local['day'])}T{int(local['hour']):02d}:{local['minute']}:{local['second'] or '00'}"
                "+08:00")
    day = _as_date(value)
    return f"{day}T00:00:00+08:00" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else day


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise CellError("应为 是/否 / expected yes or no")
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("应为 是/否 / expected yes or no (是/否, true/false, 1/0, Y/N)")


def _as_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise CellError("应为数字 / expected a number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | float):
        return value
    text = str(value).strip().replace(",", "").replace("，", "")
    match = _NUMBER_RE.match(text)
    if match and re.fullmatch(r"\s*[\u4e00-\u9fff/a-zA-Z]*\s*", text[match.end():]):
        number = match[0]
        if re.fullmatch(r"[+-]?\d+", number):
            return int(number)
        # "3.0" as text (a CSV from a tool that writes every number with a decimal point) is the integer it names,
        # as a number cell's 3.0 is above: the schema's integers take no float (services/api/json_scalars.py).
        amount = float(number)
        return int(amount) if amount.is_integer() else amount
    return text


def _as_text(value: Any) -> str | None:
    if type(value) is str:  # CSV cells: the common case first
        return value.strip() or None
    if isinstance(value, float) and abs(value) >= 1e15:
        # An 18-digit ID number typed into a number cell: Excel kept only 15 significant digits.
        raise CellError(f"{EXCEL_NUMBER_ZH}（Excel 只保留 15 位有效数字）/ {EXCEL_NUMBER_EN} (Excel keeps only 15 "
                        "significant digits)")
    return cell_text(value)


def _choice(value: str, choices: tuple[str, ...]) -> str:
    lowered = value.strip().lower()
    if lowered in choices:
        return lowered
    word = CHOICE_WORDS.get(value.strip())
    if word is not None and word in choices:
        return word
    return value.strip()


def parse_wage_text(text: str, unit: str | None) -> dict[str, Any]:
    """"5000-8000元/月" → {min: 5000, max: 8000, unit: month}; "6k" → {min: 6000, max: 6000}; a unit named
    in the text wins over the column's implied unit; no unit at all means month (how brokers write it)."""
    numbers: list[float] = []
    for number, scale in _WAGE_NUMBER_RE.findall(text):
        amount = float(number)
        if scale in ("k", "K", "千"):
            amount *= 1000
        elif scale in ("万", "w", "W"):
            amount *= 10000
        numbers.append(amount)
    if not numbers or len(numbers) > 2:
        raise CellError("薪资应写成 5000-8000元/月 或 200元/天 / write a wage as 5000-8000元/月 or 200元/天")
    named = next((u for u, pattern in _WAGE_UNIT_RE if pattern.search(text.split("元")[-1] or text)), None)
    low, high = numbers[0], numbers[-1]  # as written: "8000-5000" is the schema's min > max error
    as_num = [int(v) if float(v).is_integer() else v for v in (low, high)]
    return {"min": as_num[0], "max": as_num[1], "unit": named or unit or "month"}


# -------------------------------------------------------------------------------------------- row mapping


@dataclass(slots=True)
class ColumnPlan:
    header: str
    target: ColumnTarget
    spec: FieldSpec
    # Compiled once per import by RowMapper.plan (rows are many, columns few): the cell → value function for
    # this column's field, and its path split on dots.
    convert: Callable[[Any], Any] | None = None
    parts: tuple[str, ...] = ()


@dataclass(slots=True)
class MappedRow:
    number: int
    body: dict[str, Any] | None
    errors: list[RowError] = field(default_factory=list)


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    _set_parts(body, path.split("."), value)


def _set_parts(body: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    if len(parts) == 1:
        body[parts[0]] = value
        return
    node = body
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _has(body: dict[str, Any], path: str) -> bool:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:  # bodies are plain dicts (no ABC check per row)
            return False
        node = node[part]
    return True


class RowMapper:
    """Built once per import from the create schema and the header row; maps rows to request bodies."""

    def __init__(self, kind: str, schema: type[BaseModel], regions: RegionDirectory) -> None:
        self.kind = kind
        self.schema = schema
        self.regions = regions
        self.fields = schema_fields(schema)
        self.aliases = {normalise_header(k): v for k, v in HEADER_ALIASES.get(kind, {}).items()
                        if v.path in self.fields}
        self.columns: list[ColumnPlan] = []
        # County name → adcode (or the CellError it gives): a file repeats a few hundred places many times.
        self._places: dict[str, str | CellError] = {}

    # -- headers

    def target_of(self, header: str) -> ColumnTarget | None:
        key = normalise_header(header)
        if not key:
            return None
        if key in self.aliases:
            return self.aliases[key]
        for path in self.fields:
            if path.lower() == key.lower():
                return ColumnTarget(path)
        return None

    def header_score(self, headers: list[str]) -> int:
        return sum(1 for h in headers if self.target_of(h) is not None)

    def plan(self, headers: list[str]) -> list[str]:
        """Fix the columns; return whole-file problems (unknown, repeated or missing required columns)."""
        problems: list[str] = []
        repeated = 0
        unknown: list[str] = []
        seen: dict[str, str] = {}
        covered: set[str] = set()
        for header in headers:
            if not header.strip() or normalise_header(header) in IGNORED_HEADERS:
                continue
            target = self.target_of(header)
            if target is None:
                unknown.append(header)
                continue
            if target.path in seen:
                repeated += 1
                if repeated <= _LISTED_HEADERS:
                    first, again = _short(seen[target.path]), _short(header)
                    problems.append(f"列「{first}」和「{again}」都对应 {target.path} / "
                                    f"columns {first!r} and {again!r} both map to {target.path}")
                continue
            seen[target.path] = header
            spec = self.fields[target.path]
            self.columns.append(ColumnPlan(header, target, spec, convert=self._column_converter(spec, target),
                                           parts=tuple(target.path.split("."))))
            covered.add(target.path)
            covered.update(path for path, _ in target.implies)
        if repeated > _LISTED_HEADERS:
            extra = repeated - _LISTED_HEADERS
            problems.append(f"另有 {extra} 列重复 / {extra} more repeated columns")
        if unknown:
            listed = "、".join(_short(h) for h in unknown[:_LISTED_HEADERS])
            more = (f"（另有 {len(unknown) - _LISTED_HEADERS} 列 / and {len(unknown) - _LISTED_HEADERS} more）"
                    if len(unknown) > _LISTED_HEADERS else "")
            problems.append(f"无法识别的列 / unknown columns: {listed}{more}")
        missing = [path for path, spec in self.fields.items()
                   if spec.required and spec.kind != "model" and not self._covered(path, covered)]
        if missing:
            problems.append("缺少必填列 / missing required columns: " + "、".join(
                f"{path}（{self.chinese_header(path)}）" if self.chinese_header(path) else path for path in missing))
        return problems

    def _covered(self, path: str, covered: set[str]) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:i]) in covered for i in range(1, len(parts) + 1))

    def chinese_header(self, path: str) -> str | None:
        for header, target in HEADER_ALIASES.get(self.kind, {}).items():
            if target.path == path and not target.implies:
                return header
        return None

    # -- rows

    def map_tabular(self, row: SourceRow) -> MappedRow:
        assert row.values is not None
        body: dict[str, Any] = {}
        errors: list[RowError] = []
        values = row.values
        for column in self.columns:
            raw = values.get(column.header)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if column.header in row.formula:
                    # Any column, required or not: the sheet meant a value there, and storing the row
                    # without it would lose it silently (an external_ref, a desired county …).
                    errors.append(RowError(row.number, column.target.path,
                                           _FORMULA_MESSAGES[row.formula[column.header]], column.header))
                    continue
                # Any column: a merged cell shows its value on every row it spans, so the sheet's author meant
                # it for them all; an optional column stored empty would lose it without a word.
                if column.header in row.merged:
                    errors.append(RowError(
                        row.number, column.target.path,
                        f"空白：该单元格在合并单元格 {row.merged[column.header]} 内，值只写在合并区域的第一行；"
                        f"请取消合并并逐行填写 / empty: the cell is inside merged range "
                        f"{row.merged[column.header]}, whose value is only in its first row; unmerge and fill "
                        f"every row", column.header))
                continue
            convert = column.convert or self._converter(column.spec, column.target)
            try:
                value = convert(raw)
            except CellError as exc:
                errors.append(RowError(row.number, column.target.path, str(exc), column.header))
                continue
            if value is None:
                continue
            if column.spec.kind == "model":
                for key, sub in value.items():
                    if not _has(body, f"{column.target.path}.{key}"):
                        _set(body, f"{column.target.path}.{key}", sub)
            elif len(column.parts) == 1:
                body[column.parts[0]] = value
            else:
                _set_parts(body, column.parts or column.target.path.split("."), value)
        for column in self.columns:
            for path, implied in column.target.implies:
                if _has(body, column.target.path) and not _has(body, path):
                    _set(body, path, implied)
        return MappedRow(row.number, body, errors)

    def map_json(self, row: SourceRow) -> MappedRow:
        if row.values is None:
            return MappedRow(row.number, None, [RowError(row.number, None, row.error or "unreadable row")])
        body: dict[str, Any] = {}
        for key, value in row.values.items():
            if "." in key:  # flattened keys are accepted in NDJSON too
                _set(body, key, value)
            else:
                body[key] = value
        return MappedRow(row.number, body, [])

    def _column_converter(self, spec: FieldSpec, target: ColumnTarget) -> Callable[[Any], Any]:
        """`_converter`, memoised per distinct cell value for the columns whose values repeat across a sheet
        (places, choices, trades, wages, dates, yes/no, numbers): each distinct cell is converted once per
        import. Free-text columns (names, ID numbers, phones, references, notes) are converted as they come.
        Every row gets its own list / dict (nothing downstream shares them); a cell's CellError is remembered
        and raised again for each row that has it. Text cells only (CSV's, and most of a spreadsheet's)."""
        convert = self._converter(spec, target)
        repeats = (spec.kind in _REPEATING_KINDS or (spec.kind == "str" and self._is_place(spec.path)))
        if not repeats:
            return convert
        seen: dict[Any, Any] = {}

        def memoised(raw: Any) -> Any:
            if type(raw) is not str:  # text cells only: 1, 1.0 and True are equal keys but convert differently
                return convert(raw)
            known = seen.get(raw, _UNSEEN)
            if known is _UNSEEN:
                try:
                    value = convert(raw)
                except CellError as exc:
                    known = exc
                else:
                    known = tuple(value) if type(value) is list else value
                if len(seen) >= _MEMO_SIZE:
                    seen.clear()
                seen[raw] = known
            kind = type(known)
            if kind is tuple:
                return list(known)
            if kind is dict:
                return dict(known)
            if kind is CellError:
                raise CellError(str(known))
            return known

        return memoised

    def _convert(self, spec: FieldSpec, raw: Any, target: ColumnTarget) -> Any:
        return self._converter(spec, target)(raw)

    def _converter(self, spec: FieldSpec, target: ColumnTarget) -> Callable[[Any], Any]:
        """The cell → value function of one column, decided once from the field's spec (see _convert)."""
        if spec.kind == "list":
            item = spec.item or FieldSpec(spec.path, "str", False)
            place = self._is_place(spec.path)
            convert_item = None if place else self._converter(item, target)
            resolve_place = self.resolve_place

            def convert_list(raw: Any) -> Any:
                if isinstance(raw, list):
                    parts = raw
                else:
                    text = _as_text(raw)
                    parts = [p.strip() for p in _LIST_SPLIT.split(text or "") if p.strip()]
                if convert_item is None:
                    return [resolve_place(str(p)) for p in parts]
                return [convert_item(p) for p in parts]

            return convert_list
        simple = {"bool": _as_bool, "date": _as_date, "datetime": _as_datetime, "int": _as_number,
                  "float": _as_number}.get(spec.kind)
        if simple is not None:
            return simple
        if spec.kind == "model":
            unit = dict(target.implies).get(f"{spec.path}.unit")

            def convert_model(raw: Any) -> Any:
                text = _as_text(raw)
                return None if text is None else parse_wage_text(text, unit)

            return convert_model
        choices = spec.choices if spec.kind == "literal" else None
        place = spec.kind != "literal" and self._is_place(spec.path)

        def convert_text(raw: Any) -> Any:
            text = _as_text(raw)
            if text is None:
                return None
            if choices is not None:
                return _choice(text, choices)
            if place:
                return self.resolve_place(text)
            return text

        return convert_text

    @staticmethod
    def _is_place(path: str) -> bool:
        leaf = path.rsplit(".", 1)[-1]
        return leaf.endswith(("adcode", "adcodes"))

    def resolve_place(self, text: str) -> str:
        """A 6-digit adcode as given; a county name (九龙坡区, 九龙坡, 成都市武侯区, 重庆市江北区) → its adcode."""
        known = self._places.get(text)
        if known is None:
            try:
                known = self._resolve_place(text)
            except CellError as exc:
                known = exc
            if len(self._places) >= _PLACE_CACHE_SIZE:
                self._places.clear()
            self._places[text] = known
        if isinstance(known, CellError):
            raise CellError(str(known))
        return known

    def _resolve_place(self, text: str) -> str:
        text = re.sub(r"\s+", "", text)
        if re.fullmatch(r"\d{6}", text):
            return text
        codes = self._place_codes(text)
        if len(codes) == 1:
            return codes[0]
        if len(codes) > 1:
            raise CellError("区县名称有重名（如 市中区），请写 6 位区县代码或加上所属市 / "
                            "ambiguous county name: give the 6-digit adcode or prefix the city")
        raise CellError("无法识别的区县 / unknown county: give a county name of Chongqing or Sichuan or its "
                        "6-digit adcode")

    def _place_codes(self, text: str) -> list[str]:
        direct = list(self.regions.adcodes_for_word(text))
        if direct:
            return self._prefer_counties(direct)
        # Strip a province and a city prefix: 重庆市江北区, 四川省乐山市市中区, 成都武侯区
        rest = text
        for province in ("重庆市", "四川省", "重庆", "四川"):
            if rest.startswith(province) and len(rest) > len(province):
                rest = rest[len(province):]
                break
        if rest != text and (codes := list(self.regions.adcodes_for_word(rest))):
            return self._prefer_counties(codes)
        for region in self.regions:
            if region.level != "city":
                continue
            for word in (region.name, region.short_name):
                if len(word) >= 2 and rest.startswith(word) and len(rest) > len(word):
                    codes = [c for c in self.regions.adcodes_for_word(rest[len(word):])
                             if self.regions.city_of(c) == region.adcode]
                    if codes:
                        return codes
        return []

    def _prefer_counties(self, codes: list[str]) -> list[str]:
        counties = [c for c in codes if (r := self.regions.get(c)) is not None and r.level == "county"]
        return counties or codes

    # -- validation against the schema

    def validate(self, mapped: MappedRow) -> BaseModel | None:
        """The schema instance, or None with the errors appended to `mapped.errors`."""
        if mapped.body is None or mapped.errors:
            return None
        unstorable = list(dict.fromkeys(_nul_paths(mapped.body))) if _may_hold_nul(mapped.body) else []
        if unstorable:
            # Refused here, per row: at the database it fails the whole batch's transaction, on every retry.
            mapped.errors.extend(RowError(mapped.number, path, UNSTORABLE_TEXT,
                                          self.header_for(path) if path else None) for path in unstorable)
            return None
        try:
            return self.schema.model_validate(mapped.body)
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                for loc in error_locations(err):
                    path = ".".join(str(p) for p in loc)
                    # An NDJSON key is the row's own text: one that is an ID number or phone is stored and shown
                    # masked.
                    mapped.errors.append(RowError(mapped.number, mask_numbers_in_text(path) or None,
                                                  validation_message(err), self.header_for(path)))
            return None

    def header_for(self, path: str) -> str | None:
        for column in self.columns:
            if column.target.path == path or path.startswith(column.target.path + "."):
                return column.header
        return None


UNSTORABLE_TEXT = "含有无法保存的字符 U+0000 / contains the character U+0000, which cannot be stored"


def _may_hold_nul(body: dict[str, Any]) -> bool:
    """A cheap first look for U+0000 (one C pass, ~2 µs a row against ~11 for the walk below, on the import's
    per-row path); a hit is confirmed by `_nul_paths` (typed text `\\u0000` also hits)."""
    try:
        return b"\\u0000" in orjson.dumps(body, default=str, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return True


def _nul_paths(value: Any, path: str = "") -> Iterator[str | None]:
    """The dotted paths of strings holding U+0000 (PostgreSQL text cannot); None for such a key (the field
    cannot be named without quoting it). A list is reported as its field."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or None
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                yield None
            else:
                yield from _nul_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _nul_paths(item, path)


