"""`chatcrm prompts list|show NAME|set NAME --file F|history NAME|rollback NAME --to VERSION` (docs/interfaces.md).

The same versions as `/prompt` in chat (`crm_core.prompting.versions`), written in one unit of work with an audit
entry whose actor is "cli"; a running bot serves the new version from its next scheduler tick. A refused text
prints each problem (missing or unknown variable, broken braces) on stderr and exits 1; nothing is saved. A text
that is the one in force (`versions.same_text`) saves nothing either: it says so and exits 0, `--json` giving the
version in force in the same shape as a save.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from crm_core.config import Settings

T = TypeVar("T")
CLI_AUTHOR = "cli"
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def add_prompt_commands(prompts_app: typer.Typer, *, settings: Callable[[], Settings],
                        run: Callable[[Coroutine[Any, Any, Any]], Any], fail: Callable[[str], NoReturn]) -> None:
    """Register the prompt commands on `prompts_app`."""

    @prompts_app.command("list")
    def prompts_list(as_json: JsonFlag = False) -> None:
        """List the prompts and the version in force."""
        items = run(_list(settings()))
        if as_json:
            _print_json([i.to_contract() for i in items])
            return
        for item in items:
            typer.echo(f"{item.name}  v{item.version}  {item.description}")

    @prompts_app.command("show")
    def prompts_show(name: Annotated[str, typer.Argument(help="The prompt's name.")], as_json: JsonFlag = False,
                     version: Annotated[int | None, typer.Option("--version", help="A version other than the one "
                                                                  "in force.")] = None) -> None:
        """Print a prompt's text (the version in force unless --version)."""
        prompt = run(_show(settings(), name, version))
        if as_json:
            _print_json({"name": prompt.name, "version": prompt.version, "description": prompt.description,
                         "input_variables": list(prompt.input_variables), "template": prompt.template})
            return
        typer.echo(f"# {prompt.name} v{prompt.version} — variables: {', '.join(prompt.input_variables)}", err=True)
        # Exactly the text, ending with a newline (a shell prompt never sticks to its last line); one is added
        # only when the text has none, so `show > f` then `set --file f` keeps a text that ends with one.
        typer.echo(prompt.template, nl=not prompt.template.endswith("\n"))

    @prompts_app.command("set")
    def prompts_set(name: Annotated[str, typer.Argument(help="The prompt's name.")],
                    file: Annotated[Path, typer.Option("--file", help="The new template text (UTF-8).")],
                    as_json: JsonFlag = False) -> None:
        """Check a new text and save it as the prompt's next version, in force at once."""
        from crm_core.prompting.versions import PromptInvalid, describe

        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            fail(f"cannot read {file}: {error}")
        try:
            saved, changed = run(_set(settings(), name, text))
        except PromptInvalid as refused:
            for problem in refused.problems:
                typer.echo(f"refused: {describe(problem)}", err=True)
            raise typer.Exit(1) from None
        if as_json:
            _print_json({"name": saved.name, "version": saved.version})
        if changed:
            typer.echo(f"saved {saved.name} version {saved.version}", err=True)
        else:
            typer.echo(f"unchanged: the text is {saved.name} version {saved.version} in force; nothing saved",
                       err=True)

    @prompts_app.command("history")
    def prompts_history(name: Annotated[str, typer.Argument(help="The prompt's name.")],
                        as_json: JsonFlag = False) -> None:
        """List a prompt's versions (1 is the shipped file)."""
        versions = run(_history(settings(), name))
        if as_json:
            _print_json([v.to_contract() for v in versions])
            return
        for v in versions:
            mark = "  (in force)" if v.in_force else ""
            typer.echo(f"v{v.version}  {v.created_at.isoformat()}  {v.author}{mark}")

    @prompts_app.command("rollback")
    def prompts_rollback(name: Annotated[str, typer.Argument(help="The prompt's name.")],
                         to: Annotated[int, typer.Option("--to", help="The version to put back in force.")],
                         as_json: JsonFlag = False) -> None:
        """Put an earlier (or later) version back in force."""
        prompt = run(_rollback(settings(), name, to))
        if as_json:
            _print_json({"name": prompt.name, "version": prompt.version})
        typer.echo(f"{prompt.name}: version {prompt.version} in force", err=True)


def _print_json(value: object) -> None:
    import json

    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


@asynccontextmanager
async def _versions(config: Settings) -> Any:
    from bot.app import make_clock, prepare_store
    from crm_core.prompting import PromptLibrary
    from crm_core.prompting.versions import PromptVersions
    from crm_core.services import Services
    from crm_core.uow import UnitOfWork

    clock = make_clock(config, None)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=clock.now())
            yield PromptVersions(uow.session, library=PromptLibrary(config.prompts_dir), now=clock.now()), services
    finally:
        await db.dispose()


async def _list(config: Settings) -> Any:
    async with _versions(config) as (versions, _services):
        return await versions.catalogue()


async def _show(config: Settings, name: str, version: int | None) -> Any:
    async with _versions(config) as (versions, _services):
        return await (versions.version(name, version) if version is not None else versions.in_force(name))


async def _history(config: Settings, name: str) -> Any:
    async with _versions(config) as (versions, _services):
        return await versions.history(name)


async def _set(config: Settings, name: str, text: str) -> tuple[Any, bool]:
    """Save `text` as the next version; (the version in force, False) when it is that version's text."""
    from crm_core.prompting.versions import same_text

    async with _versions(config) as (versions, services):
        before = await versions.in_force(name)
        if same_text(before.template, text):
            return before, False
        saved = await versions.save(name, text, author=CLI_AUTHOR)
        await services.audit.record(actor=CLI_AUTHOR, action="prompt.save", entity="prompt", entity_id=name,
                                    details={"version": saved.version, "previous": before.version})
        return saved, True


async def _rollback(config: Settings, name: str, to: int) -> Any:
    async with _versions(config) as (versions, services):
        before = await versions.in_force(name)
        prompt = await versions.rollback(name, to, author=CLI_AUTHOR)
        await services.audit.record(actor=CLI_AUTHOR, action="prompt.rollback", entity="prompt", entity_id=name,
                                    details={"version": to, "previous": before.version})
        return prompt
