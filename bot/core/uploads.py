"""Files users send and files the bot sends, kept under the home until they are no longer needed.

    CHATCRM_HOME/uploads/<token>/<file name>    a spreadsheet waiting for [Import]; meta.json says
                                                who sent it, in which chat, when (the button carries
                                                only the token, so a tap by someone else, a forged
                                                token or an old one finds nothing that fits); once
                                                imported, imported.json keeps the report instead of
                                                the file, so a second tap shows it again
    CHATCRM_HOME/exports/<token>/<file name>    a workbook the outbox will send; kept for days, since
                                                a delivery may be retried for hours

The token is random (64 bits), so a button cannot be guessed; it is checked to be lowercase hex
before it is used in a path.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

UPLOAD_TTL = timedelta(days=1)  # an [Import] button older than this is stale
KEEP_FILES_S = 7 * 24 * 3600.0  # outbox rows are kept as long (crm_core.services.outbox.KEEP_SENT)
_TOKEN = re.compile(r"^[0-9a-f]{16}$")
_META = "meta.json"
_RESULT = "imported.json"
_MAX_NAME_CHARS = 120


@dataclass(frozen=True)
class Upload:
    """A file a staff member sent, waiting for them to import it."""

    token: str
    path: Path
    file_name: str
    owner_id: int
    channel: str
    chat_id: str
    received_at: datetime

    def belongs_to(self, *, owner_id: int, channel: str, chat_id: str) -> bool:
        """Tell whether this upload was sent by `owner_id` in this chat."""
        return (self.owner_id, self.channel, self.chat_id) == (owner_id, channel, chat_id)

    def is_stale(self, now: datetime) -> bool:
        """Tell whether its buttons are too old to act on."""
        return now - self.received_at > UPLOAD_TTL


def safe_file_name(name: str | None, default: str) -> str:
    """Return `name` as a plain file name (no folders, no control characters), or `default`."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    if base in ("", ".", "..") or base.startswith("."):
        return default
    if len(base) > _MAX_NAME_CHARS:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: _MAX_NAME_CHARS - len(suffix) - 1] + dot + suffix) if dot else base[:_MAX_NAME_CHARS]
    return base


class FileShelf:
    """Uploads waiting to be imported and exports waiting to be sent, under one home."""

    def __init__(self, home: Path) -> None:
        self.uploads = home / "uploads"
        self.exports = home / "exports"

    def reserve_upload(self, *, file_name: str, owner_id: int, channel: str, chat_id: str,
                       now: datetime) -> Upload:
        """Make the place for an incoming file and record who sent it; the caller writes `upload.path`."""
        self.prune()
        token = secrets.token_hex(8)
        folder = self.uploads / token
        folder.mkdir(parents=True)
        upload = Upload(token=token, path=folder / safe_file_name(file_name, "upload"), file_name=file_name,
                        owner_id=owner_id, channel=channel, chat_id=chat_id, received_at=now)
        meta = {"file_name": file_name, "stored_as": upload.path.name, "owner_id": owner_id, "channel": channel,
                "chat_id": chat_id, "received_at": now.isoformat()}
        (folder / _META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return upload

    def upload(self, token: str) -> Upload | None:
        """Return the waiting upload `token` names, or None (unknown, malformed, discarded or unreadable)."""
        if not _TOKEN.match(token):
            return None
        folder = self.uploads / token
        try:
            meta = json.loads((folder / _META).read_text(encoding="utf-8"))
            upload = Upload(token=token, path=folder / str(meta["stored_as"]), file_name=str(meta["file_name"]),
                            owner_id=int(meta["owner_id"]), channel=str(meta["channel"]),
                            chat_id=str(meta["chat_id"]), received_at=datetime.fromisoformat(meta["received_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return upload if upload.path.is_file() else None

    def discard_upload(self, token: str) -> None:
        """Forget an upload (imported or cancelled): its buttons go stale."""
        if _TOKEN.match(token):
            shutil.rmtree(self.uploads / token, ignore_errors=True)

    def keep_import_result(self, token: str, report_json: str) -> None:
        """Record that upload `token` was imported (its report), and let its file go: the buttons now say so."""
        if not _TOKEN.match(token):
            return
        folder = self.uploads / token
        (folder / _RESULT).write_text(report_json, encoding="utf-8")
        upload = self.upload(token)
        if upload is not None:
            upload.path.unlink(missing_ok=True)

    def import_result(self, token: str, *, owner_id: int) -> str | None:
        """Return the report of upload `token` once imported by `owner_id`, else None."""
        if not _TOKEN.match(token):
            return None
        folder = self.uploads / token
        try:
            meta = json.loads((folder / _META).read_text(encoding="utf-8"))
            if int(meta["owner_id"]) != owner_id:
                return None
            return (folder / _RESULT).read_text(encoding="utf-8")
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def export_path(self, file_name: str) -> Path:
        """Return a fresh path for a file the bot will send; it stays until `prune` finds it old."""
        self.prune()
        folder = self.exports / secrets.token_hex(8)
        folder.mkdir(parents=True)
        return folder / safe_file_name(file_name, "export.xlsx")

    def prune(self) -> None:
        """Remove uploads and exports older than a week (by the files' own time, not the business clock)."""
        cutoff = time.time() - KEEP_FILES_S
        for root in (self.uploads, self.exports):
            if not root.is_dir():
                continue
            for folder in root.iterdir():
                try:
                    if folder.is_dir() and folder.stat().st_mtime < cutoff:
                        shutil.rmtree(folder, ignore_errors=True)
                except OSError:  # removed meanwhile by another process
                    log.debug("could not prune %s", folder, exc_info=True)
