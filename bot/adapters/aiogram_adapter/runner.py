"""Drive the conversation engine from aiogram: dispatcher, per-chat ordering, callbacks, pushes, polling.

Delivery semantics: aiogram confirms a polled update (the next getUpdates carries offset = id + 1)
before its handler finishes, so an update being handled when the process dies would never be
delivered again. Given an `UpdateJournal` (the engine), every polled batch is therefore kept in the
store before aiogram sees it (a request middleware on getUpdates, which waits and retries while the
store cannot take it, so nothing is confirmed unkept); a handled update is forgotten with the next
poll, and at start the updates an earlier process left are handled first. The engine dedupes on
`Inbound.update_id`, so handling one twice is harmless. Polling never drops pending updates: what
users sent while the bot was down is handled when it comes back.

Ordering: one asyncio lock per chat, taken before the first suspension point of the handler, so
two fast taps in one chat are handled and rendered in arrival order while other chats run
concurrently.

Callbacks: Telegram shows a spinner until the query is answered and rejects late answers ("query
is too old"). The answer is sent as soon as the engine returns (with the first `Reply.toast`),
before any rendering, and in any case after `callback_answer_deadline_s` (without a toast).

Pushes (reminders, escalations) are claimed by the one scheduler (`bot.scheduler`), not here: the
adapter registers its sender for the "telegram" channel. A sent reply that stands for something
(`Reply.ref`, e.g. a ticket notice) is recorded with its Telegram message id, so a staff member's
reply to that message reaches the right ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update

from bot.adapters.aiogram_adapter.channel_io import TelegramIO
from bot.adapters.aiogram_adapter.convert import CHANNEL, update_chat_id, update_to_inbound
from bot.adapters.aiogram_adapter.render import ReplyRenderer
from bot.adapters.aiogram_adapter.session import build_bot
from bot.adapters.telegram_delivery import chat_ref, toast_of, unless_toasted
from bot.core.limits import RateLimiter
from bot.core.locks import ChatLocks
from bot.core.messages import Reply
from bot.core.ports import CommandMenu, ConversationEngine, UpdateJournal
from bot.scheduler import Deliver, Scheduler
from bot.webhook.bot_api import refuse_if_webhook_set

log = logging.getLogger(__name__)

ADAPTER_KEY = "telegram_adapter"


class _CallbackAnswer:
    """Answer a callback query exactly once, whoever comes first: the engine's toast or the deadline."""

    def __init__(self, bot: Bot, query_id: str) -> None:
        self._bot = bot
        self._query_id = query_id
        self._lock = asyncio.Lock()
        self.done = False

    async def send(self, text: str | None) -> bool:
        """Answer with `text`; False when the query was answered already (the deadline came first) or failed."""
        async with self._lock:
            if self.done:
                return False
            self.done = True
            try:
                await self._bot.answer_callback_query(self._query_id, text=text)
            except TelegramAPIError as exc:
                log.warning("could not answer callback query %s: %s", self._query_id, exc)
                return False
            return True

    async def send_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self.send(None)


class TelegramAdapter:
    """Turn aiogram updates into engine calls and render the replies; deliver the scheduler's pushes."""

    def __init__(self, engine: ConversationEngine, *, callback_answer_deadline_s: float = 1.0) -> None:
        self.engine = engine
        self.callback_answer_deadline_s = callback_answer_deadline_s
        self.locks = ChatLocks()
        self.inflight: set[asyncio.Task[Any]] = set()
        self.keeps_updates = False  # set while a `KeepPolledUpdates` keeps what is polled
        self.handled: set[str] = set()  # kept updates handled since the last poll

    async def on_update(self, update: Update, bot: Bot) -> None:
        """Handle one update end to end: convert, engine, answer the callback, render."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        query = update.callback_query
        answer = _CallbackAnswer(bot, query.id) if query is not None else None
        timer = asyncio.create_task(answer.send_after(self.callback_answer_deadline_s)) if answer else None
        try:
            async with self.locks.hold(update_chat_id(update) or f"update:{update.update_id}"):
                await self._handle(update, bot, answer)
        except asyncio.CancelledError:
            raise  # stopped before it was handled: it stays kept, and the next start handles it
        except Exception:
            self._handled(update)  # the engine answered and recorded it; only the rendering failed
            raise
        else:
            self._handled(update)
        finally:
            if answer is not None and timer is not None:
                await answer.send(None)  # a failed engine call still stops the spinner
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer
            if task is not None:
                self.inflight.discard(task)

    def _handled(self, update: Update) -> None:
        if self.keeps_updates:
            self.handled.add(str(update.update_id))

    async def _handle(self, update: Update, bot: Bot, answer: _CallbackAnswer | None) -> None:
        me = await bot.me()
        inbound = update_to_inbound(update, bot_username=me.username)
        if inbound is None:
            log.debug("update %s carries nothing to handle", update.update_id)
            return
        replies = await self.engine.handle(inbound, io=TelegramIO(bot))
        if answer is not None and not await answer.send(toast_of(replies)):
            replies = unless_toasted(replies)  # the toast came too late to show: its text is sent instead
        await self.renderer(bot).render(replies, inbound)

    def renderer(self, bot: Bot) -> ReplyRenderer:
        """Return a renderer that reports every delivery to the engine (its outbox, the ids of ticket notices)."""
        return ReplyRenderer(bot, report=self.engine)

    def sender(self, bot: Bot) -> Deliver:
        """Return the scheduler's sender for Telegram: render one push under its chat's lock (429s retried)."""

        async def deliver(push: Reply) -> None:
            assert push.chat_id is not None  # the scheduler delivers addressed pushes only
            async with self.locks.hold(push.chat_id):
                await self.renderer(bot).render([push])

        return deliver

    async def drain(self, timeout_s: float) -> None:
        """Wait (bounded) for updates still being handled, so a stop loses nothing already started."""
        pending = {t for t in self.inflight if t is not asyncio.current_task()}
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=timeout_s)
        for task in still:
            log.warning("update handler still running at shutdown; cancelling %s", task.get_name())
            task.cancel()
        if still:
            await asyncio.wait(still)


class KeepPolledUpdates(BaseRequestMiddleware):
    """Keep each polled batch in the journal before aiogram sees it (and so before it is confirmed).

    The same write forgets the updates handled since the previous poll. While the store cannot take
    the batch, the poll waits and tries again: Telegram keeps the updates meanwhile.
    """

    def __init__(self, journal: UpdateJournal, adapter: TelegramAdapter, *, first_wait_s: float = 0.2,
                 max_wait_s: float = 10.0) -> None:
        self._journal = journal
        self._adapter = adapter
        self._first_wait_s = first_wait_s
        self._max_wait_s = max_wait_s

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        response = await make_request(bot, method)
        # Typed as a `Response`, but what the session hands back through its middlewares is the result.
        result: Any = getattr(response, "result", response)
        if isinstance(method, GetUpdates) and isinstance(result, list):
            # Kept in the Bot API's own shape ("from", not "from_user"), so either framework can handle it.
            await self._keep([(str(u.update_id), u.model_dump_json(exclude_none=True, by_alias=True)) for u in result
                              if isinstance(u, Update)])
        return response

    async def _keep(self, polled: list[tuple[str, str]]) -> None:
        wait = self._first_wait_s
        while True:
            handled = [key for key in self._adapter.handled if key not in {k for k, _ in polled}]
            if not polled and not handled:
                return
            try:
                await self._journal.keep_updates(CHANNEL, polled)
                if handled:
                    await self._journal.updates_handled(CHANNEL, handled)
            except Exception as exc:  # the store is busy or down: these updates must not be confirmed yet
                log.warning("could not keep %d polled update(s), trying again in %.1f s: %s", len(polled), wait, exc)
                await asyncio.sleep(wait)
                wait = min(wait * 2, self._max_wait_s)
                continue
            self._adapter.handled.difference_update(handled)
            return

    async def forget_handled(self) -> None:
        """Forget the updates handled since the last poll (at stop); a failure only means they are deduped later."""
        handled = list(self._adapter.handled)
        if not handled:
            return
        try:
            await self._journal.updates_handled(CHANNEL, handled)
            self._adapter.handled.difference_update(handled)
        except Exception as exc:
            log.warning("could not forget %d handled update(s): %s", len(handled), exc)


async def handle_left_over(journal: UpdateJournal, adapter: TelegramAdapter, bot: Bot) -> int:
    """Start handling the updates an earlier process kept but did not finish; return how many."""
    left = await journal.updates_left_over(CHANNEL)
    for key, payload in left:
        try:
            update = Update.model_validate_json(payload, context={"bot": bot})
        except ValueError as exc:
            log.error("kept update %s is unreadable, skipped: %s", key, exc)
            adapter.handled.add(key)
            continue
        # Started in order, so the per-chat locks keep each chat's updates in the order they came.
        adapter.inflight.add(asyncio.create_task(adapter.on_update(update, bot), name=f"left-over update {key}"))
        await asyncio.sleep(0)  # let the task register itself and take its chat's lock
    if left:
        log.info("handling %d update(s) an earlier process did not finish", len(left))
    return len(left)


def build_dispatcher(engine: ConversationEngine, *, callback_answer_deadline_s: float = 1.0) -> Dispatcher:
    """Return a Dispatcher that feeds messages, edits and button presses to `engine`."""
    adapter = TelegramAdapter(engine, callback_answer_deadline_s=callback_answer_deadline_s)
    dispatcher = Dispatcher()
    dispatcher[ADAPTER_KEY] = adapter

    async def on_event(event: Any, event_update: Update, bot: Bot) -> None:
        await adapter.on_update(event_update, bot)

    dispatcher.message.register(on_event)
    dispatcher.edited_message.register(on_event)
    dispatcher.callback_query.register(on_event)
    return dispatcher


def adapter_of(dispatcher: Dispatcher) -> TelegramAdapter:
    """Return the TelegramAdapter a dispatcher from `build_dispatcher` carries."""
    adapter = dispatcher.workflow_data.get(ADAPTER_KEY)
    if not isinstance(adapter, TelegramAdapter):
        raise TypeError("the dispatcher was not made by build_dispatcher")
    return adapter


async def set_command_menus(bot: Bot, menus: list[CommandMenu]) -> None:
    """Register each menu with setMyCommands for its scope and language (an empty menu deletes it)."""
    for menu in menus:
        if menu.scope == "chat" and menu.chat_id is None:
            log.error("chat command menu without a chat_id skipped")
            continue
        scope = (
            BotCommandScopeChat(chat_id=chat_ref(menu.chat_id))
            if menu.scope == "chat" and menu.chat_id is not None
            else BotCommandScopeDefault()
        )
        commands = [BotCommand(command=name.lstrip("/"), description=text) for name, text in menu.commands]
        try:
            if commands:
                await bot.set_my_commands(commands, scope=scope, language_code=menu.language)
            else:
                await bot.delete_my_commands(scope=scope, language_code=menu.language)
        except TelegramAPIError as exc:
            log.warning("could not set the %s command menu (%s): %s", menu.scope, menu.language, exc)


@contextlib.asynccontextmanager
async def delivering(scheduler: Scheduler | None, adapter: TelegramAdapter, bot: Bot) -> AsyncIterator[None]:
    """Register the Telegram sender with `scheduler` and keep the scheduler running during the block."""
    if scheduler is None:
        yield
        return
    scheduler.register(CHANNEL, adapter.sender(bot))
    try:
        async with scheduler.running():
            yield
    finally:
        scheduler.unregister(CHANNEL)


async def run_polling(
    engine: ConversationEngine,
    token: str,
    api_base_url: str | None = None,
    *,
    scheduler: Scheduler | None = None,
    journal: UpdateJournal | None = None,
    bot: Bot | None = None,
    dispatcher: Dispatcher | None = None,
    handle_signals: bool = True,
    polling_timeout_s: int = 10,
    drain_timeout_s: float = 10.0,
    limiter: RateLimiter | None = None,
) -> None:
    """Run the bot with long polling until stopped (SIGINT/SIGTERM or `dispatcher.stop_polling()`).

    Sets the command menus, removes a leftover webhook without dropping pending updates, polls,
    and, given a `scheduler`, delivers its Telegram pushes while the bot runs (it ticks here until the
    bot stops, before the bot's session closes). Given a `journal`, polled updates are kept before they
    are confirmed and those an earlier process left are handled first. On stop it waits for updates
    being handled. Given a `limiter` (and no `bot`), every message to a chat waits for Telegram's limits.
    """
    bot = bot or build_bot(token, api_base_url, limiter=limiter)
    dispatcher = dispatcher or build_dispatcher(engine)
    adapter = adapter_of(dispatcher)
    if adapter.engine is not engine:
        raise ValueError("the dispatcher was built for a different engine")
    keeper = KeepPolledUpdates(journal, adapter) if journal is not None else None
    try:
        await refuse_if_webhook_set((await bot.get_webhook_info()).url)
        await set_command_menus(bot, await engine.command_menus(CHANNEL))
        if keeper is not None and journal is not None:
            bot.session.middleware(keeper)
            adapter.keeps_updates = True
            await handle_left_over(journal, adapter, bot)
        try:
            async with delivering(scheduler, adapter, bot):
                await dispatcher.start_polling(
                    bot, handle_signals=handle_signals, close_bot_session=False, polling_timeout=polling_timeout_s
                )
        finally:
            await adapter.drain(drain_timeout_s)
            if keeper is not None:
                await keeper.forget_handled()
                bot.session.middleware.unregister(keeper)
                adapter.keeps_updates = False
    finally:
        await bot.session.close()
