"""Check a new text for a prompt before it is saved: its syntax, its variables, a render with the sample.

    check_template(prompt, text) -> [Problem]     empty: the text can be saved

Templates are LangChain f-string templates: `{variable}` is filled, `{{` and `}}` are literal braces. A problem
names what is wrong (`syntax` with the parser's words, `missing` and `unknown` with the variables), so the admin
is told exactly which variable or brace to fix; nothing is saved while any remains.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from typing import Literal

from crm_core.prompting import Prompt

ProblemKind = Literal["empty", "syntax", "missing", "unknown", "render"]
MAX_TEMPLATE_CHARS = 20_000


@dataclass(frozen=True)
class Problem:
    """One reason a template cannot be saved."""

    kind: ProblemKind
    # The variables missing or unknown (in the order they appear), or the parser's message.
    detail: str = ""
    variables: tuple[str, ...] = ()


def check_template(prompt: Prompt, text: str) -> list[Problem]:
    """Return what stops `text` from replacing `prompt`'s template (empty when it can be saved)."""
    if not text.strip():
        return [Problem("empty")]
    if len(text) > MAX_TEMPLATE_CHARS:
        return [Problem("syntax", detail=f"longer than {MAX_TEMPLATE_CHARS} characters")]
    try:
        used = template_variables(text)
    except ValueError as error:
        return [Problem("syntax", detail=str(error))]
    declared = set(prompt.input_variables)
    problems: list[Problem] = []
    missing = tuple(v for v in prompt.input_variables if v not in used)
    unknown = tuple(v for v in used if v not in declared)
    if missing:
        problems.append(Problem("missing", variables=missing))
    if unknown:
        problems.append(Problem("unknown", variables=unknown))
    if problems:
        return problems
    try:
        replace(prompt, template=text).render(**sample_values(prompt))
    except (KeyError, ValueError, IndexError, AttributeError, TypeError) as error:
        return [Problem("render", detail=str(error) or type(error).__name__)]
    return []


def template_variables(text: str) -> list[str]:
    """Return the variables a template fills, in order of first use; ValueError on broken braces."""
    found: list[str] = []
    for _literal, field_name, _spec, _conversion in string.Formatter().parse(text):
        if field_name is None:
            continue
        base = field_name.split(".", 1)[0].split("[", 1)[0]
        if not base.isidentifier():  # `{}` or `{0}`: positional fields have nothing to be filled from
            raise ValueError(f"'{{{field_name}}}' is not a variable name")
        if base not in found:
            found.append(base)
    return found


def sample_values(prompt: Prompt) -> dict[str, object]:
    """Return the sample input, every declared variable present (an empty text for one the sample lacks)."""
    return {name: prompt.sample.get(name, "") for name in prompt.input_variables}
