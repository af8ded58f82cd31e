"""Pipelines from the phone: list, add from an industry template, shape stages (admins only, audited).

Each change is recorded as an admin action (`pipeline.*`, with the stage's fields before and after) on top of
the record changes the audit trail captures by itself.
"""

from __future__ import annotations

from typing import Any

from crm_core.errors import Forbidden
from crm_core.pipelines.templates import PipelineTemplate
from crm_core.policy import can_shape_pipelines
from crm_core.schemas import PipelineOut, StageOut, UserOut
from crm_core.services import Services


def _fields(stage: StageOut) -> dict[str, Any]:
    return {"name_vi": stage.name_vi, "name_en": stage.name_en, "probability": stage.probability,
            "stalled_after_days": stage.stalled_after_days, "position": stage.position}


class PipelineFlow:
    """Read and shape pipelines."""

    def __init__(self, *, services: Services) -> None:
        self.services = services
        self._pipelines = services.pipelines

    @staticmethod
    def _admin(actor: UserOut | None) -> UserOut:
        if actor is None or not can_shape_pipelines(actor):
            raise Forbidden("only an admin changes pipelines")
        return actor

    async def _record(self, admin: UserOut, action: str, entity: str, entity_id: int, *,
                      before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                      details: dict[str, Any] | None = None) -> None:
        await self.services.audit.record(actor=admin.name, actor_id=admin.id, action=f"pipeline.{action}",
                                         entity=entity, entity_id=entity_id, before=before, after=after,
                                         details=details)

    async def _stage(self, stage_id: int) -> StageOut:
        for pipeline in await self._pipelines.all():
            for stage in pipeline.stages:
                if stage.id == stage_id:
                    return stage
        from crm_core.errors import NotFound

        raise NotFound("no such stage")

    async def all(self, actor: UserOut | None) -> list[PipelineOut]:
        """Return every pipeline with its stages and the deals in each."""
        self._admin(actor)
        return await self._pipelines.all()

    async def get(self, actor: UserOut | None, pipeline_id: int) -> PipelineOut:
        """Return one pipeline."""
        self._admin(actor)
        return await self._pipelines.get(pipeline_id)

    def templates(self, actor: UserOut | None) -> list[PipelineTemplate]:
        """Return the industry templates one can start a pipeline from."""
        self._admin(actor)
        return self._pipelines.templates()

    async def add_from_template(self, actor: UserOut | None, template_key: str) -> PipelineOut:
        """Create a pipeline from a template."""
        admin = self._admin(actor)
        pipeline = await self._pipelines.add_from_template(template_key)
        await self._record(admin, "add", "pipeline", pipeline.id, details={"template": template_key},
                           after={"key": pipeline.key, "stages": [s.key for s in pipeline.stages]})
        return pipeline

    async def make_default(self, actor: UserOut | None, pipeline_id: int) -> PipelineOut:
        """Make new deals start in this pipeline."""
        admin = self._admin(actor)
        pipeline = await self._pipelines.make_default(pipeline_id)
        await self._record(admin, "make_default", "pipeline", pipeline_id, after={"key": pipeline.key})
        return pipeline

    async def rename_stage(self, actor: UserOut | None, stage_id: int, name: str, *, language: str) -> StageOut:
        """Rename a stage in `language`."""
        admin = self._admin(actor)
        before = await self._stage(stage_id)
        after = await self._pipelines.rename_stage(stage_id, name, language=language)
        await self._record(admin, "rename_stage", "stage", stage_id, before=_fields(before), after=_fields(after))
        return after

    async def set_probability(self, actor: UserOut | None, stage_id: int, probability: int) -> StageOut:
        """Set a stage's win probability."""
        admin = self._admin(actor)
        before = await self._stage(stage_id)
        after = await self._pipelines.set_probability(stage_id, probability)
        await self._record(admin, "set_probability", "stage", stage_id, before=_fields(before),
                           after=_fields(after))
        return after

    async def set_stall_days(self, actor: UserOut | None, stage_id: int, days: int | None) -> StageOut:
        """Set after how many days a deal in a stage counts as stalled."""
        admin = self._admin(actor)
        before = await self._stage(stage_id)
        after = await self._pipelines.set_stall_days(stage_id, days)
        await self._record(admin, "set_stall_days", "stage", stage_id, before=_fields(before),
                           after=_fields(after))
        return after

    async def add_stage(self, actor: UserOut | None, pipeline_id: int, name: str, *, language: str) -> StageOut:
        """Add a stage before won and lost."""
        admin = self._admin(actor)
        stage = await self._pipelines.add_stage(pipeline_id, name, language=language)
        await self._record(admin, "add_stage", "stage", stage.id, after=_fields(stage) | {"key": stage.key})
        return stage

    async def move_stage(self, actor: UserOut | None, stage_id: int, step: int) -> list[StageOut]:
        """Move a stage up or down."""
        admin = self._admin(actor)
        before = await self._stage(stage_id)
        order = await self._pipelines.move_stage(stage_id, step)
        after = next(s for s in order if s.id == stage_id)
        await self._record(admin, "move_stage", "stage", stage_id, before={"position": before.position},
                           after={"position": after.position})
        return order

    async def remove_stage(self, actor: UserOut | None, stage_id: int, *, move_to: int | None) -> int:
        """Remove a stage, its deals first moved to `move_to` (Conflict stage_has_deals without one)."""
        admin = self._admin(actor)
        before = await self._stage(stage_id)
        moved = await self._pipelines.remove_stage(stage_id, move_to=move_to, actor_id=admin.id)
        await self._record(admin, "remove_stage", "stage", stage_id, before=_fields(before) | {"key": before.key},
                           after={"archived": True, "deals_moved_to": move_to, "deals": moved})
        return moved
