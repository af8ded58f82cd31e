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
    from langchain_core.language_models import BaseChatModel

    from crm_core.prompting import Prompt
    from crm_core.retrieval.history import HistoryItem
    from crm_core.retrieval.models import Answer, HistoryHit


class KnowledgePort(Protocol):
    """The knowledge base customers are answered from (blocking: flows run it in a thread)."""

    def ask(self, question: str, *, language: Literal["vi", "en"] | None = None) -> Answer:
        """Return the answer, its sources and whether a person should take over (in `language` when given)."""
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


@dataclass(frozen=True)
class ChatModelPort:
    """An LLM through LangChain and the prompt it fills logs with."""

    model: BaseChatModel
    log_prompt: Prompt
    timeout_s: float


@dataclass(frozen=True)
class Ports:
    """The optional capabilities handed to the flows; each may be absent."""

    knowledge: KnowledgePort | None = None
    history: HistoryPort | None = None
    chat_model: ChatModelPort | None = None
