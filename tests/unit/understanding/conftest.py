"""A fixed message time for the understanding specs: Monday 23 Nov 2026, 09:00 in Vietnam."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

ICT = timezone(timedelta(hours=7))


@pytest.fixture
def now() -> datetime:
    """Monday 2026-11-23 09:00 +07:00."""
    return datetime(2026, 11, 23, 9, 0, tzinfo=ICT)
