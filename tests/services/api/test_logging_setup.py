"""Log output: an unexpected error's traceback never carries the failing frame's local variables."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import structlog

from services.api.logging_setup import configure_logging


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
