"""`import.finished` → the uploader's inbox and its webhooks subscribed to `import.finished`, once per import."""

from __future__ import annotations

import json

import asyncpg
import httpx

from tests.conftest import MakeOrg
from tests.services.api.imports.rows import to_csv, worker_row
from tests.services.api.notifications.conftest import (  # noqa: F401 - fixtures used by name
    RunWorker,
    receiver,
    register_webhook,
    run_worker,
)
from tests.services.api.notifications.receiver import Receiver


async def test_finished_import_notifies_the_uploader_once(client: httpx.AsyncClient, make_org: MakeOrg,
                                                         run_worker: RunWorker, receiver: Receiver,  # noqa: F811
                                                         db: asyncpg.Connection) -> None:
    broker = await make_org("broker")
    other = await make_org("broker")
    hook = await register_webhook(client, broker, receiver.url, events=["import.finished"])
    receiver.secret = hook["secret"]
    rows = [worker_row(1), worker_row(2), worker_row(3, 身份证号="12345")]
    response = await client.post("/v1/workers/imports", content=to_csv(rows).encode(),
                                 headers={**broker.headers, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]

    await run_worker()

    inbox = (await client.get("/v1/notifications", headers=broker.headers)).json()["items"]
    finished = [n for n in inbox if n["event"] == "import.finished"]
    assert len(finished) == 1
    data = finished[0]["data"]
    assert finished[0]["subject_id"] == import_id
    assert (data["import_id"], data["kind"], data["status"]) == (import_id, "workers", "completed")
    assert (data["total"], data["created"], data["rejected"], data["errors_total"]) == (3, 2, 1, 1)
    assert "测试" not in json.dumps(data, ensure_ascii=False)  # counts only, no row data
    others = (await client.get("/v1/notifications", headers=other.headers)).json()["items"]
    assert [n for n in others if n["event"] == "import.finished"] == []

    # The subscribed webhook got it, signed.
    assert len(receiver.accepted) == 1
    body = json.loads(receiver.requests[0].body)
    assert receiver.requests[0].verified
    assert (body["type"], body["data"]["import_id"], body["data"]["created"]) == ("import.finished", import_id, 2)

    # The finished event handled again (a retried job): nothing new in the inbox or at the receiver.
    await db.execute("UPDATE outbox SET done_at = NULL, enqueued_at = NULL WHERE topic = 'import.finished' "
                     "AND entity_id = $1", import_id)
    await run_worker()
    assert await db.fetchval("SELECT done_at IS NOT NULL FROM outbox WHERE topic = 'import.finished' "
                             "AND entity_id = $1", import_id)
    inbox = (await client.get("/v1/notifications", headers=broker.headers)).json()["items"]
    assert len([n for n in inbox if n["event"] == "import.finished"]) == 1
    assert len(receiver.requests) == 1
    assert not receiver.duplicates
