"""Moving in from Excel by chat: a manager sends the file, sees what would happen, taps Import; /export sends it back.

    document (.xlsx/.csv) from a manager or admin
      -> size check (20 MB, before downloading) -> download to CHATCRM_HOME/uploads/<token>/
      -> dry run (over 2,000 rows: a progress message, edited at most every 2 s)
      -> the report with [Import] [Cancel], bound to the token (the file and who sent it)
    [Import] -> one progress message (the report's, edited at most every 2 s) -> the import -> the report
    /export  -> the whole book as a workbook, headers in the caller's language
    /import  -> how to move in, with the empty template workbook

A salesperson's spreadsheet is not read: they are told who can import it. Any other file gets what is accepted.
Knowledge files go to `bot.handlers.knowledge`: .md/.txt/.pdf/.docx at once, and a .csv/.xlsx once its header
shows question/answer columns (`crm_core.knowledge_admin.routing.spreadsheet_use`).
The importer itself (and its audit entry) is `crm_core.spreadsheets`, reached through `ctx.flows.spreadsheets`;
it runs in a worker thread, so other chats are answered while a large file is read.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from babel.numbers import format_decimal

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.channel import MAX_DOWNLOAD_BYTES, FileTooLarge
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, OutFile, Reply
from bot.core.progress import ProgressMessage
from bot.core.router import HandlerResult, Router
from bot.core.uploads import FileShelf, Upload
from bot.handlers import knowledge
from crm_core.errors import SpreadsheetRefused
from crm_core.knowledge_admin.routing import spreadsheet_use
from crm_core.policy import Audience, can_curate_knowledge, can_move_spreadsheets

if TYPE_CHECKING:
    from crm_core.spreadsheets import ImportReport

log = logging.getLogger(__name__)

router = Router()
NAMESPACE = "sheet"
READABLE = (".xlsx", ".xlsm", ".csv")
# An old .xls is read far enough for the importer to say how to save it as .xlsx.
REFUSED_WITH_ADVICE = (".xls",)
ERRORS_SHOWN = 5
REPORT_CHARS = 3900
# A trial run of a longer file takes long enough to be worth a progress message (the importer reports every 500 rows).
CHECK_PROGRESS_FROM_ROWS = 2000


async def _not_for_importing(msg: Inbound, ctx: Ctx, suffix: str) -> Reply:
    """Someone who may not import sent a spreadsheet: a FAQ table is the admins' (knowledge), else who imports.

    Telling one from the other takes reading its header, in a scratch folder removed at once: nothing of it is
    kept under the home.
    """
    attachment = msg.attachment
    assert attachment is not None
    too_large = attachment.size is not None and attachment.size > MAX_DOWNLOAD_BYTES
    if suffix in READABLE and not too_large and ctx.io is not None and attachment.file_id is not None:
        with tempfile.TemporaryDirectory(prefix="chatcrm-sniff-") as scratch:
            path = Path(scratch) / f"sent{suffix}"
            try:
                await ctx.io.download(attachment.file_id, path)
            except FileTooLarge:
                return Reply(ctx.t("import_chat.who_can", names=await _movers(ctx)))
            if await asyncio.to_thread(spreadsheet_use, path) == "knowledge":
                return Reply(ctx.t("kb.only_admins"))
    return Reply(ctx.t("import_chat.who_can", names=await _movers(ctx)))


@router.document(Audience.STAFF)
async def on_document(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """A file sent as a file: a spreadsheet to check before importing, or what is accepted."""
    attachment = msg.attachment
    assert attachment is not None  # the router sends documents only
    name = attachment.file_name or ""
    suffix = Path(name).suffix.lower()
    if knowledge.is_knowledge_file(name):  # .md .txt .pdf .docx: the knowledge base's (admins)
        return await knowledge.on_knowledge_document(msg, ctx)
    if suffix not in READABLE + REFUSED_WITH_ADVICE:
        # An admin sends both kinds of file: say both lists (knowledge documents and customer spreadsheets).
        key = "import_chat.wrong_type_admin" if can_curate_knowledge(ctx.staff) else "import_chat.wrong_type"
        return Reply(ctx.t(key, name=name or ctx.t("att.document")))
    if not can_move_spreadsheets(ctx.staff):
        return await _not_for_importing(msg, ctx, suffix)
    if attachment.size is not None and attachment.size > MAX_DOWNLOAD_BYTES:
        return _too_large(ctx, attachment.size)
    if ctx.io is None or attachment.file_id is None:
        return Reply(ctx.t("import_chat.no_files_here"))
    shelf = FileShelf(ctx.settings.home)
    upload = await asyncio.to_thread(shelf.reserve_upload, file_name=name, owner_id=ctx.staff.id,
                                     channel=msg.channel, chat_id=msg.chat_id, now=ctx.now)
    try:
        await ctx.io.download(attachment.file_id, upload.path)
        if await asyncio.to_thread(spreadsheet_use, upload.path) == "knowledge":  # question/answer columns
            try:
                return await knowledge.take_downloaded(msg, ctx, upload.path, name)
            finally:
                await asyncio.to_thread(shelf.discard_upload, upload.token)
        report = await _check(msg, ctx, upload)
    except FileTooLarge:
        await asyncio.to_thread(shelf.discard_upload, upload.token)
        return _too_large(ctx, attachment.size)
    except SpreadsheetRefused as refused:
        await asyncio.to_thread(shelf.discard_upload, upload.token)
        return Reply(_refusal(ctx, refused))
    except BaseException:
        await asyncio.to_thread(shelf.discard_upload, upload.token)
        raise
    return _checked(ctx, upload, report, shelf)


async def _check(msg: Inbound, ctx: Ctx, upload: Upload) -> ImportReport:
    """The trial run; a file of more than CHECK_PROGRESS_FROM_ROWS rows shows a progress message meanwhile."""
    assert ctx.io is not None  # files come only from a channel that lends its IO
    progress = ProgressMessage(ctx.io, chat_id=msg.chat_id, message_id=None)  # sent at its first report
    report_progress = _progress_reporter(ctx, progress, "import_chat.checking_progress", upload.file_name,
                                         from_rows=CHECK_PROGRESS_FROM_ROWS)
    async with progress.running():
        report = await ctx.flows.spreadsheets.check(ctx.staff, ctx.staff.name, upload.path,
                                                    file_name=upload.file_name, progress=report_progress)
    if progress.shown:
        await progress.finish(ctx.t("import_chat.checking_done", file=upload.file_name))
    return report


def _progress_reporter(ctx: Ctx, progress: ProgressMessage | None, key: str, file_name: str, *,
                       from_rows: int = 0) -> Callable[[int, int], None]:
    """Return the importer's progress callback: the text `key` (rows done of all, percent) for the message."""
    lang = ctx.lang

    def report_progress(done: int, total: int) -> None:
        if progress is not None and total > from_rows:
            progress.report(ctx.t(key, file=file_name, done=_number(done, lang), total=_number(total, lang),
                                  percent=done * 100 // total if total else 0))

    return report_progress


def _checked(ctx: Ctx, upload: Upload, report: ImportReport, shelf: FileShelf) -> Reply:
    """The dry run's report; [Import] [Cancel] when the file would change something."""
    head = ctx.t("import_chat.checked", file=upload.file_name)
    if not report.changed:
        shelf.discard_upload(upload.token)
        return Reply(_report_text(ctx, head, report, ctx.t("import_chat.nothing_to_import")))
    keyboard = Keyboard.of([Button(ctx.t("import_chat.btn_import"), pack(NAMESPACE, "go", upload.token)),
                            Button(ctx.t("import_chat.btn_cancel"), pack(NAMESPACE, "no", upload.token))])
    return Reply(_report_text(ctx, head, report, ctx.t("import_chat.confirm")), keyboard=keyboard)


@router.callback(NAMESPACE, audience=Audience.MANAGERS)
async def on_sheet_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """[Import] or [Cancel] under a dry-run report: only by whoever sent the file, only while it waits."""
    if cb.action not in ("go", "no") or len(cb.args) != 1:
        raise StaleCallback(cb.action)
    shelf = FileShelf(ctx.settings.home)
    token = cb.args[0]
    upload = await asyncio.to_thread(shelf.upload, token)
    if upload is not None and not upload.belongs_to(owner_id=ctx.staff.id, channel=msg.channel, chat_id=msg.chat_id):
        text = ctx.t("import_chat.not_yours")
        return Reply(text, toast=text[:200])
    if upload is None or upload.is_stale(ctx.now):
        if upload is not None:
            await asyncio.to_thread(shelf.discard_upload, token)
        done = await asyncio.to_thread(shelf.import_result, token, owner_id=ctx.staff.id)
        if done is not None:  # a second tap, or the same tap handled again: the import stands, shown again
            return Reply(_report_text(ctx, ctx.t("import_chat.already_imported"), _report_from(done), None))
        text = ctx.t("import_chat.stale")
        return Reply(text, toast=text[:200])
    if cb.action == "no":
        await asyncio.to_thread(shelf.discard_upload, token)
        return Reply(ctx.t("import_chat.cancelled", file=upload.file_name), edit=True)
    return await _bring_in(msg, ctx, upload, shelf)


async def _bring_in(msg: Inbound, ctx: Ctx, upload: Upload, shelf: FileShelf) -> Reply:
    """Import with one progress message (the tapped report's), then the report as a new message."""
    progress = ProgressMessage(ctx.io, chat_id=msg.chat_id, message_id=msg.callback_message_id) \
        if ctx.io is not None else None
    report_progress = _progress_reporter(ctx, progress, "import_chat.progress", upload.file_name)
    if progress is None:
        report = await ctx.flows.spreadsheets.bring_in(ctx.staff, ctx.staff.name, upload.path,
                                                       file_name=upload.file_name, progress=report_progress)
    else:
        progress.report(ctx.t("import_chat.starting", file=upload.file_name))
        async with progress.running():
            report = await ctx.flows.spreadsheets.bring_in(ctx.staff, ctx.staff.name, upload.path,
                                                           file_name=upload.file_name, progress=report_progress)
        await progress.finish(ctx.t("import_chat.progress_done", file=upload.file_name))
    await asyncio.to_thread(shelf.keep_import_result, upload.token, report.model_dump_json())
    return Reply(_report_text(ctx, ctx.t("import_chat.imported", file=upload.file_name), report, None))


@router.command("export", audience=Audience.MANAGERS)
async def on_export(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Send the whole customer book as one workbook, headers in the caller's language."""
    shelf = FileShelf(ctx.settings.home)
    path = await asyncio.to_thread(shelf.export_path, f"chatcrm-{ctx.now.astimezone(ctx.settings.tz):%Y-%m-%d}.xlsx")
    exported = await ctx.flows.spreadsheets.export(ctx.staff, path, lang=ctx.lang, words=ctx.t.words)
    counts = ", ".join(f"{ctx.t(f'spreadsheet.sheet.{sheet}')}: {_number(rows, ctx.lang)}"
                       for sheet, rows in exported.counts.items())
    return Reply(ctx.t("import_chat.exported", counts=counts), file=OutFile(str(path), kind="document"))


@router.command("import", audience=Audience.MANAGERS)
async def on_import_help(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Say how to move in from Excel, with the empty template workbook to fill."""
    shelf = FileShelf(ctx.settings.home)
    path = await asyncio.to_thread(shelf.export_path, ctx.t("import_chat.template_file"))
    await ctx.flows.spreadsheets.template(ctx.staff, path, lang=ctx.lang)
    return Reply(ctx.t("import_chat.how_to"), file=OutFile(str(path), kind="document"))


# --- texts ---------------------------------------------------------------------------------------------------


def _report_text(ctx: Ctx, head: str, report: ImportReport, tail: str | None) -> str:
    """The head line, a line of counts per sheet and the first few problems (sheet, row, column), then `tail`."""
    from bot.spreadsheets_render import chat_summary_lines

    lines = chat_summary_lines(report, ctx.t, max_errors=ERRORS_SHOWN)
    text = fmt.clip_lines("\n".join([head, *lines]), REPORT_CHARS)
    return f"{text}\n\n{tail}" if tail else text


def _refusal(ctx: Ctx, refused: SpreadsheetRefused) -> str:
    from bot.spreadsheets_render import refusal_line

    return refusal_line(refused, ctx.t)


def _too_large(ctx: Ctx, size: int | None) -> Reply:
    size_mb = format_decimal(round((size or 0) / 1024 / 1024, 1), locale="vi_VN" if ctx.lang == "vi" else "en_US")
    return Reply(ctx.t("import_chat.too_large", size_mb=size_mb, limit_mb=MAX_DOWNLOAD_BYTES // 1024 // 1024))


async def _movers(ctx: Ctx) -> str:
    """Name the colleagues who can import (active managers and admins), or say the role when there are none."""
    names = [user.name for user in await ctx.services.users.list() if can_move_spreadsheets(user)]
    return ", ".join(names) if names else ctx.t("import_chat.movers_by_role")


def _report_from(stored: str) -> ImportReport:
    from crm_core.spreadsheets import ImportReport

    return ImportReport.model_validate_json(stored)


def _number(value: int, lang: str) -> str:
    return format_decimal(value, locale="vi_VN" if lang == "vi" else "en_US")
