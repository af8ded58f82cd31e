"""Routes an inbound to its handler: command, button, dialog state, or free text by role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.callbacks import Callback
from bot.core.messages import Inbound, Reply

if TYPE_CHECKING:
    from crm_core.config import Settings
    from crm_core.services import Services

    from bot.core.context import Ctx

HandlerResult = Reply | list[Reply]
MessageHandler = Callable[[Inbound, "Ctx"], Awaitable[HandlerResult]]
CallbackHandler = Callable[[Inbound, "Ctx", Callback], Awaitable[HandlerResult]]
StateHandler = Callable[[Inbound, "Ctx", dict[str, object]], Awaitable[HandlerResult]]
# A job run on every tick of a channel's clock loop (reminders, escalations): services, settings, channel -> pushes.
PeriodicJob = Callable[["Services", "Settings", str], Awaitable[list[Reply]]]

STAFF = frozenset({"sales", "manager", "admin"})
MANAGERS = frozenset({"manager", "admin"})
EVERYONE = frozenset({"sales", "manager", "admin", "customer"})


@dataclass(frozen=True)
class CommandRoute:
    """A slash command, who may use it and its menu text key."""

    name: str
    handler: MessageHandler
    roles: frozenset[str]
    in_menu: bool = True


@dataclass(frozen=True)
class CallbackRoute:
    """A callback namespace and who may press its buttons."""

    namespace: str
    handler: CallbackHandler
    roles: frozenset[str]


class Router:
    """Registry of handlers, filled by decorators in `bot.handlers`."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandRoute] = {}
        self.callbacks: dict[str, CallbackRoute] = {}
        self.states: dict[str, StateHandler] = {}
        self.text_by_role: dict[str, MessageHandler] = {}
        self.periodic_jobs: list[PeriodicJob] = []

    def command(self, name: str, *, roles: frozenset[str], in_menu: bool = True) -> Callable[[MessageHandler],
                                                                                             MessageHandler]:
        """Register a slash command."""

        def register(handler: MessageHandler) -> MessageHandler:
            self.commands[name] = CommandRoute(name, handler, roles, in_menu)
            return handler

        return register

    def callback(self, namespace: str, *, roles: frozenset[str]) -> Callable[[CallbackHandler], CallbackHandler]:
        """Register the handler of a callback namespace."""

        def register(handler: CallbackHandler) -> CallbackHandler:
            self.callbacks[namespace] = CallbackRoute(namespace, handler, roles)
            return handler

        return register

    def state(self, name: str) -> Callable[[StateHandler], StateHandler]:
        """Register the handler of a dialog state (the next text the chat sends)."""

        def register(handler: StateHandler) -> StateHandler:
            self.states[name] = handler
            return handler

        return register

    def text(self, *roles: str) -> Callable[[MessageHandler], MessageHandler]:
        """Register the free-text handler for roles."""

        def register(handler: MessageHandler) -> MessageHandler:
            for role in roles:
                self.text_by_role[role] = handler
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
        self.text_by_role.update(other.text_by_role)
        self.periodic_jobs.extend(other.periodic_jobs)

    def menu(self, role: str) -> list[str]:
        """Return the commands a role sees in its menu, in registration order."""
        return [c.name for c in self.commands.values() if c.in_menu and role in c.roles]
