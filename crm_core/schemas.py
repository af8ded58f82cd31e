"""What services return: plain pydantic values, never ORM rows."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator


class UserOut(BaseModel):
    """A staff member, with where they are reached: `addresses` maps a channel to their chat id there."""

    id: int
    name: str
    role: str
    language: str
    active: bool
    addresses: dict[str, str] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def telegram_id(self) -> int | None:
        """Return their Telegram user id, when they have one (a key of `chatcrm users list --json`)."""
        address = self.addresses.get("telegram")
        return int(address) if address is not None and address.removeprefix("-").isdigit() else None


class StageOut(BaseModel):
    """A pipeline stage."""

    id: int
    key: str
    name_vi: str
    name_en: str
    position: int
    probability: int
    stalled_after_days: int | None
    is_won: bool
    is_lost: bool
    pipeline_id: int | None = None

    def name(self, language: str) -> str:
        """Return the stage's name in `language`."""
        return self.name_vi if language == "vi" else self.name_en


class DealOut(BaseModel):
    """A deal, with names resolved."""

    id: int
    title: str
    company_id: int | None
    company: str | None
    contact: str | None
    owner_id: int | None
    owner: str | None
    stage: StageOut
    amount: Decimal | None
    currency: str | None
    quantity: int | None
    status: str
    expected_close: date | None
    created_at: datetime
    stage_changed_at: datetime
    stalled_days: int | None = None
    lost_reason: str | None = None  # a key of crm_core/pipelines/data/lost_reasons.json, or the closer's words


class DealSummary(BaseModel):
    """A colleague's deal as a salesperson sees it under the `team` visibility: "#21 · Tuấn", nothing more."""

    id: int
    owner_id: int | None
    owner: str | None
    company_id: int | None
    company: str | None


class InteractionOut(BaseModel):
    """A logged interaction."""

    id: int
    kind: str
    occurred_at: datetime
    summary: str
    contact: str | None
    company: str | None
    owner: str | None
    deal_id: int | None
    company_id: int | None = None
    contact_id: int | None = None
    owner_id: int | None = None
    source: str | None = None  # who wrote it: "customer", "bot" (the customer bot's reply), "support", or staff


class TaskOut(BaseModel):
    """A follow-up task."""

    id: int
    title: str
    due_at: datetime | None
    owner_id: int | None
    owner: str | None
    company: str | None
    contact: str | None
    deal_id: int | None
    done: bool


class TaskSummary(BaseModel):
    """A colleague's task on a customer's card as a salesperson sees it: whose it is, not what (no title, no due)."""

    id: int
    owner_id: int | None
    owner: str | None


class ContactOut(BaseModel):
    """A person."""

    id: int
    name: str
    company_id: int | None
    company: str | None
    title: str | None
    phone: str | None
    email: str | None


class CompanyOut(BaseModel):
    """An organisation."""

    id: int
    name: str
    industry: str | None
    phone: str | None
    email: str | None
    address: str | None


class NameMatch(BaseModel):
    """A record found by name, with how well it matched (0-100)."""

    kind: str
    id: int
    name: str
    company: str | None = None
    score: float
    exact: bool


class Customer360(BaseModel):
    """Everything about one company in one place."""

    company: CompanyOut
    contacts: list[ContactOut]
    deals: list[DealOut | DealSummary]  # as the viewer sees them (crm_core.policy.deal_view)
    interactions: list[InteractionOut]
    open_tasks: list[TaskOut | TaskSummary]  # as the viewer sees them (crm_core.policy.task_view)
    # Its people's support tickets (open first, then the latest) and their latest rated one (CSAT).
    tickets: list[TicketOut] = Field(default_factory=list)
    rated: TicketOut | None = None


class Person360(BaseModel):
    """Everything about one person in one place: a customer who came through the bot has no company."""

    contact: ContactOut
    deals: list[DealOut | DealSummary]  # her open deals, as the viewer sees them (crm_core.policy.deal_view)
    interactions: list[InteractionOut]
    open_tasks: list[TaskOut | TaskSummary]  # as the viewer sees them (crm_core.policy.task_view)
    tickets: list[TicketOut] = Field(default_factory=list)  # open first, then the latest
    rated: TicketOut | None = None  # her latest rated ticket (CSAT)


class TaskBuckets(BaseModel):
    """Open tasks grouped the way a salesperson plans the day."""

    overdue: list[TaskOut]
    today: list[TaskOut]
    upcoming: list[TaskOut]
    later: int = 0


MAX_DEAL_AMOUNT = Decimal(10) ** 15
EditableField = Literal["contact", "company", "amount", "quantity", "next_step", "due", "kind", "stage"]
EDITABLE_FIELDS: tuple[EditableField, ...] = ("contact", "company", "amount", "quantity", "next_step", "due", "kind",
                                              "stage")


class CompanyChoice(BaseModel):
    """An existing company a log may be about."""

    id: int
    name: str


class ContactChoice(BaseModel):
    """An existing person a log may be about, with their company."""

    id: int
    name: str
    company: str | None = None
    company_id: int | None = None


DealAction = Literal["none", "new", "update", "note"]
DealChoice = Literal["update", "new", "note"]
TaskChoice = Literal["update", "new"]


class DealValues(BaseModel):
    """The values of a deal a log may change."""

    amount: Decimal | None = None
    currency: str | None = None
    quantity: int | None = None
    stage: str | None = None
    # The stage's names as its pipeline has them: an industry pipeline's stages have no text keys of their own.
    stage_vi: str | None = None
    stage_en: str | None = None
    contact_id: int | None = None
    contact: str | None = None


class DealPlan(BaseModel):
    """What saving a log will do to a deal, shown on the card before it happens; Save applies exactly this.

    `new`: a deal titled `title` for `owner`. `update`: deal `deal_id` (`title`, `owner`) goes from `before`
    to `after`, provided it is still as `version` and `before` say. `note`: the log is kept as a note on
    `deal_id`, which it does not change (a colleague's). `none`: no deal. `other` is the company's open deal
    the log does not update, `why` says why (a colleague's, another product or quantity); `choices` are the
    buttons offered, the likely one first.
    """

    action: DealAction = "none"
    title: str | None = None
    deal_id: int | None = None
    owner_id: int | None = None
    owner: str | None = None
    before: DealValues | None = None
    after: DealValues | None = None
    version: datetime | None = None
    other_id: int | None = None
    other_owner: str | None = None
    other_title: str | None = None  # the existing deal's own title (the question quotes it, never the new one's)
    why: Literal["colleague", "other_product", "other_quantity", "more_quantity"] | None = None
    choices: list[DealChoice] = Field(default_factory=list)
    closes: Literal["won", "lost"] | None = None
    new_title: str | None = None  # an update that changes the quantity retitles the deal ("— 125 bộ" -> "— 135 bộ")

    def changed(self) -> list[str]:
        """Return the fields an update changes (amount, quantity, stage, contact), in the card's order."""
        if self.action != "update" or self.before is None or self.after is None:
            return []
        before, after = self.before, self.after
        fields = []
        if (after.amount, after.currency) != (before.amount, before.currency):
            fields.append("amount")
        fields += [f for f in ("quantity", "stage") if getattr(after, f) != getattr(before, f)]
        if (after.contact_id, after.contact) != (before.contact_id, before.contact):
            fields.append("contact")
        return fields


class TaskMatch(BaseModel):
    """An open task of the salesperson's much like the one a log would add (same deal or company, same day)."""

    id: int
    title: str
    due_at: datetime | None = None


def _lenient_date(value: Any) -> Any:
    """Read a stored date; an unreadable one counts as missing rather than breaking the draft."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


class DraftFields(BaseModel):
    """What a log draft says: the parser's fields and the names chosen in the CRM (kept as JSON)."""

    model_config = ConfigDict(extra="ignore")

    kind: str | None = None
    contact: str | None = None
    company: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    quantity: int | None = None
    next_step: str | None = None
    due: date | None = None
    due_time: time | None = None  # the time of day the text gave for the next step ("3h chiều"); else the default
    due_options: list[date] = Field(default_factory=list)
    occurred_on: date | None = None
    stage: str | None = None
    phone: str | None = None
    email: str | None = None
    language: str | None = None
    unreadable: list[str] = Field(default_factory=list)
    too_long: dict[str, int] = Field(default_factory=dict)  # values left out: longer than their column (limit)
    company_choice: CompanyChoice | None = None
    company_options: list[CompanyChoice] = Field(default_factory=list)
    contact_choice: ContactChoice | None = None
    contact_options: list[ContactChoice] = Field(default_factory=list)
    contact_reached: bool = False  # the person chosen or offered holds the log's phone or e-mail (not a namesake)
    picked: list[str] = Field(default_factory=list)  # "company", "contact": chosen on the card among the options
    product: str | None = None  # what the quantity counts, as written after it: "bộ", "ghế AP-C300"
    quantity_more: bool = False  # the quantity is more of it ("cần thêm 10 bộ"), not the deal's new quantity
    deal_choice: DealChoice | None = None  # the salesperson's pick among the deal plan's choices
    deal_plan: DealPlan | None = None
    close_confirmed: bool = False  # a log that wins or loses a deal saves only once this is confirmed
    lost_reason: str | None = None
    similar_task: TaskMatch | None = None  # an open task much like the next step: update it or add one
    task_choice: TaskChoice | None = None

    @field_validator("due", "occurred_on", mode="before")
    @classmethod
    def _read_date(cls, value: Any) -> Any:
        return _lenient_date(value)

    @field_validator("due_options", mode="before")
    @classmethod
    def _read_dates(cls, value: Any) -> Any:
        return [d for d in (_lenient_date(v) for v in value or []) if d is not None]

    @field_validator("amount", mode="before")
    @classmethod
    def _read_amount(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        try:
            amount = Decimal(str(value))
        except ArithmeticError:
            return None
        # No deal is worth 10^15 in any currency; an LLM's 1e300 or NaN is no amount at all.
        return amount if amount.is_finite() and abs(amount) < MAX_DEAL_AMOUNT else None

    def stored(self) -> dict[str, Any]:
        """Return the JSON kept in the draft row."""
        return self.model_dump(mode="json")

    def understood_anything(self) -> bool:
        """Tell whether the log named anyone, an amount, a next step or a date."""
        return any((self.contact, self.company, self.amount is not None, self.next_step, self.due))

    def chosen_company_name(self) -> str | None:
        """Return the company the log will be saved on, existing or new."""
        return self.company_choice.name if self.company_choice else self.company

    def chosen_contact_name(self) -> str | None:
        """Return the person the log will be saved on, existing or new."""
        return self.contact_choice.name if self.contact_choice else self.contact


class LogDraftOut(BaseModel):
    """A log draft: its raw text, what was understood, and where it stands."""

    id: int
    owner_id: int
    raw_text: str
    status: str
    fields: DraftFields
    created_at: datetime | None = None
    source_key: str | None = None  # "channel:chat:message" of the chat message it was made from


class SavedLog(BaseModel):
    """What saving a log created or changed."""

    draft_id: int
    interaction_id: int
    task_id: int | None
    deal_id: int | None
    deal_created: bool
    deal_title: str | None = None
    company_id: int | None
    company_created: bool
    contact_id: int | None
    contact_created: bool
    undo_until: datetime
    task_updated: bool = False  # the task is an open one the log moved (the card offered it), not a new one


class DealBefore(BaseModel):
    """What a deal was before a log changed it, so Undo can put it back."""

    amount: Decimal | None
    currency: str | None
    quantity: int | None
    stage: str
    stage_changed_at: datetime
    contact_id: int | None
    last_move_id: int | None = None
    close_move_id: int | None = None  # the log won or lost the deal: the move Undo takes back (closing service)
    title: str | None = None  # the title before the log retitled it (its quantity or product changed)


class DealState(BaseModel):
    """A deal as a log's save left it: Undo touches the deal only while it still stands exactly so."""

    owner_id: int | None
    status: str
    stage_id: int
    title: str
    amount: Decimal | None
    currency: str | None
    quantity: int | None
    contact_id: int | None
    updated_at: datetime
    last_move_id: int


class SavedLogRecord(SavedLog):
    """What a saved draft keeps: what it wrote and what it changed (JSON in the draft row)."""

    deal_before: DealBefore | None = None
    deal_after: DealState | None = None  # the deal as the save left it (None: not changed, or saved before this)
    task_owner_id: int | None = None  # who had the log's task when it was saved
    task_due_before: datetime | None = None


class UndoneLog(BaseModel):
    """What undoing a log took back; what it created but kept because other records now use it (names)."""

    draft_id: int
    kept_deal: str | None = None
    kept_company: str | None = None
    kept_contact: str | None = None
    kept_task: str | None = None
    deal_changed_since: bool = False  # kept_deal stayed as it is now: changed or given away since the save


class CustomerOut(BaseModel):
    """A customer who writes to the bot, as the contact we keep for them."""

    contact_id: int
    name: str
    company_id: int | None
    owner_id: int | None
    phone: str | None
    channel: str
    chat_id: str


class QuestionOut(BaseModel):
    """A question the bot answered (or handed off), and the customer's rating of the answer."""

    id: int
    contact_id: int | None
    question: str
    answer: str
    handoff: bool
    feedback: str | None
    ticket_id: int | None


class TicketMessageOut(BaseModel):
    """One line of a ticket's conversation (`id`: its message on the ticket, None for one not on a ticket yet)."""

    author: str
    name: str | None
    text: str
    at: datetime
    id: int | None = None


class TicketOut(BaseModel):
    """A conversation handed to a person."""

    id: int
    contact_id: int | None
    customer: str
    phone: str | None
    channel: str
    chat_id: str
    language: str
    status: str
    reason: str
    assignee_id: int | None
    assignee: str | None
    opened_at: datetime
    first_response_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    csat: int | None
    csat_at: datetime | None = None


class LeadOut(BaseModel):
    """A customer who left their phone, the deal opened for them and who was given it."""

    id: int
    contact_id: int
    customer: str
    phone: str
    deal_id: int | None
    assignee_id: int | None
    assignee: str | None
    rule: str
    created: bool
    # The name of the contact already on the books with her number (rule `same_phone:<id>`), for the notice.
    matched_contact: str | None = None


class CustomerData(BaseModel):
    """What we hold about one customer, shown to them on request."""

    name: str
    phone: str | None
    email: str | None
    company: str | None
    questions: int
    tickets: int
    interactions: int
    since: datetime
    # Her erasure request waiting for an admin, if any: she is told it is pending rather than offered a second one.
    pending_request: int | None = None


class PrivacyRequestOut(BaseModel):
    """A customer's erasure request."""

    id: int
    contact_id: int | None
    customer: str
    channel: str
    chat_id: str
    language: str
    status: str
    requested_at: datetime


class ErasureResult(BaseModel):
    """What an approved erasure removed."""

    request: PrivacyRequestOut
    interactions: list[int]
    messages: int
    questions: int
    # Her tasks, deals (the open ones closed lost) and tickets as they were when the erasure began.
    tasks: int = 0
    deals: int = 0
    open_deals: int = 0
    tickets: int = 0
    # Her deals that were open and closed lost by the erasure: (deal id, owner id, title as it reads now), for their
    # owners to hear of it.
    closed_deals: list[tuple[int, int | None, str]] = []
    # Other people's records whose free text named the customer, rewritten without it: ids by table.
    rewritten: dict[str, list[int]] = {}
    # Her chats (channel, chat id), for forgetting what is kept about them outside the store once this commits.
    # Held in memory only: never stored, logged or shown.
    chats: list[tuple[str, str]] = []


class ErasurePreview(BaseModel):
    """What approving an erasure request will erase, shown before the admin confirms it (`confirmation`)."""

    request: PrivacyRequestOut
    customer: str  # her name as the CRM knows it now
    contacts: int  # her record and every other record of hers erased with it (same phone or e-mail)
    interactions: int
    tasks: int
    deals: int
    open_deals: int = 0  # of `deals`, those still open: closed as lost
    tickets: int
    messages: int  # her tickets' messages
    questions: int
    # The audit entry of this preview: the confirmation names it, so only a preview of this request confirms it.
    confirmation: int


class AuditEntryOut(BaseModel):
    """One line of the audit trail: who, when, through which channel, what, before and after."""

    id: int
    at: datetime
    actor: str
    actor_id: int | None
    channel: str | None
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class InviteOut(BaseModel):
    """A one-time invite just made: the token is shown once, only its hash is kept."""

    id: int
    token: str
    role: str
    expires_at: datetime


class PipelineOut(BaseModel):
    """A pipeline with its stages in order (removed stages left out)."""

    id: int
    key: str
    name_vi: str
    name_en: str
    is_default: bool
    stages: list[StageOut]
    open_deals: dict[int, int] = Field(default_factory=dict)  # stage id -> open deals in it

    def name(self, language: str) -> str:
        """Return the pipeline's name in `language`."""
        return self.name_vi if language == "vi" else self.name_en
