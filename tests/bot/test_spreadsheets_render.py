"""The import report as the CLI and the chat show it: stray columns capped, what each update changes per column,
the values the CRM keeps because they are newer counted with a few examples; in vi and en."""

from __future__ import annotations

import pytest

from bot.spreadsheets_render import (
    MAX_LISTED_COLUMNS,
    MAX_LISTED_KEPT_NEWER,
    chat_summary_lines,
    error_line,
    summary_lines,
)
from bot.texts import Texts
from crm_core.spreadsheets import ImportReport, RowError, UnknownColumn

LANGUAGES = ["vi", "en"]


def kept_newer(row: int) -> RowError:
    return RowError(sheet="deals", row=row, column="stage", code="kept_newer", imported=True,
                    params={"value": "proposal", "kept": "negotiation"})


@pytest.mark.parametrize("language", LANGUAGES)
def test_ignored_columns_are_capped_with_how_many_more(language: str) -> None:
    texts = Texts(language)
    report = ImportReport(file="b.xlsx", dry_run=True, created={"companies": 1},
                          unknown_columns=[UnknownColumn(sheet="companies", column=f"Cột {i}") for i in range(25)])

    (line,) = [line for line in chat_summary_lines(report, texts) if "Cột 0" in line]

    assert line.count("Cột ") == MAX_LISTED_COLUMNS
    assert f"Cột {MAX_LISTED_COLUMNS - 1}" in line
    assert f"Cột {MAX_LISTED_COLUMNS}" not in line
    assert line.endswith(texts("spreadsheet.more_columns", count=25 - MAX_LISTED_COLUMNS))


@pytest.mark.parametrize("language", LANGUAGES)
def test_up_to_ten_ignored_columns_are_all_named_with_no_more(language: str) -> None:
    texts = Texts(language)
    report = ImportReport(file="b.xlsx", dry_run=True, created={"companies": 1},
                          unknown_columns=[UnknownColumn(sheet="companies", column=f"Cột {i}") for i in range(10)])

    named = ", ".join(f"{texts('spreadsheet.sheet.companies')}: Cột {i}" for i in range(10))

    assert texts("spreadsheet.unknown_columns", columns=named) in summary_lines(report, texts)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_sheets_changes_by_column_are_one_line_in_the_sheets_column_order(language: str) -> None:
    texts = Texts(language)
    report = ImportReport(file="b.xlsx", dry_run=False, updated={"deals": 3, "contacts": 1},
                          changes={"deals": {"amount": 1, "stage": 2}, "contacts": {"phone": 1}})
    header = {"vi": {"stage": "Giai đoạn", "amount": "Giá trị", "phone": "SĐT"},
              "en": {"stage": "stage", "amount": "amount", "phone": "phone"}}[language]

    for render in (summary_lines, chat_summary_lines):
        lines = render(report, texts)
        deals = texts("spreadsheet.changes", sheet=texts("spreadsheet.sheet.deals"), columns=", ".join([
            texts("spreadsheet.change_count", column=header["stage"], count=2),
            texts("spreadsheet.change_count", column=header["amount"], count=1)]))
        contacts = texts("spreadsheet.changes", sheet=texts("spreadsheet.sheet.contacts"),
                         columns=texts("spreadsheet.change_count", column=header["phone"], count=1))
        assert lines.index(contacts) < lines.index(deals)  # sheets in import order


@pytest.mark.parametrize("language", LANGUAGES)
def test_values_kept_because_newer_are_counted_with_the_first_few_apart_from_the_problems(language: str) -> None:
    texts = Texts(language)
    problem = RowError(sheet="deals", row=40, column="amount", code="not_a_number", params={"value": "abc"})
    kept = [kept_newer(row) for row in range(2, 9)]
    report = ImportReport(file="b.xlsx", dry_run=True, updated={"deals": 7}, errors=[*kept, problem])

    lines = chat_summary_lines(report, texts)

    start = lines.index(texts("spreadsheet.kept_newer_count", count=7))
    shown = lines[start + 1:start + 1 + MAX_LISTED_KEPT_NEWER]
    assert [line.strip() for line in shown] == [error_line(e, texts) for e in kept[:MAX_LISTED_KEPT_NEWER]]
    assert lines[start + 1 + MAX_LISTED_KEPT_NEWER].strip() == texts(
        "spreadsheet.more_kept_newer", count=7 - MAX_LISTED_KEPT_NEWER)
    assert error_line(problem, texts) in lines
    assert not any(error_line(e, texts) in lines for e in kept[MAX_LISTED_KEPT_NEWER:])


@pytest.mark.parametrize("language", LANGUAGES)
def test_many_kept_values_do_not_crowd_out_the_problems(language: str) -> None:
    texts = Texts(language)
    problems = [RowError(sheet="deals", row=100 + i, column="amount", code="not_a_number", params={"value": "x"})
                for i in range(3)]
    report = ImportReport(file="b.xlsx", dry_run=True, errors=[*(kept_newer(r) for r in range(2, 60)), *problems])

    lines = summary_lines(report, texts, max_errors=5)

    assert all(error_line(e, texts) in lines for e in problems)
    assert not [n for n in range(1, 100) if texts("spreadsheet.more_errors", count=n) in lines]
