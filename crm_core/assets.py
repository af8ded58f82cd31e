"""Where the files shipped inside the package live: prompt templates, the demo knowledge, the migrations.

They sit inside `crm_core` (package data) so an installed wheel finds them as a source checkout does; the
settings point prompts and the demo knowledge elsewhere (`CHATCRM_PROMPTS_DIR`, `CHATCRM_DEMO_KNOWLEDGE_DIR`).
Migrations have no setting: the schema belongs to the code that ships with it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROMPTS_DIR = PACKAGE_DIR / "prompting" / "prompts"
DEMO_KNOWLEDGE_DIR = PACKAGE_DIR / "demo" / "knowledge"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"

__all__ = ["DEMO_KNOWLEDGE_DIR", "MIGRATIONS_DIR", "PROMPTS_DIR"]
