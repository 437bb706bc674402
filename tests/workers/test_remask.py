"""Documents indexed before the masking of free text learnt other groupings are masked again at the deploy
(migration 0021's `workers.remask` row, and 0023's for bank cards in groups of four), without `bashu index rebuild`
and without telling anyone of matches."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from services.api.search_index import create_search_client, index_name
from services.api.settings import ApiSettings
from services.db.migrate import MIGRATIONS_DIR
from tests.conftest import MakeOrg
from tests.services.api.worker_profiles.test_worker_profiles import worker_body
from tests.services.indexing.pipeline import reconcile, run_worker_burst, settle
from tests.workers.test_indexing_tasks import JOB
from workers import indexing_tasks

SKILLS = ["氩弧焊", "身份证 5001 0719 8501 0112 3X"]  # an ID number as banks print it, 4-4-4-4-2
BRAND = "云阳面工 １３８—１２３４—５６７８"  # full-width, as an input method's full-width mode types it


async def test_the_deploy_masks_again_documents_indexed_with_a_number_in_them(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexing_tasks, "REMASK_PAGE", 1)  # the walk goes on past a full page
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    # An open posting the profiles match: re-matching them would record notices.
    assert (await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)).status_code == 201
    response = await client.post("/v1/workers", json=worker_body(skills=SKILLS, labour_brand=BRAND),
                                 headers=broker.headers)
    assert response.status_code == 201, response.text
    worker_id = response.json()["id"]
    other = await client.post("/v1/workers", json=worker_body(id_number="510107199003070014", phone="13912345678",
                                                              skills=["电焊 2019-2020", "月薪 8000-12000"]),
                              headers=broker.headers)
    assert other.status_code == 201, other.text
    await run_worker_burst(settings)
    await settle(settings)

    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    index = search.index(index_name(settings.meili_index_prefix, "workers"))
    try:
        # What the previous release indexed: the free text as typed (its masking knew 6-8-4 and 3-4-4 only).
        document = await index.get_document(worker_id)
        task = await index.add_documents([{**document, "skills": SKILLS, "labour_brand": BRAND}], primary_key="id")
        await search.wait_for_task(task.task_uid)
        assert (await index.get_document(worker_id))["skills"] == SKILLS
        untouched = await index.get_document(other.json()["id"])

        # The deploy: the migration as the runner applies it (the test database was migrated while empty, and an
        # empty database gets no row), then the worker's reconciler and the worker.
        assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'workers.remask'") == 0
        last_row = await db.fetchval("SELECT max(id) FROM outbox")
        notices = await db.fetchval("SELECT count(*) FROM notifications")
        assert notices > 0  # the first indexing matched the posting
        await db.execute((MIGRATIONS_DIR / "0021_workers_remasked.sql").read_text(encoding="utf-8"))
        remask = await db.fetchrow("SELECT id, entity_id FROM outbox WHERE topic = 'workers.remask'")
        assert remask is not None
        assert remask["entity_id"] == ""
        assert await reconcile(settings, outbox_stale_after_seconds=0.001) == 1
        await run_worker_burst(settings)
        await settle(settings)

        document = await index.get_document(worker_id)
        assert document["skills"] == ["氩弧焊", "身份证 500107********123X"]
        assert document["labour_brand"] == "云阳面工 １３８****５６７８"
        assert await db.fetchval("SELECT done_at FROM outbox WHERE id = $1", remask["id"]) is not None
        # The profile without such a number was not written again (same document, same `updated_at`).
        assert await index.get_document(other.json()["id"]) == untouched
        # Indexing only: no index row per profile, no matching, no notices.
        assert await db.fetch("SELECT topic FROM outbox WHERE id > $1 AND id <> $2", last_row, remask["id"]) == []
        assert await db.fetchval("SELECT count(*) FROM notifications") == notices
    finally:
        await search.aclose()


CARD_SKILLS = ["电工", "工资卡 6222 0212 3456 7890 123"]  # a 19-digit card as banks print it, 4-4-4-4-3
CARD_BRAND = "开州厨师 6217-0000-1234-5678"


async def test_the_deploy_masks_again_documents_indexed_with_a_bank_card_in_them(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, db: asyncpg.Connection) -> None:
    enterprise, broker = await make_org("enterprise"), await make_org("broker")
    assert (await client.post("/v1/jobs", json=JOB, headers=enterprise.headers)).status_code == 201
    response = await client.post("/v1/workers", json=worker_body(skills=CARD_SKILLS, labour_brand=CARD_BRAND),
                                 headers=broker.headers)
    assert response.status_code == 201, response.text
    worker_id = response.json()["id"]
    await run_worker_burst(settings)
    await settle(settings)

    search = create_search_client(settings.meili_url, settings.meili_master_key.get_secret_value())
    index = search.index(index_name(settings.meili_index_prefix, "workers"))
    try:
        document = await index.get_document(worker_id)
        assert document["skills"] == ["电工", "工资卡 622202*********0123"]  # what this release indexes
        assert document["labour_brand"] == "开州厨师 621700******5678"
        # What the previous release indexed: its masking left cards in groups as typed.
        task = await index.add_documents([{**document, "skills": CARD_SKILLS, "labour_brand": CARD_BRAND}],
                                         primary_key="id")
        await search.wait_for_task(task.task_uid)

        # The deploy: 0021's row ran at its own deploy (here: none, the database was empty then); 0023 records one.
        last_row = await db.fetchval("SELECT max(id) FROM outbox")
        notices = await db.fetchval("SELECT count(*) FROM notifications")
        await db.execute((MIGRATIONS_DIR / "0023_workers_remasked_for_bank_cards.sql").read_text(encoding="utf-8"))
        # A topic a worker of the previous release does not know (it would re-index with its own masking).
        remask = await db.fetchrow("SELECT id, entity_id FROM outbox WHERE topic = 'workers.remask_cards'")
        assert remask is not None
        assert remask["entity_id"] == ""
        assert await reconcile(settings, outbox_stale_after_seconds=0.001) == 1
        await run_worker_burst(settings)
        await settle(settings)

        document = await index.get_document(worker_id)
        assert document["skills"] == ["电工", "工资卡 622202*********0123"]
        assert document["labour_brand"] == "开州厨师 621700******5678"
        assert await db.fetchval("SELECT done_at FROM outbox WHERE id = $1", remask["id"]) is not None
        assert await db.fetch("SELECT topic FROM outbox WHERE id > $1 AND id <> $2", last_row, remask["id"]) == []
        assert await db.fetchval("SELECT count(*) FROM notifications") == notices
    finally:
        await search.aclose()


async def test_no_bank_card_remask_row_where_no_profile_has_16_digits_in_an_item(
        client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    response = await client.post("/v1/workers", json=worker_body(skills=["电焊 2019-2020", "电话 138 1234 5678"]),
                                 headers=broker.headers)
    assert response.status_code == 201, response.text
    await db.execute((MIGRATIONS_DIR / "0023_workers_remasked_for_bank_cards.sql").read_text(encoding="utf-8"))
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic LIKE 'workers.remask%'") == 0
