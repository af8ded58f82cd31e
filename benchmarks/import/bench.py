"""Import benchmark: a generated 100,000-row customer book into an empty SQLite home, then the same file again.

Run: .venv/bin/chatcrm bench import --json   (or .venv/bin/python benchmarks/import/bench.py [--scale small])
Protocol and figures: benchmarks/import/README.md. It reports; it never asserts: `ok` and `targets` say
whether issue 12's figures were reached (first run < 60 s and < 500 MB peak RSS on one core).

    workbook    20 users, 10,000 companies, 20,000 contacts, 20,000 deals, 50,000 interactions, written by
                openpyxl (write-only), values typed the way people type them (dates as cells and as
                "20/11/2026 14:30" text, amounts as numbers and as "500tr", phones in several forms)
    first       `chatcrm import FILE --json` into an empty home, in its own process pinned to one core
                -> seconds, rows/s, peak RSS (MB, the process's own maximum resident set), created per sheet
    second      the same command again on the same home -> seconds, rows/s, peak RSS; everything skipped
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 500.0


@dataclass(frozen=True)
class Scale:
    """How many rows of each sheet the generated workbook has."""

    users: int
    companies: int
    contacts: int
    deals: int
    interactions: int

    @property
    def rows(self) -> int:
        """Return the rows of the workbook, every sheet together."""
        return self.users + self.companies + self.contacts + self.deals + self.interactions


SCALES = {"full": Scale(20, 10_000, 20_000, 20_000, 50_000), "small": Scale(3, 100, 200, 200, 500)}
_STAGES = ("Mới", "contacted", "Có nhu cầu", "Báo giá", "negotiation", "Thắng", "lost")
_KINDS = ("Gọi điện", "call", "gặp", "email", "Zalo", "Ghi chú")
_AMOUNTS = ("500tr", "1,2 tỷ", "96 triệu", "$1,200")


def write_workbook(path: Path, scale: Scale, *, seed: int = 12) -> None:
    """Write the generated customer book (Vietnamese headers, sheets out of order, values as typed)."""
    import openpyxl

    rng = random.Random(seed)
    book = openpyxl.Workbook(write_only=True)
    start = datetime(2025, 1, 1, 8, 0)  # noqa: DTZ001 - spreadsheet times are local
    users = [f"Nhân viên {i}" for i in range(scale.users)]
    companies = [f"Công ty {i} {rng.choice(('TNHH', 'CP', 'Group'))}" for i in range(scale.companies)]
    per_company = max(scale.contacts // max(scale.companies, 1), 1)

    def contact_of(i: int) -> tuple[str, str]:
        return f"Người {i}", companies[(i // per_company) % len(companies)]

    sheet = book.create_sheet("Tương tác")  # first: sheets in any order
    sheet.append(["Thời gian", "Loại", "Người liên hệ", "Công ty", "Phụ trách", "Nội dung"])
    for i in range(scale.interactions):
        person, company = contact_of(i % scale.contacts)
        when = start + timedelta(minutes=17 * i)
        sheet.append([when if i % 2 else when.strftime("%d/%m/%Y %H:%M"), _KINDS[i % len(_KINDS)], person, company,
                      users[i % len(users)], f"Trao đổi lần {i} về đơn hàng, khách hẹn gọi lại"])
    sheet = book.create_sheet("Nhân viên")
    sheet.append(["Tên", "Vai trò", "Ngôn ngữ"])
    for i, user in enumerate(users):
        sheet.append([user, "Quản lý" if i == 0 else "Kinh doanh", "vi"])
    sheet = book.create_sheet("Công ty")
    sheet.append(["Tên công ty", "Ngành", "SĐT", "Email", "Địa chỉ", "Mã số thuế", "Phụ trách"])
    for i, company in enumerate(companies):
        sheet.append([company, rng.choice(("Thép", "Xây dựng", "Giáo dục", "Bán lẻ")), f"024{3000000 + i:07d}",
                      f"info{i}@congty{i}.vn", f"{i} Lê Lợi, Hà Nội", f"01{i:08d}", users[i % len(users)]])
    sheet = book.create_sheet("Liên hệ")
    sheet.append(["Họ tên", "Công ty", "Chức vụ", "SĐT", "Email", "Phụ trách"])
    for i in range(scale.contacts):
        person, company = contact_of(i)
        phone = (f"09{i:08d}", f"+84 9{i:08d}", f"849{i:08d}")[i % 3]
        sheet.append([person, company, "Trưởng phòng", phone, f"nguoi{i}@mail.vn", users[i % len(users)]])
    sheet = book.create_sheet("Cơ hội")
    sheet.append(["Tên cơ hội", "Công ty", "Người liên hệ", "Phụ trách", "Giai đoạn", "Giá trị", "Ngày tạo",
                  "Ngày vào giai đoạn"])
    for i in range(scale.deals):
        person, company = contact_of(i % scale.contacts)
        created = start + timedelta(hours=5 * i)
        amount: Any = _AMOUNTS[i % len(_AMOUNTS)] if i % 3 == 0 else 10_000_000 * (1 + i % 50)
        sheet.append([f"Đơn hàng {i}", company, person, users[i % len(users)], _STAGES[i % len(_STAGES)], amount,
                      created, (created + timedelta(days=3)).strftime("%d/%m/%Y")])
    book.save(path)


def import_once(path: Path, home: Path) -> dict[str, Any]:
    """Run `chatcrm import FILE --json` in its own process on one core; return its figures and report."""
    env = {**os.environ, "CHATCRM_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("CHATCRM_DATABASE_URL", None)
    command = [sys.executable, "-m", "bot.cli", "import", str(path), "--json"]
    out, err = home.parent / f"{home.name}.out", home.parent / f"{home.name}.err"
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, preexec_fn=_one_core)
        # wait4 reaps this child alone and gives its own peak resident set (ru_maxrss, kB on Linux).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    peak_mb = round(usage.ru_maxrss / 1024, 1)
    if child.returncode != 0:
        return {"error": err.read_text("utf-8", "replace").strip()[-500:], "seconds": round(seconds, 2)}
    report = json.loads(out.read_text("utf-8"))
    # CPU seconds too: on a shared machine the wall time also counts other people's work.
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "import_seconds": report["seconds"], "rows": report["rows"],
            "rows_per_s": round(report["rows"] / seconds), "peak_rss_mb": peak_mb, "created": report["created"],
            "updated": report["updated"], "skipped": report["skipped"], "errors": len(report["errors"])}


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def run(scale: str | Scale = "full") -> dict[str, Any]:
    """Generate the workbook at `scale` ("full", "small" or a Scale), import it twice; return the figures."""
    chosen = SCALES[scale] if isinstance(scale, str) else scale
    with tempfile.TemporaryDirectory(prefix="chatcrm-bench-import-") as tmp:
        workbook = Path(tmp) / "customer-book.xlsx"
        started = time.perf_counter()
        write_workbook(workbook, chosen)
        generate_s = time.perf_counter() - started
        size = workbook.stat().st_size
        first = import_once(workbook, Path(tmp) / "home")
        second = import_once(workbook, Path(tmp) / "home")
    targets = {"first.seconds": "error" not in first and first["seconds"] < TARGET_SECONDS,
               "first.peak_rss_mb": first.get("peak_rss_mb") is not None and first["peak_rss_mb"] < TARGET_RSS_MB,
               "second.creates_nothing": "error" not in second and not any(second["created"].values())}
    return {"ok": all(targets.values()), "targets": targets, "rows": chosen.rows,
            "workbook": {"bytes": size, "generate_seconds": round(generate_s, 2)},
            "first": first, "second": second, "cpu_cores": 1}


def main() -> None:
    """Command line: print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    print(json.dumps(run(parser.parse_args().scale), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
