"""End-to-end tests reuse the bot tests' real engines with registered staff (and the shipped knowledge).

Each test that takes `running` runs on both Telegram frameworks (aiogram and python-telegram-bot),
over real HTTP against the local Bot API server.
"""

from tests.bot.conftest import engine, shipped_knowledge, shipped_knowledge_home, support_engine
from tests.support.bot_harness import framework, running

__all__ = ["engine", "framework", "running", "shipped_knowledge", "shipped_knowledge_home", "support_engine"]
