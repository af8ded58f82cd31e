"""Use cases, one home each: a command, a button and a scheduled push that need the same thing call the same flow.

A flow takes plain values and returns typed results (pydantic); it reads, does slow work (an LLM,
a knowledge search) outside the write transaction, then writes briefly. Chat layers render results.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.config import Settings
from crm_core.flows.customers import CustomerFlow
from crm_core.flows.deals import DealFlow
from crm_core.flows.knowledge import KnowledgeFlow
from crm_core.flows.logs import LogFlow
from crm_core.flows.pipelines import PipelineFlow
from crm_core.flows.prompts import PromptFlow
from crm_core.flows.spreadsheets import SpreadsheetFlow
from crm_core.flows.support import SupportFlow
from crm_core.flows.team import TeamFlow
from crm_core.nba.flow import NbaFlow
from crm_core.ports import Ports
from crm_core.reports.flow import ReportFlow
from crm_core.services import Services
from crm_core.uow import StorePhase

__all__ = ["CustomerFlow", "DealFlow", "Flows", "KnowledgeFlow", "LogFlow", "NbaFlow", "PromptFlow", "ReportFlow",
           "SpreadsheetFlow", "SupportFlow"]


@dataclass
class Flows:
    """Every flow over one unit of work."""

    logs: LogFlow
    support: SupportFlow
    deals: DealFlow
    spreadsheets: SpreadsheetFlow
    reports: ReportFlow
    nba: NbaFlow
    team: TeamFlow
    pipelines: PipelineFlow
    prompts: PromptFlow
    knowledge: KnowledgeFlow
    customers: CustomerFlow

    @classmethod
    def build(cls, services: Services, *, ports: Ports, tx: StorePhase, settings: Settings) -> Flows:
        """Wire the flows over the services of one unit of work."""
        return cls(logs=LogFlow(services=services, ports=ports, tx=tx, undo_minutes=settings.undo_minutes),
                   support=SupportFlow(services=services, ports=ports, tx=tx, settings=settings),
                   deals=DealFlow(services=services, tx=tx, undo_minutes=settings.undo_minutes),
                   spreadsheets=SpreadsheetFlow(tx=tx, settings=settings, now=services.now),
                   reports=ReportFlow(services=services, ports=ports, settings=settings, tx=tx),
                   nba=NbaFlow(services=services, settings=settings, ports=ports, tx=tx),
                   team=TeamFlow(services=services, settings=settings),
                   pipelines=PipelineFlow(services=services),
                   prompts=PromptFlow(services=services, ports=ports, settings=settings),
                   knowledge=KnowledgeFlow(services=services, ports=ports, tx=tx, settings=settings),
                   customers=CustomerFlow(services=services))
