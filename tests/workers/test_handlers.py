"""The worker loads every module that registers outbox handlers: a topic whose module is not loaded has no
handler, and its rows fail in every worker until an operator notices."""

from __future__ import annotations

from pathlib import Path

import workers
from workers.handlers import HANDLER_MODULES


def test_every_module_registering_outbox_handlers_is_loaded() -> None:
    package = Path(workers.__file__).parent
    registering = {f"workers.{path.stem}" for path in package.glob("*.py")
                   if "@outbox_handler(" in path.read_text(encoding="utf-8") and path.stem != "outbox"}
    assert registering, "no module registers an outbox handler: the scan is looking in the wrong place"
    assert registering <= set(HANDLER_MODULES)
