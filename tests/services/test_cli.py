"""The operators' CLI: refused input is explained by field, without echoing the values."""

from __future__ import annotations

from typer.testing import CliRunner

from services.cli import app


def test_invalid_org_is_explained_without_echoing_input() -> None:
    result = CliRunner().invoke(app, ["admin", "create-org", "--type", "broker", "--name", "秘密劳务张三",
                                      "--uscc", "13800138000"])
    assert result.exit_code == 2
    assert "unified_social_credit_code" in result.output
    assert "13800138000" not in result.output
    assert "秘密劳务张三" not in result.output
