"""chatcrm chat side: the conversation engine, handlers, texts and channel adapters."""
