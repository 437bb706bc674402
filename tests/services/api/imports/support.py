"""Helpers shared by the import tests (tests/services/api/imports and tests/workers/test_import_tasks.py)."""

from __future__ import annotations

import warnings

from arq.worker import Worker

from services.api.settings import ApiSettings
from workers.settings import WorkerSettings
from workers.worker_settings import build_worker_settings


async def run_worker(settings: ApiSettings) -> None:
    """The real arq worker (outbox processor, import and indexing handlers) until its queue is empty."""
    options = build_worker_settings(WorkerSettings(**settings.model_dump()))
    options.update(burst=True, handle_signals=False, poll_delay=0.05)
    worker = Worker(**options)
    try:
        await worker.main()
    finally:
        with warnings.catch_warnings():
            # arq's Worker.close() calls redis' deprecated close(); not ours to fix.
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await worker.close()
