"""Every endpoint of the OpenAPI document, read from it: a list's `limit` and `cursor` are checked (a bad one is a
422 problem naming it), and an endpoint that takes neither refuses them instead of ignoring them (api.md: lists
take `?limit=` (1–100) and an opaque `cursor`). Walked from `/openapi.json`, so an endpoint added later is
checked without being listed here; a path or required query parameter this file has no value for fails the test
(add one to `_PATH_VALUES` / `_QUERY_VALUES`) rather than skipping the endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from services.api.app import create_app
from services.api.pagination import Position, encode_cursor, sign_payload
from services.api.settings import ApiSettings
from services.api.stats.periods import month_of
from services.api.stats.service import compute_period
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.catalogue.conftest import publish_catalogue, sample_catalogue


@dataclass(frozen=True)
class Operation:
    path: str
    query: dict[str, dict[str, Any]]  # name → the parameter's OpenAPI object
    path_params: dict[str, dict[str, Any]]
    returns: dict[str, Any]  # the properties of its JSON answer (200); empty when the OpenAPI does not say
    secured: bool  # asks for an API key (its OpenAPI `security`)

    @property
    def takes_limit(self) -> bool:
        return "limit" in self.query

    @property
    def takes_cursor(self) -> bool:
        return "cursor" in self.query

    def __str__(self) -> str:
        return self.path


def _operations() -> list[Operation]:
    schema = create_app(ApiSettings()).openapi()
    components = schema["components"]["schemas"]

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        return components[ref.rsplit("/", 1)[-1]] if ref else node

    found = []
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None or not path.startswith("/v1/"):
            continue
        params = operation.get("parameters", [])
        answer = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        found.append(Operation(path, {p["name"]: p for p in params if p["in"] == "query"},
                               {p["name"]: p for p in params if p["in"] == "path"},
                               resolved(answer.get("schema", {})).get("properties", {}),
                               bool(operation.get("security"))))
    return found


OPERATIONS = _operations()
LIMITED = [op for op in OPERATIONS if op.takes_limit]
CURSORED = [op for op in OPERATIONS if op.takes_cursor]
# Endpoints that do not take one of the two (so must refuse it); a list taking both has nothing to refuse.
NOT_FULLY_PAGED = [op for op in OPERATIONS if not (op.takes_limit and op.takes_cursor)]
# Everything the OpenAPI says answers `{items: [...]}`: api.md's lists, unless one of the few below.
LISTS = [op for op in OPERATIONS if op.returns.get("items", {}).get("type") == "array"]
# Answers with `items` that are not lists of what the platform holds, so not paged by design: the best few, ranked.
RANKED = {
    "/v1/jobs/{job_id}/matches": "api.md: `?limit=&min_score=`, the best matches ranked",
    "/v1/workers/{worker_id}/matches": "api.md: `?limit=&min_score=`, the best matches ranked",
    "/v1/kiosk/suggest": "typeahead: the best few completions of what was typed",
    "/v1/occupations/suggest": "typeahead: the best few completions of what was typed",
}
# Answered whole by design, though the answer has `items`.
WHOLE = {"/v1/stats/trend": "one series, at most one row per period of a kind; refuses limit and cursor"}


def test_the_walk_finds_the_lists() -> None:
    # A guard on the walk itself: were the OpenAPI document read wrongly, every check below would pass vacuously.
    paths = {op.path for op in CURSORED}
    assert {"/v1/workers", "/v1/jobs", "/v1/orgs/{org_id}/keys", "/v1/stats/periods", "/v1/stats/supply-demand",
            "/v1/stats/transfers", "/v1/kiosk/search"} <= paths
    assert "/v1/stats/trend" not in paths
    assert {"/v1/workers", "/v1/placements/reminders", "/v1/regions", "/v1/jobs/{job_id}/matches"} <= {
        op.path for op in LISTS}
    assert set(RANKED) | set(WHOLE) <= {op.path for op in LISTS}, "an exemption names a list that is gone"
    assert {"/v1/placements/{placement_id}", "/v1/stats/trend", "/v1/kiosk/suggest"} <= {
        op.path for op in NOT_FULLY_PAGED if op.secured}


@pytest.mark.parametrize("op", [op for op in LISTS if op.path not in RANKED and op.path not in WHOLE], ids=str)
def test_a_list_takes_the_contracts_limit_and_cursor(op: Operation) -> None:
    # api.md: `?limit=` (default 20, max 100), an opaque `cursor`, `{items, next_cursor}`. A list without the
    # cursor (or with a larger default) once showed a broker its first 100 reminders and never the 101st.
    limit = op.query.get("limit", {}).get("schema", {})
    assert (limit.get("default"), limit.get("minimum"), limit.get("maximum")) == (20, 1, 100), f"{op}: {limit}"
    assert op.takes_cursor, f"{op} answers items but takes no cursor: what lies past its first page is unreachable"
    assert "next_cursor" in op.returns, f"{op}: the OpenAPI answer has no next_cursor"


@pytest.mark.parametrize("op", [op for op in LISTS if op.path in WHOLE], ids=str)
def test_a_whole_answer_takes_neither_limit_nor_cursor(op: Operation) -> None:
    assert (op.takes_limit, op.takes_cursor) == (False, False), f"{op} is paged now: drop it from WHOLE"


@pytest.mark.parametrize("op", [op for op in LISTS if op.path in RANKED], ids=str)
def test_a_ranked_answer_takes_a_bounded_limit_and_no_cursor(op: Operation) -> None:
    limit = op.query.get("limit", {}).get("schema", {})
    assert (limit.get("minimum"), limit.get("maximum") is not None) == (1, True), f"{op}: {limit}"
    assert not op.takes_cursor, f"{op} takes a cursor: page it like a list and drop it from RANKED"


@dataclass
class World:
    keys: list[OrgKey]  # tried in this order; the first one the endpoint answers is used
    path_values: dict[str, str]


# Query parameters an endpoint requires; filled in with a value it accepts.
_QUERY_VALUES = {"period": month_of(datetime.now(UTC)).label, "level": "county", "q": "焊工"}


@pytest.fixture
async def world(db: asyncpg.Connection, client: httpx.AsyncClient, admin: OrgKey, make_org: MakeOrg) -> World:
    broker = await make_org("broker")
    enterprise = await make_org("enterprise")
    authority = await make_org("authority", province="CQ")
    kiosk = await make_org("kiosk")
    version = await publish_catalogue(db, sample_catalogue())
    await compute_period(db, month_of(datetime.now(UTC)))
    webhook = await client.post("/v1/webhooks", headers=broker.headers,
                                json={"url": "http://127.0.0.1:9/hook", "events": ["match.created"]})
    assert webhook.status_code == 201, webhook.text
    return World(keys=[broker, enterprise, authority, kiosk, admin],
                 path_values={"org_id": broker.org_id, "webhook_id": webhook.json()["id"], "version": str(version),
                              # Unknown objects: a bad `limit` is refused before the object is looked up.
                              "worker_id": str(uuid4()), "job_id": str(uuid4())})


def _url(op: Operation, world: World) -> str:
    url = op.path
    for name in op.path_params:
        assert name in world.path_values, f"{op.path}: no value for path parameter {name!r}; add one to the world"
        url = url.replace("{" + name + "}", world.path_values[name])
    return url


def _required_query(op: Operation) -> dict[str, str]:
    required = {name for name, p in op.query.items() if p.get("required")}
    missing = required - set(_QUERY_VALUES)
    assert not missing, f"{op.path}: no value for required query parameter(s) {missing}; add to _QUERY_VALUES"
    return {name: _QUERY_VALUES[name] for name in required}


async def _get(client: httpx.AsyncClient, op: Operation, world: World, key: OrgKey,
               **params: str) -> httpx.Response:
    return await client.get(_url(op, world), params={**_required_query(op), **params}, headers=key.headers)


async def _caller(client: httpx.AsyncClient, op: Operation, world: World, *, answered: bool) -> OrgKey:
    """The first key whose role may call the endpoint (`answered`: and that gets a 200 with the world's objects)."""
    statuses = []
    for key in world.keys:
        status = (await _get(client, op, world, key)).status_code
        statuses.append((key.type, status))
        if status == 200 or (not answered and status not in (401, 403)):
            return key
    raise AssertionError(f"{op.path}: no key of the world is answered: {statuses}")


def _assert_refused(response: httpx.Response, field: str, what: str) -> None:
    assert response.status_code in (400, 422), f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), what
    fields = [e["field"] for e in response.json().get("errors") or []]
    assert field in fields, f"{what}: errors name {fields}"


@pytest.mark.parametrize("op", LIMITED, ids=str)
async def test_a_bad_limit_is_a_problem_naming_it(op: Operation, client: httpx.AsyncClient, world: World) -> None:
    key = await _caller(client, op, world, answered=False)
    # A good limit is taken (a route reading its query string itself once had it refused as undeclared).
    good = await _get(client, op, world, key, limit="1")
    assert good.status_code != 422, f"{op.path}?limit=1: {good.text}"
    for limit in ("0", "101", "abc", "-1", "1.5", ""):
        _assert_refused(await _get(client, op, world, key, limit=limit), "limit", f"{op.path}?limit={limit}")


# Endpoints whose JSON answer the OpenAPI leaves undescribed: whether they answer `items` is seen by asking.
UNDESCRIBED = [op for op in OPERATIONS if not op.returns and not op.path_params]


@pytest.mark.parametrize("op", UNDESCRIBED, ids=str)
async def test_an_undescribed_answer_with_items_is_paged_too(op: Operation, client: httpx.AsyncClient,
                                                             world: World) -> None:
    key = await _caller(client, op, world, answered=True)
    response = await _get(client, op, world, key)
    body = response.json() if response.headers["content-type"].startswith("application/json") else None
    if not isinstance(body, dict) or "items" not in body:
        return
    limit = op.query.get("limit", {}).get("schema", {})
    assert (limit.get("default"), limit.get("maximum"), op.takes_cursor) == (20, 100, True), f"{op}: {limit}"
    assert "next_cursor" in body, f"{op}: {sorted(body)}"


@pytest.mark.parametrize("op", CURSORED, ids=str)
async def test_a_cursor_not_ours_for_this_list_is_a_problem_naming_it(op: Operation, client: httpx.AsyncClient,
                                                                      world: World, settings: ApiSettings) -> None:
    key = await _caller(client, op, world, answered=True)
    secret = settings.cursor_secret.get_secret_value()
    position = Position(created_at=datetime.now(UTC), id=uuid4())
    cursors = {
        "forged": "eyJmb3JnZWQiOnRydWV9.c2lnbmF0dXJl",
        "not base64": "!!!.???",
        "truncated": encode_cursor(secret, "workers", position)[:-3],
        # Signed by us, for another list: a keyset position, and another payload shape.
        "another list's": encode_cursor(secret, "some-other-list", position),
        "another list's payload": sign_payload(secret, "some-other-list", b'["2026-11-01T00:00:00+00:00", 20]'),
        # Signed under a secret since rotated: expired, whatever it says.
        "expired": encode_cursor("a-secret-rotated-away", "workers", position),
    }
    for what, cursor in cursors.items():
        _assert_refused(await _get(client, op, world, key, cursor=cursor), "cursor", f"{op.path}: {what} cursor")


def _any_url(op: Operation) -> str:
    url = op.path
    for name in op.path_params:
        url = url.replace("{" + name + "}", "1")
    return url


@pytest.mark.parametrize("op", NOT_FULLY_PAGED, ids=str)
async def test_an_endpoint_refuses_the_paging_parameters_it_does_not_take(op: Operation, client: httpx.AsyncClient,
                                                                          make_org: MakeOrg) -> None:
    # Refused before the role and the path are looked at: the same answer for every caller with a key.
    key = await make_org("broker")
    for name, value in (("limit", "5"), ("cursor", "abc")):
        if name in op.query:
            continue
        _assert_refused(await client.get(_any_url(op), params={name: value}, headers=key.headers), name,
                        f"{op.path}?{name}=")


@pytest.mark.parametrize("op", NOT_FULLY_PAGED, ids=str)
async def test_without_a_key_the_answer_is_401_whatever_the_paging_parameters(op: Operation,
                                                                              client: httpx.AsyncClient) -> None:
    # The refusal is a dependency FastAPI runs before the route's own: it answered 422 to a request without a
    # key, which every other parameter check leaves to the 401 (api.md: a missing or invalid key is a 401).
    for headers in ({}, {"Authorization": "Bearer bb_" + "x" * 43}):
        for name, value in (("limit", "5"), ("cursor", "abc")):
            if name in op.query:
                continue
            response = await client.get(_any_url(op), params={name: value}, headers=headers)
            if op.secured:
                assert response.status_code == 401, f"{op.path}?{name}= {headers}: {response.text}"
                assert response.headers["content-type"].startswith("application/problem+json")
            else:
                _assert_refused(response, name, f"{op.path}?{name}= (needs no key)")


async def test_a_page_for_people_keeps_its_link_whatever_the_query(client: httpx.AsyncClient) -> None:
    # Only the API's endpoints refuse `limit`/`cursor`: a shared link to the kiosk page still opens it.
    assert (await client.get("/kiosk", params={"cursor": "abc", "limit": "5"})).status_code == 200
