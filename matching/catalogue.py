"""The shared Chengdu–Chongqing shortage-talent catalogue (成渝急需紧缺人才目录) as a pure value.

A version is immutable: a tuple of entries plus derived lookups. This module validates a version, diffs two of
them, reads and writes the spreadsheet format authorities use, and derives the Meilisearch `synonyms` and
`dictionary` settings from it. Persistence, drafts and approvals belong to the service layer.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from matching.index_dictionary import dictionary_for
from matching.job_terms import all_job_terms
from matching.occupations import OCCUPATION_CODE, OccupationClassification
from matching.regions import RegionDirectory
from matching.spreadsheet_cells import neutralise_formula, restore_formula
from matching.visible_text import is_blank

Side = Literal["CQ", "SC"]
WageUnit = Literal["hour", "day", "month", "piece"]
WAGE_UNITS: frozenset[str] = frozenset({"hour", "day", "month", "piece"})

REFERENCE_DIR = Path(__file__).parent / "reference"
INITIAL_CATALOGUE_CSV = REFERENCE_DIR / "catalogue-initial.csv"

CSV_COLUMNS: tuple[str, ...] = (
    "occupation_code",
    "name",
    "aliases",
    "industry",
    "shortage_level",
    "regions",
    "wage_min",
    "wage_max",
    "wage_unit",
    "skills",
    "certificates",
    "side",
    "notes",
    "source",
)
# Optional column: present only when some entry of the version is retired.
REPLACED_BY_COLUMN = "replaced_by"
LIST_SEPARATORS = (";", "；", "、")
MAX_ROWS = 20_000


# An alias, skill or certificate is a word or a certificate's title (the longest shipped: 27 characters); a
# paragraph there is a pasting mistake that would be published to every kiosk's typeahead and the index.
MAX_WORD_CHARS = 100

# The bound a posting's wage has (services/api/jobs/schemas.py, CNY per unit): a band is a reference for those
# wages, and 1e12 there is a typing mistake that would be published to every reader of the catalogue.
MAX_WAGE = 1_000_000

# How a trade word ends when it names the person who does the work (车床工, 叉车司机, 炒菜师傅, 电子厂普工). What
# stands before the ending (车床, 叉车, 炒菜, 电子厂) is the work itself, which postings and brokers put before a
# generic role word instead (车床操作工, 叉车师傅, 数控车床 操作工): `code_for_work`. Longest first.
ROLE_ENDINGS: tuple[str, ...] = ("操作工", "操作员", "操作手", "普工", "工人", "师傅", "司机", "技工", "技师", "学徒",
                                 "工", "员", "师", "手", "的")
# Those endings as words of their own, which say a role without its work (操作工, 师傅 …): before one, the words just
# before it say the work (`work_before_role`).
ROLE_WORDS: frozenset[str] = frozenset(ROLE_ENDINGS) - {"的"}
# How many words before a role word can spell its work (激光 切割 操作工, 挖 机 师傅).
MAX_WORK_WORDS = 3

@dataclass(frozen=True, slots=True)
class WageBand:
    min: float
    max: float
    unit: WageUnit


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    occupation_code: str
    name: str
    aliases: tuple[str, ...] = ()
    industry: str = ""
    shortage_level: int = 2  # 1 = severe, 2 = moderate, 3 = mild
    regions: tuple[str, ...] = ()  # adcodes; empty = the whole circle
    wage_band: WageBand | None = None
    skills: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    side: Side = "CQ"
    notes: str = ""
    source: str = ""
    # A retired code links to the code that replaced it; retired entries stay in every later version.
    replaced_by: str | None = None

    @property
    def retired(self) -> bool:
        return self.replaced_by is not None

    @property
    def words(self) -> tuple[str, ...]:
        """The name first, then the aliases."""
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class CatalogueProblem:
    occupation_code: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class FieldChange:
    occupation_code: str
    field: str
    before: object
    after: object


@dataclass(frozen=True, slots=True)
class CatalogueDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[FieldChange, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row number: the header is row 1
    field: str
    message: str


class CatalogueImportError(ValueError):
    """A spreadsheet that cannot become a catalogue; carries every row error found (nothing is half-built)."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors: tuple[RowError, ...] = tuple(errors)
        first = "; ".join(f"row {e.row} {e.field}: {e.message}" for e in self.errors[:5])
        super().__init__(f"{len(self.errors)} problem(s): {first}")


class Catalogue:
    """One version of the catalogue. Construct with entries; lookups are precomputed."""

    def __init__(self, version: int, entries: Iterable[CatalogueEntry]) -> None:
        self.version = version
        self.entries: tuple[CatalogueEntry, ...] = tuple(entries)
        self._by_code: dict[str, CatalogueEntry] = {}
        for entry in self.entries:
            self._by_code.setdefault(entry.occupation_code, entry)
        words: dict[str, str] = {}
        # Names win over aliases, active entries over retired ones; the first writer keeps a contested word
        # (validate() reports the conflict).
        for entry in self.active_entries():
            words.setdefault(entry.name, entry.occupation_code)
        for entry in self.active_entries():
            for alias in entry.aliases:
                words.setdefault(alias, entry.occupation_code)
        for entry in self.entries:
            if entry.retired:
                target = self.resolve(entry.occupation_code)
                for word in entry.words:
                    words.setdefault(word, target)
        self._code_by_word = words

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Catalogue) and (self.version, self.entries) == (other.version, other.entries)

    def __hash__(self) -> int:
        return hash((self.version, self.entries))

    def active_entries(self) -> tuple[CatalogueEntry, ...]:
        return tuple(e for e in self.entries if not e.retired)

    def by_code(self, code: str) -> CatalogueEntry | None:
        return self._by_code.get(code)

    def resolve(self, code: str) -> str:
        """Follow `replaced_by` links to the current code (stops on cycles or dangling links)."""
        seen = {code}
        entry = self._by_code.get(code)
        while entry is not None and entry.replaced_by is not None and entry.replaced_by not in seen:
            code = entry.replaced_by
            seen.add(code)
            entry = self._by_code.get(code)
        return code

    def code_for_word(self, word: str) -> str | None:
        """The (current) occupation code whose name or alias is exactly `word`."""
        return self._code_by_word.get(word)

    def code_for_work(self, text: str, *, min_length: int = 2) -> str | None:
        """The code of the one trade whose work `text` names: the longest beginning of `text` (`min_length`
        characters or more, never fewer than two) that is what some trade word says before its role ending
        (`ROLE_ENDINGS`), when that work belongs to one trade only. 车床 and 数控车床 → 车工 (车床工, 数控车工);
        数控 → None (no trade word is 数控 and an ending); 烘焙 → None (烘焙师 and 烘焙工 are two trades)."""
        for end in range(len(text), max(min_length, 2) - 1, -1):
            code = self._code_by_work.get(text[:end])
            if code is not None:
                return code
        return None

    def work_before_role(self, words: Sequence[str]) -> tuple[str, int] | None:
        """For words that stand just before a role word: the trade whose work the last one to MAX_WORK_WORDS of
        them spell (most words first), and how many words that took. The work must reach into the last word,
        the one beside the role word: in 车床 等 设备 普工, 车床 is not what 普工 does."""
        for count in range(min(MAX_WORK_WORDS, len(words)), 0, -1):
            text = "".join(words[-count:])
            code = self.code_for_work(text, min_length=len(text) - len(words[-1]) + 1)
            if code is not None:
                return code, count
        return None

    @functools.cached_property
    def _code_by_work(self) -> dict[str, str]:
        codes: dict[str, set[str]] = {}
        for word, code in self._code_by_word.items():
            ending = next((e for e in ROLE_ENDINGS if word.endswith(e) and len(word) - len(e) >= 2), None)
            work = word[: -len(ending)] if ending is not None else ""
            # A role word is no work (操作 of 操作工 would read 操作工 itself as a work).
            if work and not any(role.startswith(work) for role in ROLE_ENDINGS):
                codes.setdefault(work, set()).add(code)
        # Work that several trades share (烘焙 of 烘焙师 and 烘焙工) says no trade.
        return {work: next(iter(found)) for work, found in codes.items() if len(found) == 1}

    def alias_map(self) -> dict[str, str]:
        """Every name and alias → its current occupation code."""
        return dict(self._code_by_word)

    # ----- validation -----

    def validate(
        self, occupations: OccupationClassification, regions: RegionDirectory | None = None
    ) -> list[CatalogueProblem]:
        problems: list[CatalogueProblem] = []

        def report(code: str, field: str, message: str) -> None:
            problems.append(CatalogueProblem(code, field, message))

        seen_codes: set[str] = set()
        name_owner: dict[str, str] = {}
        for entry in self.entries:
            code = entry.occupation_code
            if code in seen_codes:
                report(code, "occupation_code", "duplicate occupation code")
            seen_codes.add(code)
            if not OCCUPATION_CODE.match(code) or not occupations.exists(code):
                report(code, "occupation_code", "not a code of the 2022 occupation classification")
            if is_blank(entry.name):
                report(code, "name", "empty name")
            elif entry.name in name_owner and name_owner[entry.name] != code:
                report(code, "name", f"name {entry.name!r} already used by {name_owner[entry.name]}")
            else:
                name_owner[entry.name] = code
            for field_name, words in (("aliases", entry.aliases), ("skills", entry.skills),
                                      ("certificates", entry.certificates)):
                if any(len(word) > MAX_WORD_CHARS for word in words):
                    report(code, field_name, f"{field_name} items are at most {MAX_WORD_CHARS} characters")
            if entry.shortage_level not in (1, 2, 3):
                report(code, "shortage_level", f"shortage level {entry.shortage_level} is not 1, 2 or 3")
            if entry.side not in ("CQ", "SC"):
                report(code, "side", f"side {entry.side!r} is not CQ or SC")
            band = entry.wage_band
            # Each bound named (a client reads which to correct), not the band as a whole.
            if band is not None and band.min < 0:
                report(code, "wage_band.min", "wage band needs 0 <= min <= max")
            if band is not None and band.max < band.min:
                report(code, "wage_band.min", "wage band min exceeds max")
                report(code, "wage_band.max", "wage band min exceeds max")
            if band is not None and band.max > MAX_WAGE:
                report(code, "wage_band.max", f"wage band max exceeds {MAX_WAGE:,}")
            if band is not None and band.unit not in WAGE_UNITS:
                report(code, "wage_band.unit", "wage band needs a known unit")
            if regions is not None:
                for adcode in entry.regions:
                    if adcode not in regions:
                        report(code, "regions", f"unknown adcode {adcode}")
            if entry.replaced_by is not None:
                final = self._by_code.get(self.resolve(code))
                if entry.replaced_by == code or entry.replaced_by not in self._by_code:
                    report(code, "replaced_by", f"replaced_by {entry.replaced_by} is not in this version")
                elif final is None or final.retired:
                    report(code, "replaced_by", "replaced_by chain ends in a cycle or a retired entry")

        alias_owner: dict[str, str] = {}
        for entry in self.active_entries():
            for alias in entry.aliases:
                # An invisible alias would be published as a word nobody can see or type, yet offered by the
                # typeahead for a query of that same invisible character.
                if is_blank(alias):
                    report(entry.occupation_code, "aliases", "empty alias")
                    continue
                if alias == entry.name:
                    report(entry.occupation_code, "aliases", f"alias {alias!r} repeats the name")
                owner = name_owner.get(alias)
                if owner is not None and owner != entry.occupation_code:
                    report(entry.occupation_code, "aliases", f"alias {alias!r} is the name of {owner}")
                # Codes are looked up like words (typeahead, the index's synonyms): another trade's code as an
                # alias would offer this trade to whoever types that code.
                coded = self._by_code.get(alias)
                if coded is not None and alias != entry.occupation_code:
                    report(entry.occupation_code, "aliases",
                           f"别名 {alias} 是另一条目（{coded.name}）的职业代码 / "
                           f"alias {alias!r} is the occupation code of another entry ({coded.name})")
                previous = alias_owner.get(alias)
                if previous is not None and previous != entry.occupation_code:
                    report(entry.occupation_code, "aliases", f"alias {alias!r} also belongs to {previous}")
                elif previous == entry.occupation_code:
                    report(entry.occupation_code, "aliases", f"alias {alias!r} listed twice")
                alias_owner[alias] = entry.occupation_code
        return problems

    # ----- diff -----

    def diff(self, newer: Catalogue) -> CatalogueDiff:
        """What changed from this version to `newer`: codes added, removed and field-level changes."""
        mine, theirs = self._by_code, newer._by_code
        added = tuple(sorted(set(theirs) - set(mine)))
        removed = tuple(sorted(set(mine) - set(theirs)))
        changed: list[FieldChange] = []
        for code in sorted(set(mine) & set(theirs)):
            before, after = mine[code], theirs[code]
            for f in fields(CatalogueEntry):
                old, new = getattr(before, f.name), getattr(after, f.name)
                if old != new:
                    changed.append(FieldChange(code, f.name, old, new))
        return CatalogueDiff(added, removed, tuple(changed))

    # ----- Meilisearch settings -----

    def meilisearch_synonyms(self) -> dict[str, list[str]]:
        """`synonyms` for Meilisearch: each trade's name and aliases form one closed group.

        Meilisearch synonyms are directional (word → words) and not transitive, so every word of a group
        lists every other word of the same group: 焊工 finds 电焊工 postings and 电焊工 finds 焊工 ones.
        Groups never mix: an alias belongs to exactly one trade (validate() rejects shared aliases), a
        contested word is left out of every group, and single characters are left out (焊 → a whole
        trade would over-expand).
        A retired entry's words join its replacement's group.
        """
        owners: dict[str, set[str]] = {}
        for entry in self.entries:
            target = self.resolve(entry.occupation_code)
            for word in entry.words:
                owners.setdefault(word, set()).add(target)
        groups: dict[str, list[str]] = {}
        for entry in sorted(self.entries, key=lambda e: e.retired):
            target = self.resolve(entry.occupation_code)
            group = groups.setdefault(target, [])
            for word in entry.words:
                if len(word) >= 2 and owners[word] == {target} and word not in group:
                    group.append(word)
        synonyms: dict[str, list[str]] = {}
        for group in groups.values():
            if len(group) < 2:
                continue
            for word in group:
                synonyms[word] = [other for other in group if other != word]
        return synonyms

    def meilisearch_dictionary(self, regions: RegionDirectory | None = None) -> list[str]:
        """`dictionary` for Meilisearch: the words its segmenter must be told to keep whole.

        Only those of `kept_whole_words` that Meilisearch's own segmentation would cut so that searching the
        word misses postings containing it (急招安保员 → 急/招安/保员), as decided by matching.index_dictionary.
        Every entry costs every search (Meilisearch 1.21 rebuilds its tokenizer from the dictionary per
        search: 2,007 words ≈ 17 ms, a few dozen ≈ 2 ms), so the other words stay out.
        """
        return list(dictionary_for(frozenset(self.kept_whole_words(regions))))

    def kept_whole_words(self, regions: RegionDirectory | None = None) -> list[str]:
        """Trade names and aliases (电焊工), county names and short names (九龙坡区, 九龙坡) and the fixed
        pay/benefit words (日结, 普工): the words query understanding must see whole. Only multi-character
        words: a one-character entry would glue nothing."""
        words: set[str] = set(all_job_terms())
        for entry in self.entries:
            words.update(entry.words)
        if regions is not None:
            for region in regions:
                if region.level != "province":
                    words.update((region.name, region.short_name))
        return sorted(w for w in words if len(w) >= 2)

    def analyzer_words(self, regions: RegionDirectory | None = None) -> tuple[str, ...]:
        """User words for jieba: the dictionary words plus skills and certificates.

        Only the official certificate names, not their common names (matching/certificates.py): a user word
        is cut whole, and 焊工证 or 叉车证 as one word would hide the trade (焊工, 叉车) that a kiosk query or a
        posting's description names in it (checked: the kiosk query 焊工证 then finds no trade)."""
        words = set(self.kept_whole_words(regions))
        for entry in self.entries:
            words.update(entry.skills)
            words.update(entry.certificates)
        return tuple(sorted(w for w in words if len(w) >= 2))


# ----- spreadsheet format -----


def split_list(value: str) -> tuple[str, ...]:
    """`a; b、c` → ("a", "b", "c"); empty parts dropped, order kept, duplicates removed."""
    text = value
    for separator in LIST_SEPARATORS[1:]:
        text = text.replace(separator, LIST_SEPARATORS[0])
    parts = [p.strip() for p in text.split(LIST_SEPARATORS[0])]
    return tuple(dict.fromkeys(p for p in parts if p))


def _number(value: str) -> float | None:
    text = value.strip().replace(",", "")
    if not text:
        return None
    number = float(text)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return number


def _entry_from_row(row: Mapping[str, str], line: int, errors: list[RowError]) -> CatalogueEntry | None:
    before = len(errors)

    def error(field: str, message: str) -> None:
        errors.append(RowError(line, field, message))

    code = row.get("occupation_code", "").strip()
    if not OCCUPATION_CODE.match(code):
        error("occupation_code", f"{code!r} is not a code like 6-18-02-04")
    name = row.get("name", "").strip()
    if not name:
        error("name", "empty name")
    level_text = row.get("shortage_level", "").strip()
    level = int(level_text) if level_text in ("1", "2", "3") else 0
    if level == 0:
        error("shortage_level", f"{level_text!r} is not 1, 2 or 3")
    side = row.get("side", "").strip().upper()
    if side not in ("CQ", "SC"):
        error("side", f"{side!r} is not CQ or SC")
    band: WageBand | None = None
    try:
        wage_min, wage_max = _number(row.get("wage_min", "")), _number(row.get("wage_max", ""))
        unit = row.get("wage_unit", "").strip()
        if wage_min is None and wage_max is None and not unit:
            band = None
        elif wage_min is None or wage_max is None or unit not in WAGE_UNITS:
            error("wage_min", "a wage band needs wage_min, wage_max and wage_unit (hour, day, month, piece)")
        elif wage_min < 0 or wage_max < wage_min:
            error("wage_max", "wage band needs 0 <= wage_min <= wage_max")
        elif wage_max > MAX_WAGE:
            error("wage_max", f"wage_max exceeds {MAX_WAGE:,}")
        else:
            band = WageBand(wage_min, wage_max, unit)  # type: ignore[arg-type]  # unit checked above
    except ValueError:
        error("wage_min", "wage_min and wage_max must be numbers")
    regions = split_list(row.get("regions", ""))
    for adcode in regions:
        if len(adcode) != 6 or not adcode.isdigit():
            error("regions", f"{adcode!r} is not a 6-digit adcode")
    replaced_by = row.get(REPLACED_BY_COLUMN, "").strip() or None
    if replaced_by is not None and not OCCUPATION_CODE.match(replaced_by):
        error(REPLACED_BY_COLUMN, f"{replaced_by!r} is not an occupation code")
    if len(errors) > before:
        return None
    return CatalogueEntry(
        occupation_code=code,
        name=name,
        aliases=split_list(row.get("aliases", "")),
        industry=row.get("industry", "").strip(),
        shortage_level=level,
        regions=regions,
        wage_band=band,
        skills=split_list(row.get("skills", "")),
        certificates=split_list(row.get("certificates", "")),
        side=side,  # type: ignore[arg-type]  # checked above
        notes=row.get("notes", "").strip(),
        source=row.get("source", "").strip(),
        replaced_by=replaced_by,
    )


def parse_catalogue_rows(header: Sequence[str], rows: Iterable[Sequence[str]], version: int) -> Catalogue:
    """Rows of a spreadsheet (header first) → a Catalogue, or CatalogueImportError listing every problem."""
    columns = [c.strip().lstrip("\ufeff") for c in header]
    missing = [c for c in CSV_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS and c != REPLACED_BY_COLUMN]
    if missing or unknown:
        raise CatalogueImportError(
            [
                RowError(
                    1,
                    "header",
                    f"missing columns {missing}, unknown columns {unknown}; "
                    f"expected {','.join(CSV_COLUMNS)}[,{REPLACED_BY_COLUMN}]",
                )
            ]
        )
    errors: list[RowError] = []
    entries: list[CatalogueEntry] = []
    seen: dict[str, int] = {}
    for line, values in enumerate(rows, start=2):
        if line - 1 > MAX_ROWS:
            raise CatalogueImportError([RowError(line, "", f"more than {MAX_ROWS} rows")])
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(columns):
            errors.append(RowError(line, "", f"{len(values)} cells for {len(columns)} columns"))
            continue
        cells = [restore_formula(v) for v in values]
        row = dict(zip(columns, [*cells, *[""] * (len(columns) - len(cells))], strict=True))
        entry = _entry_from_row(row, line, errors)
        if entry is None:
            continue
        if entry.occupation_code in seen:
            errors.append(
                RowError(
                    line,
                    "occupation_code",
                    f"{entry.occupation_code} already on row {seen[entry.occupation_code]}",
                )
            )
            continue
        seen[entry.occupation_code] = line
        entries.append(entry)
    if errors:
        raise CatalogueImportError(errors)
    return Catalogue(version, entries)


def decode_spreadsheet_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030/GBK, as Excel on Chinese Windows saves CSV; else ValueError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ValueError("the file is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8") from exc


def parse_catalogue_csv(text: str, version: int) -> Catalogue:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise CatalogueImportError([RowError(1, "header", "empty file")])
    return parse_catalogue_rows(header, reader, version)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def catalogue_rows(catalogue: Catalogue) -> list[list[str]]:
    """Header + one row per entry, the inverse of parse_catalogue_rows (lists joined with `;`)."""
    with_replaced = any(e.replaced_by for e in catalogue.entries)
    header = [*CSV_COLUMNS, *([REPLACED_BY_COLUMN] if with_replaced else [])]
    rows = [header]
    for e in catalogue.entries:
        band = e.wage_band
        row = [
            e.occupation_code,
            e.name,
            ";".join(e.aliases),
            e.industry,
            str(e.shortage_level),
            ";".join(e.regions),
            _format_number(band.min) if band else "",
            _format_number(band.max) if band else "",
            band.unit if band else "",
            ";".join(e.skills),
            ";".join(e.certificates),
            e.side,
            e.notes,
            e.source,
        ]
        if with_replaced:
            row.append(e.replaced_by or "")
        rows.append(row)
    return rows


def catalogue_to_csv(catalogue: Catalogue) -> str:
    """The CSV people download, edit in a spreadsheet and import again: cells that a spreadsheet would run as
    formulas are neutralised (and restored by parse_catalogue_rows)."""
    buffer = io.StringIO()
    rows = catalogue_rows(catalogue)
    csv.writer(buffer, lineterminator="\n").writerows(
        [rows[0], *([neutralise_formula(cell) for cell in row] for row in rows[1:])])
    return buffer.getvalue()


@functools.cache
def load_initial_catalogue(path: Path = INITIAL_CATALOGUE_CSV) -> Catalogue:
    """Version 1, the shipped initial catalogue."""
    return parse_catalogue_csv(path.read_text(encoding="utf-8-sig"), version=1)
