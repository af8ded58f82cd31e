"""Load benchmark (issue 16): webhook + 2 worker processes on PostgreSQL and Redis, a kill -9, polling on SQLite,
a broadcast of summaries; what was lost, doubled, out of order, how long replies took, how fast the broadcast went.

Run: .venv/bin/chatcrm bench load --json   (or .venv/bin/python benchmarks/load/bench.py [--scale small])
Protocol, figures and caveats: benchmarks/load/README.md. It reports; it never asserts: `ok` and `targets` say
which of issue 16's figures were reached.

    two_workers  real `chatcrm bot` processes: an ingress (--workers 0) and 2 workers on a throwaway PostgreSQL
                 database and Redis; the local Bot API server (tests.support.fake_bot_api) delivers the updates
                 to the ingress at a fixed rate and records the replies -> lost, duplicated, out of order,
                 latency p50/p95 by kind (update handed to the ingress -> its reply at the server)
    kill_9       the same load again; at the half one worker is killed with SIGKILL and started again
    broadcast    managers whose daily summary is due now: the workers' schedulers claim them, the outbox sender
                 sends them through the shared Redis rate limiter while the server answers some with 429
                 -> max requests in any second, time, delivered once, 429s obeyed
    polling      the same load through one `chatcrm bot` process polling, on SQLite (for comparison)

The counts are scaled down from the issue's (10,000 updates from 1,000 chats, 1,000 summaries) to stay under
5 minutes on 2 cores; the report says which counts ran.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the tree this file sits in (tests.support and benchmarks.load live there)

from sqlalchemy import func, select  # noqa: E402 - after the path is set

from benchmarks.load import workload  # noqa: E402
from benchmarks.load.processes import BotProcess  # noqa: E402
from benchmarks.load.stores import (  # noqa: E402
    TIMEZONE,
    forget_keys,
    index_knowledge,
    postgres_database,
    postgres_server_url,
    redis_available,
    redis_url,
    seed_business,
    seed_settings,
)
from crm_core.config import Settings  # noqa: E402
from tests.support.fake_bot_api import DEFAULT_TOKEN, ApiRequest, FakeBotApi  # noqa: E402
from tests.support.worker_processes import WorkerProcess, free_port, launch_worker, worker_env  # noqa: E402

log = logging.getLogger("benchmarks.load")

ISSUE_COUNTS = {"updates": 10_000, "chats": 1_000, "workers": 2, "summaries": 1_000}
SECRET = "load-bench-secret"
FIRST_STAFF_ID, FIRST_CUSTOMER_ID, FIRST_MANAGER_ID = 100_001, 600_001, 700_001
# Team-wide push times nobody reaches during a run (the broadcast's managers have their own, 00:00).
QUIET_PUSH_TIME = "23:59"
TARGET_P95_NON_SEARCH_MS, TARGET_P95_SEARCH_MS = 100.0, 300.0
TARGET_PER_SECOND, TARGET_BROADCAST_1000_S = 30, 40.0


@dataclass(frozen=True)
class Scale:
    """How much one run plays."""

    run_s: float = 30.0  # how long each load run offers updates (the chats are as many as the rate needs)
    updates_per_chat: int = 8  # two rounds of log, Save, /deals, /customer for a salesperson
    rate: float | None = None  # updates offered per second; None: a share of the capacity measured first
    capacity_share: float = 0.6  # of the measured capacity, so latency measures handling, not a backlog
    max_rate: float = 20.0  # never more (Telegram allows 30 messages a second overall; some updates bring two)
    fallback_rate: float = 8.0  # without PostgreSQL and Redis nothing is measured first: the polling run uses this
    calibration_chats: int = 24  # one update each, all at once: how many updates a second the workers finish
    staff_share: float = 0.7  # the rest are customers asking questions
    workers: int = 2  # worker processes (besides the ingress)
    slots: int = 8  # --workers: chats each process handles at once (docker-compose's default)
    ingress_slots: int = 0  # the ingress's own --workers (docker-compose: 0, an ingress only)
    # CHATCRM_INBOX_LEASE_SECONDS and CHATCRM_OUTBOX_LEASE_SECONDS (defaults 60 s and 120 s): how long what a
    # killed worker held (updates, unsent replies) stays taken
    lease_s: float = 30.0
    drain_s: float = 20.0  # how long replies may trail the last update offered
    restart_wait_s: float = 60.0  # how long the run waits, at its end, for the killed worker's restart
    summaries: int = 30
    injected_429s: int = 3  # retry_after 2 each, spread over the broadcast
    polling: bool = True
    tick_s: float = 2.0  # CHATCRM_REMINDER_INTERVAL_S: the schedulers' tick (default 30 s)

    def chats_for(self, rate: float) -> int:
        """How many chats offer `rate` updates a second for `run_s` seconds."""
        return max(2, round(rate * self.run_s / self.updates_per_chat))


SCALES = {
    "full": Scale(),
    # One worker process besides an ingress that handles updates too: two processes to start, not three, and
    # the killed worker's updates are taken over one lease later without waiting for its restart.
    "small": Scale(run_s=8.0, updates_per_chat=4, rate=2.0, calibration_chats=4, workers=1, slots=4,
                   ingress_slots=2, lease_s=3.0, drain_s=15.0, restart_wait_s=0.0, summaries=2, injected_429s=1,
                   polling=False, tick_s=1.0),
}


# ---------------------------------------------------------------- entry points


def run(scale: str | Scale = "full", postgres: str | None = None) -> dict[str, Any]:
    """Play every phase at `scale` ("full", "small" or a Scale); return the figures as one JSON-able dict."""
    chosen = SCALES[scale] if isinstance(scale, str) else scale
    name = scale if isinstance(scale, str) else "custom"
    with tempfile.TemporaryDirectory(prefix="chatcrm-bench-load-") as tmp:
        return asyncio.run(_run(chosen, name, Path(tmp), postgres_server_url(postgres)))


async def _run(scale: Scale, name: str, tmp: Path, server_url: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    home = tmp / "home"
    sections = await asyncio.to_thread(index_knowledge, home)
    redis = redis_url()
    missing = None if server_url else "no PostgreSQL (CHATCRM_BENCH_POSTGRES_URL or CHATCRM_TEST_POSTGRES_URL)"
    missing = missing or await redis_available(redis)
    polling = PollingRun(home, tmp, scale) if scale.polling else None
    phases: dict[str, Any]
    if missing is None:
        assert server_url is not None
        phases = await _guarded(webhook_phases(server_url, redis, home, tmp, scale, polling))
    else:
        phases = {"skipped": missing}
    polled = await _guarded(polling.play()) if polling is not None else None
    targets = evaluate(phases, polled)
    return {
        "ok": bool(targets) and all(targets.values()), "targets": targets,
        "two_workers": phases.get("two_workers"), "kill_9": phases.get("kill_9"),
        "broadcast": phases.get("broadcast"), "polling": polled,
        "skipped": phases.get("skipped"), "error": phases.get("error"),
        "setup": phases.get("setup"), "capacity": phases.get("capacity"),
        "scale": name, "scaled_down": True, "counts": counts(scale, phases.get("rate") or (
            polling.rate if polling is not None and polling.rate else None)), "issue_counts": ISSUE_COUNTS,
        "knowledge_sections": sections, "cores": os.cpu_count(), "load_average_before": _load_average(),
        "command": "chatcrm bench load --json" + ("" if name == "full" else f"  (run('{name}'))"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def plans_of(scale: Scale, run_number: int, chats: int, *, updates_per_chat: int | None = None
             ) -> list[workload.ChatPlan]:
    """The chats of one run: each run has chats of its own (a late reply of one run never meets the next)."""
    offset = 1000 * run_number
    return workload.plan(chats=chats, updates_per_chat=updates_per_chat or scale.updates_per_chat,
                         staff_share=scale.staff_share, first_staff_id=FIRST_STAFF_ID + offset,
                         first_customer_id=FIRST_CUSTOMER_ID + offset, number_base=1000 + 4000 * run_number)


def counts(scale: Scale, rate: float | None) -> dict[str, Any]:
    """The counts one run used (per load run)."""
    chats = scale.chats_for(rate) if rate else None
    return {"updates": chats * scale.updates_per_chat if chats else None, "chats": chats,
            "updates_per_chat": scale.updates_per_chat, "offered_per_s": rate, "offered_over_s": scale.run_s,
            "rate_from": "fixed" if scale.rate else "measured capacity x %.0f%%" % (100 * scale.capacity_share),
            "workers": scale.workers, "slots_per_worker": scale.slots, "ingress_slots": scale.ingress_slots,
            "inbox_and_outbox_lease_s": scale.lease_s, "summaries": scale.summaries,
            "injected_429s": scale.injected_429s, "scheduler_tick_s": scale.tick_s}


def evaluate(phases: dict[str, Any], polled: dict[str, Any] | None) -> dict[str, bool]:
    """Say, figure by figure, whether issue 16's targets were reached (only for what ran)."""
    targets: dict[str, bool] = {}
    two = phases.get("two_workers")
    if two is not None:
        ran = "error" not in two
        targets["two_workers.none_lost_doubled_or_out_of_order"] = ran and two["lost"] == 0 \
            and two["duplicated"] == 0 and two["out_of_order"] == 0
        targets["two_workers.p95_non_search_under_100ms"] = ran and _p95(two, "non_search") < TARGET_P95_NON_SEARCH_MS
        targets["two_workers.p95_search_under_300ms"] = ran and _p95(two, "search") < TARGET_P95_SEARCH_MS
    kill = phases.get("kill_9")
    if kill is not None:
        targets["kill_9.none_lost_or_doubled"] = "error" not in kill and kill["lost"] == 0 and kill["duplicated"] == 0
    sent = phases.get("broadcast")
    if sent is not None:
        ran = "error" not in sent
        targets["broadcast.at_most_30_per_second"] = ran and sent["max_requests_in_a_second"] <= TARGET_PER_SECOND
        targets["broadcast.each_delivered_once"] = ran and sent["lost"] == 0 and sent["duplicated"] == 0
        targets["broadcast.429s_obeyed"] = ran and sent["injected_429s"] > 0 \
            and sent["obeyed_429s"] == sent["injected_429s"]
        targets["broadcast.1000_in_about_35s"] = ran and sent["projected_1000_s"] is not None \
            and sent["projected_1000_s"] <= TARGET_BROADCAST_1000_S
    if "error" in phases:
        targets["webhook_phases"] = False
    if polled is not None:
        targets["polling.none_lost_or_doubled"] = "error" not in polled and polled["lost"] == 0 \
            and polled["duplicated"] == 0
    return targets


def _p95(figures: dict[str, Any], kind: str) -> float:
    value = figures["latency"][kind]["p95_ms"]
    return float("inf") if value is None else float(value)


def _guarded(work: Awaitable[dict[str, Any]]) -> Awaitable[dict[str, Any]]:
    """Run one phase; a crash is reported as its figures."""
    from benchmarks.common.phases import guarded

    return guarded(work, what="phase", error_chars=600)


def _load_average() -> list[float] | None:
    with contextlib.suppress(OSError):
        return [round(value, 2) for value in os.getloadavg()]
    return None


# ---------------------------------------------------------------- processes and their environment


def settings_env(scale: Scale) -> dict[str, str]:
    """The settings every bench process shares (besides where its stores and the Bot API are)."""
    return {
        "CHATCRM_TIMEZONE": TIMEZONE, "CHATCRM_LANGUAGE": "vi",
        # Every hour of every day, so customers are answered (not parked) and summaries are due whenever it runs.
        "CHATCRM_SUPPORT_HOURS": "Mon-Sun 00:00-23:59", "CHATCRM_PUSHES__ENABLED": "true",
        "CHATCRM_PUSHES__SUMMARY_TIME": QUIET_PUSH_TIME, "CHATCRM_PUSHES__DIGEST_TIME": QUIET_PUSH_TIME,
        "CHATCRM_REMINDER_INTERVAL_S": str(scale.tick_s),
    }


def base_env(home: Path, database_url: str, api: FakeBotApi, scale: Scale) -> dict[str, str]:
    """The environment of the polling process: the bench's settings only (a developer's CHATCRM_* stays out)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CHATCRM_", "TELEGRAM_"))}
    return env | settings_env(scale) | {
        "CHATCRM_HOME": str(home), "CHATCRM_DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": api.base_url, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def process_home(knowledge_home: Path, home: Path) -> Path:
    """A process's own home (its log, its charts) holding a copy of the indexed knowledge."""
    for name in ("chroma", "knowledge.sqlite3", "cache"):
        source = knowledge_home / name
        if source.is_dir():
            shutil.copytree(source, home / name)
        elif source.exists():
            home.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, home / name)
    return home


def problems(process: WorkerProcess) -> list[str]:
    """The ERROR lines a process logged."""
    return [line[:300] for line in process.output(10**7).splitlines() if line.startswith(("ERROR", "CRITICAL"))]


@dataclass
class Cluster:
    """The ingress and the workers on one PostgreSQL database and one Redis prefix, and the server they talk to."""

    api: FakeBotApi
    database_url: str
    home: Path
    tmp: Path
    env: dict[str, str]
    hook: str
    startup_s: dict[str, float] = field(default_factory=dict)
    ingress: WorkerProcess | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    gone: list[WorkerProcess] = field(default_factory=list)  # killed ones (their logs are still read)

    @property
    def processes(self) -> list[WorkerProcess]:
        """Every process of the cluster, killed ones included."""
        return [*([self.ingress] if self.ingress else []), *self.workers, *self.gone]

    def launch(self, name: str, *, listen: tuple[str, int] | None = None, slots: int = 0) -> WorkerProcess:
        """Start `chatcrm bot --webhook URL [--listen] --workers N` in a new home of its own; do not wait."""
        home = process_home(self.home, self.tmp / name)
        return launch_worker(self.env, home=home, webhook_url=self.hook, listen=listen, workers=slots)


async def timed_ready(process: WorkerProcess) -> float:
    """Wait until the process serves and handles; return how long that took from now."""
    started = time.monotonic()
    await process.until_ready()
    return round(time.monotonic() - started, 1)


@contextlib.asynccontextmanager
async def cluster(server_url: str, redis: str, home: Path, tmp: Path, plans: list[workload.ChatPlan],
                  scale: Scale) -> AsyncIterator[Cluster]:
    """A fresh seeded database, an ingress and the workers started and ready, the webhook set; all torn down after."""
    prefix = f"chatcrm-bench-load:{uuid.uuid4().hex[:12]}:"
    async with postgres_database(server_url) as database_url, FakeBotApi() as api:
        seeded = time.perf_counter()
        await seed_business(home, database_url, sales=workload.staff_ids(plans))
        env = worker_env(database_url=database_url, bot_api_url=api.base_url, redis_url=redis, redis_prefix=prefix,
                         secret=SECRET, extra=settings_env(scale) | {
                             "CHATCRM_INBOX_LEASE_SECONDS": str(scale.lease_s),
                             "CHATCRM_OUTBOX_LEASE_SECONDS": str(scale.lease_s)})
        port = free_port()
        hook = f"http://127.0.0.1:{port}/tg/hook"
        built = Cluster(api, database_url, home, tmp, env, hook, {"seed_s": round(time.perf_counter() - seeded, 1)})
        try:
            built.ingress = built.launch("ingress", listen=("127.0.0.1", port), slots=scale.ingress_slots)
            built.workers = [built.launch(f"worker{n}", slots=scale.slots) for n in range(1, scale.workers + 1)]
            names = ["ingress", *(f"worker{n}" for n in range(1, scale.workers + 1))]
            ready = await asyncio.gather(*(timed_ready(process) for process in built.processes))
            built.startup_s |= dict(zip(names, ready, strict=True))
            from bot.webhook.bot_api import set_webhook  # what `chatcrm webhook set` does, once per deploy

            await set_webhook(DEFAULT_TOKEN, hook, secret=SECRET, api_base_url=api.base_url)
            workload.register_users(api, plans)
            yield built
        finally:
            await asyncio.gather(*(p.stop() for p in built.processes), return_exceptions=True)
            await forget_keys(redis, prefix)


async def webhook_phases(server_url: str, redis: str, home: Path, tmp: Path, scale: Scale,
                         polling: PollingRun | None) -> dict[str, Any]:
    """The capacity, two load runs (the second with a kill -9), then the broadcast, on one cluster."""
    supported = {"redis_prefix", "inbox_lease_seconds", "outbox_lease_seconds"} <= set(Settings.model_fields)
    most = scale.chats_for(scale.rate or scale.max_rate)
    probe = plans_of(scale, 2, scale.calibration_chats, updates_per_chat=1) if scale.calibration_chats else []
    staff = [*plans_of(scale, 0, most), *plans_of(scale, 1, most), *probe]
    async with cluster(server_url, redis, home, tmp, staff, scale) as running:
        setup: dict[str, Any] = {"startup_s": running.startup_s, "redis": redis.rsplit("@", 1)[-1],
                                 "lease_and_prefix_settings_supported": supported}
        capacity = await measure_capacity(running, probe, scale) if probe else None
        rate = scale.rate or min(scale.max_rate, max(1.0, round(capacity["updates_per_s"] * scale.capacity_share, 1))
                                 if capacity and capacity.get("updates_per_s") else scale.fallback_rate)
        plans = [plans_of(scale, 0, scale.chats_for(rate)), plans_of(scale, 1, scale.chats_for(rate))]
        two = await _guarded(load_run(running, plans[0], scale, rate, kill=False))
        kill = await _guarded(load_run(running, plans[1], scale, rate, kill=True))
        if polling is not None:
            polling.plans, polling.rate = plans[0], rate
        # The polling process starts during the broadcast (which mostly waits on the limiter), once the broadcast's
        # managers are in: two migrations at once in one process trip over each other.
        sent = await _guarded(broadcast(running, scale, then=polling.start_soon if polling is not None else None))
        setup["process_errors"] = {str(p.pid): problems(p)[:5] for p in running.processes if problems(p)}
    return {"two_workers": two, "kill_9": kill, "broadcast": sent, "setup": setup, "capacity": capacity,
            "rate": rate}


async def measure_capacity(running: Cluster, probe: list[workload.ChatPlan], scale: Scale) -> dict[str, Any]:
    """Offer one update from each probe chat at once; the workers' pace is how many they finish a second."""
    api, mark = running.api, len(running.api.requests)
    offered, _ = await workload.play(api, probe, rate=1000.0)
    await workload.wait_answered(api, offered, mark, timeout_s=60.0)
    judged = [j for j in workload.match(api, offered, api.requests[mark:]) if j.reply and j.delivered_at]
    if len(judged) < 2:
        return {"updates": len(offered), "answered": len(judged), "updates_per_s": None}
    first = min(j.delivered_at for j in judged if j.delivered_at is not None)
    last = max(j.reply.at for j in judged if j.reply is not None)
    await inbox_drained(running.database_url)
    return {"updates": len(offered), "answered": len(judged), "seconds": round(last - first, 2),
            "updates_per_s": round(len(judged) / (last - first), 1), "share_offered": scale.capacity_share}


# ---------------------------------------------------------------- the load runs


async def load_run(running: Cluster, plans: list[workload.ChatPlan], scale: Scale, rate: float, *, kill: bool
                   ) -> dict[str, Any]:
    """Offer the load; with `kill`, SIGKILL the first worker at the half and start it again; judge the replies."""
    api = running.api
    mark = len(api.requests)
    killed: dict[str, Any] = {}

    async def kill_and_restart() -> None:
        worker = running.workers[0]
        killed["killed_after_s"] = round(time.monotonic() - started, 1)
        worker.kill()
        running.gone.append(worker)
        killed["held_updates"] = await held_by(running.database_url, worker.name)
        running.workers[0] = running.launch(f"worker1-restarted-{len(running.gone)}", slots=scale.slots)
        killed["restart_ready_s"] = await timed_ready(running.workers[0])

    started = time.monotonic()
    offered, midway = await workload.play(api, plans, rate=rate, midway=kill_and_restart if kill else None)
    offered_s = time.monotonic() - started
    # After a kill, what the killed worker held comes back one lease later (its inbox rows, its unsent outbox rows).
    waited = await workload.wait_answered(api, offered, mark, timeout_s=scale.drain_s + (
        scale.lease_s + scale.tick_s if kill else 0))
    if midway is not None:  # the others took the killed worker's updates over; its restart may still be starting
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(midway, timeout=scale.restart_wait_s)
        killed.setdefault("restart_ready_s", None)
    figures = workload.judge(api, offered, api.requests[mark:])
    figures |= {"offered_per_s": round(len(offered) / offered_s, 1) if offered_s else None,
                "offered_s": round(offered_s, 1), "trailing_s": round(waited, 1),
                # What is still queued goes to the next phase (it should be nothing).
                "inbox_left": await inbox_drained(running.database_url)}
    if kill:
        figures["kill"] = killed
    return figures


async def inbox_drained(database_url: str, timeout_s: float = 15.0) -> int:
    """Wait (bounded) until the inbox is empty; return how many updates are still in it."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from crm_core.models import InboxUpdate

    engine = create_async_engine(database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with engine.connect() as connection:
                left = int(await connection.scalar(select(func.count()).select_from(InboxUpdate)) or 0)
            if left == 0 or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def held_by(database_url: str, worker: str) -> int:
    """Count the inbox updates a (killed) worker still holds on a lease."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from crm_core.models import InboxUpdate

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(
                select(func.count()).select_from(InboxUpdate).where(InboxUpdate.claimed_by == worker)) or 0)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the broadcast


async def add_managers(home: Path, database_url: str, telegram_ids: list[int]) -> None:
    """Register managers whose own summary time is 00:00: due at the schedulers' next tick, whatever the hour."""
    from bot.app import build_app
    from crm_core.reports.pushes import PushStore
    from crm_core.services import Services
    from crm_core.uow import UnitOfWork

    app = await build_app(seed_settings(home, database_url))
    try:
        async with UnitOfWork(app.sessionmaker) as uow:
            services = Services.build(uow.session, now=app.clock.now())
            store = PushStore(uow.session, app.clock.now(), summary_time=QUIET_PUSH_TIME, digest_time=QUIET_PUSH_TIME)
            for n, telegram_id in enumerate(telegram_ids, 1):
                user = await services.users.add(name=f"Manager {n:04d}", role="manager", telegram_id=telegram_id,
                                                force=True)
                await store.change(user.id, "summary", at="00:00")
    finally:
        await app.close()


async def broadcast(running: Cluster, scale: Scale, *, then: Callable[[], None] | None = None) -> dict[str, Any]:
    """Make `scale.summaries` summaries due; watch them go out while the server answers some sends with 429."""
    api, chats = running.api, [FIRST_MANAGER_ID + n for n in range(scale.summaries)]
    for chat_id in chats:
        api.add_user(chat_id, first_name="Manager", language_code="vi")
    mark = len(api.requests)
    started = time.monotonic()
    await add_managers(running.home, running.database_url, chats)
    due_at = time.monotonic()
    if then is not None:
        then()
    wanted = set(chats)
    thresholds = [round(scale.summaries * (n + 1) / (scale.injected_429s + 1)) for n in range(scale.injected_429s)]
    # Claiming computes every summary (and draws its chart) first: allow for it, then about 1 s a summary.
    deadline = due_at + scale.summaries * 2.5 + 30 + 5 * scale.injected_429s
    while time.monotonic() < deadline:
        mine = [r for r in api.requests[mark:] if r.params.get("chat_id") in wanted]
        photos = sum(1 for r in mine if r.method == "sendPhoto" and r.ok)
        while thresholds and photos >= thresholds[0]:  # each injection fails the next send of either kind
            thresholds.pop(0)
            # The last on a text: chats are served concurrently, so every chart may be out by then, never every text.
            api.fail_next("sendMessage" if len(thresholds) % 2 == 0 else "sendPhoto", 429, retry_after=2)
        if _all_summaries_in(mine, wanted):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # a duplicate would follow soon after
    return broadcast_figures(api.requests[mark:], wanted, started, due_at, scale)


def _all_summaries_in(requests: list[ApiRequest], wanted: set[int]) -> bool:
    shown = summary_counts(requests)
    return all(shown[chat] >= 2 for chat in wanted)


def summary_counts(requests: list[ApiRequest]) -> Counter[int]:
    """Per manager chat, the successful sends (a summary is its chart, then its text)."""
    return Counter(int(r.params["chat_id"]) for r in requests if r.ok and r.method in ("sendPhoto", "sendMessage")
                   and isinstance(r.params.get("chat_id"), int))


def broadcast_figures(requests: list[ApiRequest], wanted: set[int], started: float, due_at: float,
                      scale: Scale) -> dict[str, Any]:
    """Delivered once, the busiest second, time taken, 429s obeyed, and the time 1,000 would take at that pace."""
    mine = [r for r in requests if r.params.get("chat_id") in wanted]
    photos = Counter(int(r.params["chat_id"]) for r in mine if r.ok and r.method == "sendPhoto")
    texts = Counter(int(r.params["chat_id"]) for r in mine if r.ok and r.method == "sendMessage")
    delivered = [chat for chat in wanted if photos[chat] and texts[chat]]
    first = min((r.at for r in mine), default=None)
    last = max((r.at for r in mine if r.ok), default=None)
    send_s = (last - first) if first is not None and last is not None else None
    per_summary = send_s / max(1, len(delivered) - 1) if send_s is not None and len(delivered) > 1 else None
    injected = [r for r in requests if r.injected and r.status == 429]
    obeyed = [r for r in injected if _obeyed(r, requests)]
    return {
        "summaries": len(wanted), "delivered": len(delivered), "lost": len(wanted) - len(delivered),
        "duplicated": sum(n - 1 for n in photos.values() if n > 1) + sum(n - 1 for n in texts.values() if n > 1),
        "messages_per_summary": round((sum(photos.values()) + sum(texts.values())) / max(1, len(delivered)), 2),
        "max_requests_in_a_second": workload.busiest_second(requests),
        "registered_to_first_send_s": round(first - due_at, 1) if first is not None else None,
        "send_s": round(send_s, 1) if send_s is not None else None,
        "total_s": round(last - started, 1) if last is not None else None,
        "summaries_per_s": round(1 / per_summary, 2) if per_summary else None,
        "projected_1000_s": round(per_summary * 999, 0) if per_summary else None,
        "injected_429s": len(injected), "obeyed_429s": len(obeyed),
        "retry_gaps_s": [round(_retry_gap(r, requests) or -1.0, 2) for r in injected],
    }


def _retry_after(request: ApiRequest) -> float:
    found = re.search(r"retry after (\d+)", request.description or "")
    return float(found.group(1)) if found else 0.0


def _retry_gap(request: ApiRequest, requests: list[ApiRequest]) -> float | None:
    """Seconds until the same call to the same chat came again after a 429 (None: never)."""
    chat_id = request.params.get("chat_id")
    later = next((r for r in requests if r.at > request.at and r.method == request.method
                  and r.params.get("chat_id") == chat_id), None)
    return later.at - request.at if later is not None else None


def _obeyed(request: ApiRequest, requests: list[ApiRequest]) -> bool:
    gap = _retry_gap(request, requests)
    return gap is not None and gap >= _retry_after(request) - 0.05


# ---------------------------------------------------------------- one process polling, on SQLite


@dataclass
class PollingRun:
    """The same load through one `chatcrm bot` process polling the server, on SQLite in its own file."""

    home: Path
    tmp: Path
    scale: Scale
    plans: list[workload.ChatPlan] | None = None  # the webhook run's first load (else: at the fallback rate)
    rate: float | None = None
    startup_s: float | None = None
    _started: asyncio.Task[tuple[FakeBotApi, BotProcess]] | None = None

    def start_soon(self) -> None:
        """Seed and start the process in the background (its start-up overlaps other work)."""
        self._started = asyncio.create_task(self._start(), name="polling start")

    def _plans(self) -> list[workload.ChatPlan]:
        if self.plans is None:
            self.rate = self.scale.rate or self.scale.fallback_rate
            self.plans = plans_of(self.scale, 0, self.scale.chats_for(self.rate))
        return self.plans

    async def _start(self) -> tuple[FakeBotApi, BotProcess]:
        database_url = f"sqlite+aiosqlite:///{self.tmp / 'polling.sqlite3'}"
        await seed_business(self.home, database_url, sales=workload.staff_ids(self._plans()))
        api = FakeBotApi()
        await api.start()
        process = BotProcess("polling", [], base_env(self.home, database_url, api, self.scale),
                             self.tmp / "polling.log", "polling Telegram")
        process.start()
        try:
            self.startup_s = round(await process.ready(), 1)
        except BaseException:
            await process.stop()
            await api.close()
            raise
        return api, process

    async def play(self) -> dict[str, Any]:
        """Offer the load, judge the replies, stop the process."""
        if self._started is None:
            self.start_soon()
        assert self._started is not None
        api, process = await asyncio.wait_for(self._started, timeout=150.0)
        try:
            plans, rate = self._plans(), self.rate or self.scale.fallback_rate
            workload.register_users(api, plans)
            mark = len(api.requests)
            started = time.monotonic()
            offered, _ = await workload.play(api, plans, rate=rate)
            offered_s = time.monotonic() - started
            waited = await workload.wait_answered(api, offered, mark, timeout_s=self.scale.drain_s)
            figures = workload.judge(api, offered, api.requests[mark:])
            figures |= {"offered_per_s": round(len(offered) / offered_s, 1) if offered_s else None,
                        "offered_s": round(offered_s, 1), "trailing_s": round(waited, 1),
                        "startup_s": self.startup_s, "backend": "sqlite", "mode": "long polling, 1 process"}
        finally:
            await process.stop()
            await api.close()
        problems = process.problems()
        if problems:
            figures["process_problems"] = problems[:5]
        return figures


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> None:
    """Print one run's figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL (default: from the environment)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(run(args.scale, postgres=args.postgres), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

