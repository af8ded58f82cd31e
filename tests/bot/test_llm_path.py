"""With an LLM configured, the bot lets it fill only what the rules missed; any LLM failure falls back."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from crm_core.assets import PROMPTS_DIR
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.ports import ChatModelPort, Ports
from crm_core.prompting import PromptLibrary
from tests.bot.conftest import ChatDriver
from tests.support.fake_llm import StructuredFakeChatModel

VAGUE_LOG = "gọi khách bên kia rồi, họ ok, tính sau"


def _engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
            model: StructuredFakeChatModel) -> Engine:
    settings = Settings()
    prompt = PromptLibrary(PROMPTS_DIR).get("parse_log")
    llm = ChatModelPort(model=model, log_prompt=prompt, timeout_s=settings.llm.timeout_s)
    return Engine(sessionmaker=sessionmaker, clock=clock, settings=settings, router=ROUTER,
                  render_reminder=reminder_reply, ports=Ports(chat_model=llm))


async def test_the_llm_fills_a_company_the_rules_could_not_read(engine: Engine, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    model = StructuredFakeChatModel(answer=lambda _prompt: {"company": "Hòa Phát", "kind": "call"})
    lan = ChatDriver(_engine(sessionmaker, clock, model), "1001")
    await lan.say(VAGUE_LOG)
    assert "Công ty: Hòa Phát" in lan.text
    assert model.prompts
    assert VAGUE_LOG in model.prompts[0]


async def test_an_llm_error_leaves_the_rules_result(engine: Engine, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    def broken(_prompt: str) -> dict[str, str]:
        raise ConnectionError("LLM endpoint down")

    lan = ChatDriver(_engine(sessionmaker, clock, StructuredFakeChatModel(answer=broken)), "1001")
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai")
    assert "Công ty: Hòa Phát" in lan.text
    assert "Xin lỗi" not in lan.text
