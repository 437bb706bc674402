"""Two checkouts reusing the machine's PostgreSQL and Redis get their own database, Redis database and queue."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from services.devstack import postgres, redis, stack
from services.devstack.secrets import local_secrets


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


def test_a_checkout_cloned_again_at_the_same_path_gets_a_new_database(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Its new encryption keys cannot read the old database's personal data: it must not reuse it.
    state = tmp_path / "repo" / ".devstack"
    monkeypatch.setenv("DEVSTACK_DIR", str(state))
    local_secrets()
    first = names()
    shutil.rmtree(state)
    assert names() != first
    # Also when the new keys are made before anything asks for the names, and when the old checkout's state
    # directory predates the kept tag (named by its path).
    shutil.rmtree(state)
    state.mkdir(parents=True)
    (state / "secrets.env").write_text("PII_ACTIVE_KEY_ID=k1\n")
    legacy = names()
    shutil.rmtree(state)
    local_secrets()
    assert names() != legacy
    assert names() == names()


def test_a_stack_that_has_its_keys_from_before_keeps_its_database(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A state directory made before the tag was kept: named by its path as it was, so its data stays readable.
    state = tmp_path / "repo" / ".devstack"
    state.mkdir(parents=True)
    (state / "secrets.env").write_text("PII_ACTIVE_KEY_ID=k1\n")
    monkeypatch.setenv("DEVSTACK_DIR", str(state))
    legacy = "bashu_" + hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:8]
    assert names()[0] == legacy
