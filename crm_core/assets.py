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
# The demo business's profile: its name, products, and the accounts and contacts its knowledge may quote.
DEMO_BUSINESS_FILE = PACKAGE_DIR / "demo" / "data" / "business.yaml"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"

__all__ = ["DEMO_BUSINESS_FILE", "DEMO_KNOWLEDGE_DIR", "MIGRATIONS_DIR", "PROMPTS_DIR"]
