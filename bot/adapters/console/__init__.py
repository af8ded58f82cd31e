"""The console channel: the same engine as Telegram, over stdin and stdout."""

from bot.adapters.console.adapter import ConsoleChannel

__all__ = ["ConsoleChannel"]
