"""A small, strict, offline Telegram Bot API server for tests (aiohttp on 127.0.0.1, ephemeral port).

Point any framework at `api.base_url` and drive it like a user would::

    async with FakeBotApi() as api:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        api.send_text(777, "xin chào")                # a user writes; returns the update_id
        replies = await api.wait_for(1, chat_id=777)  # the bot's messages to that chat, once there is one
        api.tap(777, "Yes")                           # press a button by label or callback_data
        assert api.problems == []                     # every request matched the Bot API spec

Every request is decoded (multipart, form-urlencoded, JSON or query string), validated with
`tests.support.bot_api_spec.validate_request`, recorded in `api.requests` and, when invalid, answered
with HTTP 400 in Telegram's `{"ok": false, ...}` envelope. Answers are realistic `Message`, `File`,
`Update` objects (aiogram and PTB both validate responses); a per-chat message store makes edits,
deletes and button taps resolve like Telegram ("message to edit not found", "message is not
modified"). `getUpdates` implements long polling with offset confirmation; `setWebhook` switches to
webhook delivery (at least once: a non-2xx answer is retried).

Sim helpers (in the spirit of tgfake's `/sim`): `send_text`, `send_photo`, `send_document`,
`send_voice`, `send_sticker`, `send_contact`, `album`, `edit`, `tap`, `tap_forged`, `redeliver`, `enqueue`,
`fail_next`, `hold`, `block`. Observation: `requests`, `problems`, `calls`, `sent`, `last`, `texts`,
`actions`, `callback_answer`, `reply_keyboard`, `commands_for`, `file_bytes`, `wait_for`, `say`, `press`,
`wait_confirmed`.

To try the bots by hand, `tests.support.local_bot_api` runs this server standalone on a fixed port with an
HTTP `/sim` API and a small client (`say`, `tap`, `show`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import ClientSession, ClientTimeout, web

from tests.support.bot_api_spec import (
    UploadedFile,
    canonical_method,
    decode_params,
    load_spec,
    validate_request,
)

log = logging.getLogger(__name__)

MAX_BOT_DOWNLOAD_BYTES = 20 * 1024 * 1024  # bots may download files up to 20 MB (getFile)
DEFAULT_TOKEN = "123456789:AAFakeTokenForChatcrmTests_0123456789"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_SUPERGROUP_LIMIT = -1_000_000_000_000
_ATTACH = re.compile(r"attach://([\w\-]+)")


class BotApiError(Exception):
    """An error answer of the Bot API: HTTP status = error_code, with a Telegram description."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class ApiRequest:
    """One request the bot made: method (canonical spelling), decoded params and what went wrong."""

    method: str
    params: dict[str, Any]
    problems: list[str]
    token: str
    status: int = 200
    description: str | None = None
    injected: bool = False
    at: float = field(default_factory=time.monotonic)  # when it arrived (edit pacing is checked with it)

    @property
    def ok(self) -> bool:
        """Tell whether the request was answered successfully."""
        return self.status == 200


@dataclass
class FakeUser:
    """A Telegram user on the other side of the chat."""

    id: int
    first_name: str = "Test"
    last_name: str | None = "User"
    username: str | None = None
    language_code: str | None = "vi"
    phone_number: str | None = None

    @property
    def phone(self) -> str:
        """Return the phone this user shares (a made-up Vietnamese mobile when none is set)."""
        return self.phone_number or f"+8490{self.id % 10_000_000:07d}"

    def to_api(self) -> dict[str, Any]:
        """Return the Bot API `User` object."""
        return _compact(
            {
                "id": self.id,
                "is_bot": False,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )


@dataclass
class TgMessage:
    """A message in the fake's per-chat store, from the bot or from a user."""

    chat_id: int
    message_id: int
    from_bot: bool
    raw: dict[str, Any]
    kind: str = "text"
    text: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    file_id: str | None = None
    deleted: bool = False
    edits: list[str | None] = field(default_factory=list)

    @property
    def body(self) -> str | None:
        """Return the text, or the caption of a media message."""
        return self.text if self.text is not None else self.caption

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        """Return the rows of inline buttons (empty when there are none)."""
        if not self.reply_markup:
            return []
        rows: list[list[dict[str, Any]]] = self.reply_markup.get("inline_keyboard", [])
        return rows

    @property
    def button_rows(self) -> list[list[str]]:
        """Return button labels row by row (inline keyboard or reply keyboard)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or self.reply_markup.get("keyboard") or []
        return [[b["text"] if isinstance(b, dict) else str(b) for b in row] for row in rows]

    @property
    def buttons(self) -> list[str]:
        """Return every button label, row by row."""
        return [label for row in self.button_rows for label in row]

    @property
    def callback_data(self) -> list[str]:
        """Return the callback_data of every inline button."""
        return [b["callback_data"] for row in self.inline_keyboard for b in row if "callback_data" in b]


@dataclass(frozen=True)
class BotAction:
    """Something the bot did in a chat: send, edit, delete, answer (a callback) or chat_action."""

    kind: str
    chat_id: int | None
    message_id: int | None = None
    text: str | None = None


@dataclass
class Hold:
    """A call the fake keeps waiting (`FakeBotApi.hold`), to kill the caller at a chosen point.

    `reached` is set when the call arrives. `accept=False`: nothing has happened yet; `release()` lets it
    take effect, `drop()` answers 502 without it ever taking effect (Telegram never accepted it).
    `accept=True`: the call has taken effect (a message is stored) and only its answer waits for `release()`.
    """

    method: str
    chat_id: int | None
    accept: bool
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    request: ApiRequest | None = None
    dropped: bool = False
    _go: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let the held call go on (or its answer go out)."""
        self._go.set()

    def drop(self) -> None:
        """Answer the held call with 502, never carrying it out (an `accept=False` hold only)."""
        self.dropped = True
        self._go.set()

    async def _wait(self, record: ApiRequest) -> None:
        self.request = record
        self.reached.set()
        await self._go.wait()


@dataclass
class _Pending:
    update: dict[str, Any]
    redelivery: bool = False
    delivered: bool = False

    @property
    def update_id(self) -> int:
        value: int = self.update["update_id"]
        return value


@dataclass
class _Failure:
    code: int
    description: str
    retry_after: int | None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    path: str


Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class FakeBotApi:
    """An offline, spec-validating Telegram Bot API server with simulation helpers (see module doc)."""

    def __init__(
        self,
        *,
        bot_username: str = "chatcrm_test_bot",
        bot_first_name: str = "ChatCRM Test",
        host: str = "127.0.0.1",
        port: int = 0,
        first_update_id: int = 1,
    ) -> None:
        self.host = host
        self.port = port  # 0: an ephemeral port, known once started
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.requests: list[ApiRequest] = []
        self.actions: list[BotAction] = []
        self.users: dict[int, FakeUser] = {}
        self.blocked: set[int] = set()
        self.commands: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        self.dropped_updates: list[dict[str, Any]] = []
        self.webhook_deliveries: list[tuple[int, int]] = []
        # When each update was first handed to the bot (a getUpdates answer or a webhook POST about to start),
        # on time.monotonic() like ApiRequest.at: benchmarks time replies from it.
        self.delivered_at: dict[int, float] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.confirmed_offset = 0
        self._bot_id = int(DEFAULT_TOKEN.split(":", 1)[0])
        self._messages: dict[int, dict[int, TgMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._update_ids = itertools.count(first_update_id)
        self._updates: dict[int, dict[str, Any]] = {}
        self._pending: list[_Pending] = []
        self._allowed_updates: list[str] | None = None
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._reply_keyboards: dict[int, dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._holds: list[Hold] = []
        self._poll_seq = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._client: ClientSession | None = None
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def make_app(self) -> web.Application:
        """Return the aiohttp application: Bot API methods and file downloads (subclasses add routes)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._on_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._on_file)
        return app

    async def start(self) -> None:
        """Start serving on `port` of `host` (an ephemeral port when `port` is 0)."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.port:  # a fixed port is free again at once after a restart
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        """Wake every waiting long poll, stop webhook delivery and shut the server down."""
        self._closing = True
        for hold in self._holds:
            hold.release()
        self._notify()
        await self._stop_webhook_delivery()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """Return the server root, e.g. `http://127.0.0.1:PORT` (aiogram: `TelegramAPIServer.from_base`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_id(self) -> int:
        """Return the bot's user id (the number before the colon of the token)."""
        return self._bot_id

    # --- observation --------------------------------------------------------------------------

    @property
    def problems(self) -> list[str]:
        """Return every validation problem seen so far (tests assert it is empty)."""
        return [problem for request in self.requests for problem in request.problems]

    def calls(self, method: str) -> list[ApiRequest]:
        """Return the recorded requests of one method (any spelling)."""
        name = (canonical_method(method) or method).lower()
        return [r for r in self.requests if r.method.lower() == name]

    def sent(self, chat_id: int, *, include_deleted: bool = False) -> list[TgMessage]:
        """Return the bot's messages to a chat, oldest first, as they are now (after edits)."""
        messages = self._messages.get(chat_id, {}).values()
        return [m for m in messages if m.from_bot and (include_deleted or not m.deleted)]

    def last(self, chat_id: int) -> TgMessage:
        """Return the bot's latest message to a chat."""
        sent = self.sent(chat_id)
        if not sent:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return sent[-1]

    def texts(self, chat_id: int) -> list[str | None]:
        """Return the text (or caption) of each of the bot's messages to a chat."""
        return [m.body for m in self.sent(chat_id)]

    def message(self, chat_id: int, message_id: int) -> TgMessage | None:
        """Return any stored message (the bot's or a user's)."""
        return self._messages.get(chat_id, {}).get(message_id)

    def callback_answer(self, update_id: int) -> dict[str, Any] | None:
        """Return the answerCallbackQuery params for the tap that made `update_id` (None if unanswered)."""
        for record in self._callbacks.values():
            if record["update_id"] == update_id:
                answer: dict[str, Any] | None = record["answer"]
                return answer
        return None

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """Return the custom reply keyboard the user currently sees in a chat, if any."""
        return self._reply_keyboards.get(chat_id)

    def commands_for(
        self, scope: str = "default", *, chat_id: int | None = None, language: str | None = None
    ) -> list[tuple[str, str]] | None:
        """Return the command menu set for a scope (`default` or `chat` with `chat_id`) and language."""
        key = "default" if scope == "default" else f"{scope}:{chat_id}"
        return self.commands.get((key, language or None))

    @property
    def all_updates(self) -> list[dict[str, Any]]:
        """Return every update created so far (raw Update objects), oldest first."""
        return [self._updates[k] for k in sorted(self._updates)]

    @property
    def pending_update_ids(self) -> list[int]:
        """Return the ids of updates not yet confirmed by the bot."""
        return [p.update_id for p in self._pending]

    # --- waiting ------------------------------------------------------------------------------

    async def wait_for(
        self,
        condition: int | Callable[[], Any],
        *,
        chat_id: int | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - the familiar spelling for a test helper
    ) -> Any:
        """Wait until the bot has sent `condition` messages (to `chat_id`, or in all) or a predicate holds.

        An int returns the bot's messages (to the chat); a zero-argument callable returns its first
        truthy result (LookupError inside it counts as "not yet"). Raises TimeoutError with the
        recent traffic after `timeout` seconds: a safety net, not a speed assertion.
        """

        def check() -> Any:
            if isinstance(condition, int):
                sent = self._all_sent() if chat_id is None else self.sent(chat_id, include_deleted=True)
                return sent if len(sent) >= condition else None
            try:
                return condition()
            except LookupError:
                return None

        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    result = check()
                    if result:
                        return result
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(f"waited {timeout}s for {condition!r}; {self.describe_traffic()}") from None

    async def say(
        self,
        chat_id: int,
        text: str,
        *,
        expect: int = 1,
        user: FakeUser | int | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> list[TgMessage]:
        """Send a text as the user and return the bot's next `expect` outputs (new or edited messages)."""
        mark = len(self.actions)
        self.send_text(chat_id, text, user=user)
        return await self._outputs_after(mark, chat_id, expect, timeout)

    async def press(
        self,
        chat_id: int,
        button: str,
        *,
        expect: int = 1,
        message_id: int | None = None,
        user: FakeUser | int | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> list[TgMessage]:
        """Tap a button and return the bot's next `expect` outputs (an edited message counts)."""
        mark = len(self.actions)
        self.tap(chat_id, button, message_id=message_id, user=user)
        return await self._outputs_after(mark, chat_id, expect, timeout)

    async def wait_confirmed(self, update_id: int, *, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has confirmed (acknowledged) an update."""
        await self.wait_for(lambda: update_id not in self.pending_update_ids, timeout=timeout)

    async def _outputs_after(self, mark: int, chat_id: int, expect: int, limit_s: float) -> list[TgMessage]:
        def outputs() -> list[TgMessage] | None:
            found = [a for a in self.actions[mark:] if a.chat_id == chat_id and a.kind in ("send", "edit")]
            if len(found) < expect:
                return None
            messages = [self.message(chat_id, a.message_id) for a in found if a.message_id is not None]
            return [m for m in messages if m is not None]

        result: list[TgMessage] = await self.wait_for(outputs, timeout=limit_s)
        return result

    def describe_traffic(self, last: int = 12) -> str:
        """Summarise the latest requests and all problems (for failure messages)."""
        recent = [f"{r.method}({_short(r.params)}) -> {r.status}" for r in self.requests[-last:]]
        return f"recent requests: {recent}; problems: {self.problems}"

    # --- simulation: users act ----------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = "User",
        username: str | None = None,
        language_code: str | None = "vi",
        phone_number: str | None = None,
    ) -> FakeUser:
        """Register a user profile, used by default in the private chat with the same id."""
        user = FakeUser(user_id, first_name, last_name, username, language_code, phone_number)
        self.users[user_id] = user
        return user

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user: FakeUser | int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Enqueue a text message from a user (a `/command` gets its bot_command entity); return the update_id."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        message = self._user_message(chat_id, user, content, kind="text", reply_to=reply_to)
        return self._enqueue_kind("message", message.raw)

    def send_photo(
        self,
        chat_id: int,
        caption: str | None = None,
        *,
        user: FakeUser | int | None = None,
        data: bytes = b"\x89PNG fake photo",
        media_group_id: str | None = None,
    ) -> int:
        """Enqueue a photo (two sizes, downloadable with getFile) from a user; return the update_id."""
        small = self._store_file(data[:16], "photo")
        large = self._store_file(data, "photo")
        content: dict[str, Any] = {
            "photo": [
                {**_file_obj(small), "width": 90, "height": 90},
                {**_file_obj(large), "width": 1280, "height": 960},
            ],
            "caption": caption,
            "media_group_id": media_group_id,
        }
        message = self._user_message(chat_id, user, content, kind="photo")
        message.file_id = large.file_id
        return self._enqueue_kind("message", message.raw)

    def send_document(
        self,
        chat_id: int,
        file_name: str = "report.pdf",
        *,
        mime_type: str = "application/pdf",
        data: bytes = b"%PDF-1.4 fake",
        caption: str | None = None,
        user: FakeUser | int | None = None,
    ) -> int:
        """Enqueue a document from a user; return the update_id."""
        stored = self._store_file(data, "document")
        content = {
            "document": {**_file_obj(stored), "file_name": file_name, "mime_type": mime_type},
            "caption": caption,
        }
        message = self._user_message(chat_id, user, content, kind="document")
        message.file_id = stored.file_id
        return self._enqueue_kind("message", message.raw)

    def send_voice(
        self, chat_id: int, *, duration: int = 3, data: bytes = b"OggS fake voice", user: FakeUser | int | None = None
    ) -> int:
        """Enqueue a voice note from a user; return the update_id."""
        stored = self._store_file(data, "voice")
        content = {"voice": {**_file_obj(stored), "duration": duration, "mime_type": "audio/ogg"}}
        message = self._user_message(chat_id, user, content, kind="voice")
        message.file_id = stored.file_id
        return self._enqueue_kind("message", message.raw)

    def send_sticker(self, chat_id: int, emoji: str = "👍", *, user: FakeUser | int | None = None) -> int:
        """Enqueue a sticker from a user; return the update_id."""
        stored = self._store_file(b"RIFF fake webp", "sticker")
        sticker = {
            **_file_obj(stored),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        message = self._user_message(chat_id, user, {"sticker": sticker}, kind="sticker")
        message.file_id = stored.file_id
        return self._enqueue_kind("message", message.raw)

    def send_contact(
        self,
        chat_id: int,
        phone_number: str | None = None,
        *,
        user: FakeUser | int | None = None,
        own: bool = True,
        first_name: str | None = None,
    ) -> int:
        """Enqueue a shared contact; `own=True` is what a request_contact button sends (user_id = sender)."""
        sender = self._resolve_user(chat_id, user)
        contact = _compact(
            {
                "phone_number": phone_number or sender.phone,
                "first_name": first_name or sender.first_name,
                "last_name": sender.last_name if own else None,
                "user_id": sender.id if own else None,
            }
        )
        message = self._user_message(chat_id, sender, {"contact": contact}, kind="contact")
        return self._enqueue_kind("message", message.raw)

    def album(
        self,
        chat_id: int,
        count: int = 3,
        *,
        caption: str | None = None,
        user: FakeUser | int | None = None,
    ) -> list[int]:
        """Enqueue `count` photos sharing a media_group_id (caption on the first); return their update_ids."""
        group = f"album{next(self._file_seq)}"
        return [
            self.send_photo(chat_id, caption if i == 0 else None, user=user, media_group_id=group) for i in range(count)
        ]

    def edit(self, chat_id: int, message_id: int, new_text: str, *, user: FakeUser | int | None = None) -> int:
        """Enqueue an edited_message: the user changed the text of their earlier message."""
        message = self.message(chat_id, message_id)
        if message is None or message.from_bot:
            raise LookupError(f"no user message {message_id} in chat {chat_id}")
        message.edits.append(message.body)
        message.text = new_text
        message.raw = {**message.raw, "text": new_text, "edit_date": _now()}
        message.raw.pop("entities", None)
        if user is not None:
            message.raw["from"] = self._resolve_user(chat_id, user).to_api()
        return self._enqueue_kind("edited_message", message.raw)

    def tap(
        self,
        chat_id: int,
        button: str,
        *,
        message_id: int | None = None,
        user: FakeUser | int | None = None,
    ) -> int:
        """Press a button by label or callback_data on the latest bot message that has it; return the update_id.

        An inline button enqueues a callback_query; a button of the current reply keyboard sends its
        label as text, or the user's own contact for a request_contact button (like the app does).
        """
        sender = self._resolve_user(chat_id, user)
        for message in reversed(self.sent(chat_id)):
            if message_id is not None and message.message_id != message_id:
                continue
            for row in message.inline_keyboard:
                for b in row:
                    if button in (b.get("text"), b.get("callback_data")):
                        return self._enqueue_callback(message, b, sender)
        keyboard = self._reply_keyboards.get(chat_id)
        if keyboard is not None and message_id is None:
            for row in keyboard.get("keyboard", []):
                for b in row:
                    label = b["text"] if isinstance(b, dict) else str(b)
                    if label == button:
                        return self._press_reply_button(chat_id, keyboard, b, sender)
        raise LookupError(f"no button {button!r} in chat {chat_id}; buttons: {self._visible_buttons(chat_id)}")

    def tap_forged(self, chat_id: int, message_id: int, data: str, *, user: FakeUser | int | None = None) -> int:
        """Press a button that is not there: a modified client sends `data` from bot message `message_id`."""
        message = self.message(chat_id, message_id)
        if message is None or not message.from_bot:
            raise LookupError(f"no bot message {message_id} in chat {chat_id}")
        return self._enqueue_callback(message, {"text": "forged", "callback_data": data},
                                      self._resolve_user(chat_id, user))

    def file_bytes(self, file_id: str) -> bytes:
        """Return the content of a file the bot sent or a user uploaded."""
        return self._files[file_id].data

    def redeliver(self, update_id: int) -> int:
        """Deliver an earlier update again, unchanged (a webhook retry or an unconfirmed poll)."""
        update = self._updates[update_id]
        self._pending.append(_Pending(update, redelivery=True))
        self._notify()
        return update_id

    def enqueue(self, update: dict[str, Any]) -> int:
        """Queue a raw Update object (an update_id is assigned when missing); return its update_id."""
        update_id = update.setdefault("update_id", next(self._update_ids))
        self._updates[update_id] = update
        self._pending.append(_Pending(update))
        self._notify()
        return int(update_id)

    def fail_next(
        self,
        method: str,
        code: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` valid calls of `method` fail with `code` (429 carries parameters.retry_after)."""
        if code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if code == 429
                else _DEFAULT_DESCRIPTIONS.get(code, "Error")
            )
        name = (canonical_method(method) or method).lower()
        self._failures.setdefault(name, []).extend(_Failure(code, description, retry_after) for _ in range(times))

    def hold(self, method: str, *, chat_id: int | None = None, accept: bool = False) -> Hold:
        """Hold the next valid call of `method` (to `chat_id`, or any): it waits until released (see `Hold`)."""
        hold = Hold((canonical_method(method) or method).lower(), chat_id, accept)
        self._holds.append(hold)
        return hold

    def block(self, chat_id: int) -> None:
        """Act as if the user blocked the bot: sends to the chat get 403."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo `block`."""
        self.blocked.discard(chat_id)

    # --- simulation internals -----------------------------------------------------------------

    def _resolve_user(self, chat_id: int, user: FakeUser | int | None) -> FakeUser:
        if isinstance(user, FakeUser):
            self.users.setdefault(user.id, user)
            return user
        user_id = user if user is not None else (chat_id if chat_id > 0 else 1001)
        return self.users.get(user_id) or self.add_user(user_id)

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            user = self.users.get(chat_id) or FakeUser(chat_id)
            return _compact(
                {
                    "id": chat_id,
                    "type": "private",
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "username": user.username,
                }
            )
        kind = "supergroup" if chat_id <= _SUPERGROUP_LIMIT else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {abs(chat_id)}"}

    def _new_message_id(self, chat_id: int) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id

    def _user_message(
        self,
        chat_id: int,
        user: FakeUser | int | None,
        content: dict[str, Any],
        *,
        kind: str,
        reply_to: int | None = None,
    ) -> TgMessage:
        sender = self._resolve_user(chat_id, user)
        message_id = self._new_message_id(chat_id)
        raw = {
            "message_id": message_id,
            "from": sender.to_api(),
            "chat": self._chat(chat_id),
            "date": _now(),
            **_compact(content),
        }
        if reply_to is not None:
            original = self.message(chat_id, reply_to)
            if original is None:
                raise LookupError(f"no message {reply_to} in chat {chat_id} to reply to")
            raw["reply_to_message"] = {k: v for k, v in original.raw.items() if k != "reply_to_message"}
        message = TgMessage(
            chat_id, message_id, from_bot=False, raw=raw, kind=kind, text=raw.get("text"), caption=raw.get("caption")
        )
        self._messages.setdefault(chat_id, {})[message_id] = message
        return message

    def _enqueue_kind(self, kind: str, payload: dict[str, Any]) -> int:
        return self.enqueue({"update_id": next(self._update_ids), kind: json.loads(json.dumps(payload))})

    def _enqueue_callback(self, message: TgMessage, button: dict[str, Any], sender: FakeUser) -> int:
        if "callback_data" not in button:
            raise LookupError(f"button {button.get('text')!r} has no callback_data (it is a {sorted(button)} button)")
        query_id = f"{self._bot_id}{next(self._callback_seq):06d}"
        update_id = self._enqueue_kind(
            "callback_query",
            {
                "id": query_id,
                "from": sender.to_api(),
                "message": message.raw,
                "chat_instance": f"ci{message.chat_id}",
                "data": button["callback_data"],
            },
        )
        self._callbacks[query_id] = {"update_id": update_id, "answer": None}
        return update_id

    def _press_reply_button(
        self, chat_id: int, keyboard: dict[str, Any], button: dict[str, Any] | str, sender: FakeUser
    ) -> int:
        if keyboard.get("one_time_keyboard"):
            self._reply_keyboards.pop(chat_id, None)
        if isinstance(button, dict) and button.get("request_contact"):
            return self.send_contact(chat_id, user=sender, own=True)
        label = button["text"] if isinstance(button, dict) else button
        return self.send_text(chat_id, label, user=sender)

    def _visible_buttons(self, chat_id: int) -> list[str]:
        labels = [label for m in self.sent(chat_id) for label in m.buttons if m.inline_keyboard]
        keyboard = self._reply_keyboards.get(chat_id)
        if keyboard:
            labels += [b["text"] if isinstance(b, dict) else str(b) for row in keyboard["keyboard"] for b in row]
        return labels

    def _store_file(self, data: bytes, kind: str) -> _StoredFile:
        n = next(self._file_seq)
        unique = f"AgAD{kind[:2]}{n:04d}"
        stored = _StoredFile(f"{kind}-{n:04d}-{unique}", unique, data, f"{kind}s/file_{n}")
        self._files[stored.file_id] = stored
        return stored

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _all_sent(self) -> list[TgMessage]:
        return [m for chat in self._messages.values() for m in chat.values() if m.from_bot]

    # --- HTTP ---------------------------------------------------------------------------------

    async def _on_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        called = request.match_info["method"]
        try:
            raw, files = await _read_params(request)
        except ValueError as exc:
            return _error_response(400, f"Bad Request: can't parse request: {exc}")
        name = canonical_method(called)
        if name is None:
            self.requests.append(ApiRequest(called, raw, [f"{called}: unknown method"], token, 404, "Not Found"))
            self._notify()
            return _error_response(404, "Not Found")
        params = decode_params(name, _attach_files(name, raw, files))
        record = ApiRequest(name, params, validate_request(name, params), token)
        self.requests.append(record)
        try:
            response = await self._answer(record)
        finally:
            self._notify()
        return response

    async def _answer(self, record: ApiRequest) -> web.Response:
        if record.problems:
            log.warning("invalid %s request: %s", record.method, record.problems)
            return self._fail(record, BotApiError(400, "Bad Request: " + "; ".join(record.problems)))
        failure = self._take_failure(record.method)
        if failure is not None:
            record.injected = True
            params = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
            return self._fail(record, BotApiError(failure.code, failure.description, params))
        hold = self._take_hold(record)
        if hold is not None and not hold.accept:
            await hold._wait(record)
            if hold.dropped:
                record.injected = True
                return self._fail(record, BotApiError(502, _DEFAULT_DESCRIPTIONS[502]))
        handler = self._handlers.get(record.method)
        if handler is None:
            return await self._unimplemented(record)
        try:
            result = await handler(record.params)
        except BotApiError as exc:
            return self._fail(record, exc)
        if hold is not None and hold.accept:
            self._notify()  # it took effect: waiters see it while its answer is held
            await hold._wait(record)
        return web.json_response({"ok": True, "result": result})

    def _take_hold(self, record: ApiRequest) -> Hold | None:
        for hold in self._holds:
            if hold.method == record.method.lower() and hold.chat_id in (None, record.params.get("chat_id")):
                self._holds.remove(hold)
                return hold
        return None

    async def _unimplemented(self, record: ApiRequest) -> web.Response:
        if load_spec().returns(record.method) == ["Boolean"]:
            return web.json_response({"ok": True, "result": True})
        record.problems.append(f"{record.method}: not implemented by FakeBotApi")
        return self._fail(record, BotApiError(501, f"Not Implemented: {record.method}"))

    def _fail(self, record: ApiRequest, exc: BotApiError) -> web.Response:
        record.status = exc.code
        record.description = exc.description
        return _error_response(exc.code, exc.description, exc.parameters)

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method.lower())
        return queue.pop(0) if queue else None

    async def _on_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.path == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return _error_response(404, "Not Found")

    # --- methods ------------------------------------------------------------------------------

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self._bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(int(params.get("timeout") or 0), 0)
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"]) or None
        if offset is not None:
            self._confirm(int(offset))
        self._poll_seq += 1
        me = self._poll_seq
        self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if me != self._poll_seq:
                raise BotApiError(409, _DEFAULT_DESCRIPTIONS[409])
            changed = self._changed
            batch = self._take_batch(limit)
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._pending = self._pending[offset:]
            return
        self.confirmed_offset = max(self.confirmed_offset, offset)
        self._pending = [p for p in self._pending if not (p.update_id < offset and (p.delivered or not p.redelivery))]

    def _take_batch(self, limit: int) -> list[dict[str, Any]]:
        if self._allowed_updates:
            kept = []
            for p in self._pending:
                if _update_kind(p.update) in self._allowed_updates:
                    kept.append(p)
                else:
                    self.dropped_updates.append(p.update)
            self._pending = kept
        batch = self._pending[:limit]
        now = time.monotonic()
        for p in batch:
            p.delivered = True
            self.delivered_at.setdefault(p.update_id, now)
        return [p.update for p in batch]

    def _target_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise BotApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _bot_message(self, chat_id: int, kind: str, content: dict[str, Any], markup: Any) -> TgMessage:
        message_id = self._new_message_id(chat_id)
        raw = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": _now(),
            **_compact(content),
        }
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if inline is not None:
            raw["reply_markup"] = inline
        self._apply_reply_keyboard(chat_id, markup)
        message = TgMessage(
            chat_id,
            message_id,
            from_bot=True,
            raw=raw,
            kind=kind,
            text=content.get("text"),
            caption=content.get("caption"),
            reply_markup=markup if isinstance(markup, dict) and "remove_keyboard" not in markup else None,
        )
        self._messages.setdefault(chat_id, {})[message_id] = message
        self.actions.append(BotAction("send", chat_id, message_id, message.body))
        return message

    def _apply_reply_keyboard(self, chat_id: int, markup: Any) -> None:
        if not isinstance(markup, dict):
            return
        if "keyboard" in markup:
            self._reply_keyboards[chat_id] = markup
        elif markup.get("remove_keyboard"):
            self._reply_keyboards.pop(chat_id, None)

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        return self._bot_message(chat_id, "text", {"text": params["text"]}, params.get("reply_markup")).raw

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        stored = self._file_param(params["photo"], "photo")
        content = {"photo": [{**_file_obj(stored), "width": 800, "height": 600}], "caption": params.get("caption")}
        message = self._bot_message(chat_id, "photo", content, params.get("reply_markup"))
        message.file_id = stored.file_id
        return message.raw

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        value = params["document"]
        stored = self._file_param(value, "document")
        document = {
            **_file_obj(stored),
            "file_name": value.filename if isinstance(value, UploadedFile) else None,
            "mime_type": value.content_type if isinstance(value, UploadedFile) else None,
        }
        content = {"document": _compact(document), "caption": params.get("caption")}
        message = self._bot_message(chat_id, "document", content, params.get("reply_markup"))
        message.file_id = stored.file_id
        return message.raw

    def _file_param(self, value: Any, kind: str) -> _StoredFile:
        if isinstance(value, UploadedFile):
            return self._store_file(value.data, kind)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._store_file(b"fetched from " + value.encode(), kind)
        raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _editable(self, params: dict[str, Any]) -> TgMessage:
        if params.get("inline_message_id") is not None:
            raise BotApiError(400, "Bad Request: message to edit not found")
        chat_id = self._target_chat(params)
        message = self.message(chat_id, int(params["message_id"]))
        if message is None or message.deleted:
            raise BotApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise BotApiError(400, "Bad Request: message can't be edited")
        return message

    def _commit_edit(
        self, message: TgMessage, changes: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        message.edits.append(message.body)
        raw = {**message.raw, **changes, "edit_date": _now()}
        raw.pop("reply_markup", None)
        if markup is not None:
            raw["reply_markup"] = markup
        message.raw = raw
        message.reply_markup = markup
        message.text = raw.get("text")
        message.caption = raw.get("caption")
        self.actions.append(BotAction("edit", message.chat_id, message.message_id, message.body))
        return raw

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        if message.kind != "text":
            raise BotApiError(400, "Bad Request: there is no text in the message to edit")
        markup = params.get("reply_markup")
        if params.get("text") == message.text and markup == message.raw.get("reply_markup"):
            raise BotApiError(400, NOT_MODIFIED)
        return self._commit_edit(message, {"text": params.get("text")}, markup)

    async def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        if message.kind == "text":
            raise BotApiError(400, "Bad Request: there is no caption in the message to edit")
        markup = params.get("reply_markup")
        if params.get("caption") == message.caption and markup == message.raw.get("reply_markup"):
            raise BotApiError(400, NOT_MODIFIED)
        return self._commit_edit(message, {"caption": params.get("caption")}, markup)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        markup = params.get("reply_markup")
        if markup == message.raw.get("reply_markup"):
            raise BotApiError(400, NOT_MODIFIED)
        return self._commit_edit(message, {}, markup)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._target_chat(params)
        message = self.message(chat_id, int(params["message_id"]))
        if message is None or message.deleted:
            raise BotApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        self.actions.append(BotAction("delete", chat_id, message.message_id, message.body))
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        record = self._callbacks.get(str(params["callback_query_id"]))
        if record is None or record["answer"] is not None:
            raise BotApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        record["answer"] = params
        chat_id = self._updates[record["update_id"]]["callback_query"].get("message", {}).get("chat", {}).get("id")
        self.actions.append(BotAction("answer", chat_id, None, params.get("text")))
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat_id = self._target_chat(params)
        self.actions.append(BotAction("chat_action", chat_id, None, params.get("action")))
        return True

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        key = (_scope_key(params.get("scope")), params.get("language_code") or None)
        self.commands[key] = [(c["command"], c["description"]) for c in params["commands"]]
        return True

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop((_scope_key(params.get("scope")), params.get("language_code") or None), None)
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        key = (_scope_key(params.get("scope")), params.get("language_code") or None)
        return [{"command": c, "description": d} for c, d in self.commands.get(key, [])]

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params["url"]
        if url and not url.startswith(("http://", "https://")):
            raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook_url = url
        self.webhook_secret = params.get("secret_token")
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"]) or None
        await self._stop_webhook_delivery()
        if url:
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook_url = ""
        self.webhook_secret = None
        await self._stop_webhook_delivery()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._allowed_updates:
            info["allowed_updates"] = self._allowed_updates
        return info

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_BOT_DOWNLOAD_BYTES:
            raise BotApiError(400, "Bad Request: file is too big")
        return {**_file_obj(stored), "file_path": stored.path}

    # --- webhook delivery ---------------------------------------------------------------------

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_webhooks(self) -> None:
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=10))
        failures = 0
        while self.webhook_url and not self._closing:
            changed = self._changed
            batch = self._take_batch(1)
            if not batch:
                await changed.wait()
                continue
            update = batch[0]
            status = await self._post_update(update)
            self.webhook_deliveries.append((update["update_id"], status))
            if 200 <= status < 300:
                failures = 0
                self._pending = [p for p in self._pending if p.update is not update]
            else:
                failures += 1
                for p in self._pending:
                    if p.update is update:
                        p.delivered = False
                await asyncio.sleep(min(0.02 * failures, 0.5))
            self._notify()

    async def _post_update(self, update: dict[str, Any]) -> int:
        assert self._client is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
        try:
            async with self._client.post(self.webhook_url, json=update, headers=headers) as resp:
                await resp.read()
                return resp.status
        except OSError as exc:
            log.info("webhook delivery of %s failed: %s", update["update_id"], exc)
            return 0


# --- helpers ----------------------------------------------------------------------------------


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("the JSON body must be an object")
        params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(key, value.filename, value.content_type, value.file.read())
        else:
            params[key] = value
    return params, files


def _attach_files(method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
    """Put uploaded file parts where `attach://name` points, or under their own field name."""
    files = dict(files)
    fields = load_spec().method_fields(method)
    resolved = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            ref = value.removeprefix("attach://")
            if ref in files and "InputFile" in fields.get(key, {}).get("types", ["InputFile"]):
                resolved[key] = files.pop(ref)
    for value in resolved.values():
        if isinstance(value, str):
            for ref in _ATTACH.findall(value):
                files.pop(ref, None)
    resolved.update(files)
    return resolved


def _error_response(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


def _scope_key(scope: Any) -> str:
    if not isinstance(scope, dict) or scope.get("type", "default") == "default":
        return "default"
    target = scope.get("chat_id")
    if "user_id" in scope:
        target = f"{target}:{scope['user_id']}"
    return f"{scope['type']}:{target}" if target is not None else str(scope["type"])


def _update_kind(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def _file_obj(stored: _StoredFile) -> dict[str, Any]:
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.data)}


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _now() -> int:
    return int(time.time())


def _short(params: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return shown if len(shown) <= 120 else shown[:117] + "..."
