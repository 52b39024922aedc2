"""The value types of the content store: :class:`Info` (a committed blob) and :class:`Status`
(an ingest in progress), as containerd's ``content.Info`` and ``content.Status``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Info:
    """A committed blob. Times are seconds since the epoch; ``labels`` are kept by the
    metadata layer (the local store has none)."""

    digest: str
    size: int
    created_at: float = 0.0
    updated_at: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Status:
    """An ingest: ``offset`` bytes written so far of ``total`` (0 when unknown), the digest
    the writer ``expected`` ("" when none) and when it started and was last written."""

    ref: str
    offset: int = 0
    total: int = 0
    expected: str = ""
    started_at: float = 0.0
    updated_at: float = 0.0
