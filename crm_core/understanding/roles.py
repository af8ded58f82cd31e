"""The role an admin names at the end of `/role NAME ROLE`: a role key or its words (data/role_words.json)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from crm_core.policy import STAFF_ROLES
from crm_core.textnorm import fold


@cache
def role_words() -> dict[str, str]:
    """Return each folded role word with the role it means."""
    raw = json.loads(resources.files("crm_core.understanding").joinpath("data", "role_words.json")
                     .read_text(encoding="utf-8"))
    words = {role: role for role in STAFF_ROLES}
    for role in STAFF_ROLES:
        words |= {fold(word): role for word in raw.get(role, [])}
    return words


def split_role(text: str) -> tuple[str, str] | None:
    """Return (who, role) when `text` is a name followed by a role ("Peter quản lý"); None otherwise.

    The longest role words are tried first, so "nhân viên bán hàng" is one role, not a name ending "nhân viên".
    """
    tokens = text.split()
    folded = [fold(token) for token in tokens]
    words = role_words()
    for size in range(min(4, len(tokens) - 1), 0, -1):
        role = words.get(" ".join(folded[-size:]))
        if role is not None:
            return " ".join(tokens[:-size]), role
    return None
