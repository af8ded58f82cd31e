"""Try the bots by hand, offline: the tests' FakeBotApi on a fixed port, with a small HTTP simulation API.

Three terminals (README, "Try the bot over a local Bot API server")::

    .venv/bin/python -m tests.support.local_bot_api serve                      # 1: the server, on 127.0.0.1:8081
    TELEGRAM_API_URL=http://127.0.0.1:8081 TELEGRAM_BOT_TOKEN=123456789:AAFakeTokenForChatcrmTests_0123456789 \\
        CHATCRM_HOME=demo-home .venv/bin/chatcrm bot                             # 2: the bot (--framework ptb too)
    .venv/bin/python -m tests.support.local_bot_api say 1001 "Gọi anh Minh ..."  # 3: a user (chat id 1001) writes
    .venv/bin/python -m tests.support.local_bot_api tap 1001 1                   #    ... presses button [1]
    .venv/bin/python -m tests.support.local_bot_api show 1001                    #    ... reads the conversation

The server is `FakeBotApi` itself (every request validated against the Bot API spec, realistic answers,
long polling), plus, in the spirit of tgfake's `/sim` API (JSON in and out):

- `POST /sim/send {chat_id, text, user_id?, first_name?, last_name?, username?, language_code?, phone_number?}`:
  a user writes (`user_id` defaults to `chat_id`; required in a group, whose chat id is negative).
- `POST /sim/tap {chat_id, button, message_id?, user_id?}`: press a button. `button` is a label or a
  callback_data (exactly), the number `[n]` shown next to a button, or a unique part of a label, accents
  and emoji ignored ("luu" presses "✅ Lưu"). Numbers go to the inline buttons of the bot's latest message
  that has some, then to the reply keyboard's.
- `GET /sim/chat/{chat_id}`: the conversation, both sides, with buttons (numbered as `tap` reads them).
- `GET /sim/problems`: requests that broke the Bot API spec (the bot's bugs; empty is good).

`send` and `tap` take `wait` (seconds, default 0): answer once the bot has replied, and then been quiet for
`quiet` seconds (default 1), with its replies in that chat, the answer to the tap ("toast") and which other
chats it wrote to meanwhile. Update ids start from the clock, so a restarted server's updates are never
taken for ones a home has already handled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.fake_bot_api import DEFAULT_TOKEN, ApiRequest, FakeBotApi, FakeUser, TgMessage

log = logging.getLogger("local_bot_api")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081
PROFILE_FIELDS = ("first_name", "last_name", "username", "language_code", "phone_number")
MAX_WAIT_S = 120.0
_TOKEN = re.compile(r"\d+:[\w-]+")
_EPOCH_2024 = 1_704_067_200
# Calls a person watching the server's terminal does not need to see unless they fail.
_QUIET_METHODS = {"getUpdates", "getMe", "getWebhookInfo", "deleteWebhook", "setMyCommands", "deleteMyCommands",
                  "getMyCommands", "sendChatAction"}


class SimError(Exception):
    """A /sim request that cannot be carried out: answered with `status` and a JSON error."""

    def __init__(self, status: int, message: str, buttons: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.buttons = buttons


@dataclass(frozen=True)
class Pressable:
    """A button a user can press now: an inline button of a bot message, or one of the reply keyboard."""

    message_id: int | None  # None: the reply keyboard
    button: dict[str, Any]

    @property
    def text(self) -> str:
        """Return the label."""
        return str(self.button.get("text", ""))


def rising_update_id() -> int:
    """Return a first update_id that grows with the clock (tenths of a second since 2024, below 2**31 until 2030)."""
    return int((time.time() - _EPOCH_2024) * 10)


class LocalBotApi(FakeBotApi):
    """FakeBotApi on a fixed port that accepts one bot token and serves the /sim API (see module doc)."""

    def __init__(self, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str = DEFAULT_TOKEN,
                 first_update_id: int | None = None) -> None:
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"a bot token looks like 123456789:AAbc-_xyz, not {token!r}")
        super().__init__(host=host, port=port,
                         first_update_id=first_update_id if first_update_id is not None else rising_update_id())
        self.token = token
        self._bot_id = int(token.split(":", 1)[0])

    def make_app(self) -> web.Application:
        """Return the Bot API application with the /sim routes added."""
        app = super().make_app()
        app.router.add_get("/sim", self._sim_route(self._sim_index))
        app.router.add_post("/sim/send", self._sim_route(self._sim_send))
        app.router.add_post("/sim/tap", self._sim_route(self._sim_tap))
        app.router.add_get("/sim/chat/{chat_id}", self._sim_route(self._sim_chat))
        app.router.add_get("/sim/problems", self._sim_route(self._sim_problems))
        return app

    # --- the Bot API side: one token, and a readable trace -------------------------------------------------

    async def _on_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            log.warning("refused a call with another token (401): the bot must use TELEGRAM_BOT_TOKEN=%s", self.token)
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        return await super()._on_method(request)

    async def _answer(self, record: ApiRequest) -> web.Response:
        response = await super()._answer(record)
        if record.problems:  # FakeBotApi logs them itself ("invalid ... request")
            return response
        if record.method == "getUpdates" and record.status == 409:  # Telegram ends an older poll the same way
            log.info("getUpdates -> 409: a newer poll ended this one (a bot stopping, or two bots on one token)")
        elif not record.ok:
            log.warning("%s -> %s %s", record.method, record.status, record.description)
        elif record.method not in _QUIET_METHODS:
            log.info("%s", _describe_call(record))
        return response

    # --- /sim ---------------------------------------------------------------------------------------------

    def _sim_route(
        self, handler: Callable[[web.Request], Awaitable[dict[str, Any]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def route(request: web.Request) -> web.Response:
            try:
                return _json_response({"ok": True, **await handler(request)})
            except SimError as error:
                body: dict[str, Any] = {"ok": False, "error": error.message}
                if error.buttons is not None:
                    body["buttons"] = error.buttons
                return _json_response(body, status=error.status)

        return route

    async def _sim_index(self, request: web.Request) -> dict[str, Any]:
        return {"token": self.token, "bot_api": self.base_url, "endpoints": {
            "POST /sim/send": "{chat_id, text, user_id?, first_name?, last_name?, username?, language_code?, "
                              "phone_number?, wait?, quiet?}",
            "POST /sim/tap": "{chat_id, button (label, callback_data, number or part of a label), message_id?, "
                             "user_id?, wait?, quiet?}",
            "GET /sim/chat/{chat_id}": "the conversation with numbered buttons (?all=1: deleted messages too)",
            "GET /sim/problems": "requests that broke the Bot API spec",
        }}

    async def _sim_send(self, request: web.Request) -> dict[str, Any]:
        body = await _json_body(request)
        chat_id = _int_field(body, "chat_id")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise SimError(400, "text: the message, a non-empty string")
        user = self._sim_user(chat_id, body)
        mark = len(self.actions)
        update_id = self.send_text(chat_id, text, user=user)
        log.info("%s writes: %s", _who(chat_id, user), _one_line(text))
        return await self._outcome(chat_id, update_id, mark, body)

    async def _sim_tap(self, request: web.Request) -> dict[str, Any]:
        body = await _json_body(request)
        chat_id = _int_field(body, "chat_id")
        wanted = body.get("button")
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            wanted = str(wanted)
        if not isinstance(wanted, str) or not wanted.strip():
            raise SimError(400, "button: a label, a callback_data, a number shown by /sim/chat, or part of a label")
        message_id = _int_field(body, "message_id") if body.get("message_id") is not None else None
        user = self._sim_user(chat_id, body)
        mark = len(self.actions)
        pressed = self._find_button(chat_id, wanted.strip(), message_id)
        try:
            if pressed.message_id is None:
                update_id = self.tap(chat_id, pressed.text, user=user)
            else:
                data = pressed.button.get("callback_data")
                update_id = self.tap(chat_id, data if isinstance(data, str) else pressed.text,
                                     message_id=pressed.message_id, user=user)
        except LookupError as error:  # a URL or Web App button: nothing is sent to the bot
            raise SimError(400, str(error).strip("'\"")) from None
        log.info("%s taps «%s»%s", _who(chat_id, user), pressed.text,
                 f" on #{pressed.message_id}" if pressed.message_id else " (keyboard)")
        return {"pressed": pressed.text, **await self._outcome(chat_id, update_id, mark, body)}

    async def _sim_chat(self, request: web.Request) -> dict[str, Any]:
        try:
            chat_id = int(request.match_info["chat_id"])
        except ValueError:
            raise SimError(400, "chat_id: a number") from None
        include_deleted = request.query.get("all") in ("1", "true", "yes")
        messages = [m for m in self._messages.get(chat_id, {}).values() if include_deleted or not m.deleted]
        return self._chat_view(chat_id, messages)

    async def _sim_problems(self, request: web.Request) -> dict[str, Any]:
        return {"problems": self.problems}

    def _sim_user(self, chat_id: int, body: dict[str, Any]) -> FakeUser:
        if body.get("user_id") is not None:
            user_id = _int_field(body, "user_id")
        elif chat_id > 0:
            user_id = chat_id
        else:
            raise SimError(400, "user_id: who writes in this group chat")
        profile: dict[str, Any] = {}
        for key in PROFILE_FIELDS:
            if body.get(key) is not None:
                if not isinstance(body[key], str):
                    raise SimError(400, f"{key}: a string")
                profile[key] = body[key]
        user = self.users.get(user_id)
        if user is None:
            if "first_name" in profile:  # "Hoa", not FakeUser's "Hoa User"
                profile.setdefault("last_name", None)
            return self.add_user(user_id, **profile)
        for key, value in profile.items():
            setattr(user, key, value)
        return user

    async def _outcome(self, chat_id: int, update_id: int, mark: int, body: dict[str, Any]) -> dict[str, Any]:
        wait = _seconds(body, "wait", 0.0)
        quiet = _seconds(body, "quiet", 1.0)
        if wait > 0:
            await self._settle(chat_id, mark, wait=wait, quiet=quiet)
        actions = self.actions[mark:]
        mine = list(dict.fromkeys(a.message_id for a in actions
                                  if a.chat_id == chat_id and a.kind in ("send", "edit") and a.message_id is not None))
        replies = [m for m in (self.message(chat_id, i) for i in mine) if m is not None]
        elsewhere: dict[str, int] = {}
        for action in actions:
            if action.kind == "send" and action.chat_id is not None and action.chat_id != chat_id:
                elsewhere[str(action.chat_id)] = elsewhere.get(str(action.chat_id), 0) + 1
        answer = self.callback_answer(update_id)
        view = self._chat_view(chat_id, replies)
        calls = [r.at for r in self.requests if r.token == self.token]
        return {"update_id": update_id, "replies": view["messages"], "keyboard": view["keyboard"],
                "answer": answer.get("text") if answer else None, "elsewhere": elsewhere,
                "bot_last_call_s": round(time.monotonic() - calls[-1], 1) if calls else None}

    async def _settle(self, chat_id: int, mark: int, *, wait: float, quiet: float) -> None:
        """Wait until the bot said something in the chat, then until it has been quiet there for `quiet` seconds."""

        def activity() -> int:
            return sum(1 for a in self.actions[mark:] if a.chat_id == chat_id)

        def said() -> bool:
            return any(a.chat_id == chat_id and a.kind in ("send", "edit") for a in self.actions[mark:])

        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        with contextlib.suppress(TimeoutError):
            await self.wait_for(lambda: activity() > 0, timeout=wait)
        while activity() and loop.time() < deadline:
            seen = activity()

            def more(seen: int = seen) -> bool:
                return activity() > seen

            # A tap answered with only a toast so far: the work (a save, an edit) usually follows it.
            settle = quiet if said() else 3 * quiet
            try:
                await self.wait_for(more, timeout=max(min(settle, deadline - loop.time()), 0.01))
            except TimeoutError:
                return

    def _chat_view(self, chat_id: int, messages: list[TgMessage]) -> dict[str, Any]:
        numbered = self._pressable(chat_id)
        number = {(p.message_id, _button_key(p.button)): n for n, p in enumerate(numbered, 1)}
        views = []
        for m in messages:
            view: dict[str, Any] = {"message_id": m.message_id, "from": "bot" if m.from_bot else "user",
                                    "kind": m.kind, "text": m.body, "edited": bool(m.edits), "deleted": m.deleted}
            if not m.from_bot:
                view["user_id"] = m.raw.get("from", {}).get("id")
                if m.kind == "contact":
                    view["text"] = m.raw["contact"].get("phone_number")
            view["buttons"] = [[_button_view(b, number.get((m.message_id, _button_key(b)))) for b in row]
                               for row in m.inline_keyboard]
            views.append(view)
        keyboard = self.reply_keyboard(chat_id)
        rows = None
        if keyboard is not None:
            rows = []
            for row in keyboard.get("keyboard", []):
                buttons = [b if isinstance(b, dict) else {"text": str(b)} for b in row]
                rows.append([_button_view(b, number.get((None, _button_key(b)))) for b in buttons])
        return {"chat_id": chat_id, "messages": views, "keyboard": rows}

    def _pressable(self, chat_id: int, message_id: int | None = None) -> list[Pressable]:
        """Return the buttons `tap N` numbers: the latest bot message with inline buttons, then the reply keyboard."""
        found: list[Pressable] = []
        for message in reversed(self.sent(chat_id)):
            if message.inline_keyboard and message_id in (None, message.message_id):
                found = [Pressable(message.message_id, b) for row in message.inline_keyboard for b in row]
                break
        keyboard = self.reply_keyboard(chat_id)
        if keyboard is not None and message_id is None:
            found += [Pressable(None, b if isinstance(b, dict) else {"text": str(b)})
                      for row in keyboard.get("keyboard", []) for b in row]
        return found

    def _find_button(self, chat_id: int, wanted: str, message_id: int | None) -> Pressable:
        numbered = self._pressable(chat_id, message_id)
        everywhere = [Pressable(m.message_id, b) for m in reversed(self.sent(chat_id))
                      if message_id in (None, m.message_id) for row in m.inline_keyboard for b in row]
        for tier in (numbered, everywhere):
            exact = [p for p in tier if wanted in (p.text, p.button.get("callback_data"))]
            if exact:
                return exact[0]
        if wanted.isdigit():
            n = int(wanted)
            if 1 <= n <= len(numbered):
                return numbered[n - 1]
            raise SimError(404, f"no button [{n}] in chat {chat_id}", _listed(numbered))
        key = _fold(wanted)
        for tier in (numbered, everywhere):
            same = [p for p in tier if _fold(p.text) == key]
            if same:
                return same[0]
            parts = [p for p in tier if key and key in _fold(p.text)]
            if len({(p.message_id, p.text) for p in parts}) == 1:
                return parts[0]
            if parts:
                raise SimError(409, f"{wanted!r} matches several buttons; give more of the label or its number",
                               _listed(parts))
        raise SimError(404, f"no button {wanted!r} in chat {chat_id}", _listed(numbered))


# --- helpers of the server ----------------------------------------------------------------------------------


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False))


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise SimError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise SimError(400, "the body must be a JSON object")
    return body


def _int_field(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool):
        raise SimError(400, f"{key}: a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise SimError(400, f"{key}: a number")


def _seconds(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SimError(400, f"{key}: a number of seconds")
    return min(float(value), MAX_WAIT_S)


def _button_key(button: dict[str, Any]) -> str:
    return str(button.get("callback_data") or button.get("text"))


def _button_view(button: dict[str, Any], n: int | None) -> dict[str, Any]:
    view = {k: v for k, v in button.items() if k in ("text", "callback_data", "url", "request_contact")}
    if n is not None:
        view["n"] = n
    return view


def _listed(pressables: list[Pressable]) -> list[dict[str, Any]]:
    return [{"text": p.text, "message_id": p.message_id} for p in pressables]


def _fold(text: str) -> str:
    """Fold a label for loose matching: no accents, no emoji or punctuation, lower case."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    kept = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.casefold().split())


def _one_line(text: str | None, limit: int = 100) -> str:
    flat = " ⏎ ".join((text or "").splitlines())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _who(chat_id: int, user: FakeUser) -> str:
    return str(chat_id) if user.id == chat_id else f"{user.id} in {chat_id}"


def _describe_call(record: ApiRequest) -> str:
    params = record.params
    chat = params.get("chat_id")
    markup = params.get("reply_markup")
    buttons = ""
    if isinstance(markup, dict):
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        labels = [b.get("text") if isinstance(b, dict) else str(b) for row in rows for b in row]
        buttons = f"  [{' | '.join(str(label) for label in labels)}]" if labels else ""
    if record.method == "sendMessage":
        return f"bot -> {chat}: {_one_line(params.get('text'))}{buttons}"
    if record.method in ("editMessageText", "editMessageCaption"):
        body = params.get("text", params.get("caption"))
        return f"bot edits #{params.get('message_id')} in {chat}: {_one_line(body)}{buttons}"
    if record.method == "editMessageReplyMarkup":
        return f"bot changes the buttons of #{params.get('message_id')} in {chat}:{buttons or ' none'}"
    if record.method == "answerCallbackQuery":
        return f"bot answers a tap{': ' + _one_line(params.get('text')) if params.get('text') else ''}"
    if record.method in ("sendPhoto", "sendDocument"):
        return f"bot -> {chat}: a {record.method[4:].lower()} {_one_line(params.get('caption'))}{buttons}"
    return f"{record.method} to {chat}" if chat is not None else record.method


# --- the command line ----------------------------------------------------------------------------------------


async def serve(*, host: str, port: int, token: str) -> None:
    """Run the local Bot API server until SIGINT or SIGTERM."""
    api = LocalBotApi(host=host, port=port, token=token)
    try:
        await api.start()
    except OSError as error:
        raise SystemExit(f"cannot listen on {host}:{port}: {error.strerror} (another server there? --port N)") from None
    print(f"Local Bot API server on {api.base_url}: offline, every request checked against the Bot API spec.\n"
          f"  the bot:  TELEGRAM_API_URL={api.base_url} TELEGRAM_BOT_TOKEN={token} "
          "CHATCRM_HOME=<home> .venv/bin/chatcrm bot [--framework ptb]\n"
          "  a user:   .venv/bin/python -m tests.support.local_bot_api say 1001 \"...\"  |  tap 1001 1  |  show 1001\n"
          f"  the API:  {api.base_url}/sim   (Ctrl+C stops; the chats are kept in memory only)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await api.close()


def _request(url: str, body: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        try:
            answer = json.loads(error.read())
        except ValueError:
            answer = {"ok": False, "error": f"HTTP {error.code} from {url}: is this the local Bot API server?"}
        return answer


def _print_message(view: dict[str, Any], out: Callable[[str], None]) -> None:
    if view["from"] == "user":
        out(f"> {view.get('user_id')}: {view.get('text') or '(' + str(view['kind']) + ')'}")
        return
    flags = " (edited)" if view.get("edited") else ""
    flags += " (deleted)" if view.get("deleted") else ""
    body = view.get("text") if view.get("text") is not None else f"({view['kind']})"
    out(f"bot #{view['message_id']}{flags}: {body}")
    labels = [_label(b) for row in view.get("buttons", []) for b in row]
    if labels:
        out("  " + "  ".join(labels))


def _label(button: dict[str, Any]) -> str:
    n = button.get("n")
    return f"[{n}] {button['text']}" if n is not None else f"· {button['text']}"


def _print_keyboard(rows: list[list[dict[str, Any]]] | None, out: Callable[[str], None]) -> None:
    if rows:
        out("  keyboard: " + "  ".join(_label(b) for row in rows for b in row))


def client(args: argparse.Namespace) -> int:
    """Run `say`, `tap` or `show` against the server's /sim API; print what the bot answered."""
    base = args.url.rstrip("/")
    out = print
    timeout = getattr(args, "wait", 0) + 15
    try:
        if args.command == "show":
            answer = _request(f"{base}/sim/chat/{args.chat_id}" + ("?all=1" if args.all else ""), None, timeout)
        elif args.command == "say":
            body: dict[str, Any] = {"chat_id": args.chat_id, "text": args.text, "wait": args.wait}
            if args.user is not None:
                body["user_id"] = args.user
            for key, value in (("first_name", args.name), ("language_code", args.lang), ("phone_number", args.phone)):
                if value is not None:
                    body[key] = value
            answer = _request(f"{base}/sim/send", body, timeout)
        else:
            body = {"chat_id": args.chat_id, "button": args.button, "wait": args.wait}
            if args.message_id is not None:
                body["message_id"] = args.message_id
            if args.user is not None:
                body["user_id"] = args.user
            answer = _request(f"{base}/sim/tap", body, timeout)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        print(f"no local Bot API server at {base} ({reason}): start it with `make telegram-local`", file=sys.stderr)
        return 1
    if args.json:
        out(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0 if answer.get("ok") else 1
    if not answer.get("ok"):
        print(f"error: {answer.get('error')}", file=sys.stderr)
        if answer.get("buttons"):
            print("buttons: " + "  ".join(f"«{b['text']}»" for b in answer["buttons"]), file=sys.stderr)
        return 1
    if args.command == "show":
        messages = answer["messages"][-args.last:] if args.last else answer["messages"]
        for view in messages:
            _print_message(view, out)
        _print_keyboard(answer["keyboard"], out)
        return 0
    if args.command == "tap":
        out(f"(pressed «{answer['pressed']}»)")
    if answer.get("answer"):
        out(f"  (toast: {answer['answer']})")
    for view in answer["replies"]:
        _print_message(view, out)
    _print_keyboard(answer["keyboard"], out)
    for chat, count in answer.get("elsewhere", {}).items():
        out(f"(the bot also wrote {count} message(s) to chat {chat}: show {chat})")
    if not answer["replies"] and not answer.get("answer") and args.wait:
        print(_silence(answer.get("bot_last_call_s"), args.wait, base), file=sys.stderr)
        return 1
    return 0


def _silence(last_call_s: float | None, wait: float, base: str) -> str:
    """Say why the bot did not answer, as far as the server can tell."""
    if last_call_s is None:
        return (f"no reply: no bot has called {base} yet; start one with TELEGRAM_API_URL={base} "
                f"TELEGRAM_BOT_TOKEN=<the server's token> .venv/bin/chatcrm bot")
    if last_call_s > 15:
        return f"no reply: the bot last called {base} {last_call_s:g} s ago; is it still running?"
    return f"no reply within {wait:g} s (the bot is polling {base}; its terminal may say why)"


def parser() -> argparse.ArgumentParser:
    """Return the command line: serve, say, tap, show."""
    default_url = os.environ.get("TELEGRAM_API_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    top = argparse.ArgumentParser(prog="python -m tests.support.local_bot_api",
                                  description="A local Telegram Bot API server to try the bots by hand, offline.")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the server (Ctrl+C stops it)")
    run.add_argument("--host", default=DEFAULT_HOST)
    run.add_argument("--port", type=int, default=DEFAULT_PORT)
    run.add_argument("--token", default=DEFAULT_TOKEN, help="the only bot token accepted (default: the tests' one)")
    run.add_argument("-v", "--verbose", action="store_true", help="log every Bot API call, polling included")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("chat_id", type=int, help="the chat (a user's id in a private chat)")
        sub.add_argument("--url", default=default_url, help=f"the server (default: {default_url})")
        sub.add_argument("--json", action="store_true", help="print the server's JSON answer")

    say = commands.add_parser("say", help="a user writes to the bot; print the bot's replies")
    common(say)
    say.add_argument("text")
    say.add_argument("--user", type=int, help="who writes (default: the chat id; needed in a group)")
    say.add_argument("--name", help="the user's first name as Telegram shows it")
    say.add_argument("--lang", help="the user's app language (vi, en)")
    say.add_argument("--phone", help="the phone the user shares with a share-contact button")
    say.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a reply (default 30)")
    tap = commands.add_parser("tap", help="press a button (label, number or part of a label); print the replies")
    common(tap)
    tap.add_argument("button")
    tap.add_argument("--message-id", type=int, help="the bot message whose button to press (default: the latest)")
    tap.add_argument("--user", type=int, help="who presses (default: the chat id)")
    tap.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a reply (default 30)")
    show = commands.add_parser("show", help="print the conversation")
    common(show)
    show.add_argument("--last", type=int, default=20, help="the last N messages (0: all; default 20)")
    show.add_argument("--all", action="store_true", help="deleted messages too")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = parser().parse_args(argv)
    if args.command == "serve":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
        if args.verbose:
            _QUIET_METHODS.clear()
        if not _TOKEN.fullmatch(args.token):
            print(f"--token: a bot token looks like 123456789:AAbc-_xyz, not {args.token!r}", file=sys.stderr)
            return 2
        asyncio.run(serve(host=args.host, port=args.port, token=args.token))
        return 0
    return client(args)


if __name__ == "__main__":
    sys.exit(main())
