"""`python -m workers` / `bashu worker`: run one arq worker until SIGINT/SIGTERM (in-flight jobs finish or are
returned to the queue by arq's graceful shutdown)."""

from __future__ import annotations

from arq.worker import Worker

from workers.settings import load_worker_settings
from workers.worker_settings import build_worker_settings


def main() -> None:
    worker = Worker(**build_worker_settings(load_worker_settings()))
    worker.run()


if __name__ == "__main__":
    main()
