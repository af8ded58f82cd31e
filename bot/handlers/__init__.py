"""Handlers per role, merged into the one router the engine uses."""

from __future__ import annotations

from bot.core.router import Router
from bot.handlers import (
    common,
    customer,
    deal_actions,
    knowledge,
    logs,
    nba,
    prompts,
    reports,
    sales,
    spreadsheets,
    support,
    tasks,
)

ROUTER = Router()
for _module in (common, logs, sales, tasks, deal_actions, support, spreadsheets, reports, nba, prompts, knowledge,
                customer):
    ROUTER.include(_module.router)

# The admin's team, pipelines and audit trail (issue 15).
from bot.handlers import audit, pipelines, team  # noqa: E402 - kept apart from the list above on purpose

for _module in (team, pipelines, audit):
    ROUTER.include(_module.router)
