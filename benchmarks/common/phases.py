"""Running a benchmark's phases so that one crashing phase is reported, not fatal to the run."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)


async def guarded(work: Awaitable[dict[str, Any]], *, what: str = "phase", error_chars: int = 600) -> dict[str, Any]:
    """Run one phase and time it; a crash is reported as its figures (the product may be changing under the bench)."""
    started = time.perf_counter()
    try:
        figures = await work
    except Exception as error:
        log.exception("%s failed", what)
        return {"error": f"{type(error).__name__}: {error}"[:error_chars],
                "seconds": round(time.perf_counter() - started, 1)}
    figures.setdefault("seconds", round(time.perf_counter() - started, 1))
    return figures
