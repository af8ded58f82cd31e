"""End-to-end tests reuse the bot tests' real engines with registered staff (and the shipped knowledge).

Each test that takes `running` runs on both Telegram frameworks (aiogram and python-telegram-bot),
over real HTTP against the local Bot API server.
"""

from functools import partial

import pytest

from tests.bot.conftest import engine, shipped_knowledge, shipped_knowledge_home, support_engine
from tests.support import bot_harness
from tests.support.bot_harness import FRAMEWORKS, Framework, RunBot

__all__ = ["engine", "shipped_knowledge", "shipped_knowledge_home", "support_engine"]


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> Framework:
    """The Telegram framework the bot runs on."""
    chosen: Framework = request.param
    return chosen


@pytest.fixture
def running(framework: Framework) -> RunBot:
    """`running(api, engine, ...)`: the chosen framework's polling bot against the fake server for a block."""
    return partial(bot_harness.running, framework=framework)
