"""Use cases over one unit of work; `Services` wires them for one inbound message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.policy import DealVisibility
from crm_core.repositories.channels import IdentityRepository
from crm_core.repositories.people import DirectoryRepository, UserRepository
from crm_core.repositories.sales import (
    ActivityRepository,
    DealRepository,
    PipelineRepository,
)
from crm_core.services.audit import AuditService
from crm_core.services.closing import DealClosingService
from crm_core.services.deals import DealService
from crm_core.services.delivery import DeliveryLog
from crm_core.services.directory import DirectoryService
from crm_core.services.identities import IdentityService
from crm_core.services.leads import AssignmentService, LeadService
from crm_core.services.logs import LogService
from crm_core.services.outbox import SEND_LEASE, OutboxService
from crm_core.services.pipelines import PipelineService
from crm_core.services.privacy import PrivacyService
from crm_core.services.support import SupportService
from crm_core.services.system import DedupeService, StateService
from crm_core.services.tasks import TaskService
from crm_core.services.users import UserService


@dataclass
class Services:
    """Every service, sharing one session and one `now`."""

    session: AsyncSession
    now: datetime
    audit: AuditService
    identities: IdentityService
    users: UserService
    pipelines: PipelineService
    directory: DirectoryService
    deals: DealService
    closing: DealClosingService
    tasks: TaskService
    logs: LogService
    state: StateService
    dedupe: DedupeService
    support: SupportService
    assignment: AssignmentService
    leads: LeadService
    privacy: PrivacyService
    delivery: DeliveryLog
    outbox: OutboxService

    async def interactions_count(self) -> int:
        """Count interactions."""
        return await ActivityRepository(self.session).count_interactions()

    @classmethod
    def build(cls, session: AsyncSession, *, now: datetime, undo_minutes: int = 5,
              deal_visibility: DealVisibility = DealVisibility.TEAM, channel: str | None = None,
              outbox_lease: timedelta = SEND_LEASE, outbox_claimer: str | None = None) -> Services:
        """Wire the services over `session`; `deal_visibility` is the team's setting (crm_core.policy.deal_view);
        `channel` is where the unit of work came from (recorded in the audit trail); `outbox_lease` is how long
        a message written here is this process's to send (Settings.outbox_lease_seconds), `outbox_claimer` who
        claims it (the engine's id, which renews the claim before sending)."""
        user_repo, directory_repo = UserRepository(session), DirectoryRepository(session)
        deal_repo, activity_repo = DealRepository(session), ActivityRepository(session)
        audit = AuditService(session, now, channel=channel)
        pipelines = PipelineService(PipelineRepository(session), now)
        directory = DirectoryService(directory_repo, deal_repo, activity_repo, now, visibility=deal_visibility)
        deals = DealService(deal_repo, activity_repo, user_repo, pipelines, audit, now, visibility=deal_visibility)
        tasks = TaskService(activity_repo, user_repo, now)
        closing = DealClosingService(deal_repo, pipelines, audit, now, undo_minutes)
        logs = LogService(session, directory, deals, tasks, activity_repo, pipelines, closing, now, undo_minutes)
        assignment = AssignmentService(session)
        identities = IdentityService(user_repo, IdentityRepository(session), now)
        return cls(session=session, now=now, audit=audit, identities=identities,
                   users=UserService(user_repo, identities, audit, now),
                   pipelines=pipelines, directory=directory, deals=deals, tasks=tasks, logs=logs,
                   closing=closing,
                   state=StateService(session, now), dedupe=DedupeService(session, now),
                   support=SupportService(session, audit, now), assignment=assignment,
                   leads=LeadService(session, assignment, deals, tasks, pipelines, audit, now),
                   privacy=PrivacyService(session, audit, now, closing), delivery=DeliveryLog(session, now),
                   outbox=OutboxService(session, now, send_lease=outbox_lease, claimer=outbox_claimer))
