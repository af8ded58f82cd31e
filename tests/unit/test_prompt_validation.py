"""A new prompt text is checked before it is saved: syntax, missing and unknown variables, a render with the sample;
and every shipped prompt's front matter is complete."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crm_core.assets import PROMPTS_DIR
from crm_core.prompting import ActivePrompts, PromptLibrary
from crm_core.prompting.validation import check_template, sample_values
from crm_core.prompting.versions import describe

LIBRARY = PromptLibrary(PROMPTS_DIR)
FAQ = LIBRARY.get("faq_answer")
GOOD = "Answer in {language} from:\n{context}\nQuestion: {question}\nLiteral braces: {{json}}"


@pytest.mark.parametrize("name", sorted(p.stem for p in PROMPTS_DIR.glob("*.md")))
def test_every_shipped_prompt_has_complete_front_matter_and_renders_its_sample(name: str) -> None:
    prompt = LIBRARY.get(name)

    assert (prompt.name, prompt.version) == (name, 1)
    assert prompt.description
    assert prompt.description_vi  # /prompts speaks to Vietnamese admins in Vietnamese
    assert prompt.input_variables
    assert set(prompt.sample) == set(prompt.input_variables)
    assert check_template(prompt, prompt.template) == []
    assert prompt.render(**sample_values(prompt))


def test_a_text_using_exactly_the_declared_variables_can_be_saved() -> None:
    assert check_template(FAQ, GOOD) == []


def test_a_missing_variable_is_named() -> None:
    [problem] = check_template(FAQ, "Answer in {language}: {question}")

    assert (problem.kind, problem.variables) == ("missing", ("context",))
    assert "{context}" in describe(problem)


def test_an_unknown_variable_is_named() -> None:
    [problem] = check_template(FAQ, GOOD + " {customer_name}")

    assert (problem.kind, problem.variables) == ("unknown", ("customer_name",))


def test_missing_and_unknown_are_both_said() -> None:
    problems = check_template(FAQ, "{language} {context} {questoin}")

    assert [(p.kind, p.variables) for p in problems] == [("missing", ("question",)), ("unknown", ("questoin",))]


@pytest.mark.parametrize(("text", "reason"), [("{language} {context} {question", "unclosed"),
                                              ("{language} {context} {question} }", "lone_close"),
                                              ("{language} {context} {question} {", "lone_open"),
                                              ("{language} {context} { {question}", "brace_in_field")])
def test_broken_braces_are_a_syntax_problem_with_its_reason(text: str, reason: str) -> None:
    [problem] = check_template(FAQ, text)

    assert (problem.kind, problem.reason) == ("syntax", reason)
    assert problem.detail


@pytest.mark.parametrize(("field", "kind"), [("{}", "positional"), ("{0}", "positional"),
                                             ("{language:>300000000}", "format_spec"),
                                             ("{language:{question}}", "format_spec"),
                                             ("{language!r}", "conversion"), ("{language!s:>9}", "conversion"),
                                             ("{context.upper}", "attribute"), ("{context[0]}", "attribute")])
def test_a_field_that_is_not_a_plain_variable_is_refused_by_kind_naming_it(field: str, kind: str) -> None:
    text = GOOD.replace("{language}", field)

    [problem] = check_template(FAQ, text)

    assert (problem.kind, problem.field) == (kind, field[1:-1])
    assert field in describe(problem)


def test_a_huge_padding_spec_is_refused_before_anything_is_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_render(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("rendered")

    monkeypatch.setattr(type(FAQ), "render", no_render)

    [problem] = check_template(FAQ, "{language:>300000000} {context} {question}")

    assert (problem.kind, problem.field) == ("format_spec", "language:>300000000")


def test_an_empty_text_is_refused() -> None:
    assert [p.kind for p in check_template(FAQ, "  \n")] == ["empty"]


def test_the_library_serves_the_version_in_force_over_the_file() -> None:
    library = PromptLibrary(PROMPTS_DIR, active=ActivePrompts())
    library.active.put("faq_answer", 3, GOOD)

    prompt = library.get("faq_answer")

    assert (prompt.ref, prompt.template) == ("faq_answer@3", GOOD)
    assert library.shipped("faq_answer") == replace(FAQ)
    library.active.replace_all({})
    assert library.get("faq_answer").ref == "faq_answer@1"
