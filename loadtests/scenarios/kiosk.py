"""Kiosk users: the tap mix (trade + district + chips, then a detail) and the free-text mix (typed queries with
slang and pinyin-input homophone mistakes, typeahead while typing)."""

from __future__ import annotations

import random
from typing import Any

from locust import FastHttpUser, between, task

from loadtests.scenarios.run_environment import has, keys_of, kiosk_queries


def _params(query: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in query.items():
        for v in value if isinstance(value, list) else [value]:
            out.append((name, str(v)))
    return out


class _Kiosk(FastHttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)
    kinds: tuple[str, ...] = ()

    def on_start(self) -> None:
        self.key = random.choice(keys_of("kiosk"))
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self.queries = [q for q in kiosk_queries() if q["kind"] in self.kinds]
        if has("GET", "/v1/kiosk/start"):
            self.client.get("/v1/kiosk/start", headers=self.headers, name="GET /v1/kiosk/start")

    def _search(self, query: dict[str, Any], label: str, cursor: str | None = None) -> list[dict[str, Any]]:
        params = _params({**query["params"], "limit": 20})
        if cursor:
            params.append(("cursor", cursor))
        self.next_cursor: str | None = None
        # A list of pairs (repeated adcode/benefits) works at run time; locust's hint says dict only.
        with self.client.get("/v1/kiosk/search", params=params,  # type: ignore[arg-type]
                             headers=self.headers, catch_response=True,
                             name=f"GET /v1/kiosk/search [{label}]") as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return []
            data = response.json()
            self.next_cursor = data.get("next_cursor")
            return list(data.get("hits") or [])

    def _detail(self, hits: list[dict[str, Any]]) -> None:
        if hits and random.random() < 0.3 and has("GET", "/v1/kiosk/jobs/{job_id}"):
            job_id = random.choice(hits[:5])["id"]
            self.client.get(f"/v1/kiosk/jobs/{job_id}", headers=self.headers, name="GET /v1/kiosk/jobs/{id}")


class KioskTapUser(_Kiosk):
    """Taps a trade, picks a district and chips, sometimes scrolls a page further and opens a detail."""

    weight = 6
    kinds = ("tap",)

    @task
    def tap(self) -> None:
        if not has("GET", "/v1/kiosk/search"):
            return
        query = random.choice(self.queries)
        hits = self._search(query, "tap")
        if self.next_cursor and random.random() < 0.25:  # scrolls on to the next page
            hits = self._search(query, "tap, next page", self.next_cursor) or hits
        self._detail(hits)


class KioskTextUser(_Kiosk):
    """Types: typeahead on the first characters, then a free-text search (slang, homophone mistakes)."""

    weight = 3
    kinds = ("text", "slang", "homophone", "suggest")

    @task
    def type_and_search(self) -> None:
        query = random.choice(self.queries)
        text = str(query["params"].get("q", ""))
        if has("GET", "/v1/kiosk/suggest") and text:
            for end in range(1, min(len(text), 3) + 1):
                self.client.get("/v1/kiosk/suggest", params={"q": text[:end]}, headers=self.headers,
                                name="GET /v1/kiosk/suggest")
        if query["endpoint"] == "search" and has("GET", "/v1/kiosk/search"):
            self._detail(self._search(query, query["kind"]))
