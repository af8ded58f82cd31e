"""End-to-end tests reuse the bot tests' real engine with registered staff."""

from tests.bot.conftest import engine

__all__ = ["engine"]
