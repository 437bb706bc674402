"""The kiosk search lane (services/api/kiosk/lane.py) answers exactly as the FastAPI route it stands in for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import HTTPException

from services.api.app import create_app
from services.api.auth.caller import kiosk_request
from services.api.kiosk import lane as lane_module
from services.api.kiosk import service
from services.api.kiosk.lane import KioskSearchLane
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.kiosk.support import index_jobs, job

WELDER = "6-18-02-04"
JIULONGPO = "500107"


@asynccontextmanager
async def api(settings: ApiSettings, *, lane: bool, root_path: str = "",
              overrides: dict[Any, Any] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"kiosk_search_lane": lane}))
    assert any(m.cls is KioskSearchLane for m in app.user_middleware) is lane
    app.dependency_overrides.update(overrides or {})  # after the app is built, as tests do
    async with LifespanManager(app) as manager:
        # As a server would: the 500 answer is sent, the re-raised error stays on the server's side.
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def comparable(response: httpx.Response) -> tuple[int, str, Any]:
    body = response.json()
    body.pop("took_ms", None)
    body.pop("request_id", None)
    return response.status_code, response.headers["content-type"], body


@pytest.fixture
async def kiosk(make_org: MakeOrg) -> OrgKey:
    return await make_org("kiosk")


@pytest.fixture
def lane_answers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Grows by one each time the lane (not the route) gets as far as answering a search."""
    calls: list[int] = []
    real_answer = lane_module.answer_search

    async def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return await real_answer(*args, **kwargs)

    monkeypatch.setattr(lane_module, "answer_search", counted)
    return calls


async def test_the_lane_answers_every_kind_of_request_as_the_route_does(
        settings: ApiSettings, kiosk: OrgKey, make_org: MakeOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    # Which path answered: the lane's own reference to answer_search is counted, the route's is not.
    through_lane = 0
    real_answer = lane_module.answer_search

    async def counted(*args: Any, **kwargs: Any) -> bytes:
        nonlocal through_lane
        through_lane += 1
        return await real_answer(*args, **kwargs)

    monkeypatch.setattr(lane_module, "answer_search", counted)
    await index_jobs(settings, [job(f"九龙坡急招电焊工 {n}", JIULONGPO, WELDER, work_type="daily") for n in range(5)]
                     + [job("江北住家保姆", "500105", "4-10-01-06")])
    enterprise = await make_org("enterprise")
    requests: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"q": "九龙坡 电悍工 日结", "limit": 2}, kiosk.headers),  # corrected, filtered, a next page
        ({"q": "保姆"}, {**kiosk.headers, "Cache-Control": "no-cache"}),
        ({"q": "电焊 学徒"}, kiosk.headers),  # falls back to the understood filters
        ({"q": "九龙坡", "limit": 10000}, kiosk.headers),  # 422 from the query model
        ({"adcode": "999999"}, kiosk.headers),  # 422 from the service's own checks
        ({"cursor": "forged.cursor"}, kiosk.headers),
        ({}, {}),  # 401: no key
        ({}, {"Authorization": "Bearer nope"}),  # 401: not a key
        ({}, enterprise.headers),  # 403: not a kiosk
    ]
    answers: dict[bool, list[tuple[int, str, Any]]] = {}
    answered_by_lane: dict[bool, int] = {}
    for lane in (True, False):
        through_lane = 0
        async with api(settings, lane=lane) as client:
            answers[lane] = []
            for params, headers in requests:
                response = await client.get("/v1/kiosk/search", params=params, headers=headers)
                answers[lane].append(comparable(response))
                assert response.headers["x-request-id"]
            # The second page through the cursor the first answer gave.
            first = (await client.get("/v1/kiosk/search", params=requests[0][0], headers=kiosk.headers)).json()
            assert first["next_cursor"]
            answers[lane].append(comparable(await client.get(
                "/v1/kiosk/search", params={**requests[0][0], "cursor": first["next_cursor"]}, headers=kiosk.headers)))
        answered_by_lane[lane] = through_lane
    assert [a[0] for a in answers[True]] == [200, 200, 200, 422, 422, 422, 401, 401, 403, 200]
    assert answers[True] == answers[False]
    # Every request that got as far as a search (the 200s, the cursor page and the service's own 422s) went
    # through the lane when it is on, none when it is off.
    assert answered_by_lane == {True: 7, False: 0}
    assert answers[True][0][2]["query"]["corrected"] == "九龙坡 电焊工 日结"
    assert answers[True][3][1] == "application/problem+json"


@pytest.mark.parametrize("lane", [True, False])
async def test_an_unexpected_failure_is_the_same_500_problem_either_way(
        settings: ApiSettings, kiosk: OrgKey, monkeypatch: pytest.MonkeyPatch, lane: bool) -> None:
    async def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "search", broken)
    async with api(settings, lane=lane) as client:
        response = await client.get("/v1/kiosk/search", params={"q": "焊工"}, headers=kiosk.headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/internal")
    assert "a bug" not in response.text
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_other_methods_and_paths_pass_through_to_the_router(settings: ApiSettings, kiosk: OrgKey) -> None:
    async with api(settings, lane=True) as client:
        response = await client.post("/v1/kiosk/search", headers=kiosk.headers)  # the router's answer
        assert response.status_code == 405
        assert (await client.get("/v1/kiosk/search/", headers=kiosk.headers)).status_code in (307, 404)
        suggest = await client.get("/v1/kiosk/suggest", params={"q": "hg"}, headers=kiosk.headers)
        assert suggest.status_code == 200


async def test_under_a_root_path_the_lane_answers_the_path_the_router_matches(
        settings: ApiSettings, kiosk: OrgKey, lane_answers: list[int]) -> None:
    # Served behind a proxy prefix (uvicorn --root-path) or mounted: `path` carries the prefix.
    await index_jobs(settings, [job("九龙坡急招电焊工", JIULONGPO, WELDER)])
    async with api(settings, lane=True, root_path="/bashu") as client:
        response = await client.get("/bashu/v1/kiosk/search", params={"q": "电焊工"}, headers=kiosk.headers)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 1
        assert lane_answers == [1]
        # A path that only ends like the search is not it.
        elsewhere = await client.get("/bashu/x/v1/kiosk/search", headers=kiosk.headers)
        assert elsewhere.status_code == 404
        assert lane_answers == [1]


async def test_a_dependency_override_of_the_kiosk_key_check_holds_with_the_lane(
        settings: ApiSettings, kiosk: OrgKey, lane_answers: list[int]) -> None:
    async def no_kiosk_today() -> None:
        raise HTTPException(status_code=503, detail="closed for maintenance")

    async with api(settings, lane=True, overrides={kiosk_request: no_kiosk_today}) as client:
        response = await client.get("/v1/kiosk/search", params={"q": "电焊工"}, headers=kiosk.headers)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert lane_answers == []


@pytest.mark.parametrize("lane", [True, False])
async def test_head_is_answered_as_get_without_the_content(
        settings: ApiSettings, kiosk: OrgKey, lane: bool, lane_answers: list[int]) -> None:
    # It was 405: FastAPI's routes serve only the methods they declare (services/api/middleware.py).
    await index_jobs(settings, [job("九龙坡急招电焊工", JIULONGPO, WELDER)])
    async with api(settings, lane=lane) as client:
        get = await client.get("/v1/kiosk/search", params={"q": "电焊工"}, headers=kiosk.headers)
        head = await client.head("/v1/kiosk/search", params={"q": "电焊工"}, headers=kiosk.headers)
        assert (get.status_code, head.status_code) == (200, 200), get.text
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert int(head.headers["content-length"]) > 0
        unauthorised = await client.head("/v1/kiosk/search", params={"q": "电焊工"})
        assert unauthorised.status_code == 401
        assert unauthorised.content == b""
        assert unauthorised.headers["content-type"] == "application/problem+json"
    assert len(lane_answers) == (2 if lane else 0)  # the lane answers a HEAD as it answers the GET
