"""Key rotation: after `rotate_keys` every sealed value is readable with the new key alone, nothing changed its
meaning, a row changed meanwhile keeps its newer value, and running it again rewrites nothing."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from services.api.app import create_app
from services.api.idempotency.service import unrotated_replays
from services.api.key_rotation import repository
from services.api.key_rotation.service import SEALED_COLUMNS, rotate_keys
from services.api.settings import ApiSettings
from services.api.worker_profiles.service import personal_data_cipher
from services.privacy.cipher import UnknownKeyId
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.reports.support import post_job, report
from tests.services.api.worker_profiles.test_worker_profiles import ID_NUMBER, NAME, PHONE, worker_body

CONTACT = {"name": "王秀英", "phone": "13912345678", "email": "wang@example.cn", "address": "重庆市九龙坡区杨家坪"}
CSV = "姓名,身份证号,手机号,户籍地\n张三,500107199001011236,13812345678,500235\n".encode()


def _with_new_active_key(settings: ApiSettings, *, keep_old: bool) -> ApiSettings:
    new = f"k2:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    keyring = f"{new},{settings.pii_keyring.get_secret_value()}" if keep_old else new
    return settings.model_copy(update={"pii_keyring": SecretStr(keyring), "pii_active_key_id": "k2"})


@pytest.fixture
async def sealed_everywhere(client: httpx.AsyncClient, admin: OrgKey, make_org: MakeOrg) -> dict[str, Any]:
    """One value in every sealed column, all written under k1 through the API."""
    broker = await make_org("broker")
    worker = await client.post("/v1/workers", json=worker_body(), headers={**broker.headers, "Idempotency-Key": "w1"})
    assert worker.status_code == 201, worker.text
    org = await client.post("/v1/orgs", headers={**admin.headers, "Idempotency-Key": "org-1"},
                            json={"type": "enterprise", "name": "云阳面业有限公司", "contact": CONTACT})
    assert org.status_code == 201, org.text
    enterprise = OrgKey(org_id=org.json()["org"]["id"], api_key=org.json()["api_key"], type="enterprise")
    hook = await client.post("/v1/webhooks", headers={**enterprise.headers, "Idempotency-Key": "hook-1"},
                             json={"url": "http://127.0.0.1:9/hook", "events": ["match.created"]})
    assert hook.status_code == 201, hook.text
    kiosk = await make_org("kiosk")
    job = await post_job(client, enterprise)
    filed = await report(client, kiosk, "job", job["id"], "fees", text="要交押金", contact="13700001111")
    assert filed.status_code == 201, filed.text
    upload = await client.post("/v1/workers/imports", content=CSV,
                               headers={**broker.headers, "Content-Type": "text/csv"})
    assert upload.status_code == 202, upload.text  # no worker runs here: its chunks stay stored
    return {"broker": broker, "worker_id": worker.json()["id"], "enterprise": enterprise,
            "hook": hook.json(), "report_id": filed.json()["id"]}


async def _stale(db: asyncpg.Connection, active: str) -> dict[str, int]:
    return {f"{col.table}.{col.column}": await repository.count_stale(db, col, active_key_id=active)
            for col, _ in SEALED_COLUMNS}


async def test_rotation_leaves_everything_readable_with_the_new_key_alone(
        sealed_everywhere: dict[str, Any], settings: ApiSettings, db: asyncpg.Connection) -> None:
    before = await _stale(db, "k2")
    # Every column has something to rotate, so this test covers each of them.
    assert all(before.values()), before
    rotating = _with_new_active_key(settings, keep_old=True)
    cipher = personal_data_cipher(rotating, {})

    report_ = await rotate_keys(db, cipher, batch=2)  # small pages: paging is exercised too

    assert report_.done
    # The stored answers holding sealed values: the webhook secret, the org API key, the worker's name and notes.
    assert report_.rewritten == {**before, "idempotency_records.response_body": 3}
    assert set((await _stale(db, "k2")).values()) == {0}
    again = await rotate_keys(db, cipher)
    assert sum(again.rewritten.values()) == 0

    # Without k1 at all, the API still answers every sealed value as it did.
    new_only = rotating.model_copy(
        update={"pii_keyring": SecretStr(rotating.pii_keyring.get_secret_value().split(",")[0])})
    app = create_app(new_only)
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver") as client:
        broker: OrgKey = sealed_everywhere["broker"]
        full = await client.get(f"/v1/workers/{sealed_everywhere['worker_id']}/personal-data",
                                params={"purpose": "核对 / check"}, headers=broker.headers)
        assert full.status_code == 200, full.text
        assert (full.json()["name"], full.json()["id_number"], full.json()["phone"]) == (NAME, ID_NUMBER, PHONE)
        assert full.json()["notes"] == worker_body()["notes"]
        enterprise: OrgKey = sealed_everywhere["enterprise"]
        replay = await client.post("/v1/webhooks", headers={**enterprise.headers, "Idempotency-Key": "hook-1"},
                                   json={"url": "http://127.0.0.1:9/hook", "events": ["match.created"]})
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.json()["secret"] == sealed_everywhere["hook"]["secret"]
        worker_replay = await client.post("/v1/workers", json=worker_body(),
                                          headers={**broker.headers, "Idempotency-Key": "w1"})
        assert worker_replay.headers.get("Idempotent-Replayed") == "true"
        assert (worker_replay.json()["name"], worker_replay.json()["notes"]) == (NAME, worker_body()["notes"])
    only_k2 = personal_data_cipher(new_only, {})
    for col, context_of in SEALED_COLUMNS:
        for row in await db.fetch(f"SELECT *, {col.column} AS blob FROM {col.table} WHERE {col.column} IS NOT NULL"):
            only_k2.decrypt(row["blob"], context=context_of(row))  # raises if anything is off
    assert only_k2.decrypt(
        await db.fetchval("SELECT contact_enc FROM reports"),
        context=f"report:{sealed_everywhere['report_id']}:contact") == "13700001111"


async def test_a_replay_sealed_under_the_old_key_after_the_pass_is_reported_remaining(
        sealed_everywhere: dict[str, Any], client: httpx.AsyncClient, settings: ApiSettings,
        db: asyncpg.Connection) -> None:
    cipher = personal_data_cipher(_with_new_active_key(settings, keep_old=True), {})
    assert (await rotate_keys(db, cipher)).done
    # A process that still has k1 active stores a replay (a webhook secret) after the rotation's pass: replaying
    # it needs k1, so the rotation must not report k1 as free to leave the keyring.
    enterprise: OrgKey = sealed_everywhere["enterprise"]
    hook = await client.post("/v1/webhooks", headers={**enterprise.headers, "Idempotency-Key": "hook-2"},
                             json={"url": "http://127.0.0.1:9/hook2", "events": ["match.created"]})
    assert hook.status_code == 201, hook.text
    assert await unrotated_replays(db, cipher, batch=1) == 1
    report_ = await rotate_keys(db, cipher)  # the next run re-seals it
    assert report_.rewritten["idempotency_records.response_body"] == 1
    assert report_.remaining["idempotency_records.response_body"] == 0


async def test_a_row_changed_meanwhile_keeps_its_newer_value(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
    worker_id = UUID(created.json()["id"])
    cipher = personal_data_cipher(_with_new_active_key(settings, keep_old=True), {})
    phone = next(col for col, _ in SEALED_COLUMNS if col.column == "phone_enc")
    [row] = await repository.stale_blobs(db, phone, active_key_id="k2", after=None, limit=10)
    read = bytes(row["blob"])
    # The broker updates the phone between the rotation's read and its write.
    patched = await client.patch(f"/v1/workers/{worker_id}", json={"phone": "13900002222"}, headers=broker.headers)
    assert patched.status_code == 200, patched.text
    newer = await db.fetchval("SELECT phone_enc FROM worker_profiles WHERE id = $1", worker_id)

    swapped = await repository.replace_blobs(db, phone, [((worker_id,), read, cipher.encrypt("x", context="y"))])

    assert swapped == 0
    assert await db.fetchval("SELECT phone_enc FROM worker_profiles WHERE id = $1", worker_id) == newer


async def test_an_erased_profile_has_nothing_to_rotate(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
    erased = await client.delete(f"/v1/workers/{created.json()['id']}", headers=broker.headers)
    assert erased.status_code in (200, 204), erased.text
    cipher = personal_data_cipher(_with_new_active_key(settings, keep_old=True), {})
    report_ = await rotate_keys(db, cipher)
    assert report_.rewritten["worker_profiles.phone_enc"] == 0
    assert report_.done


async def test_without_the_old_key_rotation_fails_loudly_and_changes_nothing(
        sealed_everywhere: dict[str, Any], settings: ApiSettings, db: asyncpg.Connection) -> None:
    before = await db.fetchval("SELECT phone_enc FROM worker_profiles")
    cipher = personal_data_cipher(_with_new_active_key(settings, keep_old=False), {})
    with pytest.raises(UnknownKeyId):
        await rotate_keys(db, cipher)
    assert await db.fetchval("SELECT phone_enc FROM worker_profiles") == before


# bytea columns that hold digests, not ciphertext: nothing to re-encrypt.
NOT_SEALED = {"api_keys.key_hash", "idempotency_records.request_hash", "imports.sha256",
              "worker_profiles.id_number_bidx", "worker_profiles.phone_bidx"}


async def test_every_encrypted_column_of_the_schema_is_rotated(db: asyncpg.Connection) -> None:
    """A new encrypted column must join SEALED_COLUMNS, or its old blobs would keep a retired key needed."""
    columns = {r["name"] for r in await db.fetch(
        """SELECT table_name || '.' || column_name AS name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type = 'bytea'""")}
    assert columns - NOT_SEALED == {f"{col.table}.{col.column}" for col, _ in SEALED_COLUMNS}


async def test_upload_chunks_are_rotated_a_few_per_transaction(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks are 1 MiB each: a page never holds more than `max_page` of them, whatever batch size is asked."""
    broker = await make_org("broker")
    for _ in range(3):  # three uploads, no worker: their chunks stay
        upload = await client.post("/v1/workers/imports", content=CSV + uuid4().hex.encode(),
                                   headers={**broker.headers, "Content-Type": "text/csv"})
        assert upload.status_code == 202, upload.text
    chunks = next(col for col, _ in SEALED_COLUMNS if col.table == "import_chunks")
    pages: list[int] = []
    original = repository.stale_blobs

    async def counting(conn: asyncpg.Connection, sealed: repository.SealedColumn, **kwargs: Any) -> Any:
        rows = await original(conn, sealed, **kwargs)
        if sealed.table == "import_chunks":
            pages.append(kwargs["limit"])
        return rows

    monkeypatch.setattr(repository, "stale_blobs", counting)
    report_ = await rotate_keys(db, personal_data_cipher(_with_new_active_key(settings, keep_old=True), {}),
                                batch=500)
    assert report_.rewritten["import_chunks.data"] == 3
    assert pages
    assert set(pages) == {chunks.max_page}
