"""Read lines, feed the engine, print replies with numbered buttons.

A line that is only a number presses that button of the latest reply that had buttons;
with none open it is ordinary text. Pushes to other chats are printed with their addressee.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from typing import Protocol, TextIO

from bot.core.messages import Button, Inbound, Reply


class ConsoleEngine(Protocol):
    """What the console needs from the engine."""

    async def handle(self, inbound: Inbound) -> list[Reply]: ...

    async def due_pushes(self, channel: str = ...) -> list[Reply]: ...


class ConsoleChannel:
    """One console conversation as one user (staff by name, or a customer)."""

    def __init__(self, engine: ConsoleEngine, *, user: str, out: TextIO, echo: bool, customer: bool = False,
                 phone: str | None = None) -> None:
        self._engine = engine
        self._phone = phone
        self._user = f"customer:{user}" if customer else user
        self._label = user
        self._out = out
        self._echo = echo
        self._buttons: list[Button] = []
        self._run = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)

    async def run(self, lines: Iterable[str]) -> None:
        """Play every line in order, then deliver what is still due."""
        for raw in lines:
            await self.send(raw.rstrip("\n"))
        await self.deliver_pushes()

    async def send(self, line: str) -> None:
        """Handle one typed line: a button number or a message."""
        if self._echo:
            self._print(f"> {self._label}: {line}")
        number = line.strip()
        n = next(self._counter)
        if number.isdigit() and self._buttons and 1 <= int(number) <= len(self._buttons):
            button = self._buttons[int(number) - 1]
            if button.kind == "request_contact":
                # Telegram sends the user's own contact; the console sends the phone given with --phone.
                inbound = Inbound(channel="console", chat_id=self._user, user_id=self._user,
                                  shared_phone=self._phone, text=None if self._phone else line,
                                  message_id=f"{self._run}-{n}")
            else:
                inbound = Inbound(
                    channel="console",
                    chat_id=self._user,
                    user_id=self._user,
                    callback_data=button.data,
                    callback_id=f"{self._run}-{n}",
                    message_id=f"{self._run}-{n}",
                )
        else:
            inbound = Inbound(
                channel="console", chat_id=self._user, user_id=self._user, text=line, message_id=f"{self._run}-{n}"
            )
        self.show(await self._engine.handle(inbound))
        await self.deliver_pushes()

    async def deliver_pushes(self) -> None:
        """Print reminders and notifications that are due now."""
        self.show(await self._engine.due_pushes("console"))

    def show(self, replies: list[Reply]) -> None:
        """Print replies; remember the buttons of the latest one that has any."""
        for reply in replies:
            if reply.chat_id is not None and reply.chat_id != self._user:
                self._print(f"→ {reply.chat_id}: {reply.text}")
                continue
            if reply.toast and reply.toast != reply.text:
                self._print(f"  ({reply.toast})")
            self._print(f"bot: {reply.text}")
            if reply.file is not None:
                self._print(f"  [file] {reply.file.path}")
            if reply.keyboard is not None:
                self._buttons = reply.keyboard.buttons()
                labels = "  ".join(f"[{i}] {b.label}" for i, b in enumerate(self._buttons, start=1))
                self._print(f"  {labels}")

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()
