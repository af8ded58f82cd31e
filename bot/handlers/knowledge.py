"""The knowledge base from the phone (admins): send a file, list, remove, re-index, try a question, fill gaps.

    a document (.md .txt .pdf .docx, or a .csv/.xlsx with question/answer columns) from an admin
        -> one progress message (received, indexing, done) -> a short report: sections indexed, unchanged,
           skipped, errors. The same file name again replaces that document's sections; a file that
           cannot be read leaves the previous version answering.
    /kb                   documents (size, sections, date, who) with [🗑] [🔄] buttons, 10 a page, [◀️] [▶️]
    /kb test QUESTION     exactly what a customer would get: answer, sources, confidence, hand-off or not
    /kb <a link>          links are not fetched: send the file
    /gaps                 last 30 days' unanswered or 👎 questions, grouped; [✍️ Write the answer] on each:
                          the next text is shown back with [Save] [Cancel] (a command or 15 minutes end the wait)

Everything is the admins' (`Audience.ADMINS` on commands and buttons; `flows.knowledge` asks the policy again);
another colleague's knowledge file is answered with who can add it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from babel.numbers import format_decimal

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.channel import MAX_DOWNLOAD_BYTES, FileTooLarge
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.progress import ProgressMessage
from bot.core.router import HandlerResult, Router
from bot.core.uploads import FileShelf
from bot.texts import Texts
from bot.texts.answers import display_title, phrase_answer
from crm_core.errors import NotAvailable, NotFound
from crm_core.flows.knowledge import FileTaken, KnowledgeRefused, looks_like_url
from crm_core.policy import Audience, can_curate_knowledge

log = logging.getLogger(__name__)

router = Router()
NAMESPACE = "kb"
GAP_NAMESPACE = "gap"
GAP_STATE = "gap_answer"
GAP_CONFIRM_STATE = "gap_confirm"
# Sent as files, these are always knowledge (a .csv/.xlsx is knowledge only with question/answer columns).
KNOWLEDGE_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx")
DOCS_SHOWN = 10
GAPS_SHOWN = 8
ERRORS_SHOWN = 3


def _args(msg: Inbound) -> str:
    text = (msg.text or "").strip()
    return text.split(maxsplit=1)[1].strip() if " " in text else ""


def is_knowledge_file(file_name: str) -> bool:
    """Tell whether a sent file is a knowledge document by its type alone."""
    return Path(file_name).suffix.lower() in KNOWLEDGE_SUFFIXES


# --- files ---------------------------------------------------------------------------------------------------


async def on_knowledge_document(msg: Inbound, ctx: Ctx) -> Reply:
    """A knowledge document sent as a file: download it, index it with one progress message, report."""
    attachment = msg.attachment
    assert attachment is not None
    name = attachment.file_name or ctx.t("att.document")
    if not can_curate_knowledge(ctx.staff):
        return Reply(ctx.t("kb.only_admins"))
    if attachment.size is not None and attachment.size > MAX_DOWNLOAD_BYTES:
        return _too_large(ctx, attachment.size)
    if attachment.size == 0:
        return Reply(ctx.t("kb.refused_empty", file=name))
    if ctx.io is None or attachment.file_id is None:
        return Reply(ctx.t("import_chat.no_files_here"))
    shelf = FileShelf(ctx.settings.home)
    upload = await asyncio.to_thread(shelf.reserve_upload, file_name=name, owner_id=ctx.staff.id,
                                     channel=msg.channel, chat_id=msg.chat_id, now=ctx.now)
    progress = ProgressMessage(ctx.io, chat_id=msg.chat_id, message_id=None)
    try:
        async with progress.running():
            progress.report(ctx.t("kb.progress_receiving", file=name))
            await ctx.io.download(attachment.file_id, upload.path)
            reply, last = await _take(ctx, progress, upload.path, name)
    except FileTooLarge:
        return _too_large(ctx, attachment.size)
    finally:
        await asyncio.to_thread(shelf.discard_upload, upload.token)
    await progress.finish(last)  # after the ticker stopped: no older report can come after it
    return reply


async def take_downloaded(msg: Inbound, ctx: Ctx, path: Path, file_name: str) -> Reply:
    """A FAQ table already downloaded (by the spreadsheet handler, which found question/answer columns)."""
    if not can_curate_knowledge(ctx.staff):
        return Reply(ctx.t("kb.only_admins"))
    if ctx.io is None:
        return (await _take(ctx, None, path, file_name))[0]
    progress = ProgressMessage(ctx.io, chat_id=msg.chat_id, message_id=None)
    async with progress.running():
        reply, last = await _take(ctx, progress, path, file_name)
    await progress.finish(last)
    return reply


async def _take(ctx: Ctx, progress: ProgressMessage | None, path: Path, name: str) -> tuple[Reply, str]:
    """Index the file; return the report and the progress message's last words."""
    def step(_what: str) -> None:
        if progress is not None:
            progress.report(ctx.t("kb.progress_indexing", file=name))

    try:
        taken = await ctx.flows.knowledge.take_file(ctx.staff, path, file_name=name, step=step)
    except KnowledgeRefused as refused:
        text = _refusal(ctx, refused, name)
        return Reply(text), ctx.t("kb.progress_refused", file=name)
    last = ctx.t("kb.progress_done" if taken.outcome != "failed" else "kb.progress_failed", file=name)
    return Reply(_report(ctx, taken)), last


def _report(ctx: Ctx, taken: FileTaken) -> str:
    """Sections indexed, unchanged, skipped, errors: one line each that applies."""
    lines = [ctx.t(f"kb.report_{taken.outcome}", file=taken.file_name)]
    indexed = taken.sections if taken.outcome in ("added", "updated") else 0
    lines.append(ctx.t("kb.report_counts", indexed=indexed, unchanged=1 if taken.outcome == "unchanged" else 0,
                       skipped=0, errors=len(taken.errors)))
    for failure in taken.errors[:ERRORS_SHOWN]:
        key = f"kb.error_{failure.code}"
        lines.append("• " + ctx.t(key if ctx.t.has(key) else "kb.error_other", code=failure.code,
                                  detail=failure.detail or ""))
    if taken.outcome == "failed" and taken.errors:
        lines.append(ctx.t("kb.previous_kept"))
    held = sorted({section for failure in taken.errors for section in failure.held_sections})
    if taken.outcome != "failed" and held:  # the other sections answer customers; these wait for the fix
        lines.append(ctx.t("kb.held_back", sections=", ".join(f"«{section}»" for section in held)))
    lines.append(ctx.t("kb.report_total", sections=taken.total_sections))
    return "\n".join(lines)


def _refusal(ctx: Ctx, refused: KnowledgeRefused, name: str) -> str:
    reason = str(refused.details.get("reason") or "unsupported")
    if reason == "too_large":
        return _too_large(ctx, int(str(refused.details.get("size") or 0))).text
    return ctx.t(f"kb.refused_{reason}", file=name, doc=str(refused.details.get("doc") or ""),
                 suffix=str(refused.details.get("suffix") or ""))


def _too_large(ctx: Ctx, size: int | None) -> Reply:
    size_mb = format_decimal(round((size or 0) / 1024 / 1024, 1), locale="vi_VN" if ctx.lang == "vi" else "en_US")
    return Reply(ctx.t("kb.refused_too_large", size_mb=size_mb, limit_mb=MAX_DOWNLOAD_BYTES // 1024 // 1024))


# --- /kb -------------------------------------------------------------------------------------------------------


@router.command("kb", audience=Audience.ADMINS)
async def on_kb(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List the documents, try a question (`/kb test …`), or say that links are not fetched."""
    args = _args(msg)
    if looks_like_url(args):
        return Reply(ctx.t("kb.url_not_fetched"))
    first, _, rest = args.partition(" ")
    if first.lower() in ("test", "thu", "thử"):
        return await _test(ctx, rest.strip())
    if args:
        return Reply(ctx.t("kb.usage"))
    return await _documents(ctx)


async def _documents(ctx: Ctx, page: int = 0, *, edit: bool = False) -> Reply:
    """One page of `DOCS_SHOWN` documents, numbered across pages, with [◀️] [▶️] when there are more."""
    try:
        docs = await ctx.flows.knowledge.documents(ctx.staff)
    except NotAvailable:
        return Reply(ctx.t("kb.unavailable"))
    if not docs:
        return Reply(ctx.t("kb.empty"), edit=edit)
    pages = (len(docs) + DOCS_SHOWN - 1) // DOCS_SHOWN
    page = min(max(page, 0), pages - 1)  # a button from a longer list: its last page
    first = page * DOCS_SHOWN
    tz = ctx.settings.tz
    lines = [ctx.t("kb.list_title", count=len(docs), sections=sum(d.sections for d in docs))]
    if pages > 1:
        lines.append(ctx.t("kb.list_page", page=page + 1, pages=pages))
    rows: list[list[Button]] = []
    for number, doc in enumerate(docs[first:first + DOCS_SHOWN], start=first + 1):
        lines.append(ctx.t("kb.list_line", number=number, doc=fmt.clip(doc.doc, 60), sections=doc.sections,
                           size=_size(doc.bytes, ctx.lang), at=f"{doc.ingested_at.astimezone(tz):%d/%m %H:%M}",
                           who=doc.sent_by or ctx.t("kb.who_cli")))
        row = [Button(ctx.t("kb.btn_remove", number=number), pack(NAMESPACE, "rm", doc.key))]
        if doc.kept:
            row.append(Button(ctx.t("kb.btn_reindex", number=number), pack(NAMESPACE, "re", doc.key)))
        rows.append(row)
    paging = ([Button(ctx.t("btn.prev"), pack(NAMESPACE, "pg", page - 1))] if page > 0 else []) + \
        ([Button(ctx.t("btn.next"), pack(NAMESPACE, "pg", page + 1))] if page + 1 < pages else [])
    if paging:
        rows.append(paging)
    lines.append(ctx.t("kb.list_hint"))
    return Reply("\n".join(lines), keyboard=Keyboard.of(*rows), edit=edit)


async def _test(ctx: Ctx, question: str) -> Reply:
    if not question:
        return Reply(ctx.t("kb.usage"))
    from crm_core.understanding.customer_intent import small_talk_kind

    kind = small_talk_kind(question)
    if kind is not None:
        return Reply(ctx.t("kb.test_small_talk", answer=ctx.t(f"support.small_talk.{kind}")))
    try:
        answer = await ctx.flows.knowledge.test(ctx.staff, question)
    except NotAvailable:
        return Reply(ctx.t("kb.unavailable"))
    phrased = phrase_answer(answer, Texts(answer.language))
    # Titled as customers see them (no crumb made from the file name: the file is named beside it).
    sources = "\n".join(ctx.t("kb.test_source", title=display_title(s.doc, s.title), doc=s.doc, score=f"{s.score:.2f}")
                        for s in answer.sources[:3]) or ctx.t("kb.test_no_sources")
    handoff = ctx.t("kb.test_handoff_yes", reason=ctx.t(f"kb.reason_{answer.reason}")
                    if answer.reason and ctx.t.has(f"kb.reason_{answer.reason}") else answer.reason or "—") \
        if answer.handoff else ctx.t("kb.test_handoff_no")
    text = ctx.t("kb.test", question=fmt.clip(question, 200), answer=phrased, sources=sources,
                 confidence=f"{answer.confidence:.2f}", handoff=handoff)
    return Reply(fmt.clip_lines(text, 4000))


@router.callback(NAMESPACE, audience=Audience.ADMINS)
async def on_kb_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """[🗑 n] asks first; [Yes, remove] removes; [🔄 n] re-indexes the kept file; [◀️] [▶️] page the list."""
    if len(cb.args) != 1:
        raise StaleCallback(cb.action)
    key = cb.args[0]
    if cb.action == "pg":
        return await _documents(ctx, cb.arg_int(0), edit=True)
    try:
        if cb.action == "rm":
            doc = await ctx.flows.knowledge.find(ctx.staff, key)
            keyboard = Keyboard.of([Button(ctx.t("kb.btn_remove_yes"), pack(NAMESPACE, "rmok", key)),
                                    Button(ctx.t("btn.cancel"), pack(NAMESPACE, "keep", key))])
            return Reply(ctx.t("kb.remove_ask", doc=doc.doc, sections=doc.sections), keyboard=keyboard)
        if cb.action == "rmok":
            removed = await ctx.flows.knowledge.remove(ctx.staff, key)
            return Reply(ctx.t("kb.removed", doc=removed.doc), edit=True)
        if cb.action == "keep":
            return Reply(ctx.t("kb.remove_cancelled"), edit=True)
        if cb.action == "re":
            return Reply(_report(ctx, await ctx.flows.knowledge.reindex(ctx.staff, key)))
    except NotFound:
        text = ctx.t("kb.gone")
        return Reply(text, toast=text[:200])
    raise StaleCallback(cb.action)


# --- /gaps -----------------------------------------------------------------------------------------------------


@router.command("gaps", audience=Audience.ADMINS)
async def on_gaps(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """What customers asked that the knowledge base did not answer well, grouped, biggest first."""
    groups = await ctx.flows.knowledge.gaps(ctx.staff)
    if not groups:
        return Reply(ctx.t("gaps.none"))
    lines = [ctx.t("gaps.title", groups=len(groups), questions=sum(g.count for g in groups))]
    buttons: list[Button] = []
    for number, group in enumerate(groups[:GAPS_SHOWN], start=1):
        lines.append(ctx.t("gaps.line", number=number, example=fmt.clip(group.example, 120), count=group.count))
        others = [q for q in group.questions if q != group.example][:2]
        lines += [ctx.t("gaps.also", question=fmt.clip(q, 100)) for q in others]
        buttons.append(Button(ctx.t("gaps.btn_answer", number=number), pack(GAP_NAMESPACE, "ans", group.key)))
    return Reply("\n".join(lines), keyboard=Keyboard.column(buttons, per_row=2))


@router.callback(GAP_NAMESPACE, audience=Audience.ADMINS)
async def on_gap_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """[✍️ Write the answer]: the next text is the answer to that group; [Save] adds it, [Cancel] drops it."""
    if cb.action in ("save", "drop") and len(cb.args) == 1:
        return await _confirm_gap_answer(ctx, cb.arg_int(0), save=cb.action == "save")
    if cb.action != "ans" or len(cb.args) != 1:
        raise StaleCallback(cb.action)
    key = cb.arg_int(0)
    group = next((g for g in await ctx.flows.knowledge.gaps(ctx.staff) if g.key == key), None)
    if group is None:
        text = ctx.t("gaps.gone")
        return Reply(text, toast=text[:200])
    await ctx.set_state(GAP_STATE, {"key": key})
    return Reply(ctx.t("gaps.ask_answer", example=fmt.clip(group.example, 200), count=group.count,
                       minutes=ctx.settings.admin_dialog_minutes))


@router.state(GAP_STATE, audience=Audience.ADMINS, admin=True)
async def on_gap_answer(msg: Inbound, ctx: Ctx, data: dict[str, object]) -> HandlerResult:
    """The answer typed for a group: shown back with [Save] [Cancel]; customers see it only after [Save]."""
    answer = (msg.text or "").strip()
    if not answer:
        return Reply(ctx.t("gaps.empty_answer"))
    key = int(str(data.get("key") or 0))
    await ctx.set_state(GAP_CONFIRM_STATE, {"key": key, "answer": answer})
    keyboard = Keyboard.of([Button(ctx.t("gaps.btn_save"), pack(GAP_NAMESPACE, "save", key)),
                            Button(ctx.t("gaps.btn_cancel"), pack(GAP_NAMESPACE, "drop", key))])
    return Reply(ctx.t("gaps.confirm", answer=fmt.clip(answer, 3000)), keyboard=keyboard)


@router.state(GAP_CONFIRM_STATE, audience=Audience.ADMINS, admin=True)
async def on_text_while_confirming_gap(msg: Inbound, ctx: Ctx, data: dict[str, object]) -> HandlerResult:
    """Another text before [Save]: the newer answer to the same group."""
    return await on_gap_answer(msg, ctx, {"key": data.get("key")})


async def _confirm_gap_answer(ctx: Ctx, key: int, *, save: bool) -> Reply:
    data = await ctx.admin_dialog(GAP_CONFIRM_STATE)
    if data is None or data.get("key") != key:  # expired, ended by a command, or another group's
        text = ctx.t("gaps.nothing_pending")
        return Reply(text, toast=text[:200])
    await ctx.clear_state()
    if not save:
        return Reply(ctx.t("gaps.cancelled"), edit=True)
    try:
        await ctx.flows.knowledge.answer_gap(ctx.staff, key, str(data.get("answer") or ""))
    except NotFound:
        return Reply(ctx.t("gaps.gone"))
    return Reply(ctx.t("gaps.answered"), edit=True)


def _size(size: int, lang: str) -> str:
    locale = "vi_VN" if lang == "vi" else "en_US"
    if size < 1024 * 1024:
        return f"{format_decimal(round(size / 1024, 1), locale=locale)} KB"
    return f"{format_decimal(round(size / 1024 / 1024, 1), locale=locale)} MB"
