"""The two sides of every placement test: a broker and an enterprise of their own."""

from __future__ import annotations

import pytest

from tests.conftest import MakeOrg, OrgKey


@pytest.fixture
async def broker(make_org: MakeOrg) -> OrgKey:
    return await make_org("broker")


@pytest.fixture
async def enterprise(make_org: MakeOrg) -> OrgKey:
    return await make_org("enterprise")
