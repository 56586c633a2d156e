"""Against guessing case codes: failed status look-ups are counted per code and per
client address, and after too many in a window that code or client is locked for a
while, whatever it asks (a right answer during the lock is refused too, or the lock
would tell a guesser when it hit).

Counting is per code as typed, whether or not such a code exists, so a lock says
nothing about existence. The numbers are practice, not statute (configuration:
LIANDIAO_CASE_CODE_*), with defaults a party who mistypes a few times never meets and
a guesser meets at once: 5 failures of one code or 20 from one client in 15 minutes
lock for 30 minutes. Pure: the store keeps one ``Counter`` row per key and decides
with these functions under a row lock, so the limit holds across replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LookupPolicy:
    code_failures: int = 5        # failures of one code in a window that lock it
    client_failures: int = 20     # failures from one client address in a window that lock it
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Counter:
    failures: int = 0
    window_started_at: datetime | None = None
    locked_until: datetime | None = None


def is_locked(counter: Counter, now: datetime) -> bool:
    """Locked until ``locked_until``, exclusive: at that instant it opens."""
    return counter.locked_until is not None and now < counter.locked_until


def after_failure(counter: Counter, limit: int, policy: LookupPolicy, now: datetime) -> Counter:
    """The counter after one more failure at ``now``. A window runs from its first
    failure for ``policy.window`` (a failure at its very end starts a new one); the
    ``limit``-th failure within it locks for ``policy.lock`` and the count starts
    again after the lock."""
    fresh = (counter.window_started_at is None or now >= counter.window_started_at + policy.window
             or (counter.locked_until is not None and now >= counter.locked_until))
    failures = 1 if fresh else counter.failures + 1
    started = now if fresh else counter.window_started_at
    if failures >= limit:
        return Counter(failures=failures, window_started_at=started, locked_until=now + policy.lock)
    return Counter(failures=failures, window_started_at=started, locked_until=None)
