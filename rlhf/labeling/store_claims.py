"""Sampling claims: the queries each sampler is sampling now, so that concurrent samplers never sample
one query twice in a round.

Part of the store: `SamplingClaims` is mixed into `LabelStore` (`rlhf/labeling/store.py`). Why: two
`rlhf sample` processes on one run each took the first N queries without a batch, in the same seeded
order, so both sampled the same queries (4 queries gave 8 batches, the samples identical). Now a
sampler claims each chunk of queries before it samples it. `claim_queries` is one store transaction
(they run one at a time: SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock; the unique key on
(query, policy, round) is the backstop) that passes over queries with a batch or someone else's live
claim, so of two samplers racing for a query exactly one gets it, and the other samples the next.

Claims are only work in progress. A sampler deletes its claims once their batches are stored and when
it stops (an error, Ctrl+C), so only a killed one (kill -9, a lost machine) leaves claims behind. Such
a claim never blocks for good: it is taken over as soon as its owner is seen to be gone (the same host
and PID namespace, and that PID runs no more), else once it is `CLAIM_STALE_AFTER` old (another host).
Until then other samplers pass its queries over and sample the next ones.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Optional, Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from rlhf.errors import RLHFError
from rlhf.labeling.schema import BatchRow, SamplingClaimRow, as_utc, utcnow

# A claim is renewed with each chunk, which takes seconds to minutes to sample; an hour without one
# means its sampler is gone. A live sampler slower than that could lose a claim: a duplicate batch, no harm to labels.
CLAIM_STALE_AFTER = timedelta(hours=1)


def claim_owner() -> str:
    """A name for one sampler: host, PID namespace and PID (to tell whether it still runs), and a random part."""
    return f"{socket.gethostname()}|{_pid_namespace()}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str) -> bool:
    """Whether the sampler that took a claim has ended: known only for a process of this host and PID namespace."""
    parts = owner.split("|")
    if len(parts) != 4 or parts[0] != socket.gethostname() or parts[1] != _pid_namespace() or not parts[2].isdigit():
        return False
    if os.name != "posix" or int(parts[2]) == os.getpid():
        return False  # on Windows os.kill(pid, 0) would end the process; our own PID is alive
    try:
        os.kill(int(parts[2]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to another user, or cannot be asked: assume it runs
        return False
    return False


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")  # containers on one host may reuse PIDs and host names
    except OSError:
        return ""


class SamplingClaims:
    """Claims of `LabelStore`; they rely on its `session()`."""

    def claim_queries(self, query_ids: Sequence[str], policy: str, round: int, owner: str, want: int,
                      now: Optional[datetime] = None) -> list[str]:
        """Claim up to `want` of `query_ids`, in their order, for sampling from `policy` in `round`; returns those claimed.

        Passed over: queries with a batch of this policy and round, and queries another live sampler claimed.
        """
        for _ in range(3):  # a unique-key clash is possible only where transactions are not serialised
            try:
                return self._claim(query_ids, policy, round, owner, want, now or utcnow())
            except IntegrityError:
                continue
        raise RLHFError(f"could not claim queries to sample from {policy} (round {round}): other samplers kept taking them")

    def _claim(self, query_ids, policy, round, owner, want, now) -> list[str]:
        with self.session() as s, s.begin():
            sampled = set(s.scalars(select(BatchRow.query_id).where(BatchRow.policy == policy, BatchRow.round == round)))
            claims = {c.query_id: c for c in s.scalars(select(SamplingClaimRow).where(
                SamplingClaimRow.policy == policy, SamplingClaimRow.round == round))}
            taken = []
            for query_id in query_ids:
                if len(taken) == want:
                    break
                claim = claims.get(query_id)
                if query_id in sampled or (claim is not None and not _free(claim, owner, now)):
                    continue
                if claim is None:
                    s.add(SamplingClaimRow(query_id=query_id, policy=policy, round=round, owner=owner, claimed_at=now))
                else:
                    claim.owner, claim.claimed_at = owner, now
                taken.append(query_id)
            return taken

    def release_claims(self, owner: str) -> int:
        """Delete the sampler's claims (its batches are stored, or it stops); returns how many."""
        with self.session() as s, s.begin():
            return s.execute(delete(SamplingClaimRow).where(SamplingClaimRow.owner == owner)).rowcount


def _free(claim: SamplingClaimRow, owner: str, now: datetime) -> bool:
    """Whether `owner` may take this claim: its own, stale, or left by a sampler that has ended."""
    claimed_at = as_utc(claim.claimed_at)
    return claim.owner == owner or now - claimed_at > CLAIM_STALE_AFTER or owner_gone(claim.owner)
