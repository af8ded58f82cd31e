"""End-to-end tests reuse the bot tests' real engines with registered staff (and the shipped knowledge)."""

from tests.bot.conftest import engine, shipped_knowledge, shipped_knowledge_home, support_engine

__all__ = ["engine", "shipped_knowledge", "shipped_knowledge_home", "support_engine"]
