"""The knowledge manifest: which docs are indexed, their content hashes, units and vector ids (SQLite)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crm_core.retrieval.loaders import Unit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    doc TEXT PRIMARY KEY, source_root TEXT, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
    sections INTEGER NOT NULL, ingested_at TEXT NOT NULL, vector_ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    doc TEXT NOT NULL, ord INTEGER NOT NULL, section TEXT NOT NULL, title TEXT NOT NULL,
    text TEXT NOT NULL, variants TEXT NOT NULL, PRIMARY KEY (doc, ord)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class DocRecord:
    """One indexed file."""

    doc: str
    source_root: str | None
    sha256: str
    bytes: int
    sections: int
    ingested_at: str
    vector_ids: tuple[str, ...]


@dataclass(frozen=True)
class UnitRecord:
    """One indexed unit with its position in its doc."""

    doc: str
    ord: int
    unit: Unit


class Manifest:
    """SQLite file listing the indexed docs; every change bumps a generation number."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            if not self._ready:
                conn.executescript(_SCHEMA)
                self._ready = True
            with conn:
                yield conn
        finally:
            conn.close()

    def generation(self) -> int:
        """Return a number that changes whenever the index changes."""
        with self._conn() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
        )

    def get(self, doc: str) -> DocRecord | None:
        """Return the record of `doc`, if indexed."""
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM docs WHERE doc = ?", (doc,)).fetchone()
        return _doc(row) if row else None

    def docs(self) -> list[DocRecord]:
        """Return every indexed doc, by name."""
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM docs ORDER BY doc").fetchall()
        return [_doc(r) for r in rows]

    def units(self) -> list[UnitRecord]:
        """Return every indexed unit."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT doc, ord, section, title, text, variants FROM units ORDER BY doc, ord"
            ).fetchall()
        return [
            UnitRecord(doc, ord_, Unit(doc=doc, section=sec, title=title, text=text, variants=tuple(json.loads(var))))
            for doc, ord_, sec, title, text, var in rows
        ]

    def section_count(self) -> int:
        """Return the number of indexed units."""
        with self._conn() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM units").fetchone()[0])

    def replace(self, record: DocRecord, units: Sequence[Unit]) -> None:
        """Store `record` and its units in place of any previous version, atomically."""
        with self._conn() as conn:
            conn.execute("DELETE FROM units WHERE doc = ?", (record.doc,))
            conn.execute(
                "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.doc,
                    record.source_root,
                    record.sha256,
                    record.bytes,
                    record.sections,
                    record.ingested_at,
                    json.dumps(list(record.vector_ids)),
                ),
            )
            conn.executemany(
                "INSERT INTO units VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (record.doc, i, u.section, u.title, u.text, json.dumps(list(u.variants), ensure_ascii=False))
                    for i, u in enumerate(units)
                ],
            )
            self._bump(conn)

    def set_root(self, doc: str, source_root: str | None) -> None:
        """Record which folder `doc` was last ingested from."""
        with self._conn() as conn:
            conn.execute("UPDATE docs SET source_root = ? WHERE doc = ?", (source_root, doc))

    def delete(self, doc: str) -> None:
        """Forget `doc` and its units."""
        with self._conn() as conn:
            conn.execute("DELETE FROM units WHERE doc = ?", (doc,))
            conn.execute("DELETE FROM docs WHERE doc = ?", (doc,))
            self._bump(conn)


def _doc(row: tuple[object, ...]) -> DocRecord:
    doc, root, sha, size, sections, at, ids = row
    return DocRecord(
        doc=str(doc),
        source_root=None if root is None else str(root),
        sha256=str(sha),
        bytes=int(str(size)),
        sections=int(str(sections)),
        ingested_at=str(at),
        vector_ids=tuple(json.loads(str(ids))),
    )
