"""Imports every module that registers outbox handlers, so a worker knows all topics."""

from __future__ import annotations

import importlib

# A task module that registers outbox handlers (`workers.<domain>_tasks`) is listed here: an unlisted one's topics
# would have no handler in the worker (tests/workers/test_handlers.py checks).
HANDLER_MODULES: tuple[str, ...] = ("workers.catalogue_tasks", "workers.import_tasks", "workers.indexing_tasks",
                                   "workers.licence_tasks", "workers.match_tasks", "workers.notification_tasks",
                                   "workers.reinference_tasks")


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)
