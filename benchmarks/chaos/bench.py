"""Chaos benchmark: a burst, Telegram faults and several engines on one store; what was lost, doubled or refused.

Run: .venv/bin/chatcrm bench chaos --json   (or .venv/bin/python benchmarks/chaos/bench.py [--scale small])
Protocol, figures and caveats: benchmarks/chaos/README.md. It reports; it never asserts: `ok` and `targets`
say which of issue 9's figures were reached.

    burst       200 customer messages from 100 chats at once, knowledge answers slowed to 0.25 s
                -> in, stored, answered, busy, unexpected, lost, duplicated (SQLite; PostgreSQL if configured)
    faults      the real aiogram polling loop against the local Bot API server (tests.support.fake_bot_api)
                answering 429 (retry_after 1 and 120), 500 (sendMessage, editMessageText), 403 (a customer
                who blocked the bot) and a handler that raises once; the frozen clock is moved and the
                scheduler ticked until the outbox has nothing due -> per fault: expected, delivered, lost,
                duplicated, unexpected, and whether staff were told about the blocked customer
    push_loop   3 engines (3 apps, own sessionmakers) on one database, 30 due reminders, each app's
                Scheduler ticked concurrently -> delivered, duplicated, missing

Only public entry points are used (`bot.app.build_app`, `Engine.handle`, `claim_pushes`/`claim_outbox` through
`bot.scheduler.Scheduler`, `FakeBotApi`, `tests.support.aiogram_harness.running`); the database is read back
through the models to count what was stored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import itertools
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the tree this file sits in (tests.support lives there too)

from sqlalchemy import func, select  # noqa: E402 - after the path is set

from bot.app import App, build_app  # noqa: E402
from bot.core.messages import Inbound, Reply  # noqa: E402
from bot.texts import LANGUAGES, Texts  # noqa: E402
from crm_core.clock import FrozenClock  # noqa: E402
from crm_core.config import LlmSettings, Settings  # noqa: E402
from crm_core.models import ContactIdentity, CustomerQuestion, LogDraft, Ticket, TicketMessage  # noqa: E402
from crm_core.retrieval.models import Answer, Source  # noqa: E402
from crm_core.retrieval.normalize import Language  # noqa: E402
from crm_core.services import Services  # noqa: E402
from crm_core.uow import UnitOfWork  # noqa: E402

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

    from bot.scheduler import Scheduler
    from crm_core.ports import KnowledgePort
    from tests.support.fake_bot_api import FakeBotApi

# The outbox of issue 9; without it (an older tree) the bench still runs and reports what was lost.
OutboxMessage: Any = getattr(importlib.import_module("crm_core.models"), "OutboxMessage", None)

log = logging.getLogger("benchmarks.chaos")

# A Monday morning inside the default support hours, so customers are answered, not parked.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
POSTGRES_ENVS = ("CHATCRM_BENCH_POSTGRES_URL", "CHATCRM_TEST_POSTGRES_URL")
CHANNEL = "telegram"

FAULTS = ("429_retry_after_1", "429_retry_after_120", "500_send", "500_edit", "403_blocked", "handler_raises")
# How many calls each fault makes fail (it hits whichever calls come next, from any chat).
FAULT_TIMES = 3

# Customer questions the shipped knowledge answers (benchmarks/faq dev set); none is small talk.
QUESTIONS = (
    "bàn AP-D120 giá bao nhiêu", "AP-D160 mặt bàn dày bao nhiêu mm", "bàn chữ L có kèm hộc tủ ko",
    "AP-HD160 chịu tải bao nhiêu kg", "bàn giám đốc làm bằng gỗ gì, bao lâu thì có hàng",
    "bàn có màu xám bê tông ko shop", "tay đỡ màn hình đôi giá nhiêu", "ghế AP-C200 có tựa đầu ko",
    "ghế giám đốc da thật giá bao nhiêu", "ghế chân quỳ có xếp chồng dc ko",
    "chỉnh ghế thế nào cho đúng tư thế, đỡ đau lưng", "tải trọng ghế AP-C210 là bao nhiêu kg",
    "bàn họp 6 người giá bao nhiêu", "bàn họp tròn nhỏ để phòng giám đốc", "AP-MT240 có ổ cắm âm bàn ko",
    "tủ sắt 4 ngăn kéo giá bn", "tủ hồ sơ sắt cửa kính lùa", "mua 50 bộ được giảm mấy %",
    "có cho mượn mẫu về văn phòng dùng thử ko", "bao hanh ghe bao lau",
)
ASK_FOR_PERSON = "cho tôi gặp nhân viên"
STAFF_REPLY = "Chào anh/chị, em gọi lại ngay ạ"
SALES_NAMES = ("Lan", "Tuấn", "Hương", "Bình", "Dũng", "Mai", "Sơn", "Vy")
CONTACT_NAMES = ("Minh", "Hà", "Khoa", "Linh", "Nam", "Trang", "Phúc", "Hùng")
COMPANY_WORDS = ("Alpha", "Beta", "Gamma", "Delta", "Sigma", "Omega", "Zeta", "Kappa")
SALES_ID, MANAGER_ID, CUSTOMER_ID, BLOCKED_ID = 1001, 2001, 5001, 5999


def _texts(key: str) -> frozenset[str]:
    return frozenset(Texts(lang)(key) for lang in LANGUAGES if Texts(lang).has(key))


BUSY = _texts("common.busy")
UNEXPECTED = _texts("common.unexpected") | _texts("common.unexpected_not_kept")


@dataclass(frozen=True)
class Scale:
    """How much of each scenario one run plays."""

    burst_chats: int = 100
    messages_per_chat: int = 2
    knowledge_delay_s: float = 0.25
    knowledge: str = "real"  # "real": the shipped knowledge, ingested; "canned": one fixed answer
    faults: tuple[str, ...] = FAULTS
    salespeople: int = 8  # each logs once (and taps Save) in every fault that is not 403_blocked
    questions_per_fault: int = 4
    reminders: int = 30
    engines: int = 3
    push_rounds: int = 3
    postgres: bool = True  # when a server URL is configured


SCALES = {
    "full": Scale(),
    "small": Scale(burst_chats=5, knowledge="canned", faults=("429_retry_after_120", "500_edit", "403_blocked"),
                   salespeople=2, questions_per_fault=1, reminders=5, postgres=False),
}


# ---------------------------------------------------------------- entry points


def run(scale: str | Scale = "full") -> dict[str, Any]:
    """Play the three scenarios at `scale` ("full", "small" or a Scale); return the figures as one JSON-able dict."""
    chosen = SCALES[scale] if isinstance(scale, str) else scale
    with tempfile.TemporaryDirectory(prefix="chatcrm-bench-chaos-") as tmp:
        return asyncio.run(_run(chosen, Path(tmp)))


async def _run(scale: Scale, tmp: Path) -> dict[str, Any]:
    started = time.perf_counter()
    server_url = postgres_server_url() if scale.postgres else None
    answers, knowledge_note = await asyncio.to_thread(prepare_answers, scale, tmp / "knowledge")
    setup_s = time.perf_counter() - started

    burst: dict[str, Any] = {"sqlite": await _guarded(burst_on(None, tmp / "burst-sqlite", answers, scale))}
    burst["postgres"] = await _guarded(_on_postgres(server_url, lambda url: burst_on(
        url, tmp / "burst-postgres", answers, scale))) if server_url else None
    faults = await _guarded(faults_over_bot_api(tmp / "faults", answers, scale))
    crash = await _guarded(crash_and_restart(tmp / "crash", answers, scale))
    push: dict[str, Any] = {"sqlite": await _guarded(push_loop_on(None, tmp / "push-sqlite", scale))}
    push["postgres"] = await _guarded(_on_postgres(server_url, lambda url: push_loop_on(
        url, tmp / "push-postgres", scale))) if server_url else None

    targets = evaluate(burst, faults, push)
    targets["crash_restart"] = "error" not in crash and crash["lost"] == 0 and crash["duplicated"] == 0
    return {"ok": all(targets.values()), "targets": targets, "burst": burst, "faults": faults, "push_loop": push,
            "crash_restart": crash,
            "knowledge": knowledge_note, "postgres": server_url is not None, "setup_s": round(setup_s, 1),
            "seconds": round(time.perf_counter() - started, 1)}


def evaluate(burst: dict[str, Any], faults: dict[str, Any], push: dict[str, Any]) -> dict[str, bool]:
    """Say, figure by figure, whether issue 9's targets were reached (only for what ran)."""
    targets: dict[str, bool] = {}
    for backend, figures in burst.items():
        if figures is not None:
            targets[f"burst.{backend}"] = "error" not in figures and all(
                figures[key] == 0 for key in ("lost", "busy", "unexpected", "duplicated", "errors"))
    if "error" in faults:
        targets["faults"] = False
    for name, figures in faults.get("per_fault", {}).items():
        met = all(figures[key] == 0 for key in ("lost", "duplicated", "unexpected", "busy"))
        if name == "403_blocked":
            met = met and figures.get("staff_told") is True
        targets[f"faults.{name}"] = met
    for backend, figures in push.items():
        if figures is not None:
            targets[f"push_loop.{backend}"] = "error" not in figures and figures["missing"] == 0 \
                and figures["duplicated"] == 0
    return targets


def _guarded(work: Awaitable[dict[str, Any]]) -> Awaitable[dict[str, Any]]:
    """Run one scenario; a crash is reported as its figures."""
    from benchmarks.common.phases import guarded

    return guarded(work, what="scenario", error_chars=400)


# ---------------------------------------------------------------- stores and apps


def postgres_server_url() -> str | None:
    """Return the PostgreSQL server to create throwaway databases on, if one is configured."""
    return next((os.environ[name] for name in POSTGRES_ENVS if os.environ.get(name)), None)


def postgres_database(server_url: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh `chaos_…` database on the server of `server_url`, dropped afterwards."""
    from benchmarks.common.databases import postgres_database as throwaway_database

    return throwaway_database(server_url, prefix="chaos")


async def _on_postgres(server_url: str, scenario: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    async with postgres_database(server_url) as url:
        return await scenario(url)


def bench_settings(home: Path, database_url: str | None) -> Settings:
    """Settings of a bench home: SQLite in `home` (or `database_url`), no LLM, the default zone and language."""
    # Keyword arguments win over the environment, so a developer's CHATCRM_* cannot redirect the bench.
    return Settings(home=home, database_url=database_url, chroma_url=None, redis_url=None, llm=LlmSettings(),
                    timezone="Asia/Ho_Chi_Minh", language="vi", support_chat_id=None)


async def add_staff(app: App, staff: Sequence[tuple[str, str, int]]) -> list[int]:
    """Register staff members with their Telegram ids; return their user ids."""
    async with UnitOfWork(app.sessionmaker) as uow:
        services = Services.build(uow.session, now=app.clock.now())
        return [(await services.users.add(name=name, role=role, telegram_id=telegram_id)).id
                for name, role, telegram_id in staff]


def swap_knowledge(app: App, knowledge: KnowledgePort) -> None:
    """Answer customers from `knowledge` instead of the home's own knowledge base."""
    app.engine.ports = dataclasses.replace(app.engine.ports, knowledge=knowledge)


# ---------------------------------------------------------------- the slow knowledge base


class Answers:
    """The knowledge base's answer to each question, asked once (memoised; thread-safe)."""

    def __init__(self, knowledge: KnowledgePort | None) -> None:
        self._knowledge = knowledge
        self._memo: dict[str, Answer] = {}
        self._lock = threading.Lock()

    def __call__(self, question: str) -> Answer:
        with self._lock:
            if question not in self._memo:
                self._memo[question] = self._knowledge.ask(question) if self._knowledge else canned_answer(question)
            return self._memo[question]

    def summary(self) -> dict[str, int]:
        """Count the answers by outcome (answered, or handed off and why)."""
        return dict(Counter(answer.reason or "answered" for answer in self._memo.values()))


class SlowKnowledge:
    """A `KnowledgePort` that takes `delay_s` in its thread, then answers like the real knowledge base."""

    def __init__(self, answers: Callable[[str], Answer], delay_s: float) -> None:
        self._answers = answers
        self._delay_s = delay_s

    def ask(self, question: str, *, language: Language | None = None) -> Answer:
        """Sleep (the flow runs this in a thread), then answer (in one language: the canned answers)."""
        time.sleep(self._delay_s)
        return self._answers(question)


def canned_answer(question: str) -> Answer:
    """A confident answer from the warranty section; a request for a person is handed off."""
    if "nhân viên" in question:
        return Answer(confidence=0.0, handoff=True, reason="asked_for_human", language="vi")
    source = Source(doc="faq.csv", section="Bảo hành", title="Bảo hành", score=0.9)
    return Answer(body="Ghế được bảo hành 5 năm, bàn 3 năm.", body_language="vi", sources=[source],
                  confidence=0.9, handoff=False, language="vi")


def prepare_answers(scale: Scale, home: Path) -> tuple[Answers, str]:
    """Ingest the shipped knowledge (or fall back to a canned answer) and answer every question the run asks once."""
    if scale.knowledge != "real":
        answers, note = Answers(None), "canned"
    else:
        try:
            answers, note = Answers(open_shipped_knowledge(home)), "real (shipped knowledge, memoised per question)"
        except Exception as error:  # no embedding model offline: the burst still measures the engine
            log.warning("the shipped knowledge could not be opened; answering a canned answer", exc_info=True)
            answers, note = Answers(None), f"canned (the real knowledge base failed: {type(error).__name__})"
    for question in (*QUESTIONS, ASK_FOR_PERSON):
        answers(_nfc(question))
    return answers, f"{note}; {answers.summary()}"


def open_shipped_knowledge(home: Path) -> KnowledgePort:
    """Index the shipped demo knowledge into `home` (vectors from the install-time cache); return a reader."""
    from bot.demo import embedding_cache_dir
    from crm_core.assets import DEMO_KNOWLEDGE_DIR
    from crm_core.retrieval import KnowledgeBase
    from crm_core.retrieval.embedder import CachingEmbedder, default_embedder

    writer = KnowledgeBase(home=home, embedder=CachingEmbedder(default_embedder(), embedding_cache_dir()))
    report = writer.ingest([DEMO_KNOWLEDGE_DIR])
    if not report.ok:
        raise RuntimeError(f"ingest failed: {report.errors}")
    return KnowledgeBase(home=home)  # asking writes nothing: query vectors stay out of the shared cache


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------- 1. the burst


@dataclass(frozen=True)
class Sent:
    """One customer message of the burst and what the engine answered."""

    chat_id: str
    text: str
    replies: list[Reply] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


async def burst_on(database_url: str | None, home: Path, answers: Answers, scale: Scale) -> dict[str, Any]:
    """Send every chat's messages at once (one chat's concurrently too) and count what was kept and answered."""
    app = await build_app(bench_settings(home, database_url), clock=FrozenClock(NOW))
    try:
        await add_staff(app, [(SALES_NAMES[0], "sales", SALES_ID), ("Quang", "manager", MANAGER_ID)])
        swap_knowledge(app, SlowKnowledge(answers, scale.knowledge_delay_s))
        update_ids = itertools.count(1)
        messages = [(str(CUSTOMER_ID + chat), _nfc(QUESTIONS[(chat * scale.messages_per_chat + k) % len(QUESTIONS)]))
                    for chat in range(scale.burst_chats) for k in range(scale.messages_per_chat)]

        async def send(chat_id: str, text: str) -> Sent:
            update_id = str(next(update_ids))
            inbound = Inbound(channel=CHANNEL, chat_id=chat_id, user_id=chat_id, text=text, update_id=update_id,
                              message_id=update_id, language_code="vi", display_name=f"Khách {chat_id}")
            started = time.perf_counter()
            try:
                replies = await app.engine.handle(inbound)
            except Exception as error:  # the engine should never raise; counted, not fatal
                return Sent(chat_id, text, error=f"{type(error).__name__}: {error}",
                            seconds=time.perf_counter() - started)
            return Sent(chat_id, text, replies, seconds=time.perf_counter() - started)

        started = time.perf_counter()
        results = await asyncio.gather(*(send(chat_id, text) for chat_id, text in messages))
        wall_s = time.perf_counter() - started
        traces = await customer_traces(app)
    finally:
        await app.close()
    return burst_figures(results, traces, wall_s, backend="sqlite" if database_url is None else "postgres")


async def customer_traces(app: App) -> Counter[tuple[str, str]]:
    """Count, per (chat, text), the rows a customer's message left: questions kept, or lines of a ticket.

    A handed-off question is both a question and the first line of its ticket: the larger of the two
    counts is the number of traces, so one message kept once counts once.
    """
    async with UnitOfWork(app.sessionmaker) as uow:
        questions = Counter((str(chat), str(text)) for chat, text in await uow.session.execute(
            select(ContactIdentity.external_id, CustomerQuestion.question)
            .join(CustomerQuestion, CustomerQuestion.contact_id == ContactIdentity.contact_id)
            .where(ContactIdentity.channel == CHANNEL)))
        lines = Counter((str(chat), str(text)) for chat, text in await uow.session.execute(
            select(Ticket.chat_id, TicketMessage.text).join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
            .where(Ticket.channel == CHANNEL, TicketMessage.author == "customer")))
    return Counter({key: max(questions[key], lines[key]) for key in questions.keys() | lines.keys()})


def burst_figures(results: list[Sent], traces: Counter[tuple[str, str]], wall_s: float,
                  *, backend: str) -> dict[str, Any]:
    """In, stored, answered, busy, unexpected, lost, duplicated; latency of one message."""
    stored = duplicated = answered = busy = unexpected = 0
    for sent in results:
        kept = traces.get((sent.chat_id, sent.text), 0)
        stored += kept > 0
        duplicated += max(0, kept - 1)
        own = [r.text for r in sent.replies if r.chat_id in (None, sent.chat_id) and r.text]
        busy += any(text in BUSY for text in own)
        unexpected += any(text in UNEXPECTED for text in own)
        answered += any(text not in BUSY and text not in UNEXPECTED for text in own)
    expected_keys = {(sent.chat_id, sent.text) for sent in results}
    seconds = sorted(sent.seconds for sent in results)
    return {
        "backend": backend, "in": len(results), "stored": stored, "answered": answered, "busy": busy,
        "unexpected": unexpected, "lost": len(results) - stored, "duplicated": duplicated,
        "errors": sum(sent.error is not None for sent in results),
        "untraced_rows": sum(n for key, n in traces.items() if key not in expected_keys),
        "wall_s": round(wall_s, 2), "p50_s": round(_percentile(seconds, 0.5), 2),
        "p95_s": round(_percentile(seconds, 0.95), 2), "max_s": round(seconds[-1] if seconds else 0.0, 2),
    }


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, math.ceil(share * len(values)) - 1))]


# ---------------------------------------------------------------- 2. faults over the local Bot API server


@dataclass(frozen=True)
class Expected:
    """An output the engine asked for: during which fault, to which chat, with which text."""

    fault: str
    chat_id: str
    text: str


class RecordingEngine:
    """The engine as the adapter and the scheduler see it, writing down every output it hands them.

    Outputs are the replies of `handle`, the pushes of `claim_pushes` and the notices of `undelivered`;
    a message the outbox hands out again (same outbox id) is the same output, not a new one.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.fault = "setup"
        self.expected: list[Expected] = []
        self.replies_by_update: dict[str, list[Reply]] = {}
        self._outbox_ids: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def _expect(self, replies: Sequence[Reply], chat_id: str | None) -> None:
        for reply in replies:
            outbox_id = getattr(reply, "outbox_id", None)
            if outbox_id is not None:
                if outbox_id in self._outbox_ids:
                    continue
                self._outbox_ids.add(outbox_id)
            target = reply.chat_id or chat_id
            if target is not None and reply.text:
                self.expected.append(Expected(self.fault, target, reply.text))

    async def handle(self, inbound: Inbound, *, io: Any = None) -> list[Reply]:
        """Handle as the engine does; remember the replies."""
        replies: list[Reply] = await self.engine.handle(inbound, io=io)
        self.replies_by_update[inbound.update_id or ""] = replies
        self._expect(replies, inbound.chat_id)
        return replies

    async def claim_pushes(self, channels: Any) -> list[Reply]:
        """Claim due pushes; remember them."""
        pushes: list[Reply] = await self.engine.claim_pushes(channels)
        self._expect(pushes, None)
        return pushes

    async def claim_outbox(self, channels: Any) -> list[Reply]:
        """Claim messages due again (known ones are not new outputs)."""
        again: list[Reply] = await self.engine.claim_outbox(channels)
        self._expect(again, None)
        return again

    async def renew_claim(self, push: Reply) -> bool:
        """Confirm the claim right before sending, as the engine does."""
        renewed: bool = await self.engine.renew_claim(push)
        return renewed

    async def delivered(self, *args: Any, **kwargs: Any) -> None:
        """Report a delivery to the engine."""
        await self.engine.delivered(*args, **kwargs)

    async def undelivered(self, *args: Any, **kwargs: Any) -> list[Reply]:
        """Report a failed delivery; remember the notices the engine asks to send."""
        notices: list[Reply] = await self.engine.undelivered(*args, **kwargs)
        self._expect(notices, None)
        return notices

    async def command_menus(self, channel: str) -> Any:
        """Forward."""
        return await self.engine.command_menus(channel)


@contextlib.contextmanager
def raising_once(owner: type, name: str) -> Iterator[list[str]]:
    """Make the async method `owner.name` raise RuntimeError on its first call; yield the text it was given."""
    original = getattr(owner, name)
    raised: list[str] = []

    async def first_call_raises(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not raised:
            raised.append(str(args[1]) if len(args) > 1 else str(kwargs.get("text", "")))
            raise RuntimeError("chaos bench: injected handler failure")
        return await original(self, *args, **kwargs)

    setattr(owner, name, first_call_raises)
    try:
        yield raised
    finally:
        setattr(owner, name, original)


@dataclass
class FaultRun:
    """What one run over the Bot API server needs at hand."""

    app: App
    clock: FrozenClock
    api: FakeBotApi
    engine: RecordingEngine
    dispatcher: Dispatcher
    bot: Bot
    ticks: Scheduler
    sales_ids: list[int]
    notes: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    recovery_rounds: int = 0

    async def settle(self, update_ids: Sequence[int]) -> None:
        """Wait until the bot took these updates and finished with them (sends and reports included)."""
        from tests.support.aiogram_harness import handled

        for update_id in update_ids:
            await self.api.wait_confirmed(update_id, timeout=60.0)
        await handled(self.dispatcher, timeout=120.0)

    async def recover(self, max_rounds: int = 25) -> None:
        """Move the clock to the next message due in the outbox and tick, until nothing is due any more."""
        if OutboxMessage is None:  # no outbox to ask: give whatever retries exist one generous chance
            self.clock.advance(timedelta(seconds=130))
            await self.tick()
            return
        for _ in range(max_rounds):
            due = await next_due(self.app)
            if due is None:
                return
            if due > self.clock.now():
                self.clock.advance(due - self.clock.now() + timedelta(seconds=1))
            await self.tick()

    async def tick(self) -> None:
        """Tick the scheduler once and wait for what it sent."""
        self.recovery_rounds += 1
        try:
            await self.ticks.tick()
        except Exception:  # a tick that fails is tried again; the figures show what it cost
            log.exception("a scheduler tick failed")
        await self.settle([])


async def next_due(app: App) -> datetime | None:
    """When the outbox has something to (re)send next: a waiting message, or a claim that will expire."""
    async with UnitOfWork(app.sessionmaker) as uow:
        pending = await uow.session.scalar(select(func.min(OutboxMessage.next_attempt_at))
                                           .where(OutboxMessage.status == "pending"))
        claimed = await uow.session.scalar(select(func.min(OutboxMessage.claimed_until))
                                           .where(OutboxMessage.status == "sending"))
    due = [moment for moment in (pending, claimed) if moment is not None]
    return min(due) if due else None


async def outbox_statuses(app: App) -> dict[str, int] | None:
    """Count the outbox's messages by status (None without an outbox)."""
    if OutboxMessage is None:
        return None
    async with UnitOfWork(app.sessionmaker) as uow:
        rows = await uow.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {str(status): int(count) for status, count in rows}


def log_text(index: int) -> str:
    """A salesperson's log naming a new company of its own (so each preview and saved card is unique)."""
    company = f"Công ty {COMPANY_WORDS[index % len(COMPANY_WORDS)]} {index + 1}"
    return _nfc(f"Gọi anh {CONTACT_NAMES[index % len(CONTACT_NAMES)]} bên {company}, muốn {20 + index} bộ "
                f"giá {100 + index} triệu, gửi báo giá trước thứ Sáu")


def save_button(replies: Sequence[Reply]) -> str | None:
    """Return the callback data of the Save button of a preview."""
    for reply in replies:
        for button in reply.keyboard.buttons() if reply.keyboard is not None else []:
            if ":save:" in button.data:
                return button.data
    return None


def inject(api: FakeBotApi, fault: str, step: str) -> None:
    """Arm the server's failure for `fault` before `step` ("logs" or "saves") of the traffic."""
    if step == "logs" and fault == "429_retry_after_1":
        api.fail_next("sendMessage", 429, retry_after=1, times=FAULT_TIMES)
    elif step == "logs" and fault == "429_retry_after_120":
        api.fail_next("sendMessage", 429, retry_after=120, times=FAULT_TIMES)
    elif step == "logs" and fault == "500_send":
        api.fail_next("sendMessage", 500, times=FAULT_TIMES)
    elif step == "saves" and fault == "500_edit":
        api.fail_next("editMessageText", 500, times=FAULT_TIMES)


async def faults_over_bot_api(home: Path, answers: Answers, scale: Scale) -> dict[str, Any]:
    """Play logs, Save taps and customer questions over the real polling loop while the server misbehaves."""
    from bot.adapters.aiogram_adapter import adapter_of
    from bot.scheduler import Scheduler
    from tests.support.aiogram_harness import running
    from tests.support.fake_bot_api import FakeBotApi

    clock = FrozenClock(NOW)
    app = await build_app(bench_settings(home, None), clock=clock)
    try:
        sales = [(name, "sales", SALES_ID + i) for i, name in enumerate(SALES_NAMES[:scale.salespeople])]
        staff_ids = await add_staff(app, [*sales, ("Quang", "manager", MANAGER_ID)])
        swap_knowledge(app, SlowKnowledge(answers, 0.0))
        engine = RecordingEngine(app.engine)
        async with FakeBotApi() as api:
            for name, _role, telegram_id in sales:
                api.add_user(telegram_id, first_name=name, language_code="vi")
            api.add_user(MANAGER_ID, first_name="Quang", language_code="vi")
            async with running(api, engine) as (dispatcher, bot):
                ticks = Scheduler(engine, interval_s=3600.0)
                ticks.register(CHANNEL, adapter_of(dispatcher).sender(bot))
                run = FaultRun(app, clock, api, engine, dispatcher, bot, ticks, staff_ids[:-1])
                await play_faults(run, scale)
                engine.fault = "final"
                await run.recover()
            figures = fault_figures(run, scale)
        outbox = await outbox_statuses(app)
        figures["outbox"] = outbox
        figures["outbox_drained"] = None if outbox is None else not {"pending", "sending"} & outbox.keys()
    finally:
        await app.close()
    return figures


async def crash_and_restart(home: Path, answers: Answers, scale: Scale) -> dict[str, Any]:
    """Updates confirmed to Telegram while the bot goes down mid-handling are answered, once, after a restart.

    The first bot takes the updates (polling confirms them) and hangs in every handler, then stops with
    its handlers cancelled, as a killed process would leave them; a second bot on the same store starts.
    """
    from bot.adapters.aiogram_adapter import build_bot, build_dispatcher, run_polling
    from tests.support.aiogram_harness import running
    from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

    app = await build_app(bench_settings(home, None), clock=FrozenClock(NOW))
    try:
        sales = [(name, "sales", SALES_ID + i) for i, name in enumerate(SALES_NAMES[:scale.salespeople])]
        await add_staff(app, sales)
        swap_knowledge(app, SlowKnowledge(answers, 0.0))
        engine, hung = app.engine, asyncio.Event()
        async with FakeBotApi() as api:
            for _name, _role, telegram_id in sales:
                api.add_user(telegram_id, first_name="Sales", language_code="vi")
            customers = [CUSTOMER_ID + 500 + i for i in range(scale.questions_per_fault)]
            for chat_id in customers:
                api.add_user(chat_id, first_name=f"Khách {chat_id}", language_code="vi")
            handle = engine.handle

            async def going_down(inbound: Inbound, *, io: object = None) -> list[Reply]:
                await hung.wait()  # never set: the process dies first
                return []

            engine.handle = going_down  # type: ignore[method-assign]
            bot, dispatcher = build_bot(DEFAULT_TOKEN, api.base_url), build_dispatcher(engine)
            first = asyncio.create_task(run_polling(engine, DEFAULT_TOKEN, api.base_url, journal=engine, bot=bot,
                                                   dispatcher=dispatcher, handle_signals=False, drain_timeout_s=0.1))
            sent = [api.send_text(SALES_ID + i, log_text(900 + i)) for i in range(scale.salespeople)]
            sent += [api.send_text(chat_id, _nfc(QUESTIONS[n % len(QUESTIONS)])) for n, chat_id in enumerate(customers)]
            for update_id in sent:
                await api.wait_confirmed(update_id)
            await dispatcher.stop_polling()
            await first
            answered_before = sum(len(api.sent(chat)) for chat in {*customers, *(s[2] for s in sales)})
            engine.handle = handle  # type: ignore[method-assign]
            async with running(api, engine) as (second, _bot):
                chats = [SALES_ID + i for i in range(scale.salespeople)] + customers
                with contextlib.suppress(TimeoutError):
                    await api.wait_for(lambda: all(api.sent(chat) for chat in chats), timeout=60.0)
                from tests.support.aiogram_harness import handled

                await handled(second)
            # One update per chat; a reply sent twice is the same text twice (a question may bring two messages).
            texts_per_chat = [[m.text for m in api.sent(chat) if m.text] for chat in chats]
    finally:
        await app.close()
    return {"updates": len(sent), "confirmed_before_the_crash": len(sent), "answered_before_the_crash": answered_before,
            "answered_after_restart": sum(1 for texts in texts_per_chat if texts),
            "lost": sum(1 for texts in texts_per_chat if not texts),
            "duplicated": sum(len(texts) - len(set(texts)) for texts in texts_per_chat)}


async def play_faults(run: FaultRun, scale: Scale) -> None:
    """Each fault in turn: arm it, play its share of the traffic, let the outbox recover."""
    api, customers, logs = run.api, itertools.count(CUSTOMER_ID), itertools.count()
    for fault in scale.faults:
        run.engine.fault = fault
        if fault == "403_blocked":
            await play_blocked_customer(run)
            continue
        mine = [(SALES_ID + i, log_text(next(logs))) for i in range(scale.salespeople)]
        asked = [(next(customers), _nfc(QUESTIONS[n % len(QUESTIONS)])) for n in range(scale.questions_per_fault)]
        for chat_id, _text in asked:
            api.add_user(chat_id, first_name=f"Khách {chat_id}", language_code="vi")
        mark = len(api.requests)
        inject(api, fault, "logs")
        if fault == "500_send":  # a reminder's push meets the first failure
            await due_reminder(run, f"chaos reminder {fault}")
            await run.tick()
        injector: contextlib.AbstractContextManager[list[str]] = raising_once(_log_flow(), "draft_from_text") \
            if fault == "handler_raises" else contextlib.nullcontext([])
        with injector as raised:
            sent = {(chat_id, text): api.send_text(chat_id, text) for chat_id, text in [*mine, *asked]}
            await run.settle(list(sent.values()))
            run.notes[fault]["injected_errors"] = len(raised)
        if raised:  # the update is delivered again (a webhook retry, a restart): it must work now, once
            again = next(update_id for (_chat, text), update_id in sent.items() if text == raised[0])
            api.redeliver(again)
            await run.settle([again])
        await run.recover()
        inject(api, fault, "saves")
        taps, missed = [], 0
        for chat_id, text in mine:
            data = save_button(run.engine.replies_by_update.get(str(sent[(chat_id, text)]), []))
            try:
                taps.append(api.tap(chat_id, data or "no save button"))
            except LookupError:  # the preview never arrived, or had no Save button
                missed += 1
        run.notes[fault]["save_taps_missed"] = missed
        await run.settle(taps)
        await run.recover()
        # What the server answered with a failure, and the handler's own raise.
        run.notes[fault]["injected_failures"] = sum(request.injected for request in api.requests[mark:]) + len(raised)
        if raised:
            run.notes[fault]["drafts_of_raised_log"] = await draft_statuses(run.app, raised[0])


async def due_reminder(run: FaultRun, title: str) -> None:
    """Give the first salesperson a task that is due now (its reminder goes out on the next tick)."""
    async with UnitOfWork(run.app.sessionmaker) as uow:
        services = Services.build(uow.session, now=run.clock.now())
        await services.tasks.create(owner_id=run.sales_ids[0], title=title,
                                    due_at=run.clock.now() - timedelta(minutes=1))


def _log_flow() -> type:
    from crm_core.flows.logs import LogFlow

    return LogFlow


async def draft_statuses(app: App, raw_text: str) -> list[str]:
    """The statuses of the drafts kept for one typed log (one row per update is the target)."""
    async with UnitOfWork(app.sessionmaker) as uow:
        return [str(status) for status in await uow.session.scalars(
            select(LogDraft.status).where(LogDraft.raw_text == raw_text).order_by(LogDraft.id))]


async def play_blocked_customer(run: FaultRun) -> None:
    """A customer asks for a person, then blocks the bot; the manager replies to the ticket."""
    api, notes = run.api, run.notes["403_blocked"]
    api.add_user(BLOCKED_ID, first_name="Hoa", language_code="vi")
    mark_requests = len(api.requests)
    await run.settle([api.send_text(BLOCKED_ID, _nfc(ASK_FOR_PERSON))])
    await run.recover()
    async with UnitOfWork(run.app.sessionmaker) as uow:
        ticket_id = await uow.session.scalar(select(func.max(Ticket.id)).where(Ticket.chat_id == str(BLOCKED_ID)))
    notes["ticket"] = ticket_id
    if ticket_id is None:
        notes["staff_told"] = None
        return
    api.block(BLOCKED_ID)
    mark = len(api.sent(MANAGER_ID))
    await run.settle([api.send_text(MANAGER_ID, f"/reply {ticket_id} {STAFF_REPLY}")])
    await run.recover()
    told = _texts("common.undelivered_unreachable")
    said = [message.body or "" for message in api.sent(MANAGER_ID)[mark:]]
    notes["staff_told"] = any(phrase in text for text in said for phrase in told)
    notes["staff_heard"] = [text[:120] for text in said]
    notes["injected_failures"] = sum(request.status == 403 for request in api.requests[mark_requests:])


def fault_figures(run: FaultRun, scale: Scale) -> dict[str, Any]:
    """Compare what the engine asked to send with what reached each chat of the server."""
    api = run.api
    seen: dict[tuple[str, str], int] = Counter()
    bodies_by_chat: dict[str, list[set[str]]] = {}
    for chat_id in {e.chat_id for e in run.engine.expected} | {str(u) for u in api.users}:
        messages = api.sent(int(chat_id), include_deleted=True) if chat_id.lstrip("-").isdigit() else []
        bodies_by_chat[chat_id] = [{body for body in [*m.edits, m.body] if body} for m in messages]
    for chat_id, bodies in bodies_by_chat.items():
        for texts in bodies:
            for text in texts:
                seen[(chat_id, text)] += 1
    per_fault: dict[str, dict[str, Any]] = {name: _empty_fault() for name in (*scale.faults, "final")}
    grouped: dict[tuple[str, str], list[Expected]] = defaultdict(list)
    for expected in run.engine.expected:
        grouped[(expected.chat_id, expected.text)].append(expected)
    blocked = {str(chat) for chat in api.blocked}
    for key, outputs in grouped.items():
        observed = seen.get(key, 0)
        for n, expected in enumerate(outputs):
            figures = per_fault.setdefault(expected.fault, _empty_fault())
            figures["expected"] += 1
            if n < observed:
                figures["delivered"] += 1
            elif key[0] in blocked:
                figures["unreachable"] += 1
            else:
                figures["lost"] += 1
            figures["unexpected"] += expected.text in UNEXPECTED
            figures["busy"] += expected.text in BUSY
        per_fault[outputs[-1].fault]["duplicated"] += max(0, observed - len(outputs))
    for name, notes in run.notes.items():
        per_fault[name].update(notes)
        # The answer to the injected failure is the polite one the engine owes; only others count.
        per_fault[name]["unexpected"] = max(0, per_fault[name]["unexpected"] - int(notes.get("injected_errors", 0)))
    if not per_fault["final"]["expected"]:
        del per_fault["final"]
    unexplained = sum(n for key, n in seen.items() if key not in grouped)
    totals = {key: sum(f[key] for f in per_fault.values())
              for key in ("expected", "delivered", "lost", "duplicated", "unreachable", "unexpected", "busy")}
    unexpected_seen = sum(n for (_chat, text), n in seen.items() if text in UNEXPECTED)
    traffic_faults = sum(name != "403_blocked" for name in scale.faults)
    return {"backend": "sqlite", "per_fault": per_fault, "totals": totals, "unexplained_messages": unexplained,
            "unexpected_seen": unexpected_seen, "recovery_rounds": run.recovery_rounds,
            "clock_advanced_s": round((run.clock.now() - NOW).total_seconds()),
            "spec_problems": len(api.problems), "logs": scale.salespeople * traffic_faults,
            "questions": scale.questions_per_fault * traffic_faults}


def _empty_fault() -> dict[str, Any]:
    return {"expected": 0, "delivered": 0, "lost": 0, "duplicated": 0, "unreachable": 0, "unexpected": 0, "busy": 0}


# ---------------------------------------------------------------- 3. several engines running the push loop


async def push_loop_on(database_url: str | None, home: Path, scale: Scale) -> dict[str, Any]:
    """`scale.engines` apps on one database, due reminders, every app's scheduler ticked at once a few rounds."""
    settings = bench_settings(home, database_url)
    clocks = [FrozenClock(NOW) for _ in range(scale.engines)]
    apps: list[App] = []
    try:
        for clock in clocks:
            apps.append(await build_app(settings, clock=clock))
        owners = await add_staff(apps[0], [("Lan", "sales", SALES_ID), ("Tuấn", "sales", SALES_ID + 1),
                                           ("Quang", "manager", MANAGER_ID)])
        titles = [f"chaos reminder {i:03d}" for i in range(scale.reminders)]
        async with UnitOfWork(apps[0].sessionmaker) as uow:
            services = Services.build(uow.session, now=NOW)
            for i, title in enumerate(titles):
                await services.tasks.create(owner_id=owners[i % len(owners)], title=title,
                                            due_at=NOW - timedelta(minutes=30 + i))
        received: list[tuple[int, Reply]] = []
        message_ids = itertools.count(1)
        for index, app in enumerate(apps):
            app.scheduler.register(CHANNEL, _recorder(index, app, received, message_ids))
        tick_errors = 0

        async def round_of_ticks() -> None:
            nonlocal tick_errors
            results = await asyncio.gather(*(app.scheduler.tick() for app in apps), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    log.warning("a scheduler tick failed: %r", result)
                    tick_errors += 1

        for _ in range(scale.push_rounds):
            await round_of_ticks()
        for clock in clocks:  # past every send lease: a claim never reported would be sent again now
            clock.advance(timedelta(minutes=5))
        await round_of_ticks()
    finally:
        for app in apps:
            await app.close()
    counts = Counter(title for _index, push in received for title in titles if title in push.text)
    return {"backend": "sqlite" if database_url is None else "postgres", "engines": scale.engines,
            "reminders": len(titles), "delivered": len(counts), "duplicated": sum(counts.values()) - len(counts),
            "missing": len(titles) - len(counts), "pushes": len(received),
            "by_engine": [sum(1 for index, _push in received if index == n) for n in range(scale.engines)],
            "tick_errors": tick_errors, "rounds": scale.push_rounds + 1}


def _recorder(index: int, app: App, received: list[tuple[int, Reply]],
              message_ids: Iterator[int]) -> Callable[[Reply], Awaitable[None]]:
    """A sender that records each push and reports it delivered, as a channel's sender does."""

    async def deliver(push: Reply) -> None:
        received.append((index, push))
        report = getattr(app.engine, "delivered", None)
        if report is not None:
            await report(push, channel=push.channel or CHANNEL, chat_id=push.chat_id or "",
                         message_ids=[str(next(message_ids))])

    return deliver


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> None:
    """Print one run's figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(run(args.scale), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
