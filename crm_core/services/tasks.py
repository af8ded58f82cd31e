"""Follow-up tasks: plan the day, mark done, snooze, remind."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time, timedelta

from rapidfuzz import fuzz

from crm_core.errors import AlreadyDone, Forbidden, InvalidInput, NotFound
from crm_core.models import Task
from crm_core.policy import can_read_task, can_reassign_deal, owner_filter
from crm_core.repositories.people import UserRepository
from crm_core.repositories.sales import ActivityRepository
from crm_core.schemas import TaskBuckets, TaskMatch, TaskOut, UserOut
from crm_core.services.convert import task_out, user_out
from crm_core.textnorm import clean_name, fold

UPCOMING_DAYS = 7
SIMILAR_REMINDER_SCORE = 80.0  # rapidfuzz token_set_ratio of two task titles, as a log's similar task


class TaskService:
    """Task use cases, with the role checks they need."""

    def __init__(self, repo: ActivityRepository, users: UserRepository, now: datetime) -> None:
        self._repo = repo
        self._users = users
        self._now = now

    async def _load(self, task_id: int, viewer: UserOut) -> Task:
        task = await self._repo.get_task(task_id)
        if task is None:
            raise NotFound("no such task")
        if not can_read_task(viewer, task.owner_id):
            raise Forbidden("not your task")
        return task

    async def _owner_names(self) -> dict[int, str]:
        return {u.id: u.name for u in await self._users.list_all()}

    async def create(self, *, owner_id: int, title: str, due_at: datetime | None, deal_id: int | None = None,
                     contact_id: int | None = None, company_id: int | None = None) -> Task:
        """Create a task (staged)."""
        title = clean_name(title)
        if not title:
            raise InvalidInput("a task needs a title")
        task = Task(title=title[:300], due_at=due_at, owner_id=owner_id, deal_id=deal_id, contact_id=contact_id,
                    company_id=company_id, created_at=self._now)
        self._repo.add(task)
        return task

    async def buckets(self, viewer: UserOut, *, owner_id: int | None = None) -> TaskBuckets:
        """Return open tasks: overdue, due today, and the next 7 days."""
        owner_id = owner_filter(viewer, owner_id)
        start_of_day = datetime.combine(self._now.date(), time.min, tzinfo=self._now.tzinfo)
        tomorrow = start_of_day + timedelta(days=1)
        horizon = start_of_day + timedelta(days=UPCOMING_DAYS + 1)
        names = await self._owner_names()
        overdue, today, upcoming, later = [], [], [], 0
        for task in await self._repo.open_tasks(owner_id=owner_id):
            out = task_out(task, names.get(task.owner_id or 0))
            if task.due_at is None or task.due_at >= horizon:
                later += 1
            elif task.due_at < self._now:
                overdue.append(out)
            elif task.due_at < tomorrow:
                today.append(out)
            else:
                upcoming.append(out)
        return TaskBuckets(overdue=overdue, today=today, upcoming=upcoming, later=later)

    async def similar_open(self, owner: UserOut, title: str, *, contact_id: int | None,
                           company_id: int | None) -> TaskMatch | None:
        """Return the owner's open task for the same person (else company) whose title is much like `title`."""
        if contact_id is None and company_id is None:
            return None
        wanted = fold(title)
        for task in await self._repo.open_tasks(owner_id=owner.id):
            same = task.contact_id == contact_id if contact_id is not None else task.company_id == company_id
            if same and (fuzz.token_set_ratio(wanted, fold(task.title)) >= SIMILAR_REMINDER_SCORE
                         or wanted.split()[:2] == fold(task.title).split()[:2]):  # "gọi lại …" and "Gọi lại …"
                return TaskMatch(id=task.id, title=task.title, due_at=task.due_at)
        return None

    async def later(self, viewer: UserOut, *, owner_id: int | None = None) -> list[TaskOut]:
        """Return the open tasks after the next 7 days, and those without a due time, soonest first."""
        owner_id = owner_filter(viewer, owner_id)
        horizon = datetime.combine(self._now.date(), time.min, tzinfo=self._now.tzinfo) + timedelta(
            days=UPCOMING_DAYS + 1)
        names = await self._owner_names()
        later = [t for t in await self._repo.open_tasks(owner_id=owner_id) if t.due_at is None or t.due_at >= horizon]
        later.sort(key=lambda t: (t.due_at is None, t.due_at or horizon, t.id))
        return [task_out(task, names.get(task.owner_id or 0)) for task in later]

    async def get(self, task_id: int, viewer: UserOut) -> TaskOut:
        """Return one task."""
        task = await self._load(task_id, viewer)
        return task_out(task, (await self._owner_names()).get(task.owner_id or 0))

    async def done(self, task_id: int, viewer: UserOut) -> TaskOut:
        """Mark a task done; a second tap says so."""
        task = await self._load(task_id, viewer)
        if task.done_at is not None:
            raise AlreadyDone("task already done")
        task.done_at = self._now
        return task_out(task)

    async def snooze(self, task_id: int, viewer: UserOut, *, until: datetime) -> TaskOut:
        """Move a task's due time and remind again then."""
        task = await self._load(task_id, viewer)
        if task.done_at is not None:
            raise AlreadyDone("task already done")
        task.due_at = until
        task.reminded_at = None
        return task_out(task)

    async def open_of_deal_to_change(self, deal_id: int, viewer: UserOut) -> list[TaskOut]:
        """Return a deal's open tasks the viewer may mark done (their own; managers and admins: everyone's)."""
        names = await self._owner_names()
        return [task_out(task, names.get(task.owner_id or 0)) for task in await self._repo.open_tasks_of_deal(deal_id)
                if can_read_task(viewer, task.owner_id)]

    async def open_of_deal(self, deal_id: int, viewer: UserOut) -> list[TaskOut]:
        """Return a deal's open tasks, with their owners' names (managers and admins only)."""
        if not can_reassign_deal(viewer):
            raise Forbidden("only managers see who holds a deal's tasks")
        names = await self._owner_names()
        return [task_out(task, names.get(task.owner_id or 0)) for task in await self._repo.open_tasks_of_deal(deal_id)]

    async def open_ids_of(self, owner_id: int) -> list[int]:
        """Return the ids of one person's open tasks (a colleague leaving hands them over)."""
        return [task.id for task in await self._repo.open_tasks(owner_id=owner_id)]

    async def lock_open_ids_of(self, owner_id: int) -> list[int]:
        """Return the ids of one person's open tasks, locked until the commit (a hand-over that cannot race)."""
        return await self._repo.lock_open_task_ids_of(owner_id)

    async def hand_over(self, task_ids: Collection[int], to_owner_id: int, viewer: UserOut) -> list[int]:
        """Give open tasks to another owner (managers and admins, reassigning a deal); return those moved."""
        if not can_reassign_deal(viewer):
            raise Forbidden("only managers hand tasks over")
        moved = []
        for task_id in sorted(set(task_ids)):
            task = await self._repo.get_task(task_id)
            if task is not None and task.done_at is None and task.owner_id != to_owner_id:
                task.owner_id = to_owner_id
                task.reminded_at = None  # the new owner is reminded when it falls due
                moved.append(task.id)
        return moved

    async def claim_reminders(self, owner_ids: Collection[int] | None = None) -> list[tuple[TaskOut, UserOut | None]]:
        """Claim due tasks not yet reminded (of `owner_ids` only, when given), each by one scheduler only."""
        if owner_ids is not None and not owner_ids:
            return []
        result: list[tuple[TaskOut, UserOut | None]] = []
        for task in await self._repo.claim_reminders(now=self._now, owner_ids=owner_ids):
            owner = await self._users.get(task.owner_id) if task.owner_id else None
            result.append((task_out(task, owner.name if owner else None), user_out(owner) if owner else None))
        return result

    async def delete(self, task_id: int) -> None:
        """Delete a task (used by undo)."""
        task = await self._repo.get_task(task_id)
        if task is not None:
            await self._repo.delete(task)

    async def count(self) -> int:
        """Count tasks."""
        return await self._repo.count_tasks()
