"""Labeling-app sign-ins kept in the store, so that a page reload or a server restart does not sign a
labeler out (a Streamlit session lives only as long as its browser tab's connection).

Part of the store: `AppSessions` is mixed into `LabelStore`. At sign-in the app gets a random token
(`open_app_session`) and keeps it in a cookie; the store keeps only its SHA-256 hash, so a copy of
the store signs nobody in. `resume_app_session` checks the same limits the app enforces in memory
(`labeling.session_minutes` from the sign-in, `labeling.idle_minutes` from the last use), and that
the labeler still exists and is active; a session past them is deleted. Signing out deletes it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple, Optional

from sqlalchemy import delete, select

from rlhf.labeling.schema import AppSessionRow, LabelerRow, as_utc, utcnow


class Resumed(NamedTuple):
    labeler_id: int
    name: str
    role: str
    age_s: float  # seconds since the sign-in
    max_age_s: float
    max_idle_s: float


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AppSessions:
    def open_app_session(self, labeler_id: int, max_age_s: float, max_idle_s: float) -> str:
        """A new sign-in's token (to keep in the browser; the store keeps its hash)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.session() as s, s.begin():
            s.add(AppSessionRow(token_hash=_hash(token), labeler_id=labeler_id, created_at=now, last_seen_at=now,
                                max_age_s=max_age_s, max_idle_s=max_idle_s))
        return token

    def resume_app_session(self, token: str) -> Optional[Resumed]:
        """The sign-in a token belongs to, marked as used now; None when unknown, expired, idle too long,
        or its labeler is gone or deactivated (an expired one is deleted)."""
        now = utcnow()
        with self.session() as s, s.begin():
            row = s.scalar(select(AppSessionRow).where(AppSessionRow.token_hash == _hash(token)))
            if row is None:
                return None
            labeler = s.get(LabelerRow, row.labeler_id)
            age = (now - as_utc(row.created_at)).total_seconds()
            idle = (now - as_utc(row.last_seen_at)).total_seconds()
            if age >= row.max_age_s or idle >= row.max_idle_s or labeler is None or not labeler.active:
                s.delete(row)
                return None
            row.last_seen_at = now
            return Resumed(labeler.id, labeler.name, labeler.role, age, row.max_age_s, row.max_idle_s)

    def touch_app_session(self, token: str) -> None:
        """Mark the sign-in as used now, so that its idle limit counts from here after a restart."""
        with self.session() as s, s.begin():
            row = s.scalar(select(AppSessionRow).where(AppSessionRow.token_hash == _hash(token)))
            if row is not None:
                row.last_seen_at = utcnow()

    def close_app_session(self, token: str) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(AppSessionRow).where(AppSessionRow.token_hash == _hash(token)))
