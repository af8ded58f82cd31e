"""One message that shows how far slow work has got, edited as it goes: never more than once every 2 s.

    progress = ProgressMessage(io, chat_id=…, message_id=…)   # message_id None: the first report is sent as
    async with progress.running():                              # a new message, later ones edit it
        await asyncio.to_thread(work, progress.report)   # report() may be called from any thread
    await progress.finish("done")            # the last edit, still 2 s after the one before

A report is shown as soon as the 2 s since the edit before allow (the first one at once), always the newest.

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
        self._sent = message_id is not None  # no message yet: the first text shown is sent as one
        self.every_s = every_s
        self._monotonic = monotonic
        self._latest: str | None = None
        self._shown: str | None = None
        self._last_edit: float | None = None
        self._lock = asyncio.Lock()
        self._fresh = asyncio.Event()  # a report not shown yet (set on the loop only)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._delivering: asyncio.Future[None] | None = None  # the latest send or edit, perhaps still under way

    @property
    def shown(self) -> bool:
        """Tell whether any text has been shown (sent or edited) yet."""
        return self._last_edit is not None

    def report(self, text: str) -> None:
        """Remember the newest progress; shown at the next allowed edit (safe to call from a worker thread)."""
        self._latest = text  # one reference assignment: atomic, so a thread may call this
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._fresh.set)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ProgressMessage]:
        """Show each new report while the block runs: the first at once, then at most every `every_s`."""
        self._loop = asyncio.get_running_loop()
        await self._show_newest()
        ticker = asyncio.create_task(self._tick(), name="progress message")
        try:
            yield self
        finally:
            self._loop = None
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if not self.shown:  # work quicker than the ticker: its report is still shown once, then finished
                await self._show_newest()

    async def finish(self, text: str) -> None:
        """Edit the message one last time, once `every_s` has passed since the edit before."""
        async with self._lock:
            if self._delivering is not None:
                await self._delivering  # the message must exist (and have its id) before it is edited
            await self._wait_turn()
            await self._show(text)

    async def _tick(self) -> None:
        while True:
            await self._fresh.wait()
            self._fresh.clear()
            await self._show_newest()

    async def _show_newest(self) -> None:
        async with self._lock:
            if self._latest is None or self._latest == self._shown:
                return
            await self._wait_turn()
            latest = self._latest  # read after the wait: reports that came meanwhile are not shown one by one
            if latest != self._shown:
                await self._show(latest)

    async def _wait_turn(self) -> None:
        """Wait until `every_s` has passed since the last edit."""
        if self._last_edit is not None:
            wait = self._last_edit + self.every_s - self._now()
            if wait > 0:
                await asyncio.sleep(wait)

    async def _show(self, text: str) -> None:
        # Counted from the attempt: an edit cancelled mid-call may still have reached the channel.
        self._last_edit = self._now()
        self._shown = text
        # Shielded: the ticker is cancelled when the work ends, and a send cut short would leave no id to edit.
        self._delivering = asyncio.ensure_future(self._deliver(text))
        await asyncio.shield(self._delivering)

    async def _deliver(self, text: str) -> None:
        if not self._sent:
            self._sent = True
            self._message_id = await self._io.send_now(self._chat_id, text)
        else:
            await self._io.edit_now(self._chat_id, self._message_id, text)

    def _now(self) -> float:
        return self._monotonic() if self._monotonic is not None else asyncio.get_running_loop().time()
