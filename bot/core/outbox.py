"""A reply as the outbox keeps it: JSON that any process can turn back into the same `Reply`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crm_core.services.outbox import OutboxItem

from bot.core.messages import Button, Keyboard, OutFile, Reply


def to_payload(reply: Reply) -> dict[str, Any]:
    """Return the JSON the outbox keeps for `reply` (its address is kept in the row's columns)."""
    payload: dict[str, Any] = {"text": reply.text}
    if reply.keyboard is not None:
        payload["keyboard"] = [[_button(b) for b in row] for row in reply.keyboard.rows]
    if reply.edit:
        payload["edit"] = True
    if reply.edit_message_id is not None:
        payload["edit_message_id"] = reply.edit_message_id
    if reply.file is not None:
        payload["file"] = {"path": reply.file.path, "caption": reply.file.caption, "kind": reply.file.kind}
    if reply.remove_keyboard:
        payload["remove_keyboard"] = True
    if reply.ref is not None:
        payload["ref"] = reply.ref
    if reply.forget_when_sent:
        payload["forget_when_sent"] = True
    if reply.menu is not None:
        payload["menu"] = [list(command) for command in reply.menu]
    return payload


def _button(button: Button) -> dict[str, Any]:
    return {"label": button.label, "data": button.data, "kind": button.kind, "url": button.url}


def from_item(item: OutboxItem) -> Reply:
    """Return the reply an outbox row holds, addressed to its chat."""
    payload = item.payload
    keyboard = Keyboard(tuple(tuple(Button(b["label"], b.get("data", ""), b.get("kind", "callback"), b.get("url"))
                                    for b in row) for row in payload["keyboard"])) if payload.get("keyboard") else None
    file = payload.get("file")
    return Reply(payload["text"], keyboard=keyboard, chat_id=item.chat_id, channel=item.channel,
                 edit=bool(payload.get("edit")), edit_message_id=payload.get("edit_message_id"),
                 file=OutFile(file["path"], file.get("caption"), file.get("kind", "photo")) if file else None,
                 remove_keyboard=bool(payload.get("remove_keyboard")), ref=payload.get("ref"), outbox_id=item.id,
                 forget_when_sent=bool(payload.get("forget_when_sent")),
                 menu=tuple((name, text) for name, text in payload["menu"]) if "menu" in payload else None)


def addressed(reply: Reply, *, channel: str, chat_id: str, edit_message_id: str | None) -> Reply:
    """Return `reply` with its chat and channel filled in (a reply to the inbound chat has none)."""
    return replace(reply, channel=reply.channel or channel, chat_id=reply.chat_id or chat_id,
                   edit_message_id=reply.edit_message_id or (edit_message_id if reply.edit else None))
