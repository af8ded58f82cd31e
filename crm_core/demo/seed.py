"""Seed a fresh home with a believable Vietnamese business: An Phát Office Furniture and its customers."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import Conflict
from crm_core.models import Company, Contact, Deal, DealStageChange, Interaction, StaffIdentity, Task, User
from crm_core.schemas import StageOut
from crm_core.services import Services
from crm_core.textnorm import fold

log = logging.getLogger(__name__)

_DATA_FILES = ("business", "companies", "places", "people", "texts")
_ONE_MILLION = Decimal(1_000_000)


class DemoSummary(BaseModel):
    """What the demo seeding created."""

    users: list[str]
    salespeople: list[str]
    manager: str
    admin: str
    companies: int
    contacts: int
    deals: int
    deals_by_stage: dict[str, int]
    stage_changes: int
    interactions: int
    tasks: int
    open_tasks: int

    @property
    def first_salesperson(self) -> str:
        """Return the salesperson the demo script chats as."""
        return self.salespeople[0]


@cache
def demo_data() -> dict[str, Any]:
    """Load the demo's data files (names, companies, templates), keyed by file name."""
    folder = resources.files("crm_core.demo").joinpath("data")
    return {name: yaml.safe_load(folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8")) for name in _DATA_FILES}


async def seed_demo(session: AsyncSession, *, now: datetime, seed: int = 7) -> DemoSummary:
    """Stage the demo business in a fresh database (the caller commits); refuse when it already has users."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    if await session.scalar(select(func.count()).select_from(User)):
        raise Conflict("this home already has users; the demo goes into a fresh home only")
    services = Services.build(session, now=now)
    await services.pipelines.ensure_default()
    await session.flush()
    stages = await services.pipelines.default_stages()
    seeder = _Seeder(session, now=now, rng=random.Random(seed), stages=stages, data=demo_data())
    summary = await seeder.run()
    log.info("demo seeded: %d companies, %d contacts, %d deals, %d interactions, %d tasks",
             summary.companies, summary.contacts, summary.deals, summary.interactions, summary.tasks)
    return summary


@dataclass
class _Firm:
    row: Company
    foreign: bool
    city: str
    district: str
    people: list[_Person] = field(default_factory=list)


@dataclass
class _Person:
    row: Contact
    gender: str
    given: str
    foreign: bool

    def addressed(self, language: str) -> str:
        """Return how a salesperson writes this person's name ("anh Minh", "Ms. Hà", "David")."""
        if self.foreign:
            return self.given
        if language == "vi":
            return f"{'anh' if self.gender == 'm' else 'chị'} {self.given}"
        return f"{'Mr.' if self.gender == 'm' else 'Ms.'} {self.given}"


@dataclass
class _DealPlan:
    row: Deal
    firm: _Firm
    person: _Person
    owner: User
    product: dict[str, Any]
    moves: list[tuple[StageOut, datetime]]

    @property
    def stage(self) -> StageOut:
        return self.moves[-1][0]

    @property
    def language(self) -> str:
        return "en" if self.firm.foreign else "vi"


class _Seeder:
    """Build every row from the data files, one table at a time."""

    def __init__(self, session: AsyncSession, *, now: datetime, rng: random.Random, stages: list[StageOut],
                 data: dict[str, Any]) -> None:
        self.session = session
        self.now = now
        self.rng = rng
        self.stages = stages
        self.stage_by_key = {s.key: s for s in stages}
        self.business: dict[str, Any] = data["business"]
        self.catalog: dict[str, Any] = data["companies"]
        self.places: dict[str, Any] = data["places"]
        self.people: dict[str, Any] = data["people"]
        self.texts: dict[str, Any] = data["texts"]
        self.products = {p["key"]: p for p in self.business["products"]}
        self.users: list[User] = []
        self.sales: list[User] = []
        self.firms: list[_Firm] = []
        self.persons: list[_Person] = []
        self.deals: list[_DealPlan] = []
        self.changes: list[DealStageChange] = []
        self.interactions: list[Interaction] = []
        self.tasks: list[Task] = []
        self._taken: set[str] = set()

    async def run(self) -> DemoSummary:
        """Create users, companies, contacts, deals, interactions and tasks, in that order."""
        self._add_users()
        await self.session.flush()
        self._add_companies()
        await self.session.flush()
        self._add_contacts()
        await self.session.flush()
        self._add_deals()
        await self.session.flush()
        self._add_stage_changes()
        self._add_interactions()
        self._add_tasks()
        await self.session.flush()
        return self._summary()

    # --- time -------------------------------------------------------------------------------------------------

    @property
    def today(self) -> date:
        return self.now.date()

    def _at(self, day: date, *, earliest: int = 8, latest: int = 17) -> datetime:
        """Return a working-hours time on `day`, never after `now`."""
        moment = datetime.combine(day, time(self.rng.randint(earliest, latest), self.rng.randrange(0, 60, 5)),
                                  tzinfo=self.now.tzinfo)
        if moment > self.now:
            moment = self.now - timedelta(minutes=self.rng.randint(5, 90))
        return moment

    def _between(self, start: datetime, end: datetime) -> datetime:
        """Return a working-hours time between `start` and `end` (both included)."""
        span = (end.date() - start.date()).days
        moment = self._at(start.date() + timedelta(days=self.rng.randint(0, max(span, 0))))
        return min(max(moment, start), end)

    # --- users ------------------------------------------------------------------------------------------------

    def _add_users(self) -> None:
        joined = self.now - timedelta(days=730)
        for spec in self.business["users"]:
            telegram = StaffIdentity(channel="telegram", external_id=str(spec["telegram_id"]), created_at=joined)
            user = User(name=spec["name"], name_folded=fold(spec["name"]), role=spec["role"],
                        language=spec["language"], active=True, created_at=joined, identities=[telegram])
            self.users.append(user)
        self.sales = [u for u in self.users if u.role == "sales"]
        self.session.add_all(self.users)

    # --- companies --------------------------------------------------------------------------------------------

    def _owner_for(self, spec: dict[str, Any]) -> User:
        if "owner" in spec:
            return self.sales[int(spec["owner"])]
        if spec.get("foreign"):
            return next((u for u in self.sales if u.language == "en"), self.sales[-1])
        return self.rng.choices(self.sales, weights=self.business["owner_weights"])[0]

    def _unique(self, make: Callable[[], str]) -> str:
        """Call `make()` until it returns a value not handed out before."""
        while True:
            value = make()
            if value not in self._taken:
                self._taken.add(value)
                return value

    def _digits(self, count: int) -> str:
        return "".join(str(self.rng.randint(0, 9)) for _ in range(count))

    def _numbered(self, prefix: str, digits: int) -> str:
        """Return `prefix` followed by random digits, unlike any number handed out before."""
        return self._unique(lambda: prefix + self._digits(digits))

    def _address(self, city: dict[str, Any]) -> tuple[str, str]:
        district = self.rng.choice(list(city["districts"]))
        street = self.rng.choice(city["districts"][district])
        return f"{self.rng.randint(1, 350)} {street}, {district}, {city['name']}", district

    def _add_companies(self) -> None:
        industries = self.catalog["industries"]
        for spec in self.catalog["companies"]:
            city = self.places["cities"][spec["city"]]
            foreign = bool(spec.get("foreign"))
            domain = f"{spec.get('domain') or fold(spec['name']).replace(' ', '')}.{'com' if foreign else 'com.vn'}"
            area = str(city["area_code"])
            address, district = self._address(city)
            company = Company(
                name=spec["name"], name_folded=fold(spec["name"]), industry=industries[spec["industry"]],
                phone=self._numbered(f"+84{area}", 10 - len(area)),
                email=f"{self.rng.choice(['info', 'lienhe', 'contact', 'admin'])}@{domain}",
                address=address, tax_code=self._numbered(city["tax_prefix"], 8),
                owner_id=self._owner_for(spec).id,
                created_at=self.now - timedelta(days=self.rng.randint(100, 700), hours=self.rng.randint(0, 23)),
            )
            self.firms.append(_Firm(row=company, foreign=foreign, city=spec["city"], district=district))
        self.session.add_all([f.row for f in self.firms])

    # --- contacts ---------------------------------------------------------------------------------------------

    def _vietnamese_name(self, gender: str) -> tuple[str, str]:
        surnames = self.people["surnames"]
        surname = self.rng.choices(list(surnames), weights=list(surnames.values()))[0]
        given = self.rng.choice(self.people["given"][gender])
        return f"{surname} {self.rng.choice(self.people['middle'][gender])} {given}", given

    def _foreign_name(self, gender: str) -> tuple[str, str]:
        names = self.people["foreign"]
        first = self.rng.choice(names["first"][gender])
        return f"{first} {self.rng.choice(names['last'])}", first

    def _email_user(self, name: str, foreign: bool) -> str:
        parts = fold(name).split()
        if foreign:
            return ".".join(parts)
        return parts[-1] + "".join(p[0] for p in parts[:-1])

    def _free_email(self, user: str, domain: str) -> str:
        """Return `user@domain`, numbered when that address is taken."""
        email, number = f"{user}@{domain}", 1
        while email in self._taken:
            email, number = f"{user}{number}@{domain}", number + 1
        self._taken.add(email)
        return email

    def _contact(self, firm: _Firm, *, name: str, given: str, gender: str, foreign: bool, title: str,
                 email_user: str | None = None) -> _Person:
        domain = firm.row.email.split("@", 1)[1] if firm.row.email else "gmail.com"
        if email_user is None and not foreign and self.rng.random() < self.people["gmail_share"]:
            email = self._unique(lambda: f"{fold(name).replace(' ', '')}{self.rng.randint(70, 99)}@gmail.com")
        else:
            email = self._free_email(email_user or self._email_user(name, foreign), domain)
        prefixes = self.places["mobile_prefixes"]
        contact = Contact(
            name=name, name_folded=fold(name), title=title, email=email,
            phone=self._numbered(f"+84{self.rng.choice(prefixes)}", 7),
            company_id=firm.row.id, owner_id=firm.row.owner_id,
            created_at=firm.row.created_at + timedelta(days=self.rng.randint(0, 60)),
        )
        person = _Person(row=contact, gender=gender, given=given, foreign=foreign)
        firm.people.append(person)
        self.persons.append(person)
        return person

    def _contact_counts(self) -> list[int]:
        """Spread the contacts over the companies: at least one each, at most the configured cap."""
        pinned = Counter(p["company"] for p in self.catalog["pinned_contacts"])
        counts = [max(1, pinned[f.row.name]) for f in self.firms]
        cap = self.people["max_contacts_per_company"]
        while sum(counts) < self.people["contacts_total"]:
            index = self.rng.randrange(len(counts))
            if counts[index] < cap:
                counts[index] += 1
        return counts

    def _generated_contact(self, firm: _Firm, industry: str) -> None:
        gender = self.rng.choice(["m", "f"])
        foreign = firm.foreign and self.rng.random() < self.people["foreign"]["share"]
        make = self._foreign_name if foreign else self._vietnamese_name
        name, given = make(gender)
        while name in self._taken:
            name, given = make(gender)
        self._taken.add(name)
        titles = self.people["titles"]
        pool = titles["en"] if firm.foreign else titles["education"] if industry == "education" else titles["vi"]
        used = {p.row.title for p in firm.people}
        title = self.rng.choice([t for t in pool if t not in used] or pool)
        self._contact(firm, name=name, given=given, gender=gender, foreign=foreign, title=title)

    def _add_contacts(self) -> None:
        by_name = {f.row.name: f for f in self.firms}
        specs = {f.row.name: spec["industry"] for f, spec in zip(self.firms, self.catalog["companies"], strict=True)}
        for spec in self.catalog["pinned_contacts"]:
            self._taken.add(spec["name"])
        for firm, count in zip(self.firms, self._contact_counts(), strict=True):
            for spec in self.catalog["pinned_contacts"]:
                if spec["company"] == firm.row.name:
                    self._contact(by_name[spec["company"]], name=spec["name"], given=spec["name"].split()[-1],
                                  gender=spec["gender"], foreign=False, title=spec["title"],
                                  email_user=spec.get("email_user"))
            while len(firm.people) < count:
                self._generated_contact(firm, specs[firm.row.name])
        self.session.add_all([p.row for p in self.persons])

    # --- deals ------------------------------------------------------------------------------------------------

    def _path(self, target: StageOut) -> list[StageOut]:
        """Return the stages a deal went through to reach `target`, creation first."""
        open_stages = [s for s in self.stages if not (s.is_won or s.is_lost)]
        if target.is_won:
            return [*open_stages, target]
        if target.is_lost:
            return [*open_stages[: self.rng.randint(1, len(open_stages))], target]
        return open_stages[: open_stages.index(target) + 1]

    def _idle_days(self, target: StageOut) -> int:
        """Return how many days ago the deal entered `target`; some open deals are left stalled."""
        limit = target.stalled_after_days
        if limit is None:
            return self.rng.randint(0, 55)
        if self.rng.random() < self.business["stalled_share"]:
            return limit + self.rng.randint(2, 20)
        return self.rng.randint(0, limit - 1)

    def _moves(self, target: StageOut) -> list[tuple[StageOut, datetime]]:
        path = self._path(target)
        idle = self._idle_days(target)
        age = idle + sum(self.rng.randint(1, 8) for _ in path[1:]) + self.rng.randint(0, 3)
        age = max(idle, min(age, self.business["deal_age_days"]))
        days = sorted((self.rng.randint(idle, age) for _ in path[1:-1]), reverse=True)
        offsets = [age, *days, idle] if len(path) > 1 else [idle]
        times = sorted(self._at(self.today - timedelta(days=d)) for d in offsets)
        return list(zip(path, times, strict=True))

    def _price(self, product: dict[str, Any], currency: str) -> Decimal:
        price = Decimal(product["price_vnd"])
        if currency == "USD":
            return (price / Decimal(self.business["usd_rate"])).quantize(Decimal(1), ROUND_HALF_UP)
        return price

    def _quantity(self, product: dict[str, Any]) -> int:
        low, high = self.business["amount_vnd"]
        price = product["price_vnd"]
        least = max(product["qty"][0], -(-low // price))
        most = min(product["qty"][1], high // price)
        qty = self.rng.randint(least, max(least, most))
        return qty if qty < 20 else qty // 5 * 5

    def _amount(self, product: dict[str, Any], qty: int, currency: str, stage: StageOut) -> Decimal:
        amount = self._price(product, currency) * qty
        if stage.is_won or stage.key == "negotiation":
            amount *= Decimal(100 - self.rng.randint(0, 8)) / 100
        step = Decimal(10) if currency == "USD" else _ONE_MILLION
        return (amount / step).quantize(Decimal(1), ROUND_HALF_UP) * step

    def _title(self, firm: _Firm, product: dict[str, Any], qty: int) -> str:
        if firm.foreign:
            return f"{firm.row.name} — {qty} {product['en']}"
        return f"{firm.row.name} — {qty} {product['unit_vi']} {product['vi']}"

    def _expected_close(self, moves: list[tuple[StageOut, datetime]]) -> date:
        stage, entered = moves[-1]
        if stage.is_won or stage.is_lost:
            return entered.date()
        ahead = self.rng.randint(3, 30) if stage.probability >= 60 else self.rng.randint(15, 75)
        if self.rng.random() < 0.1:
            ahead = -self.rng.randint(1, 10)
        return self.today + timedelta(days=ahead)

    def _deal(self, firm: _Firm, person: _Person, owner: User, stage: StageOut, product: dict[str, Any],
              qty: int | None = None, amount: int | None = None, title: str | None = None) -> None:
        currency = "USD" if firm.foreign else "VND"
        qty = qty or self._quantity(product)
        while title is None and self._title(firm, product, qty) in self._taken:
            qty = self._quantity(product)
        title = title or self._title(firm, product, qty)
        self._taken.add(title)
        moves = self._moves(stage)
        created, entered = moves[0][1], moves[-1][1]
        closed = entered if stage.is_won or stage.is_lost else None
        deal = Deal(
            title=title, title_folded=fold(title), company_id=firm.row.id, contact_id=person.row.id,
            owner_id=owner.id, stage_id=stage.id, quantity=qty, currency=currency,
            amount=Decimal(amount) if amount is not None else self._amount(product, qty, currency, stage),
            status="won" if stage.is_won else "lost" if stage.is_lost else "open",
            expected_close=self._expected_close(moves), created_at=created, updated_at=entered,
            stage_changed_at=entered, closed_at=closed,
        )
        self.deals.append(_DealPlan(row=deal, firm=firm, person=person, owner=owner, product=product, moves=moves))

    def _add_deals(self) -> None:
        by_name = {f.row.name: f for f in self.firms}
        targets = Counter(self.business["stage_counts"])
        for spec in self.catalog["pinned_deals"]:
            firm = by_name[spec["company"]]
            person = next(p for p in firm.people if p.row.name == spec["contact"])
            self._deal(firm, person, self.sales[spec["owner"]], self.stage_by_key[spec["stage"]],
                       self.products[spec["product"]], qty=spec.get("qty"), amount=spec.get("amount"),
                       title=spec.get("title"))
            targets[spec["stage"]] -= 1
        stage_keys = [key for key in self.business["stage_counts"] for _ in range(max(targets[key], 0))]
        self.rng.shuffle(stage_keys)
        pinned = {spec["company"] for spec in self.catalog["pinned_deals"]}
        pool = [f for f in self.firms if f.row.name not in pinned]
        order = self.rng.sample(pool, len(pool))
        for index, key in enumerate(stage_keys):
            firm = order[index] if index < len(order) else self.rng.choice(pool)
            owner = next(u for u in self.sales if u.id == firm.row.owner_id)
            product = self.rng.choice(self.business["products"])
            self._deal(firm, self.rng.choice(firm.people), owner, self.stage_by_key[key], product)
        self.session.add_all([d.row for d in self.deals])

    def _add_stage_changes(self) -> None:
        for plan in self.deals:
            previous: StageOut | None = None
            for stage, moment in plan.moves:
                self.changes.append(DealStageChange(
                    deal_id=plan.row.id, from_stage_id=previous.id if previous else None, to_stage_id=stage.id,
                    changed_at=moment, user_id=plan.owner.id))
                previous = stage
        self.session.add_all(self.changes)

    # --- interactions -----------------------------------------------------------------------------------------

    def _fill(self, template: str, plan: _DealPlan | None, firm: _Firm, person: _Person, language: str,
              moment: datetime) -> str:
        product = plan.product if plan else self.rng.choice(self.business["products"])
        qty = plan.row.quantity if plan and plan.row.quantity else self._quantity(product)
        amount = plan.row.amount if plan and plan.row.amount is not None else Decimal(0)
        district = self.rng.choice(list(self.places["cities"][firm.city]["districts"]))
        promised = (moment + timedelta(days=self.rng.randint(14, 45))).date()
        text = template.format(
            who=person.addressed(language), company=firm.row.name, qty=qty, product=product[language],
            unit=product["unit_vi"], code=product["code"],
            amount=format_money(amount, plan.row.currency if plan else "VND", language), district=district,
            office=firm.district,
            date=promised.strftime("%d/%m") if language == "vi" else promised.strftime("%b %d"),
            pct=self.rng.randint(3, 10),
        )
        return text[:1].upper() + text[1:]

    def _interaction(self, kind_and_text: dict[str, Any], plan: _DealPlan | None, firm: _Firm, person: _Person,
                     moment: datetime) -> None:
        language = "en" if firm.foreign or (plan and plan.owner.language == "en" and self.rng.random() < 0.3) else "vi"
        imported_at = self.now - timedelta(days=self.business["import_before_days"])
        from_import = moment < imported_at
        created = imported_at if from_import else min(self.now, moment + timedelta(minutes=self.rng.randint(1, 40)))
        owner_id = plan.owner.id if plan else firm.row.owner_id
        self.interactions.append(Interaction(
            kind=kind_and_text["kind"], occurred_at=moment, contact_id=person.row.id, company_id=firm.row.id,
            deal_id=plan.row.id if plan else None, owner_id=owner_id,
            summary=self._fill(kind_and_text[language], plan, firm, person, language, moment),
            source="import" if from_import else "chat", created_at=created,
        ))
        if plan is not None:
            plan.row.updated_at = max(plan.row.updated_at, moment)

    def _extra_interaction(self, window_start: datetime) -> None:
        """Log one more interaction: a follow-up, after-sales care, or a note about a company."""
        templates = self.texts["interactions"]
        plan = self.rng.choice(self.deals)
        if self.rng.random() < 0.1 or plan.row.status == "lost":
            firm = self.rng.choice(self.firms)
            moment = self._between(window_start, self.now)
            self._interaction(self.rng.choice(templates["company"]), None, firm, self.rng.choice(firm.people), moment)
            return
        won = plan.row.status == "won"
        start = max(window_start, plan.row.closed_at if won and plan.row.closed_at else plan.row.created_at)
        moment = self._between(start, self.now)
        kind = templates["aftersales" if won else "followup"]
        self._interaction(self.rng.choice(kind), plan, plan.firm, plan.person, moment)

    def _add_interactions(self) -> None:
        templates = self.texts["interactions"]
        window_start = self.now - timedelta(days=self.business["interaction_days"])
        for plan in self.deals:
            for stage, moment in plan.moves:
                if moment >= window_start:
                    self._interaction(self.rng.choice(templates[stage.key]), plan, plan.firm, plan.person, moment)
        while len(self.interactions) < self.business["interactions_total"]:
            self._extra_interaction(window_start)
        self.interactions.sort(key=lambda row: row.occurred_at)
        self.session.add_all(self.interactions)

    # --- tasks ------------------------------------------------------------------------------------------------

    def _due(self, bucket: str) -> datetime:
        """Return a due time in `bucket`, as the task buckets of the bot count them."""
        if bucket == "overdue":
            return self._at(self.today - timedelta(days=self.rng.randint(1, 5)))
        if bucket == "done":
            return self._at(self.today - timedelta(days=self.rng.randint(1, 20)))
        if bucket == "today":
            end_of_day = datetime.combine(self.today + timedelta(days=1), time.min, tzinfo=self.now.tzinfo)
            closing = datetime.combine(self.today, time(18), tzinfo=self.now.tzinfo)
            if closing - self.now > timedelta(hours=1):
                end_of_day = closing
            due = self.now + (end_of_day - self.now) * self.rng.uniform(0.2, 0.8)
            rounded = due.replace(second=0, microsecond=0) + timedelta(minutes=5 - due.minute % 5)
            return rounded if rounded < end_of_day else due
        days = self.rng.randint(1, 7) if bucket == "week" else self.rng.randint(10, 30)
        return datetime.combine(self.today + timedelta(days=days), time(self.rng.randint(8, 17)),
                                tzinfo=self.now.tzinfo)

    def _task(self, plan: _DealPlan, title: str, due: datetime, *, done: bool = False) -> None:
        created = min(self.now, due) - timedelta(days=self.rng.randint(1, 7), minutes=self.rng.randint(0, 600))
        created = max(created, plan.row.created_at)
        finished = min(self.now, max(created + timedelta(hours=1), due + timedelta(hours=self.rng.randint(-30, 4))))
        done_at = finished if done else None
        remind = due <= self.now and (done_at is None or done_at > due)
        self.tasks.append(Task(
            title=title[:300], due_at=due, owner_id=plan.owner.id, deal_id=plan.row.id, contact_id=plan.person.row.id,
            company_id=plan.firm.row.id, done_at=done_at, created_at=created,
            reminded_at=min(self.now, due + timedelta(minutes=self.rng.randint(0, 10))) if remind else None,
        ))

    def _task_title(self, plan: _DealPlan, *, avoid: set[str]) -> str:
        """Return a follow-up title fitting the deal's stage, unlike the owner's other titles when possible."""
        title = ""
        for _attempt in range(5):
            template = self.rng.choice(self.texts["tasks"][plan.stage.key])[plan.language]
            title = self._fill(template, plan, plan.firm, plan.person, plan.language, self.now)
            if title not in avoid:
                break
        avoid.add(title)
        return title

    def _reminder_task(self, owner: User) -> _DealPlan | None:
        spec = self.catalog["reminder_task"]
        plan = next((d for d in self.deals if d.owner is owner and d.firm.row.name == spec["company"]
                     and d.row.status == "open"), None)
        if plan is None:
            return None
        minutes = self.business["reminder_after_minutes"]
        due = (self.now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
        self._task(plan, spec[plan.language], due + timedelta(minutes=-due.minute % 5))
        return plan

    def _pick(self, queue: list[_DealPlan], fallback: list[_DealPlan], due: datetime) -> _DealPlan | None:
        """Take the first queued deal that existed before `due`; else any such deal of the fallback."""
        for index, plan in enumerate(queue):
            if plan.row.created_at < due:
                return queue.pop(index)
        older = [plan for plan in fallback if plan.row.created_at < due]
        return self.rng.choice(older) if older else None

    def _add_tasks(self) -> None:
        for index, owner in enumerate(self.sales):
            reserved = self._reminder_task(owner) if index == 0 else None
            mine = [d for d in self.deals if d.owner is owner and d is not reserved]
            open_deals = [d for d in mine if d.row.status == "open"]
            worked = [d for d in mine if d.row.status != "lost"]
            queue = self.rng.sample(open_deals, len(open_deals))
            titles = {t.title for t in self.tasks if t.owner_id == owner.id}
            plan = self.business["task_plan"]["first" if index == 0 else "other"]
            for bucket in ("overdue", "today", "week", "later", "done"):
                for _ in range(plan[bucket]):
                    due = self._due(bucket)
                    deal = self._pick(queue if bucket != "done" else [], worked if bucket == "done" else open_deals,
                                      due)
                    if deal is not None:
                        self._task(deal, self._task_title(deal, avoid=titles), due, done=bucket == "done")
        self.session.add_all(self.tasks)

    # --- summary ----------------------------------------------------------------------------------------------

    def _summary(self) -> DemoSummary:
        by_stage = Counter(d.stage.key for d in self.deals)
        return DemoSummary(
            users=[u.name for u in self.users], salespeople=[u.name for u in self.sales],
            manager=next(u.name for u in self.users if u.role == "manager"),
            admin=next(u.name for u in self.users if u.role == "admin"),
            companies=len(self.firms), contacts=len(self.persons), deals=len(self.deals),
            deals_by_stage={s.key: by_stage[s.key] for s in self.stages}, stage_changes=len(self.changes),
            interactions=len(self.interactions), tasks=len(self.tasks),
            open_tasks=sum(1 for t in self.tasks if t.done_at is None),
        )


def format_money(amount: Decimal, currency: str | None, language: str) -> str:
    """Write an amount the way a salesperson would ("500 triệu", "1,2 tỷ", "$12,400")."""
    if currency == "USD":
        whole = f"{int(amount):,}"
        return f"${whole}" if language == "en" else f"{whole.replace(',', '.')} USD"
    if language == "en":
        return f"{int(amount):,} VND"
    if amount >= 1000 * _ONE_MILLION:
        billions = (amount / (1000 * _ONE_MILLION)).quantize(Decimal("0.01"), ROUND_HALF_UP).normalize()
        return f"{str(billions).replace('.', ',')} tỷ"
    return f"{int((amount / _ONE_MILLION).quantize(Decimal(1), ROUND_HALF_UP))} triệu"
