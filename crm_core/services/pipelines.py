"""Pipelines: the default one exists from the first start; admins add industry ones and shape their stages.

Deals point at a stage by id, so renaming a stage, changing its probability or moving it never touches a
deal. A stage that holds deals is removed only once its deals are moved to another stage of the same
pipeline (each move is a stage change in the deal's history); the removed stage is archived, not deleted,
so that history still names it. Won and lost stay the last two stages of every pipeline.
"""

from __future__ import annotations

import re
from datetime import datetime

from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.models import Deal, DealStageChange, Pipeline, Stage
from crm_core.pipelines.templates import GENERAL, TEMPLATES, PipelineTemplate
from crm_core.repositories.sales import PipelineRepository
from crm_core.schemas import PipelineOut, StageOut
from crm_core.services.convert import stage_out
from crm_core.textnorm import clean_name, fold

MAX_STAGE_NAME = 120
MAX_STALL_DAYS = 365
MAX_OPEN_STAGES = 20


def _live(pipeline: Pipeline) -> list[Stage]:
    """Return a pipeline's stages that are not removed, in order."""
    return [s for s in pipeline.stages if not s.archived]


def _closing(stage: Stage) -> bool:
    return stage.is_won or stage.is_lost


class PipelineService:
    """Read, install and shape pipelines."""

    def __init__(self, repo: PipelineRepository, now: datetime | None = None) -> None:
        self._repo = repo
        self._now = now

    async def ensure_default(self) -> None:
        """Install the general pipeline as default if there is none."""
        if await self._repo.default() is None:
            self.install(GENERAL, default=True)

    def install(self, template: PipelineTemplate, *, default: bool = False, key: str | None = None) -> Pipeline:
        """Create a pipeline from a template (staged)."""
        pipeline = Pipeline(key=key or template.key, name_vi=template.name_vi, name_en=template.name_en,
                            is_default=default)
        pipeline.stages = [
            Stage(key=s.key, name_vi=s.name_vi, name_en=s.name_en, position=i, probability=s.probability,
                  stalled_after_days=s.stalled_after_days, is_won=s.is_won, is_lost=s.is_lost, archived=False)
            for i, s in enumerate(template.stages)
        ]
        self._repo.add(pipeline)
        return pipeline

    async def default_stages(self) -> list[StageOut]:
        """Return the default pipeline's stages in order."""
        pipeline = await self._repo.default()
        if pipeline is None:
            raise NotFound("no default pipeline; run `chatcrm db upgrade`")
        return [stage_out(s) for s in _live(pipeline)]

    async def stages_of(self, pipeline_id: int | None) -> list[StageOut]:
        """Return a pipeline's stages in order (the default pipeline's for None)."""
        if pipeline_id is None:
            return await self.default_stages()
        return [stage_out(s) for s in _live(await self._pipeline(pipeline_id))]

    async def default_stage(self, key_or_name: str, *, pipeline_id: int | None = None) -> StageOut:
        """Return a stage by key or by name in either language, of the default pipeline or of `pipeline_id`."""
        wanted = fold(key_or_name)
        for stage in await self.stages_of(pipeline_id):
            if wanted in (stage.key, fold(stage.name_vi), fold(stage.name_en)):
                return stage
        raise NotFound(f"no stage {key_or_name!r}")

    # --- admins -----------------------------------------------------------------------------------------------

    @staticmethod
    def templates() -> list[PipelineTemplate]:
        """Return the shipped templates, in the order they are offered."""
        return list(TEMPLATES.values())

    async def all(self) -> list[PipelineOut]:
        """Return every pipeline (the default first) with its stages and the deals in each."""
        pipelines = await self._repo.list_all()
        counts = await self._repo.open_deals_by_stage([s.id for p in pipelines for s in p.stages])
        return [self._out(p, counts) for p in pipelines]

    async def get(self, pipeline_id: int) -> PipelineOut:
        """Return one pipeline with its stages and the deals in each."""
        pipeline = await self._pipeline(pipeline_id)
        return self._out(pipeline, await self._repo.open_deals_by_stage([s.id for s in pipeline.stages]))

    async def add_from_template(self, template_key: str) -> PipelineOut:
        """Create a pipeline from a shipped template; a second one of the same template gets a numbered key."""
        template = TEMPLATES.get(template_key)
        if template is None:
            raise NotFound(f"no template {template_key!r}; templates: {', '.join(TEMPLATES)}",
                           reason="template", template=template_key)
        taken = await self._repo.keys()
        key = template.key
        number = 2
        while key in taken:
            key, number = f"{template.key}_{number}", number + 1
        pipeline = self.install(template, key=key)
        await self._repo.flush()
        return await self.get(pipeline.id)

    async def make_default(self, pipeline_id: int) -> PipelineOut:
        """Make new deals start in this pipeline."""
        target = await self._pipeline(pipeline_id)
        for pipeline in await self._repo.list_all():
            pipeline.is_default = pipeline.id == target.id
        await self._repo.flush()
        return await self.get(pipeline_id)

    async def rename_stage(self, stage_id: int, name: str, *, language: str) -> StageOut:
        """Rename a stage in one language (deals keep pointing at it by id)."""
        stage = await self._stage(stage_id)
        cleaned = self._stage_name(name)
        if language == "vi":
            stage.name_vi = cleaned
        else:
            stage.name_en = cleaned
        await self._repo.flush()
        return stage_out(stage)

    async def set_probability(self, stage_id: int, probability: int) -> StageOut:
        """Set a stage's win probability, 0-100 (won and lost keep 100 and 0)."""
        stage = await self._stage(stage_id)
        if _closing(stage):
            raise InvalidInput("won and lost have fixed probabilities", reason="closing_stage")
        if not 0 <= probability <= 100:
            raise InvalidInput("a probability is 0-100", reason="probability")
        stage.probability = probability
        await self._repo.flush()
        return stage_out(stage)

    async def set_stall_days(self, stage_id: int, days: int | None) -> StageOut:
        """Set after how many days a deal in this stage counts as stalled (None or 0: never)."""
        stage = await self._stage(stage_id)
        if _closing(stage):
            raise InvalidInput("won and lost deals do not stall", reason="closing_stage")
        if days is not None and not 0 <= days <= MAX_STALL_DAYS:
            raise InvalidInput(f"stalled after 0-{MAX_STALL_DAYS} days", reason="stall_days", most=MAX_STALL_DAYS)
        stage.stalled_after_days = days or None
        await self._repo.flush()
        return stage_out(stage)

    async def add_stage(self, pipeline_id: int, name: str, *, language: str, probability: int | None = None,
                        stalled_after_days: int | None = 7) -> StageOut:
        """Add a stage before won and lost; its key is made from its name (unique within the pipeline)."""
        pipeline = await self._pipeline(pipeline_id)
        cleaned = self._stage_name(name)
        live = _live(pipeline)
        open_stages = [s for s in live if not _closing(s)]
        if len(open_stages) >= MAX_OPEN_STAGES:
            raise InvalidInput("too many stages", reason="too_many_stages", most=MAX_OPEN_STAGES)
        taken = {s.key for s in pipeline.stages}
        base = re.sub(r"[^a-z0-9]+", "_", fold(cleaned)).strip("_")[:32] or "stage"
        key, number = base, 2
        while key in taken:
            key, number = f"{base[:30]}_{number}", number + 1
        last = open_stages[-1] if open_stages else None
        stage = Stage(pipeline_id=pipeline.id, key=key, name_vi=cleaned, name_en=cleaned,
                      position=(last.position + 1) if last else 0,
                      probability=probability if probability is not None else (last.probability if last else 10),
                      stalled_after_days=stalled_after_days, is_won=False, is_lost=False, archived=False)
        for closing in (s for s in live if _closing(s)):
            closing.position += 1
        self._repo.add_stage(stage)
        pipeline.stages.append(stage)
        await self._repo.flush()
        self._renumber(pipeline)
        await self._repo.flush()
        return stage_out(stage)

    async def move_stage(self, stage_id: int, step: int) -> list[StageOut]:
        """Move an open stage one place up (-1) or down (+1) among the open stages; return the new order."""
        stage = await self._stage(stage_id)
        if _closing(stage) or step not in (-1, 1):
            raise InvalidInput("won and lost stay last", reason="closing_stage")
        pipeline = await self._pipeline(stage.pipeline_id)
        open_stages = [s for s in _live(pipeline) if not _closing(s)]
        index = open_stages.index(stage)
        other = index + step
        if 0 <= other < len(open_stages):
            open_stages[index], open_stages[other] = open_stages[other], open_stages[index]
            ordered = open_stages + [s for s in _live(pipeline) if _closing(s)]
            for position, each in enumerate(ordered):
                each.position = position
            await self._repo.flush()
        return [stage_out(s) for s in sorted(_live(pipeline), key=lambda s: s.position)]

    async def remove_stage(self, stage_id: int, *, move_to: int | None, actor_id: int | None) -> int:
        """Remove an open stage; its deals first go to `move_to` (a stage of the same pipeline).

        Without `move_to`, a stage that holds deals is refused (`Conflict`, reason stage_has_deals, with
        `deals`): the caller asks where they go. Returns how many deals moved.
        """
        stage = await self._stage(stage_id)
        # The pipeline's stages locked first: a deal moving into this stage now waits, then finds it removed; one
        # that moved in before is among the deals read below (as committed by then).
        await self._repo.lock_stages(pipeline_id=stage.pipeline_id)
        stage = await self._stage(stage_id)
        if _closing(stage):
            raise InvalidInput("won and lost cannot be removed", reason="closing_stage")
        pipeline = await self._pipeline(stage.pipeline_id)
        if len([s for s in _live(pipeline) if not _closing(s)]) <= 1:
            raise InvalidInput("a pipeline keeps at least one open stage", reason="last_stage")
        deals = list(await self._repo.deals_in(stage.id, lock=True))
        if deals and move_to is None:
            raise Conflict(f"{len(deals)} deals are in this stage", reason="stage_has_deals", deals=len(deals))
        if deals:
            target = await self._stage(move_to or 0)
            if target.pipeline_id != stage.pipeline_id or target.id == stage.id or _closing(target):
                raise InvalidInput("move the deals to another open stage of the same pipeline", reason="move_target")
            self._move_deals(deals, stage, target, actor_id)
        stage.archived = True
        await self._repo.flush()
        self._renumber(pipeline)
        await self._repo.flush()
        return len(deals)

    def _move_deals(self, deals: list[Deal], stage: Stage, target: Stage, actor_id: int | None) -> None:
        """Move each deal of a removed stage, as a stage change of its history."""
        assert self._now is not None, "a pipeline service that changes deals is built with `now`"
        for deal in deals:
            self._repo.add_change(DealStageChange(deal_id=deal.id, from_stage_id=stage.id, to_stage_id=target.id,
                                                  changed_at=self._now, user_id=actor_id, reason="stage_removed"))
            deal.stage_id = target.id
            deal.stage_changed_at = deal.updated_at = self._now

    async def lock_for_move(self, from_stage_id: int, to_stage_id: int) -> None:
        """Lock the stage a deal leaves and the one it enters; refuse (reason stage_removed) when the one it enters
        has just been removed (a removal under way is waited for)."""
        locked = await self._repo.lock_stages(stage_ids=(from_stage_id, to_stage_id))
        target = locked.get(to_stage_id)
        if target is None or target.archived:
            raise InvalidInput("the stage was removed while the deal moved", reason="stage_removed")

    @staticmethod
    def _renumber(pipeline: Pipeline) -> None:
        live = sorted(_live(pipeline), key=lambda s: (_closing(s), s.position))
        for position, stage in enumerate(live):
            stage.position = position

    @staticmethod
    def _stage_name(name: str) -> str:
        cleaned = clean_name(name)
        if not cleaned or len(cleaned) > MAX_STAGE_NAME:
            raise InvalidInput(f"a stage name is 1-{MAX_STAGE_NAME} characters", reason="stage_name",
                               most=MAX_STAGE_NAME)
        return cleaned

    async def _pipeline(self, pipeline_id: int) -> Pipeline:
        pipeline = await self._repo.get(pipeline_id)
        if pipeline is None:
            raise NotFound("no such pipeline")
        return pipeline

    async def _stage(self, stage_id: int) -> Stage:
        stage = await self._repo.stage(stage_id)
        if stage is None or stage.archived:
            raise NotFound("no such stage")
        return stage

    @staticmethod
    def _out(pipeline: Pipeline, counts: dict[int, int]) -> PipelineOut:
        live = sorted(_live(pipeline), key=lambda s: s.position)
        return PipelineOut(id=pipeline.id, key=pipeline.key, name_vi=pipeline.name_vi, name_en=pipeline.name_en,
                           is_default=pipeline.is_default, stages=[stage_out(s) for s in live],
                           open_deals={s.id: counts.get(s.id, 0) for s in live})
