"""Two checkouts reusing the machine's PostgreSQL and Redis get their own database, Redis database and queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.devstack import postgres, redis, stack


def names() -> tuple[str, str, str]:
    return postgres.database_name(postgres.default_url()), redis.db_index(redis.default_url()), redis.queue_name()


def test_each_checkout_has_its_own_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path / "one" / ".devstack"))
    first = names()
    assert names() == first  # stable for a checkout
    assert first[0].startswith("bashu_")
    assert 1 <= int(first[1]) <= 15
    # Seen from many checkouts, the names spread out (the queue and database always differ).
    others = []
    for n in range(20):
        monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path / f"other-{n}" / ".devstack"))
        others.append(names())
    assert len({o[0] for o in others} | {first[0]}) == 21
    assert len({o[2] for o in others} | {first[2]}) == 21
    assert len({o[1] for o in others}) > 5


def test_the_stack_env_names_the_checkouts_queue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEVSTACK_DIR", str(tmp_path / ".devstack"))
    monkeypatch.delenv("ARQ_QUEUE_NAME", raising=False)
    service = stack.Service("x", "x://")
    backing = stack.Backing(service, service, service, "key")
    assert backing.env()["ARQ_QUEUE_NAME"] == redis.queue_name()
    monkeypatch.setenv("ARQ_QUEUE_NAME", "configured:queue")
    assert backing.env()["ARQ_QUEUE_NAME"] == "configured:queue"
