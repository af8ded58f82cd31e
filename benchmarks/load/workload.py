"""The load bench's traffic, and how what came back is judged.

    plan()   who writes what: staff chats cycle a log -> its [Save] -> /deals -> /customer <the log's company>;
             customer chats ask questions of the shipped knowledge, a different one each time
    play()   offer the updates to the local Bot API server at a fixed rate, chats interleaved round by round
             (each chat writes once a round, so its updates are n_chats / rate seconds apart)
    judge()  per update, its reply as the server saw it: lost, duplicated, out of order, and the latency
             from the update handed to the bot (webhook POST started, or getUpdates answered) to that reply

A reply is matched to its update on the server's request log, per chat, in update order: the first
successful message request to the chat at or after the update was delivered that fits the update (a log's
preview names its company, a Save edits that preview, /customer's card names the company; /deals and a
question take whatever the chat is sent next, except a known follow-up such as the offer to leave a phone
number after an answer). An update left without one is lost. A duplicate is a
message the chat was shown more often than updates were matched to it (the same text, or the same edit).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.fake_bot_api import ApiRequest, FakeBotApi, TgMessage

QUESTIONS = tuple(unicodedata.normalize("NFC", line.strip())
                  for line in Path(__file__).with_name("questions.txt").read_text(encoding="utf-8").splitlines()
                  if line.strip() and not line.startswith("#"))
STAFF_CYCLE = ("log", "save", "deals", "customer")
KINDS = (*STAFF_CYCLE, "question")
SEARCH_KINDS = frozenset({"question"})
# The requests that put something in a chat (what Telegram's limits count, what a person sees).
REPLY_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageCaption",
                           "editMessageReplyMarkup"})
COMPANY_WORDS = ("Alpha", "Beta", "Gamma", "Delta", "Sigma", "Omega", "Zeta", "Kappa")
CONTACTS = ("anh Minh", "chị Hà", "anh Khoa", "chị Linh", "anh Nam", "chị Trang")


@dataclass(frozen=True)
class Step:
    """One update a chat sends: its kind, its text, and the company its replies name (logs, Save, /customer)."""

    kind: str
    text: str = ""
    marker: str = ""


@dataclass(frozen=True)
class ChatPlan:
    """A chat and the updates it sends, in order."""

    chat_id: int
    staff: bool
    steps: tuple[Step, ...]


def nfc(text: str) -> str:
    """Normalise as Telegram clients send text."""
    return unicodedata.normalize("NFC", text)


def plan(*, chats: int, updates_per_chat: int, staff_share: float, first_staff_id: int, first_customer_id: int,
         number_base: int) -> list[ChatPlan]:
    """Return the chats of one run: `staff_share` of them salespeople, the rest customers."""
    staff = round(chats * staff_share)
    plans = [ChatPlan(first_staff_id + i, True, staff_steps(i, updates_per_chat, number_base)) for i in range(staff)]
    plans += [ChatPlan(first_customer_id + j, False, question_steps(j, updates_per_chat))
              for j in range(chats - staff)]
    return plans


def staff_steps(index: int, count: int, number_base: int) -> tuple[Step, ...]:
    """A salesperson's updates: log, Save, /deals, /customer, again, each log naming a new company."""
    steps: list[Step] = []
    for k in range(count):
        cycle = k // len(STAFF_CYCLE)
        number = number_base + index * 100 + cycle
        marker = f"{COMPANY_WORDS[(index + cycle) % len(COMPANY_WORDS)]} {number}"
        kind = STAFF_CYCLE[k % len(STAFF_CYCLE)]
        if kind == "log":
            text = nfc(f"Gọi {CONTACTS[(index + cycle) % len(CONTACTS)]} bên Công ty {marker}, muốn {20 + cycle} bộ "
                       f"giá {100 + index % 50 + cycle} triệu, gửi báo giá trước thứ Sáu")
        else:
            text = {"save": "", "deals": "/deals", "customer": f"/customer {marker}"}[kind]
        steps.append(Step(kind, text, marker if kind != "deals" else ""))
    return tuple(steps)


def question_steps(index: int, count: int) -> tuple[Step, ...]:
    """A customer's updates: different questions (at most as many as there are)."""
    return tuple(Step("question", QUESTIONS[(index * 7 + k) % len(QUESTIONS)]) for k in range(count))


def staff_ids(plans: Sequence[ChatPlan]) -> list[int]:
    """Return the salespeople's Telegram ids (to register them as staff)."""
    return [chat.chat_id for chat in plans if chat.staff]


def arrival_order(plans: Sequence[ChatPlan], seed: int = 7) -> list[tuple[ChatPlan, int]]:
    """Round by round, every chat's next update, chats shuffled once (staff and customers mixed)."""
    chats = list(plans)
    random.Random(seed).shuffle(chats)
    rounds = max((len(chat.steps) for chat in chats), default=0)
    return [(chat, k) for k in range(rounds) for chat in chats if k < len(chat.steps)]


# ---------------------------------------------------------------- offering the traffic


@dataclass
class Offered:
    """An update as offered: None for a Save whose preview had not come (nothing to press, nothing sent)."""

    update_id: int | None
    chat_id: int
    step: Step
    index: int
    offered_at: float
    preview_id: int | None = None


def register_users(api: FakeBotApi, plans: Iterable[ChatPlan]) -> None:
    """Give each chat its Telegram user."""
    for chat in plans:
        api.add_user(chat.chat_id, first_name="Sales" if chat.staff else f"Khách {chat.chat_id % 1000}",
                     language_code="vi")


Midway = Callable[[], Coroutine[Any, Any, None]]


async def play(api: FakeBotApi, plans: Sequence[ChatPlan], *, rate: float, midway: Midway | None = None
               ) -> tuple[list[Offered], asyncio.Task[None] | None]:
    """Offer every update at `rate` per second; at the half, start `midway` (the kill) without waiting for it."""
    order = arrival_order(plans)
    started = time.monotonic()
    offered: list[Offered] = []
    task: asyncio.Task[None] | None = None
    for n, (chat, k) in enumerate(order):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if midway is not None and n == len(order) // 2:
            task = asyncio.create_task(midway(), name="midway")
        offered.append(offer(api, chat, k))
    return offered, task


def offer(api: FakeBotApi, chat: ChatPlan, k: int) -> Offered:
    """Send one update of a chat (a Save presses the button on that log's preview)."""
    step = chat.steps[k]
    now = time.monotonic()
    if step.kind != "save":
        return Offered(api.send_text(chat.chat_id, step.text), chat.chat_id, step, k, now)
    found = save_button(api.sent(chat.chat_id), step.marker)
    if found is None:
        return Offered(None, chat.chat_id, step, k, now)
    message, data = found
    return Offered(api.tap(chat.chat_id, data, message_id=message.message_id), chat.chat_id, step, k, now,
                   preview_id=message.message_id)


def save_button(messages: Sequence[TgMessage], marker: str) -> tuple[TgMessage, str] | None:
    """Return the latest preview naming `marker` and its Save button's data."""
    for message in reversed(messages):
        if marker in (message.body or ""):
            data = next((d for d in message.callback_data if ":save:" in d), None)
            if data is not None:
                return message, data
    return None


# ---------------------------------------------------------------- judging what came back


@dataclass
class Judged:
    """One update and the request matched to it as its reply."""

    offered: Offered
    delivered_at: float | None
    reply: ApiRequest | None

    @property
    def latency_s(self) -> float | None:
        """Seconds from the update handed to the bot to its reply arriving at the server."""
        if self.reply is None or self.delivered_at is None:
            return None
        return self.reply.at - self.delivered_at


def text_of(request: ApiRequest) -> str:
    """Return what a request shows: its text or caption."""
    return str(request.params.get("text") or request.params.get("caption") or "")


def _follow_ups() -> frozenset[str]:
    from bot.texts import LANGUAGES, Texts

    return frozenset(Texts(language)(key) for language in LANGUAGES for key in FOLLOW_UP_KEYS
                     if Texts(language).has(key))


# Messages that only ever follow another reply of the same update (never the first reply to anything).
FOLLOW_UP_KEYS = ("support.offer_phone",)
FOLLOW_UPS = _follow_ups()


def fits(offered: Offered, request: ApiRequest) -> bool:
    """Tell whether `request` can be the reply to `offered`."""
    step, method, shown = offered.step, request.method, text_of(request)
    if shown in FOLLOW_UPS:
        return False
    if step.kind == "log":
        return method == "sendMessage" and step.marker in shown
    if step.kind == "save":
        return (method.startswith("edit") and request.params.get("message_id") == offered.preview_id) \
            or (method.startswith("send") and step.marker in shown)
    if step.kind == "customer":
        return method.startswith("send") and step.marker in shown
    return True


def chat_requests(requests: Iterable[ApiRequest]) -> dict[int, list[ApiRequest]]:
    """Group message requests by chat, in arrival order."""
    by_chat: dict[int, list[ApiRequest]] = defaultdict(list)
    for request in requests:
        chat_id = request.params.get("chat_id")
        if request.method in REPLY_METHODS and isinstance(chat_id, int):
            by_chat[chat_id].append(request)
    return by_chat


def match(api: FakeBotApi, offered: Sequence[Offered], requests: Sequence[ApiRequest]) -> list[Judged]:
    """Match every sent update to its reply (see the module doc)."""
    by_chat = chat_requests(requests)
    judged: list[Judged] = []
    updates_by_chat: dict[int, list[Offered]] = defaultdict(list)
    for item in offered:
        if item.update_id is not None:
            updates_by_chat[item.chat_id].append(item)
    for chat_id, items in updates_by_chat.items():
        candidates, used = by_chat.get(chat_id, []), set()
        for item in sorted(items, key=lambda o: o.index):
            assert item.update_id is not None
            delivered = api.delivered_at.get(item.update_id)
            reply_at = next((n for n, r in enumerate(candidates) if n not in used and r.ok and delivered is not None
                             and r.at >= delivered and fits(item, r)), None)
            if reply_at is not None:
                used.add(reply_at)
            judged.append(Judged(item, delivered, candidates[reply_at] if reply_at is not None else None))
    return judged


def lost(judged: Iterable[Judged]) -> int:
    """Count the updates without a reply."""
    return sum(1 for item in judged if item.reply is None)


def duplicates(judged: Sequence[Judged], requests: Sequence[ApiRequest]) -> list[dict[str, Any]]:
    """Messages a chat was shown more often than updates were answered with them."""
    def key(request: ApiRequest) -> tuple[str, str, Any]:
        edit = request.params.get("message_id") if request.method.startswith("edit") else None
        return request.method, text_of(request), edit

    matched = Counter((item.offered.chat_id, key(item.reply)) for item in judged if item.reply is not None)
    shown: Counter[tuple[int, tuple[str, str, Any]]] = Counter()
    for chat_id, chat_list in chat_requests(requests).items():
        shown.update((chat_id, key(r)) for r in chat_list if r.ok)
    found = []
    for (chat_id, (method, text, edit)), count in shown.items():
        if text in FOLLOW_UPS:  # sent after many answers on purpose; a doubled answer shows in its own text
            continue
        extra = count - max(1, matched[(chat_id, (method, text, edit))])
        if extra > 0:
            found.append({"chat": chat_id, "method": method, "times": count, "extra": extra, "text": text[:80]})
    return found


def out_of_order(judged: Sequence[Judged]) -> int:
    """Count updates answered before an earlier update of the same chat."""
    last: dict[int, float] = {}
    count = 0
    for item in sorted(judged, key=lambda j: (j.offered.chat_id, j.offered.index)):
        if item.reply is None:
            continue
        chat_id = item.offered.chat_id
        if item.reply.at < last.get(chat_id, -math.inf):
            count += 1
        last[chat_id] = max(last.get(chat_id, -math.inf), item.reply.at)
    return count


def timeline(chat_id: int, judged: Sequence[Judged], requests: Sequence[ApiRequest], *, limit: int = 16
             ) -> list[str]:
    """What one chat sent and was sent, in time order (for a lost or doubled reply in the report)."""
    ups = [j for j in judged if j.offered.chat_id == chat_id and j.delivered_at is not None]
    sent = chat_requests(requests).get(chat_id, [])
    origin = min([j.delivered_at for j in ups if j.delivered_at is not None] + [r.at for r in sent], default=0.0)
    events = [(j.delivered_at or 0.0, f"in  #{j.offered.update_id} {j.offered.step.kind}: {j.offered.step.text[:30]}")
              for j in ups]
    events += [(r.at, f"out {r.method} {r.status}: {text_of(r)[:40]!r}") for r in sent]
    return [f"{at - origin:7.2f} s {line}" for at, line in sorted(events)][:limit]


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def latency(values: Sequence[float]) -> dict[str, Any]:
    """p50, p95 and max in milliseconds, and how many."""
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {"n": len(values), "p50_ms": ms(percentile(values, 0.5)), "p95_ms": ms(percentile(values, 0.95)),
            "max_ms": ms(max(values) if values else None)}


def busiest_second(requests: Sequence[ApiRequest]) -> int:
    """The most message requests (any outcome) the server received in any 1-second stretch."""
    times = sorted(r.at for r in requests if r.method in REPLY_METHODS)
    best, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def judge(api: FakeBotApi, offered: Sequence[Offered], requests: Sequence[ApiRequest]) -> dict[str, Any]:
    """The figures of one run: counts, lost, duplicated, order, latency by kind and class."""
    judged = match(api, offered, requests)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for item in judged:
        if item.latency_s is not None:
            by_kind[item.offered.step.kind].append(item.latency_s)
    dups = duplicates(judged, requests)
    waits = [api.delivered_at[o.update_id] - o.offered_at for o in offered
             if o.update_id is not None and o.update_id in api.delivered_at]
    missing = [item for item in judged if item.reply is None]
    return {
        "updates": len(judged), "chats": len({o.chat_id for o in offered}),
        "by_kind": dict(Counter(item.offered.step.kind for item in judged)),
        "saves_not_pressed": sum(1 for o in offered if o.update_id is None),
        "lost": len(missing), "duplicated": sum(d["extra"] for d in dups), "out_of_order": out_of_order(judged),
        "latency": {
            "non_search": latency([v for kind, vs in by_kind.items() if kind not in SEARCH_KINDS for v in vs]),
            "search": latency([v for kind, vs in by_kind.items() if kind in SEARCH_KINDS for v in vs]),
            "by_kind": {kind: latency(vs) for kind, vs in sorted(by_kind.items())},
            "delivery_wait": latency(waits),
        },
        "max_requests_in_a_second": busiest_second(requests),
        "messages": sum(1 for r in requests if r.method in REPLY_METHODS and r.ok),
        "lost_examples": [{"chat": i.offered.chat_id, "kind": i.offered.step.kind, "update": i.offered.update_id,
                           "delivered": i.delivered_at is not None} for i in missing[:8]],
        "duplicate_examples": dups[:8],
        "timelines": {str(chat): timeline(chat, judged, requests)
                      for chat in sorted({i.offered.chat_id for i in missing} | {d["chat"] for d in dups})[:3]},
    }


async def wait_answered(api: FakeBotApi, offered: Sequence[Offered], mark: int, *, timeout_s: float,
                        poll_s: float = 1.0) -> float:
    """Wait until every sent update has its reply (or `timeout_s`); return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if lost(match(api, offered, api.requests[mark:])) == 0:
            break
        await asyncio.sleep(poll_s)
    return time.monotonic() - started
