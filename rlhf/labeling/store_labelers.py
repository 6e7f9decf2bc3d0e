"""The store's labelers: adding, finding and signing in, and team management (one-time passwords,
password changes, (de)activation and roles), each admin action recorded.

Part of the store: `Labelers` is mixed into `LabelStore`, and serves the app, the dashboard and the CLI alike.
Every change an admin makes is written in the same transaction as an `admin_actions` row naming
the admin (`actor`; "cli:<os user>" from the command line), the action, the labeler and when, so the
record and the change cannot part. A one-time password is returned once and stored only as its
hash; the labeler must choose a new password at the next sign-in (`must_change_password`).
Deactivating ends the labeler's stored sign-ins, so a reload cannot resume one; the app signs them
out at their next action, and the store refuses their labels (`LabelerInactive`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from rlhf.errors import LabelerInactive, RLHFError
from rlhf.labeling import passwords
from rlhf.labeling.schema import AdminActionRow, AppSessionRow, LabelerRow, as_utc
from rlhf.labeling.store_places import became_person

ROLES = ("labeler", "admin")
SIMULATED_PREFIX = "sim:"  # simulated labelers are named sim:KIND (rlhf/labeling/simulated.py)


@dataclass
class Labeler:
    id: int
    name: str
    role: str
    signs_in: bool = True  # has a password: a person who labels in the app
    active: bool = True
    must_change_password: bool = False  # signed in with a one-time password: must choose a new one first

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def kind(self) -> str:
        """human (signs in to the app), simulated (`sim:KIND`), or imported (labels from a file)."""
        if self.name.startswith(SIMULATED_PREFIX):
            return "simulated"
        return "human" if self.signs_in else "imported"


@dataclass(frozen=True)
class AdminAction:
    at: datetime
    actor: str
    action: str
    target: str
    detail: Optional[str]


class Labelers:
    def add_labeler(self, name: str, password: Optional[str] = None, role: str = "labeler",
                    actor: Optional[str] = None, one_time: bool = False) -> Labeler:
        """A new labeler; with `actor` (an admin's action, not a simulated or imported labeler) it is recorded;
        `one_time`: the password must be replaced at the first sign-in."""
        check_role(role)
        if not name or not name.strip() or len(name) > 100:
            raise RLHFError("a labeler name must be 1 to 100 characters")
        hashed = passwords.hash_password(password) if password is not None else None
        try:
            with self.session() as s, s.begin():
                row = LabelerRow(name=name.strip(), password_hash=hashed, role=role, must_change_password=one_time)
                s.add(row)
                if actor is not None:
                    record_action(s, actor, "added", row.name, f"role {role}")
                s.flush()
                return Labeler(row.id, row.name, row.role, hashed is not None)
        except IntegrityError:
            raise RLHFError(f"a labeler named {name!r} already exists") from None

    def ensure_labeler(self, name: str, role: str = "labeler") -> Labeler:
        """The labeler `name`, created without a password (simulated labelers, imports) if missing."""
        found = self.labeler(name)
        return found if found is not None else self.add_labeler(name, None, role)

    def labeler(self, name: str) -> Optional[Labeler]:
        with self.session() as s:
            row = s.scalar(select(LabelerRow).where(LabelerRow.name == name))
            return _labeler(row) if row else None

    def labeler_by_id(self, labeler_id: int) -> Optional[Labeler]:
        """As stored now: the app re-reads it on every action (role, deactivation, one-time password)."""
        with self.reading() as s:
            row = s.get(LabelerRow, labeler_id)
            return _labeler(row) if row else None

    def labelers(self) -> list[Labeler]:
        with self.session() as s:
            return [_labeler(r) for r in s.scalars(select(LabelerRow).order_by(LabelerRow.id))]

    def authenticate(self, name: str, password: str) -> Optional[Labeler]:
        """The labeler when the password matches; None otherwise (same answer for an unknown name)."""
        with self.session() as s:
            row = s.scalar(select(LabelerRow).where(LabelerRow.name == name, LabelerRow.active.is_(True)))
        stored = row.password_hash if row else None
        if not passwords.verify_password(stored, password):
            return None
        return _labeler(row)

    # -- team management ------------------------------------------------------------------------

    def invite(self, name: str, role: str, actor: str) -> str:
        """Add a labeler with a one-time password, returned once (the store keeps only its hash)."""
        password = passwords.one_time_password()
        self.add_labeler(name, password, role, actor=actor, one_time=True)  # one transaction: never a reusable password
        return password

    def reset_password(self, name: str, actor: str) -> str:
        """A new one-time password for `name`, returned once; their stored sign-ins end."""
        password = passwords.one_time_password()
        with self.session() as s, s.begin():
            row = _row(s, name)
            became_person(s, row.id, row.password_hash)
            row.password_hash = passwords.hash_password(password)
            row.must_change_password = True
            s.execute(delete(AppSessionRow).where(AppSessionRow.labeler_id == row.id))
            record_action(s, actor, "reset password", row.name)
        return password

    def change_password(self, labeler_id: int, new_password: str) -> None:
        """The labeler's own new password (after a one-time one, or at will)."""
        hashed = passwords.hash_password(passwords.check_new_password(new_password))
        with self.session() as s, s.begin():
            row = s.get(LabelerRow, labeler_id)
            if row is None or not row.active:
                raise LabelerInactive("this account has been deactivated; ask an admin")
            became_person(s, row.id, row.password_hash)
            row.password_hash, row.must_change_password = hashed, False

    def set_active(self, name: str, active: bool, actor: str) -> None:
        with self.session() as s, s.begin():
            row = _row(s, name)
            if row.active == active:
                return
            if not active and row.role == "admin":
                _keep_an_admin(s, row)
            row.active = active
            if not active:
                s.execute(delete(AppSessionRow).where(AppSessionRow.labeler_id == row.id))
            record_action(s, actor, "activated" if active else "deactivated", row.name)

    def set_role(self, name: str, role: str, actor: str) -> None:
        check_role(role)
        with self.session() as s, s.begin():
            row = _row(s, name)
            if row.role == role:
                return
            if row.role == "admin":
                _keep_an_admin(s, row)
            record_action(s, actor, "changed role", row.name, f"{row.role} -> {role}")
            row.role = role

    def admin_actions(self, limit: int = 200) -> list[AdminAction]:
        """The newest actions first."""
        with self.session() as s:
            rows = s.scalars(select(AdminActionRow).order_by(AdminActionRow.id.desc()).limit(limit))
            return [AdminAction(as_utc(r.at), r.actor, r.action, r.target, r.detail) for r in rows]


def check_role(role: str) -> None:
    if role not in ROLES:
        raise RLHFError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def record_action(s, actor: str, action: str, target: str, detail: Optional[str] = None) -> None:
    """An audit row in the caller's transaction, so the change and its record commit together."""
    s.add(AdminActionRow(actor=actor, action=action, target=target, detail=detail))


def _row(s, name: str) -> LabelerRow:
    row = s.scalar(select(LabelerRow).where(LabelerRow.name == name))
    if row is None:
        raise RLHFError(f"no labeler named {name!r}: see `rlhf labelers list`")
    return row


def _keep_an_admin(s, row: LabelerRow) -> None:
    """Refuse to demote or deactivate the last active admin: nobody could manage the team any more."""
    others = s.scalar(select(LabelerRow.id).where(LabelerRow.role == "admin", LabelerRow.active.is_(True),
                                                  LabelerRow.id != row.id).limit(1))
    if others is None:
        raise RLHFError(f"{row.name!r} is the last active admin; make another labeler admin first")


def _labeler(row: LabelerRow) -> Labeler:
    return Labeler(row.id, row.name, row.role, row.password_hash is not None, row.active, row.must_change_password)
