"""Pipeline templates and stage rules (pure)."""
