"""Ports: what the flows need from the world beyond the CRM store, as typed protocols.

Each may be absent (`None` in `Ports`): without a knowledge base customers are handed to a person,
without a history index `/ask` says it is unavailable, without a chat model logs are read by rules
only. The implementations live in `crm_core.retrieval` and `crm_core.llm`; tests may give their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from langchain_core.language_models import BaseChatModel

    from crm_core.prompting import Prompt, PromptLibrary
    from crm_core.retrieval.history import HistoryItem
    from crm_core.retrieval.models import Answer, DocInfo, HistoryHit, IngestReport


class KnowledgePort(Protocol):
    """The knowledge base customers are answered from (blocking: flows run it in a thread)."""

    def ask(self, question: str, *, language: Literal["vi", "en"] | None = None) -> Answer:
        """Return the answer, its sources and whether a person should take over (in `language` when given)."""
        ...


class KnowledgeShelfPort(KnowledgePort, Protocol):
    """The same knowledge base as admins keep it: documents in and out (blocking: flows run it in a thread)."""

    def ingest(self, paths: Sequence[Path]) -> IngestReport:
        """Index files: unchanged ones skipped, changed ones replaced; a file that fails leaves its old version."""
        ...

    def remove(self, doc: str) -> bool:
        """Take `doc` out of the index; return whether it was there."""
        ...

    def list_docs(self) -> list[DocInfo]:
        """Return the indexed documents."""
        ...


class HistoryPort(Protocol):
    """The search index over customer interactions that staff `/ask` (blocking)."""

    def sync(self, items: Sequence[HistoryItem]) -> int:
        """Index what is not indexed yet; return how many were added."""
        ...

    def search(self, question: str, *, company_id: int | None = None, k: int = 5) -> list[HistoryHit]:
        """Return the interactions closest to `question`, best first."""
        ...

    def rank(self, question: str, items: Sequence[HistoryItem], *, k: int = 5) -> list[HistoryHit]:
        """Index `items` that are new or changed, then return the `k` that best answer `question`, best first."""
        ...

    def remove(self, interaction_ids: list[int]) -> None:
        """Forget erased interactions."""
        ...

    def record_removal(self, interaction_ids: list[int]) -> None:
        """Note interactions to forget, quickly (never returned again from now); `forget_removed` removes them."""
        ...

    def forget_removed(self) -> None:
        """Remove the interactions noted to forget from the index now (slow: run it outside any write)."""
        ...


class ChatStatePort(Protocol):
    """What the channels keep about chats outside the CRM store (Redis, when several processes share a bot)."""

    async def forget_chats(self, chats: Sequence[tuple[str, str]]) -> None:
        """Remove everything kept about these (channel, chat id) chats; a failure is logged, never raised."""
        ...


@dataclass(frozen=True)
class ChatModelPort:
    """An LLM through LangChain and the prompt it fills logs with."""

    model: BaseChatModel
    log_prompt: Prompt
    timeout_s: float
    # The library the log prompt is read from at each use (the version in force); None: `log_prompt` as given.
    prompts: PromptLibrary | None = None

    def prompt_for_logs(self) -> Prompt:
        """Return the log-filling prompt in force."""
        return self.prompts.get(self.log_prompt.name) if self.prompts is not None else self.log_prompt


@dataclass(frozen=True)
class Ports:
    """The optional capabilities handed to the flows; each may be absent."""

    knowledge: KnowledgePort | None = None
    history: HistoryPort | None = None
    chat_model: ChatModelPort | None = None
    # The prompt templates in force (files + admins' versions), shared by everything that fills one.
    prompts: PromptLibrary | None = None
    # The knowledge base as admins keep it (the same object as `knowledge` in the bot); None: not kept from chat.
    knowledge_shelf: KnowledgeShelfPort | None = None
    # Chat state shared outside the store (Redis: chat locks, send counts); an erasure forgets her chats there.
    chat_state: ChatStatePort | None = None
