from __future__ import annotations

import pytest


@pytest.fixture
async def admin(make_principal):
    """A region-wide administrator Principal, for building records through the services."""
    return await make_principal("admin")
