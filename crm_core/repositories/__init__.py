"""SQL only: take a session, never commit."""
