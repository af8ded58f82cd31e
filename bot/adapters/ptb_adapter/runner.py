"""Drive the conversation engine from python-telegram-bot: our own polling loop feeding PTB's Application.

Why our own loop and not PTB's `Updater`: the Updater confirms a polled batch (the next getUpdates
carries offset = id + 1) whether or not its updates were handled, and its last confirmation on
shutdown can fail. Here each polled batch is first kept in the store (`UpdateJournal`, the engine),
retried with backoff while the store cannot take it, and only then is the offset advanced, so
nothing is confirmed unkept. A handled update is forgotten with the next batch; at start the updates
an earlier process left are handled first. The engine dedupes on `Inbound.update_id`, so handling
one twice is harmless. Polling never drops pending updates.

PTB's part: the `Application` (its Bot, request objects, rate limiter and handler dispatch) with one
`TypeHandler` that hands every update to the engine. No `ConversationHandler` and no PTB persistence:
dialog state lives in the engine's own store, the one truth on every channel.

Ordering: each update is fed to `Application.process_update` from a task of ours that first takes
its chat's lock; tasks start in arrival order, so two fast taps in one chat are handled and rendered
in that order while other chats run concurrently.

Callbacks: the answer (with the first `Reply.toast`) is sent as soon as the engine returns, before
rendering, and in any case after `callback_answer_deadline_s`, even while the tap waits for its chat.

Pushes (reminders, escalations) are claimed by the one scheduler (`bot.scheduler`); the adapter
registers its sender for the "telegram" channel, as the aiogram adapter does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import CallbackContext, TypeHandler

from bot.adapters.ptb_adapter.channel_io import TelegramIO
from bot.adapters.ptb_adapter.convert import CHANNEL, update_chat_id, update_to_inbound
from bot.adapters.ptb_adapter.render import ReplyRenderer
from bot.adapters.ptb_adapter.session import PtbApplication, build_application, retry_after_seconds
from bot.adapters.telegram_delivery import chat_ref, toast_of, unless_toasted
from bot.core.limits import RateLimiter
from bot.core.locks import ChatLocks
from bot.core.messages import Reply
from bot.core.ports import CommandMenu, ConversationEngine, UpdateJournal
from bot.scheduler import Deliver, Scheduler
from bot.webhook.bot_api import refuse_if_webhook_set

log = logging.getLogger(__name__)

PtbContext = CallbackContext[Any, Any, Any, Any]


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
            except (TelegramError, OSError) as exc:
                log.warning("could not answer callback query %s: %s", self._query_id, exc)
                return False
            return True

    async def send_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self.send(None)


class PtbAdapter:
    """Turn PTB updates into engine calls and render the replies; deliver the scheduler's pushes."""

    def __init__(self, engine: ConversationEngine, *, callback_answer_deadline_s: float = 1.0) -> None:
        self.engine = engine
        self.callback_answer_deadline_s = callback_answer_deadline_s
        self.locks = ChatLocks()
        self.inflight: set[asyncio.Task[Any]] = set()
        self.keeps_updates = False  # set while polling keeps what it polls in the journal
        self.handled: set[str] = set()  # kept updates handled since the last poll
        self._answers: dict[int, _CallbackAnswer] = {}
        self._failures: dict[int, BaseException] = {}  # kept only for `process` callers (webhook workers)
        self._reporting: set[int] = set()

    def install(self, application: PtbApplication) -> None:
        """Register the one handler (every update goes to the engine) and an error logger."""
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)

    def feed(self, application: PtbApplication, update: Update) -> asyncio.Task[None]:
        """Start handling one update in a task of its own (in arrival order within its chat); return the task."""
        task = asyncio.create_task(self._process(application, update), name=f"update {update.update_id}")
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)
        return task

    async def process(self, application: PtbApplication, update: Update) -> None:
        """Handle one update now and raise what its handling raised (a webhook worker gives it back then)."""
        self._reporting.add(update.update_id)
        try:
            await self.feed(application, update)
            failure = self._failures.pop(update.update_id, None)
        finally:
            self._reporting.discard(update.update_id)
        if failure is not None:
            raise failure

    async def _process(self, application: PtbApplication, update: Update) -> None:
        query = update.callback_query
        answer = _CallbackAnswer(application.bot, query.id) if query is not None else None
        timer = asyncio.create_task(answer.send_after(self.callback_answer_deadline_s)) if answer else None
        try:
            async with self.locks.hold(update_chat_id(update) or f"update:{update.update_id}"):
                if answer is not None:
                    self._answers[update.update_id] = answer
                # Handler errors end in `_on_error`; only a cancellation (a stop) comes through here.
                await application.process_update(update)
        except asyncio.CancelledError:
            raise  # stopped before it was handled: it stays kept, and the next start handles it
        else:
            self._handled(update)
        finally:
            self._answers.pop(update.update_id, None)
            if answer is not None and timer is not None:
                await answer.send(None)  # a failed engine call still stops the spinner
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer

    def _handled(self, update: Update) -> None:
        if self.keeps_updates:
            self.handled.add(str(update.update_id))

    async def _on_update(self, update: Update, context: PtbContext) -> None:
        await self.handle(update, context.bot, self._answers.get(update.update_id))

    async def _on_error(self, update: object, context: PtbContext) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed", update_id, exc_info=context.error)
        if update_id in self._reporting and context.error is not None:
            self._failures[update_id] = context.error

    async def handle(self, update: Update, bot: Bot, answer: _CallbackAnswer | None = None) -> None:
        """Handle one update end to end: convert, engine, answer the callback, render."""
        inbound = update_to_inbound(update, bot_username=bot.username)
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


class UpdateKeeper:
    """Keep each polled batch in the journal before its offset is confirmed; forget handled ones with it."""

    def __init__(self, journal: UpdateJournal, adapter: PtbAdapter, *, first_wait_s: float = 0.2,
                 max_wait_s: float = 10.0) -> None:
        self._journal = journal
        self._adapter = adapter
        self._first_wait_s = first_wait_s
        self._max_wait_s = max_wait_s

    async def keep(self, polled: Sequence[Update], stopping: asyncio.Event) -> bool:
        """Keep `polled`, waiting while the store cannot take it; False when stopped first (nothing confirmed)."""
        batch = [(str(u.update_id), u.to_json()) for u in polled]
        keys = {key for key, _ in batch}
        wait = self._first_wait_s
        while True:
            handled = [key for key in self._adapter.handled if key not in keys]
            if not batch and not handled:
                return True
            try:
                await self._journal.keep_updates(CHANNEL, batch)
                if handled:
                    await self._journal.updates_handled(CHANNEL, handled)
            except Exception as exc:  # the store is busy or down: these updates must not be confirmed yet
                log.warning("could not keep %d polled update(s), trying again in %.1f s: %s", len(batch), wait, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), wait)
                if stopping.is_set():
                    return False
                wait = min(wait * 2, self._max_wait_s)
                continue
            self._adapter.handled.difference_update(handled)
            return True

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


async def handle_left_over(journal: UpdateJournal, adapter: PtbAdapter, application: PtbApplication) -> int:
    """Start handling the updates an earlier process kept but did not finish; return how many."""
    left = await journal.updates_left_over(CHANNEL)
    for key, payload in left:
        try:
            update = read_update(payload, application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.error("kept update %s is unreadable, skipped: %s", key, exc)
            adapter.handled.add(key)
            continue
        adapter.feed(application, update)  # started in order: the chat locks keep each chat's order
        await asyncio.sleep(0)
    if left:
        log.info("handling %d update(s) an earlier process did not finish", len(left))
    return len(left)


def read_update(payload: str, bot: Bot) -> Update:
    """Read a kept update (the Bot API's JSON; an older aiogram adapter's shape too)."""
    return Update.de_json(_bot_api_shape(json.loads(payload)), bot)


def _bot_api_shape(value: Any) -> Any:
    """Rename aiogram's "from_user" to the Bot API's "from" (updates kept by an older aiogram adapter)."""
    if isinstance(value, dict):
        return {("from" if key == "from_user" else key): _bot_api_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bot_api_shape(item) for item in value]
    return value


async def set_command_menus(bot: Bot, menus: list[CommandMenu]) -> None:
    """Register each menu with setMyCommands for its scope and language (an empty menu deletes it)."""
    for menu in menus:
        if menu.scope == "chat" and menu.chat_id is None:
            log.error("chat command menu without a chat_id skipped")
            continue
        scope = (
            BotCommandScopeChat(chat_ref(menu.chat_id))
            if menu.scope == "chat" and menu.chat_id is not None
            else BotCommandScopeDefault()
        )
        commands = [BotCommand(name.lstrip("/"), text) for name, text in menu.commands]
        try:
            if commands:
                await bot.set_my_commands(commands, scope=scope, language_code=menu.language)
            else:
                await bot.delete_my_commands(scope=scope, language_code=menu.language)
        except TelegramError as exc:
            log.warning("could not set the %s command menu (%s): %s", menu.scope, menu.language, exc)


@contextlib.asynccontextmanager
async def delivering(scheduler: Scheduler | None, adapter: PtbAdapter, bot: Bot) -> AsyncIterator[None]:
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


class PollingBot:
    """The bot on PTB with long polling: start with `run()`, end with `stop()` (or SIGINT/SIGTERM)."""

    def __init__(self, engine: ConversationEngine, application: PtbApplication, *,
                 journal: UpdateJournal | None = None, callback_answer_deadline_s: float = 1.0,
                 polling_timeout_s: int = 10, drain_timeout_s: float = 10.0, max_backoff_s: float = 5.0) -> None:
        self.engine = engine
        self.application = application
        self.adapter = PtbAdapter(engine, callback_answer_deadline_s=callback_answer_deadline_s)
        self.adapter.install(application)
        self.journal = journal
        self.polling_timeout_s = polling_timeout_s
        self.drain_timeout_s = drain_timeout_s
        self.max_backoff_s = max_backoff_s
        self._stopping = asyncio.Event()
        self._offset: int | None = None

    @property
    def bot(self) -> Bot:
        """The Application's Bot (what renders and what the scheduler's sender uses)."""
        bot: Bot = self.application.bot
        return bot

    def stop(self) -> None:
        """Ask the bot to stop: polling ends, updates being handled get `drain_timeout_s` to finish."""
        self._stopping.set()

    async def run(self, *, scheduler: Scheduler | None = None, handle_signals: bool = False) -> None:
        """Poll until stopped; menus first, leftovers next; the scheduler's pushes go out meanwhile."""
        keeper = UpdateKeeper(self.journal, self.adapter) if self.journal is not None else None
        async with self.application:  # initialize (getMe) ... shutdown (closes the HTTP clients)
            await refuse_if_webhook_set((await self.bot.get_webhook_info()).url)
            await set_command_menus(self.bot, await self.engine.command_menus(CHANNEL))
            if keeper is not None and self.journal is not None:
                self.adapter.keeps_updates = True
                await handle_left_over(self.journal, self.adapter, self.application)
            with self._signals(handle_signals):
                try:
                    async with delivering(scheduler, self.adapter, self.bot):
                        await self._poll(keeper)
                finally:
                    await self.adapter.drain(self.drain_timeout_s)
                    await self._confirm_last_offset()
                    if keeper is not None:
                        await keeper.forget_handled()
                        self.adapter.keeps_updates = False

    async def _poll(self, keeper: UpdateKeeper | None) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                updates = await self._get_updates()
            except (InvalidToken, Forbidden):
                raise  # nothing later will work: the operator must fix the token
            except RetryAfter as exc:
                await self._pause(retry_after_seconds(exc))
                continue
            except (Conflict, TelegramError, OSError) as exc:  # network, 5xx, another poller: try again
                log.warning("getUpdates failed, trying again in %.1f s: %s", backoff, exc)
                await self._pause(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            backoff = 0.5
            if updates is None:
                return  # stopped while waiting
            if keeper is not None and not await keeper.keep(updates, self._stopping):
                return  # stopped before the batch was kept: it is not confirmed either
            for update in updates:
                self.adapter.feed(self.application, update)
            if updates:
                self._offset = updates[-1].update_id + 1  # confirmed by the next getUpdates

    async def _get_updates(self) -> tuple[Update, ...] | None:
        """Long-poll once; None when asked to stop meanwhile (the request is dropped, nothing confirmed)."""
        poll = asyncio.create_task(self.bot.get_updates(offset=self._offset, timeout=self.polling_timeout_s,
                                                        allowed_updates=Update.ALL_TYPES))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if poll.done():
            return poll.result()
        poll.cancel()
        with contextlib.suppress(asyncio.CancelledError, TelegramError, OSError):
            await poll
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _confirm_last_offset(self) -> None:
        """Tell Telegram the last batch arrived; a failure only means it comes again (kept and deduped)."""
        if self._offset is None:
            return
        try:
            await self.bot.get_updates(offset=self._offset, timeout=0, limit=1)
        except (TelegramError, OSError) as exc:
            log.info("could not confirm the last polled updates (they will come again, deduped): %s", exc)

    @contextlib.contextmanager
    def _signals(self, enabled: bool) -> Iterator[None]:
        if not enabled:
            yield
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def run_polling(
    engine: ConversationEngine,
    token: str,
    api_base_url: str | None = None,
    *,
    scheduler: Scheduler | None = None,
    journal: UpdateJournal | None = None,
    handle_signals: bool = True,
    limiter: RateLimiter | None = None,
) -> None:
    """Run the bot on python-telegram-bot with long polling until SIGINT/SIGTERM (sends wait for `limiter`)."""
    # httpx logs every request at INFO (a getUpdates every few seconds, the token in its URL): warnings only.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    bot = PollingBot(engine, build_application(token, api_base_url, limiter=limiter), journal=journal)
    await bot.run(scheduler=scheduler, handle_signals=handle_signals)
