"""What a handler gets besides the inbound: flows, services, who, language, texts, time, dialog state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crm_core.config import Settings
from crm_core.flows import Flows
from crm_core.flows.notices import Notice
from crm_core.schemas import UserOut
from crm_core.services import Services

from bot.core.channel import ChannelIO
from bot.core.messages import Inbound, Reply
from bot.core.notices import render_notice
from bot.texts import Texts


@dataclass
class Ctx:
    """Per-message context, valid for one unit of work."""

    inbound: Inbound
    flows: Flows
    services: Services
    settings: Settings
    user: UserOut | None
    lang: str
    t: Texts
    now: datetime
    pushes: list[Reply] = field(default_factory=list)
    # The inbound's channel, for files and live progress; None on a channel that lends none.
    io: ChannelIO | None = None
    # The admin dialog (name, data) a command ended before it ran: /cancel tells what it cancelled.
    ended_dialog: tuple[str, dict[str, Any]] | None = None

    @property
    def staff(self) -> UserOut:
        """Return the caller, who is staff (the router checked)."""
        assert self.user is not None
        return self.user

    async def set_state(self, name: str, data: dict[str, Any]) -> None:
        """Wait for this person's next text in this chat, in dialog `name` (others in a group are not in it)."""
        inbound = self.inbound
        await self.services.state.set(inbound.channel, inbound.chat_id, inbound.user_id, name, data)

    async def admin_dialog(self, name: str) -> dict[str, Any] | None:
        """Return the data of this person's admin dialog `name` (e.g. waiting for [Save]), unless it has expired."""
        inbound = self.inbound
        lifetime = timedelta(minutes=self.settings.admin_dialog_minutes)
        state = await self.services.state.get(inbound.channel, inbound.chat_id, inbound.user_id,
                                              lifetimes={name: lifetime})
        return state[1] if state is not None and state[0] == name else None

    async def clear_state(self) -> None:
        """Leave this person's dialog in this chat."""
        await self.services.state.clear(self.inbound.channel, self.inbound.chat_id, self.inbound.user_id)

    def push(self, reply: Reply) -> None:
        """Send `reply` to another chat after this unit of work commits."""
        self.pushes.append(reply)

    def notify(self, notices: list[Notice]) -> None:
        """Phrase a flow's notices in each reader's language and send them after the commit."""
        for notice in notices:
            reply = render_notice(notice, self.settings, now=self.now)
            if reply is not None:
                self.pushes.append(reply)
