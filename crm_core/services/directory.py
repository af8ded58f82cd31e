"""Companies and contacts: find by name without accents or case, create, the 360° view."""

from __future__ import annotations

from datetime import datetime

from rapidfuzz import fuzz, process, utils
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import Conflict, NotFound
from crm_core.markers import ERASED
from crm_core.models import Company, Contact, User
from crm_core.policy import DealView, DealVisibility, Person, sees_deal_record, task_view
from crm_core.repositories.people import DirectoryRepository
from crm_core.repositories.references import is_referenced
from crm_core.repositories.sales import ActivityRepository, DealRepository
from crm_core.repositories.search import ContactRow, SearchRepository
from crm_core.schemas import (
    CompanyOut,
    ContactChoice,
    ContactOut,
    Customer360,
    InteractionOut,
    NameMatch,
    Person360,
    TaskOut,
    TaskSummary,
)
from crm_core.services.convert import (
    company_out,
    contact_out,
    deal_out,
    interaction_out,
    task_out,
)
from crm_core.services.deals import seen_as
from crm_core.services.names import NameIndex, name_index
from crm_core.services.search import (
    MIN_PHONE_DIGITS,
    WORD_STARTS,
    Ranked,
    SearchQuery,
    like_patterns,
    national_digits,
    parse_query,
    phone_matches,
    rank_fuzzy,
    rank_words,
)
from crm_core.textnorm import clean_name, fold, fold_tokens
from crm_core.understanding import KnownNames

LOOKALIKE_SCORE = 85.0
# The typo-forgiving search: rapidfuzz's first pass over every name keeps the likely ones, the ranking checks them.
FUZZY_PREFILTER_SCORE = 60.0
FUZZY_CANDIDATES = 200
# get-or-create: a twin found by the insert is read back; a twin deleted meanwhile (an undo) is inserted again.
_CREATE_ATTEMPTS = 3


async def contacts_reached_at(session: AsyncSession, *, phone: str | None, email: str | None) -> list[ContactRow]:
    """Return the contacts (not erased) whose phone is `phone` or whose e-mail is `email`, by id: the same person.

    Numbers are compared however they are written ("+84 912 345 678", "0912.345.678"), addresses without case.
    A number or address that is also a company's (its switchboard, info@) reaches the company, not a person:
    colleagues given it are not one person, so it reaches no contact.
    """
    repo = SearchRepository(session)
    found: dict[int, ContactRow] = {}
    key = national_digits(phone or "")
    if len(key) >= MIN_PHONE_DIGITS and not any(national_digits(row[2] or "") == key
                                                for row in await repo.companies_by_phone(key)):
        found.update((row[0], row) for row in await repo.contacts_by_phone(key) if national_digits(row[4] or "") == key)
    address = (email or "").strip()
    if "@" in address and not await repo.companies_by_email(address):
        found.update((row[0], row) for row in await repo.contacts_by_email(address))
    return [found[contact_id] for contact_id in sorted(found)]


def _rank(query: str, choices: dict[int, str], *, cutoff: float, limit: int) -> list[tuple[int, float]]:
    """Rank `choices` (folded names as rapidfuzz processes them) by closeness to the folded `query`."""
    found = process.extract(utils.default_process(fold(query)), choices, scorer=fuzz.WRatio, processor=None,
                            score_cutoff=cutoff, limit=limit)
    return [(key, float(score)) for _name, score, key in found]


class DirectoryService:
    """Find and create companies and contacts."""

    def __init__(self, repo: DirectoryRepository, deals: DealRepository, activities: ActivityRepository,
                 now: datetime, *, visibility: DealVisibility = DealVisibility.TEAM) -> None:
        self._repo = repo
        self._visibility = visibility
        self._deals = deals
        self._activities = activities
        self._now = now

    async def match_companies(self, name: str, *, cutoff: float = LOOKALIKE_SCORE, limit: int = 5) -> list[NameMatch]:
        """Return existing companies whose name looks like `name`, best first."""
        index = await name_index(self._repo)
        wanted = fold(name)
        return [NameMatch(kind="company", id=cid, name=index.company_names[cid], score=score,
                          exact=index.company_folds[cid] == wanted)
                for cid, score in _rank(name, index.company_choices, cutoff=cutoff, limit=limit)]

    async def match_contacts(self, name: str, *, company_id: int | None = None, cutoff: float = LOOKALIKE_SCORE,
                             limit: int = 5, prefer_owner: int | None = None) -> list[NameMatch]:
        """Return existing contacts whose name looks like `name` (within a company when given).

        Every person whose whole name or given name (the last word) is `name` comes first, however many
        look-alikes there are ("c Xuan": each Xuân), those of `prefer_owner` (the writer) before the others.
        """
        index = await name_index(self._repo)
        choices = index.contact_choices if company_id is None else {
            cid: index.contact_choices[cid] for cid, p in index.contacts.items() if p.company_id == company_id}
        wanted = fold(name)

        def exact_name(cid: int) -> bool:
            folded = index.contacts[cid].folded
            return folded == wanted or folded.split(" ")[-1] == wanted

        ranked = dict(_rank(name, choices, cutoff=cutoff, limit=limit))
        exact_ids = [cid for cid in choices if exact_name(cid)]
        own = await self._owned_by(exact_ids, prefer_owner) if prefer_owner is not None else set()
        exact_ids.sort(key=lambda cid: (cid not in own, -ranked.get(cid, 0.0), cid))
        matches = []
        for cid in [*exact_ids, *(c for c in ranked if c not in exact_ids)]:
            person = index.contacts[cid]
            matches.append(NameMatch(kind="contact", id=cid, name=person.name, company=person.company,
                                     score=ranked.get(cid, 100.0), exact=exact_name(cid)))
        return matches

    async def _owned_by(self, contact_ids: list[int], owner_id: int) -> set[int]:
        """The contacts among `contact_ids` that `owner_id` looks after (their own, or their company's)."""
        if not contact_ids:
            return set()
        rows = await self._repo.session.execute(
            select(Contact.id).outerjoin(Company, Company.id == Contact.company_id)
            .where(Contact.id.in_(contact_ids), (Contact.owner_id == owner_id) | (Company.owner_id == owner_id)))
        return set(rows.scalars())

    async def reached_at(self, *, phone: str | None, email: str | None) -> list[ContactChoice]:
        """Return the people whose phone or e-mail this is (a company's line reaches none), oldest first."""
        return [ContactChoice(id=cid, name=name, company=company, company_id=company_id)
                for cid, name, company_id, company, _phone in
                await contacts_reached_at(self._repo.session, phone=phone, email=email)]

    async def company_names(self) -> dict[int, str]:
        """Return every company's name by id (from the in-memory name index)."""
        return (await name_index(self._repo)).company_names

    async def known_names(self) -> KnownNames:
        """Return every company and contact name, for the log parser (the same object while they do not change)."""
        return (await name_index(self._repo)).known

    async def search(self, query: str, *, limit: int = 10) -> list[NameMatch]:
        """Search companies and contacts by name or phone, best first (the ranking of `services/search.py`).

        A query with an honorific ("anh Minh", "Ms. Hà") looks for people only. A match is `exact` when
        the query is the whole name, a person's given name, or the phone number.
        """
        wanted = parse_query(query)
        if wanted.empty:
            return []
        repo = SearchRepository(self._repo.session)
        if wanted.phone is not None:
            return await self._search_phone(repo, wanted, limit=limit)
        patterns = like_patterns(wanted)
        companies = {} if wanted.names_a_person else {row[0]: row for row in await repo.companies(patterns)}
        people = {row[0]: row for row in await repo.contacts(patterns)}
        names: list[tuple[tuple[str, int], str]] = [(("company", cid), row[1]) for cid, row in companies.items()]
        names += [(("contact", pid), row[1]) for pid, row in people.items()]
        ranked = rank_words(wanted, names)
        if not ranked:  # nothing by words: forgive a typo
            index = await name_index(self._repo)
            ranked = self._fuzzy(index, wanted, people_only=wanted.names_a_person)
            for hit in ranked:
                kind, key = hit.key
                if kind == "company":
                    companies[key] = (key, index.company_names[key], None)
                else:
                    person = index.contacts[key]
                    people[key] = (key, person.name, person.company_id, person.company, None)
        found = []
        for hit in ranked[:limit]:
            kind, record_id = hit.key
            if kind == "company":
                found.append(NameMatch(kind="company", id=record_id, name=companies[record_id][1], score=hit.score,
                                       exact=hit.whole_name))
                continue
            _pid, name, _cid, company, _phone = people[record_id]
            given = fold_tokens(name)[-1:] == list(wanted.words)
            found.append(NameMatch(kind="contact", id=record_id, name=name, company=company, score=hit.score,
                                   exact=hit.whole_name or (hit.tier <= WORD_STARTS and given)))
        return found

    @staticmethod
    def _fuzzy(index: NameIndex, wanted: SearchQuery, *, people_only: bool) -> list[Ranked[tuple[str, int]]]:
        """Names within a typo of the query: rapidfuzz picks the likely ones from every name, the ranking checks."""
        typed = utils.default_process(" ".join(wanted.words))
        names: list[tuple[tuple[str, int], str]] = []
        if not people_only:
            for _c, _s, cid in process.extract(typed, index.company_choices, scorer=fuzz.WRatio, processor=None,
                                               score_cutoff=FUZZY_PREFILTER_SCORE, limit=FUZZY_CANDIDATES):
                names.append((("company", cid), index.company_names[cid]))
        for _c, _s, pid in process.extract(typed, index.contact_choices, scorer=fuzz.WRatio, processor=None,
                                           score_cutoff=FUZZY_PREFILTER_SCORE, limit=FUZZY_CANDIDATES):
            if index.contacts[pid].name != ERASED:
                names.append((("contact", pid), index.contacts[pid].name))
        return rank_fuzzy(wanted, names)

    async def _search_phone(self, repo: SearchRepository, wanted: SearchQuery, *, limit: int) -> list[NameMatch]:
        assert wanted.phone is not None
        people = [row for row in await repo.contacts_by_phone(wanted.phone) if phone_matches(wanted, row[4])]
        companies = [row for row in await repo.companies_by_phone(wanted.phone) if phone_matches(wanted, row[2])]
        found = [NameMatch(kind="contact", id=pid, name=name, company=company, score=100.0, exact=True)
                 for pid, name, _cid, company, _phone in sorted(people, key=lambda r: r[0])]
        found += [NameMatch(kind="company", id=cid, name=name, score=100.0, exact=True)
                  for cid, name, _phone in sorted(companies, key=lambda r: r[0])]
        return found[:limit]

    async def company(self, company_id: int) -> CompanyOut:
        """Return one company."""
        company = await self._repo.get_company(company_id)
        if company is None:
            raise NotFound("no such company")
        return company_out(company)

    async def contact(self, contact_id: int) -> ContactOut:
        """Return one contact."""
        contact = await self._repo.get_contact(contact_id)
        if contact is None:
            raise NotFound("no such contact")
        return contact_out(contact, contact.company.name if contact.company else None)

    async def create_company(self, name: str, *, owner_id: int | None, industry: str | None = None) -> Company:
        """Return the company named `name` (accents and case ignored), creating it when there is none."""
        return (await self.company_or_new(name, owner_id=owner_id, industry=industry))[0]

    async def company_or_new(self, name: str, *, owner_id: int | None,
                             industry: str | None = None) -> tuple[Company, bool]:
        """Return the company named `name` and whether this call created it; concurrent calls converge on one row."""
        name = clean_name(name)
        folded = fold(name)
        for _attempt in range(_CREATE_ATTEMPTS):
            company = await self._repo.company_by_folded_name(folded)
            if company is not None:
                return company, False
            company = Company(name=name, name_folded=folded, owner_id=owner_id, industry=industry,
                              created_at=self._now)
            if await self._repo.add_unless_taken(company):
                return company, True
        raise Conflict(f"could not create the company {name!r}")

    async def create_contact(self, name: str, *, company_id: int | None, owner_id: int | None,
                             phone: str | None = None, email: str | None = None) -> Contact:
        """Return the company's contact named `name`, creating it when there is none (phone and email filled in)."""
        return (await self.contact_or_new(name, company_id=company_id, owner_id=owner_id, phone=phone,
                                          email=email))[0]

    async def contact_or_new(self, name: str, *, company_id: int | None, owner_id: int | None,
                             phone: str | None = None, email: str | None = None) -> tuple[Contact, bool]:
        """Return the contact named `name` at `company_id` and whether this call created it.

        Within a company there is one contact per folded name, and concurrent calls converge on it (its
        missing phone and email are filled in). Without a company every call creates a contact: a name
        alone does not tell two customers or two people called "Minh" apart.
        """
        name = clean_name(name)
        folded = fold(name)
        for _attempt in range(_CREATE_ATTEMPTS):
            existing = await self._repo.contact_in_company(company_id, folded) if company_id is not None else None
            if existing is not None:
                await self.update_contact_details(existing.id, phone=phone, email=email)
                return existing, False
            contact = Contact(name=name, name_folded=folded, company_id=company_id, owner_id=owner_id, phone=phone,
                              email=email, created_at=self._now)
            if await self._repo.add_unless_taken(contact):
                return contact, True
        raise Conflict(f"could not create the contact {name!r}")

    async def update_contact_details(self, contact_id: int, *, phone: str | None, email: str | None) -> None:
        """Fill a contact's phone and email when they are new."""
        contact = await self._repo.get_contact(contact_id)
        if contact is None:
            return
        if phone and not contact.phone:
            contact.phone = phone
        if email and not contact.email:
            contact.email = email

    async def delete_company_unless_used(self, company_id: int) -> bool:
        """Delete a company nothing points at any more (undo of the log that created it); False when kept."""
        # Every link counts, even those the database would cascade or unlink: another log (a colleague's,
        # or a later one) converged on it. The DELETE itself still refuses a link committed meanwhile.
        if await is_referenced(self._repo.session, "companies", company_id):
            return False
        return await self._repo.delete_unless_referenced(Company, company_id)

    async def delete_contact_unless_used(self, contact_id: int) -> bool:
        """Delete a contact nothing points at any more (undo of the log that created it); False when kept."""
        if await is_referenced(self._repo.session, "contacts", contact_id):
            return False
        return await self._repo.delete_unless_referenced(Contact, contact_id)

    async def customer_360(self, company_id: int, *, viewer: Person, interactions: int = 5) -> Customer360:
        """Return the company with its contacts, deals, latest interactions and open tasks, as `viewer` sees them.

        Everyone on the staff sees the company and its people; deals, and the notes and calls of a deal, follow
        the deal rule (crm_core.policy.deal_view); tasks the task rule, as /task does (crm_core.policy.can_read_task).
        """
        company = await self._repo.get_company(company_id)
        if company is None:
            raise NotFound("no such company")
        contacts = [contact_out(c, company.name) for c in await self._repo.contacts_of(company_id)]
        deals = [seen for d in await self._deals.list_of_company(company_id)
                 if (seen := seen_as(deal_out(d, now=self._now), viewer, self._visibility)) is not None]
        # Read more than shown: some may belong to a colleague's deal the viewer does not see.
        rows = await self._activities.interactions_of_company(company_id, limit=interactions * 4)
        recent = (await self._visible_interactions([interaction_out(i) for i in rows], viewer))[:interactions]
        open_tasks = await self._activities.open_tasks_of_company(company_id)
        owners = await self._user_names({t.owner_id for t in open_tasks if t.owner_id is not None})
        tasks = self._visible_tasks([task_out(t, owners.get(t.owner_id or 0)) for t in open_tasks], viewer)
        return Customer360(company=company_out(company), contacts=contacts, deals=deals, interactions=recent,
                           open_tasks=tasks)

    async def person_360(self, contact_id: int, *, viewer: Person, interactions: int = 8) -> Person360:
        """Return a person with her open deals, latest interactions and open tasks, as `viewer` sees them.

        Her deals are those she is the contact of, whichever company holds them: a customer who came through
        the bot has a lead deal no company holds. Her tasks are hers and those of her open deals, those the
        viewer may open with /task (crm_core.policy.can_read_task).
        """
        contact = await self.contact(contact_id)
        rows = await self._deals.open_of_contact(contact_id)
        deals = [seen for d in rows
                 if (seen := seen_as(deal_out(d, now=self._now), viewer, self._visibility)) is not None]
        open_tasks = await self._activities.open_tasks_of_contact(contact_id, deal_ids=[d.id for d in rows])
        owners = await self._user_names({t.owner_id for t in open_tasks if t.owner_id is not None})
        tasks = self._visible_tasks([task_out(t, owners.get(t.owner_id or 0)) for t in open_tasks], viewer)
        return Person360(contact=contact, deals=deals, open_tasks=tasks,
                         interactions=await self.contact_history(contact_id, viewer=viewer, limit=interactions))

    async def _visible_interactions(self, items: list[InteractionOut], viewer: Person) -> list[InteractionOut]:
        """Leave out the notes and calls of deals the viewer does not see in full (others' on those deals)."""
        owners = await self._deals.owners([i.deal_id for i in items if i.deal_id is not None])
        return [i for i in items
                if sees_deal_record(viewer, record_owner_id=i.owner_id, deal_id=i.deal_id,
                                    deal_owner_id=owners.get(i.deal_id or 0), visibility=self._visibility)]

    async def _user_names(self, ids: set[int]) -> dict[int, str]:
        """Name the staff members `ids` (whose task is whose)."""
        if not ids:
            return {}
        rows = await self._deals.session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        return {row.id: row.name for row in rows}

    def _visible_tasks(self, items: list[TaskOut], viewer: Person) -> list[TaskOut | TaskSummary]:
        """The tasks as the viewer sees them (crm_core.policy.task_view): in full those /task lets them read (a
        salesperson's own, managers and admins everyone's), a colleague's as whose it is, deal or no deal."""
        seen: list[TaskOut | TaskSummary] = []
        for t in items:
            view = task_view(viewer, t.owner_id, visibility=self._visibility)
            if view is DealView.FULL:
                seen.append(t)
            elif view is DealView.SUMMARY:
                seen.append(TaskSummary(id=t.id, owner_id=t.owner_id, owner=t.owner))
        return seen

    async def companies_named_in(self, text: str, *, cutoff: float = 90.0) -> list[NameMatch]:
        """Return companies whose name appears in `text` (accents and case ignored, small typos allowed), best first."""
        folded = fold(text)
        found = []
        index = await name_index(self._repo)
        for cid, name_folded in index.company_folds.items():
            name = index.company_names[cid]
            if len(name_folded) < 3:
                continue
            score = float(fuzz.partial_ratio(name_folded, folded))
            if score >= cutoff:
                found.append(NameMatch(kind="company", id=cid, name=name, score=score, exact=name_folded in folded))
        found.sort(key=lambda m: (-m.score, -len(m.name)))
        return found

    async def interactions_for_search(self, company_id: int | None, *, viewer: Person,
                                      limit: int = 300) -> list[InteractionOut]:
        """Return the interactions `/ask` searches: one company's, or everyone's latest; erased ones and those of
        deals the viewer does not see in full left out."""
        rows = await self._activities.latest_interactions(company_id=company_id, limit=limit)
        return await self._visible_interactions([interaction_out(r) for r in rows if r.summary != ERASED], viewer)

    async def contact_history(self, contact_id: int, *, viewer: Person, limit: int = 8) -> list[InteractionOut]:
        """Return a contact's latest interactions the viewer sees (a customer who wrote to the bot has no company)."""
        rows = await self._activities.interactions_of_contact(contact_id, limit=limit * 4)
        return (await self._visible_interactions([interaction_out(r) for r in rows], viewer))[:limit]

    async def counts(self) -> tuple[int, int]:
        """Count companies and contacts."""
        return await self._repo.count_companies(), await self._repo.count_contacts()
