"""One progress message, edited with the newest report, never more than once every `every_s` seconds."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from bot.core.progress import PROGRESS_EVERY_S, ProgressMessage

EVERY_S = 0.3  # the rule under test, scaled down; the bot uses PROGRESS_EVERY_S


class RecordedEdits:
    """A channel that records each edit and when it was made (event-loop time)."""

    def __init__(self) -> None:
        self.edits: list[tuple[float, str]] = []
        self.targets: list[str | None] = []  # the message each edit went to; "sent" for a new one

    async def download(self, file_id: str, destination: Path, *, max_bytes: int = 0) -> None:
        raise AssertionError("no file here")

    async def edit_now(self, chat_id: str, message_id: str | None, text: str) -> None:
        self.edits.append((asyncio.get_running_loop().time(), text))
        self.targets.append(message_id)

    async def send_now(self, chat_id: str, text: str) -> str | None:
        await asyncio.sleep(0)  # a real channel awaits its answer: the send is still under way when work ends
        self.edits.append((asyncio.get_running_loop().time(), text))
        self.targets.append("sent")
        return "42"


def test_the_bot_edits_a_progress_message_at_most_every_two_seconds() -> None:
    assert PROGRESS_EVERY_S == 2.0


async def test_many_reports_become_few_edits_spaced_by_the_interval_ending_with_the_final_text() -> None:
    channel = RecordedEdits()
    progress = ProgressMessage(channel, chat_id="1", message_id="7", every_s=EVERY_S)

    progress.report("0%")
    async with progress.running():
        for percent in range(1, 101):
            progress.report(f"{percent}%")
            await asyncio.sleep(EVERY_S * 3 / 100)  # 100 reports over about three intervals
    await progress.finish("done")

    times = [at for at, _ in channel.edits]
    assert channel.edits[0][1] == "0%"
    assert channel.edits[-1][1] == "done"
    assert 3 <= len(channel.edits) <= 6
    assert all(later - earlier >= EVERY_S * 0.99 for earlier, later in itertools.pairwise(times))


async def test_an_unchanged_report_is_not_edited_again() -> None:
    channel = RecordedEdits()
    progress = ProgressMessage(channel, chat_id="1", message_id="7", every_s=EVERY_S / 3)

    progress.report("50%")
    async with progress.running():
        await asyncio.sleep(EVERY_S * 2)

    assert [text for _, text in channel.edits] == ["50%"]


async def test_without_a_message_the_first_report_is_sent_and_later_ones_edit_it() -> None:
    channel = RecordedEdits()
    progress = ProgressMessage(channel, chat_id="1", message_id=None, every_s=EVERY_S / 3)

    async with progress.running():
        progress.report("20%")
        await asyncio.sleep(EVERY_S)
        progress.report("60%")
        await asyncio.sleep(EVERY_S)
    await progress.finish("done")

    assert [text for _, text in channel.edits] == ["20%", "60%", "done"]
    assert channel.targets == ["sent", "42", "42"]


async def test_work_quicker_than_the_ticker_still_shows_its_report_once_before_the_last_edit() -> None:
    channel = RecordedEdits()
    progress = ProgressMessage(channel, chat_id="1", message_id=None, every_s=EVERY_S)

    async with progress.running():
        progress.report("100%")
    assert progress.shown
    await progress.finish("done")

    assert [text for _, text in channel.edits] == ["100%", "done"]
    assert channel.targets == ["sent", "42"]
    assert channel.edits[1][0] - channel.edits[0][0] >= EVERY_S * 0.99


async def test_nothing_reported_nothing_shown() -> None:
    channel = RecordedEdits()
    progress = ProgressMessage(channel, chat_id="1", message_id=None, every_s=EVERY_S)

    async with progress.running():
        await asyncio.sleep(0)

    assert not progress.shown
    assert channel.edits == []
