"""Job-posting compliance (policy clause 21): illegal fees, ID withholding, below-minimum wages,
discrimination and child labour.

The rules are data (``matching/reference/compliance-rules.json``); this module is the engine. Pure: no I/O
except reading the rules file once (cached).

Outcomes:

- ``reject``: the posting is refused (API: 422 with the findings as reasons);
- ``hold``: the posting is stored as ``pending_review`` and an authority decides;
- ``ok``: nothing found.

Text matching works on a normalised copy of the text (NFKC, lower case, spaces between CJK characters and
zero-width characters removed). A pattern hit is *negated* — the posting forbids the thing rather than
demands it — when a negation sits right before or right after it in the same clause, with only list
material in between (separators and other terms of the same rule group). That keeps "严禁收取押金、保证金"
clean while "无经验押金300" is still caught: a negation must attach to the term, not merely be nearby.

A fee with its amount ("押金300元") is asked for, so a denial no longer excuses it; only someone else paying does,
named right before the fee ("公司报销体检费200元") or right after it and its amount ("押金300元由公司承担"), and
not when the clause makes that conditional or partial ("…，干满半年", "…，离职扣回", "…承担一半").

One fee's waiver or payer does not reach the next fee: a negation after a fee that runs straight into another
fee is that fee's ("有押金无中介费" asks for a deposit), a fee written as a field's label is judged by its value
after the colon ("体检：公司报销 报名费：50元"), and a space that normalisation removed still ends the tight
list a payer reaches a fee with its amount over ("食宿全包 报名费50元").
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, cast

__all__ = [
    "DEFAULT_RULES_PATH",
    "ComplianceRules",
    "ComplianceVerdict",
    "Finding",
    "RulesError",
    "check_posting",
    "default_rules",
    "load_rules",
    "normalise_text",
    "parse_rules",
]

DEFAULT_RULES_PATH: Final = Path(__file__).parent / "reference" / "compliance-rules.json"

Outcome = Literal["ok", "hold", "reject"]
Severity = Literal["hold", "reject"]
WageValue = Decimal | int | float

_EXCERPT_CONTEXT: Final = 10
_ZERO_WIDTH_RE: Final = re.compile("[\u200b-\u200d\u2060\ufeff]")
_CJK: Final = "\u3400-\u9fff\uf900-\ufaff"
_CJK_SPACE_RE: Final = re.compile(rf"(?<=[{_CJK}])[^\S\n]+(?=[{_CJK}])")
_TIME_UNITS: Final = ("hour", "day", "month")


class RulesError(ValueError):
    """The rules file is malformed."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason. ``field`` uses the API's names: ``title``, ``description``, ``benefits[2]``,
    ``wage.min``, ``wage.max``, ``age_min``, ``age_max``. ``excerpt`` is the offending text (normalised)
    or value; postings carry no personal data, so it is safe to return and log."""

    rule_id: str
    field: str
    message_zh: str
    message_en: str
    excerpt: str
    outcome: Severity = "reject"


@dataclass(frozen=True, slots=True)
class ComplianceVerdict:
    outcome: Outcome
    findings: tuple[Finding, ...]

    @property
    def rejected(self) -> bool:
        return self.outcome == "reject"

    @property
    def held(self) -> bool:
        return self.outcome == "hold"

    def problem_errors(self, *, include_holds: bool = False) -> list[dict[str, str]]:
        """The ``errors`` list for an RFC 9457 problem response: ``{field, message, rule_id}``."""
        return [
            {"field": f.field, "message": f"{f.message_zh} / {f.message_en}", "rule_id": f.rule_id}
            for f in self.findings
            if include_holds or f.outcome == "reject"
        ]


@dataclass(frozen=True, slots=True)
class TextRule:
    id: str
    group: str
    outcome: Severity
    message_zh: str
    message_en: str
    pattern: re.Pattern[str]
    negated_before: re.Pattern[str] | None  # must match at the very end of the text before the hit
    # The same for "someone else pays" ('公司报销', '包'): it excuses a fee even with its amount.
    paid_before: re.Pattern[str] | None
    negated_after: re.Pattern[str] | None  # must match at the very start of the text after the hit
    # Matches at the very start of the text after the hit when it names an amount ('押金300', '报名费：50元'): a
    # fee with its amount is asked for, and no negation excuses it, before it ('无（押金300）') or after it
    # ('押金：无300').
    amount_after: re.Pattern[str] | None = None
    # paid_before with only a tight list in its gap (fees joined by '、', '和'; no spaces, brackets or colons, and
    # a fee first): the one used when an amount follows, so another field's payer ('体检（公司报销）报名费50元',
    # '押金300元由公司承担、报名费50元') does not excuse a fee.
    paid_before_tight: re.Pattern[str] | None = None
    # Someone else pays, after the fee and optionally its amount ('押金300元由公司承担', '体检费用由公司承担').
    paid_after: re.Pattern[str] | None = None
    # Searched in the clause around the hit: a payer excuse is void when the clause makes it conditional or
    # partial ('押金300元由公司承担，干满半年', '体检费公司报销，未满三个月自理').
    payer_void: re.Pattern[str] | None = None
    # Ends right before a paid_before phrase that is denied ('公司不予报销', '公司不负责报销'): no payer then.
    payer_denied: re.Pattern[str] | None = None
    # Matches right after an 'after' denial when it runs straight into another term of the group that has no denial
    # or label of its own after it: the denial is that term's ('有押金无中介费': the 无 is the agency fee's).
    denial_taken: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class ProvinceWage:
    name_zh: str
    name_en: str
    published: str
    month: tuple[Decimal, ...]
    hour: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class WageRules:
    day_hours: int
    unchecked_units: frozenset[str]
    provinces: Mapping[str, ProvinceWage]


@dataclass(frozen=True, slots=True)
class AgeRules:
    legal_minimum: int
    adult: int
    text_patterns: tuple[re.Pattern[str], ...]
    text_not_about_worker_after: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class ComplianceRules:
    version: str
    window: int
    clause_boundaries: frozenset[str]
    # Matches right after a fee written as a field's label ('报名费：50元'): its value follows the colon, so no
    # denial or payer before it reaches it; they belong to the field before ('体检：公司报销 报名费：50元').
    label_after: re.Pattern[str]
    text_rules: tuple[TextRule, ...]
    wage: WageRules
    age: AgeRules


# --------------------------------------------------------------------------------------------- loading


def _get(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise RulesError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RulesError(f"{where}: {key!r} must be {kind.__name__}")
    return value


def _str_list(obj: Mapping[str, Any], key: str, where: str) -> list[str]:
    values = _get(obj, key, list, where)
    if not all(isinstance(v, str) for v in values):
        raise RulesError(f"{where}: {key!r} must be a list of strings")
    return cast(list[str], values)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RulesError(f"{where}: bad pattern {pattern!r}: {exc}") from None


def _alternation(patterns: Iterable[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def parse_rules(data: Mapping[str, Any]) -> ComplianceRules:
    """Build and validate the rules from their JSON form (all regexes compiled here, once)."""
    negation = _get(data, "negation", dict, "negation")
    window = _get(negation, "window", int, "negation")
    boundaries = frozenset(_get(negation, "clause_boundaries", str, "negation"))
    separators = _get(negation, "list_separators", str, "negation")
    _compile(separators, "negation.list_separators")
    tight_separators = _get(negation, "list_separators_tight", str, "negation")
    _compile(tight_separators, "negation.list_separators_tight")
    after_amount = _get(negation, "after_amount", str, "negation")
    _compile(after_amount, "negation.after_amount")
    label = _get(negation, "label_after", str, "negation")
    label_after = _compile(label, "negation.label_after")

    raw_rules = _get(data, "text_rules", list, "text_rules")
    seen: set[str] = set()
    group_terms: dict[str, list[str]] = {}
    for i, raw in enumerate(raw_rules):
        if not isinstance(raw, dict):
            raise RulesError(f"text_rules[{i}] must be an object")
        rule_id = _get(raw, "id", str, f"text_rules[{i}]")
        if rule_id in seen:
            raise RulesError(f"text_rules[{i}]: duplicate id {rule_id!r}")
        seen.add(rule_id)
        patterns = _str_list(raw, "patterns", rule_id)
        if not patterns:
            raise RulesError(f"{rule_id}: no patterns")
        for p in patterns:
            _compile(p, rule_id)
        group_terms.setdefault(_get(raw, "group", str, rule_id), []).extend(patterns)

    text_rules: list[TextRule] = []
    for raw in raw_rules:
        rule_id = raw["id"]
        group = raw["group"]
        outcome = _get(raw, "outcome", str, rule_id)
        if outcome not in ("hold", "reject"):
            raise RulesError(f"{rule_id}: outcome must be 'hold' or 'reject'")
        terms = _alternation(group_terms[group])
        gap = f"(?:{separators}|{terms})*"
        # A list after a payer starts with a fee ('公司报销体检费、培训费200元'): '由公司承担、报名费50元' is no list.
        tight_gap = f"(?:(?:{terms})(?:{tight_separators}|{terms})*)?"
        before = _str_list(raw, "negations_before", rule_id)
        after = _str_list(raw, "negations_after", rule_id)
        # A denial after a fee that runs straight into another fee is that fee's ('有押金无中介费': the 无 is the
        # agency fee's), unless that fee has a denial or a label of its own after it ('押金：无 中介费：无',
        # '服装费：无 体检费：公司报销', whose spaces normalisation removes).
        taken = f"(?>{terms})(?!{gap}(?:{_alternation(after)})|{label})" if after else None
        payer = _str_list(raw, "negations_before_payer", rule_id) if "negations_before_payer" in raw else []
        payer_after = _str_list(raw, "negations_after_payer", rule_id) if "negations_after_payer" in raw else []
        amount = _get(raw, "amount_after", str, rule_id) if "amount_after" in raw else None
        if payer_after and amount is None:
            raise RulesError(f"{rule_id}: 'negations_after_payer' needs 'amount_after'")
        void = _get(raw, "payer_void", str, rule_id) if "payer_void" in raw else None
        denied = _get(raw, "payer_denied_before", str, rule_id) if "payer_denied_before" in raw else None
        text_rules.append(
            TextRule(
                id=rule_id,
                group=group,
                outcome=cast(Severity, outcome),
                message_zh=_get(raw, "message_zh", str, rule_id),
                message_en=_get(raw, "message_en", str, rule_id),
                pattern=_compile(_alternation(raw["patterns"]), rule_id),
                negated_before=_compile(f"(?:{_alternation(before)}){gap}\\Z", rule_id) if before else None,
                paid_before=_compile(f"(?:{_alternation(payer)}){gap}\\Z", rule_id) if payer else None,
                negated_after=_compile(f"\\A{gap}(?:{_alternation(after)})", rule_id) if after else None,
                amount_after=_compile(amount, rule_id) if amount is not None else None,
                paid_before_tight=(_compile(f"(?:{_alternation(payer)}){tight_gap}\\Z", rule_id) if payer
                                   else None),
                paid_after=(_compile(f"\\A{gap}(?:(?:{amount})(?:{after_amount})*)?(?:{_alternation(payer_after)})",
                                     rule_id) if payer_after else None),
                payer_void=_compile(void, rule_id) if void is not None else None,
                payer_denied=_compile(f"(?:{denied})\\Z", rule_id) if denied is not None else None,
                denial_taken=_compile(taken, rule_id) if taken is not None else None,
            )
        )

    raw_wage = _get(data, "minimum_wage", dict, "minimum_wage")
    provinces: dict[str, ProvinceWage] = {}
    for code, prov in _get(raw_wage, "provinces", dict, "minimum_wage").items():
        where = f"minimum_wage.provinces.{code}"
        if not isinstance(prov, dict) or not (len(code) == 2 and code.isdigit()):
            raise RulesError(f"{where}: expected a 2-digit province code with an object")
        tiers: dict[str, tuple[Decimal, ...]] = {}
        for unit in ("month", "hour"):
            values = _get(prov, unit, list, where)
            if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                raise RulesError(f"{where}: {unit!r} must be a non-empty list of numbers")
            tiers[unit] = tuple(Decimal(str(v)) for v in values)
        provinces[code] = ProvinceWage(
            name_zh=_get(prov, "name_zh", str, where),
            name_en=_get(prov, "name_en", str, where),
            published=_get(prov, "published", str, where),
            month=tiers["month"],
            hour=tiers["hour"],
        )
    wage = WageRules(
        day_hours=_get(raw_wage, "day_hours", int, "minimum_wage"),
        unchecked_units=frozenset(_str_list(raw_wage, "unchecked_units", "minimum_wage")),
        provinces=provinces,
    )

    raw_age = _get(data, "age", dict, "age")
    not_worker = raw_age.get("text_not_about_worker_after")
    if not_worker is not None and not isinstance(not_worker, str):
        raise RulesError("age: 'text_not_about_worker_after' must be a string")
    age_patterns = tuple(_compile(p, "age.text_patterns") for p in _str_list(raw_age, "text_patterns", "age"))
    if any("low" not in p.groupindex for p in age_patterns):
        raise RulesError("age.text_patterns: every pattern needs a (?P<low>…) group")
    age = AgeRules(
        legal_minimum=_get(raw_age, "legal_minimum", int, "age"),
        adult=_get(raw_age, "adult", int, "age"),
        text_patterns=age_patterns,
        text_not_about_worker_after=_compile(f"\\A(?:{not_worker})", "age") if not_worker else None,
    )
    return ComplianceRules(
        version=_get(data, "version", str, "version"),
        window=window,
        clause_boundaries=boundaries,
        label_after=label_after,
        text_rules=tuple(text_rules),
        wage=wage,
        age=age,
    )


def load_rules(path: Path) -> ComplianceRules:
    """Read and validate a rules file (not cached; use :func:`default_rules` for the shipped one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RulesError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RulesError(f"{path}: the top level must be an object")
    return parse_rules(data)


@functools.cache
def default_rules() -> ComplianceRules:
    """The shipped rules, loaded and compiled once per process."""
    return load_rules(DEFAULT_RULES_PATH)


# --------------------------------------------------------------------------------------------- checking


def normalise_text(text: str) -> str:
    """NFKC (full-width → ASCII), lower case, zero-width characters removed, and horizontal whitespace
    between two CJK characters removed (so "押 金" is "押金"). Newlines are kept: they end clauses."""
    return _normalise(text)[0]


def _normalise(text: str) -> tuple[str, tuple[int, ...]]:
    """:func:`normalise_text`, and where in its result whitespace between two CJK characters was removed (the
    index of the character after it). Removing it defeats '押 金', but a space still ends a list: a payer
    before a fee with its amount reaches it only over a tight list ('体检公司报销 报名费50元' is no list)."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = _ZERO_WIDTH_RE.sub("", s)
    pieces: list[str] = []
    joins: list[int] = []
    last = removed = 0
    for m in _CJK_SPACE_RE.finditer(s):
        pieces.append(s[last : m.start()])
        removed += m.end() - m.start()
        joins.append(m.end() - removed)
        last = m.end()
    pieces.append(s[last:])
    return "".join(pieces), tuple(joins)


def _excerpt(text: str, start: int, end: int) -> str:
    lo = max(0, start - _EXCERPT_CONTEXT)
    hi = min(len(text), end + _EXCERPT_CONTEXT)
    body = text[lo:hi].replace("\n", " ")
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def _clause_before(text: str, start: int, rules: ComplianceRules) -> str:
    chunk = text[max(0, start - rules.window) : start]
    for i in range(len(chunk) - 1, -1, -1):
        if chunk[i] in rules.clause_boundaries:
            return chunk[i + 1 :]
    return chunk


def _clause_after(text: str, end: int, rules: ComplianceRules) -> str:
    chunk = text[end : end + rules.window]
    for i, ch in enumerate(chunk):
        if ch in rules.clause_boundaries:
            return chunk[:i]
    return chunk


def _joined(joins: Sequence[int], lo: int, hi: int) -> bool:
    """Whether normalisation removed a space between two CJK characters at an index from lo to hi."""
    i = bisect.bisect_left(joins, lo)
    return i < len(joins) and joins[i] <= hi


def _is_negated(
    rule: TextRule, text: str, joins: Sequence[int], start: int, end: int, rules: ComplianceRules
) -> bool:
    before = _clause_before(text, start, rules)
    after = _clause_after(text, end, rules)
    has_amount = rule.amount_after is not None and rule.amount_after.match(text, end) is not None
    # A fee written as a label ('报名费：50元') is judged by its value, not by the field before it (only fee rules,
    # the ones that read amounts, have label forms).
    labelled = rule.amount_after is not None and rules.label_after.match(text, end) is not None
    paid_before = rule.paid_before_tight if has_amount else rule.paid_before
    payer = paid_before.search(before) if paid_before is not None and not labelled else None
    if payer is not None and rule.payer_denied is not None and rule.payer_denied.search(before, 0, payer.start()):
        payer = None
    # The tight list takes no spaces: one removed between two CJK characters counts ('食宿全包 报名费50元').
    if payer is not None and has_amount and _joined(joins, start - len(before) + payer.end(), start):
        payer = None
    paid = payer is not None or (rule.paid_after is not None and rule.paid_after.match(after) is not None)
    if paid:
        void = rule.payer_void
        return void is None or (void.search(before) is None and void.search(after) is None)
    if has_amount:
        return False
    if rule.negated_before is not None and not labelled and rule.negated_before.search(before):
        return True
    if rule.negated_after is None:
        return False
    denial = rule.negated_after.match(after)
    if denial is None:
        return False
    # '押金：无300': an amount right after the denial is still asked for.
    if rule.amount_after is not None and rule.amount_after.match(text, end + denial.end()) is not None:
        return False
    # '有押金无中介费': the denial is the next fee's, unless a space (removed by normalisation) stood between them
    # ('押金/无 报名费/50').
    taken = rule.denial_taken is not None and rule.denial_taken.match(after, denial.end()) is not None
    return not taken or _joined(joins, end + denial.end(), end + denial.end())


def _check_text(field: str, raw: str, rules: ComplianceRules) -> list[Finding]:
    text, joins = _normalise(raw)
    findings: list[Finding] = []
    for rule in rules.text_rules:
        for m in rule.pattern.finditer(text):
            if m.end() == m.start() or _is_negated(rule, text, joins, m.start(), m.end(), rules):
                continue
            findings.append(
                Finding(
                    rule.id, field, rule.message_zh, rule.message_en, _excerpt(text, *m.span()), rule.outcome
                )
            )
            break  # one finding per rule and field is enough to explain it
    age = rules.age
    for pattern in age.text_patterns:
        for m in pattern.finditer(text):
            if int(m.group("low")) >= age.legal_minimum:
                continue
            after = age.text_not_about_worker_after
            if after is not None and after.match(_clause_after(text, m.end(), rules)):
                continue  # "照顾3-6岁儿童": an age of someone else, not of the worker
            findings.append(
                Finding(
                    "age.text_below_minimum",
                    field,
                    f"招聘信息提到未满{age.legal_minimum}周岁的年龄，可能涉及使用童工，需人工审核",
                    f"The text mentions an age under {age.legal_minimum} (possible child labour); "
                    "held for review",
                    _excerpt(text, *m.span()),
                    "hold",
                )
            )
            return findings
    return findings


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _check_wage(
    wage_min: WageValue | None,
    wage_max: WageValue | None,
    wage_unit: str | None,
    adcode: str | None,
    rules: ComplianceRules,
) -> list[Finding]:
    if wage_unit is None or (wage_min is None and wage_max is None):
        return []
    if wage_unit in rules.wage.unchecked_units:
        # Piece rates ("piece"): not comparable with a time-based minimum without the expected output.
        return []
    if wage_unit not in _TIME_UNITS:
        raise ValueError(f"unknown wage unit {wage_unit!r}; expected hour, day, month or piece")
    province = rules.wage.provinces.get((adcode or "")[:2])
    if province is None:
        return []  # outside Chongqing and Sichuan: no minimum-wage data, not checked
    # Deliberately conservative: the LOWEST tier of the province is the floor, because we do not yet
    # know which tier each county belongs to; this never rejects a wage that is legal somewhere in the
    # province, at the cost of letting through some that are below their own county's tier.
    # TODO: load per-county tiers (the provinces publish county lists) and use the county's own tier.
    hourly = min(province.hour)
    derived = ""
    if wage_unit == "month":
        floor = min(province.month)
    elif wage_unit == "hour":
        floor = hourly
    else:  # day: no published daily minimum; hourly minimum × a standard 8-hour day (劳动法 art. 36)
        floor = hourly * rules.wage.day_hours
        derived = "day"
    field, value = ("wage.min", wage_min) if wage_min is not None else ("wage.max", wage_max)
    assert value is not None
    if isinstance(value, bool):
        raise TypeError("a wage is a number, not a bool")
    amount = Decimal(str(value))
    if amount >= floor:
        return []
    unit_zh = {"month": "月", "hour": "小时", "day": "天"}[wage_unit]
    note_zh = f"（按小时最低工资{_fmt(hourly)}元×{rules.wage.day_hours}小时折算）" if derived else ""
    note_en = f" (derived: hourly minimum {_fmt(hourly)} × {rules.wage.day_hours} hours)" if derived else ""
    return [
        Finding(
            "wage.below_minimum",
            field,
            f"工资低于{province.name_zh}最低工资标准：每{unit_zh}不得低于{_fmt(floor)}元{note_zh}",
            f"Wage below the {province.name_en} minimum wage: at least {_fmt(floor)} CNY per "
            f"{wage_unit}{note_en}",
            f"{_fmt(amount)}/{wage_unit}",
            "reject",
        )
    ]


def _check_age(age_min: int | None, age_max: int | None, rules: ComplianceRules) -> list[Finding]:
    """Structured age limits. Under 16 anywhere is child labour (reject); a range that only admits
    minors (16–17) is held, since minors may not do heavy, hazardous or night work and a person must
    look at the job. Upper limits such as "35岁以下" are not held: no PRC statute forbids them for
    private employers today (see the rules file's notes)."""
    legal, adult = rules.age.legal_minimum, rules.age.adult
    findings: list[Finding] = []
    zh = f"招用未满{legal}周岁的未成年人属于使用童工，违反《劳动法》第十五条"
    en = f"Employing anyone under {legal} is child labour (Labour Law art. 15)"
    if age_min is not None and age_min < legal:
        findings.append(Finding("age.child_labour", "age_min", zh, en, str(age_min), "reject"))
    if age_max is not None and age_max < legal:
        findings.append(Finding("age.child_labour", "age_max", zh, en, str(age_max), "reject"))
    elif age_max is not None and age_max < adult:
        findings.append(
            Finding(
                "age.minors_only",
                "age_max",
                f"岗位只招未满{adult}周岁的未成年工，需人工审核是否属于禁忌作业",
                f"The posting only admits minors under {adult}; "
                "held to review that the work is allowed for minors",
                str(age_max),
                "hold",
            )
        )
    return findings


def check_posting(
    title: str,
    description: str,
    benefits: Sequence[str] = (),
    wage_min: WageValue | None = None,
    wage_max: WageValue | None = None,
    wage_unit: str | None = None,
    adcode: str | None = None,
    age_min: int | None = None,
    age_max: int | None = None,
    rules: ComplianceRules | None = None,
) -> ComplianceVerdict:
    """Check a job posting. ``reject`` if any finding rejects, else ``hold`` if any holds, else ``ok``.

    ``wage_unit`` is ``hour``, ``day``, ``month`` or ``piece`` (``ValueError`` otherwise); ``adcode``
    is the job's county (its first two digits pick the province: 50 Chongqing, 51 Sichuan; other
    provinces are not wage-checked). ``rules`` defaults to the shipped rules.
    """
    r = rules if rules is not None else default_rules()
    findings: list[Finding] = []
    findings += _check_text("title", title, r)
    findings += _check_text("description", description, r)
    for i, benefit in enumerate(benefits):
        findings += _check_text(f"benefits[{i}]", benefit, r)
    findings += _check_wage(wage_min, wage_max, wage_unit, adcode, r)
    findings += _check_age(age_min, age_max, r)
    outcome: Outcome = "ok"
    if any(f.outcome == "reject" for f in findings):
        outcome = "reject"
    elif findings:
        outcome = "hold"
    return ComplianceVerdict(outcome, tuple(findings))
