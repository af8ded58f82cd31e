"""All tables, in one package because they reference each other."""

from crm_core.models.activities import INTERACTION_KINDS, Interaction, LogDraft, Task
from crm_core.models.admin import Invite
from crm_core.models.base import Base
from crm_core.models.channels import ContactIdentity, SentMessage, StaffIdentity
from crm_core.models.content import KnowledgeFile, PromptHead, PromptVersion
from crm_core.models.inbox import InboxUpdate
from crm_core.models.nba import NBA_OUTCOMES, CustomerTier, NbaOutcome
from crm_core.models.outbox import OUTBOX_STATUSES, OutboxMessage
from crm_core.models.people import ROLES, Company, Contact, User
from crm_core.models.reports import PushPreference, ScheduledPush
from crm_core.models.revisions import DirectoryRevision
from crm_core.models.sales import Deal, DealStageChange, Pipeline, Stage
from crm_core.models.support import CustomerQuestion, Lead, PrivacyRequest, Ticket, TicketMessage
from crm_core.models.system import (
    AuditEntry,
    ChatPreference,
    DialogState,
    ProcessedUpdate,
)

__all__ = [
    "INTERACTION_KINDS",
    "NBA_OUTCOMES",
    "OUTBOX_STATUSES",
    "ROLES",
    "AuditEntry",
    "Base",
    "ChatPreference",
    "Company",
    "Contact",
    "ContactIdentity",
    "CustomerQuestion",
    "CustomerTier",
    "Deal",
    "DealStageChange",
    "DialogState",
    "DirectoryRevision",
    "InboxUpdate",
    "Interaction",
    "Invite",
    "KnowledgeFile",
    "Lead",
    "LogDraft",
    "NbaOutcome",
    "OutboxMessage",
    "Pipeline",
    "PrivacyRequest",
    "ProcessedUpdate",
    "PromptHead",
    "PromptVersion",
    "PushPreference",
    "ScheduledPush",
    "SentMessage",
    "StaffIdentity",
    "Stage",
    "Task",
    "Ticket",
    "TicketMessage",
    "User",
]
