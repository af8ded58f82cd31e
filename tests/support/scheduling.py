"""A scheduler whose senders only record what they are handed: the pushes as a test sees them."""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.messages import Reply
from bot.scheduler import PushSource, Scheduler


class RecordedPushes:
    """The real `Scheduler` over `source`, with a recording sender on each of `channels`."""

    def __init__(self, source: PushSource, channels: Iterable[str] = ("telegram",)) -> None:
        self.source = source
        self.scheduler = Scheduler(source, interval_s=3600.0)
        self.delivered: list[Reply] = []
        for channel in channels:
            self.scheduler.register(channel, self.record)

    async def record(self, push: Reply) -> None:
        """Keep a delivered push, and report it delivered as a channel's sender does."""
        self.delivered.append(push)
        report = getattr(self.source, "delivered", None)  # an engine settles its outbox; a scripted source has none
        if report is not None:
            await report(push, channel=push.channel or "telegram", chat_id=push.chat_id or "", message_ids=[])

    async def tick(self) -> list[Reply]:
        """Run one tick of the scheduler; return the pushes it delivered."""
        start = len(self.delivered)
        await self.scheduler.tick()
        return self.delivered[start:]
