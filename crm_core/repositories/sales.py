"""Pipelines, stages, deals, interactions and tasks."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.models import Company, Deal, DealStageChange, Interaction, Pipeline, Stage, Task
from crm_core.repositories.claims import claimed, skips_locked_rows
from crm_core.repositories.references import is_referenced

_DEAL_LOADS = (selectinload(Deal.stage), selectinload(Deal.company), selectinload(Deal.contact),
               selectinload(Deal.owner))
_TASK_LOADS = (selectinload(Task.company), selectinload(Task.contact), selectinload(Task.deal))
_INTERACTION_LOADS = (selectinload(Interaction.company), selectinload(Interaction.contact),
                      selectinload(Interaction.owner))


class PipelineRepository:
    """Pipelines and stages."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def default(self) -> Pipeline | None:
        """Return the default pipeline with its stages."""
        query = select(Pipeline).options(selectinload(Pipeline.stages)).where(Pipeline.is_default.is_(True))
        return await self._session.scalar(query)

    async def get_by_key(self, key: str) -> Pipeline | None:
        """Return the pipeline with `key`."""
        query = select(Pipeline).options(selectinload(Pipeline.stages)).where(Pipeline.key == key)
        return await self._session.scalar(query)

    async def stage(self, stage_id: int) -> Stage | None:
        """Return the stage with `stage_id`."""
        return await self._session.get(Stage, stage_id)

    async def get(self, pipeline_id: int) -> Pipeline | None:
        """Return the pipeline with `pipeline_id`, with its stages."""
        query = select(Pipeline).options(selectinload(Pipeline.stages)).where(Pipeline.id == pipeline_id)
        return await self._session.scalar(query)

    async def list_all(self) -> Sequence[Pipeline]:
        """Return every pipeline with its stages, the default first."""
        query = select(Pipeline).options(selectinload(Pipeline.stages)).order_by(Pipeline.is_default.desc(),
                                                                                 Pipeline.id)
        return (await self._session.scalars(query)).all()

    async def keys(self) -> set[str]:
        """Return the keys pipelines already use."""
        return set((await self._session.scalars(select(Pipeline.key))).all())

    async def open_deals_by_stage(self, stage_ids: Collection[int]) -> dict[int, int]:
        """Count deals (open or closed) in each of these stages."""
        rows = await self._session.execute(select(Deal.stage_id, func.count(Deal.id))
                                           .where(Deal.stage_id.in_(list(stage_ids))).group_by(Deal.stage_id))
        return {stage_id: count for stage_id, count in rows.all()}  # noqa: C416 - rows, not pairs, to mypy

    async def deals_in(self, stage_id: int, *, lock: bool = False) -> Sequence[Deal]:
        """Return the deals in a stage (with `lock`, as committed now, their rows locked: PostgreSQL)."""
        query = select(Deal).where(Deal.stage_id == stage_id).order_by(Deal.id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self._session.scalars(query)).all()

    async def lock_stages(self, *, stage_ids: Collection[int] = (), pipeline_id: int | None = None) -> dict[int, Stage]:
        """Lock these stages' rows (or all of a pipeline's) until the transaction ends, read as committed now.

        Always in id order, so two writers locking overlapping stages never deadlock. A stage removal locks its
        pipeline's stages and a deal's move the stage it leaves and the one it enters: whichever comes second
        waits for the first's commit and then sees it. SQLite serialises writing transactions by itself.
        """
        query = select(Stage).order_by(Stage.id).with_for_update().execution_options(populate_existing=True)
        query = query.where(Stage.pipeline_id == pipeline_id) if pipeline_id is not None \
            else query.where(Stage.id.in_(sorted(set(stage_ids))))
        return {stage.id: stage for stage in await self._session.scalars(query)}

    def add_stage(self, stage: Stage) -> None:
        """Stage a new stage."""
        self._session.add(stage)

    def add_change(self, change: DealStageChange) -> None:
        """Stage a deal's stage change."""
        self._session.add(change)

    async def flush(self) -> None:
        """Send staged rows."""
        await self._session.flush()

    def add(self, pipeline: Pipeline) -> None:
        """Stage a new pipeline."""
        self._session.add(pipeline)


class DealRepository:
    """Deals and their stage history."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        """Return the session this repository reads through."""
        return self._session

    async def get(self, deal_id: int, *, lock: bool = False) -> Deal | None:
        """Return the deal with `deal_id`, names loaded (with `lock`, its row locked until the commit: PostgreSQL)."""
        query = select(Deal).options(*_DEAL_LOADS).where(Deal.id == deal_id)
        if lock:
            query = query.with_for_update(of=Deal)
        return await self._session.scalar(query.execution_options(populate_existing=True))

    def _open(self, owner_id: int | None) -> Select[Deal]:
        query = select(Deal).options(*_DEAL_LOADS).where(Deal.status == "open")
        if owner_id is not None:
            query = query.where(Deal.owner_id == owner_id)
        return query

    async def lock_open_ids_of(self, owner_id: int) -> list[int]:
        """Return the ids of one owner's open deals as committed now, their rows locked until the commit
        (PostgreSQL; SQLite serialises writing transactions): a second hand-over waits, then finds none left."""
        query = (select(Deal.id).where(Deal.owner_id == owner_id, Deal.status == "open").order_by(Deal.id)
                 .with_for_update())
        return list(await self._session.scalars(query))

    async def list_open(self, *, owner_id: int | None) -> Sequence[Deal]:
        """Return open deals, optionally of one owner, by stage then newest."""
        query = self._open(owner_id).join(Stage, Deal.stage_id == Stage.id).order_by(
            Stage.position, Deal.updated_at.desc(), Deal.id.desc()
        )
        return (await self._session.scalars(query)).all()

    async def list_of_company(self, company_id: int, *, open_only: bool = False) -> Sequence[Deal]:
        """Return a company's deals (only the open ones when asked), newest first."""
        query = select(Deal).options(*_DEAL_LOADS).where(Deal.company_id == company_id)
        if open_only:
            query = query.where(Deal.status == "open")
        return (await self._session.scalars(query.order_by(Deal.updated_at.desc(), Deal.id.desc()))).all()

    async def open_of_contact_without_company(self, contact_id: int) -> Sequence[Deal]:
        """Return the open deals of a person that no company holds (a customer's lead from the bot), newest first."""
        query = self._open(None).where(Deal.contact_id == contact_id, Deal.company_id.is_(None))
        return (await self._session.scalars(query.order_by(Deal.updated_at.desc(), Deal.id.desc()))).all()

    async def open_of_contact(self, contact_id: int) -> Sequence[Deal]:
        """Return a person's open deals, whichever company holds them (none: a customer's lead from the bot),
        newest first."""
        query = self._open(None).where(Deal.contact_id == contact_id)
        return (await self._session.scalars(query.order_by(Deal.updated_at.desc(), Deal.id.desc()))).all()

    async def latest_open_of_company(self, company_id: int) -> Deal | None:
        """Return the most recently touched open deal of a company."""
        query = self._open(None).where(Deal.company_id == company_id).order_by(Deal.updated_at.desc(), Deal.id.desc())
        return await self._session.scalar(query.limit(1))

    async def title_index(self, *, owner_id: int | None, open_only: bool) -> Sequence[tuple[int, str, str | None]]:
        """Return (id, folded title, folded company name) of deals for name search."""
        query = select(Deal.id, Deal.title_folded, Company.name_folded).outerjoin(
            Company, Deal.company_id == Company.id
        )
        if owner_id is not None:
            query = query.where(Deal.owner_id == owner_id)
        if open_only:
            query = query.where(Deal.status == "open")
        return [(r[0], r[1], r[2]) for r in await self._session.execute(query)]

    async def owners(self, deal_ids: Collection[int]) -> dict[int, int | None]:
        """Return the owner of each deal in `deal_ids` (deals that no longer exist are left out)."""
        if not deal_ids:
            return {}
        query = select(Deal.id, Deal.owner_id).where(Deal.id.in_(sorted(set(deal_ids))))
        return {row.id: row.owner_id for row in await self._session.execute(query)}

    async def stage_changes(self, deal_id: int) -> Sequence[DealStageChange]:
        """Return a deal's stage moves, oldest first."""
        query = select(DealStageChange).where(DealStageChange.deal_id == deal_id).order_by(DealStageChange.changed_at)
        return (await self._session.scalars(query)).all()

    async def last_stage_change_id(self, deal_id: int) -> int:
        """Return the id of a deal's latest stage move (0 when none)."""
        query = select(func.max(DealStageChange.id)).where(DealStageChange.deal_id == deal_id)
        return int(await self._session.scalar(query) or 0)

    async def is_used(self, deal_id: int) -> bool:
        """Tell whether a record other than its own stage moves (an interaction, a task, a ticket) points at a deal."""
        return await is_referenced(self._session, "deals", deal_id, ignoring=("deal_stage_changes",))

    async def count_stage_changes(self, deal_id: int) -> int:
        """Count a deal's stage moves, the one that opened it included."""
        query = select(func.count(DealStageChange.id)).where(DealStageChange.deal_id == deal_id)
        return int(await self._session.scalar(query) or 0)

    async def delete_stage_changes_after(self, deal_id: int, change_id: int) -> None:
        """Delete a deal's stage moves newer than the move `change_id`."""
        await self._session.execute(delete(DealStageChange).where(DealStageChange.deal_id == deal_id,
                                                                  DealStageChange.id > change_id))

    async def stage_change(self, change_id: int) -> DealStageChange | None:
        """Return one stage move."""
        query = select(DealStageChange).where(DealStageChange.id == change_id)
        return await self._session.scalar(query.execution_options(populate_existing=True))

    async def previous_stage_change(self, deal_id: int, change_id: int) -> DealStageChange | None:
        """Return the deal's stage move just before the move `change_id`."""
        query = select(DealStageChange).where(DealStageChange.deal_id == deal_id, DealStageChange.id < change_id)
        return await self._session.scalar(query.order_by(DealStageChange.id.desc()).limit(1))

    async def update_if(self, deal_id: int, *conditions: ColumnElement[bool], **values: object) -> bool:
        """Change the deal only while `conditions` hold, in one conditional UPDATE; tell whether it changed.

        A second tap, or a colleague who changed the deal meanwhile, finds the conditions false: on
        PostgreSQL the second UPDATE waits for the first transaction, on SQLite writers take turns.
        """
        return await claimed(self._session, update(Deal).where(Deal.id == deal_id, *conditions).values(**values))

    async def delete_stage_change(self, change_id: int) -> bool:
        """Delete one stage move; tell whether it was there."""
        result = await self._session.execute(delete(DealStageChange).where(DealStageChange.id == change_id))
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def count(self) -> int:
        """Count deals."""
        return int(await self._session.scalar(select(func.count(Deal.id))) or 0)

    def add(self, row: Deal | DealStageChange) -> None:
        """Stage a new deal or stage change."""
        self._session.add(row)

    async def delete(self, deal: Deal) -> None:
        """Delete a deal."""
        await self._session.delete(deal)


class ActivityRepository:
    """Interactions and tasks."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_task(self, task_id: int) -> Task | None:
        """Return the task with `task_id`, names loaded."""
        query = select(Task).options(*_TASK_LOADS).where(Task.id == task_id)
        return await self._session.scalar(query.execution_options(populate_existing=True))

    async def lock_open_task_ids_of(self, owner_id: int) -> list[int]:
        """Return the ids of one owner's open tasks as committed now, their rows locked until the commit."""
        query = (select(Task.id).where(Task.owner_id == owner_id, Task.done_at.is_(None)).order_by(Task.id)
                 .with_for_update())
        return list(await self._session.scalars(query))

    async def get_interaction(self, interaction_id: int) -> Interaction | None:
        """Return the interaction with `interaction_id`."""
        return await self._session.get(Interaction, interaction_id)

    async def open_tasks(self, *, owner_id: int | None, due_before: datetime | None = None) -> Sequence[Task]:
        """Return open tasks, soonest first; undated ones last."""
        query = select(Task).options(*_TASK_LOADS).where(Task.done_at.is_(None))
        if owner_id is not None:
            query = query.where(Task.owner_id == owner_id)
        if due_before is not None:
            query = query.where(Task.due_at < due_before)
        query = query.order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        return (await self._session.scalars(query)).all()

    async def claim_reminders(self, *, now: datetime, owner_ids: Collection[int] | None = None) -> Sequence[Task]:
        """Mark open tasks (of `owner_ids`, when given) due and not yet reminded as reminded at `now`; return them."""
        due = (Task.done_at.is_(None), Task.due_at.is_not(None), Task.due_at <= now, Task.reminded_at.is_(None),
               *(() if owner_ids is None else (Task.owner_id.in_(list(owner_ids)),)))
        if skips_locked_rows(self._session):
            ids = list(await self._session.scalars(select(Task.id).where(*due).with_for_update(skip_locked=True)))
            if ids:
                await self._session.execute(update(Task).where(Task.id.in_(ids)).values(reminded_at=now)
                                            .execution_options(synchronize_session=False))
        else:  # one conditional UPDATE, the claim transaction's first statement: it waits for the write lock
            claim = update(Task).where(*due).values(reminded_at=now).returning(Task.id)
            ids = list(await self._session.scalars(claim.execution_options(synchronize_session=False)))
        if not ids:
            return []
        query = select(Task).options(*_TASK_LOADS).where(Task.id.in_(ids)).order_by(Task.due_at, Task.id)
        return (await self._session.scalars(query.execution_options(populate_existing=True))).all()

    async def open_tasks_of_company(self, company_id: int) -> Sequence[Task]:
        """Return a company's open tasks."""
        query = select(Task).options(*_TASK_LOADS).where(Task.company_id == company_id, Task.done_at.is_(None))
        return (await self._session.scalars(query.order_by(Task.due_at))).all()

    async def open_tasks_of_contact(self, contact_id: int, *, deal_ids: Collection[int] = ()) -> Sequence[Task]:
        """Return a person's open tasks (hers, or of the deals `deal_ids`), soonest first; undated ones last."""
        about = Task.contact_id == contact_id
        if deal_ids:
            about = about | Task.deal_id.in_(list(deal_ids))
        query = select(Task).options(*_TASK_LOADS).where(about, Task.done_at.is_(None))
        return (await self._session.scalars(query.order_by(Task.due_at.is_(None), Task.due_at, Task.id))).all()

    async def open_tasks_of_deal(self, deal_id: int) -> Sequence[Task]:
        """Return a deal's open tasks, soonest first."""
        query = select(Task).options(*_TASK_LOADS).where(Task.deal_id == deal_id, Task.done_at.is_(None))
        return (await self._session.scalars(query.order_by(Task.due_at.is_(None), Task.due_at, Task.id))).all()

    async def interactions_of_company(self, company_id: int, *, limit: int) -> Sequence[Interaction]:
        """Return a company's latest interactions."""
        query = select(Interaction).options(*_INTERACTION_LOADS).where(Interaction.company_id == company_id)
        query = query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit)
        return (await self._session.scalars(query)).all()

    async def latest_interactions(self, *, company_id: int | None, limit: int) -> Sequence[Interaction]:
        """Return the latest interactions of one company, or of everyone."""
        query = select(Interaction).options(*_INTERACTION_LOADS)
        if company_id is not None:
            query = query.where(Interaction.company_id == company_id)
        query = query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit)
        return (await self._session.scalars(query)).all()

    async def interactions_of_contact(self, contact_id: int, *, limit: int) -> Sequence[Interaction]:
        """Return a contact's latest interactions."""
        query = select(Interaction).options(*_INTERACTION_LOADS).where(Interaction.contact_id == contact_id)
        query = query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit)
        return (await self._session.scalars(query)).all()

    async def interactions_of_deal(self, deal_id: int, *, limit: int) -> Sequence[Interaction]:
        """Return a deal's latest interactions."""
        query = select(Interaction).options(*_INTERACTION_LOADS).where(Interaction.deal_id == deal_id)
        query = query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit)
        return (await self._session.scalars(query)).all()

    async def count_interactions(self) -> int:
        """Count interactions."""
        return int(await self._session.scalar(select(func.count(Interaction.id))) or 0)

    async def count_tasks(self) -> int:
        """Count tasks."""
        return int(await self._session.scalar(select(func.count(Task.id))) or 0)

    def add(self, row: Interaction | Task) -> None:
        """Stage a new interaction or task."""
        self._session.add(row)

    async def delete(self, row: Interaction | Task) -> None:
        """Delete an interaction or task."""
        await self._session.delete(row)
