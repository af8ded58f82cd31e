"""The optional LLM path (LangChain chat models): fill what the rules could not read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm_core.llm.fill import LlmLogFields, fill_missing_with_llm

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["LlmLogFields", "build_chat_model", "fill_missing_with_llm"]


def build_chat_model(settings: Any) -> BaseChatModel:
    """Build the configured chat model (OpenAI-compatible endpoint or Ollama); needs its LangChain package."""
    provider = getattr(settings, "provider", "none")
    timeout = float(getattr(settings, "timeout_s", 8.0))
    api_key = getattr(settings, "api_key", None)
    if provider == "openai":
        from langchain_openai import ChatOpenAI  # type: ignore[import-not-found,unused-ignore]

        key = api_key.get_secret_value() if api_key is not None else None
        model: BaseChatModel = ChatOpenAI(
            model=settings.model, base_url=settings.base_url, api_key=key, timeout=timeout, temperature=0
        )
        return model
    if provider == "ollama":
        from langchain_ollama import ChatOllama  # type: ignore[import-not-found,unused-ignore]

        chat: BaseChatModel = ChatOllama(model=settings.model, base_url=settings.base_url, temperature=0)
        return chat
    raise ValueError(f"no chat model for LLM provider {provider!r}")
