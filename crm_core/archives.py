"""Zip archives (.xlsx, .docx) read safely: a member is decompressed a chunk at a time and given up on past a limit.

The sizes an archive declares are the sender's to write, and openpyxl and lxml trust them (a 2 MB workbook can
unzip to gigabytes, held in memory). So an archive is streamed once, nothing kept, before anything parses it:
a member past `member_limit`, all of them past `total_limit`, or (for spreadsheets) a run of text longer than
any cell Excel writes is refused.
"""

from __future__ import annotations

import re
import zipfile
from functools import cache
from pathlib import Path

UNZIP_CHUNK = 1024 * 1024


class ArchiveTooLarge(ValueError):
    """The archive unzips to more than allowed (`member` is the part that crossed the line)."""

    def __init__(self, message: str, *, member: str, limit: int) -> None:
        super().__init__(message)
        self.member = member
        self.limit = limit


class ArchiveUnreadable(ValueError):
    """Not a zip archive, or a damaged one."""


def check_archive(path: Path, *, member_limit: int, total_limit: int, text_run_limit: int | None = None) -> None:
    """Decompress every member of the archive at `path` as a stream (nothing kept).

    Raises ArchiveTooLarge when a member declares or unzips to more than `member_limit` bytes, all of them to more
    than `total_limit`, or a member holds more than `text_run_limit` bytes without a '<' (one XML text node: a
    cell or a paragraph that size is no business document's); ArchiveUnreadable for a damaged archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            for info in infos:  # the declared sizes first: an honest big archive is refused before any unzipping
                if info.file_size > member_limit:
                    raise ArchiveTooLarge(f"{info.filename} unzips to over {_mb(member_limit)} MB",
                                          member=info.filename, limit=member_limit)
            left = total_limit
            for info in infos:
                left -= _stream_member(archive, info, member_limit, text_run_limit)
                if left < 0:
                    raise ArchiveTooLarge(f"the archive unzips to over {_mb(total_limit)} MB", member=info.filename,
                                          limit=total_limit)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ArchiveUnreadable(f"not a readable archive: {exc}") from exc


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Return one member, decompressed a chunk at a time; ArchiveTooLarge once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as member:
        while chunk := member.read(UNZIP_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ArchiveTooLarge(f"{info.filename} unzips to over {_mb(limit)} MB", member=info.filename,
                                      limit=limit)
            chunks.append(chunk)
    return b"".join(chunks)


def _stream_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, text_run_limit: int | None) -> int:
    size = 0
    run = 0  # bytes since the last '<'
    with archive.open(info) as member:
        while chunk := member.read(UNZIP_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ArchiveTooLarge(f"{info.filename} unzips to over {_mb(limit)} MB", member=info.filename,
                                      limit=limit)
            if text_run_limit is not None:
                run = _longest_run(chunk, run, info.filename, text_run_limit)
    return size


def _longest_run(chunk: bytes, run: int, member: str, limit: int) -> int:
    """Return the run of bytes without '<' at the chunk's end; ArchiveTooLarge when any run passes `limit`."""
    last = chunk.rfind(b"<")
    if last < 0:
        run += len(chunk)
    else:
        first = chunk.find(b"<")
        if run + first > limit or _long_run(limit).search(chunk, first, last):
            raise ArchiveTooLarge(f"{member} holds a text of over {_mb(limit, 1)} MB", member=member, limit=limit)
        run = len(chunk) - last - 1
    if run > limit:
        raise ArchiveTooLarge(f"{member} holds a text of over {_mb(limit, 1)} MB", member=member, limit=limit)
    return run


@cache
def _long_run(limit: int) -> re.Pattern[bytes]:
    return re.compile(rb"[^<]{%d}" % (limit + 1))


def _mb(size: int, digits: int = 0) -> float | int:
    value = size / (1024 * 1024)
    return round(value, digits) if digits else int(value)
