"""A fake chat model at the LangChain boundary: the one outer edge that cannot run here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda


class StructuredFakeChatModel(BaseChatModel):
    """A chat model at the LangChain boundary whose structured output is scripted by the test."""

    answer: Callable[[str], Any]
    delay_s: float = 0.0
    prompts: list[str] = []  # noqa: RUF012 - pydantic copies field defaults

    @property
    def _llm_type(self) -> str:
        return "structured-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="{}"))])

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:  # type: ignore[override]
        async def run(prompt: Any) -> Any:
            text = prompt if isinstance(prompt, str) else str(prompt)
            self.prompts.append(text)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            result = self.answer(text)
            return schema.model_validate(result) if isinstance(result, dict) else result

        return RunnableLambda(lambda p: asyncio.run(run(p)), afunc=run)
