"""A counter of changes to the directory's names, bumped by database triggers (migration 0004)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base


class DirectoryRevision(Base):
    """One row: how many times company and contact names were added, changed or removed."""

    __tablename__ = "directory_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
