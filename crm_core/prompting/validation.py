"""Check a new text for a prompt before it is saved: its syntax, its variables, a render with the sample.

    check_template(prompt, text) -> [Problem]     empty: the text can be saved

Templates are LangChain f-string templates: `{variable}` is filled, `{{` and `}}` are literal braces. Only plain
`{variable}` fields are allowed: a format spec (`{language:>300000000}` would allocate a gigabyte at every
render), a conversion (`{language!r}`), attribute or index access (`{sample.x}`, `{sample[0]}`) and positional
fields (`{}`, `{0}`) are refused before anything is rendered, naming the field. A problem says what is wrong by
kind (and `reason` for broken braces), with the field or the variables, so the chat can say it in the admin's
language; `detail` keeps the parser's English words for the CLI and the log. Nothing is saved while any remains.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from typing import Literal

from crm_core.prompting import Prompt

ProblemKind = Literal["empty", "too_long", "syntax", "positional", "format_spec", "conversion", "attribute",
                      "missing", "unknown", "render"]
# Why braces are broken, from Python's parser message (its words are English and technical).
SyntaxReason = Literal["unclosed", "lone_close", "lone_open", "brace_in_field", "other"]
_SYNTAX_REASONS: tuple[tuple[str, SyntaxReason], ...] = (
    ("expected '}'", "unclosed"), ("single '}'", "lone_close"), ("single '{'", "lone_open"),
    ("unexpected '{'", "brace_in_field"))
MAX_TEMPLATE_CHARS = 20_000


class FieldRefused(ValueError):
    """A `{field}` that is not a plain variable name: what kind, and the field as written."""

    def __init__(self, kind: ProblemKind, field: str) -> None:
        super().__init__(f"{{{field}}}: {kind.replace('_', ' ')} is not allowed")
        self.kind = kind
        self.field = field


@dataclass(frozen=True)
class Problem:
    """One reason a template cannot be saved."""

    kind: ProblemKind
    # The parser's or the renderer's message (English, for the CLI and the log; the chat says `kind` and `field`).
    detail: str = ""
    # The variables missing or unknown (in the order they appear).
    variables: tuple[str, ...] = ()
    # The refused field as written (`language:>300`), for positional / format_spec / conversion / attribute.
    field: str = ""
    reason: SyntaxReason | None = None  # for `syntax`


def check_template(prompt: Prompt, text: str) -> list[Problem]:
    """Return what stops `text` from replacing `prompt`'s template (empty when it can be saved)."""
    if not text.strip():
        return [Problem("empty")]
    if len(text) > MAX_TEMPLATE_CHARS:
        return [Problem("too_long", detail=f"longer than {MAX_TEMPLATE_CHARS} characters")]
    try:
        used = template_variables(text)
    except FieldRefused as refused:
        return [Problem(refused.kind, detail=str(refused), field=refused.field)]
    except ValueError as error:
        return [Problem("syntax", detail=str(error), reason=_syntax_reason(str(error)))]
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
    """Return the variables a template fills, in order of first use.

    ValueError on broken braces; FieldRefused on a field that is not a plain variable name.
    """
    found: list[str] = []
    for _literal, field_name, spec, conversion in string.Formatter().parse(text):
        if field_name is None:
            continue
        written = field_name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        if conversion:
            raise FieldRefused("conversion", written)
        if spec:  # `{x:>300000000}` pads to 300 million characters at every render
            raise FieldRefused("format_spec", written)
        if not field_name.isidentifier():
            base = field_name.split(".", 1)[0].split("[", 1)[0]
            # `{}` or `{0}`: positional fields have nothing to be filled from; `{x.y}`, `{x[0]}` reach into objects
            raise FieldRefused("attribute" if base.isidentifier() else "positional", written)
        if field_name not in found:
            found.append(field_name)
    return found


def _syntax_reason(message: str) -> SyntaxReason:
    lowered = message.lower()
    return next((reason for words, reason in _SYNTAX_REASONS if words in lowered), "other")


def sample_values(prompt: Prompt) -> dict[str, object]:
    """Return the sample input, every declared variable present (an empty text for one the sample lacks)."""
    return {name: prompt.sample.get(name, "") for name in prompt.input_variables}
