"""Texts with a number say it in the language's plural form (CLDR forms through babel), never 'day(s)'."""

from __future__ import annotations

from bot.texts import Texts, _catalog

EN = Texts("en")


def test_one_day_and_two_days() -> None:
    one = EN("nba.reason.task_overdue", due="Nov 20", days=1, kind="", lost="")
    two = EN("nba.reason.task_overdue", due="Nov 20", days=2, kind="", lost="")

    assert "1 day " in one
    assert "2 days " in two


def test_the_summary_and_the_suggestions_say_no_s_in_brackets() -> None:
    texts = {k: v for k, v in _catalog("en").items() if k.startswith(("summary.", "nba."))}

    assert [k for k, v in texts.items() if "(s)" in v] == []


def test_a_plural_key_is_a_key() -> None:
    assert EN.has("summary.hl.won")
    assert Texts("vi")("summary.hl.won", count=1, amount="1 ₫")  # Vietnamese has one form: a plain string
