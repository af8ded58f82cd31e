"""A generated customer book at a team's real size, for the benchmarks that read a busy database.

    ensure_database("sqlite")                  -> "sqlite+aiosqlite:///…/benchmarks/common/.cache/book-v1-full.sqlite3"
    ensure_database("postgres", url=SERVER)    -> "postgresql+asyncpg://…/chatcrm_bench_book_v1_full"

The first call generates the book (seeded, so every run and both backends hold the same rows) into a
database migrated by the project's own migrations, with bulk inserts (sqlite3 executemany in batches of
50,000 with the secondary indexes built afterwards; asyncpg COPY on PostgreSQL); later calls find it
cached under a name keyed by GENERATOR_VERSION and the scale, and return at once. Bump GENERATOR_VERSION
whenever the rows change. API notes for other benchmarks: /work/notes/generated-book.md (and this docstring).

Shape of the full book (one year of a 200-person sales team, ending on END_DAY in Asia/Ho_Chi_Minh):
    users           200 salespeople, 10 managers, 1 admin
    companies       50,000 (owned by a salesperson)
    contacts        100,000 (two per company; a fifth created during the year, some by an import)
    deals           100,000 created during the year; each walks the default pipeline a step every nine days
                    or so and is lost at some step (a fifth of the time) or won after negotiation; a deal
                    that goes quiet (6 % a step) or whose next step falls after END_DAY's evening stays
                    open where it is (about a quarter of them, many stalled)
    stage changes   one per step, the first from no stage (as DealService writes them)
    interactions    1,000,000 during the year, working hours, fewer on Saturdays, few on Sundays; 3 % are
                    the bot's or customers' (not team work)
    tasks           two per deal on average; done when due unless the deal is still open (some overdue)
    customer side   5,000 customers with a Telegram identity, their questions to the FAQ bot (about 45 a day),
                    hand-offs with tickets and ratings, leads from the bot
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

GENERATOR_VERSION = 1
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
END_DAY = date(2026, 11, 30)  # a Monday: the benchmarks summarise this day (and its month) at EVENING
EVENING = (18, 0)
BATCH = 50_000
SEED = 2026


@dataclass(frozen=True)
class Scale:
    """How many rows of each kind the book has."""

    salespeople: int
    managers: int
    companies: int
    deals: int
    interactions: int
    customers: int
    questions_per_day: int

    @property
    def contacts(self) -> int:
        """Two contacts per company."""
        return 2 * self.companies


SCALES = {
    "full": Scale(salespeople=200, managers=10, companies=50_000, deals=100_000, interactions=1_000_000,
                  customers=5_000, questions_per_day=45),
    "tiny": Scale(salespeople=6, managers=1, companies=300, deals=600, interactions=6_000, customers=40,
                  questions_per_day=4),
}

STAGE_KEYS = ("new", "contacted", "qualified", "quote", "negotiation")
KINDS = (("call", 35), ("message", 28), ("email", 15), ("meeting", 10), ("note", 12))
HANDOFF_REASONS = ("no_answer", "asked_person", "own_order", "complaint")


def now_of_book() -> datetime:
    """The moment the benchmarks run the summary at: END_DAY's evening, local time."""
    return datetime(END_DAY.year, END_DAY.month, END_DAY.day, *EVENING, tzinfo=TIMEZONE)


def database_name(scale: str) -> str:
    """The cache's name for this generator version and scale (a file stem, a PostgreSQL database)."""
    return f"book-v{GENERATOR_VERSION}-{scale}"


def ensure_database(kind: str = "sqlite", url: str | None = None, *, scale: str = "full",
                    log: Any = None) -> str:
    """Return the URL of the generated book, generating it first when it is not cached.

    kind "sqlite": a file under CACHE_DIR (url ignored). kind "postgres": `url` names a server (any database
    on it, e.g. CHATCRM_TEST_POSTGRES_URL); the book lives in its own database beside it, created, migrated
    and loaded here, then marked complete (a database comment), so an interrupted load is redone.
    `log` (print-like) hears progress.
    """
    say = log or (lambda *_: None)
    if kind == "sqlite":
        return _ensure_sqlite(scale, say)
    if kind == "postgres":
        if not url:
            raise ValueError("a PostgreSQL server URL is needed (postgresql+asyncpg://user@host:port/db)")
        return asyncio.run(_ensure_postgres(url, scale, say))
    raise ValueError(f"kind must be 'sqlite' or 'postgres', not {kind!r}")


# --- the rows ------------------------------------------------------------------------------------------------


@dataclass
class Book:
    """The generated rows, table by table, as plain values (aware UTC datetimes, Decimals, dates)."""

    tables: dict[str, tuple[Sequence[str], list[tuple[Any, ...]] | Iterator[list[tuple[Any, ...]]]]]


def _local(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TIMEZONE).astimezone(UTC)


def _working_moment(rng: random.Random, day: date) -> datetime:
    minutes = rng.randint(8 * 60, 18 * 60 - 1)
    return _local(day, minutes // 60, minutes % 60) + timedelta(seconds=rng.randint(0, 59))


def generate(scale: Scale, stage_ids: dict[str, int]) -> Book:
    """Generate the book for `scale`; `stage_ids` maps the default pipeline's stage keys to their ids."""
    rng = random.Random(SEED)
    first_day = END_DAY - timedelta(days=364)
    evening = now_of_book().astimezone(UTC)
    days = [first_day + timedelta(days=i) for i in range(365)]
    day_weights = [0.15 if d.weekday() == 6 else 0.6 if d.weekday() == 5 else 1.0 for d in days]
    before = _local(first_day, 9, 0)
    tables: dict[str, Any] = {}

    reps = list(range(1, scale.salespeople + 1))
    user_rows = [(i, f"Nhân viên {i:03d}", f"nhan vien {i:03d}", "sales", "vi", True, before, "bench")
                 for i in reps]
    next_id = scale.salespeople + 1
    for m in range(scale.managers):
        user_rows.append((next_id, f"Quản lý {m + 1:02d}", f"quan ly {m + 1:02d}", "manager", "vi", True, before,
                          "bench"))
        next_id += 1
    user_rows.append((next_id, "Quản trị", "quan tri", "admin", "vi", True, before, "bench"))
    tables["users"] = (("id", "name", "name_folded", "role", "language", "active", "created_at", "source"),
                       user_rows)

    company_owner = [rng.choice(reps) for _ in range(scale.companies)]
    tables["companies"] = (
        ("id", "name", "name_folded", "industry", "phone", "email", "owner_id", "created_at", "source"),
        [(c + 1, f"Công ty {c + 1} TNHH", f"cong ty {c + 1} tnhh", ("Thép", "Xây dựng", "Giáo dục", "Bán lẻ")[c % 4],
          f"024{3000000 + c:07d}", f"info{c + 1}@congty.vn", company_owner[c],
          before - timedelta(days=rng.randint(1, 900)), "bench") for c in range(scale.companies)])

    contact_rows = []
    for k in range(scale.contacts):
        company = k // 2
        if rng.random() < 0.2:  # created during the year: the summary's new leads
            created = _working_moment(rng, rng.choices(days, day_weights)[0])
            source = "import:khach-hang.xlsx" if rng.random() < 0.3 else "chat"
        else:
            created, source = before - timedelta(days=rng.randint(1, 900)), "bench"
        contact_rows.append((k + 1, f"Người {k + 1}", f"nguoi {k + 1}", company + 1, "Trưởng phòng",
                             f"09{k:08d}", company_owner[company], created, source))
    tables["contacts"] = (("id", "name", "name_folded", "company_id", "title", "phone", "owner_id", "created_at",
                           "source"), contact_rows)

    deal_rows, change_rows, task_rows = [], [], []
    open_deals: dict[int, list[int]] = {rep: [] for rep in reps}  # deals per owner, to log interactions against
    deals_of_rep: dict[int, list[tuple[int, int, int]]] = {rep: [] for rep in reps}
    for d in range(scale.deals):
        deal_id = d + 1
        company = rng.randrange(scale.companies)
        owner = company_owner[company]
        created = _working_moment(rng, rng.choices(days, day_weights)[0])
        at, step, status, closed = created, 0, "open", None
        changes = [(None, stage_ids["new"], created)]
        while True:
            nxt = at + timedelta(days=rng.expovariate(1 / 9), hours=rng.uniform(0, 8))
            if nxt > evening or rng.random() < 0.06:  # not moved yet, or gone quiet (stalled, still open)
                break
            if rng.random() < 0.2:  # lost at this step
                changes.append((changes[-1][1], stage_ids["lost"], nxt))
                status, closed = "lost", nxt
                break
            if step == len(STAGE_KEYS) - 1:
                changes.append((changes[-1][1], stage_ids["won"], nxt))
                status, closed = "won", nxt
                break
            step += 1
            changes.append((changes[-1][1], stage_ids[STAGE_KEYS[step]], nxt))
            at = nxt
        stage_id, stage_changed = changes[-1][1], changes[-1][2]
        currency = "USD" if rng.random() < 0.1 else "VND"
        amount = (Decimal(rng.randint(10, 500) * 100) if currency == "USD"
                  else Decimal(rng.randint(10, 2000) * 1_000_000))
        expected = (created + timedelta(days=rng.randint(20, 120))).astimezone(TIMEZONE).date()
        deal_rows.append((deal_id, f"Đơn hàng {deal_id}", f"don hang {deal_id}", company + 1, 2 * company + 1, owner,
                          stage_id, amount, currency, status, None if rng.random() < 0.1 else expected, created,
                          stage_changed, stage_changed, closed, "price" if status == "lost" else None, "bench"))
        for from_id, to_id, changed in changes:
            change_rows.append((deal_id, from_id, to_id, changed, owner))
        deals_of_rep[owner].append((deal_id, company + 1, 2 * company + 1))
        if status == "open":
            open_deals[owner].append(deal_id)
        for _ in range(rng.choice((1, 2, 2, 3))):
            due = created + timedelta(days=rng.uniform(1, 40))
            done = None
            if due < evening and (status != "open" or rng.random() < 0.85):
                done = due - timedelta(hours=rng.uniform(0, 30))
            task_rows.append((f"Gọi lại về đơn hàng {deal_id}", due, owner, deal_id, 2 * company + 1, company + 1,
                              done, max(created, (done or due) - timedelta(days=3)), "bench"))
    tables["deals"] = (("id", "title", "title_folded", "company_id", "contact_id", "owner_id", "stage_id", "amount",
                        "currency", "status", "expected_close", "created_at", "updated_at", "stage_changed_at",
                        "closed_at", "lost_reason", "source"), deal_rows)
    tables["deal_stage_changes"] = (("deal_id", "from_stage_id", "to_stage_id", "changed_at", "user_id"),
                                    change_rows)
    tables["tasks"] = (("title", "due_at", "owner_id", "deal_id", "contact_id", "company_id", "done_at",
                        "created_at", "source"), task_rows)

    tables["interactions"] = (("kind", "occurred_at", "contact_id", "company_id", "deal_id", "owner_id", "summary",
                               "source", "created_at"), _interactions(scale, rng, days, day_weights, deals_of_rep))
    _customer_side(tables, scale, rng, days, reps)
    return Book(tables=tables)


def _interactions(scale: Scale, rng: random.Random, days: list[date], day_weights: list[float],
                  deals_of_rep: dict[int, list[tuple[int, int, int]]]) -> Iterator[list[tuple[Any, ...]]]:
    """Yield the interactions in batches, in time order (the index on occurred_at fills at its end)."""
    kinds, kind_weights = zip(*KINDS, strict=True)
    reps = [rep for rep, deals in deals_of_rep.items() if deals]
    total_weight = sum(day_weights)
    left = scale.interactions
    batch: list[tuple[Any, ...]] = []
    for i, day in enumerate(days):
        count = left if i == len(days) - 1 else min(left, round(scale.interactions * day_weights[i] / total_weight))
        left -= count
        moments = sorted(_working_moment(rng, day) for _ in range(count))
        for at in moments:
            rep = rng.choice(reps)
            deal, company, contact = rng.choice(deals_of_rep[rep])
            source = "chat" if rng.random() < 0.97 else rng.choice(("bot", "customer"))
            kind = rng.choices(kinds, kind_weights)[0]
            batch.append((kind, at, contact, company, deal, rep, f"Trao đổi về đơn hàng {deal}", source, at))
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _customer_side(tables: dict[str, Any], scale: Scale, rng: random.Random, days: list[date],
                   reps: list[int]) -> None:
    """Customers of the FAQ bot: identities, questions, hand-offs (tickets with ratings), leads."""
    customers = rng.sample(range(1, scale.contacts + 1), scale.customers)
    tables["contact_identities"] = (("contact_id", "channel", "external_id", "created_at"),
                                    [(c, "telegram", str(900_000_000 + c), _local(days[0], 8, 0)) for c in customers])
    questions, tickets, leads = [], [], []
    for day in days:
        for _ in range(max(0, round(rng.gauss(scale.questions_per_day, scale.questions_per_day / 5)))):
            asked = _local(day, 0, 0) + timedelta(seconds=rng.randint(0, 86_399))
            customer = rng.choice(customers)
            handoff = rng.random() < 0.22
            ticket_id = None
            feedback = feedback_at = None
            if handoff:
                ticket_id = len(tickets) + 1
                rated = rng.random() < 0.5
                closed = asked + timedelta(hours=rng.uniform(0.2, 20))
                tickets.append((ticket_id, customer, "telegram", str(900_000_000 + customer), "vi", "closed",
                                rng.choice(HANDOFF_REASONS), rng.choice(reps), asked, closed,
                                rng.choice((3, 4, 4, 5, 5, 5)) if rated else None, closed if rated else None))
            elif rng.random() < 0.08:
                feedback, feedback_at = "down", asked + timedelta(hours=rng.uniform(0, 36))
            elif rng.random() < 0.2:
                feedback, feedback_at = "up", asked + timedelta(minutes=rng.uniform(1, 60))
            questions.append((customer, "Bên mình bảo hành bao lâu?", "Sản phẩm được bảo hành 12 tháng.",
                              0.4 if handoff else 0.8, handoff, rng.choice(HANDOFF_REASONS) if handoff else None,
                              feedback, feedback_at, ticket_id, asked))
            if rng.random() < 0.1:
                leads.append((customer, rng.choice(reps), "round_robin", asked, asked))
    tables["tickets"] = (("id", "contact_id", "channel", "chat_id", "language", "status", "reason", "assignee_id",
                          "opened_at", "closed_at", "csat", "csat_at"), tickets)
    tables["customer_questions"] = (("contact_id", "question", "answer", "confidence", "handoff", "reason",
                                     "feedback", "feedback_at", "ticket_id", "asked_at"), questions)
    tables["leads"] = (("contact_id", "assignee_id", "rule", "consent_at", "created_at"), leads)


def _batches(rows: list[tuple[Any, ...]] | Iterator[list[tuple[Any, ...]]]) -> Iterator[list[tuple[Any, ...]]]:
    if isinstance(rows, list):
        for start in range(0, len(rows), BATCH):
            yield rows[start:start + BATCH]
    else:
        yield from rows


# --- SQLite ----------------------------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (UTC text with microseconds, floats for Numeric)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _ensure_sqlite(scale: str, say: Any) -> str:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{database_name(scale)}.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists():
        _upgrade(url)  # a migration added since the book was made (e.g. an index) applies to it too
        return url
    partial = path.with_suffix(".partial.sqlite3")
    for leftover in CACHE_DIR.glob(f"{partial.name}*"):
        leftover.unlink()
    started = time.perf_counter()
    stage_ids = asyncio.run(_migrate(f"sqlite+aiosqlite:///{partial}"))
    book = generate(SCALES[scale], stage_ids)
    connection = sqlite3.connect(partial, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        # Secondary indexes are built once at the end: filling them row by row costs more than sorting once.
        indexes = connection.execute("SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
                                     f"AND tbl_name IN ({','.join('?' * len(book.tables))})",
                                     list(book.tables)).fetchall()
        for (sql,) in indexes:
            connection.execute("DROP INDEX " + sql.split(" ON ")[0].split()[-1])
        connection.execute("BEGIN")
        for table, (columns, rows) in book.tables.items():
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            count = 0
            for batch in _batches(rows):
                connection.executemany(insert, [tuple(map(_sqlite_value, row)) for row in batch])
                count += len(batch)
            say(f"{table}: {count:,} rows ({time.perf_counter() - started:.0f} s)")
        connection.execute("COMMIT")
        for (sql,) in indexes:
            connection.execute(sql)
        say(f"indexes built ({time.perf_counter() - started:.0f} s)")
    finally:
        connection.close()
    os.replace(partial, path)
    return url


def _upgrade(url: str) -> None:
    from crm_core.db import upgrade_sync

    upgrade_sync(url)


async def _migrate(url: str) -> dict[str, int]:
    """Migrate a fresh database with the project's migrations, install the default pipeline, return its stages."""
    from sqlalchemy import select

    from bot.app import prepare_store
    from crm_core.clock import FrozenClock
    from crm_core.config import Settings
    from crm_core.models import Stage

    db, _ = await prepare_store(Settings(database_url=url, home=CACHE_DIR), FrozenClock(now_of_book()))
    try:
        async with db.connect() as connection:
            rows = await connection.execute(select(Stage.key, Stage.id))
            return {str(key): int(stage_id) for key, stage_id in rows}
    finally:
        await db.dispose()


# --- PostgreSQL ------------------------------------------------------------------------------------------------

_COMPLETE = "chatcrm generated book: complete"


def _server_and_database(url: str, name: str) -> tuple[str, str]:
    """Return (asyncpg DSN of the server's database in `url`, the SQLAlchemy URL of database `name`)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    book = parsed.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    return plain, book


async def _ensure_postgres(url: str, scale: str, say: Any) -> str:
    import asyncpg

    name = "chatcrm_bench_" + database_name(scale).replace("-", "_")
    server, book_url = _server_and_database(url, name)
    admin = await asyncpg.connect(server)
    try:
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name)
        if comment == _COMPLETE:
            await asyncio.to_thread(_upgrade, book_url)
            return book_url
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    started = time.perf_counter()
    stage_ids = await _migrate(book_url)
    book = generate(SCALES[scale], stage_ids)
    connection = await asyncpg.connect(_server_and_database(book_url, name)[0])
    try:
        async with connection.transaction():
            # Generated rows are consistent by construction: no foreign-key trigger per row (superuser
            # only), and secondary indexes are dropped and built once after the load.
            await connection.execute("SET LOCAL session_replication_role = replica")
            indexes = await connection.fetch(
                "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' AND tablename = ANY($1) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", list(book.tables))
            for index in indexes:
                await connection.execute(f'DROP INDEX "{index["indexname"]}"')
            for table, (columns, rows) in book.tables.items():
                count = 0
                for batch in _batches(rows):
                    await connection.copy_records_to_table(table, records=batch, columns=list(columns))
                    count += len(batch)
                say(f"{table}: {count:,} rows ({time.perf_counter() - started:.0f} s)")
            for table in book.tables:  # ids were given explicitly: move each sequence past them
                if "id" in book.tables[table][0]:
                    await connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
            for index in indexes:
                await connection.execute(index["indexdef"])
            say(f"indexes built ({time.perf_counter() - started:.0f} s)")
        await connection.execute("ANALYZE")
        await connection.execute(f"COMMENT ON DATABASE \"{name}\" IS '{_COMPLETE}'")
    finally:
        await connection.close()
    say(f"loaded and analysed ({time.perf_counter() - started:.0f} s)")
    return book_url


async def drop_postgres(url: str, scale: str = "full") -> None:
    """Drop the book's PostgreSQL database on the server of `url` (the next ensure_database loads it again)."""
    import asyncpg

    name = "chatcrm_bench_" + database_name(scale).replace("-", "_")
    admin = await asyncpg.connect(_server_and_database(url, name)[0].rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def row_counts(url: str) -> dict[str, int]:
    """Count the rows of the book's tables at `url` (either backend)."""
    if url.startswith("postgresql"):
        return asyncio.run(_pg_counts(url))
    connection = sqlite3.connect(url.split(":///", 1)[1])
    try:
        return {t: int(connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}
    finally:
        connection.close()


COUNTED = ("users", "companies", "contacts", "deals", "deal_stage_changes", "interactions", "tasks",
           "customer_questions", "tickets", "leads")


async def _pg_counts(url: str) -> dict[str, int]:
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        return {t: int(await connection.fetchval(f"SELECT count(*) FROM {t}")) for t in COUNTED}
    finally:
        await connection.close()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Generate (or find cached) the benchmark book.")
    parser.add_argument("--kind", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    arguments = parser.parse_args()
    began = time.perf_counter()
    print(ensure_database(arguments.kind, arguments.url, scale=arguments.scale, log=print))
    print(f"{time.perf_counter() - began:.1f} s")
