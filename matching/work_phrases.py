"""Everyday phrases for a task (带小孩, 扛包, 送快递, 厂里上班) → the trade they ask for, for kiosk query understanding.

People at a gig-market kiosk often say what they would do, not what the trade is called: 带小孩 rather than 家政服务员,
扛包 rather than 装卸搬运工. The catalogue's aliases are the authorities' names for a trade; these phrases are a
reading aid of the kiosk, curated in `reference/work_phrases.csv` (verbs × objects per trade), so they live beside
the locality table, not in the shared catalogue.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

from matching.regions import REFERENCE_DIR

WORK_PHRASES_CSV = REFERENCE_DIR / "work_phrases.csv"
_CODE = re.compile(r"\d-\d{2}-\d{2}-\d{2}")


def _words(cell: str) -> list[str]:
    return [word.strip() for word in cell.split(";") if word.strip()]


@functools.cache
def load_work_phrases(path: Path = WORK_PHRASES_CSV) -> dict[str, str]:
    """Every phrase of the table → its occupation code. A malformed code, an empty row or one phrase given two
    different trades is refused (ValueError): the table is shipped data, a mistake in it is a build error."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    phrases: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        code = row["occupation_code"].strip()
        verbs, objects = _words(row["verbs"]), _words(row["objects"])
        if not _CODE.fullmatch(code) or not objects:
            raise ValueError(f"work phrases: bad row {number}: {row!r}")
        for phrase in (verb + obj for verb in verbs or [""] for obj in objects):
            if phrases.setdefault(phrase, code) != code:
                raise ValueError(f"work phrases: {phrase!r} names two trades ({phrases[phrase]}, {code})")
    return phrases

