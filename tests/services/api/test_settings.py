"""Settings refuse combinations that would run half-configured."""

from __future__ import annotations

import pytest

from services.api.settings import MissingProductionSecrets, load_api_settings


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(MissingProductionSecrets, match="PII_KEYRING, PII_BLIND_INDEX_KEY, CURSOR_SECRET"):
        load_api_settings(environment="production", meili_master_key="m")


def test_production_starts_with_every_secret() -> None:
    settings = load_api_settings(environment="production", meili_master_key="m", pii_keyring="k1:AAAA",
                                 pii_blind_index_key="b", cursor_secret="c")
    assert settings.logs_as_json


def test_worker_settings_share_the_production_guard() -> None:
    from workers.settings import load_worker_settings

    with pytest.raises(MissingProductionSecrets):
        load_worker_settings(environment="production")
