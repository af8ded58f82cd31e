"""What the CLI commands do, kept apart from argument parsing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.adapters.console import ConsoleChannel
from bot.app import build_app, make_clock, prepare_store
from bot.knowledge_cli import kb_ask_lines as kb_ask_lines  # the kb commands live there
from bot.knowledge_cli import kb_ask_one as kb_ask_one
from bot.knowledge_cli import kb_ingest_paths as kb_ingest_paths
from bot.knowledge_cli import open_knowledge_base as open_knowledge_base
from crm_core.config import Settings
from crm_core.errors import InvalidInput
from crm_core.schemas import UserOut
from crm_core.services import Services
from crm_core.uow import UnitOfWork

log = logging.getLogger(__name__)

PARSE_KEYS = ("kind", "contact", "company", "amount", "currency", "quantity", "next_step", "due", "due_options",
              "occurred_on", "dates", "stage", "phone", "email", "language")


@asynccontextmanager
async def _one_unit_of_work(config: Settings) -> AsyncIterator[Services]:
    """Open the home's store for one committed unit of work, then release it."""
    clock = make_clock(config, None)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            yield Services.build(uow.session, now=clock.now())
    finally:
        await db.dispose()


async def collect_stats(config: Settings) -> dict[str, int]:
    """Count users, companies, contacts, deals, interactions, tasks and knowledge sections."""
    async with _one_unit_of_work(config) as services:
        companies, contacts = await services.directory.counts()
        counts = {"users": len(await services.users.list()), "companies": companies, "contacts": contacts,
                  "deals": await services.deals.count(), "interactions": await services.interactions_count(),
                  "tasks": await services.tasks.count()}
    counts["knowledge_sections"] = knowledge_sections(config)
    return counts


def knowledge_sections(config: Settings) -> int:
    """Count indexed knowledge sections; 0 when the knowledge base is empty or absent."""
    try:
        from crm_core.retrieval import KnowledgeBase
    except ImportError:
        return 0
    if not config.chroma_dir.exists() and config.chroma_url is None:
        return 0
    try:
        return int(KnowledgeBase(home=config.home, chroma_url=config.chroma_url).section_count())
    except Exception:  # an unreadable index counts as empty here; `kb list` reports the error
        log.warning("could not read the knowledge base", exc_info=True)
        return 0


async def add_user(config: Settings, *, name: str, role: str, telegram_id: int | None,
                   language: str, force: bool = False) -> tuple[UserOut, list[UserOut]]:
    """Register a staff member; return them and the colleagues already named like them (added anyway with `force`)."""
    async with _one_unit_of_work(config) as services:
        namesakes = await services.users.namesakes(name)
        user = await services.users.add(name=name, role=role, telegram_id=telegram_id, language=language,
                                        actor="cli", force=force)
    return user, namesakes


async def set_user_role(config: Settings, name_or_id: str, role: str) -> tuple[UserOut, str]:
    """Give a staff member another role (audited); return them and their former role."""
    async with _one_unit_of_work(config) as services:
        return await services.users.set_role(name_or_id, role, actor="cli")


async def deactivate_user(config: Settings, name_or_id: str) -> tuple[UserOut, bool]:
    """Deactivate a staff member (audited); return them and whether they were active."""
    async with _one_unit_of_work(config) as services:
        return await services.users.deactivate(name_or_id, actor="cli")


async def list_users(config: Settings) -> list[dict[str, Any]]:
    """List staff as the contract's JSON."""
    async with _one_unit_of_work(config) as services:
        users = await services.users.list()
    return [{"name": u.name, "role": u.role, "telegram_id": u.telegram_id, "language": u.language,
             "active": u.active} for u in users]


@contextmanager
def logs_to_file(path: Path) -> Iterator[Path]:
    """Send the log records of this run to `path` instead of the terminal the chat is printed on.

    A console chat shares its terminal with stderr: a library's warning there reads as the bot's reply.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    terminal = [h for h in root.handlers if isinstance(h, logging.StreamHandler)
                and not isinstance(h, logging.FileHandler)]
    for h in terminal:
        root.removeHandler(h)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        for h in terminal:
            root.addHandler(h)


async def console_chat(config: Settings, *, user: str, customer: bool, now: datetime | None, lines: Iterable[str],
                       out: TextIO, echo: bool, phone: str | None = None) -> None:
    """Run a console conversation until the input ends; log records go to <home>/logs/console.log."""
    with logs_to_file(config.home / "logs" / "console.log"):
        await _console_chat(config, user=user, customer=customer, now=now, lines=lines, out=out, echo=echo,
                            phone=phone)


async def _console_chat(config: Settings, *, user: str, customer: bool, now: datetime | None,
                        lines: Iterable[str], out: TextIO, echo: bool, phone: str | None) -> None:
    app = await build_app(config, now=now)
    try:
        if not customer:
            async with UnitOfWork(app.sessionmaker) as uow:
                found = await Services.build(uow.session, now=app.clock.now()).users.by_name(user)
            if found is None:
                raise InvalidInput(f"no staff member named {user!r}; see `chatcrm users list`")
        await ConsoleChannel(app.engine, scheduler=app.scheduler, user=user, out=out, echo=echo, customer=customer,
                             phone=phone, language=config.language).run(lines)
    finally:
        await app.close()


async def run_telegram(config: Settings, say: Callable[[str], None] = lambda _line: None, *,
                       framework: str = "aiogram") -> None:
    """Run the bot with long polling on `framework` (aiogram or ptb); the app's scheduler delivers its pushes.

    `say` tells the operator how start-up goes: loading the knowledge base and its model takes a while on a
    cold machine, and silence looks like a hang.
    """
    if framework == "ptb":
        from bot.adapters.ptb_adapter import run_polling
    else:
        from bot.adapters.aiogram_adapter import run_polling

    from bot.webhook.bot_api import refuse_polling_if_webhook_set

    assert config.telegram_bot_token is not None
    # Polling while a webhook is set would take the deploy's updates away (and aiogram would delete it).
    await refuse_polling_if_webhook_set(config.telegram_bot_token.get_secret_value(),
                                        api_base_url=config.telegram_api_url)
    app = await build_app(config)
    from bot.core.limits import LocalRateLimiter, RateLimiter

    limiter: RateLimiter = LocalRateLimiter()  # Telegram's limits, counted in this process
    if config.redis_url:  # other processes (webhook workers) may handle the same chats and share the limits
        from bot.core.redis_store import shared_parts

        parts = shared_parts(config.redis_url, prefix=config.redis_prefix, lock_lease_s=config.inbox_lease_seconds)
        parts.use_in(app.engine)
        limiter = parts.limiter
        app_close = app.close

        async def close() -> None:
            await parts.close()
            await app_close()

        app.close = close  # type: ignore[method-assign]
    try:
        say(f"chatcrm bot: loading the knowledge base and the CRM of {config.home} …")
        await app.ready_for_traffic()
        say(f"chatcrm bot: ready on {framework}, polling Telegram (Ctrl+C stops it)")
        assert config.telegram_bot_token is not None
        await run_polling(app.engine, config.telegram_bot_token.get_secret_value(), config.telegram_api_url,
                          scheduler=app.scheduler, journal=app.engine, limiter=limiter)
    finally:
        await app.close()


def parse_one(text: str, *, now: datetime, language: str | None) -> dict[str, Any]:
    """Parse one log into the contract's JSON."""
    from crm_core.understanding import parse_log

    if not text.strip():
        return dict.fromkeys(PARSE_KEYS)
    return dict(parse_log(text, now=now, language=language).to_contract())


def parse_lines(lines: Iterable[str], *, now: datetime, language: str | None) -> Iterator[str]:
    """Parse one log per line; a failing line gives an error object and the run goes on."""
    for line in lines:
        text = line.rstrip("\n")
        try:
            result: dict[str, Any] = parse_one(text, now=now, language=language)
        except Exception as error:  # one bad line must not stop a batch
            log.warning("could not parse a line", exc_info=True)
            result = {"error": str(error) or type(error).__name__}
        yield json.dumps(result, ensure_ascii=False, default=str)


async def summary_report(config: Settings, *, day: str | None, period: str, now: datetime | None,
                         chart: Path | None, language: str) -> tuple[dict[str, Any], str]:
    """Compute the team's summary for `chatcrm summary`: its JSON (docs/interfaces.md) and its chat text."""
    from datetime import date

    from bot.handlers.reports import chart_file, highlight_text, render_summary
    from bot.texts import Texts
    from crm_core.ports import Ports
    from crm_core.reports.flow import ReportFlow
    from crm_core.reports.periods import PERIOD_KINDS

    kind = next((k for k in PERIOD_KINDS if k == period), None)
    if kind is None:
        raise InvalidInput(f"--period must be one of {', '.join(PERIOD_KINDS)}")
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError as error:
        raise InvalidInput(f"--date must be YYYY-MM-DD (got {day!r})") from error
    # The command line speaks for the business: the team's figures, as an admin sees them.
    admin = UserOut(id=0, name="chatcrm", role="admin", language=language, active=True)
    clock = make_clock(config, now)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=clock.now())
            summary = await ReportFlow(services=services, ports=Ports(), settings=config).figures(
                admin, kind, wanted)
    finally:
        await db.dispose()
    if chart is not None:
        drawn = chart_file(summary, config, Texts(language), language, admin.id)
        await asyncio.to_thread(_copy_file, drawn, chart)
    # The paragraph in the JSON is the one the text shows: the rules' wording when no LLM wrote one.
    paragraph = highlight_text(summary, Texts(language), language)
    return summary.as_json(rules_text=paragraph), render_summary(summary, Texts(language), language, admin)


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())


async def next_actions(config: Settings, *, user: str, now: datetime | None, limit: int, language: str
                       ) -> tuple[list[dict[str, Any]], str]:
    """`chatcrm next --user NAME`: one salesperson's ranked actions as the contract's JSON and as chat text."""
    from bot.handlers.nba import item_json, list_text
    from bot.texts import Texts
    from crm_core.nba.flow import NbaFlow

    clock = make_clock(config, now)
    db, sessionmaker = await prepare_store(config, clock)
    texts = Texts(language)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=clock.now())
            person = await services.users.resolve(user)
            found = await NbaFlow(services=services, settings=config).next_for(person, limit=limit)
    finally:
        await db.dispose()
    return [item_json(item, texts) for item in found.items], list_text(found, texts)


async def next_stats(config: Settings, *, now: datetime | None, language: str) -> tuple[dict[str, Any], str]:
    """`chatcrm next --stats`: done / snoozed / ignored per rule over 30 days."""
    from bot.handlers.nba import stats_text
    from bot.texts import Texts
    from crm_core.nba.flow import NbaFlow

    clock = make_clock(config, now)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            stats = await NbaFlow(services=Services.build(uow.session, now=clock.now()), settings=config).stats()
    finally:
        await db.dispose()
    return stats.as_json(), stats_text(stats, Texts(language), None)
