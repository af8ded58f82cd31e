"""What the channel an inbound came from lends its handler while the handler runs: files in, edits now.

Replies normally leave through the outbox once the unit of work commits. Two things cannot wait for
that: reading a file the user sent (its bytes live with the channel: Telegram's getFile, a path on
the console) and showing progress during slow work (a message edited while an import runs). The
adapter passes a `ChannelIO` with each inbound (`Engine.handle(inbound, io=…)`); a channel that
lends none simply has no files and no live progress (`Ctx.io` is None).

Progress edits (and the progress message a trial run sends first) do not go through the outbox on
purpose: they are worth something only now, and a retried "40 %" landing after the final report
would overwrite it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol, runtime_checkable

# Telegram lets bots download files of at most 20 MB (getFile); every channel keeps the same limit.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class FileTooLarge(Exception):
    """The file is over `MAX_DOWNLOAD_BYTES` (found while downloading: the channel did not say its size)."""


async def refuse_if_oversized(destination: Path, max_bytes: int) -> None:
    """Delete a downloaded file bigger than bots may take and raise FileTooLarge (its size was not announced)."""
    size = await asyncio.to_thread(lambda: destination.stat().st_size)
    if size > max_bytes:
        await asyncio.to_thread(destination.unlink, missing_ok=True)
        raise FileTooLarge(f"{size} bytes")


class ChannelIO(Protocol):
    """Files and immediate edits on the channel of the inbound being handled."""

    async def download(self, file_id: str, destination: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> None:
        """Write the file `file_id` to `destination`; raise FileTooLarge past `max_bytes`."""
        ...

    async def edit_now(self, chat_id: str, message_id: str | None, text: str) -> None:
        """Replace the text of message `message_id` now, best effort (no buttons); never raises.

        A channel that cannot edit (the console, or no message id) shows the text as a new line.
        """
        ...

    async def send_now(self, chat_id: str, text: str) -> str | None:
        """Send `text` as a new message now, best effort (a progress message to edit later); never raises.

        Return the message's id for `edit_now`, or None when it was not sent or the channel has no ids.
        """
        ...


@runtime_checkable
class BotIdentity(Protocol):
    """A channel that can say the bot's own username (Telegram's getMe), for links that open the bot."""

    async def bot_username(self) -> str | None:
        """Return the bot's @username without the @, or None when the channel cannot say."""
        ...
