"""A typed value a field edit cannot read is answered with what that field takes (issue 10, case 3)."""

from __future__ import annotations

from bot.texts import Texts
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
HOA_PHAT_LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"


def _head(key: str) -> str:
    """The part of a text before its first placeholder."""
    return VI(key, text="{").split("{")[0]


async def test_an_unreadable_quantity_asks_for_a_quantity_not_a_date(lan: ChatDriver) -> None:
    await lan.say(HOA_PHAT_LOG)
    await lan.press(VI("btn.edit"))
    await lan.press(VI("field.quantity"))

    await lan.say("chưa rõ")

    assert _head("log.bad_quantity") in lan.text
    assert _head("log.bad_due") not in lan.text
    assert VI("log.type_again", field=VI("field.quantity").lower()) in lan.text
    await lan.say("150 bộ")  # the edit is still open
    assert "150" in lan.text


# --- the stage, typed in a sentence (new-user review: "vẫn đang báo giá nha, ko phải thua") -------------------

CALL_LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu"


def _stage_line(driver: ChatDriver) -> str:
    """The card's line that shows the stage."""
    return next((line for line in driver.text.splitlines() if VI("field.stage") in line), "")


async def _edit_stage(driver: ChatDriver) -> None:
    await driver.say(CALL_LOG)
    await driver.press(VI("btn.edit"))
    await driver.press(VI("field.stage"))


async def test_a_stage_is_read_from_a_sentence_and_a_denied_one_does_not_count(lan: ChatDriver) -> None:
    await _edit_stage(lan)

    await lan.say("vẫn đang báo giá nha, ko phải thua")

    assert VI("stage.quote") in _stage_line(lan)
    assert VI("stage.lost") not in _stage_line(lan)
    assert VI("common.not_found") not in lan.text


async def test_no_stage_in_the_text_asks_which_stage_with_the_stages_as_buttons(lan: ChatDriver) -> None:
    await _edit_stage(lan)

    await lan.say("ko phải thua")

    assert _head("log.which_stage") in lan.text
    assert VI("common.not_found") not in lan.text
    labels = [b.label for b in lan.buttons]
    assert VI("stage.quote") in labels
    assert VI("stage.negotiation") in labels
    assert all(b.data.startswith("log:v1:") for b in lan.buttons)

    await lan.press(VI("stage.negotiation"))

    assert VI("stage.negotiation") in _stage_line(lan)
    assert any(VI("btn.save") == b.label for b in lan.buttons)


async def test_a_typed_stage_still_works_after_the_which_stage_question(lan: ChatDriver) -> None:
    await _edit_stage(lan)
    await lan.say("hôm nay trời đẹp")
    assert _head("log.which_stage") in lan.text

    await lan.say("đàm phán")  # the edit stays open

    assert VI("stage.negotiation") in _stage_line(lan)


async def test_a_forged_stage_button_is_a_stale_button(lan: ChatDriver) -> None:
    await _edit_stage(lan)
    await lan.say("hôm nay trời đẹp")
    draft = next(b.data for b in lan.buttons if b.data.startswith("log:v1:stg:")).split(":")[3]

    await lan.tap(f"log:v1:stg:{draft}:999999")

    assert VI("common.stale_button") in lan.text


async def test_a_second_save_answers_with_the_toast_only(lan: ChatDriver) -> None:
    await lan.say(CALL_LOG)
    save = next(b.data for b in lan.buttons if b.label == VI("btn.save"))
    await lan.tap(save)

    replies = await lan.tap(save)  # the same card's Save again (or an older card's)

    assert [r.toast for r in replies] == [VI("log.already_saved")]
    assert all(r.toast_only for r in replies)
