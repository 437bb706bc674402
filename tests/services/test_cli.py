"""The operators' CLI: refused input is explained by field, without echoing the values."""

from __future__ import annotations

import base64
import json
import secrets

import asyncpg
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


async def _outbox_rows(database_url: str) -> dict[str, int]:
    from services.db.pool import connect

    conn = await connect(database_url)
    try:
        ids = {}
        for name, attempts, done in (("fresh", 1, False), ("stuck", 9, False), ("worse", 12, False),
                                     ("finished", 15, True)):
            ids[name] = await conn.fetchval(
                """INSERT INTO outbox (topic, entity_id, attempts, enqueued_at, done_at, last_error)
                   VALUES ('job.index', $1, $2, now(), CASE WHEN $3 THEN now() END, 'ServiceUnavailable')
                   RETURNING id""", name, attempts, done)
        return ids
    finally:
        await conn.close()


async def test_outbox_stuck_lists_rows_failing_for_hours_and_retry_restarts_them(
        database_url: str, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    # `db` for its cleanup: the rows written here would otherwise stay for the session's later tests.
    import asyncio

    from services.db.pool import connect

    ids = await _outbox_rows(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*args: str) -> object:
        # The CLI runs its own event loop: off this test's loop.
        return asyncio.to_thread(CliRunner().invoke, app, list(args))

    listed = await run("outbox", "stuck", "--json")
    assert listed.exit_code == 3  # type: ignore[attr-defined]
    rows = json.loads(listed.stdout)  # type: ignore[attr-defined]
    assert [(r["id"], r["entity_id"], r["last_error"]) for r in rows] == [
        (ids["stuck"], "stuck", "ServiceUnavailable"), (ids["worse"], "worse", "ServiceUnavailable")]
    assert len(json.loads((await run("outbox", "stuck", "--json", "--min-attempts", "1")).stdout)) == 3  # type: ignore[attr-defined]

    unknown = await run("outbox", "retry", str(ids["stuck"]), str(ids["finished"]))
    assert unknown.exit_code == 1  # type: ignore[attr-defined]
    assert str(ids["finished"]) in unknown.output  # type: ignore[attr-defined]
    assert (await run("outbox", "retry", "--all-stuck")).exit_code == 0  # type: ignore[attr-defined]
    assert (await run("outbox", "retry")).exit_code == 2  # type: ignore[attr-defined]

    conn = await connect(database_url)
    try:
        after = {r["entity_id"]: (r["attempts"], r["enqueued_at"] is None)
                 for r in await conn.fetch("SELECT entity_id, attempts, enqueued_at FROM outbox")}
    finally:
        await conn.close()
    # Restarted: no attempts, not enqueued, so the reconciler's next run enqueues them. Others untouched.
    assert after == {"fresh": (1, False), "stuck": (0, True), "worse": (0, True), "finished": (15, False)}
    cleared = await run("outbox", "stuck")
    assert cleared.exit_code == 0  # type: ignore[attr-defined]


def test_index_rebuild_refuses_an_unknown_kind() -> None:
    result = CliRunner().invoke(app, ["index", "rebuild", "--kind", "postings"])
    assert result.exit_code == 2
    assert "postings" in result.output
