"""Rural brokers: upload a spreadsheet of worker profiles (NDJSON, the API's own column names), poll the
import until it completes, and look at matches for their workers."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import date

import gevent
from locust import FastHttpUser, between, task

from loadtests.scenarios.run_environment import IMPORT_ROWS, IMPORT_TIMEOUT_S, RUN_ID, fire, fresh_workers, has, keys_of
from services.demo.corpus import Corpus


class BrokerUser(FastHttpUser):
    weight = 1
    wait_time = between(3.0, 8.0)

    def on_start(self) -> None:
        self.key = random.choice(keys_of("broker"))
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self.worker_ids: list[str] = []
        # One stream per user, continued upload after upload: each sheet is new people (a fresh generator per
        # upload would send the same people every time, i.e. updates, not imports).
        corpus = Corpus(seed=random.randrange(1 << 30), today=date.today())
        self.people = corpus.workers(10_000_000, ref_prefix=f"lt-{RUN_ID}-{uuid.uuid4().hex[:6]}-")

    @task(1)
    def upload_and_poll(self) -> None:
        if not has("POST", "/v1/workers/imports"):
            return
        prefix = f"lt-{RUN_ID}-{uuid.uuid4().hex[:6]}-"
        rows = fresh_workers(IMPORT_ROWS, prefix)
        rows += [{**w, "external_ref": f"{prefix}g{i:06d}"}
                 for i, w in zip(range(IMPORT_ROWS - len(rows)), self.people, strict=False)]
        body = ("\n".join(json.dumps(w, ensure_ascii=False) for w in rows) + "\n").encode()
        started = time.perf_counter()
        headers = {**self.headers, "Content-Type": "application/x-ndjson", "X-Filename": "workers.ndjson",
                   "Idempotency-Key": prefix}
        # Bytes go out as they are at run time; locust's hint lists str and dict only.
        with self.client.post("/v1/workers/imports", data=body,  # type: ignore[arg-type]
                              headers=headers, catch_response=True,
                              name="POST /v1/workers/imports") as response:
            if response.status_code != 202:
                response.failure(f"HTTP {response.status_code}")
                return
            import_id = response.json()["import_id"]
        name = f"import {IMPORT_ROWS} rows: upload → completed"
        while time.perf_counter() - started < IMPORT_TIMEOUT_S:
            gevent.sleep(1.0)
            status = self.client.get(f"/v1/workers/imports/{import_id}", headers=self.headers,
                                     name="GET /v1/workers/imports/{id}")
            if status.status_code != 200:
                continue
            data = status.json()
            if data.get("status") == "completed":
                error = None if not data.get("rejected") else RuntimeError(f"{data['rejected']} rows rejected")
                fire(self.environment, "IMPORT", name, started, error, length=int(data.get("created") or 0))
                return
            if data.get("status") == "failed":
                fire(self.environment, "IMPORT", name, started, RuntimeError("import failed"))
                return
        fire(self.environment, "IMPORT", name, started, TimeoutError(f"not completed in {IMPORT_TIMEOUT_S:.0f} s"))

    @task(3)
    def look_at_workers(self) -> None:
        response = self.client.get("/v1/workers", params={"limit": 20}, headers=self.headers, name="GET /v1/workers")
        if response.status_code == 200:
            self.worker_ids = [w["id"] for w in response.json().get("items", [])] or self.worker_ids
        if self.worker_ids and has("GET", "/v1/workers/{worker_id}/matches"):
            worker_id = random.choice(self.worker_ids)
            self.client.get(f"/v1/workers/{worker_id}/matches", params={"limit": 20}, headers=self.headers,
                            name="GET /v1/workers/{id}/matches")
