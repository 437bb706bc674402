"""Log output: an unexpected error's traceback never carries the failing frame's local variables, and numbers of a
person are masked however they are grouped, while ids, times and durations are left whole."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from services.api.logging_setup import configure_logging, mask_personal_numbers


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # configure_logging is process-wide: later tests keep the format and level they had.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.parametrize("json_lines", [False, True])
def test_exception_logs_do_not_show_local_variables(capsys: pytest.CaptureFixture[str], json_lines: bool) -> None:
    configure_logging(json_lines=json_lines)

    def handle_request() -> None:
        id_number = "500235199001011234"  # what a failing request's frame may hold after decryption
        raise RuntimeError(f"failed after reading {len(id_number)} characters")

    try:
        handle_request()
    except RuntimeError as exc:
        structlog.get_logger("test").error("request.unexpected_error", exc_info=exc)
    err = capsys.readouterr().err
    assert "handle_request" in err  # the traceback itself is there
    assert "RuntimeError" in err
    assert "500235199001011234" not in err


@pytest.mark.parametrize("json_lines", [False, True])
def test_numbers_that_reach_a_log_line_anyway_are_masked(capsys: pytest.CaptureFixture[str],
                                                         json_lines: bool) -> None:
    # Code keeps personal data out of logs; the guard catches what slips through: an exception's message, a value
    # logged as is, a list or mapping of them. Ids and other long numbers are left as they are.
    configure_logging(json_lines=json_lines)
    log = structlog.get_logger("test")
    try:
        raise ValueError("duplicate key (phone)=(13812345678)")
    except ValueError as exc:
        log.error("db.failed", exc_info=exc, detail="id 500235199001011234 seen", rows=["13912345678"],
                  ctx={"phone": "13712345678"}, job_id="5f0c1a2e-13812345678a", count=13812345678)
    err = capsys.readouterr().err
    for secret in ("13812345678)", "500235199001011234", "13912345678", "13712345678"):
        assert secret not in err, secret
    assert "138****5678" in err
    assert "500235********1234" in err
    assert "5f0c1a2e-13812345678a" in err  # not a phone: letters around it


@pytest.mark.parametrize("json_lines", [False, True])
def test_numbers_grouped_as_people_write_them_are_masked_in_log_lines(capsys: pytest.CaptureFixture[str],
                                                                     json_lines: bool) -> None:
    # The guard masked only unbroken 11-, 15- and 18-digit numbers: a number as a broker typed it into a profile's
    # free text (and free text reaches exception messages) went to the log whole.
    configure_logging(json_lines=json_lines)
    log = structlog.get_logger("test")
    try:
        raise ValueError("row 3: 电话 138 1234 5678, 身份证 5001 0719 8501 0112 3X")
    except ValueError as exc:
        log.error("import.row_failed", exc_info=exc, skills=["工资卡 6222 0212 3456 7890 123"],
                  ctx={"brand": "开州厨师 138—1234—5678", "card": "6217-0000-1234-5678"},
                  note="卡号6222021234567890123")
    err = capsys.readouterr().err
    for secret in ("138 1234 5678", "138—1234—5678", "5001 0719 8501 0112 3X", "6222 0212 3456 7890 123",
                   "6217-0000-1234-5678", "6222021234567890123", "0719 8501", "3456 7890", "0000-1234"):
        assert secret not in err, secret
    for masked in ("电话 138****5678", "身份证 500107********123X", "工资卡 622202*********0123", "621700******5678",
                   "开州厨师 138****5678", "卡号622202*********0123"):
        assert masked in err, masked


# What the guard must leave whole in log lines: ids, times and durations, which free-text masking (where latin letters
# may touch a number: tel138…, sfz500…) would take apart.
LEFT_WHOLE = [
    "/v1/workers/0e9ab138-1234-5678-9abc-def012345678/personal-data",  # a UUID group reads as 138-1234-5678
    "worker 12345678-1381-2345-6789-123456789012 job 13812345-6217-0000-1234-567812345678",  # all-digit UUIDs
    "request_id=5f0c1a2e13812345678a9b0c1d2e3f4a", "trace 4bf92f3577b34da6a3ce929d0e0e4736",
    "2026-11-28T03:18:59.123456+00:00", "2026-11-28 03:18:59,123", "took 0.30000000000000004 s",
    "ms=1234.5678901234567", "at 1764300000123456789 ns", "since 1764300000123456 us", "meili task 138123456",
    "/v1/webhooks/1234/deliveries/5678/retry", "outbox 2019 2020 2021 2022",
]


@pytest.mark.parametrize("text", LEFT_WHOLE)
def test_ids_times_and_durations_are_left_whole(capsys: pytest.CaptureFixture[str], text: str) -> None:
    configure_logging(json_lines=True)
    structlog.get_logger("test").info("event", value=text, values=[text], ctx={"v": text})
    data = json.loads(capsys.readouterr().err)
    assert (data["value"], data["values"], data["ctx"]) == (text, [text], {"v": text})


@given(st.uuids(), st.text(st.sampled_from("0123456789"), min_size=32, max_size=32))
def test_no_uuid_is_taken_for_a_number(value: UUID, digits: str) -> None:
    # Random ones, and ones of digits only (a UUID's hex may be all digits), in a path, with and without hyphens.
    every_digit = str(UUID(hex=digits))
    for text in (f"/v1/workers/{value}/matches", f"/v1/jobs/{every_digit}", f"id {value.hex} {every_digit}"):
        assert mask_personal_numbers(None, "info", {"event": text})["event"] == text


@dataclass
class _Contact:
    ref: str
    phone: str = field(repr=False)


def test_json_log_lines_never_raise_and_keep_dataclass_reprs(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True)
    log = structlog.get_logger("test")
    log.info("odd.values", by_id={1: "a"}, big=2**70, surrogate="\udcff", contact=_Contact("W-1", "13800138000"))
    [line] = capsys.readouterr().err.splitlines()
    data = json.loads(line)
    assert data["event"] == "odd.values"
    assert data["big"] == 2**70
    assert "W-1" in data["contact"]
    assert "13800138000" not in line  # a repr=False field stays out, as with the standard library's encoder
    log.info("plain", by_id={1: "a"}, contact=_Contact("W-2", "13900139000"))
    data = json.loads(capsys.readouterr().err)
    assert data["by_id"] == {"1": "a"}
    assert "13900139000" not in data["contact"]


@pytest.mark.parametrize("json_lines", [False, True])
def test_logs_go_to_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch, json_lines: bool) -> None:
    # A CLI test's runner (or any capture) swaps stderr, configures logging through the command, and closes its
    # stream: logging bound to that stream made every later log call in the process raise.
    swapped = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", swapped)
    configure_logging(json_lines=json_lines)
    swapped.close()
    current = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    monkeypatch.setattr(sys, "stderr", current)
    structlog.get_logger("test").warning("after.swap")
    assert "after.swap" in current.buffer.getvalue().decode()  # type: ignore[attr-defined]
