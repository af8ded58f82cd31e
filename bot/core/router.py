"""Routes an inbound to its handler: command, button, a sent document, dialog state, or free text by role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crm_core.policy import Audience, Person, allows

from bot.core.callbacks import Callback
from bot.core.messages import Inbound, Reply

if TYPE_CHECKING:
    from crm_core.config import Settings
    from crm_core.flows import Flows

    from bot.core.context import Ctx

HandlerResult = Reply | list[Reply]
MessageHandler = Callable[[Inbound, "Ctx"], Awaitable[HandlerResult]]
CallbackHandler = Callable[[Inbound, "Ctx", Callback], Awaitable[HandlerResult]]
StateHandler = Callable[[Inbound, "Ctx", dict[str, object]], Awaitable[HandlerResult]]
# A job run on every tick of the scheduler (escalations, later summaries): flows, settings, channel -> pushes.
PeriodicJob = Callable[["Flows", "Settings", str], Awaitable[list[Reply]]]



@dataclass(frozen=True)
class CommandRoute:
    """A slash command, who may use it (a policy audience) and whether it is in the menu."""

    name: str
    handler: MessageHandler
    audience: Audience
    in_menu: bool = True


@dataclass(frozen=True)
class CallbackRoute:
    """A callback namespace and who may press its buttons (a policy audience)."""

    namespace: str
    handler: CallbackHandler
    audience: Audience


@dataclass(frozen=True)
class StateRoute:
    """A dialog state (the chat's next text) and who may be in it (a policy audience)."""

    name: str
    handler: StateHandler
    audience: Audience
    # An admin's dialog: it expires (Settings.admin_dialog_minutes) and any command ends it before it runs, so a
    # later text (a call log) is never taken as a prompt's new text or a FAQ answer.
    admin: bool = False
    # A one-line staff dialog (a note, a time) that ends and expires like an admin's, for the same reason.
    short: bool = False

    @property
    def ends_on_command(self) -> bool:
        """Whether a command ends this dialog and it expires (Settings.admin_dialog_minutes)."""
        return self.admin or self.short


class Router:
    """Registry of handlers, filled by decorators in `bot.handlers`."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandRoute] = {}
        self.callbacks: dict[str, CallbackRoute] = {}
        self.states: dict[str, StateRoute] = {}
        self.text_by_audience: dict[Audience, MessageHandler] = {}
        self.document_by_audience: dict[Audience, MessageHandler] = {}
        self.periodic_jobs: list[PeriodicJob] = []

    def command(self, name: str, *, audience: Audience, in_menu: bool = True) -> Callable[[MessageHandler],
                                                                                           MessageHandler]:
        """Register a slash command for an audience of the policy."""

        def register(handler: MessageHandler) -> MessageHandler:
            self.commands[name] = CommandRoute(name, handler, audience, in_menu)
            return handler

        return register

    def callback(self, namespace: str, *, audience: Audience) -> Callable[[CallbackHandler], CallbackHandler]:
        """Register the handler of a callback namespace for an audience of the policy."""

        def register(handler: CallbackHandler) -> CallbackHandler:
            self.callbacks[namespace] = CallbackRoute(namespace, handler, audience)
            return handler

        return register

    def state(self, name: str, *, audience: Audience, admin: bool = False,
              short: bool = False) -> Callable[[StateHandler], StateHandler]:
        """Register the handler of a dialog state (the next text the chat sends) for an audience.

        `admin` / `short`: the dialog expires and a command ends it (see `StateRoute.admin`, `StateRoute.short`).
        """

        def register(handler: StateHandler) -> StateHandler:
            self.states[name] = StateRoute(name, handler, audience, admin, short)
            return handler

        return register

    def text(self, audience: Audience) -> Callable[[MessageHandler], MessageHandler]:
        """Register the free-text handler of an audience (staff, or customers)."""

        def register(handler: MessageHandler) -> MessageHandler:
            self.text_by_audience[audience] = handler
            return handler

        return register

    def document(self, audience: Audience) -> Callable[[MessageHandler], MessageHandler]:
        """Register the handler of a document (a file sent as a file) from an audience.

        An audience without one gets its documents in its free-text handler, as any attachment.
        """

        def register(handler: MessageHandler) -> MessageHandler:
            self.document_by_audience[audience] = handler
            return handler

        return register

    def periodic(self, job: PeriodicJob) -> PeriodicJob:
        """Register a job the engine runs when a channel asks for due pushes."""
        self.periodic_jobs.append(job)
        return job

    def include(self, other: Router) -> None:
        """Add every route of `other`."""
        self.commands.update(other.commands)
        self.callbacks.update(other.callbacks)
        self.states.update(other.states)
        self.text_by_audience.update(other.text_by_audience)
        self.document_by_audience.update(other.document_by_audience)
        self.periodic_jobs.extend(other.periodic_jobs)

    def menu(self, user: Person | None) -> list[str]:
        """Return the commands a user (None: a customer) sees in the menu, in registration order."""
        return [c.name for c in self.commands.values() if c.in_menu and allows(c.audience, user)]

    def text_handler(self, user: Person | None) -> MessageHandler | None:
        """Return the free-text handler of the first audience the user belongs to."""
        return next((h for audience, h in self.text_by_audience.items() if allows(audience, user)), None)

    def document_handler(self, user: Person | None) -> MessageHandler | None:
        """Return the document handler of the first audience the user belongs to, if any."""
        return next((h for audience, h in self.document_by_audience.items() if allows(audience, user)), None)
