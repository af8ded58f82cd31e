"""Ready pipeline templates: the general sales pipeline and the industry ones of domain.md.

Each template is a data file (`data/templates/<key>.json`): names in Vietnamese and English, and its stages
in order with their key, names, win probability (%) and the days after which a deal there counts as stalled.
Editing a file changes what a new pipeline made from it looks like; pipelines already made are the admins'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class StageTemplate:
    """A stage as shipped: key, names, win probability (%), days before it counts as stalled."""

    key: str
    name_vi: str
    name_en: str
    probability: int
    stalled_after_days: int | None
    is_won: bool = False
    is_lost: bool = False


@dataclass(frozen=True)
class PipelineTemplate:
    """A pipeline as shipped."""

    key: str
    name_vi: str
    name_en: str
    stages: tuple[StageTemplate, ...]

    def name(self, language: str) -> str:
        """Return the template's name in `language`."""
        return self.name_vi if language == "vi" else self.name_en


def _template(raw: dict[str, Any]) -> PipelineTemplate:
    stages = tuple(StageTemplate(key=s["key"], name_vi=s["name_vi"], name_en=s["name_en"],
                                 probability=int(s["probability"]), stalled_after_days=s.get("stalled_after_days"),
                                 is_won=bool(s.get("is_won")), is_lost=bool(s.get("is_lost")))
                   for s in raw["stages"])
    if [s.key for s in stages if s.is_won] != ["won"] or [s.key for s in stages if s.is_lost] != ["lost"]:
        raise ValueError(f"template {raw['key']}: needs exactly one won and one lost stage, keyed won and lost")
    return PipelineTemplate(key=raw["key"], name_vi=raw["name_vi"], name_en=raw["name_en"], stages=stages)


@cache
def load_templates() -> dict[str, PipelineTemplate]:
    """Return the shipped templates by key, in the order they are offered."""
    folder = resources.files("crm_core.pipelines").joinpath("data", "templates")
    raws = [json.loads(f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".json")]
    return {raw["key"]: _template(raw) for raw in sorted(raws, key=lambda r: (r.get("order", 99), r["key"]))}


TEMPLATES = load_templates()
GENERAL = TEMPLATES["general"]
