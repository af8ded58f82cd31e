"""One message that shows how far slow work has got, edited as it goes: never more than once every 2 s.

    progress = ProgressMessage(io, chat_id=…, message_id=…)
    async with progress.running():           # an edit now, then the newest report every 2 s
        await asyncio.to_thread(work, progress.report)   # report() may be called from any thread
    await progress.finish("done")            # the last edit, still 2 s after the one before

Telegram answers edits of one message faster than about one a second with 429s; 2 s keeps well
clear and still feels alive. Reports in between are not queued: only the newest is worth showing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from bot.core.channel import ChannelIO

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 2.0


class ProgressMessage:
    """A message edited with the newest progress report, at most once every `every_s` seconds."""

    def __init__(self, io: ChannelIO, *, chat_id: str, message_id: str | None, every_s: float = PROGRESS_EVERY_S,
                 monotonic: Callable[[], float] | None = None) -> None:
        self._io = io
        self._chat_id = chat_id
        self._message_id = message_id
        self.every_s = every_s
        self._monotonic = monotonic
        self._latest: str | None = None
        self._shown: str | None = None
        self._last_edit: float | None = None
        self._lock = asyncio.Lock()

    def report(self, text: str) -> None:
        """Remember the newest progress; shown at the next allowed edit (safe to call from a worker thread)."""
        self._latest = text  # one reference assignment: atomic, so a thread may call this

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ProgressMessage]:
        """Show the newest report while the block runs: at once, then every `every_s` when it changed."""
        await self._show_newest()
        ticker = asyncio.create_task(self._tick(), name="progress message")
        try:
            yield self
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    async def finish(self, text: str) -> None:
        """Edit the message one last time, once `every_s` has passed since the edit before."""
        await self._edit(text)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            await self._show_newest()

    async def _show_newest(self) -> None:
        latest = self._latest
        if latest is not None and latest != self._shown:
            await self._edit(latest)

    async def _edit(self, text: str) -> None:
        async with self._lock:
            if self._last_edit is not None:
                wait = self._last_edit + self.every_s - self._now()
                if wait > 0:
                    await asyncio.sleep(wait)
            # Counted from the attempt: an edit cancelled mid-call may still have reached the channel.
            self._last_edit = self._now()
            self._shown = text
            await self._io.edit_now(self._chat_id, self._message_id, text)

    def _now(self) -> float:
        return self._monotonic() if self._monotonic is not None else asyncio.get_running_loop().time()
