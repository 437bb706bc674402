"""Liveness and readiness against real and unreachable services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.api.app import create_app
from services.api.settings import ApiSettings


async def test_ready_when_all_services_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"postgresql": "ok", "redis": "ok", "meilisearch": "ok"}


async def test_health_answers_head_as_get_without_the_content(client: httpx.AsyncClient) -> None:
    # Uptime monitors and load balancers often probe with HEAD: it was 405.
    for path in ("/healthz", "/readyz"):
        get, head = await client.get(path), await client.head(path)
        assert (get.status_code, head.status_code) == (200, 200), path
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["x-request-id"]


@pytest.fixture(params=["redis", "meilisearch"])
async def client_with_a_dead_service(request: pytest.FixtureRequest, settings: ApiSettings) -> AsyncIterator[
        tuple[str, httpx.AsyncClient]]:
    # Port 9 (discard) is closed on loopback: a service that is down, not one that is slow.
    broken = {"redis": {"redis_url": "redis://127.0.0.1:9/0"},
              "meilisearch": {"meili_url": "http://127.0.0.1:9"}}[request.param]
    app = create_app(settings.model_copy(update=broken))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver") as http:
        yield request.param, http


async def test_not_ready_when_a_service_is_down(client_with_a_dead_service: tuple[str, httpx.AsyncClient]) -> None:
    service, http = client_with_a_dead_service
    assert (await http.get("/healthz")).status_code == 200
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    # RFC 9457: `status` is the HTTP status code, whatever else the body says.
    assert problem["status"] == 503
    assert problem["type"].endswith("/unavailable")
    assert problem["request_id"] == response.headers["x-request-id"]
    checks = problem["checks"]
    assert checks[service].startswith("unavailable")
    assert checks["postgresql"] == "ok"
