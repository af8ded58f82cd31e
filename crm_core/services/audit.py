"""The audit trail: who did what, when, through which channel, to which record, before and after.

Two kinds of entries land in `audit_log`:
- actions, recorded by the service that performs them (`user.set_role`, `invite.create`, `deal.won`, ...);
- changes to CRM records (deals, contacts, companies, tasks, users, pipelines and their stages), captured
  for every ORM flush of a unit of work whose session carries an `AuditContext` (every session opened
  through `Services.build`): `record.create|update|delete` with the changed fields before and after.
  Derived columns (folded names, `updated_at`) and bookkeeping (`reminded_at`) are left out.

Bulk statements (spreadsheet imports write rows in batches) are not captured row by row; the import itself
is recorded as an action. During a customer's erasure (`AuditService.without_values`), changes are recorded
without their values and the earlier values kept for each record it touches are blanked, so the trail keeps
that something changed but not the personal data that was erased.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, event, exists, func, insert, inspect, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from crm_core.models import AuditEntry, Company, Contact, Deal, Pipeline, Stage, Task, User
from crm_core.schemas import AuditEntryOut

AUDITED: dict[type[Any], str] = {Deal: "deal", Contact: "contact", Company: "company", Task: "task", User: "user",
                                 Pipeline: "pipeline", Stage: "stage"}
# Derived from other fields, or bookkeeping that changes without anybody changing the record.
_UNAUDITED_FIELDS = frozenset({"id", "name_folded", "title_folded", "updated_at", "reminded_at"})
_CONTEXT_KEY = "chatcrm_audit"
CLI = "cli"


@dataclass
class AuditContext:
    """Who is acting in this unit of work, through which channel, and at what time."""

    now: datetime
    actor: str = "system"
    actor_id: int | None = None
    channel: str | None = None
    with_values: bool = True


def _plain(value: Any) -> Any:
    """Return a JSON-ready form of a column value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _fields(obj: Any) -> builtins.list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs if attr.key not in _UNAUDITED_FIELDS]


def _snapshot(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {key: _plain(state.dict[key]) for key in _fields(obj) if key in state.dict}  # never loads


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the changed fields of a dirty record, before and after."""
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _fields(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = _plain(history.deleted[0]) if history.deleted else None
        new = _plain(history.added[0]) if history.added else None
        if old != new:
            before[key], after[key] = old, new
    return before, after


def _entry(context: AuditContext, action: str, entity: str, entity_id: Any, before: dict[str, Any] | None,
           after: dict[str, Any] | None) -> dict[str, Any]:
    if not context.with_values:
        fields = sorted(set(before or {}) | set(after or {}))
        before, after = None, None
        details: dict[str, Any] = {"fields": fields, "values_withheld": True}
    else:
        details = {}
    return {"at": context.now, "actor_id": context.actor_id, "actor_label": context.actor, "action": action,
            "entity": entity, "entity_id": None if entity_id is None else str(entity_id), "details": details,
            "channel": context.channel, "before": before, "after": after}


@event.listens_for(Session, "after_flush")
def _capture_changes(session: Session, _flush_context: Any) -> None:
    """Record each created, changed or deleted CRM record of this flush (ids are known by now)."""
    context = session.info.get(_CONTEXT_KEY)
    if not isinstance(context, AuditContext):
        return
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        entity = AUDITED.get(type(obj))
        if entity is not None:
            rows.append(_entry(context, "record.create", entity, obj.id, None, _snapshot(obj)))
    for obj in session.dirty:
        entity = AUDITED.get(type(obj))
        if entity is None or not session.is_modified(obj, include_collections=False):
            continue
        before, after = _changes(obj)
        if before or after:
            rows.append(_entry(context, "record.update", entity, obj.id, before, after))
    for obj in session.deleted:
        entity = AUDITED.get(type(obj))
        if entity is not None:
            rows.append(_entry(context, "record.delete", entity, obj.id, _snapshot(obj), None))
    if not rows:
        return
    connection = session.connection()
    if not context.with_values:  # an erasure: what was kept of these records before goes too
        touched = or_(*[(AuditEntry.entity == r["entity"]) & (AuditEntry.entity_id == r["entity_id"]) for r in rows])
        connection.execute(update(AuditEntry).where(touched).values(before=None, after=None))
    connection.execute(insert(AuditEntry), rows)


class AuditService:
    """Record who did what, and read the trail back."""

    def __init__(self, session: AsyncSession, now: datetime, *, channel: str | None = None) -> None:
        self._session = session
        self._now = now
        self._context = AuditContext(now=now, channel=channel)
        session.info[_CONTEXT_KEY] = self._context

    def act_as(self, actor: str, actor_id: int | None = None, *, channel: str | None = None) -> None:
        """Say who acts in this unit of work (recorded with every change it makes)."""
        self._context.actor, self._context.actor_id = actor, actor_id
        if channel is not None:
            self._context.channel = channel

    def without_values(self) -> None:
        """Keep personal data out of the trail for the rest of this unit of work (a customer's erasure)."""
        self._context.with_values = False

    @property
    def channel(self) -> str | None:
        """Return the channel this unit of work came through."""
        return self._context.channel

    async def record(self, *, actor: str, action: str, entity: str, entity_id: int | str | None,
                     details: dict[str, Any] | None = None, actor_id: int | None = None,
                     before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        """Append an action to the trail in the current unit of work."""
        self._session.add(AuditEntry(at=self._now, actor_id=actor_id, actor_label=actor, action=action,
                                     entity=entity, entity_id=None if entity_id is None else str(entity_id),
                                     details=details or {}, channel=self._context.channel, before=before,
                                     after=after))

    async def flush(self) -> None:
        """Send staged rows so they get ids."""
        await self._session.flush()

    async def entries(self, *, since: datetime | None = None, actor_id: int | None = None, limit: int = 50,
                      offset: int = 0, readable: bool = False,
                      until: datetime | None = None) -> builtins.list[AuditEntryOut]:
        """Return entries, newest first, optionally in [since, until) and by one person; `readable`: only what
        people did, once each (`_people_view`)."""
        query = _filtered(select(AuditEntry), since, actor_id, readable, until)
        rows = await self._session.scalars(query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit))
        return [_entry_out(row) for row in rows]

    async def last_id_about(self, entity: str, entity_id: int | str) -> int:
        """Return the id of the latest entry about one record (0: none); it changes with every recorded change."""
        query = select(func.max(AuditEntry.id)).where(AuditEntry.entity == entity,
                                                     AuditEntry.entity_id == str(entity_id))
        return int(await self._session.scalar(query) or 0)

    async def count(self, *, since: datetime | None = None, actor_id: int | None = None,
                    readable: bool = False, until: datetime | None = None) -> int:
        """Count the entries `entries` pages through."""
        query = _filtered(select(func.count(AuditEntry.id)), since, actor_id, readable, until)
        return int(await self._session.scalar(query) or 0)

    async def names(self, refs: Iterable[tuple[str, str]], language: str) -> dict[tuple[str, str], str]:
        """Return the current name of each (entity, id) still there: a person's, a deal's title, a stage's
        in `language`… (what an entry is about, said by name rather than by number)."""
        wanted: dict[str, set[int]] = {}
        for entity, entity_id in refs:
            if entity in _NAMED and entity_id.isascii() and entity_id.isdigit() and len(entity_id) <= 10:
                wanted.setdefault(entity, set()).add(int(entity_id))
        found: dict[tuple[str, str], str] = {}
        for entity, ids in wanted.items():
            model, column = _NAMED[entity]
            if column is None:  # named in each language
                column = getattr(model, "name_vi" if language == "vi" else "name_en")
            rows = await self._session.execute(select(model.id, column).where(model.id.in_(ids)))
            found.update({(entity, str(row_id)): str(name) for row_id, name in rows})
        return found


_NAMED: dict[str, tuple[Any, Any]] = {"user": (User, User.name), "deal": (Deal, Deal.title),
                                     "contact": (Contact, Contact.name), "company": (Company, Company.name),
                                     "task": (Task, Task.title), "pipeline": (Pipeline, None), "stage": (Stage, None)}
RECORD_ACTIONS = "record.%"
JOIN_ACTIONS = ("user.join", "user.rejoin")
# Actions that change many records at once and say so themselves (how many, to whom).
BULK_ACTIONS = ("admin.hand_over", "deal.reassign_tasks", "spreadsheet.import", "privacy.approved")


def _filtered(query: Select[Any], since: datetime | None, actor_id: int | None, readable: bool,
              until: datetime | None = None) -> Select[Any]:
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    return query.where(*_people_view()) if readable else query


def _people_view() -> list[ColumnElement[bool]]:
    """What people did, one entry per action, for an admin to read (the CLI's JSON keeps everything).

    Left out: changes of records nobody on the team made (the demo's seeding, a customer's messages: their own
    action, e.g. lead.capture, stays); the record change that an action of the same unit of work (same time,
    `Services.now` being the unit's) already says (admin.set_role and the user's role column, deal.won and its
    stage); what a bulk action of the same person and unit did along the way (a hand-over's deals and tasks);
    the invite opened along with the join it made (user.join / user.rejoin say who came, with which role).
    """
    other = aliased(AuditEntry)
    is_record = AuditEntry.action.like(RECORD_ACTIONS)
    said_by_an_action = exists().where(other.at == AuditEntry.at, other.entity == AuditEntry.entity,
                                       other.entity_id == AuditEntry.entity_id,
                                       not_(other.action.like(RECORD_ACTIONS)))
    joined = exists().where(other.at == AuditEntry.at, other.actor_id == AuditEntry.actor_id,
                            other.action.in_(JOIN_ACTIONS))
    part_of_a_bulk_action = exists().where(other.at == AuditEntry.at, other.actor_id == AuditEntry.actor_id,
                                           other.action.in_(BULK_ACTIONS), other.id != AuditEntry.id)
    return [or_(not_(is_record), AuditEntry.actor_id.is_not(None)),
            not_(is_record & said_by_an_action),
            or_(AuditEntry.action.in_(BULK_ACTIONS), not_(part_of_a_bulk_action)),
            not_((AuditEntry.action == "invite.use") & joined)]


def _entry_out(row: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(id=row.id, at=row.at, actor=row.actor_label, actor_id=row.actor_id, channel=row.channel,
                         action=row.action, entity=row.entity, entity_id=row.entity_id, details=row.details or {},
                         before=row.before, after=row.after)
