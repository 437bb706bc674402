"""A rule about several fields names each of them: it was answered as field "body" (or as the nested model,
`wage`), which told a client nothing about what to correct."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator, model_validator

from services.api.problems import FieldError, field_errors, fields_conflict
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.jobs.test_jobs import job_body
from tests.services.api.worker_profiles.test_worker_profiles import worker_body

WAGE_ORDER = "工资下限不能高于上限 / wage min must not exceed max"


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


def test_a_conflict_is_located_at_each_field_from_either_kind_of_validator() -> None:
    class Inner(BaseModel):
        low: int
        high: int

        @model_validator(mode="after")
        def _ordered(self) -> Inner:
            if self.low > self.high:
                raise fields_conflict("下限高于上限 {不是占位符} / low above high", "low", "high")
            return self

    class Outer(BaseModel):
        start: int
        end: int
        inner: Inner | None = None

        @field_validator("end")
        @classmethod
        def _after_start(cls, end: int, info: ValidationInfo) -> int:
            if end < info.data.get("start", end):
                raise fields_conflict("结束早于开始 / end before start", "start", "end")
            return end

    with pytest.raises(ValidationError) as caught:
        Outer.model_validate({"start": 2, "end": 1, "inner": {"low": 2, "high": 1}})
    assert field_errors(caught.value) == [
        FieldError(field="start", message="结束早于开始 / end before start"),
        FieldError(field="end", message="结束早于开始 / end before start"),
        FieldError(field="inner.low", message="下限高于上限 {不是占位符} / low above high"),
        FieldError(field="inner.high", message="下限高于上限 {不是占位符} / low above high"),
    ]


async def test_a_wage_names_min_and_max_on_post_and_patch(client: httpx.AsyncClient, enterprise: OrgKey,
                                                         broker: OrgKey) -> None:
    upside_down = {"min": 9000, "max": 6500, "unit": "month"}
    posted = await client.post("/v1/jobs", json=job_body(wage=upside_down), headers=enterprise.headers)
    assert _fields(posted) == ["wage.min", "wage.max"]
    assert {e["message"] for e in posted.json()["errors"]} == {WAGE_ORDER}
    job = await client.post("/v1/jobs", json=job_body(), headers=enterprise.headers)
    assert job.status_code == 201, job.text
    patched = await client.patch(f"/v1/jobs/{job.json()['id']}", json={"wage": upside_down},
                                 headers=enterprise.headers)
    assert _fields(patched) == ["wage.min", "wage.max"]
    worker = await client.post("/v1/workers", json=worker_body(expected_wage=upside_down), headers=broker.headers)
    assert _fields(worker) == ["expected_wage.min", "expected_wage.max"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"type": "broker"}, ["type", "licence"]),
    ({"type": "enterprise", "licence": {"number": "渝人服证字〔2024〕第0002号", "issuer_province": "CQ",
                                        "valid_until": "2027-12-31"}}, ["type", "licence"]),
    ({"type": "authority"}, ["type", "province"]),
    ({"type": "enterprise", "kiosk_adcode": "500107"}, ["type", "kiosk_adcode"]),
])
async def test_an_organisation_names_the_type_and_the_field_it_conflicts_with(
        client: httpx.AsyncClient, admin: OrgKey, body: dict[str, Any], fields: list[str]) -> None:
    response = await client.post("/v1/orgs", json={"name": "某机构", **body}, headers=admin.headers)
    assert _fields(response) == fields


async def test_a_credit_adjustment_names_source_and_points(client: httpx.AsyncClient, make_org: MakeOrg,
                                                          broker: OrgKey) -> None:
    authority = await make_org("authority", province="CQ")
    for body, fields in (({"points": 0, "reason": "零分"}, ["points"]),
                         ({"reason": "未写分值"}, ["source", "points"]),
                         ({"points": 5, "source": "consent_problem", "reason": "符号不对"}, ["source", "points"])):
        response = await client.post(f"/v1/credit/{broker.org_id}/adjustments", json=body,
                                     headers=authority.headers)
        assert _fields(response) == fields, body
