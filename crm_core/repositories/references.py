"""Whether anything still points at a row: asked before undo deletes what a log created.

The answer comes from the schema itself (every foreign key to the row's table), so a table added
later is counted without anyone remembering to list it here.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Base


async def is_referenced(session: AsyncSession, table: str, row_id: int, *, ignoring: Collection[str] = ()) -> bool:
    """Tell whether a row of any table (but those in `ignoring`) has a foreign key to row `row_id` of `table`."""
    await session.flush()  # deletions staged in this unit of work count
    uses: list[ColumnElement[bool]] = []
    for other in Base.metadata.sorted_tables:
        if other.name in ignoring:
            continue
        for key in other.foreign_keys:
            if key.column.table.name == table:
                uses.append(exists().where(key.parent == row_id))
    if not uses:
        return False
    return bool(await session.scalar(select(or_(*uses))))
