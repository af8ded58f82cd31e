"""Who may see or change what: the one place role rules are written.

The router asks `allows(audience, user)` before any command or button runs; services ask the
questions below (`deal_view`, `can_answer_ticket`, …) before they read or change a record.
Nothing else compares role names. Anyone who is not registered staff is a customer (`user` None).

    audience      who                         used for
    EVERYONE      anyone                      /start /help /lang /cancel
    STAFF         sales, manager, admin       the CRM: logs, deals, tasks, customers, tickets
    MANAGERS      manager, admin              team views, reassigning, escalations
    ADMINS        admin                       erasure decisions, users, prompts, knowledge
    CUSTOMERS     not staff                   FAQ answers, ratings, privacy requests
    CUSTOMERS_OR_ADMINS                       /privacy: a customer's own data, or the admins' queue

Deals are seen through one rule, `deal_view(viewer, owner_id, visibility=…)`, whatever asks (/deal, /customer,
/find, /ask, a log's preview). Everyone on the staff sees companies and contacts. A deal is seen in full by its
owner, by managers and admins, and by everyone when the team's setting (`CHATCRM_DEAL_VISIBILITY`) says `all`;
under `team` (the default) a salesperson sees a colleague's deal only as its id and owner ("#21 · Tuấn"), no
amount, no notes, no history; under `own` not at all. Notes, calls and tasks of a deal follow the deal
(`sees_deal_record`). Changing a deal is another question (`can_change_deal`): its owner, managers and admins.
Bringing a spreadsheet in or the whole book out (`can_move_spreadsheets`) is for managers and admins.
Summaries, the pipeline and the forecast (`figures_owner`): a salesperson sees their own figures, managers and
admins the team's; the FAQ bot's figures are the managers' (`sees_support_figures`). The summary is pushed to
managers and admins, the morning digest to salespeople (`hears_daily_summary`, `hears_morning_digest`).
Next-best-actions (`sees_next_of`): a salesperson their own list, managers and admins anyone's and the team's;
only the list's owner answers its items (done, snooze); the acceptance figures per rule are the managers'
(`sees_nba_stats`), and a rule whose suggestions are mostly snoozed is pointed out to admins (`hears_snoozed_rules`).
The team (invites, roles, deactivating: `can_manage_team`), pipelines (`can_shape_pipelines`) and the audit trail
(`sees_audit`) are the admins'; the last active admin is never demoted or deactivated (crm_core/services/users.py).
Prompt templates (`can_edit_prompts`) and the knowledge base's documents and gaps (`can_curate_knowledge`) are
the admins'.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

SALES = "sales"
MANAGER = "manager"
ADMIN = "admin"
CUSTOMER = "customer"
STAFF_ROLES = (SALES, MANAGER, ADMIN)


class Person(Protocol):
    """What a rule needs to know about a staff member."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...

    @property
    def active(self) -> bool: ...


class Audience(StrEnum):
    """Who may use a command or press a button."""

    EVERYONE = "everyone"
    STAFF = "staff"
    MANAGERS = "managers"
    ADMINS = "admins"
    CUSTOMERS = "customers"
    CUSTOMERS_OR_ADMINS = "customers_or_admins"


_AUDIENCE_ROLES: dict[Audience, frozenset[str]] = {
    Audience.EVERYONE: frozenset({*STAFF_ROLES, CUSTOMER}),
    Audience.STAFF: frozenset(STAFF_ROLES),
    Audience.MANAGERS: frozenset({MANAGER, ADMIN}),
    Audience.ADMINS: frozenset({ADMIN}),
    Audience.CUSTOMERS: frozenset({CUSTOMER}),
    Audience.CUSTOMERS_OR_ADMINS: frozenset({CUSTOMER, ADMIN}),
}


def role_of(user: Person | None) -> str:
    """Return a caller's role; anyone unregistered is a customer."""
    return user.role if user is not None else CUSTOMER


def allows(audience: Audience, user: Person | None) -> bool:
    """Tell whether `user` belongs to `audience` (the router's one check)."""
    return role_of(user) in _AUDIENCE_ROLES[audience]


def admits_customers(audience: Audience) -> bool:
    """Tell whether an audience includes people who are not staff."""
    return CUSTOMER in _AUDIENCE_ROLES[audience]


def is_staff(user: Person | None) -> bool:
    """Tell whether the caller is registered staff."""
    return user is not None and user.role in STAFF_ROLES


def sees_team(user: Person) -> bool:
    """Tell whether a user sees the whole team's deals, tasks and tickets (managers and admins)."""
    return user.role in (MANAGER, ADMIN)


class DealVisibility(StrEnum):
    """How much of a colleague's deal a salesperson sees (the setting `CHATCRM_DEAL_VISIBILITY`)."""

    OWN = "own"    # only their own deals appear at all
    TEAM = "team"  # colleagues' deals appear as id and owner, nothing more (the default)
    ALL = "all"    # everyone sees every deal in full


class DealView(StrEnum):
    """How one viewer sees one deal."""

    FULL = "full"        # title, amount, stage, notes, history
    SUMMARY = "summary"  # "#21 · Tuấn": id, owner and company; no amount, no notes, no history
    HIDDEN = "hidden"    # not at all


def deal_view(viewer: Person, owner_id: int | None, *, visibility: DealVisibility) -> DealView:
    """Tell how `viewer` sees a deal owned by `owner_id` (None: nobody's yet) under the team's setting."""
    if owner_id == viewer.id or sees_team(viewer) or visibility is DealVisibility.ALL:
        return DealView.FULL
    return DealView.SUMMARY if visibility is DealVisibility.TEAM else DealView.HIDDEN


def sees_deal_record(viewer: Person, *, record_owner_id: int | None, deal_id: int | None,
                     deal_owner_id: int | None, visibility: DealVisibility) -> bool:
    """Tell whether `viewer` sees a note, call or task: their own, one of no deal, or one of a deal seen in full."""
    if deal_id is None or record_owner_id == viewer.id:
        return True
    return deal_view(viewer, deal_owner_id, visibility=visibility) is DealView.FULL


def can_change_deal(user: Person, owner_id: int | None) -> bool:
    """A salesperson moves, wins or loses their own deals; managers and admins any deal (seeing is not changing)."""
    return sees_team(user) or owner_id == user.id


def can_reassign_deal(user: Person) -> bool:
    """Only managers and admins give a deal to someone else."""
    return sees_team(user)


def owner_filter(user: Person, requested_owner_id: int | None) -> int | None:
    """Return whose deals or tasks a list shows: a salesperson always their own; managers and admins the
    colleague they asked for, or everyone's (None)."""
    return requested_owner_id if sees_team(user) else user.id


def can_read_task(user: Person, owner_id: int | None) -> bool:
    """A salesperson sees their own tasks; managers and admins everyone's."""
    return sees_team(user) or owner_id == user.id


def task_view(viewer: Person, owner_id: int | None, *, visibility: DealVisibility) -> DealView:
    """Tell how `viewer` sees a task on a customer's card: in full when /task lets them read it (`can_read_task`),
    else as whose it is ("việc của Tuấn", no title) as a colleague's deal is summarised, or not at all under `own`."""
    if can_read_task(viewer, owner_id):
        return DealView.FULL
    return DealView.HIDDEN if visibility is DealVisibility.OWN else DealView.SUMMARY


def can_view_colleague(user: Person) -> bool:
    """Tell whether a user may filter lists by another salesperson."""
    return sees_team(user)


def can_answer_ticket(user: Person, assignee_id: int | None) -> bool:
    """A salesperson answers their own and unassigned tickets; managers and admins any."""
    return assignee_id in (None, user.id) or sees_team(user)


def can_decide_erasure(user: Person) -> bool:
    """Only admins approve or reject a customer's erasure request."""
    return user.role == ADMIN


def takes_leads(user: Person) -> bool:
    """Tell whether leads and tickets may be assigned to this person (active salespeople)."""
    return user.active and user.role == SALES


def hears_escalations(user: Person) -> bool:
    """Tell whether unanswered tickets and unassigned hand-offs are sent to this person."""
    return user.active and sees_team(user)


def hears_erasure_requests(user: Person) -> bool:
    """Tell whether customers' erasure requests are sent to this person."""
    return user.active and user.role == ADMIN


def can_move_spreadsheets(user: Person) -> bool:
    """Managers and admins import a spreadsheet into the CRM or export the whole book; salespeople do not."""
    return user.active and sees_team(user)


def figures_owner(user: Person) -> int | None:
    """Return whose figures a summary, pipeline or forecast shows: a salesperson their own, managers and admins
    the team's (None)."""
    return None if sees_team(user) else user.id


def sees_support_figures(user: Person) -> bool:
    """Tell whether a user sees the FAQ bot's figures and the handed-off questions (managers and admins)."""
    return sees_team(user)


def hears_daily_summary(user: Person) -> bool:
    """Tell whether the team's summary is pushed to this person at the end of each working day."""
    return user.active and sees_team(user)


def hears_morning_digest(user: Person) -> bool:
    """Tell whether a morning digest of their own tasks and deals is pushed to this person."""
    return user.active and user.role == SALES


def sees_next_of(user: Person, owner_id: int) -> bool:
    """A salesperson sees their own next-best-actions; managers and admins anyone's."""
    return owner_id == user.id or sees_team(user)


def answers_next_of(user: Person, owner_id: int) -> bool:
    """Only the list's owner marks its suggestions done or snoozes them (their answers are their acceptance)."""
    return owner_id == user.id


def sees_nba_stats(user: Person) -> bool:
    """Tell whether a user sees how each next-best-action rule is answered (managers and admins)."""
    return sees_team(user)


def hears_snoozed_rules(user: Person) -> bool:
    """Tell whether a user is shown the rules whose suggestions are mostly snoozed (admins tune them)."""
    return user.role == ADMIN


def can_edit_prompts(user: Person | None) -> bool:
    """Admins read, change and roll back the prompt templates an LLM is given; nobody else sees them."""
    return user is not None and user.active and user.role == ADMIN


def can_curate_knowledge(user: Person | None) -> bool:
    """Admins send, remove and re-index knowledge documents, try questions and answer knowledge gaps."""
    return user is not None and user.active and user.role == ADMIN


def can_manage_team(user: Person | None) -> bool:
    """Admins invite colleagues, change their roles and deactivate them."""
    return user is not None and user.active and user.role == ADMIN


def can_shape_pipelines(user: Person | None) -> bool:
    """Admins add pipelines from templates and rename, reorder, add and remove stages."""
    return user is not None and user.active and user.role == ADMIN


def sees_audit(user: Person | None) -> bool:
    """Admins read the audit trail."""
    return user is not None and user.active and user.role == ADMIN


def is_known_role(role: str) -> bool:
    """Tell whether `role` is a staff role a user may be given."""
    return role in STAFF_ROLES
