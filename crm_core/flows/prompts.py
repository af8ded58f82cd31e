"""Prompt templates from a chat: list, show, check a new text (with a short diff), save it, history, roll back.

Admins only (`policy.can_edit_prompts`). Saving and rolling back write a version row and an audit entry in
the message's unit of work; the running bot serves the new version once that unit commits. `chatcrm prompts`
works on the same `PromptVersions` without a chat user (whoever runs it on the server is trusted).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass

from crm_core.config import Settings
from crm_core.errors import Conflict, Forbidden
from crm_core.policy import can_edit_prompts
from crm_core.ports import Ports
from crm_core.prompting import Prompt, PromptLibrary
from crm_core.prompting.validation import Problem
from crm_core.prompting.versions import PromptInvalid, PromptSummary, PromptVersions, VersionInfo, same_text
from crm_core.schemas import UserOut
from crm_core.services import Services

DIFF_LINES = 12
DIFF_LINE_CHARS = 100
REMOVED_KEPT = 2  # removed lines shown even when the new text alone would fill the diff


@dataclass(frozen=True)
class PromptPreview:
    """A new text checked against the version in force: its problems, or the lines it changes (none and
    `identical` when it is the text in force: nothing to save)."""

    name: str
    base_version: int
    problems: list[Problem]
    diff: list[str]
    identical: bool = False


@dataclass(frozen=True)
class RollbackPreview:
    """What putting version `to` back in force changes, against the version in force (`current`)."""

    name: str
    to: int
    current: int
    diff: list[str]


def short_diff(before: str, after: str, *, limit: int = DIFF_LINES) -> list[str]:
    """Return the changed lines, at most `limit`: the new text's ("+ new") first, then the removed ("- old").

    A full rewrite changes more lines than are shown: the admin must see what they are about to save, so the
    added lines come first and the removed ones get what room is left (at least `REMOVED_KEPT` when the added
    lines would fill it all), then "…" when anything is left out.
    """
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    added = [_clipped(f"+ {line[1:]}".rstrip()) for line in changed if line[0] == "+"]
    removed = [_clipped(f"- {line[1:]}".rstrip()) for line in changed if line[0] == "-"]
    room_for_removed = min(len(removed), max(REMOVED_KEPT, limit - len(added)))
    shown = added[: limit - room_for_removed] + removed[:room_for_removed]
    return [*shown, "…"] if len(shown) < len(added) + len(removed) else shown


def _clipped(line: str, limit: int = DIFF_LINE_CHARS) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


class PromptFlow:
    """The prompt templates for one admin, over one unit of work."""

    def __init__(self, *, services: Services, ports: Ports, settings: Settings) -> None:
        self.library = ports.prompts or PromptLibrary(settings.prompts_dir)
        self._services = services
        self._versions = PromptVersions(services.session, library=self.library, now=services.now)

    async def catalogue(self, actor: UserOut) -> list[PromptSummary]:
        """Return every prompt and its version in force."""
        _require_admin(actor)
        return await self._versions.catalogue()

    async def show(self, actor: UserOut, name: str) -> Prompt:
        """Return the version of `name` in force."""
        _require_admin(actor)
        return await self._versions.in_force(name)

    async def preview(self, actor: UserOut, name: str, text: str) -> PromptPreview:
        """Check `text` as the next version of `name`; say what is wrong, or what changes."""
        _require_admin(actor)
        current = await self._versions.in_force(name)
        if same_text(current.template, text):
            return PromptPreview(name=name, base_version=current.version, problems=[], diff=[], identical=True)
        problems = self._versions.check(current, text)
        diff = [] if problems else short_diff(current.template, text)
        return PromptPreview(name=name, base_version=current.version, problems=problems, diff=diff)

    async def save(self, actor: UserOut, name: str, text: str, *, base_version: int) -> Prompt:
        """Save `text` as the next version of `name` (checked again) and put it in force; audited.

        Refused (Conflict) when another version was put in force after the preview the admin confirmed.
        """
        _require_admin(actor)
        current = await self._versions.in_force(name)
        if current.version != base_version:
            raise Conflict("the prompt changed after the preview", reason="changed", name=name)
        if same_text(current.template, text):
            raise Conflict("the text is the one in force", reason="prompt_identical", name=name,
                           version=current.version)
        saved = await self._versions.save(name, text, author=actor.name, author_id=actor.id)
        diff = short_diff(current.template, saved.template)
        await self._services.audit.record(actor=actor.name, actor_id=actor.id, action="prompt.save", entity="prompt",
                                          entity_id=name, details={"version": saved.version,
                                                                   "previous": current.version, "diff": diff},
                                          before=_state(current), after=_state(saved))
        self._versions.in_force_after_commit(saved)
        return saved

    async def history(self, actor: UserOut, name: str) -> list[VersionInfo]:
        """Return every version of `name`, oldest first."""
        _require_admin(actor)
        return await self._versions.history(name)

    async def rollback_preview(self, actor: UserOut, name: str, to: int) -> RollbackPreview:
        """Say what putting version `to` of `name` back in force would change (NotFound: no such version)."""
        _require_admin(actor)
        current = await self._versions.in_force(name)
        target = await self._versions.version(name, to)
        return RollbackPreview(name=name, to=to, current=current.version,
                               diff=short_diff(current.template, target.template))

    async def rollback(self, actor: UserOut, name: str, to: int, *, base_version: int | None = None) -> Prompt:
        """Put version `to` of `name` back in force; audited. With `base_version` (the version in force when the
        admin saw the rollback's diff), refused (Conflict) when another version was put in force since."""
        _require_admin(actor)
        before = await self._versions.in_force(name)
        if base_version is not None and before.version != base_version:
            raise Conflict("the prompt changed after the preview", reason="changed", name=name)
        prompt = await self._versions.rollback(name, to, author=actor.name)
        await self._services.audit.record(actor=actor.name, actor_id=actor.id, action="prompt.rollback",
                                          entity="prompt", entity_id=name,
                                          details={"version": to, "previous": before.version,
                                                   "diff": short_diff(before.template, prompt.template)},
                                          before=_state(before), after=_state(prompt))
        self._versions.in_force_after_commit(prompt)
        return prompt

    async def refresh(self) -> None:
        """Serve the versions in force in the database (a change made by `chatcrm prompts` elsewhere)."""
        self.library.active.replace_all(await self._versions.load_active())


def _state(prompt: Prompt) -> dict[str, object]:
    """A prompt's version in force as the audit trail records it (each version's text is in prompt_versions)."""
    return {"version": prompt.version, "sha256": hashlib.sha256(prompt.template.encode("utf-8")).hexdigest(),
            "chars": len(prompt.template)}


def _require_admin(actor: UserOut) -> None:
    if not can_edit_prompts(actor):
        raise Forbidden("only admins change prompts")


__all__ = ["PromptFlow", "PromptInvalid", "PromptPreview", "RollbackPreview", "short_diff"]
