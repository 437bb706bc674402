from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from services.devstack.envfile import EnvFileError, read_env_file, write_env_file

VALUES = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/bashu",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MEILI_URL": "http://127.0.0.1:7700",
    "MEILI_MASTER_KEY": "abc-DEF_123",
    "ADMIN_API_KEY": "",
}


def test_round_trip_and_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "env"
    write_env_file(path, VALUES)
    assert read_env_file(path) == VALUES
    assert path.stat().st_mode & 0o077 == 0


def test_file_is_sourceable_by_a_shell(tmp_path: Path) -> None:
    path = tmp_path / "env"
    write_env_file(path, VALUES)
    out = subprocess.run(
        ["bash", "-c", f'set -a; . "{path}"; printf "%s|%s" "$MEILI_MASTER_KEY" "$DATABASE_URL"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == f"{VALUES['MEILI_MASTER_KEY']}|{VALUES['DATABASE_URL']}"


def test_reader_skips_comments_and_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_text("# comment\n\nA=1\n")
    assert read_env_file(path) == {"A": "1"}
    path.write_text("not a pair\n")
    with pytest.raises(EnvFileError, match=":1:"):
        read_env_file(path)


@pytest.mark.parametrize("value", ["has space", "quote'", "dollar$x", "new\nline"])
def test_writer_refuses_values_a_shell_would_misread(tmp_path: Path, value: str) -> None:
    with pytest.raises(EnvFileError):
        write_env_file(tmp_path / "env", {"KEY": value})
    assert not (tmp_path / "env").exists()
