"""Certificate names → the official names of the shortage catalogue, so that requirements and holdings compare.

Enterprises write 焊工证, workers' brokers copy the catalogue's 特种作业操作证（焊接与热切割作业）; matching compares
names exactly, so both sides are canonicalised when written (worker `certificates`, job `required_certificates`)
and again when index documents are built (rows stored before canonicalisation was introduced).

A name is looked up by its key: NFKC (full-width letters and brackets → half-width), no invisible format characters
(a zero-width space pasted along), every kind of bracket as `()`, no whitespace, latin upper case; so
`特种设备作业人员证(N1叉车司机)` is the catalogue's `特种设备作业人员证（N1 叉车司机）` without an alias of its
own. A known name (an official name or one of its aliases, matching/reference/certificate-aliases.json) becomes the
official name; an unknown one is kept, only tidied the same way for everyone (NFKC, no format characters, Chinese
brackets （）, no spaces next to Chinese), so that two spellings of one unknown certificate still compare equal.
Nothing is dropped.

Names that could mean more than one certificate (驾照, 从业资格证, 钳工证 …) are never aliases: the JSON lists
them under `not_mapped` with the reason, and the table is refused if one becomes an alias. Bare 电工证 is an
alias of the low-voltage electrician's licence (特种作业操作证（低压电工作业）): that is the licence the name means in
job ads and on workers' papers, the high-voltage one is always called 高压电工证, and the construction-site
electrician's (建筑电工证) is named as such. A name ending in 证书 that is unknown is looked up once more ending
in 证 (焊工证书 → 焊工证).

Pure: reads the shipped JSON once per process, no I/O otherwise.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ALIASES_JSON: Final = Path(__file__).parent / "reference" / "certificate-aliases.json"

# After NFKC, which already turns （） into (): the other brackets people type for the qualifier.
_BRACKETS: Final = str.maketrans({"[": "(", "]": ")", "【": "(", "】": ")", "〔": "(", "〕": ")",
                                  "〖": "(", "〗": ")", "{": "(", "}": ")"})
_WHITESPACE: Final = re.compile(r"\s+")
# A space next to a Chinese character or bracket is typing noise (N1 叉车司机 / N1叉车司机); between two latin
# words it is kept.
_SPACE_NEXT_TO_WIDE: Final = re.compile(r"\s*([\u3400-\u9fff\uf900-\ufaff（）])\s*")
# Looked up again without it when a name is unknown: 焊工证书 is 焊工证, 健康证书 is 健康证.
_LONG_SUFFIX: Final = "证书"


def _normalised(name: str) -> str:
    # NFKC keeps format characters (zero-width space and joiners, BOM: category Cf), which text pasted from a web
    # page or a chat carries: 焊工\u200b证 is 焊工证 to whoever reads it, and must be to matching too.
    text = unicodedata.normalize("NFKC", name)
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.translate(_BRACKETS)


def certificate_key(name: str) -> str:
    """What two spellings of one name share: NFKC, no format characters, brackets as (), no whitespace, latin upper
    case."""
    return _WHITESPACE.sub("", _normalised(name)).upper()


def tidy_certificate(name: str) -> str:
    """An unknown name as stored: NFKC, no format characters, Chinese brackets, single spaces and none next to
    Chinese."""
    text = _normalised(name)
    text = _WHITESPACE.sub(" ", text).strip().replace("(", "（").replace(")", "）")
    return _SPACE_NEXT_TO_WIDE.sub(r"\1", text)


@dataclass(frozen=True, slots=True)
class CertificateNames:
    """Keys of official names and aliases → official name; the names deliberately left unmapped."""

    official: Mapping[str, str]
    common_names: Mapping[str, str]  # official name → its first alias: what most people write
    not_mapped: Mapping[str, str]  # name → why it is not an alias

    @classmethod
    def from_mapping(cls, aliases: Mapping[str, Iterable[str]], not_mapped: Mapping[str, str]) -> CertificateNames:
        """Refuses a table where one key leads to two official names or an unmapped name is an alias: either
        would silently turn a certificate into another one."""
        by_key: dict[str, str] = {}
        for official, names in aliases.items():
            for name in (official, *names):
                key = certificate_key(name)
                if not key:
                    raise ValueError(f"certificate aliases: empty name under {official!r}")
                if by_key.setdefault(key, official) != official:
                    raise ValueError(f"certificate aliases: {name!r} names both {by_key[key]!r} and {official!r}")
        for name in not_mapped:
            if certificate_key(name) in by_key:
                raise ValueError(f"certificate aliases: {name!r} is listed as not mapped but maps to "
                                 f"{by_key[certificate_key(name)]!r}")
        common = {official: first for official, names in aliases.items() for first in list(names)[:1]}
        return cls(official=by_key, common_names=common, not_mapped=dict(not_mapped))

    def canonical(self, name: str) -> str:
        """The official name of `name` if it is one or an alias of one, else `name` tidied (never empty
        unless `name` is blank)."""
        key = certificate_key(name)
        found = self.official.get(key)
        if found is None and key.endswith(_LONG_SUFFIX) and len(key) > len(_LONG_SUFFIX) + 1:
            found = self.official.get(key[: -len(_LONG_SUFFIX)] + "证")
        return found if found is not None else tidy_certificate(name)


def load_certificate_names(path: Path = ALIASES_JSON) -> CertificateNames:
    aliases, not_mapped = _read(path)
    return CertificateNames.from_mapping(aliases, not_mapped)


@functools.cache
def certificate_names() -> CertificateNames:
    """The shipped table, read once per process."""
    return load_certificate_names()


# A bulk import or a reindex canonicalises the same few dozen names hundreds of thousands of times.
@functools.lru_cache(maxsize=4096)
def canonical_certificate(name: str) -> str:
    """`name` as the catalogue's official name when it is one of the shipped table's names, else tidied."""
    return certificate_names().canonical(name)


def canonical_certificates(names: Iterable[str]) -> list[str]:
    """Each name canonical (shipped table), in order; duplicates after canonicalising and blanks removed."""
    return list(dict.fromkeys(c for c in map(canonical_certificate, names) if c))


def _read(path: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("aliases"), dict):
        raise ValueError(f"{path.name}: top level must be an object with 'aliases'")
    aliases: dict[str, list[str]] = {}
    for official, names in data["aliases"].items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"{path.name}: aliases of {official!r} must be a list of strings")
        aliases[str(official)] = list(names)
    not_mapped = data.get("not_mapped", {})
    if not isinstance(not_mapped, dict):
        raise ValueError(f"{path.name}: 'not_mapped' must be an object")
    return aliases, {str(k): str(v) for k, v in not_mapped.items()}
