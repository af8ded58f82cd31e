"""Optional capabilities the engine hands to handlers (parser, LLM, knowledge base)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Extensions:
    """Capabilities beyond the CRM store; each may be absent."""

    chat_model: Any | None = None
    log_prompt: Any | None = None
    knowledge: Any | None = None
    history: Any | None = None
