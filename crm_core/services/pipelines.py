"""Pipelines: the default one exists from the first start."""

from __future__ import annotations

from crm_core.errors import NotFound
from crm_core.models import Pipeline, Stage
from crm_core.pipelines.templates import GENERAL, PipelineTemplate
from crm_core.repositories.sales import PipelineRepository
from crm_core.schemas import StageOut
from crm_core.services.convert import stage_out
from crm_core.textnorm import fold


class PipelineService:
    """Read and install pipelines."""

    def __init__(self, repo: PipelineRepository) -> None:
        self._repo = repo

    async def ensure_default(self) -> None:
        """Install the general pipeline as default if there is none."""
        if await self._repo.default() is None:
            self.install(GENERAL, default=True)

    def install(self, template: PipelineTemplate, *, default: bool = False) -> None:
        """Create a pipeline from a template."""
        pipeline = Pipeline(key=template.key, name_vi=template.name_vi, name_en=template.name_en, is_default=default)
        pipeline.stages = [
            Stage(key=s.key, name_vi=s.name_vi, name_en=s.name_en, position=i, probability=s.probability,
                  stalled_after_days=s.stalled_after_days, is_won=s.is_won, is_lost=s.is_lost)
            for i, s in enumerate(template.stages)
        ]
        self._repo.add(pipeline)

    async def default_stages(self) -> list[StageOut]:
        """Return the default pipeline's stages in order."""
        pipeline = await self._repo.default()
        if pipeline is None:
            raise NotFound("no default pipeline; run `chatcrm db upgrade`")
        return [stage_out(s) for s in pipeline.stages]

    async def default_stage(self, key_or_name: str) -> StageOut:
        """Return a default-pipeline stage by key or by name in either language."""
        wanted = fold(key_or_name)
        for stage in await self.default_stages():
            if wanted in (stage.key, fold(stage.name_vi), fold(stage.name_en)):
                return stage
        raise NotFound(f"no stage {key_or_name!r}")
