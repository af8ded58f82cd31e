"""The conversation engine: one pipeline for every channel.

    inbound -> size check -> per-chat lock -> unit of work -> dedupe -> who is it
            -> router (button | command | document | dialog state | free text by role) -> handler
            -> replies; errors are translated here, once, from their `code`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from string import Formatter
from typing import Literal

from crm_core.clock import Clock
from crm_core.config import Settings
from crm_core.errors import CrmError, StoreBusy
from crm_core.flows import Flows
from crm_core.flows.team import TeamFlow
from crm_core.policy import admits_customers, allows
from crm_core.ports import Ports
from crm_core.schemas import TaskOut, UserOut
from crm_core.services import Services
from crm_core.services.identities import reminded_on
from crm_core.services.inbox import MAX_ATTEMPTS as INBOX_MAX_ATTEMPTS
from crm_core.services.inbox import InboxService, KeptUpdate
from crm_core.services.outbox import CLAIM_BATCH, FailureKind, Origin
from crm_core.understanding.customer_intent import decided_language
from crm_core.uow import UnitOfWork, is_busy_error
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import StaleCallback, unpack
from bot.core.channel import ChannelIO
from bot.core.context import Ctx
from bot.core.inputs import clean_inbound
from bot.core.locks import ChatLock, ChatLocks
from bot.core.messages import Inbound, Reply, chat_in_logs, is_toast_only, staff_chat_id
from bot.core.outbox import addressed, from_item, to_payload
from bot.core.router import HandlerResult, Router
from bot.texts import LANGUAGES, Texts

log = logging.getLogger(__name__)

# A busy store is tried again for this long before the user hears "busy" (see `_retrying_when_busy`).
BUSY_BUDGET_S = 15.0
BUSY_FIRST_WAIT_S = 0.05
BUSY_MAX_WAIT_S = 1.0
HOUSEKEEPING_EVERY_S = 3600.0
# Messages a scheduler claims per second of its lease: well under the 30/s a bot may send in all, so what one
# tick claims goes out long before its lease runs out (the rest waits in the outbox for the next claim).
CLAIMS_PER_LEASE_SECOND = 10

ReminderRenderer = Callable[..., Reply]
_COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
_ERROR_TEXT = {"not_found": "common.not_found", "forbidden": "common.forbidden", "store_busy": "common.busy",
               "not_available": "common.not_available"}


@dataclass(frozen=True)
class CommandMenu:
    """The commands one audience sees in Telegram's menu."""

    scope: Literal["default", "chat"]
    chat_id: str | None
    language: str | None
    commands: list[tuple[str, str]]


def _error_text(error: CrmError, t: Texts) -> str:
    """Say what went wrong in the reader's language, from the error's code and details (never its message).

    The most precise text there is: `errors.<code>_<reason>` when the error names a reason, else
    `errors.<code>`, each filled from the error's details (skipped when one it needs is missing), else the
    generic conflict or invalid-input text.
    """
    key = _ERROR_TEXT.get(error.code)
    if key is not None:
        return t(key)
    reason = error.details.get("reason")
    for candidate in ([f"errors.{error.code}_{reason}"] if reason else []) + [f"errors.{error.code}"]:
        if not t.has(candidate):
            continue
        template = t(candidate)
        needed = {name for _, name, _, _ in Formatter().parse(template) if name}
        if needed <= error.details.keys():  # else a detail the text names is missing: a less precise text
            return template.format(**{name: error.details[name] for name in needed}) if needed else template
    return t("common.conflict" if error.code in ("conflict", "already_done", "undo_expired") else "common.invalid")


def split_command(text: str) -> tuple[str, str] | None:
    """Return (command, argument text) when `text` is a slash command."""
    match = _COMMAND_RE.match(text.strip())
    if match is None:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()


class Engine:
    """Turn inbounds into replies through our pipeline; channels only convert and render."""

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings,
                 router: Router, render_reminder: ReminderRenderer, ports: Ports | None = None,
                 locks: ChatLock | None = None) -> None:
        self._render_reminder = render_reminder
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.settings = settings
        self._router = router
        self.ports = ports or Ports()  # public: tests and admin tools may swap a capability
        # Per-chat locks: in-process by default; shared (Redis) when several processes handle one bot's chats.
        self.locks: ChatLock = locks or ChatLocks()
        self._last_housekeeping: float | None = None
        # Names this engine's outbox claims: it renews them before each send (crm_core.services.outbox).
        self.claimer = uuid.uuid4().hex

    @property
    def clock(self) -> Clock:
        """Return the engine's clock."""
        return self._clock

    @property
    def _outbox_lease(self) -> timedelta:
        """How long a message this process wrote is its own to send before another process's scheduler may."""
        return timedelta(seconds=self.settings.outbox_lease_seconds)

    @property
    def _claim_budget(self) -> int:
        """How many messages one tick may claim: as many as go out well within one lease."""
        return max(1, int(self.settings.outbox_lease_seconds * CLAIMS_PER_LEASE_SECOND))

    def _outbox_services(self, session: AsyncSession) -> Services:
        return Services.build(session, now=self._clock.now(), outbox_lease=self._outbox_lease,
                              outbox_claimer=self.claimer)

    async def handle(self, inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        """Handle one inbound, in order with the others of its chat; `io` is its channel's files and live edits."""
        inbound = clean_inbound(inbound)  # before anything reads it: NUL, surrogates, invisible marks; NFC
        async with self.locks.hold((inbound.channel, inbound.chat_id)):
            log.info("inbound channel=%s chat=%s update=%s callback=%s", inbound.channel, inbound.chat_id,
                     inbound.update_id, inbound.callback_data)
            try:
                return await self._retrying_when_busy(inbound, io)
            except Exception as error:
                if await self._handled_elsewhere(inbound):
                    # Another worker took the same update meanwhile and answered it; its work stands.
                    log.info("update %s failed here but was handled elsewhere: %s", inbound.update_id, error)
                    return []
                if isinstance(error, StoreBusy | OperationalError) and (
                        isinstance(error, StoreBusy) or is_busy_error(error)):
                    log.warning("store busy for update %s: %s", inbound.update_id, error)
                    return [Reply(Texts(await self._guess_language(inbound))("common.busy"))]
                return await self._unexpected(inbound, error)  # a polite answer; the trace goes to the log

    async def _handled_elsewhere(self, inbound: Inbound) -> bool:
        """Tell whether the update is marked handled (by another process) after this one failed on it."""
        key = inbound.dedupe_key
        if key is None:
            return False
        try:
            async with UnitOfWork(self._sessionmaker) as uow:
                return await Services.build(uow.session, now=self._clock.now()).dedupe.seen(key)
        except Exception:  # the store is failing: treat the update as not handled
            log.warning("could not check whether update %s was handled elsewhere", inbound.update_id, exc_info=True)
            return False

    async def _retrying_when_busy(self, inbound: Inbound, io: ChannelIO | None) -> list[Reply]:
        """Handle in a unit of work; when the store is busy, roll back and try again, for a bounded time.

        Nothing is sent before a commit, so trying again is safe. On SQLite a transaction that read
        and then meets another process's newer commit cannot write ("database is locked" at once);
        a lock another process holds for seconds is waited out here too, so the user hears "busy" only
        after `BUSY_BUDGET_S` (time measured on the event loop, not the business clock).
        """
        loop = asyncio.get_running_loop()
        started, wait = loop.time(), BUSY_FIRST_WAIT_S
        while True:
            try:
                return await self._in_unit_of_work(inbound, io)
            except (StoreBusy, OperationalError) as error:
                if isinstance(error, OperationalError) and not is_busy_error(error):
                    raise
                if loop.time() - started + wait > BUSY_BUDGET_S:
                    raise
                log.info("store busy for update %s; trying again in %.2fs", inbound.update_id, wait)
                await asyncio.sleep(wait * (0.5 + random.random()))  # jitter: two chats do not collide again
                wait = min(wait * 2, BUSY_MAX_WAIT_S)

    async def _in_unit_of_work(self, inbound: Inbound, io: ChannelIO | None) -> list[Reply]:
        """Handle one inbound in one unit of work; the update is marked handled with its result, not before.

        Marking last keeps the write transaction short: the flows read, then do slow work (a knowledge
        search, an LLM) with no write lock held, then write. A redelivery seen meanwhile is dropped by
        the unique key when the second mark fails, and its work rolls back.
        """
        now = self._clock.now()
        async with UnitOfWork(self._sessionmaker) as uow:
            services = Services.build(uow.session, now=now, undo_minutes=self.settings.undo_minutes,
                                      deal_visibility=self.settings.deal_visibility, channel=inbound.channel,
                                      outbox_lease=self._outbox_lease, outbox_claimer=self.claimer)
            key = inbound.dedupe_key
            if key is not None and await services.dedupe.seen(key):
                log.info("duplicate update %s ignored", key)
                return []
            ctx = await self._context(inbound, services, uow, io)
            try:
                replies = _as_list(await self._route(inbound, ctx))
            except CrmError as error:
                await uow.session.rollback()
                replies = [self._error_reply(error, ctx)]
                ctx.pushes.clear()
            if key is not None and not await services.dedupe.mark(key):
                log.info("update %s was handled meanwhile by another worker; this result is dropped", key)
                await uow.session.rollback()
                return []
            # Written with the result, in its transaction: what is committed is delivered, at least once.
            return await self._into_outbox(services, inbound, ctx, replies + ctx.pushes)

    async def _into_outbox(self, services: Services, inbound: Inbound, ctx: Ctx, replies: list[Reply]) -> list[Reply]:
        """Write each reply to the outbox, claimed for this process to send after the commit."""
        staff_origin = Origin(inbound.channel, inbound.chat_id, ctx.lang) if ctx.user is not None else None
        queued = []
        for reply in replies:
            if is_toast_only(reply, inbound):  # answered with the button's toast; nothing to deliver
                queued.append(reply)
                continue
            to_other_chat = reply.chat_id is not None and reply.chat_id != inbound.chat_id
            outgoing = addressed(reply, channel=inbound.channel, chat_id=inbound.chat_id,
                                 edit_message_id=inbound.callback_message_id)
            outbox_id = await _enqueue(services, outgoing, origin=staff_origin if to_other_chat else None)
            queued.append(replace(reply, outbox_id=outbox_id, edit_message_id=outgoing.edit_message_id))
        return queued

    async def _context(self, inbound: Inbound, services: Services, uow: UnitOfWork,
                       io: ChannelIO | None = None) -> Ctx:
        user = await self._identify(inbound, services)
        flows = Flows.build(services, ports=self.ports, tx=uow, settings=self.settings)
        lang = await self._language(inbound, services, user, flows)
        return Ctx(inbound=inbound, flows=flows, services=services, settings=self.settings, user=user, lang=lang,
                   t=Texts(lang), now=services.now, io=io)

    async def _identify(self, inbound: Inbound, services: Services) -> UserOut | None:
        """Return the staff member writing (None: a customer); they are the actor of the unit's audit entries.

        A Telegram id listed in CHATCRM_ADMIN_TELEGRAM_IDS that was never registered becomes admin here, on
        its first message: the very first admin needs no command line.
        """
        user = await services.identities.staff_by(inbound.channel, inbound.user_id)
        if user is None and self.settings.admin_telegram_ids:
            user = await TeamFlow(services=services, settings=self.settings).first_admin(
                channel=inbound.channel, external_id=inbound.user_id,
                name=inbound.display_name or inbound.username or inbound.user_id,
                language=(inbound.language_code or self.settings.language)[:2].lower())
        if user is not None:
            services.audit.act_as(user.name, user.id)
        else:
            services.audit.act_as("customer")  # never their chat id: it would outlive an erasure here
        return user

    async def _language(self, inbound: Inbound, services: Services, user: UserOut | None, flows: Flows) -> str:
        """Staff: their setting. A customer: the language they picked (/lang), else the one this message or, when its
        letters decide none, the last one they wrote in (an English phone may be set to Vietnamese), else their
        app's, else the business's."""
        if user is not None:
            return user.language
        chosen = await services.state.language(inbound.channel, inbound.user_id)
        if chosen:
            return chosen
        text = (inbound.text or "").strip()
        now_written = decided_language(text) if text and not text.startswith("/") else None
        written = now_written or await flows.support.written_language(inbound.channel, inbound.user_id)
        if written in LANGUAGES:
            return written
        code = (inbound.language_code or "")[:2].lower()
        return code if code in LANGUAGES else self.settings.language

    async def _guess_language(self, inbound: Inbound) -> str:
        code = (inbound.language_code or "")[:2].lower()
        return code if code in LANGUAGES else self.settings.language

    async def _route(self, inbound: Inbound, ctx: Ctx) -> HandlerResult:
        if inbound.callback_data is not None:
            return await self._route_callback(inbound, ctx)
        text = (inbound.text or "").strip()
        if text.startswith("/"):
            await self._end_admin_dialog(inbound, ctx)  # a command is never an admin's awaited text
        command = split_command(text) if text.startswith("/") else None
        if command is not None:
            return await self._route_command(inbound, ctx, *command)
        if not text and inbound.attachment is None and inbound.shared_phone is None:
            # Staff are shown what to type (a log); a customer is simply asked what they need.
            return Reply(ctx.t("common.empty" if ctx.user is not None else "common.empty_customer"))
        document = self._router.document_handler(ctx.user) if _is_document(inbound) else None
        if document is not None:  # a file sent as a file, caption or not; before any dialog waiting for text
            return await document(inbound, ctx)
        state = await self._dialog_state(inbound, ctx)
        if state is not None and text:  # _dialog_state returned only a dialog whose route admits this person
            return await self._router.states[state[0]].handler(inbound, ctx, state[1])
        handler = self._router.text_handler(ctx.user)
        if handler is None:
            return Reply(ctx.t("common.not_allowed"))
        return await handler(inbound, ctx)

    async def _end_admin_dialog(self, inbound: Inbound, ctx: Ctx) -> None:
        """End this person's admin dialog (a prompt edit, a gap answer) when they turn to a command."""
        state = await ctx.services.state.get(inbound.channel, inbound.chat_id, inbound.user_id)
        route = self._router.states.get(state[0]) if state is not None else None
        if state is not None and route is not None and route.ends_on_command:
            await ctx.clear_state()
            ctx.ended_dialog = (state[0], dict(state[1]))

    def _dialog_lifetimes(self) -> dict[str, timedelta]:
        """Return how long each expiring dialog waits: the admins' dialogs."""
        lifetime = timedelta(minutes=self.settings.admin_dialog_minutes)
        return {name: lifetime for name, route in self._router.states.items() if route.ends_on_command}

    async def _dialog_state(self, inbound: Inbound, ctx: Ctx) -> tuple[str, dict[str, object]] | None:
        """Return the dialog this person is in, in this chat; one their role no longer admits is left."""
        state = await ctx.services.state.get(inbound.channel, inbound.chat_id, inbound.user_id,
                                             lifetimes=self._dialog_lifetimes())
        if state is None:
            return None
        route = self._router.states.get(state[0])
        if route is None or not allows(route.audience, ctx.user):  # deactivated meanwhile, or a dialog gone
            await ctx.clear_state()
            return None
        return state

    async def _route_callback(self, inbound: Inbound, ctx: Ctx) -> HandlerResult:
        try:
            callback = unpack(inbound.callback_data or "")
        except StaleCallback:
            return Reply(ctx.t("common.stale_button"), toast=ctx.t("common.stale_button")[:200])
        route = self._router.callbacks.get(callback.namespace)
        if route is None:
            return Reply(ctx.t("common.stale_button"), toast=ctx.t("common.stale_button")[:200])
        if not allows(route.audience, ctx.user):
            return Reply(ctx.t("common.not_allowed"), toast=ctx.t("common.not_allowed")[:200])
        try:
            return await route.handler(inbound, ctx, callback)
        except (IndexError, ValueError):
            return Reply(ctx.t("common.stale_button"), toast=ctx.t("common.stale_button")[:200])

    async def _route_command(self, inbound: Inbound, ctx: Ctx, name: str, args: str) -> HandlerResult:
        route = self._router.commands.get(name)
        if route is None:
            return Reply(ctx.t("common.unknown_command", command=name))
        if not allows(route.audience, ctx.user):
            if ctx.user is None and not admits_customers(route.audience):
                return Reply(ctx.t("common.staff_only"))
            return Reply(ctx.t("common.not_allowed"))
        return await route.handler(inbound, ctx)

    def _error_reply(self, error: CrmError, ctx: Ctx) -> Reply:
        text = _error_text(error, ctx.t)
        return Reply(text, toast=text[:200] if ctx.inbound.is_callback else None)

    async def _unexpected(self, inbound: Inbound, error: Exception) -> list[Reply]:
        log.exception("unexpected error on update %s chat %s", inbound.update_id, inbound.chat_id, exc_info=error)
        kept = await self._keep_raw_text(inbound)
        # Say the text was kept only when it was: not for customers, commands, buttons, or a keep that failed.
        key = "common.unexpected" if kept else "common.unexpected_not_kept"
        return [Reply(Texts(await self._guess_language(inbound))(key))]

    async def _keep_raw_text(self, inbound: Inbound) -> bool:
        """Keep a staff member's text when handling it failed, so nothing typed is lost; tell whether it was kept."""
        text = (inbound.text or "").strip()
        if not text or text.startswith("/"):
            return False
        try:
            async with UnitOfWork(self._sessionmaker) as uow:
                services = Services.build(uow.session, now=self._clock.now())
                user = await self._identify(inbound, services)
                if user is None:
                    return False
                # Once per update: a redelivery that fails again finds the draft its first delivery kept.
                await services.logs.keep_failed(owner=user, raw_text=text,
                                                source_key=inbound.message_key or inbound.dedupe_key)
        except Exception:  # the store itself is failing; the log line above still has the update id
            log.exception("could not keep the raw text of update %s", inbound.update_id)
            return False
        return True

    async def claim_pushes(self, channels: Collection[str]) -> list[Reply]:
        """Claim due reminders and the router's periodic work (escalations), addressed on each of `channels`.

        The scheduler calls this with the channels it can deliver on; every claim is taken by one
        scheduler only, however many processes run one.
        """
        housekeeping = self._housekeeping_due()
        if housekeeping:  # before the claims: a rebuild takes seconds, and no lease or write lock waits on it
            await self.finish_erasures()
        async with UnitOfWork(self._sessionmaker) as uow:
            services = self._outbox_services(uow.session)
            # Reminders first: on SQLite their claim is the write that takes the lock (crm_core.repositories.claims).
            owners = [u.id for u in await services.users.list()
                      if u.active and any(reminded_on(u, channel) for channel in channels)]
            replies = self._reminders(await services.tasks.claim_reminders(owners), channels, services.now)
            flows = Flows.build(services, ports=self.ports, tx=uow, settings=self.settings)
            for job in self._router.periodic_jobs:
                for channel in channels:
                    replies += await job(flows, self.settings, channel)
            if housekeeping:
                await self._housekeeping(services)
            # A claimed reminder and its message commit together: if the send fails, the outbox retries it.
            addressed_pushes = [r for r in replies if r.channel is not None and r.chat_id is not None]
            if len(addressed_pushes) < len(replies):
                log.error("%d unaddressed push(es) dropped", len(replies) - len(addressed_pushes))
            return await self._enqueue_pushes(services, addressed_pushes)

    async def _enqueue_pushes(self, services: Services, pushes: list[Reply]) -> list[Reply]:
        """Write pushes to the outbox; claim and return those this process can send within one lease.

        The rest wait in the outbox, due now, for the next claim of any scheduler. The cut falls between
        chats, so a chat's messages (a summary's chart, then its text) stay with one sender, in order.
        """
        budget, cut = self._claim_budget, False
        claimed: list[Reply] = []
        last_chat: tuple[str | None, str | None] | None = None
        for push in pushes:
            chat = (push.channel, push.chat_id)
            cut = cut or (len(claimed) >= budget and chat != last_chat)
            outbox_id = await _enqueue(services, push, origin=None, send_now=not cut)
            if not cut:
                claimed.append(replace(push, outbox_id=outbox_id))
            last_chat = chat
        if len(claimed) < len(pushes):
            log.info("%d push(es) left in the outbox for the next claim", len(pushes) - len(claimed))
        return claimed

    def _housekeeping_due(self) -> bool:
        """Tell whether this tick does the housekeeping (the first tick does, then one an hour at most)."""
        now = asyncio.get_running_loop().time()
        if self._last_housekeeping is not None and now - self._last_housekeeping < HOUSEKEEPING_EVERY_S:
            return False
        self._last_housekeeping = now
        return True

    async def _forget_chat_state(self, channel: str, chat_id: str) -> None:
        """Forget what the shared chat state (Redis) keeps about a chat whose message must not outlive its delivery."""
        if self.ports.chat_state is not None:
            await self.ports.chat_state.forget_chats([(channel, chat_id)])

    async def finish_erasures(self) -> None:
        """Remove from the history index what approved erasures left in its journal (`forget_removed`).

        An erasure's after-commit hook removes its interactions; a process killed before that leaves them in the
        journal, and their texts and vectors in the index's files. Called when the app starts and at each
        housekeeping, outside any unit of work (the rebuild takes seconds and must not hold the store's write
        lock), in a worker thread; a failure leaves them in the journal for the next time.
        """
        history = self.ports.history
        if history is None:
            return
        try:
            await asyncio.to_thread(history.forget_removed)
        except Exception:  # the journal keeps them, never returned meanwhile; the next housekeeping tries again
            log.warning("could not finish the erasures waiting in the history index's journal", exc_info=True)

    async def _housekeeping(self, services: Services) -> None:
        """Forget handled update ids and delivered messages older than a week."""
        await services.dedupe.prune()
        await services.outbox.prune()
        await InboxService(services.session, services.now).prune()

    async def keep_updates(self, channel: str, updates: Sequence[tuple[str, str]]) -> None:
        """Keep polled updates before the channel is told they arrived (`crm_core.services.inbox`)."""
        async with UnitOfWork(self._sessionmaker) as uow:
            await InboxService(uow.session, self._clock.now()).keep(
                channel, [KeptUpdate(key=key, payload=payload) for key, payload in updates])

    async def updates_handled(self, channel: str, keys: Sequence[str]) -> None:
        """Forget kept updates once handled (the engine's dedupe has them now)."""
        async with UnitOfWork(self._sessionmaker) as uow:
            await InboxService(uow.session, self._clock.now()).done(channel, keys)

    async def updates_left_over(self, channel: str) -> list[tuple[str, str]]:
        """Return the kept updates a stopped or crashed process did not finish."""
        async with UnitOfWork(self._sessionmaker) as uow:
            again, given_up = await InboxService(uow.session, self._clock.now()).left_over(channel)
        if given_up:
            log.error("%d %s update(s) failed %d times and are left in the inbox table: %s", len(given_up), channel,
                      INBOX_MAX_ATTEMPTS, ", ".join(given_up[:20]))
        return [(kept.key, kept.payload) for kept in again]

    async def claim_outbox(self, channels: Collection[str]) -> list[Reply]:
        """Claim messages whose delivery is due again on `channels` (retries, and claims a crashed process left)."""
        async with UnitOfWork(self._sessionmaker) as uow:
            services = self._outbox_services(uow.session)
            items = await services.outbox.claim_due(channels, limit=min(CLAIM_BATCH, self._claim_budget))
        return [from_item(item) for item in items]

    async def renew_claim(self, reply: Reply) -> bool:
        """Confirm, right before sending, that a claimed push is still this process's, and extend its lease.

        False: its lease ran out and it may be another scheduler's now; the caller must not send it.
        """
        if reply.outbox_id is None:
            return True
        async with UnitOfWork(self._sessionmaker) as uow:
            return await self._outbox_services(uow.session).outbox.renew(reply.outbox_id)

    async def delivered(self, reply: Reply, *, channel: str, chat_id: str, message_ids: Sequence[str]) -> None:
        """Record a reply as delivered, and the message ids of one that stands for something (`reply.ref`)."""
        if reply.forget_when_sent:  # its send counted against her chat in the shared state (Redis): nothing is kept
            await self._forget_chat_state(channel, chat_id)
        if reply.outbox_id is None and reply.ref is None:
            return
        async with UnitOfWork(self._sessionmaker) as uow:
            services = Services.build(uow.session, now=self._clock.now())
            if reply.outbox_id is not None:
                await services.outbox.sent(reply.outbox_id, message_id=message_ids[-1] if message_ids else None,
                                           forget=reply.forget_when_sent)
            if reply.ref is not None:
                for message_id in message_ids:
                    await services.delivery.record(channel=channel, chat_id=chat_id, message_id=message_id,
                                                   ref=reply.ref)

    async def undelivered(self, reply: Reply, *, reason: FailureKind, error: str,
                          retry_after_s: float | None = None) -> list[Reply]:
        """Record a failed delivery; return the notices to send now to whoever caused an undeliverable one."""
        if reply.forget_when_sent and reply.channel and reply.chat_id:  # each attempt counted against her chat
            await self._forget_chat_state(reply.channel, reply.chat_id)
        if reply.outbox_id is None:
            log.warning("a reply outside the outbox was not delivered (%s): %s", reason, error)
            return []
        async with UnitOfWork(self._sessionmaker) as uow:
            services = self._outbox_services(uow.session)
            settled = await services.outbox.failed(reply.outbox_id, reason=reason, error=error,
                                                   retry_after_s=retry_after_s, forget=reply.forget_when_sent)
            if settled is None:
                return []
            log.warning("message %s to %s chat %s is %s: %s", reply.outbox_id, reply.channel,
                        chat_in_logs(reply, reply.chat_id), settled.status, error)
            if settled.origin is None:
                return []
            notice = self._not_delivered_notice(settled.origin, reason, reply)
            return [replace(notice, outbox_id=await _enqueue(services, notice, origin=None))]

    @staticmethod
    def _not_delivered_notice(origin: Origin, reason: FailureKind, reply: Reply) -> Reply:
        t = Texts(origin.language)
        why = t("common.undelivered_unreachable" if reason == "unreachable" else "common.undelivered_failed")
        text = t("common.undelivered", why=why, text=reply.text[:200])
        return Reply(text, chat_id=origin.chat_id, channel=origin.channel)

    def _reminders(self, claimed: list[tuple[TaskOut, UserOut | None]], channels: Collection[str],
                   now: datetime) -> list[Reply]:
        """Address each claimed reminder to its owner on every channel they are reached on."""
        return [self._render_reminder(task, Texts(owner.language), now, self.settings, chat_id=chat_id, channel=channel)
                for task, owner in claimed if owner is not None
                for channel in channels
                if reminded_on(owner, channel) and (chat_id := staff_chat_id(owner, channel)) is not None]

    async def command_menus(self, channel: str) -> list[CommandMenu]:
        """Return the command menu of strangers (default) and of each staff member's chat on `channel`."""
        menus = [CommandMenu("default", None, lang, self._menu(None, lang)) for lang in (None, "en")]
        async with UnitOfWork(self._sessionmaker) as uow:
            users = await Services.build(uow.session, now=self._clock.now()).users.list()
        for user in users:
            chat_id = staff_chat_id(user, channel) if user.active else None
            if chat_id is not None:
                menus.append(CommandMenu("chat", chat_id, None, self._menu(user, user.language)))
        return menus

    def _menu(self, user: UserOut | None, language: str | None) -> list[tuple[str, str]]:
        texts = Texts(language or self.settings.language)
        return [(name, texts(f"cmd.{name}")) for name in self._router.menu(user)]


async def _enqueue(services: Services, reply: Reply, *, origin: Origin | None, send_now: bool = True) -> int:
    """Write an addressed reply to the outbox, claimed for this process to send after the commit (`send_now`)."""
    if reply.channel is None or reply.chat_id is None:
        raise ValueError(f"an unaddressed reply cannot be queued: {reply.text[:40]!r}")
    return await services.outbox.add(channel=reply.channel, chat_id=reply.chat_id, payload=to_payload(reply),
                                     origin=origin, send_now=send_now)


def _is_document(inbound: Inbound) -> bool:
    return inbound.attachment is not None and inbound.attachment.kind == "document" and not inbound.is_edit


def _as_list(result: HandlerResult) -> list[Reply]:
    return result if isinstance(result, list) else [result]
