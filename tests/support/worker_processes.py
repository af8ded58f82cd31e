"""Run `chatcrm bot --webhook URL [--listen HOST:PORT] --workers N` as real processes, for tests and load benchmarks.

    env = worker_env(database_url=url, bot_api_url=api.base_url, redis_url=REDIS, redis_prefix=prefix,
                     extra={"CHATCRM_INBOX_LEASE_SECONDS": "3"})
    port = free_port()
    ingress = await start_worker(env, home=tmp / "a", webhook_url=f"http://127.0.0.1:{port}/tg/hook",
                                 listen=("127.0.0.1", port), workers=4)   # returns once it serves and handles
    # or: launch_worker(...) for several at once (no waiting), then `await p.until_ready()` for each
    ...
    ingress.kill()            # kill -9: no clean-up runs, its leases run out
    ingress.pause(); ingress.resume()   # SIGSTOP / SIGCONT
    await ingress.stop()      # SIGTERM: stops taking updates, drains, gives the rest back (returns the exit code)

Each process gets a clean environment (only what is given, plus PATH/HOME and offline switches), its own
CHATCRM_HOME, and its output in `home/process.log` (`WorkerProcess.output()`, shown when it fails to start).
`migrated_postgres(server_url)` gives a throwaway PostgreSQL database at the latest schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from crm_core.db import upgrade_sync

# The line a process with worker slots prints once it takes updates (bot.webhook.serve).
READY_WORKER = "chatcrm bot: worker "
# What a process keeps from the parent environment; everything chatcrm reads is given explicitly.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
DEFAULT_TOKEN = "123456789:AAFakeTokenForChatcrmTests_0123456789"  # tests.support.fake_bot_api's
DEFAULT_SECRET = "s3cret-for-worker-processes"


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_env(*, database_url: str, bot_api_url: str, redis_url: str | None = None, redis_prefix: str | None = None,
               token: str = DEFAULT_TOKEN, secret: str = DEFAULT_SECRET,
               extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a webhook process: the database, the Bot API to call, Redis, the secret, `extra`."""
    env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
            "CHATCRM_DATABASE_URL": database_url, "TELEGRAM_API_URL": bot_api_url, "TELEGRAM_BOT_TOKEN": token,
            "CHATCRM_WEBHOOK_SECRET": secret, "CHATCRM_PUSHES__ENABLED": "false"}
    if redis_url is not None:
        env["CHATCRM_REDIS_URL"] = redis_url
    if redis_prefix is not None:
        env["CHATCRM_REDIS_PREFIX"] = redis_prefix
    return env | dict(extra or {})


def chatcrm_command() -> list[str]:
    """Return how to run the `chatcrm` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("chatcrm")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from bot.cli import app; app()"]


class WorkerProcess:
    """One running `chatcrm bot --webhook` process."""

    def __init__(self, process: subprocess.Popen[bytes], *, home: Path, log_path: Path,
                 listen: tuple[str, int] | None, webhook_url: str, workers: int) -> None:
        self.process = process
        self.workers = workers
        self.home = home
        self.log_path = log_path
        self.listen = listen
        self.webhook_url = webhook_url

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.process.pid

    @property
    def name(self) -> str:
        """Return the worker's name as the inbox records its leases (`bot.webhook.worker.worker_name`)."""
        return f"{socket.gethostname()}:{self.pid}"[:64]

    @property
    def ingress_url(self) -> str | None:
        """Return the URL its ingress takes deliveries at (None without --listen)."""
        if self.listen is None:
            return None
        return f"http://{self.listen[0]}:{self.listen[1]}{_path_of(self.webhook_url)}"

    @property
    def alive(self) -> bool:
        """Tell whether the process is still running."""
        return self.process.poll() is None

    async def until_ready(self, timeout_s: float = 120.0) -> None:
        """Wait until its ingress answers /healthz (given --listen) and its worker loop runs (given workers).

        Raises RuntimeError with its output (and kills it) when it exits or is not ready after `timeout_s`:
        a safety net, not a speed assertion.
        """
        try:
            async with asyncio.timeout(timeout_s):
                await _until_ready(self, self.workers)
        except BaseException as error:
            self.kill()
            if isinstance(error, TimeoutError | RuntimeError):
                raise RuntimeError(f"chatcrm bot (pid {self.pid}) did not start:\n{self.output()}") from error
            raise

    def output(self, last_chars: int = 4000) -> str:
        """Return the end of what the process printed (stdout and stderr)."""
        try:
            return self.log_path.read_text(errors="replace")[-last_chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """kill -9, and reap it: nothing of its own clean-up runs."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def pause(self) -> None:
        """SIGSTOP: it takes nothing and renews nothing until `resume()` (a frozen host, a long GC pause)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: go on from where `pause()` froze it."""
        self.process.send_signal(signal.SIGCONT)

    async def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait for the exit (killed after `timeout_s`); return the exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGCONT)  # a paused process would not see the SIGTERM
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode


def launch_worker(env: Mapping[str, str], *, home: Path, webhook_url: str, listen: tuple[str, int] | None = None,
                  workers: int = 4) -> WorkerProcess:
    """Start `chatcrm bot --webhook URL [--listen HOST:PORT] --workers N` with CHATCRM_HOME=`home`; do not wait."""
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "process.log"
    args = [*chatcrm_command(), "bot", "--webhook", webhook_url, "--workers", str(workers)]
    if listen is not None:
        args += ["--listen", f"{listen[0]}:{listen[1]}"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(args, env={**env, "CHATCRM_HOME": str(home)}, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return WorkerProcess(process, home=home, log_path=log_path, listen=listen, webhook_url=webhook_url,
                         workers=workers)


async def start_worker(env: Mapping[str, str], *, home: Path, webhook_url: str, listen: tuple[str, int] | None = None,
                       workers: int = 4, ready_timeout_s: float = 120.0) -> WorkerProcess:
    """Launch a webhook process (`launch_worker`) and return once it is ready (`WorkerProcess.until_ready`)."""
    started = launch_worker(env, home=home, webhook_url=webhook_url, listen=listen, workers=workers)
    await started.until_ready(ready_timeout_s)
    return started


async def _until_ready(started: WorkerProcess, workers: int) -> None:
    async with ClientSession(timeout=ClientTimeout(total=2)) as client:
        while True:
            if not started.alive:
                raise RuntimeError(f"exited with {started.process.returncode}")
            if (workers == 0 or READY_WORKER in started.output(10**6)) and (
                    started.listen is None or await _healthy(client, started.listen)):
                return
            await asyncio.sleep(0.1)


async def _healthy(client: ClientSession, listen: tuple[str, int]) -> bool:
    with contextlib.suppress(ClientError, OSError, TimeoutError):
        async with client.get(f"http://{listen[0]}:{listen[1]}/healthz") as response:
            return response.status == 200
    return False


def _path_of(url: str) -> str:
    return urlsplit(url).path or "/"


@contextlib.asynccontextmanager
async def migrated_postgres(server_url: str) -> AsyncIterator[str]:
    """Yield the URL of a new database on `server_url`'s server at the latest schema; drop it afterwards."""
    name = f"chatcrm_w_{uuid.uuid4().hex[:16]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade_sync, url)
        yield url
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server_url: str, statement: str) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()
