"""Tasks: a compact, paged list with one button per task; the opened task has Done and Snooze."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.views import about, due_text, task_buttons
from crm_core.errors import AlreadyDone
from crm_core.policy import Audience, can_view_colleague
from crm_core.schemas import TaskOut, UserOut

router = Router()
LINE_CHARS = 200
MAX_PER_PAGE = 15  # 15 lines of 200 characters and their headers stay below Telegram's 4,096
BUTTON_CHARS = 40


def _args(msg: Inbound) -> str:
    text = (msg.text or "").strip()
    return text.split(maxsplit=1)[1].strip() if " " in text else ""


@router.command("tasks", audience=Audience.STAFF)
async def on_tasks_list(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List open tasks (overdue, today, next 7 days), one line and one button each, paged.

    A salesperson sees their own; a manager their own, or a colleague's by name (an unknown name is
    answered with the names there are).
    """
    owner = ctx.staff
    query = _args(msg)
    if query:
        found = await _colleague(ctx, query)
        if isinstance(found, Reply):
            return found  # an unknown name is said so, never answered with one's own list
        if found.id != ctx.staff.id and not can_view_colleague(ctx.staff):
            return Reply(ctx.t("common.forbidden"))
        owner = found
    return await _tasks_page(ctx, owner, page=1, edit=False)


async def _colleague(ctx: Ctx, name: str) -> UserOut | Reply:
    """The staff member called `name` (accents and case ignored, or by given name), or a reply naming who there is."""
    found = await ctx.services.users.namesakes(name)
    if len(found) == 1:
        return found[0]
    shown = fmt.clip(name, 60)
    if found:
        return Reply(ctx.t("task.ambiguous_rep", name=shown, names=", ".join(u.name for u in found)))
    reps = await ctx.services.users.salespeople()
    names = ", ".join(r.name for r in reps) or "—"
    return Reply(ctx.t("task.unknown_rep", name=shown, names=fmt.clip(names, 3000)))


async def _tasks_page(ctx: Ctx, owner: UserOut, *, page: int, edit: bool) -> Reply:
    buckets = await ctx.services.tasks.buckets(ctx.staff, owner_id=owner.id)
    listed = [(key, task) for key, tasks in (("task.overdue", buckets.overdue), ("task.today", buckets.today),
                                             ("task.upcoming", buckets.upcoming)) for task in tasks]
    if buckets.later:  # the tasks after the next 7 days come on the following pages ("Sau ▶️")
        listed += [("task.later_heading", task) for task in await ctx.services.tasks.later(ctx.staff,
                                                                                           owner_id=owner.id)]
    per_page = min(ctx.settings.page_size, MAX_PER_PAGE)
    pages = max(1, math.ceil(len(listed) / per_page))
    page = min(max(page, 1), pages)
    shown = listed[(page - 1) * per_page: page * per_page]
    title = ctx.t("task.list_title", who=owner.name)
    lines = [title if pages == 1 else ctx.t("task.list_page", title=title, page=page, pages=pages)]
    heading = None
    for key, task in shown:
        if key != heading:
            lines.append(ctx.t(key))
            heading = key
        lines.append(_task_line(ctx, task))
    after = [task for key, task in listed[page * per_page:] if key == "task.later_heading"]
    if after and not any(key == "task.later_heading" for key, _ in shown):
        lines.append(ctx.t("task.later", count=len(after)))
    if len(lines) == 1:
        lines.append(ctx.t("task.none"))
    rows = [[Button(fmt.clip(f"#{task.id} {ctx.t.words(task.title)}", BUTTON_CHARS),
                    pack("task", "open", task.id, page, owner.id))]
            for _key, task in shown]
    nav = []
    if page > 1:
        nav.append(Button(ctx.t("btn.prev"), pack("tasks", "page", page - 1, owner.id)))
    if page < pages:
        nav.append(Button(ctx.t("btn.next"), pack("tasks", "page", page + 1, owner.id)))
    if nav:
        rows.append(nav)
    keyboard = Keyboard.of(*rows) if rows else None
    return Reply(fmt.clip_lines("\n".join(lines)), keyboard=keyboard, edit=edit)


def _task_line(ctx: Ctx, task: TaskOut) -> str:
    return fmt.clip(ctx.t("task.line", id=task.id, title=task.title, about=about(task),
                          due=due_text(task.due_at, ctx.t, ctx.now, ctx.settings)), LINE_CHARS)


@router.callback("tasks", audience=Audience.STAFF)
async def on_tasks_page(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Turn a page of the task list (a salesperson's own, whoever the button names)."""
    if cb.action != "page":
        raise StaleCallback(cb.action)
    owner_id = cb.arg_int(1)
    owner = ctx.staff
    if owner_id != ctx.staff.id and can_view_colleague(ctx.staff):
        owner = await ctx.services.users.get(owner_id)
    return await _tasks_page(ctx, owner, page=cb.arg_int(0), edit=True)


@router.callback("task", audience=Audience.STAFF)
async def on_task_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Open a task, mark it done, or snooze it."""
    task_id = cb.arg_int(0)
    tasks = ctx.services.tasks
    if cb.action == "open":  # task:v1:open:ID[:PAGE:OWNER], the page of the list it was opened from
        back = pack("tasks", "page", cb.arg_int(1), cb.arg_int(2)) if len(cb.args) >= 3 else None
        return await _task_card(ctx, await tasks.get(task_id, ctx.staff), back=back)
    if cb.action == "done":
        try:
            task = await tasks.done(task_id, ctx.staff)
        except AlreadyDone:
            return Reply(ctx.t("task.already_done"), toast=ctx.t("task.already_done"))
        text = ctx.t("task.done", title=task.title)
        return Reply(text, toast=fmt.clip(text, 200))
    if cb.action == "snz":
        task = await tasks.get(task_id, ctx.staff)
        if task.done:
            return Reply(ctx.t("task.already_done"), toast=ctx.t("task.already_done"))
        options = [("1h", "btn.snooze_1h"), ("1d", "btn.snooze_tomorrow"), ("1w", "btn.snooze_week")]
        return Reply(ctx.t("task.pick_snooze", title=task.title),
                     keyboard=Keyboard.of([Button(ctx.t(k), pack("task", "until", task_id, v)) for v, k in options]))
    if cb.action == "until":
        until = _snooze_until(ctx.now, cb.args[1])
        try:
            task = await tasks.snooze(task_id, ctx.staff, until=until)
        except AlreadyDone:
            return Reply(ctx.t("task.already_done"), toast=ctx.t("task.already_done"))
        return Reply(ctx.t("task.snoozed", title=task.title, due=due_text(until, ctx.t, ctx.now, ctx.settings)),
                     edit=True)
    raise StaleCallback(cb.action)


async def _task_card(ctx: Ctx, task: TaskOut, *, back: str | None) -> Reply:
    """One task in full, with Done and Snooze, and the way back to the page it was opened from."""
    if task.done:
        return Reply(ctx.t("task.already_done"), toast=ctx.t("task.already_done"))
    text = ctx.t("task.card", id=task.id, title=task.title, about=about(task),
                 due=due_text(task.due_at, ctx.t, ctx.now, ctx.settings), owner=task.owner or "—")
    rows = [task_buttons(task.id, ctx.t)]
    if back is not None:
        rows.append([Button(ctx.t("btn.back"), back)])
    return Reply(fmt.clip_lines(text), keyboard=Keyboard.of(*rows), edit=True)


def _snooze_until(now: datetime, choice: str) -> datetime:
    if choice == "1h":
        return now + timedelta(hours=1)
    days = {"1d": 1, "1w": 7}.get(choice)
    if days is None:
        raise StaleCallback(f"no snooze {choice!r}")
    return datetime.combine(now.date() + timedelta(days=days), time(9, 0), tzinfo=now.tzinfo)
