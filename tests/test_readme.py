"""The README is part of the contract with operators: every setting is documented, and it opens with the two
commands a new machine needs."""

from __future__ import annotations

from pathlib import Path

from workers.settings import WorkerSettings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name.upper() for name in WorkerSettings.model_fields if f"`{name.upper()}`" not in text]
    assert missing == [], f"settings missing from README.md (Configuration): {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    first_block = lines[lines.index("```bash") + 1: lines.index("```")]
    assert [line.split("#")[0].strip() for line in first_block] == ["make run", "make test"]
