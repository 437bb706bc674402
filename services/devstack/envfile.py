"""The `.devstack/env` file: KEY=value lines that `make`, shells and tests read.

Values are written unquoted (URLs and keys contain no whitespace), so the file works both with
`set -a; . .devstack/env` and with Make's `include`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class EnvFileError(ValueError):
    pass


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    for key, value in values.items():
        if not key.isidentifier() or any(ch in value for ch in " \t\r\n'\"$`\\"):
            raise EnvFileError(f"cannot write {key}={value!r} unquoted to {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    # The file holds the Meilisearch master key.
    tmp.chmod(0o600)
    # Atomic replace: a concurrent reader (a test run) never sees half a file.
    os.replace(tmp, path)


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise EnvFileError(f"{path}:{number}: expected KEY=value, got {raw!r}")
        values[key.strip()] = value.strip()
    return values
