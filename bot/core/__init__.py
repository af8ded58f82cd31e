"""Transport-agnostic conversation engine: knows chats, not Telegram libraries."""
