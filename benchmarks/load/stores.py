"""The load bench's stores: a throwaway PostgreSQL database, a Redis namespace, a seeded home with the knowledge.

PostgreSQL: `CHATCRM_BENCH_POSTGRES_URL`, else `CHATCRM_TEST_POSTGRES_URL` (as the chaos bench), a fresh
`load_<random>` database per run, dropped afterwards. Redis: `CHATCRM_BENCH_REDIS_URL` as given, else the
test server (`CHATCRM_TEST_REDIS_URL`, default 127.0.0.1:6379) on database 14, so the tests' keys (database 0
or 15) are never touched; every run's keys also start with their own prefix and are deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks.common.databases import postgres_database as throwaway_database
from bot.app import build_app
from crm_core.config import LlmSettings, Settings
from crm_core.demo.seed import seed_demo
from crm_core.services import Services
from crm_core.uow import UnitOfWork

POSTGRES_ENVS = ("CHATCRM_BENCH_POSTGRES_URL", "CHATCRM_TEST_POSTGRES_URL")
BENCH_REDIS_DB = 14
TIMEZONE = "Asia/Ho_Chi_Minh"


def postgres_server_url(given: str | None = None) -> str | None:
    """Return the PostgreSQL server to create throwaway databases on, if one is configured."""
    return given or next((os.environ[name] for name in POSTGRES_ENVS if os.environ.get(name)), None)


def redis_url() -> str:
    """Return the Redis database the bench's workers share (never the tests' database)."""
    if os.environ.get("CHATCRM_BENCH_REDIS_URL"):
        return os.environ["CHATCRM_BENCH_REDIS_URL"]
    server = make_url(os.environ.get("CHATCRM_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0")
    return server.set(database=str(BENCH_REDIS_DB)).render_as_string(hide_password=False)


async def redis_available(url: str) -> str | None:
    """Return None when Redis answers at `url`, else why not."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.ping()
    except Exception as error:  # any failure means: no Redis for this run
        return f"{type(error).__name__}: {error}"
    finally:
        await client.aclose()
    return None


async def forget_keys(url: str, prefix: str) -> int:
    """Delete the keys under `prefix` (never FLUSHDB: the server may be shared); return how many."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


def postgres_database(server_url: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh `load_…` database on the server of `server_url`, dropped afterwards."""
    return throwaway_database(server_url, prefix="load")


def seed_settings(home: Path, database_url: str) -> Settings:
    """Settings for seeding: keyword arguments win over a developer's CHATCRM_* environment."""
    return Settings(home=home, database_url=database_url, chroma_url=None, redis_url=None, llm=LlmSettings(),
                    timezone=TIMEZONE, language="vi", support_chat_id=None)


async def seed_business(home: Path, database_url: str, *, sales: Sequence[int] = (), managers: Sequence[int] = ()
                        ) -> None:
    """Migrate and seed the demo business (`chatcrm demo`'s data), then add the bench's staff by Telegram id."""
    app = await build_app(seed_settings(home, database_url))
    try:
        async with UnitOfWork(app.sessionmaker) as uow:
            await seed_demo(uow.session, now=app.clock.now())
        async with UnitOfWork(app.sessionmaker) as uow:
            services = Services.build(uow.session, now=app.clock.now())
            for role, ids in (("sales", sales), ("manager", managers)):
                for n, telegram_id in enumerate(ids, 1):
                    await services.users.add(name=f"{role.title()} {n:04d}", role=role, telegram_id=telegram_id,
                                             force=True)
    finally:
        await app.close()


def index_knowledge(home: Path) -> int:
    """Index the shipped knowledge into `home` as `chatcrm demo` does (vectors from the install-time cache)."""
    from bot.demo import embedding_cache_dir
    from crm_core.assets import DEMO_KNOWLEDGE_DIR
    from crm_core.retrieval import KnowledgeBase
    from crm_core.retrieval.embedder import CachingEmbedder, default_embedder

    knowledge = KnowledgeBase(home=home, embedder=CachingEmbedder(default_embedder(), embedding_cache_dir()))
    report = knowledge.ingest([DEMO_KNOWLEDGE_DIR])
    if not report.ok:
        raise RuntimeError(f"the shipped knowledge could not be indexed: {report.errors}")
    knowledge.prepare("")
    return int(knowledge.section_count())
