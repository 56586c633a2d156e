"""When to try a failed delivery again (pure: ``now`` and the jitter draw are passed in).

Exponential back-off with a cap, so a provider outage of an hour is ridden out with a
handful of attempts; jitter spreads the retries of many deliveries that failed in the
same second (an outage), so they do not hit the provider again all at once when it
comes back. The jitter only shortens a delay, so the first retry is never later than
``base``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 2.0
    factor: float = 2.0
    cap_seconds: float = 600.0
    jitter: float = 0.2            # a delay is shortened by up to this fraction

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("retry.max_attempts must be at least 1")
        if not 0 < self.base_seconds <= self.cap_seconds:
            raise ValueError("retry.base_seconds must be positive and at most retry.cap_seconds")
        if self.factor < 1:
            raise ValueError("retry.factor must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("retry.jitter must be in [0, 1)")


@dataclass(frozen=True)
class RetryAt:
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    reason: str


def backoff(policy: RetryPolicy, attempts: int, draw: float) -> timedelta:
    """Delay after the ``attempts``-th failed attempt; ``draw`` in [0, 1)."""
    delay = min(policy.cap_seconds, policy.base_seconds * policy.factor ** (attempts - 1))
    return timedelta(seconds=delay * (1 - policy.jitter * draw))


def decide_after_failure(policy: RetryPolicy, attempts: int, permanent: bool, now: datetime, draw: float,
                         expires_at: datetime | None = None) -> RetryAt | GiveUp:
    """``attempts`` counts the one that just failed. A permanent refusal (an invalid
    number, a 4xx from a webhook receiver) is not retried: repeating it cannot help."""
    if permanent:
        return GiveUp("refused permanently")
    if attempts >= policy.max_attempts:
        return GiveUp(f"{attempts} attempts failed")
    at = now + backoff(policy, attempts, draw)
    if expires_at is not None and at >= expires_at:
        return GiveUp("would be retried after it expires")
    return RetryAt(at)
