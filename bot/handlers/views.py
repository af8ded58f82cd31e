"""Shared pieces of replies: how tasks, deals and amounts read in chat."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot.core import format as fmt
from bot.core.callbacks import pack
from bot.core.messages import Button, Keyboard, Reply
from bot.texts import Texts
from crm_core.config import Settings
from crm_core.schemas import DealOut, TaskOut, UserOut
from crm_core.textnorm import fold


def due_text(due_at: datetime | None, t: Texts, now: datetime, settings: Settings) -> str:
    """Say when a task is due, in the user's way of writing dates."""
    if due_at is None:
        return t("task.no_due")
    return fmt.moment(due_at, t.language, now.tzinfo or settings.tz, today=now.date())


def words_of(text: str, t: Texts) -> str:
    """A record's words as shown: what an erasure took out (a marker in no language) worded in the reader's."""
    return t.words(text)


def about(task: TaskOut) -> str:
    """Say whom a task is about, in brackets."""
    parts = [p for p in (task.contact, task.company) if p]
    return f" ({', '.join(parts)})" if parts else ""


def task_buttons(task_id: int, t: Texts) -> list[Button]:
    """Done and Snooze for one task."""
    return [Button(f"{t('btn.done')} #{task_id}", pack("task", "done", task_id)),
            Button(f"{t('btn.snooze')} #{task_id}", pack("task", "snz", task_id))]


def reminder_reply(task: TaskOut, t: Texts, now: datetime, settings: Settings, *, chat_id: str,
                   channel: str) -> Reply:
    """The reminder pushed to a task's owner at its due time."""
    text = t("task.reminder", title=task.title, about=about(task), due=due_text(task.due_at, t, now, settings))
    return Reply(fmt.clip(text, 4000), keyboard=Keyboard.of(task_buttons(task.id, t)), chat_id=chat_id,
                 channel=channel)


def deal_amount(deal: DealOut, lang: str) -> str:
    """Format a deal's amount, with the quantity when known."""
    return fmt.money(deal.amount, deal.currency, lang)


def totals(deals: list[DealOut]) -> dict[str, Decimal]:
    """Sum deal amounts per currency."""
    sums: dict[str, Decimal] = {}
    for deal in deals:
        if deal.amount is not None:
            code = deal.currency or "VND"
            sums[code] = sums.get(code, Decimal(0)) + deal.amount
    return sums


def paginate_lines(lines: list[str], *, limit: int = 3500) -> list[list[str]]:
    """Cut lines into pages that stay well under Telegram's 4,096 characters."""
    pages: list[list[str]] = [[]]
    size = 0
    for line in lines:
        line = fmt.clip(line, 400)
        if pages[-1] and size + len(line) + 1 > limit:
            pages.append([])
            size = 0
        pages[-1].append(line)
        size += len(line) + 1
    return pages


def staff_label(user: UserOut, staff: list[UserOut]) -> str:
    """A staff member's name for a button, with their number when a colleague has the same name ("Lan (#7)")."""
    same = [u for u in staff if fold(u.name) == fold(user.name)]
    return user.name if len(same) <= 1 else f"{user.name} (#{user.id})"
