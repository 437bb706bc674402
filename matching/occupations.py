"""The 2022 occupation classification (职业分类大典 2022): codes, names and their small groups."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

REFERENCE_DIR = Path(__file__).parent / "reference"
OCCUPATIONS_JSON = REFERENCE_DIR / "occupations-2022.json"

OCCUPATION_CODE = re.compile(r"^[1-8]-\d{2}-\d{2}-\d{2}$")


def small_group_code(code: str) -> str:
    """`6-18-02-04` → `6-18-02` (the 小类 an occupation belongs to)."""
    return code.rsplit("-", 1)[0]


def middle_group_code(code: str) -> str:
    """`6-18-02-04` → `6-18` (the 中类)."""
    return "-".join(code.split("-")[:2])


@dataclass(frozen=True, slots=True)
class Occupation:
    code: str
    name: str
    small_group_code: str
    is_digital: bool
    is_green: bool


class OccupationClassification:
    def __init__(self, occupations: list[Occupation], small_groups: dict[str, str]) -> None:
        self._by_code: dict[str, Occupation] = {o.code: o for o in occupations}
        self._small_groups: dict[str, str] = dict(small_groups)

    def __len__(self) -> int:
        return len(self._by_code)

    def exists(self, code: str) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Occupation | None:
        return self._by_code.get(code)

    def name_of(self, code: str) -> str | None:
        occupation = self._by_code.get(code)
        return occupation.name if occupation is not None else None

    def small_group_name(self, group_code: str) -> str | None:
        return self._small_groups.get(group_code)

    def codes_in_small_group(self, group_code: str) -> tuple[str, ...]:
        return tuple(sorted(c for c, o in self._by_code.items() if o.small_group_code == group_code))


def parse_occupations(data: dict[str, object]) -> OccupationClassification:
    smalls_raw = data.get("smalls", [])
    occupations_raw = data.get("occupations", [])
    if not isinstance(smalls_raw, list) or not isinstance(occupations_raw, list):
        raise ValueError("occupation reference: 'smalls' and 'occupations' must be lists")
    small_groups = {str(s["code"]): str(s["name"]) for s in smalls_raw}
    occupations = []
    for item in occupations_raw:
        code = str(item["code"])
        if not OCCUPATION_CODE.match(code):
            raise ValueError(f"occupation reference: bad code {code!r}")
        occupations.append(
            Occupation(
                code=code,
                name=str(item["name"]),
                small_group_code=small_group_code(code),
                is_digital=bool(item.get("is_digital", False)),
                is_green=bool(item.get("is_green", False)),
            )
        )
    return OccupationClassification(occupations, small_groups)


@functools.cache
def load_occupations(path: Path = OCCUPATIONS_JSON) -> OccupationClassification:
    """The classification from the shipped reference JSON, read once per process."""
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError("occupation reference: top level must be an object")
    return parse_occupations(data)
