"""What flows through the engine: Inbound in, Reply out, channel-neutral.

Adapters convert their framework's update into an `Inbound` and render each `Reply`;
nothing here knows Telegram. A `Reply` with `chat_id` None answers the chat the
inbound came from; with a `chat_id` it is pushed to that chat (a reminder, a
notification to staff).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

MAX_TEXT_CHARS = 4096
MAX_CALLBACK_BYTES = 64
MAX_BUTTONS_PER_ROW = 8

AttachmentKind = Literal[
    "photo", "voice", "audio", "video", "video_note", "document", "sticker", "animation", "location", "other"
]
ButtonKind = Literal["callback", "request_contact", "url"]


@dataclass(frozen=True)
class Attachment:
    """A file or non-text item the user sent."""

    kind: AttachmentKind
    file_id: str | None = None
    file_name: str | None = None
    size: int | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class Inbound:
    """One thing a user did: a message, an edit, a button press or a shared contact."""

    channel: str
    chat_id: str
    user_id: str
    text: str | None = None
    callback_data: str | None = None
    callback_id: str | None = None
    callback_message_id: str | None = None
    attachment: Attachment | None = None
    shared_phone: str | None = None
    update_id: str | None = None
    message_id: str | None = None
    reply_to_message_id: str | None = None
    reply_to_text: str | None = None
    language_code: str | None = None
    display_name: str | None = None
    username: str | None = None
    is_edit: bool = False
    is_group: bool = False

    @property
    def is_callback(self) -> bool:
        """Tell whether this is a button press."""
        return self.callback_data is not None

    @property
    def message_key(self) -> str | None:
        """Return the key of the chat message this is (a log draft made from it, or kept when it failed)."""
        return f"{self.channel}:{self.chat_id}:{self.message_id}" if self.message_id else None

    @property
    def dedupe_key(self) -> str | None:
        """Return the key that identifies a redelivered update, if the channel gives one."""
        if self.update_id is not None:
            return f"{self.channel}:u:{self.update_id}"
        if self.message_id is not None and not self.is_edit:
            return f"{self.channel}:m:{self.chat_id}:{self.message_id}"
        return None


@dataclass(frozen=True)
class Button:
    """A button under a message: a callback, a share-contact request or a link."""

    label: str
    data: str = ""
    kind: ButtonKind = "callback"
    url: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "callback":
            size = len(self.data.encode("utf-8"))
            if not 1 <= size <= MAX_CALLBACK_BYTES:
                raise ValueError(f"callback data must be 1-64 bytes, got {size}: {self.data!r}")


@dataclass(frozen=True)
class Keyboard:
    """Rows of buttons; at most 8 a row."""

    rows: tuple[tuple[Button, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if not 1 <= len(row) <= MAX_BUTTONS_PER_ROW:
                raise ValueError("a keyboard row holds 1-8 buttons")

    @classmethod
    def of(cls, *rows: list[Button] | tuple[Button, ...]) -> Keyboard | None:
        """Build a keyboard from rows, dropping empty ones; None when no button is left."""
        kept = tuple(tuple(row) for row in rows if row)
        return cls(kept) if kept else None

    @classmethod
    def column(cls, buttons: list[Button], per_row: int = 1) -> Keyboard:
        """Lay `buttons` out `per_row` to a row."""
        rows = [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]
        return cls(tuple(rows))

    def buttons(self) -> list[Button]:
        """Return every button, row by row."""
        return [button for row in self.rows for button in row]

    @property
    def is_share_contact(self) -> bool:
        """Tell whether this keyboard asks for the user's phone (a reply keyboard in Telegram)."""
        return any(b.kind == "request_contact" for b in self.buttons())


@dataclass(frozen=True)
class OutFile:
    """A file to send: a chart or an export."""

    path: str
    caption: str | None = None
    kind: Literal["photo", "document"] = "photo"


@dataclass(frozen=True)
class Reply:
    """What the bot says back, or pushes to another chat."""

    text: str
    keyboard: Keyboard | None = None
    chat_id: str | None = None
    channel: str | None = None
    edit: bool = False
    toast: str | None = None
    # Answering a button press: the toast alone, no message (a repeated tap needs no line in the chat). The
    # text stays for channels without toasts and for a reply to typed text, which are sent as usual.
    toast_only: bool = False
    file: OutFile | None = None
    remove_keyboard: bool = False
    meta: dict[str, str] = field(default_factory=dict)
    # What a pushed message is about ("ticket:12"): recorded with its message id when sent, so a reply to
    # it finds its subject without reading our own wording.
    ref: str | None = None
    # Not kept once delivered (the last message to a customer whose data was erased: it carries their chat id).
    forget_when_sent: bool = False
    # Set by the engine: the message's row in the outbox (reported back when sent or failed), and for an
    # edit, the message to replace (kept so a retry much later still knows it).
    outbox_id: int | None = None
    edit_message_id: str | None = None
    # The chat's command menu to set, as (command, description) pairs, when a role changed; () puts the chat
    # back on the default (customers') menu. A reply that only sets a menu may have no text.
    menu: tuple[tuple[str, str], ...] | None = None

    def __post_init__(self) -> None:
        if not self.text.strip() and self.menu is None:
            raise ValueError("a reply needs text")
        if len(self.text) > MAX_TEXT_CHARS:
            raise ValueError(f"reply text is {len(self.text)} characters; the limit is {MAX_TEXT_CHARS}")


def chat_in_logs(reply: Reply, chat_id: str | None) -> str:
    """The chat a log line about `reply` names: not one whose reply must not outlive its delivery (an erased
    customer's: their chat id is kept nowhere, log files included)."""
    return "(not kept)" if reply.forget_when_sent else str(chat_id)


def is_toast_only(reply: Reply, inbound: Inbound | None) -> bool:
    """Tell whether `reply` is only the toast answering the button press `inbound` (no message to send)."""
    return (reply.toast_only and reply.toast is not None and inbound is not None and inbound.is_callback
            and reply.chat_id in (None, inbound.chat_id))


class StaffAddress(Protocol):
    """What addressing a staff member needs: their chat id on each channel they are reached on."""

    @property
    def addresses(self) -> Mapping[str, str]: ...


def staff_chat_id(user: StaffAddress, channel: str) -> str | None:
    """Return the chat a staff member is reached in on `channel`, if they are reached there."""
    return user.addresses.get(channel)
