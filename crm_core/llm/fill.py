"""Fill the fields the rule parser left empty with a LangChain chat model; never worse than the rules."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from crm_core.prompting import Prompt
from crm_core.understanding.model import ParsedLog

if TYPE_CHECKING:  # LangChain is imported when a model is called, not by every process that might (seconds)
    from langchain_core.language_models import BaseChatModel
    from langchain_core.prompts import PromptTemplate

log = logging.getLogger(__name__)

LLM_CONFIDENCE = 0.5
_FILLABLE = ("contact", "company", "amount", "currency", "quantity", "next_step", "due", "stage", "phone", "email")


class LlmLogFields(BaseModel):
    """The structured answer asked of the model: every field optional."""

    kind: Literal["call", "meeting", "email", "message", "note"] | None = None
    contact: str | None = Field(default=None, description="person's name without honorifics")
    company: str | None = Field(default=None, description="company name without 'công ty', 'cty', 'TNHH'")
    amount: float | None = Field(default=None, description="deal value in major units")
    currency: str | None = Field(default=None, description="ISO 4217 code")
    quantity: int | None = None
    next_step: str | None = None
    due: date | None = Field(default=None, description="date of the next step, YYYY-MM-DD")
    stage: Literal["new", "contacted", "qualified", "quote", "negotiation", "won", "lost"] | None = None
    phone: str | None = None
    email: str | None = None


def missing_fields(parsed: ParsedLog) -> list[str]:
    """Return the fields the rules left empty (kind counts when the rules fell back to a note)."""
    missing = [f for f in _FILLABLE if getattr(parsed, f) is None]
    if parsed.kind == "note" and parsed.confidence.get("kind", 0.0) < 0.6:
        missing.insert(0, "kind")
    if parsed.amount is not None and "currency" in missing:
        missing.remove("currency")
    return missing


def _render(prompt: Prompt | PromptTemplate | str, variables: dict[str, str]) -> str:
    if isinstance(prompt, Prompt):
        return prompt.render(**{k: variables.get(k, "") for k in prompt.input_variables})
    from langchain_core.prompts import PromptTemplate

    template = prompt if isinstance(prompt, PromptTemplate) else PromptTemplate.from_template(prompt)
    return template.format(**{k: variables.get(k, "") for k in template.input_variables})


def _known_json(parsed: ParsedLog) -> str:
    data = parsed.to_contract()
    keep = {k: v for k, v in data.items() if k in {"kind", *_FILLABLE} and v is not None}
    return json.dumps(keep, ensure_ascii=False)


def _coerce(result: Any) -> LlmLogFields:
    if isinstance(result, LlmLogFields):
        return result
    if isinstance(result, dict) and "parsed" in result and "raw" in result:
        result = result["parsed"]
    if isinstance(result, BaseModel):
        result = result.model_dump()
    return LlmLogFields.model_validate(result)


def _updates(parsed: ParsedLog, answer: LlmLogFields, missing: list[str]) -> dict[str, Any]:
    update: dict[str, Any] = {}
    for name in missing:
        value = getattr(answer, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if name == "amount":
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                continue
            if not value.is_finite() or value < 0:
                continue
        update[name] = value.strip() if isinstance(value, str) else value
    if "amount" in update and parsed.currency is None:
        currency = (answer.currency or "").strip().upper()
        update["currency"] = currency if len(currency) == 3 else ("VND" if parsed.language == "vi" else "USD")
    elif "amount" not in update and parsed.amount is None:
        update.pop("currency", None)
    if "due" in update:
        update["due_options"] = [update["due"]]
        if update["due"] not in parsed.dates:
            update["dates"] = [*parsed.dates, update["due"]]
    return update


async def fill_missing_with_llm(
    parsed: ParsedLog,
    *,
    model: BaseChatModel,
    prompt: Prompt | PromptTemplate | str,
    timeout_s: float,
    now_iso: str | None = None,
) -> ParsedLog:
    """Ask the model for the fields the rules left empty; return the rules' result on any error or timeout."""
    missing = missing_fields(parsed)
    if not missing or not parsed.raw_text.strip():
        return parsed
    variables = {
        "text": parsed.raw_text,
        "language": parsed.language,
        "now": now_iso or "",
        "missing": ", ".join(missing),
        "known": _known_json(parsed),
    }
    try:
        message = _render(prompt, variables)
        structured = model.with_structured_output(LlmLogFields)
        result = await asyncio.wait_for(structured.ainvoke(message), timeout=timeout_s)
        answer = _coerce(result)
    except TimeoutError:
        log.warning("LLM fill timed out after %.1f s; keeping the rules' result", timeout_s)
        return parsed
    except Exception as exc:  # the LLM only ever adds; the rules' card stands on its own
        log.warning("LLM fill failed (%s); keeping the rules' result", type(exc).__name__)
        return parsed
    update = _updates(parsed, answer, missing)
    if not update:
        return parsed
    confidence = dict(parsed.confidence)
    for name in update:
        if name in _FILLABLE or name == "kind":
            confidence[name] = LLM_CONFIDENCE
    update["confidence"] = confidence
    return parsed.model_copy(update=update)
