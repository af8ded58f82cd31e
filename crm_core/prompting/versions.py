"""Prompt versions in the database: who saved which text when, and which version is in force.

    version 1      the shipped file (`crm_core/prompting/prompts/<name>.md`), copied into the table the first
                   time a later version is saved, so a rollback to 1 gives back exactly what was shipped then
    version 2, 3…  texts admins saved (chat or `chatcrm prompts set`), each checked first (`validation`)
    prompt_heads   the version in force; no row: version 1. A rollback moves it; nothing is deleted.

The service only writes in the caller's unit of work; putting a version in force in the running bot
(`PromptLibrary.active`) happens after that unit commits (`in_force_after_commit`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from crm_core.errors import InvalidInput, NotFound
from crm_core.models import PromptHead, PromptVersion
from crm_core.prompting import Prompt, PromptError, PromptLibrary
from crm_core.prompting.validation import Problem, check_template

SHIPPED_VERSION = 1
SHIPPED_AUTHOR = "shipped"


class PromptInvalid(InvalidInput):
    """A new text for a prompt was refused; `problems` says why (syntax, missing or unknown variables)."""

    code = "prompt_invalid"

    def __init__(self, name: str, problems: list[Problem]) -> None:
        super().__init__(f"prompt {name!r}: " + "; ".join(describe(p) for p in problems), prompt=name)
        self.problems = problems


def same_text(in_force: str, text: str) -> bool:
    """Tell whether `text` is the text in force, but for line endings and blank space at its very end (a paste
    or `chatcrm prompts show > f` loses or adds a final newline): saving it would make a version with no change."""
    def plain(value: str) -> str:
        return value.replace("\r\n", "\n").rstrip()

    return plain(in_force) == plain(text)


def describe(problem: Problem) -> str:
    """Say a problem in one plain English line (the CLI's wording; the chat has its own texts)."""
    if problem.kind == "empty":
        return "the text is empty"
    if problem.kind == "missing":
        return "missing variable(s): " + ", ".join("{" + v + "}" for v in problem.variables)
    if problem.kind == "unknown":
        return "unknown variable(s): " + ", ".join("{" + v + "}" for v in problem.variables)
    if problem.kind == "syntax":
        return f"broken template: {problem.detail} (write literal braces as {{{{ and }}}})"
    if problem.kind in ("positional", "format_spec", "conversion", "attribute"):
        return (f"{{{problem.field}}}: only plain {{variable}} fields are allowed "
                f"(no {problem.kind.replace('_', ' ')}; write literal braces as {{{{ and }}}})")
    if problem.kind == "too_long":
        return f"the text is {problem.detail}"
    return f"the sample input does not render: {problem.detail}"


@dataclass(frozen=True)
class PromptSummary:
    """A prompt as listed: its name, the version in force, what it is for and what it is filled with."""

    name: str
    version: int
    description: str
    input_variables: tuple[str, ...]
    description_vi: str = ""

    def described_in(self, language: str) -> str:
        """Return what the prompt is for in `language` (Vietnamese when there is one, else the English)."""
        return self.description_vi if language == "vi" and self.description_vi else self.description

    def to_contract(self) -> dict[str, object]:
        """Return the `prompts list --json` item."""
        return {"name": self.name, "version": self.version, "description": self.description}


@dataclass(frozen=True)
class VersionInfo:
    """One version of a prompt: who saved it and when; whether it is the one in force."""

    version: int
    created_at: datetime
    author: str
    in_force: bool

    def to_contract(self) -> dict[str, object]:
        """Return the `prompts history --json` item."""
        return {"version": self.version, "created_at": self.created_at.isoformat(), "author": self.author}


class PromptVersions:
    """Read, save and roll back prompt versions within one unit of work."""

    def __init__(self, session: AsyncSession, *, library: PromptLibrary, now: datetime) -> None:
        self._session = session
        self._library = library
        self._now = now

    async def catalogue(self) -> list[PromptSummary]:
        """Return every prompt with the version in force, by name."""
        heads = await self._heads()
        out: list[PromptSummary] = []
        for shipped in self._library_files():
            out.append(PromptSummary(name=shipped.name, version=heads.get(shipped.name, SHIPPED_VERSION),
                                     description=shipped.description, input_variables=shipped.input_variables,
                                     description_vi=shipped.description_vi))
        return out

    async def in_force(self, name: str) -> Prompt:
        """Return the version of `name` in force."""
        heads = await self._heads()
        return await self.version(name, heads.get(name, SHIPPED_VERSION))

    async def version(self, name: str, number: int) -> Prompt:
        """Return version `number` of `name`; NotFound when there is none."""
        shipped = self._shipped(name)
        row = await self._row(name, number)
        if row is not None:
            return replace(shipped, version=number, template=row.template)
        if number == SHIPPED_VERSION:
            return replace(shipped, version=SHIPPED_VERSION)
        raise NotFound(f"prompt {name!r} has no version {number}", prompt=name, version=number)

    async def history(self, name: str) -> list[VersionInfo]:
        """Return every version of `name`, oldest first (version 1 the shipped file)."""
        self._shipped(name)
        rows = (await self._session.scalars(select(PromptVersion).where(PromptVersion.name == name)
                                            .order_by(PromptVersion.version))).all()
        in_force = (await self._heads()).get(name, SHIPPED_VERSION)
        out = [VersionInfo(version=r.version, created_at=r.created_at, author=r.author,
                           in_force=r.version == in_force) for r in rows]
        if not rows or rows[0].version != SHIPPED_VERSION:
            shipped_at = datetime.fromtimestamp(self._library.path(name).stat().st_mtime, UTC)
            out.insert(0, VersionInfo(version=SHIPPED_VERSION, created_at=shipped_at, author=SHIPPED_AUTHOR,
                                      in_force=in_force == SHIPPED_VERSION))
        return out

    def check(self, prompt: Prompt, text: str) -> list[Problem]:
        """Return what stops `text` from replacing `prompt` (empty: it can be saved)."""
        return check_template(prompt, text)

    async def save(self, name: str, text: str, *, author: str, author_id: int | None = None) -> Prompt:
        """Check `text`, keep it as the next version of `name` and put it in force; PromptInvalid when refused."""
        current = await self.in_force(name)
        problems = check_template(current, text)
        if problems:
            raise PromptInvalid(name, problems)
        await self._keep_shipped(name)
        number = int(await self._session.scalar(select(func.max(PromptVersion.version))
                                                .where(PromptVersion.name == name)) or SHIPPED_VERSION) + 1
        self._session.add(PromptVersion(name=name, version=number, template=text, author=author[:120],
                                        author_id=author_id, created_at=self._now))
        await self._put_in_force(name, number, author)
        return await self.version(name, number)

    async def rollback(self, name: str, to: int, *, author: str) -> Prompt:
        """Put version `to` of `name` back in force (versions after it stay in the history)."""
        prompt = await self.version(name, to)
        await self._put_in_force(name, to, author)
        return prompt

    def in_force_after_commit(self, prompt: Prompt) -> None:
        """Serve `prompt` from this process's library once the unit of work commits (not if it rolls back)."""
        active = self._library.active

        def publish(_session: Session) -> None:
            active.put(prompt.name, prompt.version, prompt.template)

        event.listen(self._session.sync_session, "after_commit", publish, once=True)

    async def load_active(self) -> dict[str, tuple[int, str]]:
        """Return the versions in force other than the files, for `ActivePrompts.replace_all`."""
        rows = await self._session.execute(
            select(PromptHead.name, PromptHead.version, PromptVersion.template)
            .join(PromptVersion, (PromptVersion.name == PromptHead.name)
                  & (PromptVersion.version == PromptHead.version)))
        return {name: (version, template) for name, version, template in rows}

    # --- internals ----------------------------------------------------------------------------------------

    def _library_files(self) -> list[Prompt]:
        return [self._shipped(p.name) for p in self._library.list()]

    def _shipped(self, name: str) -> Prompt:
        try:
            return self._library.shipped(name)
        except PromptError as error:
            raise NotFound(f"no prompt named {name!r}", prompt=name) from error

    async def _row(self, name: str, number: int) -> PromptVersion | None:
        return (await self._session.scalars(select(PromptVersion).where(
            PromptVersion.name == name, PromptVersion.version == number))).first()

    async def _heads(self) -> dict[str, int]:
        rows = await self._session.execute(select(PromptHead.name, PromptHead.version))
        return {str(name): int(version) for name, version in rows}

    async def _keep_shipped(self, name: str) -> None:
        """Copy the file's text in as version 1 before the first saved version, for an exact rollback to it."""
        if await self._row(name, SHIPPED_VERSION) is None:
            shipped = self._shipped(name)
            self._session.add(PromptVersion(name=name, version=SHIPPED_VERSION, template=shipped.template,
                                            author=SHIPPED_AUTHOR, created_at=self._now))
            await self._session.flush()

    async def _put_in_force(self, name: str, number: int, author: str) -> None:
        head = await self._session.get(PromptHead, name)
        if head is None:
            self._session.add(PromptHead(name=name, version=number, changed_at=self._now, changed_by=author[:120]))
        else:
            head.version, head.changed_at, head.changed_by = number, self._now, author[:120]
        await self._session.flush()
