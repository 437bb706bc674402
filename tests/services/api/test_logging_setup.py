"""Log output: an unexpected error's traceback never carries the failing frame's local variables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from services.api.logging_setup import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # The test points structlog at capsys's stream, which is closed afterwards: later tests must not log into it.
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
