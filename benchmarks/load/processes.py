"""The polling `chatcrm bot` process of the load bench: start it, wait until it polls, stop it.

(The webhook processes are tests.support.worker_processes', which runs `chatcrm bot --webhook` only.)

Each process runs `python -m bot.cli bot …` from the tree this file sits in, with exactly the environment it is
given (the bench builds it: no developer's CHATCRM_* leaks in); its stderr goes to a log file (what it said is in
the report when it fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class BotProcess:
    """One `chatcrm bot` process, its command and its log."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    ready_line: str
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    log_offset: int = 0

    @property
    def pid(self) -> int | None:
        """Return the running process's id."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the process (its log is appended to, so a restart keeps what the killed one said)."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "bot", *self.args], cwd=ROOT,
                                            env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        self.started_at = time.monotonic()

    async def ready(self, timeout_s: float = 90.0) -> float:
        """Wait until the process said its ready line since it started; return how long it took."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        mark = f"pid {self.process.pid}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} ({mark}) exited with {self.process.returncode}: {self.tail()}")
            if self.ready_line in self._since_start():
                return time.monotonic() - self.started_at
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} ({mark}) not ready after {timeout_s:.0f} s: {self.tail()}")

    def _since_start(self) -> str:
        # The log is shared with earlier lives of this process: only what follows the last start counts.
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    async def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM, wait (the worker drains), then SIGKILL if it has not exited; return its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(self.process.wait, timeout_s)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return self.process.returncode

    def tail(self, lines: int = 8) -> str:
        """Return the last lines of the process's log (for a report)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return " | ".join(line for line in text.splitlines()[-lines:] if line.strip())[-1200:]

    def problems(self) -> list[str]:
        """Return the ERROR and Traceback lines the process logged (counted in the report)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line[:300] for line in text.splitlines() if line.startswith(("ERROR", "CRITICAL", "Traceback"))]

