"""Occupation codes from free text (a posting's title/description, a worker's typed trade words).

Works on the current catalogue's names and aliases, segmented by jieba with the catalogue's dictionary (an
Analyzer built for that catalogue version), so 烧电焊的 / 电焊工 / 焊工 all land on 6-18-02-04, and a generic role
word takes its trade from the work named before it (数控车床操作工 → 车工, 叉车师傅 → 叉车司机's trade). No I/O.
Shared by job postings and worker profiles (and the bulk importer, through their services).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from matching.catalogue import ROLE_WORDS, Catalogue
from matching.occupations import OCCUPATION_CODE, OccupationClassification
from matching.segmentation import Analyzer

# A trade named in the title says more than one mentioned somewhere in a long description.
_TITLE_WEIGHT = 3
_DESCRIPTION_WEIGHT = 1
# Descriptions can be long; the trade is named near the start if at all.
_DESCRIPTION_CHARS = 2000
# Anything shaped like a code (digits and hyphens) is meant as one: an unknown code is an error, not a trade word.
_CODE_LIKE = re.compile(r"^\d{1,2}(-\d{1,3}){1,3}$")


@dataclass(frozen=True, slots=True)
class ResolvedOccupation:
    """One item of a worker's `occupations[]`: what was typed, the code it stands for, and how it was found."""

    input: str
    code: str | None  # None: nothing in the catalogue fits (kept as a free-text term for matching)
    inferred: bool


def _codes_in(text: str, catalogue: Catalogue, analyzer: Analyzer) -> list[tuple[str, bool]]:
    """The trades `text` names in order, each with whether only a role word named it (操作工 alone: generic)."""
    codes: list[tuple[str, bool]] = []
    before: list[str] = []  # the words since the last one that named a trade
    for word in analyzer.cut(text):
        code = catalogue.code_for_word(word)
        generic = word in ROLE_WORDS
        if generic and (work := catalogue.work_before_role(before)) is not None:
            # 数控车床操作工 is a lathe operator (车工), not the catch-all trade 操作工 alone stands for (6-25-03-00).
            code, generic = work[0], False
        if code is not None:
            codes.append((code, generic))
            before.clear()
        else:
            before.append(word)
    return codes


def _work_named_in(words: list[str], catalogue: Catalogue) -> str | None:
    """The trade of the first work among `words` that names one (`Catalogue.work_before_role`)."""
    for end in range(1, len(words) + 1):
        work = catalogue.work_before_role(words[:end])
        if work is not None:
            return work[0]
    return None


def infer_from_posting(title: str, description: str, catalogue: Catalogue, analyzer: Analyzer) -> str | None:
    """The most likely occupation of a posting, or None when no catalogue word occurs in it.

    Votes: each catalogue name/alias the segmenter finds counts, title words three times. Ties go to the
    trade named first in the title (then in the description).
    """
    votes: Counter[str] = Counter()
    order: list[str] = []
    specific = False
    for text, weight in ((title, _TITLE_WEIGHT), (description[:_DESCRIPTION_CHARS], _DESCRIPTION_WEIGHT)):
        for code, generic in _codes_in(text, catalogue, analyzer):
            votes[code] += weight
            specific = specific or not generic
            if code not in order:
                order.append(code)
    if not specific:
        # No trade word, or only a role word (操作工（数控车床）): the work a title names may still say the trade
        # (招数控车床 → 车工). The title only: a description names machines and tasks that are not the trade asked for.
        work = _work_named_in(analyzer.cut(title), catalogue)
        if work is not None or not votes:
            return work
    best = max(votes.values())
    return next(code for code in order if votes[code] == best)


def inferred_again(title: str, description: str, stored: str, catalogue: Catalogue, analyzer: Analyzer) -> str | None:
    """The code a posting stored with the inferred code `stored` is inferred to now (a newer catalogue, better
    inference), when it differs; None when it does not, or when nothing is inferred now (the posting keeps its trade
    rather than lose it)."""
    code = infer_from_posting(title, description, catalogue, analyzer)
    return code if code is not None and code != stored else None


def occupations_resolved_again(items: list[dict[str, Any]], catalogue: Catalogue, analyzer: Analyzer,
                               occupations: OccupationClassification) -> list[dict[str, Any]] | None:
    """A stored profile's `occupations` ({input, code, inferred}) with each item typed as text resolved again,
    when that changes a code; None when nothing changes. Items given as codes stay; an item resolved before and
    unresolved now keeps its code, as `inferred_again` keeps a posting's."""
    changed = False
    again: list[dict[str, Any]] = []
    for item in items:
        if item["inferred"] or item["code"] is None:
            resolved = resolve_worker_occupation(item["input"], catalogue, analyzer, occupations)
            if resolved is not None and resolved.code is not None and resolved.code != item["code"]:
                item = {"input": item["input"], "code": resolved.code, "inferred": resolved.inferred}
                changed = True
        again.append(item)
    return again if changed else None


def is_known_code(code: str, catalogue: Catalogue, occupations: OccupationClassification) -> bool:
    """A code of the 2022 classification, or one the catalogue lists (retired codes included)."""
    return OCCUPATION_CODE.match(code) is not None and (
        catalogue.by_code(code) is not None or occupations.exists(code))


def resolve_worker_occupation(
    item: str, catalogue: Catalogue, analyzer: Analyzer, occupations: OccupationClassification,
) -> ResolvedOccupation | None:
    """A code or a free-text trade word → its code. None when `item` looks like a code but is not one.
    A word nothing in the catalogue fits is kept with `code=None` (matching scores it against aliases)."""
    text = item.strip()
    if _CODE_LIKE.match(text):
        if not is_known_code(text, catalogue, occupations):
            return None
        return ResolvedOccupation(input=text, code=catalogue.resolve(text), inferred=False)
    exact = catalogue.code_for_word(text)
    if exact is not None:
        return ResolvedOccupation(input=text, code=exact, inferred=True)
    found = _codes_in(text, catalogue, analyzer)
    # No trade word: the work typed may say the trade (数控车床, 会开叉车).
    code = found[0][0] if found else _work_named_in(analyzer.cut(text), catalogue)
    return ResolvedOccupation(input=text, code=code, inferred=code is not None)
