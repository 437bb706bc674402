"""The operators' CLI: refused input is explained by field, without echoing the values."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from typer.testing import CliRunner

from services.cli import app


def test_invalid_org_is_explained_without_echoing_input() -> None:
    result = CliRunner().invoke(app, ["admin", "create-org", "--type", "broker", "--name", "秘密劳务张三",
                                      "--uscc", "13800138000"])
    assert result.exit_code == 2
    assert "unified_social_credit_code" in result.output
    assert "13800138000" not in result.output
    assert "秘密劳务张三" not in result.output


def test_pii_rotate_refuses_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_KEYRING", "")
    monkeypatch.setenv("PII_BLIND_INDEX_KEY", "")
    result = CliRunner().invoke(app, ["pii", "rotate"])
    assert result.exit_code == 2
    assert "PII_KEYRING" in result.output


def test_pii_rotate_reports_what_it_did(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(3)]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PII_KEYRING", f"k2:{keys[0]},k1:{keys[1]}")
    monkeypatch.setenv("PII_ACTIVE_KEY_ID", "k2")
    monkeypatch.setenv("PII_BLIND_INDEX_KEY", keys[2])
    result = CliRunner().invoke(app, ["pii", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"active_key_id": "k2", "rewritten": 0, "rewritten_by_column": {},
                                         "remaining": {}}
