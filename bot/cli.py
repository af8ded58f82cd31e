"""The `chatcrm` command: the admin's tool and the way scripts drive the product (docs/interfaces.md)."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from crm_core.config import Settings
from crm_core.errors import CrmError

T = TypeVar("T")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_DIR = PROJECT_ROOT / "benchmarks"

app = typer.Typer(help="chatcrm — a messaging-first CRM assistant.", no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Staff users.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
kb_app = typer.Typer(help="The knowledge base.", no_args_is_help=True)
prompts_app = typer.Typer(help="Prompt templates.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.add_typer(kb_app, name="kb")
app.add_typer(prompts_app, name="prompts")

NowOption = Annotated[str | None, typer.Option("--now", help="ISO-8601 time with offset; fixes the clock.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def fail(message: str) -> NoReturn:
    """Exit 1 with one clear line on stderr."""
    typer.echo(message, err=True)
    raise typer.Exit(1)


def settings(home: Path | None = None) -> Settings:
    """Build the settings of this run from the environment; a wrong value is one clear line and exit 1."""
    try:
        built = Settings()
    except ValidationError as error:
        problems = "; ".join(f"CHATCRM_{'__'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                             for e in error.errors())
        typer.echo(f"invalid setting: {problems}", err=True)
        raise typer.Exit(1) from None
    except SettingsError as error:  # a value that is not even readable (CHATCRM_LEAD_RULES=notjson)
        cause = f" ({error.__cause__})" if error.__cause__ else ""
        typer.echo(f"invalid setting: {error}{cause}; JSON settings look like '{{\"keyword\": \"Name\"}}'",
                   err=True)
        raise typer.Exit(1) from None
    return built.model_copy(update={"home": home}) if home is not None else built


def redact(text: str, secret: str) -> str:
    """Return `text` with `secret` (the bot token) replaced, so it is never printed or logged."""
    return text.replace(secret, "<TELEGRAM_BOT_TOKEN>") if secret else text


class SecretFilter(logging.Filter):
    """Remove a secret from every log record's message, whatever library wrote it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record without the secret (its arguments and its exception text)."""
        message = record.getMessage()
        if self._secret in message:
            record.msg, record.args = redact(message, self._secret), None
        if record.exc_info and record.exc_info[1] is not None and self._secret in str(record.exc_info[1]):
            record.exc_info, record.exc_text = None, None
            record.msg = f"{record.msg} (error details withheld: they contained the bot token)"
        return True


def parse_now(value: str | None) -> datetime | None:
    """Read `--now`; it must carry an offset."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--now must be ISO-8601 with an offset, e.g. 2026-11-23T09:00:00+07:00 (got {value!r})")
    if moment.tzinfo is None:
        fail("--now needs an offset, e.g. 2026-11-23T09:00:00+07:00")
    return moment


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; user errors become one line on stderr and exit 1."""
    try:
        return asyncio.run(coro)
    except CrmError as error:
        fail(f"error: {error}")


def not_available(what: str) -> NoReturn:
    """Exit 1 for a command whose capability is not built yet."""
    fail(f"{what}: not available yet")


def print_json(value: object) -> None:
    """Print exactly one JSON document on stdout."""
    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


@app.callback()
def main() -> None:
    """chatcrm — log calls from chat, query deals and tasks, answer customers."""
    _setup_logging()


# --- store -------------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from crm_core.db import upgrade_sync

    config = settings()
    config.home.mkdir(parents=True, exist_ok=True)
    where = make_url(config.resolved_database_url).render_as_string(hide_password=True)
    try:
        before, after = upgrade_sync(config.resolved_database_url)
    except (SQLAlchemyError, OSError) as error:  # unreachable server, missing database, refused login
        fail(f"cannot migrate the database at {where}: {_first_line(error)} "
             "(is the server running, and does the database exist? see CHATCRM_DATABASE_URL)")
    if before == after:
        typer.echo(f"database is up to date (schema {after})", err=True)
    else:
        typer.echo(f"database migrated from schema {before or 'empty'} to {after}", err=True)


def _first_line(error: BaseException) -> str:
    """The gist of a driver's error: its first line, without SQLAlchemy's background link."""
    origin = getattr(error, "orig", None) or error
    return (str(origin).strip().splitlines() or [type(origin).__name__])[0][:200]


@app.command()
def stats(as_json: JsonFlag = False) -> None:
    """Count what the home holds."""
    from bot.commands import collect_stats

    counts = run(collect_stats(settings()))
    if as_json:
        print_json(counts)
    else:
        for key, value in counts.items():
            typer.echo(f"{key}: {value}")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    role: Annotated[str, typer.Option("--role", help="sales, manager or admin.")],
    telegram_id: Annotated[int | None, typer.Option("--telegram-id", help="Their Telegram user id.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="vi or en.")] = "vi",
    force: Annotated[bool, typer.Option("--force", help="Add them even if a colleague has the same name.")]
    = False,
) -> None:
    """Register a staff member; a name a colleague already has is refused unless --force."""
    from bot.commands import add_user
    from crm_core.services.users import describe

    user, namesakes = run(add_user(settings(), name=name, role=role, telegram_id=telegram_id, language=lang,
                                   force=force))
    typer.echo(f"added {describe(user)}", err=True)
    for namesake in namesakes:
        typer.echo(f"  named like {describe(namesake)}: tell them apart by number (chatcrm users list)", err=True)


@users_app.command("set-role")
def users_set_role(
    user: Annotated[str, typer.Argument(help="Their name or number (#id).")],
    role: Annotated[str, typer.Argument(help="sales, manager or admin.")],
) -> None:
    """Give a staff member another role (audited)."""
    from bot.commands import set_user_role
    from crm_core.services.users import describe

    changed, before = run(set_user_role(settings(), user, role))
    if before == changed.role:
        typer.echo(f"{describe(changed)} is already {role}; nothing changed", err=True)
    else:
        typer.echo(f"{describe(changed)}: role {before} -> {changed.role}", err=True)


@users_app.command("deactivate")
def users_deactivate(user: Annotated[str, typer.Argument(help="Their name or number (#id).")]) -> None:
    """Stop a staff member using the CRM (audited); their records stay."""
    from bot.commands import deactivate_user
    from crm_core.services.users import describe

    changed, was_active = run(deactivate_user(settings(), user))
    typer.echo(f"deactivated {describe(changed)}" if was_active else f"{describe(changed)} was already inactive",
               err=True)


@users_app.command("list")
def users_list(as_json: JsonFlag = False) -> None:
    """List staff."""
    from bot.commands import list_users

    users = run(list_users(settings()))
    if as_json:
        print_json(users)
        return
    for user in users:
        typer.echo(f"{user['name']:<24} {user['role']:<8} {user['telegram_id'] or '-':<14} {user['language']}"
                   f"{'' if user['active'] else ' (inactive)'}")


# --- chat --------------------------------------------------------------------------------------------------


@app.command()
def chat(
    as_user: Annotated[str | None, typer.Option("--as", help="Chat as this staff member.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Chat as an unregistered customer.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="The phone a customer's share-contact button sends.")]
    = None,
    now: NowOption = None,
) -> None:
    """Talk to the bot in the console, as staff or as a customer."""
    from bot.commands import console_chat

    if (as_user is None) == (customer is None):
        typer.echo("give exactly one of --as NAME or --customer NAME", err=True)
        raise typer.Exit(2)
    run(console_chat(settings(), user=as_user or customer or "", customer=customer is not None, phone=phone,
                     now=parse_now(now), lines=sys.stdin, out=sys.stdout, echo=not sys.stdin.isatty()))


@app.command()
def demo(home: Annotated[Path | None, typer.Option("--home", help="A fresh home directory.")] = None) -> None:
    """Create a demo business in a fresh home and play a scripted conversation."""
    from bot.demo import run_demo

    run(run_demo(settings(home), out=sys.stdout))


@app.command()
def bot(
    framework: Annotated[str, typer.Option("--framework", help="aiogram or ptb.")] = "aiogram",
    webhook: Annotated[str | None, typer.Option("--webhook", help="Public webhook URL.")] = None,
    listen: Annotated[str | None, typer.Option("--listen", help="HOST:PORT for the webhook server.")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=0, help="Webhook: chats handled at once in this process (0: ingress only).")] = 4,
) -> None:
    """Run the Telegram bot: long polling, or webhook mode (ingress with --listen, workers with --workers)."""
    if framework not in ("aiogram", "ptb"):
        typer.echo("--framework must be aiogram or ptb", err=True)
        raise typer.Exit(2)
    if listen and not webhook:
        typer.echo("--listen needs --webhook URL (the public URL given to `chatcrm webhook set`)", err=True)
        raise typer.Exit(2)
    config = settings()
    if webhook:
        _serve_webhook(config, framework=framework, url=webhook, listen=listen, workers=workers)
        return
    if config.telegram_bot_token is None:
        fail("set TELEGRAM_BOT_TOKEN (from @BotFather); TELEGRAM_API_URL points at another Bot API server")
    from bot.commands import run_telegram

    token = config.telegram_bot_token.get_secret_value()
    logging.getLogger().addFilter(SecretFilter(token))
    for handler in logging.getLogger().handlers:
        handler.addFilter(SecretFilter(token))
    from bot.webhook.bot_api import WebhookIsSet

    try:
        run(run_telegram(config, say=lambda line: typer.echo(line, err=True), framework=framework))
    except WebhookIsSet as error:
        fail(f"long polling refused: {error}")
    except Exception as error:  # one line, and never the token (both frameworks put it in the URLs they report)
        fail(f"the bot stopped: {redact(str(error), token)}")


def _serve_webhook(config: Settings, *, framework: str, url: str, listen: str | None, workers: int) -> None:
    from bot.webhook.run import WebhookNotAvailable, run_webhook
    from bot.webhook.serve import parse_listen

    if workers > 0 and config.telegram_bot_token is None:
        fail("set TELEGRAM_BOT_TOKEN (from @BotFather); TELEGRAM_API_URL points at another Bot API server")
    if listen is None and workers == 0:
        fail("nothing to run: give --listen HOST:PORT (ingress) and/or --workers N")
    try:
        address = parse_listen(listen) if listen else None
    except ValueError as error:
        fail(str(error))
    token = config.telegram_bot_token.get_secret_value() if config.telegram_bot_token else ""
    _redact_logs(token)
    try:
        run(run_webhook(config, url=url, listen=address, workers=workers, framework=framework,
                        say=lambda line: typer.echo(line, err=True)))
    except (WebhookNotAvailable, ValueError) as error:
        fail(str(error))
    except Exception as error:
        fail(f"the bot stopped: {redact(str(error), token)}")


def _redact_logs(token: str) -> None:
    if not token:
        return
    logging.getLogger().addFilter(SecretFilter(token))
    for handler in logging.getLogger().handlers:
        handler.addFilter(SecretFilter(token))


webhook_app = typer.Typer(help="Telegram's webhook: set once per deploy, never by a replica at start.",
                          no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")


@webhook_app.command("set")
def webhook_set(url: Annotated[str, typer.Argument(help="Public HTTPS URL of the ingress.")]) -> None:
    """Point Telegram at the ingress, with CHATCRM_WEBHOOK_SECRET as its secret token (pending updates kept)."""
    from bot.webhook.bot_api import BotApiRefused, set_webhook

    config = settings()
    token = _token_or_fail(config)
    if config.webhook_secret is None:
        fail("set CHATCRM_WEBHOOK_SECRET first: the ingress refuses deliveries without it")
    try:
        run(set_webhook(token, url, secret=config.webhook_secret.get_secret_value(),
                        api_base_url=config.telegram_api_url))
    except (BotApiRefused, OSError) as error:
        fail(f"setWebhook failed: {redact(str(error), token)}")
    typer.echo(f"webhook set: {url}", err=True)


@webhook_app.command("delete")
def webhook_delete() -> None:
    """Stop webhook delivery (pending updates are kept for polling)."""
    from bot.webhook.bot_api import BotApiRefused, delete_webhook

    config = settings()
    token = _token_or_fail(config)
    try:
        run(delete_webhook(token, api_base_url=config.telegram_api_url))
    except (BotApiRefused, OSError) as error:
        fail(f"deleteWebhook failed: {redact(str(error), token)}")
    typer.echo("webhook deleted", err=True)


@webhook_app.command("info")
def webhook_info_command(as_json: JsonFlag = False) -> None:
    """Show where Telegram delivers (getWebhookInfo): url, pending_update_count, last_error_message."""
    from bot.webhook.bot_api import BotApiRefused, webhook_info

    config = settings()
    token = _token_or_fail(config)
    try:
        info = run(webhook_info(token, api_base_url=config.telegram_api_url))
    except (BotApiRefused, OSError) as error:
        fail(f"getWebhookInfo failed: {redact(str(error), token)}")
    if as_json:
        print_json(info)
        return
    typer.echo(f"url: {info.get('url') or '(none: long polling)'}")
    typer.echo(f"pending updates: {info.get('pending_update_count', 0)}")
    if info.get("last_error_message"):
        typer.echo(f"last error: {info['last_error_message']}")


@webhook_app.command("parked")
def webhook_parked(
    retry: Annotated[bool, typer.Option("--retry", help="Hand them to the workers again (attempts start over).")]
    = False,
    as_json: JsonFlag = False,
) -> None:
    """List updates parked after failing 3 times (id, chat, attempts, age); --retry lets workers take them again."""
    from bot.webhook.run import parked_updates

    parked = run(parked_updates(settings(), retry=retry))
    if as_json:
        print_json({"parked": parked, "retried": len(parked) if retry else 0})
        return
    if not parked:
        typer.echo("no parked updates")
        return
    for item in parked:
        typer.echo(f"update {item['id']}  chat {item['chat']}  attempts {item['attempts']}  "
                   f"age {_age(item['age_seconds'])}")
    if retry:
        typer.echo(f"{len(parked)} update(s) handed to the workers again", err=True)


def _age(seconds: int) -> str:
    """Say an age the way an operator reads it: 45s, 12m, 3h, 2d."""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _token_or_fail(config: Settings) -> str:
    if config.telegram_bot_token is None:
        fail("set TELEGRAM_BOT_TOKEN (from @BotFather); TELEGRAM_API_URL points at another Bot API server")
    return config.telegram_bot_token.get_secret_value()


# --- understanding -----------------------------------------------------------------------------------------


@app.command()
def parse(
    text: Annotated[str | None, typer.Argument(help="The log text.")] = None,
    now: NowOption = None,
    lang: Annotated[str | None, typer.Option("--lang", help="vi or en (default: detect).")] = None,
    as_json: JsonFlag = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One input per stdin line, one JSON per line.")] = False,
) -> None:
    """Show what the bot understands from a salesperson's log."""
    from bot.commands import parse_lines, parse_one

    config = settings()
    moment = parse_now(now) or datetime.now(config.tz)
    if lang not in (None, "vi", "en"):
        typer.echo("--lang must be vi or en", err=True)
        raise typer.Exit(2)
    if jsonl:
        for line in parse_lines(sys.stdin, now=moment, language=lang):
            typer.echo(line)
        return
    if text is None:
        typer.echo("give the text to parse, or --jsonl to read stdin", err=True)
        raise typer.Exit(2)
    result = parse_one(text, now=moment, language=lang)
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            if value not in (None, [], {}):
                typer.echo(f"{key}: {value}")


# --- knowledge base ----------------------------------------------------------------------------------------


def _kb(config: Settings) -> Any:
    from bot.knowledge_cli import open_knowledge_base

    try:
        from crm_core.retrieval import KnowledgeBase  # noqa: F401
    except ImportError:
        not_available("the knowledge base")

    return open_knowledge_base(config)


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders.")],
    allow_personal_data: Annotated[bool, typer.Option(
        "--allow-personal-data",
        help="Index files holding other people's personal data (a customer list); refused otherwise.")] = False,
) -> None:
    """Index knowledge files (markdown, FAQ tables, txt, pdf, docx)."""
    from bot.knowledge_cli import kb_ingest_paths

    kb_ingest_paths(_kb(settings()), paths, allow_personal_data=allow_personal_data)


@kb_app.command("list")
def kb_list(as_json: JsonFlag = False) -> None:
    """List indexed documents."""
    docs = [d.model_dump(mode="json") if hasattr(d, "model_dump") else d for d in _kb(settings()).list_docs()]
    if as_json:
        print_json(docs)
        return
    for doc in docs:
        typer.echo(f"{doc['doc']:<50} {doc['sections']:>4} sections  {doc['bytes']:>8} bytes  {doc['ingested_at']}")


@kb_app.command("remove")
def kb_remove(doc: Annotated[str, typer.Argument(help="The document as `kb list` shows it.")]) -> None:
    """Remove a document from the index."""
    if not _kb(settings()).remove(doc):
        fail(f"no document {doc!r} in the knowledge base; see `chatcrm kb list`")
    typer.echo(f"removed {doc}", err=True)


@kb_app.command("ask")
def kb_ask(
    question: Annotated[str | None, typer.Argument(help="The customer's question.")] = None,
    as_json: JsonFlag = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One question per stdin line.")] = False,
) -> None:
    """Show what the customer bot would answer; writes nothing."""
    from bot.knowledge_cli import kb_ask_lines, kb_ask_one

    kb = _kb(settings())
    if jsonl:
        for line in kb_ask_lines(kb, sys.stdin):
            typer.echo(line)
        return
    if question is None:
        typer.echo("give a question, or --jsonl to read stdin", err=True)
        raise typer.Exit(2)
    answer = kb_ask_one(kb, question)
    if as_json:
        print_json(answer)
    else:
        typer.echo(answer["answer"])
        for source in answer["sources"][:3]:
            typer.echo(f"  — {source['title']} ({source['score']:.2f})")


# --- spreadsheets ------------------------------------------------------------------------------------------


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="An .xlsx workbook, a .csv file or a folder of .csv files.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Import users, companies, contacts, deals, interactions and tasks from a spreadsheet."""
    from bot.spreadsheets_cli import import_path, progress_bar
    from bot.spreadsheets_render import error_message, refusal_line, summary_lines
    from bot.texts import Texts
    from crm_core.errors import SpreadsheetRefused
    from crm_core.spreadsheets import ImportReport

    config = settings()
    texts = Texts(config.language)

    async def import_or_refuse(progress: Callable[[int, int], None]) -> ImportReport:
        try:
            return await import_path(config, path, dry_run=dry_run, progress=progress)
        except SpreadsheetRefused as error:
            fail(refusal_line(error, texts))

    with progress_bar(texts("spreadsheet.progress")) as progress:
        report = run(import_or_refuse(progress))
    if as_json:
        print_json(report.to_json(lambda e: error_message(e, texts)))
        return
    for line in summary_lines(report, texts):
        typer.echo(line)


@app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="The .xlsx workbook to write.")],
    lang: Annotated[str | None, typer.Option("--lang", help="Headers in vi or en (default: CHATCRM_LANGUAGE).")]
    = None,
    template: Annotated[bool, typer.Option("--template", help="Write the empty template with examples.")] = False,
) -> None:
    """Export the CRM to a workbook that import reads back (or, with --template, the empty template)."""
    from bot.spreadsheets_cli import export_path, template_path
    from bot.texts import Texts

    config = settings()
    if lang not in (None, "vi", "en"):
        typer.echo("--lang must be vi or en", err=True)
        raise typer.Exit(2)
    if path.suffix.lower() != ".xlsx":
        fail(f"{path.name}: the workbook must end in .xlsx")
    language = lang or config.language
    texts = Texts(language)
    if template:
        template_path(path, lang=language)
        typer.echo(texts("spreadsheet.template_written", file=path), err=True)
        return
    result = run(export_path(config, path, lang=language))
    counts = ", ".join(f"{texts(f'spreadsheet.sheet.{sheet}')} {count}" for sheet, count in result.counts.items())
    typer.echo(texts("spreadsheet.exported", file=path, counts=counts), err=True)


# --- later capabilities ------------------------------------------------------------------------------------


def _later(name: str) -> Callable[..., None]:
    def command(args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None) -> None:
        not_available(name)

    command.__doc__ = f"{name} (not available yet)."
    return command


@app.command()
def summary(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today).")] = None,
    period: Annotated[str, typer.Option("--period", help="day, week or month.")] = "day",
    as_json: JsonFlag = False,
    chart: Annotated[Path | None, typer.Option("--chart", help="Also draw the chart into FILE.png.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="vi or en (the text and the chart).")] = "vi",
    now: NowOption = None,
) -> None:
    """The team's summary of a day, week or month (docs/interfaces.md)."""
    from bot.commands import summary_report

    if lang not in ("vi", "en"):
        typer.echo("--lang must be vi or en", err=True)
        raise typer.Exit(2)
    figures, text = run(summary_report(settings(), day=day, period=period, now=parse_now(now), chart=chart,
                                       language=lang))
    if as_json:
        print_json(figures)
    else:
        typer.echo(text)
    if chart is not None:
        typer.echo(f"chart: {chart}", err=True)


@app.command("next")
def next_command(
    user: Annotated[str | None, typer.Option("--user", help="The salesperson's name (or #id).")] = None,
    now: NowOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many actions (default 5).")] = 5,
    as_json: JsonFlag = False,
    stats: Annotated[bool, typer.Option("--stats", help="Done/snoozed/ignored per rule over 30 days.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="vi or en (actions and reasons).")] = "",
) -> None:
    """Next-best-actions for one salesperson, best first (docs/interfaces.md), or the rules' acceptance."""
    from bot.commands import next_actions, next_stats

    config = settings()
    language = lang or config.language
    if language not in ("vi", "en"):
        typer.echo("--lang must be vi or en", err=True)
        raise typer.Exit(2)
    if stats:
        figures, text = run(next_stats(config, now=parse_now(now), language=language))
        if as_json:
            print_json(figures)
        else:
            typer.echo(text)
        return
    if not user:
        typer.echo("give --user NAME (or --stats)", err=True)
        raise typer.Exit(2)
    items, text = run(next_actions(config, user=user, now=parse_now(now), limit=limit, language=language))
    if as_json:
        print_json(items)
    else:
        typer.echo(text)


def _add_prompt_commands() -> None:
    from bot.prompts_cli import add_prompt_commands

    add_prompt_commands(prompts_app, settings=settings, run=run, fail=fail)


_add_prompt_commands()


def benchmark_names() -> list[str]:
    """Return the benchmarks in benchmarks/: each folder that holds a bench.py."""
    return sorted(p.parent.name for p in BENCHMARKS_DIR.glob("*/bench.py"))


def load_benchmark(name: str) -> ModuleType:
    """Import benchmarks/NAME/bench.py by its path, as module `benchmarks_NAME`."""
    module_name = f"benchmarks_{name}"
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS_DIR / name / "bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: a dataclass (or pickle) looks its module up in sys.modules by name.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _run_benchmark(module: ModuleType, *, postgres: str | None) -> object:
    """Run one benchmark; `postgres` goes to those whose run() takes it (the others measure SQLite only)."""
    if postgres is not None and "postgres" in inspect.signature(module.run).parameters:
        return module.run(postgres=postgres)
    return module.run()


@app.command()
def bench(
    name: Annotated[str | None, typer.Argument(help="engine, faq, parse, … (default: all).")] = None,
    as_json: JsonFlag = False,
    postgres: Annotated[str | None, typer.Option(
        "--postgres", help="A PostgreSQL server URL for the benchmarks that also measure PostgreSQL.")] = None,
) -> None:
    """Run the benchmarks in benchmarks/ and print their figures."""
    available = benchmark_names()
    if name is not None and name not in available:
        fail(f"no benchmark {name!r}; available: {', '.join(available)}")
    names = [name] if name else available
    results: dict[str, object] = {bench_name: _run_benchmark(load_benchmark(bench_name), postgres=postgres)
                                  for bench_name in names}
    output = results[names[0]] if name else results
    if as_json:
        print_json(output)
    else:
        typer.echo(json.dumps(output, ensure_ascii=False, indent=2, default=str))


def _admin_commands() -> None:
    """Add backup, restore, audit and pipelines (bot/admin_cli.py)."""
    from bot.admin_cli import register

    register(app)


_admin_commands()


if __name__ == "__main__":
    app()
