"""Imports every module that registers outbox handlers, so a worker knows all topics."""

from __future__ import annotations

import importlib

# Domain packages add their `workers.tasks_*` module here when they register handlers.
HANDLER_MODULES: tuple[str, ...] = ("workers.catalogue_tasks", "workers.import_tasks", "workers.indexing_tasks",
                                   "workers.licence_tasks", "workers.match_tasks", "workers.notification_tasks")


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)
