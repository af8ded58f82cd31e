"""The next-best-action use cases, one home for `/next`, its buttons, the morning digest and `chatcrm next`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from crm_core.config import Settings
from crm_core.errors import AlreadyDone, Forbidden, NotFound
from crm_core.models import Interaction, NbaOutcome
from crm_core.nba.facts import FactLoader, Facts
from crm_core.nba.phrasing import REASON_PROMPT, rephrase_all
from crm_core.nba.rank import rank
from crm_core.nba.rules import candidates
from crm_core.nba.schemas import NbaStats, NextItem, NextList, Outcome, RuleStats
from crm_core.nba.settings import RULE_NAMES
from crm_core.nba.tiers import assign_tiers, customer_figures, last_computed, store_tiers
from crm_core.policy import answers_next_of, sees_nba_stats, sees_next_of
from crm_core.ports import Ports
from crm_core.schemas import UserOut
from crm_core.services import Services
from crm_core.uow import ReadPhase

log = logging.getLogger(__name__)
STATS_DAYS = 30
MIN_ANSWERS_FOR_FLAG = 5


@dataclass
class NbaFlow:
    """Ranked, explained suggestions for each salesperson over one unit of work."""

    services: Services
    settings: Settings
    ports: Ports = field(default_factory=Ports)
    tx: ReadPhase | None = None
    _loader: FactLoader | None = None

    @property
    def now(self) -> datetime:
        """The flow's time in the business time zone."""
        return self.services.now.astimezone(self.settings.tz)

    async def loader(self) -> FactLoader:
        """The fact loader (stages and odds read once); tiers computed in memory while none are stored."""
        if self._loader is None:
            session = self.services.session
            tiers = None
            if await last_computed(session) is None:
                rows = assign_tiers(await customer_figures(session, self.now, self.settings.nba), self.now,
                                    self.settings.nba)
                tiers = {r.figures.company_id: r.tier for r in rows}
            self._loader = FactLoader(session, self.settings.nba, tiers=tiers)
        return self._loader

    async def facts(self, user_id: int) -> Facts:
        """Load what the rules read about `user_id` now."""
        return await (await self.loader()).load(user_id, self.now, self.now.date())

    async def ranked(self, user_id: int) -> list[NextItem]:
        """Every suggestion for `user_id`, best first."""
        facts = await self.facts(user_id)
        return rank(candidates(facts, self.settings.nba), facts, self.settings.nba)

    async def next_for(self, viewer: UserOut, user_id: int | None = None, *, limit: int = 5, offset: int = 0,
                       record_shown: bool = False, wording: Callable[[NextItem], str] | None = None,
                       language: str = "vi", words: Callable[[str], str] | None = None) -> NextList:
        """A page of one salesperson's actions as `viewer` may see them (their own, or anyone's for managers).

        With `wording` (the rules' reason of an item, in `language`) and an LLM configured, each reason is
        reworded from its facts and kept only when faithful (crm_core.nba.phrasing). `words` gives a stored text
        as read in `language` (what an erasure took out, worded): the facts reach the model that way.
        """
        owner = viewer if user_id is None or user_id == viewer.id else await self.services.users.get(user_id)
        if not sees_next_of(viewer, owner.id):
            raise Forbidden("only your own next actions")
        items = await self.ranked(owner.id)
        page = items[offset: offset + limit]
        if wording is not None and self.ports.chat_model is not None and page:
            page = await self._reworded(page, wording, language, words or (lambda text: text))
        if record_shown and answers_next_of(viewer, owner.id):
            await self.record_shown(owner.id, page)
        return NextList(user_id=owner.id, name=owner.name, items=page, total=len(items), offset=offset)

    async def _reworded(self, page: list[NextItem], wording: Callable[[NextItem], str], language: str,
                        words: Callable[[str], str]) -> list[NextItem]:
        from crm_core.prompting import PromptError, PromptLibrary

        chat = self.ports.chat_model
        assert chat is not None
        try:
            prompt = PromptLibrary(self.settings.prompts_dir).get(REASON_PROMPT)
        except PromptError:
            return page
        rule_texts = {item.subject: wording(item) for item in page}
        if self.tx is not None:
            await self.tx.end_reads()  # the model is slow: no read transaction (or SQLite snapshot) held meanwhile
        phrased = await rephrase_all(page, rule_texts, model=chat.model, prompt=prompt, language=language,
                                     timeout_s=chat.timeout_s, words=words)
        return [item.model_copy(update={"reason": p.text, "reason_prompt": p.prompt})
                if (p := phrased.get(item.subject)) is not None and p.prompt is not None else item for item in page]

    async def team(self, viewer: UserOut, *, per_person: int = 1) -> list[NextList]:
        """The top actions of each active salesperson (managers and admins)."""
        if not sees_nba_stats(viewer):
            raise Forbidden("the team's next actions are the managers'")
        lists = []
        for person in await self.services.users.salespeople():
            items = await self.ranked(person.id)
            lists.append(NextList(user_id=person.id, name=person.name, items=items[:per_person], total=len(items)))
        return lists

    async def current(self, viewer: UserOut, subject: str) -> NextItem:
        """The suggestion about `subject` on `viewer`'s own list now; AlreadyDone when it is gone."""
        item = next((i for i in await self.ranked(viewer.id) if i.subject == subject), None)
        if item is None:
            raise AlreadyDone(f"{subject} is no longer suggested")
        return item

    def _record(self, user_id: int, item: NextItem, outcome: str, *, until: datetime | None = None,
                note: str | None = None) -> None:
        self.services.session.add(NbaOutcome(user_id=user_id, subject=item.subject, rule=item.rule, outcome=outcome,
                                             state=item.state[:200], at=self.services.now, until=until,
                                             note=note[:300] if note else None))

    async def done(self, viewer: UserOut, subject: str, *, summary: str, kind: str = "call") -> Outcome:
        """Mark a suggestion done: its task is closed, or what was done is logged (one tap; a note may follow)."""
        item = await self.current(viewer, subject)
        task_done = logged = None
        if item.task_id is not None:
            await self.services.tasks.done(item.task_id, viewer)
            task_done = item.task_id
        else:
            interaction = Interaction(kind=kind, occurred_at=self.services.now, contact_id=item.contact_id,
                                      company_id=item.company_id,
                                      deal_id=item.deal_id if item.deal_status == "open" or item.rule == "onboarding"
                                      else None, owner_id=viewer.id, summary=summary, source="chat",
                                      created_at=self.services.now)
            self.services.session.add(interaction)
            await self.services.session.flush()
            logged = interaction.id
        self._record(viewer.id, item, "done", note=summary)
        return Outcome(subject=subject, rule=item.rule, outcome="done", task_done=task_done, logged=logged)

    async def add_note(self, viewer: UserOut, interaction_id: int, note: str) -> None:
        """Add the one-line note to what a done logged."""
        row = await self.services.session.get(Interaction, interaction_id)
        if row is None or row.owner_id != viewer.id:
            raise NotFound("no such log")
        row.summary = f"{row.summary} — {note.strip()}"[:4000]

    def snooze_until(self) -> datetime:
        """Tomorrow at the snooze hour, local time."""
        tomorrow = self.now.date() + timedelta(days=1)
        return datetime.combine(tomorrow, time(self.settings.nba.snooze_hour), self.settings.tz)

    async def snooze(self, viewer: UserOut, subject: str) -> Outcome:
        """Hide a suggestion until tomorrow morning (or until its subject changes)."""
        item = await self.current(viewer, subject)
        until = self.snooze_until()
        self._record(viewer.id, item, "snoozed", until=until)
        return Outcome(subject=subject, rule=item.rule, outcome="snoozed", until=until)

    async def record_shown(self, user_id: int, items: list[NextItem]) -> None:
        """Note each suggestion shown (once a day per subject): what is neither done nor snoozed was ignored."""
        if not items:
            return
        day_start = datetime.combine(self.now.date(), time(0), self.settings.tz)
        seen = set((await self.services.session.execute(
            select(NbaOutcome.subject).where(NbaOutcome.user_id == user_id, NbaOutcome.outcome == "shown",
                                             NbaOutcome.at >= day_start,
                                             NbaOutcome.subject.in_([i.subject for i in items])))).scalars())
        for item in items:
            if item.subject not in seen:
                self._record(user_id, item, "shown")

    async def stats(self, viewer: UserOut | None = None, *, days: int = STATS_DAYS, until: datetime | None = None
                    ) -> NbaStats:
        """Done, snoozed and ignored per rule over the `days` before `until` (now by default; managers and
        admins; None: the command line)."""
        if viewer is not None and not sees_nba_stats(viewer):
            raise Forbidden("the acceptance figures are the managers'")
        end = min(until, self.services.now) if until is not None else self.services.now
        since = end.astimezone(self.settings.tz) - timedelta(days=days)
        rows = await self.services.session.execute(
            select(NbaOutcome.rule, NbaOutcome.outcome, func.count(NbaOutcome.id))
            .where(NbaOutcome.at >= since, NbaOutcome.at <= end)
            .group_by(NbaOutcome.rule, NbaOutcome.outcome))
        by_rule = {name: RuleStats(rule=name) for name in RULE_NAMES}
        for rule, outcome, count in rows:
            stats = by_rule.setdefault(rule, RuleStats(rule=rule))
            if outcome in ("shown", "done", "snoozed"):
                setattr(stats, outcome, int(count))
        share = self.settings.nba.snoozed_flag_share
        for stats in by_rule.values():
            stats.ignored = max(0, stats.shown - stats.done - stats.snoozed)
            answered = stats.done + stats.snoozed
            stats.mostly_snoozed = answered >= MIN_ANSWERS_FOR_FLAG and stats.snoozed >= share * answered
        return NbaStats(days=days, since=since, rules=list(by_rule.values()))

    async def refresh_tiers(self) -> int:
        """Recompute and store every customer's value tier; return how many customers."""
        session = self.services.session
        rows = assign_tiers(await customer_figures(session, self.now, self.settings.nba), self.now, self.settings.nba)
        self._loader = None
        return await store_tiers(session, rows, self.services.now)

    async def refresh_tiers_if_due(self) -> int | None:
        """The nightly job: recompute the tiers once a day after `tiers_hour` (local); None when not due."""
        computed = await last_computed(self.services.session)
        now = self.now
        if now.hour < self.settings.nba.tiers_hour:
            return None
        if computed is not None and computed.astimezone(self.settings.tz).date() >= now.date():
            return None
        count = await self.refresh_tiers()
        log.info("value tiers recomputed for %d customers", count)
        return count
