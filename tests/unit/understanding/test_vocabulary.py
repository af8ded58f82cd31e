"""The parser's vocabularies: named sets in crm_core/understanding/data/*.json, composed by include."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from crm_core.models.activities import INTERACTION_KINDS
from crm_core.textnorm import nfc
from crm_core.understanding import classify, vocabulary
from crm_core.understanding.text import fold
from crm_core.understanding.vocabulary import (
    VOCABULARY_FILES,
    SetDeclaration,
    VocabularyError,
    read_declarations,
    resolve,
)

PACKAGE = Path(vocabulary.__file__).parent
REPO = Path(__file__).resolve().parents[3]


def test_a_set_holds_its_own_words_and_those_of_the_sets_it_includes() -> None:
    sets = resolve(
        {
            "greetings": {"words": ["hello"]},
            "polite": {"include": ["greetings"], "words": ["thanks"]},
            "chat": {"include": ["polite"], "words": ["ok"]},
        }
    )
    assert sets["chat"] == {"hello", "thanks", "ok"}


def test_an_include_of_an_undeclared_set_is_refused() -> None:
    with pytest.raises(VocabularyError, match="not declared"):
        resolve({"polite": {"include": ["greetings"]}})


def test_sets_that_include_each_other_are_refused() -> None:
    with pytest.raises(VocabularyError, match="include each other"):
        resolve({"a": {"include": ["b"]}, "b": {"include": ["a"]}})


def test_a_set_declared_in_two_files_is_refused() -> None:
    files = [("one.json", '{"sets": {"a": {"words": ["x"]}}}'), ("two.json", '{"sets": {"a": {"words": ["y"]}}}')]
    with pytest.raises(VocabularyError, match="declared twice"):
        read_declarations(files)


@pytest.mark.parametrize("declaration", [["x"], {"words": "x"}, {"words": [1]}, {"word": ["x"]}, {"include": "a"}])
def test_a_malformed_set_is_refused(declaration: object) -> None:
    with pytest.raises(VocabularyError):
        read_declarations([("bad.json", json.dumps({"sets": {"a": declaration}}))])


def test_asking_for_an_unknown_set_names_it() -> None:
    with pytest.raises(VocabularyError, match="no_such_set"):
        vocabulary.words("no_such_set")


def test_phrases_are_split_into_words_longest_first() -> None:
    triggers = vocabulary.phrases("company_triggers_strong")
    assert ("cong", "ty") in triggers
    assert len(triggers[0]) >= len(triggers[-1])


def test_every_data_file_is_read() -> None:
    # The customer side's word lists, the role words of /role and the units typed after a number have their own
    # format and readers (customer_intent.py, conversation.py, the team flow, bot.core.inputs).
    own_readers = {"customer_intent.json", "conversation.json", "role_words.json", "number_units.json"}
    on_disk = {p.name for p in (PACKAGE / "data").glob("*.json")} - own_readers
    assert set(VOCABULARY_FILES) == on_disk


def test_the_data_files_ship_with_the_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/*" in config["tool"]["setuptools"]["package-data"]["crm_core.understanding"]


def test_every_shipped_set_has_words() -> None:
    assert all(vocabulary.words(name) for name in vocabulary.declarations())


def test_words_are_folded_and_lowercase_outside_the_accented_sets() -> None:
    for name in vocabulary.declarations():
        if name.endswith("_accented"):
            continue
        bad = [w for w in vocabulary.words(name) if w != fold(w) or w != " ".join(w.split())]
        assert not bad, f"{name}: {bad}"


def test_the_accented_sets_are_lowercase_and_composed_like_typed_text() -> None:
    for name in (n for n in vocabulary.declarations() if n.endswith("_accented")):
        bad = [w for w in vocabulary.words(name) if w != nfc(w).lower()]
        assert not bad, f"{name}: {bad}"


def test_every_shipped_set_is_read_by_the_parser_or_included_by_another() -> None:
    declared = vocabulary.declarations()
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py"))
    kind_sets = {f"kind_{k}" for k in classify.CUE_KINDS} | {f"kind_names_{k}" for k in classify.KINDS}
    used = {name for d in declared.values() for name in _includes(d)} | kind_sets
    unused = [name for name in declared if name not in used and f'"{name}"' not in source]
    assert not unused


def test_the_kind_vocabulary_names_the_kinds_the_crm_stores() -> None:
    assert set(classify.KINDS) == set(INTERACTION_KINDS)
    assert set(classify.CUE_KINDS) == set(INTERACTION_KINDS) - {"note"}


def test_a_word_shared_by_several_lists_is_written_once() -> None:
    # "nhe" (nhé) is a particle: the lists that need it get it from vi_particles
    assert "vi_particles" in _includes(vocabulary.declarations()["not_a_name"])
    assert "nhe" in vocabulary.words("not_a_name")
    assert "nhe" in vocabulary.words("name_stop")
    assert "nhe" not in vocabulary.declarations()["not_a_name"].get("words", [])


def _includes(declaration: SetDeclaration) -> list[str]:
    return declaration.get("include", [])
