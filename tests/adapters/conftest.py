"""Adapter tests that take `running` run on both Telegram frameworks (aiogram and python-telegram-bot)."""

from tests.support.bot_harness import framework, running

__all__ = ["framework", "running"]
