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
