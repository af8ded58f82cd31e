"""`chatcrm backup|restore|audit|pipelines`: the admin's tools on a server (issue 15)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_core.config import Settings
from crm_core.errors import CrmError

if TYPE_CHECKING:  # the engine and services load on use: `chatcrm kb ask` and `--help` must start fast
    from crm_core.services import Services

pipelines_app = typer.Typer(help="Sales pipelines and their industry templates.", no_args_is_help=True)
CLI_CHANNEL = "cli"
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _settings() -> Settings:
    from bot.cli import settings

    return settings()


@asynccontextmanager
async def _unit_of_work(config: Settings) -> AsyncIterator[Services]:
    from bot.app import make_clock, prepare_store
    from crm_core.services import Services
    from crm_core.uow import UnitOfWork

    clock = make_clock(config, None)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=clock.now(), channel=CLI_CHANNEL)
            services.audit.act_as(CLI_CHANNEL)
            yield services
    finally:
        await db.dispose()


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except CrmError as error:
        _fail(f"error: {error}")


# --- backup ------------------------------------------------------------------------------------------------


def backup_command(target: Annotated[Path, typer.Argument(help="A new or empty folder.")]) -> None:
    """Write a consistent copy of the home (database, Chroma, files) with a manifest of checksums."""
    from bot.backup import backup

    try:
        manifest = backup(_settings(), target)
    except CrmError as error:
        _fail(f"error: {error}")
        return
    size = sum(entry["bytes"] for entry in manifest["files"])
    typer.echo(f"backed up {len(manifest['files'])} files ({size:,} bytes, {manifest['database']}) to {target}",
               err=True)


def restore_command(source: Annotated[Path, typer.Argument(help="A folder `chatcrm backup` wrote.")]) -> None:
    """Check a backup's checksums, then bring it back into an empty home."""
    from bot.backup import restore

    config = _settings()
    try:
        manifest = restore(config, source)
    except CrmError as error:
        _fail(f"error: {error}")
        return
    typer.echo(f"restored {len(manifest['files'])} files from {source} into {config.home}", err=True)


# --- audit -------------------------------------------------------------------------------------------------


def audit_command(
    since: Annotated[str | None, typer.Option("--since", help="ISO-8601 time (with offset) or date.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only what this person did (name or #id).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="The newest N entries.")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """The audit trail, oldest first: who, when, channel, what, before and after."""
    config = _settings()
    moment = _since(since, config)
    entries = _run(_audit(config, moment, user, limit))
    if as_json:
        typer.echo(json.dumps(entries, ensure_ascii=False, default=str))
        return
    for e in entries:
        change = "; ".join(f"{k}: {(e['before'] or {}).get(k)} -> {(e['after'] or {}).get(k)}"
                           for k in dict.fromkeys([*(e["before"] or {}), *(e["after"] or {})]))
        typer.echo(f"{e['at']}  {e['actor']:<16} {e['channel'] or '-':<9} {e['action']:<18} "
                   f"{e['entity']}#{e['entity_id'] or ''}  {change}")


def _since(value: str | None, config: Settings) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"--since must be ISO-8601, e.g. 2026-11-23 or 2026-11-23T09:00:00+07:00 (got {value!r})")
        raise
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=config.tz)


async def _audit(config: Settings, since: datetime | None, user: str | None, limit: int) -> list[dict[str, Any]]:
    async with _unit_of_work(config) as services:
        actor_id = (await services.users.resolve(user)).id if user else None
        entries = await services.audit.entries(since=since, actor_id=actor_id, limit=limit)
    return [entry.model_dump(mode="json") for entry in reversed(entries)]


# --- pipelines ---------------------------------------------------------------------------------------------


@pipelines_app.command("list")
def pipelines_list(as_json: JsonFlag = False) -> None:
    """List pipelines and their stages, and the templates one can add."""
    config = _settings()
    pipelines = _run(_pipelines(config))
    if as_json:
        typer.echo(json.dumps(pipelines, ensure_ascii=False))
        return
    lang = config.language
    for pipeline in pipelines:
        typer.echo(f"{pipeline['key']}: {pipeline['name_' + lang]}{' (default)' if pipeline['is_default'] else ''}")
        for stage in pipeline["stages"]:
            typer.echo(f"  {stage['key']:<16} {stage['name_' + lang]:<32} {stage['probability']:>3}%  "
                       f"stalled after {stage['stalled_after_days'] or '-'} d  {stage['deals']} deals")
    from crm_core.pipelines.templates import TEMPLATES

    typer.echo("templates: " + ", ".join(TEMPLATES), err=True)


async def _pipelines(config: Settings) -> list[dict[str, Any]]:
    async with _unit_of_work(config) as services:
        pipelines = await services.pipelines.all()
    return [p.model_dump(exclude={"stages", "open_deals"})
            | {"stages": [s.model_dump() | {"deals": p.open_deals.get(s.id, 0)} for s in p.stages]}
            for p in pipelines]


@pipelines_app.command("add-template")
def pipelines_add_template(template: Annotated[str, typer.Argument(help="general, manufacturing, recruitment, "
                                                                        "shipping, real_estate, education")],
                           default: Annotated[bool, typer.Option("--default", help="New deals start here.")]
                           = False) -> None:
    """Create a pipeline from an industry template."""
    key = _run(_add_template(_settings(), template, default))
    typer.echo(f"added pipeline {key}", err=True)


async def _add_template(config: Settings, template: str, default: bool) -> str:
    async with _unit_of_work(config) as services:
        pipeline = await services.pipelines.add_from_template(template)
        if default:
            await services.pipelines.make_default(pipeline.id)
        await services.audit.record(actor=CLI_CHANNEL, action="pipeline.add", entity="pipeline",
                                    entity_id=pipeline.id, details={"template": template, "default": default})
    return pipeline.key


def register(app: typer.Typer) -> None:
    """Add these commands to the `chatcrm` app."""
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    app.command("audit")(audit_command)
    app.add_typer(pipelines_app, name="pipelines")
