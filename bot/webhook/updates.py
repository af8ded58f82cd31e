"""What the ingress reads from a raw Telegram update: its id and the chat whose order it belongs to."""

from __future__ import annotations

from typing import Any

# Update fields that carry a chat, and where the chat is inside each.
_CHAT_PATHS: tuple[tuple[str, ...], ...] = (
    ("message", "chat", "id"), ("edited_message", "chat", "id"), ("channel_post", "chat", "id"),
    ("edited_channel_post", "chat", "id"), ("business_message", "chat", "id"),
    ("callback_query", "message", "chat", "id"), ("callback_query", "from", "id"),
    ("my_chat_member", "chat", "id"), ("chat_member", "chat", "id"), ("chat_join_request", "chat", "id"),
    ("inline_query", "from", "id"), ("pre_checkout_query", "from", "id"), ("shipping_query", "from", "id"),
    ("poll_answer", "user", "id"),
)


def update_id_of(update: dict[str, Any]) -> int:
    """Return the update's id (raises ValueError for something that is not an update)."""
    value = update.get("update_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a Telegram update: no integer update_id")
    return value


def chat_key_of(update: dict[str, Any]) -> str:
    """Return the key whose updates must be handled in order: the chat, else the user, else the update itself."""
    for path in _CHAT_PATHS:
        node: Any = update
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if isinstance(node, int | str) and not isinstance(node, bool):
            return str(node)
    return f"update:{update_id_of(update)}"
