"""Prompt templates kept as files (`<name>.md`) with YAML front matter, rendered through LangChain.

The shipped templates are package data (`crm_core/prompting/prompts/`, see `crm_core.assets`); an admin's own
folder replaces them through `Settings.prompts_dir`. Everything a prompt produces records `Prompt.ref`.

Front matter: `name`, `version` (1: the file is a prompt's first version), `description`, `input_variables`
and a `sample` input holding every variable. Admins save later versions in the database
(`crm_core.prompting.versions`); the library serves the version in force from `ActivePrompts`, which the bot
refreshes from the database, and the file otherwise.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
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
    # What it is for, in Vietnamese (front matter `description_vi`), for admins reading in Vietnamese.
    description_vi: str = ""

    def described_in(self, language: str) -> str:
        """Return what the prompt is for in `language` (Vietnamese when there is one, else the English)."""
        return self.description_vi if language == "vi" and self.description_vi else self.description

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
        name=str(meta.get("name") or meta.get("id") or name),
        version=int(meta.get("version") or 1),
        description=str(meta.get("description") or ""),
        input_variables=tuple(str(v) for v in variables),
        template=body.lstrip("\n"),
        sample=dict(meta.get("sample") or {}),
        description_vi=str(meta.get("description_vi") or ""),
    )


class ActivePrompts:
    """The versions in force that differ from the files, by name: (version, template). Safe across threads.

    Filled from the database (`crm_core.prompting.versions.load_active`) when the bot starts, after an admin
    saves or rolls back, and on each scheduler tick (a change made with `chatcrm prompts` in another process).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, tuple[int, str]] = {}

    def replace_all(self, versions: dict[str, tuple[int, str]]) -> None:
        """Put these versions in force, and the files for every other name."""
        with self._lock:
            self._by_name = dict(versions)

    def put(self, name: str, version: int, template: str) -> None:
        """Put one version of `name` in force."""
        with self._lock:
            self._by_name = {**self._by_name, name: (version, template)}

    def get(self, name: str) -> tuple[int, str] | None:
        """Return the version in force of `name` and its template, or None (the file's)."""
        with self._lock:
            return self._by_name.get(name)


class PromptLibrary:
    """The prompt files of a folder, by name, with the versions admins put in force over them."""

    def __init__(self, prompts_dir: Path, *, active: ActivePrompts | None = None) -> None:
        self._dir = Path(prompts_dir)
        self.active = active or ActivePrompts()

    def get(self, name: str) -> Prompt:
        """Return the prompt `name` in force: an admin's saved version, else the file `<name>.md`."""
        shipped = self.shipped(name)
        in_force = self.active.get(name)
        if in_force is None:
            return shipped
        version, template = in_force
        return replace(shipped, version=version, template=template)

    def names(self) -> set[str]:
        """Return the prompts' names: the stems of the folder's `.md` files."""
        return {path.stem for path in self._dir.glob("*.md") if path.is_file()}

    def shipped(self, name: str) -> Prompt:
        """Load the file `<name>.md` (version 1 of the prompt); PromptError for a name that is not one of `names()`
        (a name is never made into a path: `../x`, `/etc/passwd` or 300 characters are simply unknown)."""
        if name not in self.names():
            raise PromptError(f"no prompt named {name!r} in {self._dir}")
        return parse_prompt(self.path(name).read_text(encoding="utf-8"), name=name)

    def path(self, name: str) -> Path:
        """Return the file of the prompt `name`."""
        return self._dir / f"{name}.md"

    def list(self) -> list[Prompt]:
        """Load every prompt of the folder in force, sorted by name."""
        out: list[Prompt] = []
        for path in sorted(self._dir.glob("*.md")):
            try:
                out.append(self.get(path.stem))
            except (PromptError, yaml.YAMLError):
                log.warning("skipping malformed prompt file %s", path)
        return out


__all__ = ["ActivePrompts", "Prompt", "PromptError", "PromptLibrary", "parse_prompt"]
