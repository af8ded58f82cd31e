"""The `chatcrm kb` commands' work: kept apart from the bot's wiring so a `kb ask` starts fast.

Importing `bot.commands` builds nothing but imports the engine, every flow and the LLM helpers (seconds);
answering one question needs the knowledge base and the answer's wording only (issue 11, the admin loop).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bot.texts import Texts
from bot.texts.answers import phrase_answer
from crm_core.config import Settings
from crm_core.errors import CrmError


def open_knowledge_base(config: Settings) -> Any:
    """Open the home's knowledge base."""
    from crm_core.retrieval import KnowledgeBase
    from crm_core.retrieval.screening import declared_by

    config.home.mkdir(parents=True, exist_ok=True)
    return KnowledgeBase(home=config.home, chroma_url=config.chroma_url, own_contacts=declared_by(config))


def kb_ingest_paths(kb: Any, paths: list[Path], *, allow_personal_data: bool = False) -> None:
    """Ingest files and folders, reporting per file on stderr.

    A file refused for other people's personal data or an undeclared bank account is a failure like any other
    (its line says which line and what to do); with `allow_personal_data` the first kind goes in and says so.
    """
    import typer

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        typer.echo(f"not found: {', '.join(missing)}", err=True)
        raise typer.Exit(1)
    try:
        report = kb.ingest(paths, allow_personal_data=allow_personal_data)
    except CrmError as error:  # the store itself failed (Chroma, the manifest): nothing more can go in
        typer.echo(f"ingest stopped: {error}", err=True)
        raise typer.Exit(2) from None
    for label, docs in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged),
                        ("removed", report.removed)):
        for doc in docs:
            typer.echo(f"{label:<10} {doc}", err=True)
    for doc in report.personal_data:
        typer.echo(f"{'personal':<10} {doc}: holds other people's personal data; indexed as asked "
                   "(--allow-personal-data): customers may be told it", err=True)
    told: set[str] = set()
    for failure in report.errors:  # one line each; the other files went in
        if failure.held_sections and failure.doc in told:  # its sections are named once, each reason after
            typer.echo(f"{'':<11}{failure.message} [{failure.code}]", err=True)
        elif failure.held_sections:  # its other sections went in
            told.add(failure.doc)
            held = ", ".join(f"«{section}»" for section in failure.held_sections)
            typer.echo(f"HELD BACK  {failure.doc}: section(s) {held} not indexed, the others were: "
                       f"{failure.message} [{failure.code}]", err=True)
        else:
            typer.echo(f"FAILED     {failure.doc}: {failure.message} [{failure.code}]", err=True)
    failed = len({failure.doc for failure in report.errors if not failure.held_sections})
    held_back = len({failure.doc for failure in report.errors if failure.held_sections})
    typer.echo(f"{report.sections} sections indexed; {failed} file(s) failed"
               + (f", {held_back} indexed with sections held back" if held_back else ""), err=True)
    if report.errors:
        raise typer.Exit(1)


def kb_ask_one(kb: Any, question: str, *, language: str | None = None) -> dict[str, Any]:
    """Answer one question as the customer bot would, in the same words, writing nothing.

    Small talk (thanks, ok, greetings, laughter) is acknowledged as the bot does, before any screen or search:
    no sources, no hand-off, `small_talk` says its kind; in the message's language when its letters decide it,
    else `language` (default: the business's, CHATCRM_LANGUAGE).
    """
    from crm_core.understanding.customer_intent import decided_language, small_talk_kind

    kind = small_talk_kind(question)
    decided = decided_language(question)
    if kind is not None:
        said = decided or language or Settings().language
        return {"answer": Texts(said)(f"support.small_talk.{kind}"), "sources": [], "confidence": 1.0,
                "handoff": False, "reason": None, "small_talk": kind}
    # As the bot does: a question whose letters decide no language ("ship?", "AP-C300?") is answered in the
    # business's language.
    answer = kb.ask(question) if decided else kb.ask(question, language=language or Settings().language)
    return dict(answer.to_contract(phrase_answer(answer, Texts(answer.language))))


def kb_ask_lines(kb: Any, lines: Iterable[str]) -> Iterator[str]:
    """Answer one question per line."""
    empty = {"answer": None, "sources": None, "confidence": None, "handoff": None, "reason": None}
    for line in lines:
        question = line.rstrip("\n")
        try:
            result = kb_ask_one(kb, question) if question.strip() else empty
        except (CrmError, Exception) as error:  # one bad line must not stop a batch
            result = {"error": str(error) or type(error).__name__}
        yield json.dumps(result, ensure_ascii=False, default=str)
