"""Read lines, feed the engine, print replies with numbered buttons.

A line that is only a number presses that button of the latest reply that had buttons;
with none open it is ordinary text. Pushes to other chats are printed with their addressee.
A message that stands for something (a ticket notice) is printed with a number, `[#3]`, and the
line `>3 text` replies to it, as one replies to a message in a chat app. The console is the
scheduler's sender for its channel: after every line, and at the end, what is due is printed.

A line `/file PATH` sends the file at PATH as a document (a spreadsheet to import), as one attaches a
file in a chat app; its progress edits are printed as `bot ✎: …` lines.

A push to another console chat is printed with its buttons; when that chat is played later in the same
process (the demo: a salesperson closes a ticket, then the customer writes), it is shown there first and its
buttons are the ones a number presses (the customer's ⭐ rating).
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol, TextIO

from bot.core.channel import MAX_DOWNLOAD_BYTES, ChannelIO, FileTooLarge
from bot.core.messages import Attachment, Button, Inbound, Reply
from bot.scheduler import Scheduler
from bot.texts import Texts

CHANNEL = "console"
_REPLY_TO = re.compile(r"^>\s*(\d+)\s+(\S.*)$", re.DOTALL)
_REPLY_TO_NOTHING = re.compile(r"^>\s*(\d+)\s*$")
_SEND_FILE = re.compile(r"^/file\s+(\S.*)$")
PrintLine = Callable[[str], None]
# Pushes with buttons printed for another console chat of this process, by (engine, chat), waiting to be shown there.
_WAITING: dict[tuple[int, str], list[Reply]] = {}


class ConsoleEngine(Protocol):
    """What the console needs from the engine."""

    async def handle(self, inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]: ...

    async def delivered(self, reply: Reply, *, channel: str, chat_id: str, message_ids: Sequence[str]) -> None: ...


class ConsoleChannel:
    """One console conversation as one user (staff by name, or a customer)."""

    def __init__(self, engine: ConsoleEngine, *, scheduler: Scheduler, user: str, out: TextIO, echo: bool,
                 customer: bool = False, phone: str | None = None, language: str = "vi") -> None:
        self._engine = engine
        self._scheduler = scheduler
        self._phone = phone
        self._user = f"customer:{user}" if customer else user
        self._label = user
        self._out = out
        self._echo = echo
        self._buttons: list[Button] = []
        self._run = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)
        self._message_numbers = itertools.count(1)  # synthetic message ids of this run, shown as [#N]
        self._shown_here: dict[int, str] = {}  # message number -> the chat it was for
        self._texts = Texts(language)
        scheduler.register(CHANNEL, self.deliver)

    async def run(self, lines: Iterable[str]) -> None:
        """Play every line in order, then deliver what is still due."""
        for raw in lines:
            await self.send(raw.rstrip("\n"))
        await self._scheduler.tick()

    async def send(self, line: str) -> None:
        """Handle one typed line: a button number, a reply to a numbered message, or a message."""
        waiting = _WAITING.pop((id(self._engine), self._user), [])
        for reply in waiting:
            self._show_own(reply, "")
        if self._echo:
            self._print(f"> {self._label}: {line}")
        if self._not_a_reply_here(line):
            # `>N text` means "reply to message N": never let it become a log about something else.
            self._print(f"bot: {self._texts('common.reply_unknown', number=line.strip()[1:].split()[0])}")
            return
        inbound = self._inbound(line, f"{self._run}-{next(self._counter)}")
        if inbound is None:
            self._print(f"bot: {self._texts('common.file_missing', path=line.strip()[len('/file'):].strip())}")
            return
        await self.show(await self._engine.handle(inbound, io=ConsoleIO(self._print)))
        await self._scheduler.tick()

    def _not_a_reply_here(self, line: str) -> bool:
        """Tell whether `line` replies to a message number this chat was not shown (or has no text)."""
        stripped = line.strip()
        if _REPLY_TO_NOTHING.match(stripped):
            return True
        reply_to = _REPLY_TO.match(stripped)
        return reply_to is not None and self._shown_here.get(int(reply_to.group(1))) != self._user

    def _inbound(self, line: str, message_id: str) -> Inbound | None:
        number = line.strip()
        if number.isdigit() and self._buttons and 1 <= int(number) <= len(self._buttons):
            return self._press(self._buttons[int(number) - 1], line, message_id)
        sent_file = _SEND_FILE.match(line.strip())
        if sent_file is not None:
            return self._document(Path(sent_file.group(1).strip()).expanduser(), message_id)
        reply_to = _REPLY_TO.match(line.strip())
        if reply_to is not None:
            return Inbound(channel=CHANNEL, chat_id=self._user, user_id=self._user, text=reply_to.group(2),
                           message_id=message_id, reply_to_message_id=self._message_id(int(reply_to.group(1))))
        return Inbound(channel=CHANNEL, chat_id=self._user, user_id=self._user, text=line, message_id=message_id)

    def _document(self, path: Path, message_id: str) -> Inbound | None:
        """Send the file at `path` as a document (its path is its file id: the console's "download" copies it)."""
        if not path.is_file():
            return None
        attachment = Attachment("document", file_id=str(path.resolve()), file_name=path.name,
                                size=path.stat().st_size, mime_type=mimetypes.guess_type(path.name)[0])
        return Inbound(channel=CHANNEL, chat_id=self._user, user_id=self._user, attachment=attachment,
                       message_id=message_id)

    def _press(self, button: Button, line: str, message_id: str) -> Inbound:
        if button.kind == "request_contact":
            # Telegram sends the user's own contact; the console sends the phone given with --phone.
            return Inbound(channel=CHANNEL, chat_id=self._user, user_id=self._user, shared_phone=self._phone,
                           text=None if self._phone else line, message_id=message_id)
        return Inbound(channel=CHANNEL, chat_id=self._user, user_id=self._user, callback_data=button.data,
                       callback_id=message_id, message_id=message_id)

    async def deliver(self, push: Reply) -> None:
        """Print one push the scheduler hands to the console."""
        await self.show([push])

    async def show(self, replies: list[Reply]) -> None:
        """Print replies; remember the buttons of the latest one that has any; number those one may reply to."""
        for reply in replies:
            chat_id = reply.chat_id or self._user
            tag = await self._numbered(reply, chat_id)
            if chat_id != self._user:
                self._print(f"→ {chat_id}{tag}: {reply.text}")
                if reply.keyboard is not None:
                    self._print("  " + "  ".join(f"[{b.label}]" for b in reply.keyboard.buttons()))
                    _WAITING.setdefault((id(self._engine), chat_id), []).append(reply)
                continue
            self._show_own(reply, tag)

    def _show_own(self, reply: Reply, tag: str) -> None:
        """Print a reply to this chat; its buttons become the ones a number presses."""
        if reply.toast and reply.toast != reply.text:
            self._print(f"  ({reply.toast})")
        self._print(f"bot{tag}: {reply.text}")
        if reply.file is not None:
            self._print(f"  [file] {reply.file.path}")
        if reply.keyboard is not None:
            self._buttons = reply.keyboard.buttons()
            labels = "  ".join(f"[{i}] {b.label}" for i, b in enumerate(self._buttons, start=1))
            self._print(f"  {labels}")

    async def _numbered(self, reply: Reply, chat_id: str) -> str:
        """Report the reply delivered (printing cannot fail); a reply that stands for something gets a number."""
        if reply.ref is None:
            await self._engine.delivered(reply, channel=CHANNEL, chat_id=chat_id, message_ids=[])
            return ""
        number = next(self._message_numbers)
        self._shown_here[number] = chat_id
        await self._engine.delivered(reply, channel=CHANNEL, chat_id=chat_id, message_ids=[self._message_id(number)])
        return f" [#{number}]"

    def _message_id(self, number: int) -> str:
        # Numbers restart with every run; the run's prefix keeps the recorded ids apart.
        return f"{self._run}-m{number}"

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


class ConsoleIO:
    """The console's files (a document's id is its path) and progress edits (printed as they come)."""

    def __init__(self, print_line: PrintLine) -> None:
        self._print = print_line

    async def download(self, file_id: str, destination: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> None:
        """Copy the file at `file_id` to `destination`."""
        source = Path(file_id)
        if (await asyncio.to_thread(source.stat)).st_size > max_bytes:
            raise FileTooLarge(file_id)
        await asyncio.to_thread(shutil.copyfile, source, destination)

    async def edit_now(self, chat_id: str, message_id: str | None, text: str) -> None:
        """Print the new text of a message being edited."""
        self._print(f"bot ✎: {text}")
