"""Prompt templates kept as files (`<name>.md`) with YAML front matter, rendered through LangChain.

The shipped templates are package data (`crm_core/prompting/prompts/`, see `crm_core.assets`); an admin's own
folder replaces them through `Settings.prompts_dir`. Everything a prompt produces records `Prompt.ref`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # LangChain is imported when a template is rendered, not to read the files (a fast `kb ask`)
    from langchain_core.prompts import PromptTemplate

log = logging.getLogger(__name__)

_FENCE = "---"


class PromptError(ValueError):
    """A prompt file is missing or malformed."""


@dataclass(frozen=True)
class Prompt:
    """One prompt template and its provenance."""

    name: str
    version: int
    description: str
    input_variables: tuple[str, ...]
    template: str
    sample: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """Return the name and version that identify what this template made, e.g. `faq_answer@1`."""
        return f"{self.name}@{self.version}"

    def as_langchain(self) -> PromptTemplate:
        """Return the template as a LangChain PromptTemplate."""
        from langchain_core.prompts import PromptTemplate

        return PromptTemplate(template=self.template, input_variables=list(self.input_variables))

    def render(self, **variables: object) -> str:
        """Fill the template; every declared input variable must be given."""
        missing = [v for v in self.input_variables if v not in variables]
        if missing:
            raise PromptError(f"prompt {self.name!r} needs {', '.join(missing)}")
        return self.as_langchain().format(**{k: variables[k] for k in self.input_variables})


def parse_prompt(text: str, *, name: str) -> Prompt:
    """Read a prompt file's text: front matter between '---' lines, then the template body."""
    stripped = text.lstrip("\ufeff")
    if not stripped.startswith(_FENCE):
        raise PromptError(f"prompt {name!r} has no front matter")
    _, _, rest = stripped.partition(_FENCE)
    head, sep, body = rest.partition(f"\n{_FENCE}")
    if not sep:
        raise PromptError(f"prompt {name!r} front matter is not closed")
    meta = yaml.safe_load(head) or {}
    if not isinstance(meta, dict):
        raise PromptError(f"prompt {name!r} front matter is not a mapping")
    variables = meta.get("input_variables") or []
    return Prompt(
        name=str(meta.get("id") or name),
        version=int(meta.get("version") or 1),
        description=str(meta.get("description") or ""),
        input_variables=tuple(str(v) for v in variables),
        template=body.lstrip("\n"),
        sample=dict(meta.get("sample") or {}),
    )


class PromptLibrary:
    """The prompt files of a folder, by name."""

    def __init__(self, prompts_dir: Path) -> None:
        self._dir = Path(prompts_dir)

    def get(self, name: str) -> Prompt:
        """Load the prompt `name` (the file `<name>.md`)."""
        path = self._dir / f"{name}.md"
        if not path.is_file():
            raise PromptError(f"no prompt named {name!r} in {self._dir}")
        return parse_prompt(path.read_text(encoding="utf-8"), name=name)

    def list(self) -> list[Prompt]:
        """Load every prompt of the folder, sorted by name."""
        out: list[Prompt] = []
        for path in sorted(self._dir.glob("*.md")):
            try:
                out.append(parse_prompt(path.read_text(encoding="utf-8"), name=path.stem))
            except (PromptError, yaml.YAMLError):
                log.warning("skipping malformed prompt file %s", path)
        return out


__all__ = ["Prompt", "PromptError", "PromptLibrary", "parse_prompt"]
