"""The summary use cases: one home for `/summary`, `/pipeline`, `/forecast`, their drill-ins, the scheduled
pushes and `chatcrm summary`. Reads only, except the push claims and the /settings changes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import func, select

from crm_core.config import Settings
from crm_core.errors import Forbidden
from crm_core.hours import WorkingHours
from crm_core.models import Company, Contact, CustomerQuestion, Interaction, Pipeline, Stage
from crm_core.nba.schemas import NbaStats
from crm_core.policy import (
    figures_owner,
    hears_daily_summary,
    hears_morning_digest,
    owner_filter,
    sees_nba_stats,
    sees_support_figures,
)
from crm_core.ports import Ports
from crm_core.reports.figures import NOT_TEAM_WORK, Figures
from crm_core.reports.forecast import StageInfo, build_pipeline
from crm_core.reports.highlights import HIGHLIGHTS_PROMPT, rule_facts, written_highlights
from crm_core.reports.models import (
    ActivityLine,
    Digest,
    Forecast,
    HandoffLine,
    Highlights,
    Page,
    PipelineReport,
    RepActivity,
    StageFigures,
    StalledDeal,
    Summary,
)
from crm_core.reports.periods import Period, PeriodKind, compared_with, period_of
from crm_core.reports.pushes import PushKind, PushPrefs, PushStore
from crm_core.reports.winrates import WinRates
from crm_core.schemas import TaskOut, UserOut
from crm_core.services import Services
from crm_core.services.identities import reminded_on
from crm_core.uow import ReadPhase

PAGE_SIZE = 8
DIGEST_ITEMS = 10


class DuePush(BaseModel):
    """A push claimed for one person: the summary (managers) or the morning digest (salespeople)."""

    user: UserOut
    channel: str
    chat_id: str
    kind: PushKind
    summary: Summary | None = None
    digest: Digest | None = None


@dataclass
class ReportFlow:
    """Summaries, pipeline, forecast, drill-ins and pushes over one unit of work."""

    services: Services
    ports: Ports
    settings: Settings
    tx: ReadPhase | None = None

    @property
    def _figures(self) -> Figures:
        return Figures(self.services.session)

    @property
    def _now(self) -> datetime:
        return self.services.now.astimezone(self.settings.tz)

    def period(self, kind: PeriodKind, day: date | None = None) -> Period:
        """Return the period of `kind` holding `day` (today by default) in the business time zone."""
        return period_of(kind, day or self._now.date(), self.settings.tz)

    # --- the summary ---------------------------------------------------------------------------------------

    async def summary(self, viewer: UserOut, kind: PeriodKind = "day", day: date | None = None, *,
                      language: str = "vi", write: bool = True) -> Summary:
        """Compute the period's figures as `viewer` may see them, with the highlights paragraph.

        `write` False keeps the rules' paragraph (no LLM): a push is computed inside the claim's transaction.
        """
        summary = await self.figures(viewer, kind, day)
        if write and self.ports.chat_model is not None:
            summary.highlights = await self._llm_highlights(summary, language)
        return summary

    async def figures(self, viewer: UserOut, kind: PeriodKind = "day", day: date | None = None) -> Summary:
        """Compute the figures (a few aggregate queries) with the rules' highlights."""
        owner_id = figures_owner(viewer)
        period = self.period(kind, day)
        as_of = min(period.end, self._now)
        f = self._figures
        names = await f.staff_names()
        before = self._compared_with(period)
        now_by_rep, then_by_rep = await f.activity(period, before, owner_id)
        listed = [(viewer.id, viewer.name)] if owner_id is not None else await f.salespeople()
        activity = [a for a in f.reps(now_by_rep, then_by_rep, names, listed) if owner_id is None or
                    a.user_id == owner_id]
        pipeline, forecast = await self._pipeline(as_of, period, owner_id)
        stalled = await f.stalled_by_stage(as_of, owner_id)
        summary = Summary(kind=period.kind, first=period.first, last=period.last, key=period.key, as_of=as_of,
                          scope="own" if owner_id is not None else "team", viewer_id=viewer.id, activity=activity,
                          interactions_by_kind=_by_kind(now_by_rep),
                          interactions_unowned=sum(now_by_rep.get(None, {}).values()),
                          previous_interactions=sum(sum(k.values()) for k in then_by_rep.values()),
                          previous_first=before.first, previous_last=before.last,
                          leads=await f.leads(period, owner_id), deals=await f.deals(period, owner_id),
                          pipeline=pipeline, forecast=forecast,
                          tasks=await f.tasks(period, as_of, owner_id, names),
                          stalled=sum(stalled.values()), stalled_by_stage=stalled,
                          faq=await f.faq(period) if sees_support_figures(viewer) else None,
                          nba=await self._nba_stats(viewer, as_of))
        summary.highlights = Highlights(facts=rule_facts(summary))
        return summary

    def _compared_with(self, period: Period) -> Period:
        return compared_with(period, self._now.date(), self.settings.tz)

    async def _nba_stats(self, viewer: UserOut, as_of: datetime) -> NbaStats | None:
        """Done / snoozed / ignored per next-action rule over the 30 days to `as_of` (issue 14), for managers."""
        if not sees_nba_stats(viewer):
            return None
        from crm_core.nba.flow import NbaFlow

        return await NbaFlow(services=self.services, settings=self.settings).stats(viewer, until=as_of)

    async def _llm_highlights(self, summary: Summary, language: str) -> Highlights:
        from crm_core.prompting import PromptError, PromptLibrary

        chat = self.ports.chat_model
        assert chat is not None
        try:
            # the version in force (an admin's, else the file), recorded on the highlights it writes
            prompt = (self.ports.prompts or PromptLibrary(self.settings.prompts_dir)).get(HIGHLIGHTS_PROMPT)
        except PromptError:
            return summary.highlights
        if self.tx is not None:
            await self.tx.end_reads()  # the model is slow: no read transaction (or SQLite snapshot) held meanwhile
        return await written_highlights(summary, model=chat.model, prompt=prompt, language=language,
                                        timeout_s=chat.timeout_s)

    async def _stages(self) -> list[StageInfo]:
        rows = await self.services.session.execute(
            select(Stage.id, Stage.key, Stage.name_vi, Stage.name_en, Stage.position, Stage.probability,
                   Pipeline.is_default).join(Pipeline, Pipeline.id == Stage.pipeline_id)
            .where(Stage.is_won.is_(False), Stage.is_lost.is_(False)))
        return [StageInfo(id=i, key=k, name_vi=vi, name_en=en, position=p, probability=pr, listed=bool(d))
                for i, k, vi, en, p, pr, d in rows]

    async def _pipeline(self, as_of: datetime, period: Period, owner_id: int | None
                        ) -> tuple[list[StageFigures], Forecast]:
        month = period_of("month", period.last, self.settings.tz)
        rows = await self._figures.open_deals(as_of, now=self._now, month_first=month.first,
                                              month_last=month.last, owner_id=owner_id)
        history = await WinRates(self.services.session).history(as_of)
        return build_pipeline(rows, await self._stages(), history, month.key)

    async def pipeline(self, viewer: UserOut) -> PipelineReport:
        """Return open deals now by stage and the month's forecast, as `viewer` may see them."""
        owner_id = figures_owner(viewer)
        period = self.period("day")
        pipeline, forecast = await self._pipeline(self._now, period, owner_id)
        stalled = await self._figures.stalled_by_stage(self._now, owner_id)
        return PipelineReport(as_of=self._now, scope="own" if owner_id is not None else "team", pipeline=pipeline,
                              forecast=forecast, stalled=sum(stalled.values()))

    # --- drill-ins -----------------------------------------------------------------------------------------

    async def stalled(self, viewer: UserOut, page: int = 1) -> Page[StalledDeal]:
        """Return a page of the open deals past their stage's limit (a salesperson's own)."""
        owner_id = figures_owner(viewer)
        total = sum((await self._figures.stalled_by_stage(self._now, owner_id)).values())
        page, pages = _page_bounds(page, total)
        items = await self._figures.stalled_deals(self._now, owner_id, offset=(page - 1) * PAGE_SIZE,
                                                  limit=PAGE_SIZE)
        return Page[StalledDeal](items=items, page=page, pages=pages, total=total)

    async def overdue_of(self, viewer: UserOut, owner_id: int | None, page: int = 1) -> Page[TaskOut]:
        """Return a page of one person's overdue tasks (a salesperson: always their own)."""
        tasks = (await self.services.tasks.buckets(viewer, owner_id=owner_filter(viewer, owner_id))).overdue
        page, pages = _page_bounds(page, len(tasks))
        return Page[TaskOut](items=tasks[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], page=page, pages=pages,
                             total=len(tasks))

    async def activity_of(self, viewer: UserOut, user_id: int, kind: PeriodKind, day: date, page: int = 1
                          ) -> tuple[RepActivity, Page[ActivityLine]]:
        """Return one salesperson's activity in the period: counts by kind and the interactions, paged."""
        if owner_filter(viewer, user_id) != user_id:
            raise Forbidden("only your own activity")
        period = self.period(kind, day)
        f = self._figures
        now_by_rep, then_by_rep = await f.activity(period, self._compared_with(period), user_id)
        names = await f.staff_names()
        rep = RepActivity(user_id=user_id, name=names.get(user_id, f"#{user_id}"),
                          by_kind=now_by_rep.get(user_id, {}), previous_by_kind=then_by_rep.get(user_id, {}))
        page, pages = _page_bounds(page, rep.total)
        rows = await self.services.session.execute(
            select(Interaction.id, Interaction.kind, Interaction.occurred_at, Interaction.summary, Company.name,
                   Contact.name)
            .outerjoin(Company, Company.id == Interaction.company_id)
            .outerjoin(Contact, Contact.id == Interaction.contact_id)
            .where(Interaction.owner_id == user_id, Interaction.occurred_at >= period.start,
                   Interaction.occurred_at < period.end, Interaction.source.not_in(NOT_TEAM_WORK))
            .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        lines = [ActivityLine(id=i, kind=k, occurred_at=at, summary=s, company=co, contact=ct)
                 for i, k, at, s, co, ct in rows]
        return rep, Page[ActivityLine](items=lines, page=page, pages=pages, total=rep.total)

    async def handoffs(self, viewer: UserOut, kind: PeriodKind, day: date, page: int = 1) -> Page[HandoffLine]:
        """Return a page of the questions the FAQ bot handed to a person in the period (managers and admins)."""
        if not sees_support_figures(viewer):
            raise Forbidden("the FAQ bot's figures are the managers'")
        period = self.period(kind, day)
        where = (CustomerQuestion.asked_at >= period.start, CustomerQuestion.asked_at < period.end,
                 CustomerQuestion.handoff.is_(True))
        total = int(await self.services.session.scalar(select(func.count(CustomerQuestion.id)).where(*where)) or 0)
        page, pages = _page_bounds(page, total)
        rows = await self.services.session.execute(
            select(CustomerQuestion.id, CustomerQuestion.question, CustomerQuestion.reason, CustomerQuestion.asked_at,
                   CustomerQuestion.ticket_id).where(*where)
            .order_by(CustomerQuestion.asked_at.desc(), CustomerQuestion.id.desc())
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        items = [HandoffLine(id=i, question=q, reason=r, asked_at=at, ticket_id=t) for i, q, r, at, t in rows]
        return Page[HandoffLine](items=items, page=page, pages=pages, total=total)

    # --- the morning digest --------------------------------------------------------------------------------

    async def digest(self, user: UserOut) -> Digest:
        """Return a salesperson's morning: tasks due today, overdue ones, their stalled deals."""
        buckets = await self.services.tasks.buckets(user, owner_id=user.id)
        stalled = await self._figures.stalled_deals(self._now, user.id, offset=0, limit=DIGEST_ITEMS)
        from crm_core.nba.flow import NbaFlow  # the next-best-actions join the digest (issue 14)

        actions = (await NbaFlow(services=self.services, settings=self.settings).next_for(
            user, limit=self.settings.nba.digest_items)).items
        return Digest(user_id=user.id, day=self._now.date(), today=buckets.today[:DIGEST_ITEMS],
                      overdue=buckets.overdue[:DIGEST_ITEMS], stalled=stalled, actions=actions)

    # --- push settings and the scheduled pushes ------------------------------------------------------------

    def _push_store(self) -> PushStore:
        pushes = self.settings.pushes
        return PushStore(self.services.session, self.services.now, summary_time=pushes.summary_time,
                         digest_time=pushes.digest_time)

    async def push_settings(self, user: UserOut) -> PushPrefs:
        """Return when this person's summary and digest go out, and whether muted."""
        return (await self._push_store().prefs([user.id]))[user.id]

    async def change_push(self, user: UserOut, kind: PushKind, *, at: str | None = None, muted: bool | None = None,
                          default_time: bool = False) -> PushPrefs:
        """Move this person's own push to another time, back to the team's, or mute/unmute it."""
        return await self._push_store().change(user.id, kind, at=at, muted=muted, default_time=default_time)

    def push_kinds(self, user: UserOut) -> list[PushKind]:
        """Return the pushes this person gets: the summary (managers, admins), the digest (salespeople)."""
        kinds: list[PushKind] = []
        if hears_daily_summary(user):
            kinds.append("summary")
        if hears_morning_digest(user):
            kinds.append("digest")
        return kinds

    async def due_pushes(self, channel: str) -> list[DuePush]:
        """Claim and compute the pushes due now on `channel`: today's only, on working days, once each."""
        if not self.settings.pushes.enabled:
            return []
        now = self._now
        if now.weekday() not in WorkingHours.parse(self.settings.support_hours, self.settings.tz).days:
            return []
        people = {u.id: u for u in await self.services.users.list()
                  if self.push_kinds(u) and reminded_on(u, channel)}
        store = self._push_store()
        prefs = await store.prefs(list(people))
        period = now.date().isoformat()
        due: list[DuePush] = []
        for kind in ("summary", "digest"):
            waiting = [uid for uid, p in prefs.items() if kind in self.push_kinds(people[uid])
                       and not p.muted(kind) and self._in_push_window(kind, p.time_of(kind))]
            taken = await store.claimed(kind, period, waiting)
            for user_id in waiting:
                if user_id in taken or not await store.claim(user_id, kind, period):
                    continue
                due += await self._push(people[user_id], channel, kind)
        return due

    def _in_push_window(self, kind: Literal["summary", "digest"], at: time) -> bool:
        """Tell whether a push set for `at` goes out now: from its time on, and a digest only while it is news."""
        now = self._now
        if now.time() < at:
            return False
        if kind == "summary":
            return True
        late = now - datetime.combine(now.date(), at, tzinfo=now.tzinfo)
        return late <= timedelta(hours=self.settings.pushes.digest_catch_up_hours)

    async def _push(self, user: UserOut, channel: str, kind: Literal["summary", "digest"]) -> list[DuePush]:
        chat_id = user.addresses[channel]
        if kind == "summary":
            summary = await self.summary(user, "day", language=user.language, write=False)
            return [DuePush(user=user, channel=channel, chat_id=chat_id, kind=kind, summary=summary)]
        digest = await self.digest(user)
        if digest.is_empty:  # claimed all the same: nothing to say today, and nothing to recompute each tick
            return []
        return [DuePush(user=user, channel=channel, chat_id=chat_id, kind=kind, digest=digest)]


def _by_kind(by_rep: dict[int | None, dict[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for kinds in by_rep.values():
        for kind, count in kinds.items():
            totals[kind] = totals.get(kind, 0) + count
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def _page_bounds(page: int, total: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return min(max(page, 1), pages), pages
