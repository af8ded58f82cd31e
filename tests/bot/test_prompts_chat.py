"""Prompts from the phone: an admin lists, shows, sends a new text (checked, a diff, [Save]), sees the history and
rolls back; the running bot serves the saved version at once (after the commit) and answers record it; nobody
else reaches any of it, not even with forged button data. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import format as fmt
from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.assets import PROMPTS_DIR
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import AuditEntry, PromptHead, PromptVersion
from crm_core.ports import Ports
from crm_core.prompting import PromptLibrary
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.conftest import TEST_NOW

VI = Texts("vi")
NEW_TEXT = "Trả lời bằng {language}, chỉ dựa vào:\n{context}\nCâu hỏi: {question}"


@pytest_asyncio.fixture
async def library() -> PromptLibrary:
    return PromptLibrary(PROMPTS_DIR)


@pytest_asyncio.fixture
async def admin_engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
                       library: PromptLibrary) -> AsyncIterator[Engine]:
    """Lan (sales), Quang (manager), Thảo and Hà (admins); one prompt library shared as in the bot."""
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        for name, role, telegram_id in (("Lan", "sales", 1001), ("Quang", "manager", 2001), ("Thảo", "admin", 3001),
                                        ("Hà", "admin", 3002)):
            await services.users.add(name=name, role=role, telegram_id=telegram_id)
    yield Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                 render_reminder=reminder_reply, ports=Ports(prompts=library))


async def _editing(admin: ChatDriver, name: str = "faq_answer") -> None:
    """Show the prompt and press [✏️ Edit]: the next text is its new version."""
    await admin.say(f"/prompt {name}")
    await admin.press(VI("prompts.btn_edit"))


async def _saved(thao: ChatDriver, text: str = NEW_TEXT) -> None:
    await _editing(thao)
    await thao.say(text)
    await thao.press(VI("prompts.btn_save"))


async def test_prompts_lists_each_prompt_with_its_version(admin_engine: Engine) -> None:
    thao = ChatDriver(admin_engine, "3001")

    [reply] = await thao.say("/prompts")

    assert reply.text.startswith(VI("prompts.list_title"))
    for name in ("faq_answer", "parse_log", "summary_highlights"):
        assert f"• {name} — " in reply.text
    assert {"faq_answer", "parse_log", "summary_highlights"} <= {b.label for b in thao.buttons}


async def test_a_prompt_is_shown_with_its_version_and_variables(admin_engine: Engine) -> None:
    thao = ChatDriver(admin_engine, "3001")

    [reply] = await thao.say("/prompt faq_answer")

    assert VI("prompts.show_title", name="faq_answer", version=1) in reply.text
    assert VI("prompts.variables", variables="{question}, {context}, {language}") in reply.text
    assert VI("prompts.how_to_edit") in reply.text


async def test_a_new_text_missing_a_variable_is_refused_naming_it_and_nothing_is_saved(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)

    [reply] = await thao.say("Trả lời {question} bằng {language}, gọi khách là {customer}")

    assert VI("prompts.problem_missing", variables="{context}", detail="") in reply.text
    assert VI("prompts.problem_unknown", variables="{customer}", detail="") in reply.text
    assert thao.buttons == [] or VI("prompts.btn_save") not in [b.label for b in thao.buttons]
    async with sessionmaker() as session:
        assert (await session.scalars(select(PromptVersion))).all() == []


async def test_broken_braces_are_refused_and_a_corrected_text_is_then_accepted(admin_engine: Engine) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)

    [broken] = await thao.say("{language} {context} {question")
    [fixed] = await thao.say(NEW_TEXT)

    assert VI("prompts.refused", name="faq_answer") in broken.text
    assert VI("prompts.problem_syntax_unclosed", field="") in broken.text
    assert fixed.text.startswith(VI("prompts.preview", name="faq_answer", version=2, diff="")[:20])
    assert "+ Trả lời bằng {language}, chỉ dựa vào:" in fixed.text
    assert [b.label for b in thao.buttons] == [VI("prompts.btn_save"), VI("prompts.btn_cancel")]


async def test_save_makes_version_2_in_force_at_once_with_who_and_an_audit_entry(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")

    await _saved(thao)

    assert thao.text == VI("prompts.saved", name="faq_answer", version=2)
    assert library.get("faq_answer").ref == "faq_answer@2"
    assert library.get("faq_answer").template == NEW_TEXT
    async with sessionmaker() as session:
        versions = (await session.scalars(select(PromptVersion).order_by(PromptVersion.version))).all()
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "prompt.save"))).all()
    assert [(v.version, v.author) for v in versions] == [(1, "shipped"), (2, "Thảo")]
    assert versions[0].template == library.shipped("faq_answer").template
    assert [(a.actor_label, a.entity_id, a.details["version"]) for a in audit] == [("Thảo", "faq_answer", 2)]



async def test_save_and_rollback_are_audited_with_the_version_and_text_before_and_after(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], library: PromptLibrary) -> None:
    import hashlib

    shipped = library.shipped("faq_answer").template
    thao = ChatDriver(admin_engine, "3001")
    await _saved(thao)
    await thao.say("/prompt faq_answer history")
    await thao.press(VI("prompts.btn_rollback", version=1))
    await thao.press(VI("prompts.btn_restore", version=1))

    async with sessionmaker() as session:
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.entity == "prompt")
                                       .order_by(AuditEntry.id))).all()

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    assert [(a.action, (a.before or {}).get("version"), (a.before or {}).get("sha256"), (a.after or {}).get("version"),
             (a.after or {}).get("sha256")) for a in audit] == [
        ("prompt.save", 1, sha(shipped), 2, sha(NEW_TEXT)),
        ("prompt.rollback", 2, sha(NEW_TEXT), 1, sha(shipped))]
    assert all(a.details["diff"] for a in audit)  # the lines that changed, each way
    assert audit[0].details["diff"] != audit[1].details["diff"]

async def test_cancel_keeps_the_version_in_force(admin_engine: Engine, library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)
    await thao.say(NEW_TEXT)

    await thao.press(VI("prompts.btn_cancel"))

    assert thao.text == VI("prompts.cancelled", name="faq_answer")
    assert library.get("faq_answer").ref == "faq_answer@1"


async def test_history_lists_versions_and_rollback_puts_one_back_in_force(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _saved(thao)

    [history] = await thao.say("/prompt faq_answer history")
    await thao.press(VI("prompts.btn_rollback", version=1))
    await thao.press(VI("prompts.btn_restore", version=1))

    assert "v1 — " + VI("prompts.shipped") in history.text
    assert "v2 — Thảo" in history.text
    assert VI("prompts.history_line_in_force", version=2, author="Thảo",
                                                at="")[-10:] in history.text
    assert thao.text == VI("prompts.rolled_back", name="faq_answer", version=1)
    assert library.get("faq_answer").ref == "faq_answer@1"
    async with sessionmaker() as session:
        head = await session.get(PromptHead, "faq_answer")
    assert head is not None
    assert head.version == 1


async def test_a_stale_save_after_someone_else_saved_is_refused(admin_engine: Engine) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)
    await thao.say(NEW_TEXT)
    save = next(b for b in thao.buttons if b.label == VI("prompts.btn_save"))
    other = ChatDriver(admin_engine, "3002")  # another admin saves first
    await _saved(other, NEW_TEXT + "\n")

    [reply] = await thao.tap(save.data)

    assert reply.text == VI("errors.conflict_changed", name="faq_answer")


async def test_nobody_but_admins_reaches_prompts_not_even_with_forged_buttons(
        admin_engine: Engine, library: PromptLibrary) -> None:
    for user_id in ("1001", "2001"):
        colleague = ChatDriver(admin_engine, user_id)
        for command in ("/prompts", "/prompt faq_answer", "/prompt faq_answer history"):
            [reply] = await colleague.say(command)
            assert reply.text == VI("common.not_allowed")
        for data in (pack("prm", "save", "faq_answer"), pack("prm", "back", "faq_answer", 1),
                     pack("prm", "rb", "faq_answer", 1, 1), pack("prm", "show", "faq_answer")):
            [reply] = await colleague.tap(data)
            assert reply.text == VI("common.not_allowed")
    customer = ChatDriver(admin_engine, "777")
    [reply] = await customer.say("/prompts")
    assert reply.text == VI("common.staff_only")
    assert library.get("faq_answer").ref == "faq_answer@1"


async def test_an_unknown_prompt_is_said_by_name(admin_engine: Engine) -> None:
    thao = ChatDriver(admin_engine, "3001")

    [reply] = await thao.say("/prompt khong_co")

    assert reply.text == VI("prompts.unknown", name="khong_co")


@pytest.mark.parametrize("name", ["../prompts/faq_answer", "faq_answer/../faq_answer", "../../../README", "/etc/passwd",
                                  "x" * 300, "FAQ_ANSWER.md"])
async def test_a_prompt_name_is_one_of_the_prompts_never_a_path(admin_engine: Engine, library: PromptLibrary,
                                                                name: str) -> None:
    thao = ChatDriver(admin_engine, "3001")

    [shown] = await thao.say(f"/prompt {name}")
    [history] = await thao.say(f"/prompt {name} history")
    [edit] = await thao.tap(f"prm:v1:edit:{name[:40]}")

    unknown = VI("prompts.unknown", name=fmt.clip(name, 60))
    assert (shown.text, history.text) == (unknown, unknown)
    assert edit.text == VI("prompts.unknown", name=fmt.clip(name[:40], 60))
    assert library.get("faq_answer").ref == "faq_answer@1"


async def _dialog(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> str | None:
    """Return the name of the dialog the person is in (their private chat), if any."""
    async with UnitOfWork(sessionmaker) as uow:
        state = await Services.build(uow.session, now=TEST_NOW).state.get("telegram", user_id, user_id)
    return state[0] if state else None


async def test_viewing_a_prompt_starts_no_edit_and_the_next_text_is_ordinary_text(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    thao = ChatDriver(admin_engine, "3001")

    await thao.say("/prompt faq_answer")
    shown_buttons = [b.label for b in thao.buttons]
    [reply] = await thao.say("Gọi anh Minh, báo giá 50 triệu, hẹn thứ 6")

    assert shown_buttons[0] == VI("prompts.btn_edit")
    assert await _dialog(sessionmaker, "3001") != "prompt_edit"
    assert VI("prompts.refused", name="faq_answer") not in reply.text
    assert not reply.text.startswith(VI("prompts.preview", name="faq_answer", version=2, diff="")[:20])


async def test_any_command_ends_a_prompt_edit_before_it_runs(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)
    waiting = await _dialog(sessionmaker, "3001")

    await thao.say("/tasks")
    [reply] = await thao.say(NEW_TEXT)

    assert waiting == "prompt_edit"
    assert not reply.text.startswith(VI("prompts.preview", name="faq_answer", version=2, diff="")[:20])
    assert library.get("faq_answer").ref == "faq_answer@1"


async def test_a_prompt_edit_and_its_save_expire(admin_engine: Engine, clock: FrozenClock,
                                                sessionmaker: async_sessionmaker[AsyncSession],
                                                library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")
    minutes = Settings().admin_dialog_minutes
    await _editing(thao)
    clock.advance(timedelta(minutes=minutes + 1))
    [late_text] = await thao.say(NEW_TEXT)
    await _editing(thao)
    await thao.say(NEW_TEXT)
    clock.advance(timedelta(minutes=minutes + 1))

    [late_save] = await thao.press(VI("prompts.btn_save"))

    assert not late_text.text.startswith(VI("prompts.preview", name="faq_answer", version=2, diff="")[:20])
    assert late_save.text == VI("prompts.nothing_pending")
    assert library.get("faq_answer").ref == "faq_answer@1"
    assert await _dialog(sessionmaker, "3001") is None


async def test_a_format_spec_is_refused_in_vietnamese_naming_the_field_and_nothing_is_rendered(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)

    [reply] = await thao.say("Trả lời bằng {language:>300000000}, dựa vào:\n{context}\nCâu hỏi: {question}")

    assert VI("prompts.problem_format_spec", field="{language:>300000000}") in reply.text
    for english in ("validation error", "field name", "format", "Traceback"):
        assert english not in reply.text.replace(VI("prompts.problem_format_spec", field=""), "")
    async with sessionmaker() as session:
        assert (await session.scalars(select(PromptVersion))).all() == []


async def test_prompts_are_described_in_the_admins_language(admin_engine: Engine, library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")

    [listed] = await thao.say("/prompts")
    [shown] = await thao.say("/prompt faq_answer")

    faq = library.shipped("faq_answer")
    assert faq.description_vi
    assert VI("prompts.list_line", name="faq_answer", version=1, description=faq.description_vi) in listed.text
    assert faq.description not in listed.text
    assert faq.description_vi in shown.text


# --- issue 15 new-user review 11: a text already in force, and a rollback seen before it is done -------------


@pytest.mark.parametrize("ending", ["", "\n", "\r\n  \n"])
async def test_pasting_the_text_in_force_says_it_is_identical_and_offers_no_save(
        admin_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], library: PromptLibrary,
        ending: str) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)

    [reply] = await thao.say(library.shipped("faq_answer").template.rstrip() + ending)

    assert reply.text == VI("prompts.identical", name="faq_answer", version=1)
    assert reply.keyboard is None
    assert await _dialog(sessionmaker, "3001") == "prompt_edit"  # still waiting for a changed text
    async with sessionmaker() as session:
        assert (await session.scalars(select(PromptVersion))).all() == []


async def test_an_identical_text_after_a_changed_one_drops_the_earlier_save(
        admin_engine: Engine, library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _editing(thao)
    await thao.say(NEW_TEXT)
    save = next(b for b in thao.buttons if b.label == VI("prompts.btn_save"))
    await thao.say(library.shipped("faq_answer").template)

    [reply] = await thao.tap(save.data)

    assert reply.text == VI("prompts.nothing_pending")
    assert library.get("faq_answer").ref == "faq_answer@1"


async def test_a_rollback_shows_what_it_changes_and_waits_for_restore(
        admin_engine: Engine, library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _saved(thao)
    await thao.say("/prompt faq_answer history")

    [preview] = await thao.press(VI("prompts.btn_rollback", version=1))

    assert preview.text.startswith(VI("prompts.rollback_preview", name="faq_answer", version=1, current=2,
                                      diff="").split("\n")[0])
    assert "- Câu hỏi: {question}" in preview.text  # the line in force that goes away
    assert [b.label for b in thao.buttons] == [VI("prompts.btn_restore", version=1), VI("prompts.btn_cancel")]
    assert library.get("faq_answer").ref == "faq_answer@2"  # nothing changed yet
    await thao.press(VI("prompts.btn_cancel"))
    assert thao.text == VI("prompts.rollback_cancelled", name="faq_answer")
    assert library.get("faq_answer").ref == "faq_answer@2"


async def test_a_restore_after_another_version_was_put_in_force_is_refused(
        admin_engine: Engine, library: PromptLibrary) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _saved(thao)
    await thao.say("/prompt faq_answer history")
    await thao.press(VI("prompts.btn_rollback", version=1))
    restore = thao.buttons[0].data
    await _saved(ChatDriver(admin_engine, "3002"), NEW_TEXT + "\nNgắn gọn.")  # Hà saves version 3 meanwhile

    [reply] = await thao.tap(restore)

    assert reply.text == VI("errors.conflict_changed", name="faq_answer")
    assert library.get("faq_answer").ref == "faq_answer@3"


async def test_the_version_in_force_is_not_offered_for_a_rollback(admin_engine: Engine) -> None:
    thao = ChatDriver(admin_engine, "3001")
    await _saved(thao)

    [reply] = await thao.tap(pack("prm", "back", "faq_answer", 2))

    assert reply.text == VI("prompts.rollback_in_force", name="faq_answer", version=2)
