"""The chaos benchmark runs end to end at a small scale, and its figures add up.

It checks the report, not the engine: a target missed shows as `ok: false`, never as a failure here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.cli import load_benchmark

COUNTS = ("in", "stored", "answered", "busy", "unexpected", "lost", "duplicated", "errors")
FAULT_COUNTS = ("expected", "delivered", "lost", "duplicated", "unreachable", "unexpected", "busy")


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    """One small run: 10 burst messages, 3 faults, 5 reminders, SQLite only (about 15 s)."""
    result: dict[str, Any] = load_benchmark("chaos").run("small")
    return result


def test_the_report_has_every_section_and_says_whether_the_targets_were_met(figures: dict[str, Any]) -> None:
    assert figures.keys() >= {"ok", "targets", "burst", "faults", "push_loop", "crash_restart", "seconds"}
    assert figures["burst"]["postgres"] is None
    assert figures["push_loop"]["postgres"] is None
    assert isinstance(figures["ok"], bool)
    assert figures["ok"] == all(figures["targets"].values())
    assert set(figures["targets"]) == {"burst.sqlite", "faults.429_retry_after_120", "faults.500_edit",
                                       "faults.403_blocked", "push_loop.sqlite", "crash_restart"}
    assert figures["seconds"] < 60


def test_every_burst_message_is_stored_or_lost(figures: dict[str, Any]) -> None:
    burst = figures["burst"]["sqlite"]

    assert "error" not in burst, burst
    assert burst.keys() >= set(COUNTS)
    assert burst["in"] == 10
    assert burst["in"] == burst["stored"] + burst["lost"]
    assert burst["answered"] + burst["busy"] + burst["unexpected"] >= burst["in"] - burst["errors"]


def test_each_fault_was_injected_and_its_outputs_are_accounted_for(figures: dict[str, Any]) -> None:
    faults = figures["faults"]

    assert "error" not in faults, faults
    assert set(faults["per_fault"]) >= {"429_retry_after_120", "500_edit", "403_blocked"}
    for name in ("429_retry_after_120", "500_edit", "403_blocked"):
        fault = faults["per_fault"][name]
        assert fault["injected_failures"] > 0, name  # the server really answered with the fault
        assert fault["expected"] == fault["delivered"] + fault["lost"] + fault["unreachable"], name
    assert faults["per_fault"]["403_blocked"]["unreachable"] >= 1
    assert isinstance(faults["per_fault"]["403_blocked"]["staff_told"], bool)
    for key in FAULT_COUNTS:
        assert faults["totals"][key] == sum(fault[key] for fault in faults["per_fault"].values()), key
    assert faults["spec_problems"] == 0


def test_every_reminder_is_delivered_or_missing(figures: dict[str, Any]) -> None:
    push = figures["push_loop"]["sqlite"]

    assert "error" not in push, push
    assert push["engines"] == 3
    assert push["reminders"] == 5
    assert push["delivered"] + push["missing"] == push["reminders"]
    assert push["pushes"] == push["delivered"] + push["duplicated"] == sum(push["by_engine"])


def test_a_lost_message_or_a_reminder_sent_twice_is_a_missed_target() -> None:
    bench = load_benchmark("chaos")
    burst = {"in": 10, "stored": 9, "lost": 1, "busy": 1, "unexpected": 0, "duplicated": 0, "errors": 0}
    fault = dict.fromkeys(FAULT_COUNTS, 0)
    push = {"missing": 0, "duplicated": 1}

    targets = bench.evaluate({"sqlite": burst, "postgres": None},
                             {"per_fault": {"500_send": fault, "403_blocked": {**fault, "staff_told": False}}},
                             {"sqlite": push, "postgres": None})

    assert targets == {"burst.sqlite": False, "faults.500_send": True, "faults.403_blocked": False,
                       "push_loop.sqlite": False}
