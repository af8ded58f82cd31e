"""Two processes starting at once on one new database (two workers of a fresh deploy) both start, with one pipeline."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import install_default_pipeline
from crm_core.clock import FrozenClock
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models import Pipeline


async def test_two_processes_installing_the_default_pipeline_at_once_both_start_with_one_pipeline(
        migrated_url: str, clock: FrozenClock) -> None:
    engines = [create_engine(migrated_url), create_engine(migrated_url)]
    try:
        makers = [create_sessionmaker(engine) for engine in engines]
        await asyncio.gather(*(install_default_pipeline(maker, clock) for maker in makers))

        async with makers[0]() as session:
            assert await session.scalar(select(func.count(Pipeline.id))) == 1
    finally:
        for engine in engines:
            await engine.dispose()
