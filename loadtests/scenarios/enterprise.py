"""Enterprise HR systems: post job demand (seeded corpus postings) and pull ranked matches for their postings."""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

from locust import FastHttpUser, between, task

from loadtests.scenarios.run_environment import RUN_ID, corpus, has, keys_of

_numbers = itertools.count(1)


class EnterpriseUser(FastHttpUser):
    weight = 2
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.key = random.choice(keys_of("enterprise"))
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self.job_ids: list[str] = []
        self.jobs = corpus().jobs(100_000, ref_prefix=f"lt-{RUN_ID}-{uuid.uuid4().hex[:6]}-")
        response = self.client.get("/v1/jobs", params={"limit": 50}, headers=self.headers, name="GET /v1/jobs")
        if response.status_code == 200:
            self.job_ids = [j["id"] for j in response.json().get("items", []) if j.get("status") == "open"]

    @task(2)
    def post_job(self) -> None:
        body: dict[str, Any] = next(self.jobs)
        headers = {**self.headers, "Idempotency-Key": f"{RUN_ID}-{next(_numbers)}-{uuid.uuid4().hex[:8]}"}
        with self.client.post("/v1/jobs", json=body, headers=headers, catch_response=True,
                              name="POST /v1/jobs") as response:
            if response.status_code == 201:
                self.job_ids.append(response.json()["id"])
            elif response.status_code == 422 and "reasons" in response.text:
                response.success()  # the compliance check refusing a posting is a correct answer
            else:
                response.failure(f"HTTP {response.status_code}")

    @task(3)
    def pull_matches(self) -> None:
        if not self.job_ids or not has("GET", "/v1/jobs/{job_id}/matches"):
            return
        job_id = random.choice(self.job_ids[-50:])
        self.client.get(f"/v1/jobs/{job_id}/matches", params={"limit": 20}, headers=self.headers,
                        name="GET /v1/jobs/{id}/matches")
