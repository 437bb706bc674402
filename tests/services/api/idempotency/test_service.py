"""An Idempotency-Key reused for another request is a 409 a client can tell from the create's own 409s."""

from __future__ import annotations

import re

import httpx

from tests.conftest import MakeOrg, OrgKey
from tests.services.api.worker_profiles.test_worker_profiles import worker_body


async def test_a_key_reused_for_another_body_or_path_says_so_in_reason(client: httpx.AsyncClient,
                                                                      make_org: MakeOrg) -> None:
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    headers = {**broker.headers, "Idempotency-Key": "crm-sync-7"}
    assert (await client.post("/v1/workers", json=worker_body(), headers=headers)).status_code == 201
    other_body = await client.post("/v1/workers", json=worker_body(skills=["电焊"]), headers=headers)
    other_path = await client.post("/v1/subscriptions", json={"kind": "jobs"}, headers=headers)
    for refused in (other_body, other_path):
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["reason"] == "idempotency_key_reused"
    # The create's own conflict (the same person again, without a key) reads differently.
    duplicate = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json().get("reason") != "idempotency_key_reused"
    # Keys are per organisation: another one's same key creates.
    reused_elsewhere = await client.post("/v1/subscriptions", json={"kind": "workers"},
                                         headers={**enterprise.headers, "Idempotency-Key": "crm-sync-7"})
    assert reused_elsewhere.status_code == 201, reused_elsewhere.text


async def test_a_replay_is_the_first_answer_byte_for_byte(client: httpx.AsyncClient, make_org: MakeOrg,
                                                          admin: OrgKey) -> None:
    # The stored answer was read back from jsonb, which orders an object's keys by length: the replay carried
    # the same values with its fields (top-level and nested) in another order than the first answer.
    broker = await make_org("broker")
    for org, path, body in (
        (broker, "/v1/workers", worker_body()),  # name and notes stored sealed
        (admin, "/v1/orgs", {"type": "enterprise", "name": "重庆机电"}),  # a nested org, the key sealed
        (broker, "/v1/subscriptions", {"kind": "jobs"}),
    ):
        headers = {**org.headers, "Idempotency-Key": f"bytes-{path}"}
        first = await client.post(path, json=body, headers=headers)
        assert first.status_code == 201, first.text
        replay = await client.post(path, json=body, headers=headers)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.status_code == first.status_code
        assert replay.content == first.content, path


async def test_the_document_refuses_the_blank_keys_the_api_refuses(client: httpx.AsyncClient,
                                                                    make_org: MakeOrg) -> None:
    # The header was documented as any string up to 200 characters; a fuzzer sent "" and " " from that and got 422.
    spec = (await client.get("/openapi.json")).json()["paths"]
    documented = [(path, method, parameter["schema"]) for path, item in spec.items() for method, operation
                  in item.items() for parameter in operation.get("parameters", [])
                  if parameter["name"] == "Idempotency-Key"]
    assert len(documented) >= 9  # every create: workers, jobs, placements, orgs, keys, drafts, imports, …
    for path, method, schema in documented:
        pattern = schema.get("pattern")
        assert pattern is not None, (method, path)
        assert re.search(pattern, "crm-sync-7"), (method, path)
        assert not any(re.search(pattern, blank) for blank in ("", " ", "\t")), (method, path)
    broker = await make_org("broker")
    for blank in ("", " "):
        refused = await client.post("/v1/subscriptions", json={"kind": "jobs"},
                                    headers={**broker.headers, "Idempotency-Key": blank})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
