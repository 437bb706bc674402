"""Settings refuse combinations that would run half-configured."""

from __future__ import annotations

import pytest

from services.api.settings import MissingProductionSecrets, load_api_settings

# Explicit empties: `make test` exports the local stack's own secrets, which must not satisfy these checks.
NO_SECRETS = {"pii_keyring": "", "pii_blind_index_key": "", "cursor_secret": "", "meili_master_key": ""}


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(MissingProductionSecrets, match="PII_KEYRING, PII_BLIND_INDEX_KEY, CURSOR_SECRET"):
        load_api_settings(**{**NO_SECRETS, "environment": "production", "meili_master_key": "m"})


def test_production_starts_with_every_secret() -> None:
    settings = load_api_settings(environment="production", meili_master_key="m", pii_keyring="k1:AAAA",
                                 pii_blind_index_key="b", cursor_secret="c")
    assert settings.logs_as_json


def test_development_may_start_without_secrets() -> None:
    assert load_api_settings(**NO_SECRETS, environment="development").environment == "development"


def test_worker_settings_share_the_production_guard() -> None:
    from workers.settings import load_worker_settings

    with pytest.raises(MissingProductionSecrets, match="MEILI_MASTER_KEY"):
        load_worker_settings(**NO_SECRETS, environment="production")
