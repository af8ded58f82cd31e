"""Read lines, feed the engine, print replies with numbered buttons.

A line that is only a number presses that button of the latest reply that had buttons, unless the bot's
answer to the last line had no buttons (it asks for something to type: a probability, a number of days):
then a number is that text, as it would be in Telegram. With no buttons open it is ordinary text.
Pushes to other chats are printed with their addressee.
A message that stands for something (a ticket notice) is printed with a number, `[#3]`, and the
line `>3 text` replies to it, as one replies to a message in a chat app. The console is the
scheduler's sender for its channel: after every line, and at the end, what is due is printed.

A line `/file PATH` sends the file at PATH as a document (a spreadsheet to import), as one attaches a
file in a chat app; its progress edits are printed as `bot ✎: …` lines.

A push to another console chat is printed with its buttons; when that chat is played later in the same
process (the demo: a salesperson closes a ticket, then the customer writes), it is shown there first and its
buttons are the ones a number presses (the customer's ⭐ rating). A customer's console prints only the customer's
own chat: what goes to staff meanwhile (a ticket notice) is printed to `aside` (stderr), never to the transcript.

An answer's buttons and the share-my-phone button that follows it in the same turn are numbered as one list
(👍 [1], 👎 [2], a person [3], the phone [4]), so a number still reaches the answer's buttons. Pressing the phone
button without `--phone` says how to give one; nothing is sent.
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import re
import shutil
import sys
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
                 customer: bool = False, phone: str | None = None, language: str = "vi",
                 aside: TextIO | None = None) -> None:
        self._engine = engine
        self._customer = customer
        # Where a customer's console prints what goes to other chats (staff notices): not the customer's transcript.
        self._aside = aside if aside is not None else sys.stderr
        self._scheduler = scheduler
        self._phone = phone
        self._user = f"customer:{user}" if customer else user
        self._label = user
        self._out = out
        self._echo = echo
        self._buttons: list[Button] = []
        self._turn_buttons: list[Button] = []  # inline buttons of this turn's replies, before a share-phone keyboard
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
        if self._share_without_phone(line):
            self._print(f"bot: {self._texts('common.share_phone_console')}")
            return
        inbound = self._inbound(line, f"{self._run}-{next(self._counter)}")
        if inbound is None:
            self._print(f"bot: {self._texts('common.file_missing', path=line.strip()[len('/file'):].strip())}")
            return
        await self.show(await self._engine.handle(inbound, io=ConsoleIO(self._print)), answer=True)
        await self._scheduler.tick()

    def _not_a_reply_here(self, line: str) -> bool:
        """Tell whether `line` replies to a message number this chat was not shown (or has no text)."""
        stripped = line.strip()
        if _REPLY_TO_NOTHING.match(stripped):
            return True
        reply_to = _REPLY_TO.match(stripped)
        return reply_to is not None and self._shown_here.get(int(reply_to.group(1))) != self._user

    def _pressed(self, line: str) -> Button | None:
        """The button a line that is only a number presses, if any."""
        number = line.strip()
        if number.isdigit() and self._buttons and 1 <= int(number) <= len(self._buttons):
            return self._buttons[int(number) - 1]
        return None

    def _share_without_phone(self, line: str) -> bool:
        """Tell whether the line presses "share my phone" in a console given no --phone."""
        pressed = self._pressed(line)
        return pressed is not None and pressed.kind == "request_contact" and not self._phone

    def _inbound(self, line: str, message_id: str) -> Inbound | None:
        pressed = self._pressed(line)
        if pressed is not None:
            return self._press(pressed, line, message_id)
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

    async def show(self, replies: list[Reply], *, answer: bool = False) -> None:
        """Print replies; remember the buttons of the latest one that has any; number those one may reply to.

        `answer`: the replies answer the line just typed. When none of those shown here has buttons, the bot
        is waiting for words (a dialog's question), so the buttons of older messages no longer take numbers.
        """
        self._turn_buttons = []
        shown, with_buttons = False, False
        for reply in replies:
            chat_id = reply.chat_id or self._user
            tag = await self._numbered(reply, chat_id)
            if chat_id != self._user:
                self._show_other(reply, chat_id, tag)
                continue
            self._show_own(reply, tag)
            shown = shown or bool(reply.text.strip())
            with_buttons = with_buttons or reply.keyboard is not None
        if answer and shown and not with_buttons:
            self._buttons = []

    def _show_other(self, reply: Reply, chat_id: str, tag: str) -> None:
        """Print a push to another chat with its buttons numbered; a customer's console prints it aside."""
        print_line = self._print_aside if self._customer else self._print
        if reply.menu is not None:
            print_line(f"→ {chat_id}: {_menu_line(reply.menu)}")
        if not reply.text.strip():
            return
        print_line(f"→ {chat_id}{tag}: {reply.text}")
        if reply.keyboard is not None:
            print_line("  " + _labels(reply.keyboard.buttons()))
            _WAITING.setdefault((id(self._engine), chat_id), []).append(reply)

    def _show_own(self, reply: Reply, tag: str) -> None:
        """Print a reply to this chat; its buttons become the ones a number presses (a share-phone button that
        follows an answer's buttons in the same turn is numbered after them)."""
        if reply.toast and reply.toast != reply.text:
            self._print(f"  ({reply.toast})")
        if reply.menu is not None:
            self._print(f"  {_menu_line(reply.menu)}")
        if not reply.text.strip():
            return
        self._print(f"bot{tag}: {reply.text}")
        if reply.file is not None:
            self._print(f"  [file] {reply.file.path}")
        if reply.keyboard is not None:
            buttons = reply.keyboard.buttons()
            before = self._turn_buttons if reply.keyboard.is_share_contact else []
            self._buttons = before + buttons
            self._turn_buttons = [] if reply.keyboard.is_share_contact else buttons
            self._print("  " + _labels(buttons, start=len(before) + 1))

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

    def _print_aside(self, text: str) -> None:
        self._aside.write(text + "\n")
        self._aside.flush()


def _menu_line(menu: tuple[tuple[str, str], ...]) -> str:
    """Say what a command menu became (the console has no menu button)."""
    return "(menu: " + (" ".join(f"/{name}" for name, _ in menu) or "default") + ")"


def _labels(buttons: list[Button], *, start: int = 1) -> str:
    """Buttons as the console prints them: `[1] 👍  [2] 👎`."""
    return "  ".join(f"[{i}] {b.label}" for i, b in enumerate(buttons, start=start))


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

    async def send_now(self, chat_id: str, text: str) -> str | None:
        """Print a progress message; the console has no message ids, so its edits print as new lines too."""
        self._print(f"bot ✎: {text}")
        return None
