"""Next-best-action: ranked, explained suggestions for each salesperson (issue 14).

    settings.py   weights and thresholds (Settings.nba), the scoring formula
    facts.py      what the rules read, loaded for one salesperson in a few queries (never one per deal)
    rules.py      small named pure functions: facts -> candidates, each with the facts its reason rests on
    rank.py       value × urgency × likelihood, one action per subject, done/snoozed suppression (pure)
    tiers.py      customers' value tiers A/B/C (revenue won, open pipeline, recency, frequency), stored nightly
    phrasing.py   the optional LLM: rephrases a reason, kept only when every number, name and date survives
    flow.py       the use cases (NbaFlow): next_for, team, done, snooze, stats, tiers

Kept import-light: crm_core.config reads `settings` from here.
"""

from __future__ import annotations
