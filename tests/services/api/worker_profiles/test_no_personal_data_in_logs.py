"""Personal data never reaches the logs: across a profile's life (creation, a refused profile, a read with a
purpose, an import with row errors, erasure) no log line holds a person's name, ID number, phone or notes."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import structlog

from services.api.logging_setup import configure_logging
from services.api.settings import ApiSettings
from tests.conftest import MakeOrg
from tests.services.api.imports.rows import to_csv, worker_row
from tests.services.api.notifications.conftest import FAST
from tests.services.api.placements.support import act, make_job
from tests.services.api.worker_profiles.test_worker_profiles import ID_NUMBER, NAME, PHONE, make_id_number, worker_body
from tests.services.indexing.pipeline import run_worker_burst


@pytest.fixture
def settings(settings: ApiSettings) -> ApiSettings:
    # The production format (JSON lines), at the most talkative level.
    return settings.model_copy(update={"log_json": True, "log_level": "DEBUG"})


async def test_no_personal_data_in_any_log_line(client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings,
                                                capsys: pytest.CaptureFixture[str],
                                                caplog: pytest.LogCaptureFixture) -> None:
    broker = await make_org("broker")
    valid = make_id_number(seq="246")
    refused_body = worker_body(name="王秀英", id_number=valid[:-1] + ("0" if valid[-1] != "0" else "1"),
                               phone="13998765432", notes="有高血压，需按时服药", home_adcode="999999")
    rows = [worker_row(n) for n in range(1, 5)]
    rows[1]["手机号"] = "1380013800"  # a digit short
    rows[2]["身份证号"] = rows[2]["身份证号"][:-1] + ("0" if rows[2]["身份证号"][-1] != "0" else "1")
    secrets = [NAME, ID_NUMBER, PHONE, worker_body()["notes"], *(refused_body[k] for k in ("name", "id_number",
               "phone", "notes")), *(row[k] for row in rows for k in ("姓名", "身份证号", "手机号"))]

    # The app's own logging configuration (the worker's startup makes it again), pointed at the stream capsys
    # captures while the test runs; the app's setup-time one is put back before the app is torn down.
    saved = structlog.get_config()
    configure_logging(json_lines=settings.logs_as_json, level=settings.log_level)
    caplog.set_level(logging.DEBUG)
    try:
        created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
        assert created.status_code == 201, created.text
        worker_id = created.json()["id"]
        refused = await client.post("/v1/workers", json=refused_body, headers=broker.headers)
        assert refused.status_code == 422, refused.text
        read = await client.get(f"/v1/workers/{worker_id}/personal-data", params={"purpose": "签合同"},
                                headers=broker.headers)
        assert read.status_code == 200, read.text
        upload = await client.post("/v1/workers/imports", content=to_csv(rows).encode(),
                                   headers={**broker.headers, "Content-Type": "text/csv"})
        assert upload.status_code == 202, upload.text
        await run_worker_burst(settings)
        status = await client.get(f"/v1/workers/imports/{upload.json()['import_id']}", headers=broker.headers)
        assert (status.json()["status"], status.json()["created"], status.json()["rejected"]) == ("completed", 2, 2)
        erased = await client.delete(f"/v1/workers/{worker_id}", headers=broker.headers)
        assert erased.status_code == 200, erased.text
        await run_worker_burst(settings)
        captured = capsys.readouterr()
    finally:
        structlog.configure(**saved)

    lines = (captured.out + captured.err).splitlines() + [r.getMessage() for r in caplog.records]
    events = [json.loads(line) for line in lines if line.startswith("{")]
    requests = {(e["method"], e["path"], e["status"]) for e in events if e["event"] == "request"}
    # Every step was logged (nothing passes for want of lines) …
    assert {("POST", "/v1/workers", 201), ("POST", "/v1/workers", 422),
            ("GET", f"/v1/workers/{worker_id}/personal-data", 200), ("POST", "/v1/workers/imports", 202),
            ("DELETE", f"/v1/workers/{worker_id}", 200)} <= requests
    assert "import.finished" in {e["event"] for e in events}
    # … and no line holds any of the values, as written or JSON-escaped.
    for secret in secrets:
        for form in {secret, json.dumps(secret)[1:-1]}:
            assert not [line for line in lines if form in line], secret


async def test_an_id_number_or_phone_in_the_url_is_masked_in_the_log_and_the_problem(
    client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, capsys: pytest.CaptureFixture[str],
) -> None:
    # A broker's tool that looks a person up by ID number or phone (GET /v1/workers/<ID number>) gets a 422 or
    # 404, but the request line logged the path as sent, and the problem's `instance` repeated it.
    broker = await make_org("broker")
    id_number, id_15 = make_id_number(seq="913"), "500107850307124"
    paths = [f"/v1/workers/{id_number}", f"/v1/workers/{id_15}/personal-data", f"/v1/workers/{PHONE}",
             f"/v1/no-such/{id_number.lower()}"]
    saved = structlog.get_config()
    configure_logging(json_lines=settings.logs_as_json, level=settings.log_level)
    capsys.readouterr()  # only these requests' lines: setting up the broker logged its own
    try:
        answers = [await client.get(path, headers=broker.headers) for path in paths]
        captured = capsys.readouterr()
    finally:
        structlog.configure(**saved)

    for answer in answers:
        assert answer.status_code in (404, 422), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    events = [json.loads(line) for line in (captured.out + captured.err).splitlines() if line.startswith("{")]
    logged = sorted(e["path"] for e in events if e["event"] == "request")
    assert logged == sorted([f"/v1/workers/{id_number[:6]}********{id_number[-4:]}",
                             f"/v1/workers/{id_15[:6]}*****{id_15[-4:]}/personal-data",
                             f"/v1/workers/{PHONE[:3]}****{PHONE[-4:]}",
                             f"/v1/no-such/{id_number[:6]}********{id_number[-4:].lower()}"])
    for secret in (id_number, id_number.lower(), id_15, PHONE):
        assert secret not in captured.out + captured.err
        assert not [a for a in answers if secret in a.text]
    # A UUID is never taken for one (no group of a UUID has 11, 15 or 18 characters).
    worker_id = "12345678-1234-1234-1234-123456789012"
    missing = await client.get(f"/v1/workers/{worker_id}", headers=broker.headers)
    assert missing.json()["instance"] == f"/v1/workers/{worker_id}"


async def test_no_personal_data_in_the_logs_of_the_other_flows(
        client: httpx.AsyncClient, make_org: MakeOrg, settings: ApiSettings, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    # The flows the first test does not walk: a duplicate person, PATCHes (refused and accepted), a match notice
    # whose webhook cannot be reached and whose text goes to the worker, a placement with notes naming the
    # person, a report quoting them, a credit read and an import file refused as a whole for its header.
    broker, enterprise = await make_org("broker"), await make_org("enterprise")
    new_phone, wrong_id = "15923456780", make_id_number(seq="777")[:-1] + "0"
    notes = {"accept": f"已约{NAME}面试", "hire": f"{NAME}本人同意", "end": f"{NAME}因腰伤未到岗"}
    report_text, report_contact = f"{NAME}说被收了押金，电话{PHONE}", "13600001111"
    secrets = [NAME, ID_NUMBER, PHONE, new_phone, wrong_id, worker_body()["notes"], *notes.values(), report_text,
               report_contact]

    saved = structlog.get_config()
    configure_logging(json_lines=settings.logs_as_json, level=settings.log_level)
    caplog.set_level(logging.DEBUG)
    try:
        hook = await client.post("/v1/webhooks", headers=enterprise.headers,
                                 json={"url": "http://127.0.0.1:9/h", "events": ["match.created"]})
        assert hook.status_code == 201, hook.text
        job = await make_job(client, enterprise)
        created = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
        assert created.status_code == 201, created.text
        worker_id = created.json()["id"]
        again = await client.post("/v1/workers", json=worker_body(), headers=broker.headers)
        assert again.status_code == 409, again.text
        refused = await client.patch(f"/v1/workers/{worker_id}", json={"id_number": wrong_id, "phone": "1"},
                                     headers=broker.headers)
        assert refused.status_code == 422, refused.text
        patched = await client.patch(f"/v1/workers/{worker_id}", json={"phone": new_phone}, headers=broker.headers)
        assert patched.status_code == 200, patched.text
        await run_worker_burst(settings, **FAST)
        proposed = await client.post("/v1/placements", json={"job_id": job["id"], "worker_id": worker_id},
                                     headers=broker.headers)
        assert proposed.status_code == 201, proposed.text
        placement_id = proposed.json()["id"]
        for action in ("accept", "hire"):
            acted = await act(client, enterprise, placement_id, action, {"note": notes[action]})
            assert acted.status_code == 200, acted.text
        ended = await act(client, enterprise, placement_id, "end", {"reason": "no_show", "note": notes["end"]})
        assert ended.status_code == 200, ended.text
        reported = await client.post("/v1/reports", headers=broker.headers, json={
            "target": {"kind": "job", "id": job["id"]}, "reason": "fees", "text": report_text,
            "contact": report_contact})
        assert reported.status_code == 201, reported.text
        credit = await client.get(f"/v1/credit/{broker.org_id}", headers=broker.headers)
        assert credit.status_code == 200, credit.text
        header_refused = await client.post(
            "/v1/workers/imports", content=f"姓名,{PHONE}\n{NAME},{ID_NUMBER}\n".encode(),
            headers={**broker.headers, "Content-Type": "text/csv"})
        if header_refused.status_code == 202:
            await run_worker_burst(settings, **FAST)
        await run_worker_burst(settings, **FAST)
        captured = capsys.readouterr()
    finally:
        structlog.configure(**saved)

    lines = (captured.out + captured.err).splitlines() + [r.getMessage() for r in caplog.records]
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert {"webhook.attempt", "matching.worker"} <= {e["event"] for e in events}
    for secret in secrets:
        for form in {secret, json.dumps(secret)[1:-1]}:
            assert not [line for line in lines if form in line], secret
    for answer in (again, refused, header_refused):
        for secret in (ID_NUMBER, PHONE, wrong_id):
            assert secret not in answer.text, answer.text
