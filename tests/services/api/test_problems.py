"""Every error path answers RFC 9457 problem details, never a bare 500 with internals."""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg, OrgKey
from tests.services.api.imports.rows import id_number
from tests.services.indexing.pipeline import run_worker_burst


def _assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://")
    assert problem["title"]
    assert problem["request_id"]
    return problem


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient, admin: OrgKey) -> None:
    response = await client.post("/v1/orgs", content=b'{"type": "broker",', headers={
        **admin.headers, "content-type": "application/json"})
    problem = _assert_problem(response, 422)
    [error] = problem["errors"]  # type: ignore[misc]
    assert error["field"] == "body"  # not the character offset FastAPI locates it with
    assert "JSON" in error["message"]
    assert "at character 18" in error["message"]
    assert problem["code"] == "json_syntax"


async def test_malformed_json_over_several_lines_says_line_and_column(client: httpx.AsyncClient,
                                                                      admin: OrgKey) -> None:
    body = '{\n  "type": "broker",\n  "name": 张三\n}'.encode()
    response = await client.post("/v1/orgs", content=body, headers={**admin.headers,
                                                                    "content-type": "application/json"})
    problem = _assert_problem(response, 422)
    assert problem["code"] == "json_syntax"
    assert "not valid JSON" in problem["detail"]  # type: ignore[operator]
    [error] = problem["errors"]  # type: ignore[misc]
    assert "line 3, column 11" in error["message"], error


GBK_NAME = '{"name": "张三"}'.encode("gbk")


@pytest.mark.parametrize(("path", "role", "table"), [("/v1/workers", "broker", "worker_profiles"),
                                                     ("/v1/jobs", "enterprise", "job_postings")])
async def test_a_body_that_is_not_utf8_says_so(client: httpx.AsyncClient, make_org: MakeOrg, db: asyncpg.Connection,
                                               path: str, role: str, table: str) -> None:
    org = await make_org(role)
    # A GBK body (as Windows tools in China often send) was FastAPI's bare "There was an error parsing the body".
    for content_type in ("application/json", "application/json; charset=gbk"):
        response = await client.post(path, content=GBK_NAME, headers={**org.headers, "content-type": content_type})
        problem = _assert_problem(response, 400)
        assert problem["code"] == "encoding"
        assert "UTF-8" in problem["detail"]  # type: ignore[operator]
        assert "GBK" in problem["detail"]  # type: ignore[operator]
        assert problem["errors"] == [{"field": "body", "message": problem["detail"]}]
        assert "张三".encode("gbk").decode("latin-1") not in response.text  # the bytes are not echoed
    patched = await client.patch(f"{path}/{uuid.uuid4()}", content=GBK_NAME,
                                 headers={**org.headers, "content-type": "application/json"})
    assert _assert_problem(patched, 400)["code"] == "encoding"
    assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0


@pytest.mark.parametrize(("content", "content_type", "code"), [
    (b"", "application/json", "empty"),
    (b"", None, "empty"),
    (b"[]", "application/json", "not_an_object"),
    (b"null", "application/json", "not_an_object"),
    (b'{"type": "broker"}', "text/plain", "not_an_object"),  # not read as JSON at all
])
async def test_a_missing_or_non_object_body_is_named_as_such(client: httpx.AsyncClient, admin: OrgKey,
                                                            content: bytes, content_type: str | None,
                                                            code: str) -> None:
    headers = {**admin.headers, **({"content-type": content_type} if content_type else {})}
    problem = _assert_problem(await client.post("/v1/orgs", content=content, headers=headers), 422)
    assert problem["code"] == code
    # Bilingual and about the body, not pydantic's English "Input should be a valid dictionary" or a bare "required".
    assert problem["errors"] == [{"field": "body", "message": problem["detail"]}]
    assert "JSON" in problem["detail"]  # type: ignore[operator]
    assert "请求体" in problem["detail"]  # type: ignore[operator]


async def test_json_nested_too_deeply_says_so(client: httpx.AsyncClient, admin: OrgKey) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000  # within the size limit; Python's decoder gives up (RecursionError)
    response = await client.post("/v1/orgs", content=deep, headers={**admin.headers,
                                                                    "content-type": "application/json"})
    assert _assert_problem(response, 400)["code"] == "json_too_deep"


def test_extension_members_never_replace_the_standard_ones() -> None:
    from starlette.requests import Request

    from services.api.problems import Conflict, problem_response

    request = Request({"type": "http", "method": "POST", "path": "/v1/x", "headers": [], "query_string": b"",
                       "state": {"request_id": "r1"}})
    exc = Conflict("d", extra={"status": "closed", "title": "t", "reason": "why"})
    response = problem_response(request, status=exc.status, slug=exc.slug, title=exc.title, detail=exc.detail,
                                extra=exc.extra)
    body = orjson.loads(response.body)
    assert (body["status"], body["title"], body["reason"]) == (409, Conflict.title, "why")


def test_field_errors_carry_our_messages_without_pydantics_prefixes() -> None:
    from pydantic import BaseModel, ValidationError, model_validator

    from services.api.problems import FieldError, field_errors

    class Shape(BaseModel):
        low: int
        high: int

        @model_validator(mode="after")
        def _ordered(self) -> Shape:
            if self.low > self.high:  # pydantic reads an AssertionError as an assert's ("Assertion failed, …")
                raise AssertionError("下限高于上限 / low above high")
            if self.low < 0:
                raise ValueError("不能为负 / must not be negative")
            return self

    for data, field, message in (({"low": 2, "high": 1}, "body", "下限高于上限 / low above high"),
                                 ({"low": -1, "high": 1}, "body", "不能为负 / must not be negative"),
                                 ({"low": 1}, "high", "必填 / required")):
        with pytest.raises(ValidationError) as caught:
            Shape.model_validate(data)
        assert field_errors(caught.value) == [FieldError(field=field, message=message)]


async def test_wrong_types_are_listed(client: httpx.AsyncClient, admin: OrgKey) -> None:
    response = await client.post("/v1/orgs", headers=admin.headers, json={"type": 5, "name": ["x"]})
    problem = _assert_problem(response, 422)
    assert {e["field"] for e in problem["errors"]} >= {"type", "name"}  # type: ignore[attr-defined]


async def test_query_parameters_are_named_as_body_fields_are(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    # Bare, as api.md names them and as the services' own checks name them: a list's bad `limit` was
    # `query.limit` while its bad `cursor` was `cursor`.
    broker = await make_org("broker")
    bad_limit = _assert_problem(await client.get("/v1/workers", params={"limit": 1000}, headers=broker.headers), 422)
    bad_cursor = _assert_problem(await client.get("/v1/workers", params={"cursor": "x"}, headers=broker.headers), 422)
    assert [e["field"] for e in bad_limit["errors"]] == ["limit"]  # type: ignore[attr-defined]
    assert [e["field"] for e in bad_cursor["errors"]] == ["cursor"]  # type: ignore[attr-defined]
    # A body field named `query` (a subscription's filters) is still told apart from the query string.
    problem = _assert_problem(await client.post("/v1/subscriptions", headers=broker.headers, json={
        "kind": "jobs", "query": {"q": 5}, "channel": "inbox", "digest": "instant"}), 422)
    assert all(e["field"].startswith("query.") for e in problem["errors"]), problem  # type: ignore[attr-defined]


async def test_oversize_body_is_413(client: httpx.AsyncClient, admin: OrgKey, settings: object) -> None:
    big = b'{"type": "enterprise", "name": "' + b"x" * 2_000_000 + b'"}'
    response = await client.post("/v1/orgs", content=big,
                                 headers={**admin.headers, "content-type": "application/json"})
    _assert_problem(response, 413)


async def test_oversize_streamed_body_without_length_is_413(client: httpx.AsyncClient, admin: OrgKey) -> None:
    async def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post("/v1/orgs", content=chunks(),
                                 headers={**admin.headers, "content-type": "application/json"})
    _assert_problem(response, 413)


async def test_unknown_path_and_method(client: httpx.AsyncClient) -> None:
    _assert_problem(await client.get("/v1/nothing-here"), 404)
    _assert_problem(await client.put("/healthz"), 405)


async def test_a_405_allows_every_method_the_path_serves(client: httpx.AsyncClient) -> None:
    # One route per method: the answer names all of the path's routes, not the first one matched.
    # HEAD wherever GET is (services/api/middleware.py, HeadAsGetMiddleware).
    for path, allowed in (("/v1/workers", {"GET", "HEAD", "POST"}),
                          ("/v1/workers/00000000-0000-4000-8000-000000000000", {"GET", "HEAD", "PATCH", "DELETE"}),
                          ("/healthz", {"GET", "HEAD"}), ("/v1/placements/00000000-0000-4000-8000-000000000000/accept",
                                                          {"POST"})):
        response = await client.put(path)
        _assert_problem(response, 405)
        assert set(response.headers["allow"].split(", ")) == allowed, path
    # A path without GET has no HEAD either: its 405, headers only.
    head = await client.head("/v1/placements/00000000-0000-4000-8000-000000000000/accept")
    assert (head.status_code, head.content, head.headers["allow"]) == (405, b"", "POST")


async def test_unexpected_error_is_500_without_internals(settings: ApiSettings) -> None:
    application = create_app(settings)

    @application.get("/boom-for-test")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    async with LifespanManager(application) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://testserver") as http:
        response = await http.get("/boom-for-test")
    problem = _assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_a_data_error_that_is_not_bad_text_stays_a_500(settings: ApiSettings) -> None:
    # The handler that answers unencodable text with a 422 must not turn every DataError into the client's fault.
    application = create_app(settings)

    @application.get("/data-error-for-test")
    async def data_error() -> None:
        raise asyncpg.DataError("invalid input for query argument $1: 10**30 (value out of int32 range)")

    async with LifespanManager(application) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url="http://testserver") as http:
        response = await http.get("/data-error-for-test")
    problem = _assert_problem(response, 500)
    assert "int32" not in response.text
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_errors_are_documented_in_openapi_as_problems(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    responses = spec["paths"]["/v1/orgs"]["post"]["responses"]
    assert {"400", "401", "403", "422"} <= set(responses)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    errors = 0
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if int(status) >= 400:
                    # One exception: the public posting page for phones answers a missing posting with a page.
                    if (operation["operationId"], status) == ("public_job_page_jobs__job_id__get", "404"):
                        assert set(response["content"]) == {"text/html"}
                        continue
                    assert response["content"] == problem, (operation["operationId"], status)
                    errors += 1
    assert errors > 100
    # What the middleware and the catch-all handler answer for any route is listed on every route it reaches:
    # 413 for any body (POST/PUT/PATCH), 500 (a problem, never bare) everywhere.
    for path, path_item in spec["paths"].items():
        for method, operation in path_item.items():
            listed = set(operation["responses"])
            assert "500" in listed, (method, path)
            if method in ("post", "put", "patch"):
                assert "413" in listed, (method, path)
    # FastAPI's own validation error shape is never sent, so it is not documented either; nothing dangles.
    text = (await client.get("/openapi.json")).text
    assert "HTTPValidationError" not in text
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert name in spec["components"]["schemas"], name


async def test_an_upload_s_400_is_documented_as_the_form_it_could_not_parse(client: httpx.AsyncClient,
                                                                            make_org: MakeOrg) -> None:
    # An upload's body is never decoded as JSON, yet its 400 was documented as "not UTF-8 or JSON nested too
    # deeply"; what answers 400 there is a malformed form (a fuzzer sent six form fields and got "Too many fields").
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/v1/workers/imports", "/v1/jobs/imports", "/v1/catalogue/drafts/{version}/import"):
        description = paths[path]["post"]["responses"]["400"]["description"]
        assert "multipart/form-data" in description, path
        assert "JSON" not in description, path
    assert "JSON nested too deeply" in paths["/v1/workers"]["post"]["responses"]["400"]["description"]
    broker = await make_org("broker")
    for content_type, body in (("multipart/form-data", b"--x\r\n"), ("multipart/form-data; boundary=x", b"garbage"),
                               ("multipart/form-data; boundary=x", b"".join(
                                   b'--x\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i
                                   for i in range(6)) + b"--x--\r\n")):
        response = await client.post("/v1/workers/imports", content=body,
                                     headers={**broker.headers, "Content-Type": content_type})
        _assert_problem(response, 400)


@pytest.mark.parametrize("label", ["a\x00b", "\x00"])
async def test_text_postgresql_cannot_store_is_a_422_problem(client: httpx.AsyncClient, admin: OrgKey,
                                                             label: str) -> None:
    # U+0000 passes JSON and model validation but PostgreSQL refuses it: bad input, never a 500.
    response = await client.post(f"/v1/orgs/{admin.org_id}/keys", headers=admin.headers, json={"label": label})
    problem = _assert_problem(response, 422)
    assert "\x00" not in response.text
    assert problem["type"].endswith("/validation")  # type: ignore[union-attr]


async def test_unstorable_text_in_jsonb_is_a_422_problem(client: httpx.AsyncClient, make_org: MakeOrg) -> None:
    broker = await make_org("broker")
    response = await client.post("/v1/subscriptions", headers=broker.headers, json={
        "kind": "jobs", "query": {"q": "焊工\x00"}, "channel": "inbox", "digest": "instant"})
    _assert_problem(response, 422)


async def test_a_request_that_does_not_validate_is_told_so_in_chinese_too(client: httpx.AsyncClient,
                                                                         admin: OrgKey) -> None:
    # The services' own checks said "1 个字段无效 / 1 field(s) invalid"; the request schema said it in English only.
    response = await client.post("/v1/orgs", json={"type": "nope", "name": "某劳务公司"}, headers=admin.headers)
    problem = _assert_problem(response, 422)
    count = len(problem["errors"])  # type: ignore[arg-type]
    assert problem["detail"] == f"{count} 个字段无效 / {count} field(s) invalid"


async def test_a_personal_number_given_where_a_key_or_code_belongs_is_not_echoed(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings) -> None:
    # A body keyed by the person ({"<ID number>": "<phone>"}: a tool that sent its lookup table) was refused
    # with the key as the error's `field`, and a subscription's adcode list quoted what was wrong with it: a
    # problem echoed the ID number or phone as typed (api.md: never in error messages).
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    person, phone = id_number("500107", "19900101", 123), "13812345678"
    keyed = await client.post("/v1/workers", json={"name": "张德旺", person: phone, phone: person},
                              headers=broker.headers)
    subscribed = await client.post("/v1/subscriptions", headers=enterprise.headers,
                                   json={"kind": "workers", "query": {"adcode": [person, phone]}})
    uploaded = await client.post("/v1/workers/imports", content=orjson.dumps({"name": "张德旺", person: 1}) + b"\n",
                                 headers={**broker.headers, "Content-Type": "application/x-ndjson"})
    assert uploaded.status_code == 202, uploaded.text
    await run_worker_burst(settings)
    imported = await client.get(f"/v1/workers/imports/{uploaded.json()['import_id']}", headers=broker.headers)
    assert (keyed.status_code, subscribed.status_code, imported.status_code) == (422, 422, 200)
    assert imported.json()["rejected"] == 1, imported.text
    fields = {e["field"] for e in keyed.json()["errors"]}
    # The keys are still named, masked as responses mask the numbers.
    assert {person[:6] + "********" + person[-4:], "138****5678"} <= fields, fields
    for answer in (keyed, subscribed, imported):
        assert person not in answer.text, answer.text
        assert phone not in answer.text, answer.text
