"""Markers stored in place of erased words: in no language, never shown as they are.

`ERASED` stands for what an approved erasure took out of a text: the whole of an erased customer's own words
(interactions, ticket messages, questions), or the part of someone else's record that named them (their full name,
phone or e-mail in a colleague's note, a task or deal title). The chat words it in the reader's language
(bot/texts: privacy.erased_text for a whole text, privacy.erased_inline for a part); so does the spreadsheet export.
"""

from __future__ import annotations

ERASED = "[erased]"
