"""Typed, versioned callback data: `ns:v1:action:arg…`, always <= 64 bytes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.inputs import parse_id
from bot.core.messages import MAX_CALLBACK_BYTES

VERSION = "v1"


@dataclass(frozen=True)
class Callback:
    """A parsed button press."""

    namespace: str
    action: str
    args: tuple[str, ...]

    def arg_int(self, index: int, *, allow_zero: bool = False) -> int:
        """Return argument `index` as a record id (1..2^31-1; 0 too with `allow_zero`); StaleCallback otherwise.

        A button's data comes back from the user's client, so it is checked like anything typed.
        """
        value = parse_id(self.args[index], allow_zero=allow_zero) if index < len(self.args) else None
        if value is None:
            raise StaleCallback(f"{self.namespace}:{self.action} argument {index} is no id")
        return value


class StaleCallback(ValueError):
    """The button was made by another version or is malformed."""


def pack(namespace: str, action: str, *args: object) -> str:
    """Build callback data; refuse anything over Telegram's 64 bytes."""
    data = ":".join([namespace, VERSION, action, *(str(a) for a in args)])
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def unpack(data: str) -> Callback:
    """Parse callback data made by `pack`."""
    parts = data.split(":")
    if len(parts) < 3 or parts[1] != VERSION:
        raise StaleCallback(data)
    return Callback(parts[0], parts[2], tuple(parts[3:]))
