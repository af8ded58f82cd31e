"""The load benchmark runs end to end at a small scale, and its figures add up.

Real processes (an ingress that also handles updates, one worker) on PostgreSQL and Redis: skipped without
them. It checks the report, not the product: a target missed shows as `ok: false`, never as a failure here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from benchmarks.load import workload
from benchmarks.load.stores import postgres_server_url, redis_available, redis_url
from bot.cli import load_benchmark
from tests.support.fake_bot_api import ApiRequest, FakeBotApi

LOAD_RUN_KEYS = {"updates", "chats", "by_kind", "lost", "duplicated", "out_of_order", "latency",
                 "max_requests_in_a_second", "offered_per_s", "inbox_left"}


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    """One small run: 16 updates from 4 chats per load run, a kill -9, 2 summaries (60-100 s: two processes start)."""
    if postgres_server_url() is None:
        pytest.skip("no PostgreSQL: set CHATCRM_TEST_POSTGRES_URL")
    why = asyncio.run(redis_available(redis_url()))
    if why is not None:
        pytest.skip(f"no Redis at {redis_url()}: {why}")
    result: dict[str, Any] = load_benchmark("load").run("small")
    return result


def test_the_report_says_what_ran_and_whether_the_targets_were_met(figures: dict[str, Any]) -> None:
    assert figures["error"] is None, figures["error"]
    assert figures.keys() >= {"ok", "targets", "two_workers", "kill_9", "broadcast", "polling", "counts",
                              "issue_counts", "scaled_down", "command", "seconds"}
    assert figures["ok"] == all(figures["targets"].values())
    assert set(figures["targets"]) == {
        "two_workers.none_lost_doubled_or_out_of_order", "two_workers.p95_non_search_under_100ms",
        "two_workers.p95_search_under_300ms", "kill_9.none_lost_or_doubled", "broadcast.at_most_30_per_second",
        "broadcast.each_delivered_once", "broadcast.429s_obeyed", "broadcast.1000_in_about_35s"}
    assert figures["scaled_down"] is True
    assert figures["counts"]["updates"] == 16
    assert figures["polling"] is None  # the small scale leaves the polling process out


def test_every_update_of_each_load_run_is_answered_or_lost(figures: dict[str, Any]) -> None:
    for name in ("two_workers", "kill_9"):
        run = figures[name]
        assert "error" not in run, run
        assert run.keys() >= LOAD_RUN_KEYS
        assert run["updates"] == 16, name
        assert sum(run["by_kind"].values()) == run["updates"]
        answered = run["latency"]["non_search"]["n"] + run["latency"]["search"]["n"]
        assert answered + run["lost"] == run["updates"], name
    assert figures["kill_9"]["kill"]["killed_after_s"] >= 0


def test_the_broadcast_accounts_for_every_summary_and_each_injected_429(figures: dict[str, Any]) -> None:
    sent = figures["broadcast"]

    assert "error" not in sent, sent
    assert sent["summaries"] == 2
    assert sent["delivered"] + sent["lost"] == sent["summaries"]
    assert sent["injected_429s"] == 1
    assert 0 <= sent["obeyed_429s"] <= sent["injected_429s"]


def _request(method: str, chat_id: int, at: float, text: str = "", **params: Any) -> ApiRequest:
    return ApiRequest(method, {"chat_id": chat_id, "text": text, **params}, [], "token", at=at)


def test_a_reply_shown_twice_is_a_duplicate_and_an_update_without_one_is_lost() -> None:
    log = workload.Step("log", "Gọi anh Minh bên Công ty Alpha 1000 …", "Alpha 1000")
    deals = workload.Step("deals", "/deals")
    offered = [workload.Offered(1, 7, log, 0, 0.0), workload.Offered(2, 7, deals, 1, 0.0)]

    api = FakeBotApi()  # never started: only its record of when each update was handed to the bot
    api.delivered_at = {1: 10.0, 2: 13.0}
    requests = [_request("sendMessage", 7, 10.2, "📝 … Công ty Alpha 1000 …"),
                _request("sendMessage", 7, 11.0, "📝 … Công ty Alpha 1000 …")]

    judged = workload.match(api, offered, requests)

    assert [j.reply is not None for j in judged] == [True, False]
    assert workload.lost(judged) == 1
    assert [d["extra"] for d in workload.duplicates(judged, requests)] == [1]
    assert round(judged[0].latency_s or 0, 1) == 0.2


def test_the_busiest_second_counts_every_message_request() -> None:
    requests = [_request("sendMessage", chat, 100 + n * 0.02) for n, chat in enumerate(range(40))]
    requests += [_request("answerCallbackQuery", 1, 100.5)]

    assert workload.busiest_second(requests) == 40

