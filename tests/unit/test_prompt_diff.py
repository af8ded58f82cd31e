"""The diff shown before [Save] always shows the new text: its lines first, the removed ones after, "…" past the
limit."""

from __future__ import annotations

from crm_core.flows.prompts import DIFF_LINES, short_diff

OLD = "\n".join(f"Dòng cũ {n}" for n in range(1, 21))
NEW = "\n".join(f"Dòng mới {n}" for n in range(1, 21))


def test_a_full_rewrite_shows_the_new_text_first_then_some_of_the_old_and_an_ellipsis() -> None:
    diff = short_diff(OLD, NEW)

    assert diff[0] == "+ Dòng mới 1"
    assert len(diff) == DIFF_LINES + 1
    assert diff[-1] == "…"
    assert [line for line in diff if line.startswith("+ ")] == [f"+ Dòng mới {n}" for n in range(1, DIFF_LINES - 1)]
    assert [line for line in diff if line.startswith("- ")] == ["- Dòng cũ 1", "- Dòng cũ 2"]


def test_a_one_line_change_shows_both_lines_and_no_ellipsis() -> None:
    after = OLD.replace("Dòng cũ 5", "Dòng sửa 5")

    assert short_diff(OLD, after) == ["+ Dòng sửa 5", "- Dòng cũ 5"]


def test_only_removed_lines_fill_the_diff() -> None:
    diff = short_diff(OLD, "")

    assert diff == [f"- Dòng cũ {n}" for n in range(1, DIFF_LINES + 1)] + ["…"]
