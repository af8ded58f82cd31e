"""Validate Bot API requests against the machine-readable spec in `shared/telegram/bot-api-spec.json`.

The spec (Bot API 10.1) lists every method and type with field names, types and required flags.
`validate_request` checks a request the way Telegram would and returns the problems found (empty
when valid): the method exists (case-insensitive), required fields are present, no unknown field is
sent, every value has a declared type (nested objects recursively, "X or Y" unions, subtypes picked
by their `type` discriminator), plus the limits the spec states only in prose (text, caption,
callback_data bytes, callback answer text, inline keyboard size, bot commands).

aiogram speaks a newer Bot API (10.3) than the spec: a field or method the spec lacks passes only
when aiogram's own model defines it. Values may arrive as strings (form-encoded: PTB sends
`chat_id="777"`) or as JSON strings for nested objects (aiogram multipart); `decode_params` turns
them into typed values by the spec's declared types before checking, and `validate_request` decodes
too, so raw and decoded parameters validate alike.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MAX_TEXT_CHARS = 4096
MAX_CAPTION_CHARS = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_CHARS = 200
MAX_INLINE_BUTTONS = 100
MAX_INLINE_BUTTONS_PER_ROW = 8
MAX_BOT_COMMANDS = 100
MAX_COMMAND_DESCRIPTION_CHARS = 256

_SCALARS = {"Integer", "Float", "Boolean", "String", "InputFile"}
_DISCRIMINATOR = re.compile(r"(?:must be|always) [\"“]?([a-z_]+)[\"”]?")
_INT = re.compile(r"-?\d+")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
# Fields of InlineKeyboardButton that do not count as "the" action of the button.
_BUTTON_DECORATIONS = {"text", "icon_custom_emoji_id", "style"}


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (an `InputFile` value)."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def spec_path() -> Path:
    """Return where the Bot API spec lives (`CHATCRM_SHARED_DIR` overrides the shared folder)."""
    shared = os.environ.get("CHATCRM_SHARED_DIR")
    if shared:
        return Path(shared) / "telegram" / "bot-api-spec.json"
    return Path(__file__).resolve().parents[2].parent / "shared" / "telegram" / "bot-api-spec.json"


class BotApiSpec:
    """The loaded spec with lookups by method and type name."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self.methods: dict[str, dict[str, Any]] = data["methods"]
        self.types: dict[str, dict[str, Any]] = data["types"]
        self._by_lower: dict[str, str] = {name.lower(): name for name in self.methods}

    def canonical_method(self, name: str) -> str | None:
        """Return the spec's spelling of a method name (Telegram matches case-insensitively)."""
        found = self._by_lower.get(name.lower())
        if found is not None:
            return found
        model = _aiogram_method(name)
        return None if model is None else name[:1].lower() + name[1:]

    def method_fields(self, method: str) -> dict[str, dict[str, Any]]:
        """Return the spec's fields of a method by name (empty for a method only aiogram knows)."""
        spec = self.methods.get(method)
        return {f["name"]: f for f in spec.get("fields", [])} if spec else {}

    def type_fields(self, type_name: str) -> dict[str, dict[str, Any]]:
        """Return the spec's fields of a type by name."""
        return {f["name"]: f for f in self.types.get(type_name, {}).get("fields", [])}

    def returns(self, method: str) -> list[str]:
        """Return the spec's return types of a method."""
        return list(self.methods.get(method, {}).get("returns", []))


@lru_cache(maxsize=4)
def load_spec(path: Path | None = None) -> BotApiSpec:
    """Load (once) and return the Bot API spec."""
    with (path or spec_path()).open(encoding="utf-8") as fh:
        return BotApiSpec(json.load(fh))


def canonical_method(name: str) -> str | None:
    """Return the canonical name of a Bot API method, or None when neither the spec nor aiogram knows it."""
    return load_spec().canonical_method(name)


# --- aiogram's newer models -------------------------------------------------------------------


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


@lru_cache(maxsize=512)
def _aiogram_method(name: str) -> type | None:
    try:
        from aiogram import methods
    except ImportError:  # pragma: no cover - aiogram is a project dependency
        return None
    found = getattr(methods, _pascal(name), None)
    base = methods.TelegramMethod
    return found if isinstance(found, type) and issubclass(found, base) and found is not base else None


@lru_cache(maxsize=1024)
def _aiogram_type(name: str) -> type | None:
    try:
        from aiogram import types
    except ImportError:  # pragma: no cover
        return None
    found = getattr(types, name, None)
    return found if isinstance(found, type) and hasattr(found, "model_fields") else None


def _model_field_names(model: type | None) -> set[str]:
    if model is None:
        return set()
    fields: dict[str, Any] = getattr(model, "model_fields", {})
    return {info.alias or name for name, info in fields.items()}


@lru_cache(maxsize=1024)
def _aiogram_method_fields(method: str) -> frozenset[str]:
    return frozenset(_model_field_names(_aiogram_method(method)))


@lru_cache(maxsize=1024)
def _aiogram_type_fields(type_name: str) -> frozenset[str]:
    return frozenset(_model_field_names(_aiogram_type(type_name)))


# --- decoding ---------------------------------------------------------------------------------


def _is_structured(type_name: str, spec: BotApiSpec) -> bool:
    return type_name.startswith("Array of ") or (type_name in spec.types and type_name not in _SCALARS)


def decode_value(value: Any, types: list[str], spec: BotApiSpec | None = None) -> Any:
    """Turn a form-encoded string into the typed value its declared types call for."""
    spec = spec or load_spec()
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "[") and any(_is_structured(t, spec) for t in types):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    if "Integer" in types and _INT.fullmatch(stripped):
        return int(stripped)
    if "Float" in types:
        try:
            return float(stripped)
        except ValueError:
            pass
    if "Boolean" in types and stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    return value


def decode_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Decode every parameter of a request by the spec's declared types (unknown fields stay as sent)."""
    spec = load_spec()
    name = spec.canonical_method(method) or method
    fields = spec.method_fields(name)
    decoded: dict[str, Any] = {}
    for key, value in params.items():
        field = fields.get(key)
        decoded[key] = decode_value(value, field["types"], spec) if field else _decode_unknown(value)
    return decoded


def _decode_unknown(value: Any) -> Any:
    """Decode a field the spec lacks the way aiogram encodes it: JSON for anything non-string."""
    if isinstance(value, str) and (value[:1] in ("{", "[") or value in ("true", "false")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --- validation -------------------------------------------------------------------------------


def validate_request(method: str, params: dict[str, Any]) -> list[str]:
    """Return the problems Telegram would find in a request (empty when it is valid)."""
    spec = load_spec()
    name = spec.canonical_method(method)
    if name is None:
        return [f"{method}: unknown method"]
    checker = _Checker(spec)
    params = decode_params(name, params)
    fields = spec.method_fields(name)
    if not fields and name not in spec.methods:
        checker.check_unknown_method(name, params)
        return checker.problems
    for key, field in fields.items():
        if field["required"] and params.get(key) is None:
            checker.add(name, f"missing required field {key!r}")
    extra = _aiogram_method_fields(name)
    for key, value in params.items():
        spec_field = fields.get(key)
        if spec_field is None:
            if key not in extra:
                checker.add(name, f"unknown field {key!r}")
            continue
        checker.check(value, spec_field["types"], f"{name}.{key}")
    checker.check_method_limits(name, params)
    return checker.problems


class _Checker:
    """Collect problems while walking a request's values against the spec's types."""

    def __init__(self, spec: BotApiSpec) -> None:
        self.spec = spec
        self.problems: list[str] = []

    def add(self, path: str, problem: str) -> None:
        self.problems.append(f"{path}: {problem}")

    def check_unknown_method(self, name: str, params: dict[str, Any]) -> None:
        known = _aiogram_method_fields(name)
        for key in params:
            if key not in known:
                self.add(name, f"unknown field {key!r}")

    def check(self, value: Any, types: list[str], path: str) -> None:
        """Check `value` against a union of declared types."""
        attempts: list[list[str]] = []
        for type_name in types:
            found = self._problems_for(value, type_name, path)
            if not found:
                return
            attempts.append(found)
        structured = [a for a, t in zip(attempts, types, strict=True) if t not in _SCALARS]
        if isinstance(value, dict | list) and structured:
            best: list[str] = min(structured, key=_count)
            self.problems.extend(best)
            return
        self.add(path, f"expected {' or '.join(types)}, got {_describe(value)}")

    def _problems_for(self, value: Any, type_name: str, path: str) -> list[str]:
        sub = _Checker(self.spec)
        sub.check_one(value, type_name, path)
        return sub.problems

    def check_one(self, value: Any, type_name: str, path: str) -> None:
        """Check `value` against one declared type."""
        if type_name.startswith("Array of "):
            self._check_array(value, type_name.removeprefix("Array of "), path)
        elif type_name in _SCALARS:
            if not _scalar_ok(value, type_name):
                self.add(path, f"expected {type_name}, got {_describe(value)}")
        elif type_name in self.spec.types:
            self._check_object(value, type_name, path)
        else:
            self.add(path, f"type {type_name} is not in the spec")

    def _check_array(self, value: Any, item_type: str, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, f"expected Array of {item_type}, got {_describe(value)}")
            return
        for i, item in enumerate(value):
            self.check(item, [item_type], f"{path}[{i}]")

    def _check_object(self, value: Any, type_name: str, path: str) -> None:
        if not isinstance(value, dict):
            self.add(path, f"expected {type_name} object, got {_describe(value)}")
            return
        spec_type = self.spec.types[type_name]
        if "subtypes" in spec_type:
            self._check_subtyped(value, type_name, spec_type["subtypes"], path)
            return
        fields = self.spec.type_fields(type_name)
        if not fields:  # placeholder types such as CallbackGame carry no fields
            return
        extra = _aiogram_type_fields(type_name)
        for key, field in fields.items():
            if field["required"] and value.get(key) is None:
                self.add(path, f"{type_name} is missing required field {key!r}")
        for key, item in value.items():
            spec_field = fields.get(key)
            if spec_field is None:
                if key not in extra:
                    self.add(path, f"unknown field {key!r} in {type_name}")
                continue
            self.check(item, spec_field["types"], f"{path}.{key}")
        self._check_type_limits(value, type_name, path)

    def _check_subtyped(self, value: dict[str, Any], type_name: str, subtypes: list[str], path: str) -> None:
        chosen = self._discriminate(value, subtypes)
        if chosen is not None:
            self._check_object(value, chosen, path)
            return
        attempts = [self._problems_for(value, sub, path) for sub in subtypes]
        if any(not found for found in attempts):
            return
        self.add(path, f"matches no subtype of {type_name}")
        closest: list[str] = min(attempts, key=_count)
        self.problems.extend(closest)

    def _discriminate(self, value: dict[str, Any], subtypes: list[str]) -> str | None:
        for sub in subtypes:
            fields = self.spec.types.get(sub, {}).get("fields", [])
            if not fields:
                continue
            first = fields[0]
            match = _DISCRIMINATOR.search(first["description"])
            if match and value.get(first["name"]) == match.group(1):
                return sub
        return None

    def _check_type_limits(self, value: dict[str, Any], type_name: str, path: str) -> None:
        if type_name == "InlineKeyboardButton":
            self._check_inline_button(value, path)
        elif type_name == "InlineKeyboardMarkup":
            self._check_inline_keyboard(value, path)
        elif type_name == "BotCommand":
            self._check_bot_command(value, path)
        caption = value.get("caption")
        if type_name.startswith("Input") and isinstance(caption, str) and len(caption) > MAX_CAPTION_CHARS:
            self.add(f"{path}.caption", f"{len(caption)} characters; the limit is {MAX_CAPTION_CHARS}")

    def _check_inline_button(self, value: dict[str, Any], path: str) -> None:
        data = value.get("callback_data")
        if isinstance(data, str):
            size = len(data.encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                self.add(f"{path}.callback_data", f"{size} bytes; callback_data must be 1-64 bytes (UTF-8)")
        actions = [k for k, v in value.items() if k not in _BUTTON_DECORATIONS and v is not None]
        if len(actions) != 1:
            self.add(path, f"an inline button needs exactly one action field, got {actions or 'none'}")

    def _check_inline_keyboard(self, value: dict[str, Any], path: str) -> None:
        rows = value.get("inline_keyboard")
        if not isinstance(rows, list):
            return
        total = 0
        for i, row in enumerate(rows):
            if isinstance(row, list):
                total += len(row)
                if len(row) > MAX_INLINE_BUTTONS_PER_ROW:
                    self.add(f"{path}.inline_keyboard[{i}]", f"{len(row)} buttons; at most 8 a row")
        if total > MAX_INLINE_BUTTONS:
            self.add(f"{path}.inline_keyboard", f"{total} buttons; at most {MAX_INLINE_BUTTONS}")

    def _check_bot_command(self, value: dict[str, Any], path: str) -> None:
        command = value.get("command")
        if isinstance(command, str) and not _COMMAND.fullmatch(command):
            self.add(f"{path}.command", f"{command!r} must be 1-32 characters of a-z, 0-9 and _")
        description = value.get("description")
        if isinstance(description, str) and not 1 <= len(description) <= MAX_COMMAND_DESCRIPTION_CHARS:
            self.add(f"{path}.description", f"{len(description)} characters; must be 1-256")

    def check_method_limits(self, name: str, params: dict[str, Any]) -> None:
        """Check the limits the spec states only in prose."""
        text = params.get("text")
        if name in ("sendMessage", "editMessageText") and isinstance(text, str):
            if not text.strip():
                self.add(f"{name}.text", "message text is empty")
            elif len(text) > MAX_TEXT_CHARS:
                self.add(f"{name}.text", f"{len(text)} characters; the limit is {MAX_TEXT_CHARS}")
        if name == "editMessageText":
            self._check_edit_target(name, params)
            if params.get("text") is None and params.get("rich_message") is None:
                self.add(name, "missing required field 'text'")
        if name in ("editMessageReplyMarkup", "editMessageCaption"):
            self._check_edit_target(name, params)
        caption = params.get("caption")
        if isinstance(caption, str) and len(caption) > MAX_CAPTION_CHARS:
            self.add(f"{name}.caption", f"{len(caption)} characters; the limit is {MAX_CAPTION_CHARS}")
        if name == "answerCallbackQuery" and isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_CHARS:
            self.add(f"{name}.text", f"{len(text)} characters; the limit is {MAX_CALLBACK_ANSWER_CHARS}")
        commands = params.get("commands")
        if name == "setMyCommands" and isinstance(commands, list) and len(commands) > MAX_BOT_COMMANDS:
            self.add(f"{name}.commands", f"{len(commands)} commands; at most {MAX_BOT_COMMANDS}")

    def _check_edit_target(self, name: str, params: dict[str, Any]) -> None:
        by_chat = params.get("chat_id") is not None and params.get("message_id") is not None
        if not by_chat and params.get("inline_message_id") is None:
            self.add(name, "needs chat_id and message_id, or inline_message_id")


def _count(problems: list[str]) -> int:
    return len(problems)


def _scalar_ok(value: Any, type_name: str) -> bool:
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "String":
        return isinstance(value, str)
    return isinstance(value, UploadedFile)  # InputFile


def _describe(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


def validate_object(type_name: str, value: Any) -> list[str]:
    """Return the problems in an object of a Bot API type (used to check what the fake server sends)."""
    checker = _Checker(load_spec())
    checker.check(value, [type_name], type_name)
    return checker.problems
